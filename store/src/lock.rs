//! The inter-process lease lock with fencing epochs (works where `flock` does not, e.g. on a
//! synced folder).
//!
//! Each acquisition creates `lock/epoch-<N:020>` with O_EXCL: of several contenders for epoch
//! `N` exactly one wins. The file records the owner (pid, host, nonce), a heartbeat time and
//! the lease length. Epoch `N` is free to take over once its holder released it, its pid is
//! dead on this host, or its lease expired (heartbeat + lease in the past). A holder that
//! finds a higher epoch has been fenced: it must not acknowledge, delete, truncate or publish.
//!
//! Layout: `store/FORMAT.md`, "Lock epoch file". Protocol: `store/PROTOCOL.md`.

mod file;
mod host;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::io::{Io, IoFile};
use crate::mutant::{self, Mutant};
pub use file::{decode_owner, encode_owner, Owner, MAX_HOST_BYTES};
use host::nonce;
pub use host::{host_name, now_ms, pid_is_dead};

/// A writer epoch: the number of the lease acquisition. Strictly increases across holders;
/// every WAL segment and record carries the epoch of the writer that wrote it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Epoch(pub u64);

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Errors of the lease lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// An IO operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The lock stayed held for the whole bounded wait.
    #[error("{dir}: lock still held after {waited_ms} ms (epoch {epoch}, holder {holder})")]
    Timeout {
        /// The lock directory.
        dir: PathBuf,
        /// The epoch held.
        epoch: Epoch,
        /// Who holds it, as far as known.
        holder: String,
        /// How long we waited.
        waited_ms: u64,
    },
    /// A higher epoch exists: this holder was fenced (its lease was taken over).
    #[error("epoch {epoch} was fenced by epoch {current}")]
    Fenced {
        /// The caller's epoch.
        epoch: Epoch,
        /// The highest epoch found.
        current: Epoch,
    },
}

