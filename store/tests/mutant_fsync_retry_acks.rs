#![cfg(feature = "mutants")]
//! Mutant 15, `fsync-retry-acks` (fsyncgate, 2018: PostgreSQL retried a failed fsync, which
//! succeeded because Linux had marked the pages clean, and carried on): the WAL retries a
//! failed fsync and acknowledges. Exposed by an **fsync EIO** followed by a **power cut**:
//! the clean store answers `info` for the write; with the mutant it answers `ok` and the
//! power cut loses it.

mod common;

use store::io::sim::SimDisk;
use store::mutant::{self, Mutant};
use store::{Outcome, Store};

fn sim_store(disk: &SimDisk) -> Store {
    common::open_sim(disk, 60_000).unwrap()
}

/// Acknowledged writes a power cut after a failed fsync lost.
fn acknowledged_writes_lost() -> Vec<&'static str> {
    let disk = SimDisk::new();
    let store = sim_store(&disk);
    let mut acknowledged = vec!["a"];
    store.put("a", b"1").unwrap();
    disk.fail_next_sync();
    match store.put("b", b"2") {
        Ok(_) => acknowledged.push("b"),
        Err(error) => assert_eq!(error.outcome(), Outcome::Indeterminate, "{error}"),
    }
    drop(store);
    disk.power_cut(1);
    let reopened = sim_store(&disk);
    acknowledged
        .into_iter()
        .filter(|key| reopened.get(key).unwrap().is_none())
        .collect()
}

#[test]
fn with_the_mutant_a_write_whose_fsync_failed_is_acknowledged_and_lost() {
    assert_eq!(acknowledged_writes_lost(), Vec::<&str>::new());
    mutant::activate(Mutant::FsyncRetryAcks).unwrap();
    assert_eq!(acknowledged_writes_lost(), vec!["b"]);
}
