//! Garbage collection (store/PROTOCOL.md §6): deletes only blobs it proves unreachable from
//! every root: the published manifest's snapshot, every record in the live log (value blobs),
//! and every pin (pinned snapshots; value blobs of writes in flight).
//!
//! Runs under the lease and the state mutex: no write of this process is between staging its
//! value blob and appending its record, and no other (unfenced) process writes at all. Blobs
//! are listed *before* the pins are read: a value blob is pinned before it is written, so a
//! blob in the listing has its pin visible by the time the pins are read.

use std::collections::BTreeSet;

use super::backend;
use super::compact::{ensure_not_fenced, GcReport};
use super::core::{Core, Holder};
use super::pins::{self, PinSet};
use super::StoreError;
use crate::blob::BlobId;
use crate::mutant::{self, Mutant};
use crate::record::{LogRecord, ValueRef};
use crate::wal::{read_after, Lsn};

/// Runs the GC protocol under the lease.
pub(crate) fn gc(core: &Core) -> Result<GcReport, StoreError> {
    let (mut inner, holder) = core.begin()?;
    let result = gc_locked(core, &holder);
    core.after_error(&mut inner, &holder, &result);
    result
}

fn gc_locked(core: &Core, holder: &Holder) -> Result<GcReport, StoreError> {
    let io = &core.options.io;
    let blobs = backend::blobs(io, &core.dir)?;
    // Step 1: what exists, before the pins are read.
    let present = blobs.list()?;
    let temporaries = blobs.list_temporaries()?;
    // Step 2: the pins.
    let mut pinned = pins::read_pins(io.as_ref(), &core.dir).map_err(|source| StoreError::Io {
        what: "read pins",
        source,
    })?;
    if mutant::is_active(Mutant::GcIgnoresPins) {
        // The incident: reachability computed from the durable roots (manifest and log) only,
        // as if every reader and writer were done.
        pinned = PinSet::default();
    }
    let mut report = GcReport::default();
    if !pinned.unreadable.is_empty() {
        report.blobs_kept = present.len();
        report.kept_all_because =
            Some(format!("unreadable pins: {}", pinned.unreadable.join(", ")));
        return Ok(report);
    }
    // Steps 3 and 4: the manifest's snapshot and every value blob the live log names.
    let mut reachable: BTreeSet<String> = pinned.blobs.into_iter().collect();
    let published = backend::read_manifest_durable(io, &core.dir)?;
    if let Some(blob) = &published.manifest.snapshot {
        reachable.insert(blob.to_string());
    }
    match log_value_blobs(core, published.covered_lsn()) {
        Ok(named) => reachable.extend(named),
        Err(error) => {
            report.blobs_kept = present.len();
            report.kept_all_because = Some(format!("the live log could not be read: {error}"));
            return Ok(report);
        }
    }
    // Steps 5 and 6: delete what is proven unreachable, checking before each removal that the
    // lease is still ours (a fenced GC must not delete what the new holder may reference).
    let grace_ms = core.options.gc_grace_ms;
    for blob in present {
        if reachable.contains(blob.as_str()) || !unreachable_is_garbage(&blob, grace_ms) {
            report.blobs_kept += 1;
            continue;
        }
        ensure_not_fenced(holder)?;
        blobs.remove(&blob)?;
        report.blobs_deleted += 1;
        if ValueRef::is_value_blob(&blob) {
            report.value_blobs_deleted += 1;
        }
    }
    // Step 7: leftovers of interrupted writes.
    for temporary in temporaries {
        if unreachable_is_garbage(&temporary.id, grace_ms) {
            ensure_not_fenced(holder)?;
            blobs.remove_temporary(&temporary)?;
            report.temporaries_deleted += 1;
        }
    }
    let manifests = backend::manifests(io, &core.dir);
    report.temporaries_deleted += manifests
        .remove_stale_temporaries(holder.lease.epoch())
        .map_err(StoreError::Manifest)?;
    Ok(report)
}

/// Every value blob named by a record of the live log (after the snapshot's `covered_lsn`).
/// Records at or below it are folded into the snapshot, which keeps values inline.
fn log_value_blobs(core: &Core, covered_lsn: u64) -> Result<Vec<String>, StoreError> {
    let io = &core.options.io;
    let log = read_after(io.as_ref(), &core.dir.join("wal"), Lsn(covered_lsn))?;
    let mut named = Vec::new();
    for record in &log.records {
        let decoded =
            LogRecord::decode(&record.payload).map_err(|source| StoreError::CorruptRecord {
                lsn: record.lsn.0,
                source,
            })?;
        if let Some(value) = decoded.value_ref() {
            named.push(value.blob.to_string());
        }
    }
    Ok(named)
}

/// Whether a blob (or temporary) no root names may be deleted.
///
/// - A value blob (or its temporary): yes. Value blobs are written only under the lease and
///   the state mutex, both held now, and are pinned from before they are written until their
///   record is durable, so one that no pin and no live record names is garbage: a write that
///   failed or a record compacted into a snapshot.
/// - A snapshot blob (or temporary): only once its id proves it older than `grace_ms`. A
///   holder fenced between writing its snapshot blob and publishing it may still publish it
///   (when the new holder has not published yet); the grace period covers that pause. An id
///   without a readable time is never provably old.
fn unreachable_is_garbage(blob: &BlobId, grace_ms: u64) -> bool {
    ValueRef::is_value_blob(blob) || older_than(blob, grace_ms)
}

/// Whether the blob's id (`<prefix>-<unix ns>-<pid>-<n>`) proves it older than `grace_ms`.
fn older_than(blob: &BlobId, grace_ms: u64) -> bool {
    let Some(created_ns) = blob
        .as_str()
        .split('-')
        .nth(1)
        .and_then(|n| n.parse::<u128>().ok())
    else {
        return false;
    };
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    now_ns.saturating_sub(created_ns) >= u128::from(grace_ms) * 1_000_000
}