fn io_error(op: &'static str, path: &Path, source: std::io::Error) -> LockError {
    LockError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Tuning of the lease lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseOptions {
    /// How long a holder's heartbeat stays valid. Default 10 s.
    pub lease: Duration,
    /// How long `acquire` waits before giving up. Default 30 s.
    pub acquire_timeout: Duration,
    /// First retry delay; doubles up to `max_backoff`. Default 1 ms.
    pub min_backoff: Duration,
    /// Largest retry delay. Default 50 ms.
    pub max_backoff: Duration,
}

impl Default for LeaseOptions {
    fn default() -> Self {
        LeaseOptions {
            lease: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(30),
            min_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(50),
        }
    }
}

/// The lease lock on a directory (`DIR/lock`).
#[derive(Debug, Clone)]
pub struct LeaseLock {
    io: Arc<dyn Io>,
    dir: PathBuf,
    options: LeaseOptions,
    host: String,
}

/// The highest epoch file and what it says.
#[derive(Debug)]
enum Holder {
    None,
    Readable(Epoch, Owner),
    Unreadable(Epoch),
}

fn epoch_file_name(epoch: Epoch) -> String {
    format!("epoch-{:020}", epoch.0)
}

fn parse_epoch_file_name(name: &str) -> Option<Epoch> {
    let digits = name.strip_prefix("epoch-")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(Epoch)
}

impl LeaseLock {
    /// The lock of store directory `store_dir` (its files live in `store_dir/lock`, created if
    /// missing).
    pub fn new(
        io: Arc<dyn Io>,
        store_dir: &Path,
        options: LeaseOptions,
    ) -> Result<Self, LockError> {
        let dir = store_dir.join("lock");
        crate::io::create_dir_durable(io.as_ref(), &dir)
            .map_err(|source| io_error("create dir", &dir, source))?;
        Ok(LeaseLock {
            io,
            dir,
            options,
            host: host_name(),
        })
    }

    /// The highest epoch ever taken (`Epoch(0)` if none). A holder whose epoch is lower has
    /// been fenced.
    pub fn current_epoch(&self) -> Result<Epoch, LockError> {
        let names = self
            .io
            .list_dir(&self.dir)
            .map_err(|source| io_error("list", &self.dir, source))?;
        Ok(names
            .iter()
            .filter_map(|n| parse_epoch_file_name(n))
            .max()
            .unwrap_or_default())
    }

    fn holder(&self) -> Result<Holder, LockError> {
        let epoch = self.current_epoch()?;
        if epoch == Epoch(0) {
            return Ok(Holder::None);
        }
        let path = self.dir.join(epoch_file_name(epoch));
        match self.io.read(&path) {
            Ok(bytes) => Ok(match decode_owner(&bytes) {
                Ok(owner) if owner.epoch == epoch => Holder::Readable(epoch, owner),
                _ => Holder::Unreadable(epoch),
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                Ok(Holder::Unreadable(epoch))
            }
            Err(source) => Err(io_error("read", &path, source)),
        }
    }

    fn is_free(&self, owner: &Owner, now_ms: u64) -> bool {
        owner.released
            || (owner.host == self.host && pid_is_dead(owner.pid))
            || now_ms > owner.heartbeat_ms.saturating_add(owner.lease_ms)
    }

    /// Takes the lock, waiting (bounded by `acquire_timeout`, with backoff) while another
    /// holder's lease is fresh. Returns a guard for the new, highest epoch.
    pub fn acquire(&self) -> Result<LockGuard, LockError> {
        self.acquire_as(std::process::id())
    }

    fn acquire_as(&self, pid: u32) -> Result<LockGuard, LockError> {
        let started = Instant::now();
        let mut backoff = self.options.min_backoff;
        // An unreadable epoch file (torn creation) is held until it stays unreadable for a lease.
        let mut unreadable_since: Option<(Epoch, Instant)> = None;
        loop {
            let holder = self.holder()?;
            let (epoch, free, who) = match &holder {
                Holder::None => (Epoch(0), true, String::new()),
                Holder::Readable(epoch, owner) => {
                    (*epoch, self.is_free(owner, now_ms()), owner.to_string())
                }
                Holder::Unreadable(epoch) => {
                    let since = match unreadable_since {
                        Some((seen, since)) if seen == *epoch => since,
                        _ => Instant::now(),
                    };
                    unreadable_since = Some((*epoch, since));
                    (
                        *epoch,
                        since.elapsed() > self.options.lease,
                        "unreadable epoch file".into(),
                    )
                }
            };
            if free {
                if let Some(guard) = self.try_create(Epoch(epoch.0 + 1), pid)? {
                    return Ok(guard);
                }
            } else if started.elapsed() >= self.options.acquire_timeout {
                return Err(LockError::Timeout {
                    dir: self.dir.clone(),
                    epoch,
                    holder: who,
                    waited_ms: started.elapsed().as_millis() as u64,
                });
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(self.options.max_backoff);
        }
    }

    /// Creates the epoch file with O_EXCL; `None` if another contender created it first.
    fn try_create(&self, epoch: Epoch, pid: u32) -> Result<Option<LockGuard>, LockError> {
        let path = self.dir.join(epoch_file_name(epoch));
        let file = match self.io.create_new(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => return Ok(None),
            Err(source) => return Err(io_error("create", &path, source)),
        };
        let owner = Owner {
            epoch,
            pid,
            host: self.host.clone(),
            nonce: nonce(),
            heartbeat_ms: now_ms(),
            lease_ms: self.options.lease.as_millis() as u64,
            released: false,
        };
        let guard = LockGuard {
            lock: self.clone(),
            path,
            file,
            owner,
        };
        guard.write_owner()?;
        self.io
            .sync_dir(&self.dir)
            .map_err(|source| io_error("fsync dir", &self.dir, source))?;
        self.remove_old_epochs(epoch);
        Ok(Some(guard))
    }

    /// Best effort: removes epoch files two or more below `epoch` (never needed again).
    fn remove_old_epochs(&self, epoch: Epoch) {
        let Ok(names) = self.io.list_dir(&self.dir) else {
            return;
        };
        for old in names.iter().filter_map(|n| parse_epoch_file_name(n)) {
            if old.0 + 2 <= epoch.0 {
                let _ = self.io.remove_file(&self.dir.join(epoch_file_name(old)));
            }
        }
    }
}

/// A held lease of one epoch. Dropping it releases the lease (best effort).
#[derive(Debug)]
pub struct LockGuard {
    lock: LeaseLock,
    path: PathBuf,
    file: Box<dyn IoFile>,
    owner: Owner,
}

impl LockGuard {
    /// This holder's epoch.
    pub fn epoch(&self) -> Epoch {
        self.owner.epoch
    }

    fn write_owner(&self) -> Result<(), LockError> {
        let bytes = encode_owner(&self.owner);
        self.file
            .write_at(0, &bytes)
            .map_err(|source| io_error("write", &self.path, source))?;
        self.file
            .sync()
            .map_err(|source| io_error("fsync", &self.path, source))
    }

    /// `Ok` iff no higher epoch exists (this holder is not fenced). Call it after a write's
    /// fsync and before acknowledging the write.
    pub fn check_not_fenced(&self) -> Result<(), LockError> {
        if mutant::is_active(Mutant::NoFencing) {
            // Mutant 10 (a lease without fencing tokens, as in Kleppmann's stalled-GC lock
            // holder): a holder that stalled past its lease never learns it was taken over, so
            // it keeps heartbeating, acknowledging and publishing.
            return Ok(());
        }
        let current = self.lock.current_epoch()?;
        if current > self.epoch() {
            return Err(LockError::Fenced {
                epoch: self.epoch(),
                current,
            });
        }
        Ok(())
    }

    /// Refreshes the lease (rewrites the heartbeat and fsyncs). Fails with `Fenced` if a
    /// higher epoch exists.
    pub fn heartbeat(&mut self) -> Result<(), LockError> {
        self.check_not_fenced()?;
        self.owner.heartbeat_ms = now_ms();
        self.write_owner()
    }

    /// Marks the epoch released so the next contender takes over at once. A fenced holder
    /// writes nothing and gets `Fenced`.
    pub fn release(mut self) -> Result<(), LockError> {
        self.release_inner()
    }

    fn release_inner(&mut self) -> Result<(), LockError> {
        if self.owner.released {
            return Ok(());
        }
        self.check_not_fenced()?;
        self.owner.released = true;
        self.write_owner()
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = self.release_inner();
    }
}

#[cfg(test)]
mod tests;
