//! Snapshot/compaction and pinned snapshot readers (store/PROTOCOL.md, "Snapshot /
//! compaction protocol"; garbage collection is in `gc`). All run under the lease and the state
//! mutex, so no append interleaves and no other process writes meanwhile.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::backend::{self, Published};
use super::core::{Core, Holder, Inner};
use super::pins;
use super::StoreError;
use crate::blob::BlobId;
use crate::io::Io;
use crate::manifest::{Manifest, PublishOutcome};
use crate::mutant::{self, Mutant};
use crate::state::Entry;
use crate::wal::Lsn;

/// What [`crate::Store::snapshot`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotReport {
    /// Every record at or below this LSN is in the published snapshot.
    pub covered_lsn: u64,
    /// The snapshot blob the manifest now names.
    pub snapshot_blob: String,
    /// Whether a new snapshot was written (false: the published one already covered the log).
    pub written: bool,
    /// WAL segment files deleted because the snapshot covers them.
    pub segments_deleted: usize,
}

/// What [`crate::Store::gc`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Blobs proven unreachable and deleted (snapshots and value blobs).
    pub blobs_deleted: usize,
    /// Of those, value blobs (large values no live record or in-flight write names any more).
    pub value_blobs_deleted: usize,
    /// Blobs kept (reachable, younger than the grace period, or not provably unreachable).
    pub blobs_kept: usize,
    /// Leftover temporaries deleted: of interrupted blob writes (older than the grace period)
    /// and of manifest publishes by fenced epochs (below the GC's own epoch).
    pub temporaries_deleted: usize,
    /// Why GC kept everything, if it did (an unreadable pin, an unreadable log).
    pub kept_all_because: Option<String>,
}

/// Runs the snapshot protocol under the lease.
pub(crate) fn snapshot(core: &Core) -> Result<SnapshotReport, StoreError> {
    let (mut inner, holder) = core.begin()?;
    let result = snapshot_locked(core, &mut inner, &holder);
    core.after_error(&mut inner, &holder, &result);
    result
}

fn snapshot_locked(
    core: &Core,
    inner: &mut Inner,
    holder: &Holder,
) -> Result<SnapshotReport, StoreError> {
    let covered_lsn = inner.state.applied_lsn();
    holder.wal.sync(Lsn(covered_lsn))?;
    // Durable before step 6 deletes what it covers (PROTOCOL.md §5a, "Relying on a manifest
    // one did not publish"): its publisher may have crashed before its own fsyncs.
    let published = backend::read_manifest_durable(&core.options.io, &core.dir)?;
    ensure_not_fenced(holder)?;
    let mut segments_deleted = 0;
    if mutant::is_active(Mutant::TruncateBeforeManifest) {
        // Mutant 8 (the order of a design that truncates its log as soon as the records are
        // folded into the snapshot it is about to write): the covered segments go before the
        // snapshot and the manifest naming it are durable. A crash until then leaves the old
        // manifest and a log with its first records gone.
        segments_deleted = holder.wal.remove_segments_through(Lsn(covered_lsn))?;
    }
    let (blob, written) = match &published.manifest.snapshot {
        Some(blob) if published.covered_lsn() == covered_lsn => (blob.clone(), false),
        _ => (
            write_and_publish(core, inner, holder, &published, covered_lsn)?,
            true,
        ),
    };
    // Step 3, only after the manifest covering `covered_lsn` is durable.
    segments_deleted += holder.wal.remove_segments_through(Lsn(covered_lsn))?;
    Ok(SnapshotReport {
        covered_lsn,
        snapshot_blob: blob.to_string(),
        written,
        segments_deleted,
    })
}

/// Steps 1 and 2: the snapshot blob (durable), then the manifest compare-and-set (durable).
fn write_and_publish(
    core: &Core,
    inner: &mut Inner,
    holder: &Holder,
    published: &Published,
    covered_lsn: u64,
) -> Result<BlobId, StoreError> {
    let blob = BlobId::unique("snap")?;
    backend::blobs(&core.options.io, &core.dir)?.put(&blob, &inner.state.encode_snapshot())?;
    let manifest = Manifest {
        seq: published.manifest.seq + 1,
        epoch: holder.lease.epoch(),
        snapshot: Some(blob.clone()),
        covered_lsn: Lsn(covered_lsn),
    };
    ensure_not_fenced(holder)?;
    let store = backend::manifests(&core.options.io, &core.dir);
    match store.publish(&published.token, &manifest)? {
        PublishOutcome::Published(_) => Ok(blob),
        PublishOutcome::Conflict { current, .. } => Err(StoreError::ManifestConflict {
            expected_seq: published.manifest.seq,
            found_seq: current.seq,
        }),
    }
}

pub(crate) fn ensure_not_fenced(holder: &Holder) -> Result<(), StoreError> {
    if holder.lease.still_ours()? {
        Ok(())
    } else {
        Err(StoreError::LockLost {
            epoch: holder.lease.epoch().0,
        })
    }
}

/// A reader of one published snapshot, pinned so GC keeps its blob. Every read re-reads the
/// blob and verifies its checksum, so the reader works from the disk, not a copy in memory.
#[derive(Debug)]
pub struct PinnedSnapshot {
    io: Arc<dyn Io>,
    dir: PathBuf,
    blob: BlobId,
    covered_lsn: u64,
    /// Keeps the blob from GC until the reader is dropped.
    _pin: pins::BlobPins,
}

impl PinnedSnapshot {
    /// The LSN the snapshot covers: it shows exactly the writes at or below it.
    pub fn covered_lsn(&self) -> u64 {
        self.covered_lsn
    }

    /// The pinned blob's id.
    pub fn blob(&self) -> &str {
        self.blob.as_str()
    }

    /// The key's entry in the snapshot.
    pub fn get(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        Ok(self.entries()?.remove(key))
    }

    /// Every entry of the snapshot.
    pub fn entries(&self) -> Result<BTreeMap<String, Entry>, StoreError> {
        let state = backend::load_snapshot_blob(&self.io, &self.dir, &self.blob, self.covered_lsn)?;
        Ok(state.entries().clone())
    }
}

/// Pins the published snapshot, taking one first if it does not cover the current state.
pub(crate) fn pin_snapshot(core: &Core) -> Result<PinnedSnapshot, StoreError> {
    let (mut inner, holder) = core.begin()?;
    let result = snapshot_locked(core, &mut inner, &holder).and_then(|report| {
        let blob = BlobId::new(report.snapshot_blob)?;
        let io = core.options.io.clone();
        let pin = pins::pin_blobs(&io, &core.dir, &[blob.to_string()]).map_err(|source| {
            StoreError::Io {
                what: "write pin",
                source,
            }
        })?;
        let covered_lsn = report.covered_lsn;
        Ok(PinnedSnapshot {
            io,
            dir: core.dir.clone(),
            blob,
            covered_lsn,
            _pin: pin,
        })
    });
    core.after_error(&mut inner, &holder, &result);
    result
}
