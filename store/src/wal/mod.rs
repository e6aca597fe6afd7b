//! The write-ahead log: segmented files of framed records with group commit.
//!
//! - [`Wal::open`] recovers the log (rules: `store/FORMAT.md`, "Recovery"), makes the recovered tail
//!   durable, cuts a torn tail durably, and starts (or continues) a segment of the caller's
//!   epoch. It returns the records after the caller's LSN.
//! - [`Wal::append`] frames a record in memory and returns its [`Lsn`]; nothing is written.
//! - [`Wal::sync`] returns once every record up to an LSN is durable. Concurrent callers share
//!   one write + fsync (group commit, see `group_commit`). Nothing is acknowledged before its
//!   fsync; a failed fsync poisons the Wal and every waiter learns the outcome is unknown.
//! - [`read_after`] reads the records after an LSN without writing anything (catch-up).
//! - [`Wal::remove_segments_through`] deletes segments a published snapshot covers.
//!
//! Byte layouts: [`frame`] and `store/FORMAT.md`.

mod error;
#[cfg(test)]
mod failure_tests;
pub mod frame;
mod group_commit;
#[cfg(loom)]
mod loom_group_commit;
mod pending;
mod recovery;
mod segment;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) use error::io_error;
pub use error::{RecordFault, WalError};

use crate::io::Io;
use crate::lock::Epoch;
use crate::mutant::{self, Mutant};
use frame::SEGMENT_HEADER_LEN;
use group_commit::{CommitError, GroupCommit};
use pending::PendingWrites;
use segment::{create_segment, SegmentName, SegmentWriter};

/// A log sequence number. Records are numbered 1, 2, 3... without gaps, across segments and
/// epochs, forever (a new segment or a new writer never restarts them). `Lsn(0)` means "no
/// record".
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
pub struct Lsn(pub u64);

impl Lsn {
    /// No record.
    pub const ZERO: Lsn = Lsn(0);

    /// The LSN after this one (saturating: `u64::MAX` records are never reached, and a
    /// corrupt name or header must not make arithmetic panic).
    pub fn next(self) -> Lsn {
        Lsn(self.0.saturating_add(1))
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A record read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its LSN.
    pub lsn: Lsn,
    /// The epoch of the writer that wrote it.
    pub epoch: Epoch,
    /// The opaque payload.
    pub payload: Vec<u8>,
}

/// Bytes recovery cut (or, for [`read_after`], would cut) off the end of the last segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailCut {
    /// The last segment.
    pub path: PathBuf,
    /// Offset of the first invalid byte; the segment is truncated to this length (0: the
    /// segment's own header was torn, the file is removed).
    pub offset: u64,
    /// How many bytes were discarded.
    pub discarded_bytes: u64,
}

/// What recovery or catch-up read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveredLog {
    /// Every valid record with an LSN above the `after` asked for, in LSN order, contiguous.
    pub records: Vec<Record>,
    /// The last valid LSN in the log (`after` if there is none past it).
    pub last_lsn: Lsn,
    /// The torn tail cut off, if any.
    pub cut: Option<TailCut>,
    /// Segments of fenced epochs, ignored.
    pub stale_segments: Vec<PathBuf>,
}

/// Tuning of a [`Wal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalOptions {
    /// A segment is sealed and a new one started once appending would take it past this size
    /// (a single larger record still gets a segment of its own). Default 16 MiB.
    pub segment_max_bytes: u64,
    /// Appends fail with [`WalError::PendingFull`] while this many unsynced bytes are pending.
    /// Default 64 MiB.
    pub max_pending_bytes: usize,
    /// Longest a group-commit leader waits for concurrent writers' records before its fsync
    /// (never longer than twice the previous fsync took; never when writing alone). Zero disables
    /// gathering. Default 2 ms.
    pub group_commit_wait_max: Duration,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_max_bytes: 16 << 20,
            max_pending_bytes: 64 << 20,
            group_commit_wait_max: Duration::from_millis(2),
        }
    }
}

