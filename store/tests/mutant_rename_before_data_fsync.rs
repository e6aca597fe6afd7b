#![cfg(feature = "mutants")]
//! Mutant 5, `rename-before-data-fsync` (LevelDB's empty CURRENT: the pointer file was renamed
//! into place before its data was synced): blobs are renamed over their final names, and the
//! manifest's claimed `MANIFEST.<seq>` made durable by the directory fsync, with their data
//! never fsynced. Exposed by a **power cut** after a snapshot: the clean store opens with every
//! acknowledged write; with the mutant the manifest (or the snapshot it names) is torn, and
//! the store refuses to open (no valid manifest, naming the torn file) or loses writes.

mod common;

use store::io::sim::SimDisk;
use store::mutant::{self, Mutant};
use store::{Store, StoreError};

fn sim_store(disk: &SimDisk) -> Result<Store, StoreError> {
    common::open_sim(disk, 60_000)
}

/// Over several power cuts after a snapshot: what went wrong at each reopen that did not give
/// back the acknowledged writes.
fn broken_reopens() -> Vec<String> {
    let mut broken = Vec::new();
    for seed in 1..=12u64 {
        let disk = SimDisk::new();
        let store = sim_store(&disk).unwrap();
        store.put("a", b"1").unwrap();
        store.put("b", b"2").unwrap();
        store.snapshot().unwrap();
        drop(store);
        disk.power_cut(seed);
        match sim_store(&disk) {
            Err(error) => broken.push(format!("seed {seed}: refuses to open: {error}")),
            Ok(reopened) => {
                for key in ["a", "b"] {
                    match reopened.get(key) {
                        Ok(Some(_)) => {}
                        other => broken.push(format!("seed {seed}: {key}: {other:?}")),
                    }
                }
            }
        }
    }
    broken
}

#[test]
fn with_the_mutant_a_power_cut_after_a_snapshot_leaves_a_torn_manifest() {
    assert_eq!(broken_reopens(), Vec::<String>::new());
    mutant::activate(Mutant::RenameBeforeDataFsync).unwrap();
    let broken = broken_reopens();
    assert!(!broken.is_empty(), "every power cut kept the store whole");
}
