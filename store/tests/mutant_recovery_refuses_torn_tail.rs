#![cfg(feature = "mutants")]
//! Mutant 7, `recovery-refuses-torn-tail` (etcd's "wal: crc mismatch": a torn last record
//! made the member refuse to start): recovery treats an invalid tail record as fatal instead
//! of cutting it. Exposed by a **power cut** (or a **kill**) while a write was between its
//! `write` and its fsync: the clean store opens with every acknowledged write; with the
//! mutant it refuses to open.

mod common;

use store::io::sim::SimDisk;
use store::mutant::{self, Mutant};
use store::{Outcome, Store, StoreError};

fn sim_store(disk: &SimDisk) -> Result<Store, StoreError> {
    common::open_sim(disk, 60_000)
}

/// Over several power cuts that tore an unacknowledged tail: the errors of the reopens that
/// failed. A reopen that succeeds must have kept the acknowledged write.
fn reopens_refused() -> Vec<StoreError> {
    let mut refused = Vec::new();
    for seed in 1..=12u64 {
        let disk = SimDisk::new();
        let store = sim_store(&disk).unwrap();
        store.put("a", b"acknowledged").unwrap();
        disk.kill_before_next_sync();
        let torn = store.put("b", &[7u8; 900]).unwrap_err();
        assert_eq!(torn.outcome(), Outcome::Indeterminate, "{torn}");
        drop(store);
        disk.power_cut(seed);
        match sim_store(&disk) {
            Ok(reopened) => assert_eq!(reopened.get("a").unwrap().unwrap().value, b"acknowledged"),
            Err(error) => refused.push(error),
        }
    }
    refused
}

#[test]
fn with_the_mutant_the_store_refuses_to_open_after_a_torn_tail() {
    let refused = reopens_refused();
    assert!(refused.is_empty(), "{refused:?}");
    mutant::activate(Mutant::RecoveryRefusesTornTail).unwrap();
    let refused = reopens_refused();
    assert!(!refused.is_empty(), "every reopen succeeded");
    assert!(refused[0].to_string().contains("offset"), "{}", refused[0]);
}