/// The write-ahead log of one writer epoch.
///
/// Invariants (checked by [`Wal::check_invariants`]): `durable_lsn <= last_lsn`; the active
/// segment starts after every sealed one; every record up to `durable_lsn` was fsynced. It is
/// invalid to open two `Wal`s on one directory at once: callers hold the [`crate::lock`]
/// lease, whose epoch they pass to [`Wal::open`].
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    epoch: Epoch,
    core: GroupCommit<PendingWrites>,
    /// Used by one flush leader (or compaction) at a time.
    writer: Mutex<SegmentWriter>,
}

impl Wal {
    /// Recovers the log in `dir` (created if missing) for writer `epoch`, returning every
    /// record with an LSN above `after` (the caller's snapshot covers the rest).
    ///
    /// Steps, each durable before the next: fsync the last segment (this writer builds on
    /// what it read, even if a dead writer never synced it); cut a torn tail (set_len + fsync,
    /// or remove + fsync dir if its header was torn); unless the last segment is this epoch's,
    /// create `<last_lsn+1>-<epoch>.wal` (header, fsync, fsync dir).
    pub fn open(
        io: Arc<dyn Io>,
        dir: &Path,
        epoch: Epoch,
        after: Lsn,
        options: WalOptions,
    ) -> Result<(Wal, RecoveredLog), WalError> {
        Wal::open_limited(io, dir, epoch, after, None, options)
    }

    /// Like [`Wal::open`], after a Wal of this process (epoch `failed.0`) was poisoned by a
    /// failed fsync with `failed.1` its last successfully synced LSN. The records after it may
    /// read back (a failed fsync leaves its pages clean in the page cache) yet be lost at the
    /// next power cut: if every record after it is of the failed epoch, they are not
    /// recovered and the new segment starts right after it, so that recovery ends the old
    /// segment there whatever of it survives. If another holder has appended since, it built
    /// on them (and may have acknowledged): nothing is dropped (`store/PROTOCOL.md`, §3).
    pub fn reopen_after_failed_sync(
        io: Arc<dyn Io>,
        dir: &Path,
        epoch: Epoch,
        after: Lsn,
        failed: (Epoch, Lsn),
        options: WalOptions,
    ) -> Result<(Wal, RecoveredLog), WalError> {
        Wal::open_limited(io, dir, epoch, after, Some(failed), options)
    }

