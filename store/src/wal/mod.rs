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

mod chain;
mod error;
#[cfg(test)]
mod failure_tests;
pub mod frame;
mod group_commit;
#[cfg(loom)]
mod loom_group_commit;
mod open;
mod pending;
mod recovery;
mod segment;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

pub(crate) use error::io_error;
pub use error::{RecordFault, WalError};

use crate::io::Io;
use crate::lock::Epoch;
use crate::mutant::{self, Mutant};
use frame::SEGMENT_HEADER_LEN;
use group_commit::{CommitError, GroupCommit};
use pending::PendingWrites;
use segment::{SegmentName, SegmentWriter};

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
