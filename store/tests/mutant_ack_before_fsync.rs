#![cfg(feature = "mutants")]
//! Mutant 1, `ack-before-fsync` (NATS 2.12 acknowledged messages it had only written to the
//! page cache): the WAL's sync answers once the records are written, leaving the fsync to the
//! segment's roll. Exposed by a **power cut** after acknowledged writes: the clean store keeps
//! every one; with the mutant, the unsynced tail is torn or lost.

mod common;

use store::io::sim::SimDisk;
use store::mutant::{self, Mutant};
use store::Store;

fn sim_store(disk: &SimDisk) -> Store {
    common::open_sim(disk, 60_000).unwrap()
}

/// Over several power cuts: how many lost an acknowledged write.
fn power_cuts_losing_acknowledged_writes() -> usize {
    let mut losing = 0;
    for seed in 1..=12u64 {
        let disk = SimDisk::new();
        let store = sim_store(&disk);
        store.put("k", b"acknowledged").unwrap();
        drop(store);
        disk.power_cut(seed);
        if sim_store(&disk).get("k").unwrap().is_none() {
            losing += 1;
        }
    }
    losing
}

#[test]
fn with_the_mutant_a_power_cut_loses_acknowledged_writes() {
    assert_eq!(power_cuts_losing_acknowledged_writes(), 0);
    mutant::activate(Mutant::AckBeforeFsync).unwrap();
    let losing = power_cuts_losing_acknowledged_writes();
    assert!(losing > 0, "no power cut lost an acknowledged write");
}
