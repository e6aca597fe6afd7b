#![cfg(feature = "mutants")]
//! Planted bug 13, uncommitted-batch-visible (Pulp's incomplete repository version): replay
//! applies each operation of a batch as it reads it, without waiting for the batch's commit
//! record. The scenario, on the simulated disk: three keys written, then a batch rewriting all
//! three whose fsync never happens (the process dies between write and fsync), then a power cut
//! that keeps a torn piece of the unsynced tail — seed by seed, a different piece. With the
//! clean store every seed recovers all three keys old or all three new; with the mutant some
//! seed recovers a batch cut after its first operations: part of it visible.
//!
//! One test: the clean run comes first, then the mutant is activated for the rest of the process.
//! Run: `cargo test -p store --features mutants --test mutant_uncommitted_batch_visible`.

mod common;

use store::io::sim::SimDisk;
use store::mutant::{self, Mutant};
use store::{Outcome, Store};

const KEYS: [&str; 3] = ["a", "b", "c"];
const SEEDS: u64 = 40;

fn sim_store(disk: &SimDisk) -> Store {
    common::open_sim(disk, 300).unwrap()
}

/// A value spanning most of a 512-byte sector, so the batch's records cross sector boundaries
/// and a power cut can keep some of them.
fn value(tag: &str) -> Vec<u8> {
    tag.repeat(400).into_bytes()
}

/// The values of every key after recovery, per seed: `old`, `new`, or a mix (a torn batch).
fn recovered_values(seed: u64) -> Vec<Vec<u8>> {
    let disk = SimDisk::new();
    let store = sim_store(&disk);
    for key in KEYS {
        store.put(key, &value("o")).unwrap();
    }
    disk.kill_before_next_sync();
    let mut batch = store.batch();
    for key in KEYS {
        batch.put(key, &value("n")).unwrap();
    }
    let error = batch.commit().unwrap_err();
    assert_eq!(error.outcome(), Outcome::Indeterminate, "{error}");
    drop(store);
    disk.power_cut(seed);
    let store = sim_store(&disk);
    KEYS.iter()
        .map(|key| store.get(key).unwrap().expect("written before").value)
        .collect()
}

/// The seeds whose recovery shows only part of the batch.
fn torn_seeds() -> Vec<u64> {
    (1..=SEEDS)
        .filter(|seed| {
            let values = recovered_values(*seed);
            !(values.iter().all(|v| *v == value("o")) || values.iter().all(|v| *v == value("n")))
        })
        .collect()
}

#[test]
fn a_batch_without_its_commit_record_is_partly_visible_only_with_the_mutant() {
    assert_eq!(
        torn_seeds(),
        Vec::<u64>::new(),
        "the clean store tore a batch"
    );

    mutant::activate(Mutant::UncommittedBatchVisible).unwrap();
    let torn = torn_seeds();
    eprintln!("seeds recovering part of the batch with the mutant: {torn:?}");
    assert!(
        !torn.is_empty(),
        "no seed of 1..={SEEDS} showed part of the uncommitted batch"
    );
    // A torn recovery is one where the batch's first operations landed and its last did not.
    let values = recovered_values(torn[0]);
    assert_eq!(values[0], value("n"), "seed {}", torn[0]);
    assert_eq!(values[2], value("o"), "seed {}", torn[0]);
}