    fn open_limited(
        io: Arc<dyn Io>,
        dir: &Path,
        epoch: Epoch,
        after: Lsn,
        durable_limit: Option<(Epoch, Lsn)>,
        options: WalOptions,
    ) -> Result<(Wal, RecoveredLog), WalError> {
        crate::io::create_dir_durable(io.as_ref(), dir)
            .map_err(|source| io_error("create dir", dir, source))?;
        let mut scan = recovery::scan(io.as_ref(), dir, after)?;
        let mut beyond_durable = false;
        let only_failed_epoch_after = |(failed_epoch, limit): &(Epoch, Lsn)| {
            *limit < scan.last_lsn
                && scan
                    .records
                    .iter()
                    .filter(|record| record.lsn > *limit)
                    .all(|record| record.epoch == *failed_epoch)
        };
        if let Some((_, limit)) = durable_limit.filter(only_failed_epoch_after) {
            if limit < after {
                return Err(WalError::LogEndsBeforeLsn {
                    dir: dir.to_path_buf(),
                    last_lsn: limit,
                    expected_lsn: after,
                });
            }
            scan.records.retain(|record| record.lsn <= limit);
            scan.last_lsn = limit;
            beyond_durable = true;
        }
        let mut live = scan.live;
        if let Some(newest) = live.last().map(|s| s.epoch).filter(|e| *e > epoch) {
            return Err(WalError::StaleEpoch {
                dir: dir.to_path_buf(),
                epoch,
                newest,
            });
        }
        let mut reusable = None;
        if let Some(tail) = live.last().cloned() {
            let path = dir.join(tail.file_name());
            if scan.tail_header_invalid {
                io.remove_file(&path)
                    .map_err(|source| io_error("remove", &path, source))?;
                io.sync_dir(dir)
                    .map_err(|source| io_error("fsync dir", dir, source))?;
                live.pop();
            } else {
                let file = io
                    .open(&path)
                    .map_err(|source| io_error("open", &path, source))?;
                file.sync()
                    .map_err(|source| io_error("fsync", &path, source))?;
                if let Some(cut) = &scan.cut {
                    file.set_len(cut.offset)
                        .map_err(|source| io_error("truncate", &path, source))?;
                    file.sync()
                        .map_err(|source| io_error("fsync", &path, source))?;
                }
                let len = file
                    .len_bytes()
                    .map_err(|source| io_error("stat", &path, source))?;
                if tail.epoch == epoch && !beyond_durable {
                    reusable = live.pop().map(|name| (name, file, len));
                }
            }
        }
        let mut stale = scan.stale;
        if beyond_durable {
            // Segments the failed writer started after its last synced record hold nothing
            // durable; off the chain (the new segment continues the one holding that record).
            let next = scan.last_lsn.next();
            let (kept, beyond): (Vec<_>, Vec<_>) =
                live.into_iter().partition(|s| s.first_lsn <= next);
            live = kept;
            stale.extend(beyond);
        }
        let (active, active_file, active_len) = match reusable {
            Some(reused) => reused,
            None => {
                let name = SegmentName {
                    first_lsn: scan.last_lsn.next(),
                    epoch,
                };
                let prev_epoch = live.last().map_or(Epoch(0), |tail| tail.epoch);
                let file = create_segment(io.as_ref(), dir, &name, prev_epoch)?;
                (name, file, SEGMENT_HEADER_LEN as u64)
            }
        };
        let pending = PendingWrites {
            chunks: Vec::new(),
            bytes: 0,
            epoch,
            tail_first_lsn: active.first_lsn,
            tail_len: active_len,
            options,
        };
        let recovered = RecoveredLog {
            records: scan.records,
            last_lsn: scan.last_lsn,
            cut: scan.cut,
            stale_segments: stale.iter().map(|s| dir.join(s.file_name())).collect(),
        };
        let writer = SegmentWriter {
            io,
            dir: dir.to_path_buf(),
            active,
            active_file,
            active_len,
            sealed: live,
            stale,
        };
        let wal = Wal {
            dir: dir.to_path_buf(),
            epoch,
            core: GroupCommit::new(scan.last_lsn.0, pending, options.group_commit_wait_max),
            writer: Mutex::new(writer),
        };
        debug_assert_eq!(wal.check_invariants(), Ok(()));
        Ok((wal, recovered))
    }

    /// Frames `payload` as the next record and returns its LSN. Nothing is written or durable
    /// yet: call [`Wal::sync`] before acknowledging. On error nothing was appended.
    pub fn append(&self, payload: &[u8]) -> Result<Lsn, WalError> {
        self.core
            .append(|lsn, durable_lsn, pending| pending.push(Lsn(lsn), Lsn(durable_lsn), payload))
            .map(Lsn)
            .map_err(|error| match error {
                CommitError::Rejected(error) => error,
                _ => WalError::Poisoned,
            })
    }

