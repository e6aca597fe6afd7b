//! `verify`: the store's own invariant check over its directory. Read-only; runs under the
//! lease so the directory does not change while it is read.
//!
//! Checks: the manifest reads back (checksum, format); its snapshot blob reads back and covers
//! exactly the manifest's LSN; the WAL after it is contiguous, every record is a valid Store
//! record, every value blob a record names reads back as that value, and every record applies
//! cleanly; replaying snapshot + WAL gives exactly the in-memory state; every blob in `blobs/`
//! passes its checksum, and every value blob holds the value its name's SHA-256 names; every
//! pin is readable; the state's own invariants.

use super::backend;
use super::core::Core;
use super::pins;
use super::values;
use super::StoreError;
use crate::record::ValueRef;
use crate::state::State;
use crate::wal::{read_after, Lsn};

/// Returns the problems found (empty: sound). `Err` only if the check could not start.
pub(crate) fn verify(core: &Core) -> Result<Vec<String>, StoreError> {
    let (mut inner, holder) = core.begin()?;
    let synced = holder
        .wal
        .sync(Lsn(inner.state.applied_lsn()))
        .map_err(StoreError::from);
    core.after_error(&mut inner, &holder, &synced);
    synced?;
    let mut problems = Vec::new();
    if let Err(problem) = inner.state.check_invariants() {
        problems.push(format!("in-memory state: {problem}"));
    }
    match replay_from_disk(core, &mut problems) {
        Ok(replayed) => compare(&replayed, &inner.state, &mut problems),
        Err(error) => problems.push(error.to_string()),
    }
    check_blobs(core, &mut problems);
    Ok(problems)
}

/// Snapshot + WAL, read from disk alone.
fn replay_from_disk(core: &Core, problems: &mut Vec<String>) -> Result<State, StoreError> {
    let io = &core.options.io;
    let published = backend::read_manifest(io, &core.dir)?;
    let mut state = backend::load_snapshot(io, &core.dir, &published)?;
    let wal_dir = core.dir.join("wal");
    let log = read_after(io.as_ref(), &wal_dir, Lsn(state.applied_lsn()))?;
    if let Some(cut) = &log.cut {
        problems.push(format!(
            "{}: {} invalid bytes at offset {} after the last valid record",
            cut.path.display(),
            cut.discarded_bytes,
            cut.offset
        ));
    }
    for record in &log.records {
        let decoded = values::read_record(io, &core.dir, record)?;
        state.apply(record.lsn.0, &decoded)?;
    }
    Ok(state)
}

fn compare(replayed: &State, live: &State, problems: &mut Vec<String>) {
    if replayed.applied_lsn() != live.applied_lsn() {
        problems.push(format!(
            "disk replays to lsn {} but the store has applied lsn {}",
            replayed.applied_lsn(),
            live.applied_lsn()
        ));
    }
    let keys = replayed.entries().keys().chain(live.entries().keys());
    for key in keys {
        let (on_disk, in_memory) = (replayed.get(key), live.get(key));
        if on_disk != in_memory {
            problems.push(format!(
                "key {key:?}: disk replays to {:?}, the store holds {:?}",
                on_disk.map(|e| e.version),
                in_memory.map(|e| e.version)
            ));
            return;
        }
    }
}

fn check_blobs(core: &Core, problems: &mut Vec<String>) {
    let io = &core.options.io;
    let blobs = match backend::blobs(io, &core.dir) {
        Ok(blobs) => blobs,
        Err(error) => return problems.push(error.to_string()),
    };
    match blobs.list() {
        Ok(ids) => {
            for id in ids {
                match blobs.get(&id) {
                    Err(error) => problems.push(format!("blob {id}: {error}")),
                    Ok(value) if ValueRef::is_value_blob(&id) => {
                        if ValueRef::for_value(&value).blob != id {
                            problems.push(format!(
                                "value blob {id}: its {} bytes have another SHA-256",
                                value.len()
                            ));
                        }
                    }
                    Ok(_) => {}
                }
            }
        }
        Err(error) => problems.push(format!("listing blobs: {error}")),
    }
    match pins::read_pins(io.as_ref(), &core.dir) {
        Ok(set) if !set.unreadable.is_empty() => {
            problems.push(format!("unreadable pins: {}", set.unreadable.join(", ")));
        }
        Ok(_) => {}
        Err(error) => problems.push(format!("reading pins: {error}")),
    }
}
