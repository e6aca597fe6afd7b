//! Adapters from the durable primitives (lease lock, manifest, blobs) to what the Store's
//! protocols need: a lease usable through `&self` from many threads, and snapshot loading.

use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::StoreError;
use crate::blob::{BlobId, BlobStore};
use crate::io::Io;
use crate::lock::{Epoch, LeaseLock, LeaseOptions, LockError, LockGuard};
use crate::manifest::{Manifest, ManifestStore, ManifestToken};
use crate::state::State;

/// A held lease, shared by every operation of this process while it holds the lock.
#[derive(Debug)]
pub(crate) struct Lease {
    guard: Mutex<Option<LockGuard>>,
    epoch: Epoch,
}

impl Lease {
    /// Takes the directory's lock, waiting at most `wait_ms`.
    pub(crate) fn acquire(
        io: Arc<dyn Io>,
        dir: &Path,
        lease_ms: u64,
        wait_ms: u64,
    ) -> Result<Lease, StoreError> {
        let options = LeaseOptions {
            lease: Duration::from_millis(lease_ms),
            acquire_timeout: Duration::from_millis(wait_ms),
            ..LeaseOptions::default()
        };
        let guard = LeaseLock::new(io, dir, options)?.acquire()?;
        Ok(Lease {
            epoch: guard.epoch(),
            guard: Mutex::new(Some(guard)),
        })
    }

    /// The epoch this lease grants.
    pub(crate) fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// Whether no higher epoch exists (false once released).
    pub(crate) fn still_ours(&self) -> Result<bool, StoreError> {
        let guard = self
            .guard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match guard.as_ref().map(LockGuard::check_not_fenced) {
            None | Some(Err(LockError::Fenced { .. })) => Ok(false),
            Some(Ok(())) => Ok(true),
            Some(Err(error)) => Err(error.into()),
        }
    }

    /// Refreshes the lease's heartbeat.
    pub(crate) fn heartbeat(&self) -> Result<(), StoreError> {
        let mut guard = self
            .guard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match guard.as_mut() {
            Some(guard) => Ok(guard.heartbeat()?),
            None => Ok(()),
        }
    }

    /// Marks the epoch released (once; later calls do nothing).
    pub(crate) fn release(&self) -> Result<(), StoreError> {
        let taken = self
            .guard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        match taken {
            Some(guard) => Ok(guard.release()?),
            None => Ok(()),
        }
    }
}

/// A manifest as read, with the token a publish must name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Published {
    pub(crate) manifest: Manifest,
    pub(crate) token: ManifestToken,
}

impl Published {
    pub(crate) fn covered_lsn(&self) -> u64 {
        self.manifest.covered_lsn.0
    }
}

pub(crate) fn manifests(io: &Arc<dyn Io>, dir: &Path) -> ManifestStore {
    ManifestStore::new(io.clone(), dir)
}

pub(crate) fn blobs(io: &Arc<dyn Io>, dir: &Path) -> Result<BlobStore, StoreError> {
    Ok(BlobStore::open(io.clone(), &dir.join("blobs"))?)
}

/// Reads the current manifest (the default, seq 0, if none was ever published).
pub(crate) fn read_manifest(io: &Arc<dyn Io>, dir: &Path) -> Result<Published, StoreError> {
    let (manifest, token) = manifests(io, dir).read()?;
    Ok(Published { manifest, token })
}

/// Reads the current manifest and makes it durable (`ManifestStore::read_durable`): for
/// callers that delete what it covers or collect what it does not name.
pub(crate) fn read_manifest_durable(io: &Arc<dyn Io>, dir: &Path) -> Result<Published, StoreError> {
    let (manifest, token) = manifests(io, dir).read_durable()?;
    Ok(Published { manifest, token })
}

/// Loads the snapshot a manifest names, checking it covers exactly the manifest's LSN.
pub(crate) fn load_snapshot(
    io: &Arc<dyn Io>,
    dir: &Path,
    published: &Published,
) -> Result<State, StoreError> {
    let manifest = &published.manifest;
    let Some(blob) = &manifest.snapshot else {
        if manifest.covered_lsn.0 == 0 {
            return Ok(State::new());
        }
        let covered_lsn = manifest.covered_lsn.0;
        return Err(StoreError::ManifestWithoutSnapshot {
            seq: manifest.seq,
            covered_lsn,
        });
    };
    load_snapshot_blob(io, dir, blob, manifest.covered_lsn.0)
}

/// Reads and decodes snapshot blob `blob`, which must cover `covered_lsn`.
pub(crate) fn load_snapshot_blob(
    io: &Arc<dyn Io>,
    dir: &Path,
    blob: &BlobId,
    covered_lsn: u64,
) -> Result<State, StoreError> {
    let bytes = blobs(io, dir)?.get(blob)?;
    let state = State::decode_snapshot(&bytes).map_err(|source| StoreError::CorruptSnapshot {
        blob: blob.to_string(),
        source,
    })?;
    if state.applied_lsn() != covered_lsn {
        return Err(StoreError::SnapshotLsnMismatch {
            blob: blob.to_string(),
            snapshot_lsn: state.applied_lsn(),
            manifest_lsn: covered_lsn,
        });
    }
    Ok(state)
}

pub(crate) fn spawn_error(what: &'static str, source: io::Error) -> StoreError {
    StoreError::Io { what, source }
}
