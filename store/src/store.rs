//! [`Store`]: versioned keys, batches, snapshots and GC over one directory that several
//! processes may share, built on the durable primitives (WAL, blobs, manifest, lease lock).
//!
//! Every operation runs under the directory's lease lock after catching up on what other
//! processes committed (store/PROTOCOL.md, "Commit protocol"). Within one process the lock is
//! taken once and shared by every concurrent operation; records are appended under the
//! process's state mutex (so LSN order is apply order) and made durable outside it, where
//! concurrent writers share one fsync (group commit). Nothing is answered before the state it
//! reports is durable.

use std::path::Path;
use std::sync::Arc;

use crate::io::{Io, StdIo};
use crate::record::WalRecord;
use crate::state::{Entry, IfModified, Version};
use crate::wal::WalOptions;

mod backend;
mod batch;
mod compact;
mod core;
mod error;
mod gc;
mod holding;
mod pins;
mod takeover;
mod values;
mod verify;

pub use batch::{Batch, MAX_BATCH_OPS};
pub use compact::{GcReport, PinnedSnapshot, SnapshotReport};
pub use error::{Outcome, StoreError};

/// Tuning of a [`Store`].
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// The disk. Default: [`StdIo`].
    pub io: Arc<dyn Io>,
    /// How long the lease lasts without a heartbeat before another process may take over.
    pub lease_ms: u64,
    /// How long an operation waits for the lock before failing with
    /// [`StoreError::LockUnavailable`].
    pub lock_wait_ms: u64,
    /// The lock is released once the process has had no operation in flight for this long
    /// (0: as soon as none is in flight), so other processes get their turn.
    pub idle_release_ms: u64,
    /// Fairness under continuous load: after holding the lock this long the process lets it go
    /// for a moment once its operations in flight have settled (0: never).
    pub max_hold_ms: u64,
    /// GC deletes an unreachable blob only once it is older than this (its id carries its
    /// creation time).
    pub gc_grace_ms: u64,
    /// A put value (plain, compare-and-set or in a batch) of at least this many bytes is
    /// written as a content-addressed value blob that its WAL record names, instead of inside
    /// the record (store/PROTOCOL.md §3, "Large values"). 0: every value stays in its record.
    /// Patch deltas always stay in their record. Default: 1024.
    pub blob_threshold_bytes: usize,
    /// Tuning of the write-ahead log.
    pub wal: WalOptions,
}

/// Default of [`StoreOptions::blob_threshold_bytes`].
pub const DEFAULT_BLOB_THRESHOLD_BYTES: usize = 1024;

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            io: Arc::new(StdIo),
            lease_ms: 2_000,
            lock_wait_ms: 10_000,
            idle_release_ms: 5,
            max_hold_ms: 1_000,
            gc_grace_ms: 1_000,
            blob_threshold_bytes: DEFAULT_BLOB_THRESHOLD_BYTES,
            wal: WalOptions::default(),
        }
    }
}

/// What a compare-and-set expects the key to hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CasExpected {
    /// The key is absent.
    Absent,
    /// The key exists at this version.
    Version(Version),
    /// The key exists with this value.
    Value(Vec<u8>),
}

/// Result of a compare-and-set: a mismatch is a value, not an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CasOutcome {
    /// The new value was written durably at this version.
    Written(Version),
    /// The key did not hold what was expected; here is what it holds. Nothing was written.
    Mismatch(Option<Entry>),
}

/// A store over one directory. Cheap to share between threads (`&Store` is enough); several
/// processes may open the same directory at once. See the module doc for how a request flows.
#[derive(Debug)]
pub struct Store {
    core: Arc<core::Core>,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`: takes the lock, loads the published
    /// snapshot, replays the WAL after it (cutting a torn tail durably) and starts this
    /// process's segment.
    pub fn open(dir: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        Ok(Store {
            core: core::Core::open(dir, options)?,
        })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        self.core.dir()
    }

    /// Sets `key` to `value`; returns the key's new version.
    pub fn put(&self, key: &str, value: &[u8]) -> Result<Version, StoreError> {
        let record = WalRecord::Put {
            key: key.into(),
            value: value.to_vec(),
        };
        self.core.write_all(Some(key), &[record])
    }

    /// Appends `delta` to the value of `key` (a missing key starts empty); returns the version.
    pub fn patch(&self, key: &str, delta: &[u8]) -> Result<Version, StoreError> {
        let record = WalRecord::Patch {
            key: key.into(),
            delta: delta.to_vec(),
        };
        self.core.write_all(Some(key), &[record])
    }

    /// Removes `key`; returns the LSN of the delete, or `None` if the key was absent (then
    /// nothing is written).
    pub fn delete(&self, key: &str) -> Result<Option<Version>, StoreError> {
        self.core.write(Some(key), |state| {
            let present = state.get(key).is_some();
            Ok(present.then(|| vec![WalRecord::Delete { key: key.into() }]))
        })
    }

    /// The key's durable value and version.
    pub fn get(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        self.core.read(|state| state.get(key).cloned())
    }

    /// "Not modified" iff `version` is the key's current version; otherwise what it holds now.
    pub fn get_if_modified(&self, key: &str, version: Version) -> Result<IfModified, StoreError> {
        self.core.read(|state| state.get_if_modified(key, version))
    }

    /// Writes `new_value` iff the key holds what `expected` says.
    pub fn cas(
        &self,
        key: &str,
        expected: &CasExpected,
        new_value: &[u8],
    ) -> Result<CasOutcome, StoreError> {
        let mut mismatch = None;
        let written = self.core.write(Some(key), |state| {
            let current = state.get(key);
            let matches = match (expected, current) {
                (CasExpected::Absent, None) => true,
                (CasExpected::Version(version), Some(entry)) => entry.version == *version,
                (CasExpected::Value(value), Some(entry)) => entry.value == *value,
                _ => false,
            };
            if !matches {
                mismatch = Some(current.cloned());
                return Ok(None);
            }
            Ok(Some(vec![WalRecord::Put {
                key: key.into(),
                value: new_value.to_vec(),
            }]))
        })?;
        match (written, mismatch) {
            (Some(version), _) => Ok(CasOutcome::Written(version)),
            (None, current) => Ok(CasOutcome::Mismatch(current.flatten())),
        }
    }

    /// Starts a batch: puts and deletes buffered in memory and committed atomically.
    pub fn batch(&self) -> Batch<'_> {
        Batch::new(&self.core)
    }

    /// Folds the log into a snapshot blob, publishes it and deletes the covered segments.
    pub fn snapshot(&self) -> Result<SnapshotReport, StoreError> {
        compact::snapshot(&self.core)
    }

    /// Deletes blobs nothing can reach (store/PROTOCOL.md, "GC protocol").
    pub fn gc(&self) -> Result<GcReport, StoreError> {
        gc::gc(&self.core)
    }

    /// Checks the directory against the store's invariants; returns the problems found
    /// (empty: sound). An `Err` means the check itself could not run.
    pub fn verify(&self) -> Result<Vec<String>, StoreError> {
        verify::verify(&self.core)
    }

    /// Pins a snapshot of the current state (publishing one first unless the published one
    /// covers it): the reader keeps reading it, consistently, across later writes, compactions
    /// and GC, until dropped.
    pub fn pin_snapshot(&self) -> Result<PinnedSnapshot, StoreError> {
        compact::pin_snapshot(&self.core)
    }

    /// Checks the in-memory invariants (state, WAL); `Err` names the first one broken.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.core.check_invariants()
    }
}