    /// Returns once every record up to `lsn` is durable (written and fsynced), sharing one
    /// flush with every concurrent caller. An error from [`WalError::is_indeterminate`] means
    /// the records may or may not be durable: the Wal is poisoned and must be reopened.
    pub fn sync(&self, lsn: Lsn) -> Result<(), WalError> {
        let mut target = Lsn::ZERO;
        let flush = |chunks: Vec<(Lsn, Vec<u8>)>| -> Result<(), WalError> {
            let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
            for (segment_first_lsn, bytes) in &chunks {
                writer.write(*segment_first_lsn, bytes)?;
            }
            if mutant::is_active(Mutant::AckBeforeFsync) {
                // Mutant 1 (NATS 2.12 acknowledged messages it had only written to the page
                // cache): the fsync is left to the segment's roll (or a later flush), and
                // the waiters are released as if it had happened.
                return Ok(());
            }
            let synced = writer.sync();
            if synced.is_err() && mutant::is_active(Mutant::FsyncRetryAcks) {
                // Mutant 15 (fsyncgate: PostgreSQL retried a failed fsync and carried on):
                // the retry succeeds because the failed fsync marked the pages clean, and the
                // records it may have lost are acknowledged.
                return writer.sync();
            }
            synced
        };
        let take = |pending: &mut PendingWrites| pending.take();
        let result = self.core.sync(lsn.0, take, |chunks| {
            target = self.last_lsn();
            flush(chunks)
        });
        result.map_err(|error| match error {
            CommitError::Flush(source) => WalError::SyncFailed {
                lsn: target,
                source: Box::new(source),
            },
            CommitError::Poisoned | CommitError::Rejected(_) => WalError::SyncPoisoned { lsn },
            CommitError::NotAppended { lsn, last_lsn } => WalError::NotAppended {
                lsn: Lsn(lsn),
                last_lsn: Lsn(last_lsn),
            },
        })
    }

    /// Appends `payload` and syncs it: the record is durable when this returns `Ok`.
    pub fn append_sync(&self, payload: &[u8]) -> Result<Lsn, WalError> {
        let lsn = self.append(payload)?;
        self.sync(lsn)?;
        Ok(lsn)
    }

    /// The last appended LSN (durable or not).
    pub fn last_lsn(&self) -> Lsn {
        Lsn(self.core.with_state(|state| state.last_lsn))
    }

    /// Every record up to this LSN is durable.
    pub fn durable_lsn(&self) -> Lsn {
        Lsn(self.core.with_state(|state| state.durable_lsn))
    }

    /// The writer epoch this Wal appends with.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// The WAL directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether a failed fsync poisoned this Wal.
    pub fn is_poisoned(&self) -> bool {
        self.core.is_poisoned()
    }

    /// Compaction: removes every sealed segment whose records all have LSNs at or below `lsn`
    /// (and segments of fenced epochs), then fsyncs the directory. Call only after a manifest
    /// covering `lsn` is durable, and only while holding the lease (a fenced writer must never
    /// delete). The active segment is never removed. Returns how many files were removed.
    pub fn remove_segments_through(&self, lsn: Lsn) -> Result<usize, WalError> {
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        writer.remove_through(lsn)
    }

    /// Checks the in-memory invariants; `Err` describes the first one broken.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.core.with_state(|state| state.check_invariants())?;
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if writer.active_len < SEGMENT_HEADER_LEN as u64 {
            return Err(format!(
                "active segment length {} < header",
                writer.active_len
            ));
        }
        if writer.active.epoch != self.epoch {
            return Err("the active segment is of another epoch".to_string());
        }
        let mut previous: Option<&SegmentName> = None;
        for name in writer.sealed.iter().chain(std::iter::once(&writer.active)) {
            if previous.is_some_and(|p| p >= name) {
                return Err(format!("segments out of order at {}", name.file_name()));
            }
            previous = Some(name);
        }
        Ok(())
    }
}

/// Reads every record with an LSN above `after` without writing anything (catch-up by another
/// process holding the lease). A torn tail is reported in [`RecoveredLog::cut`] but not cut.
/// The records may include ones a dead writer wrote but never fsynced: a writer must
/// [`Wal::open`] (which fsyncs them) before acknowledging anything built on them.
pub fn read_after(io: &dyn Io, dir: &Path, after: Lsn) -> Result<RecoveredLog, WalError> {
    let scan = recovery::scan(io, dir, after)?;
    Ok(RecoveredLog {
        records: scan.records,
        last_lsn: scan.last_lsn,
        cut: scan.cut,
        stale_segments: scan.stale.iter().map(|s| dir.join(s.file_name())).collect(),
    })
}
