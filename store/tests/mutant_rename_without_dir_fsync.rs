#![cfg(feature = "mutants")]
//! Mutant 4, `rename-without-dir-fsync` (etcd 2016: a new WAL segment was created without an
//! fsync of its directory; the blob store and the manifest skip theirs too). Exposed by a
//! **power cut** after writes acknowledged into a new segment (the first one, or one begun at
//! a rotation or a takeover): the file's name was never durable, so every record in it goes.

use std::path::Path;
use std::sync::Arc;

use store::io::sim::SimDisk;
use store::mutant::{self, Mutant};
use store::{Store, StoreOptions};

fn sim_store(disk: &SimDisk) -> Store {
    let options = StoreOptions {
        io: Arc::new(disk.clone()),
        idle_release_ms: 600_000,
        lease_ms: 60_000,
        ..StoreOptions::default()
    };
    Store::open(Path::new("/store"), options).unwrap()
}

/// Acknowledged writes lost by a power cut after a takeover began a new segment.
fn acknowledged_writes_lost() -> Vec<String> {
    let disk = SimDisk::new();
    let first = sim_store(&disk);
    first.put("a", b"1").unwrap();
    drop(first);
    let second = sim_store(&disk);
    second.put("b", b"2").unwrap();
    drop(second);
    disk.power_cut(1);
    let reopened = sim_store(&disk);
    ["a", "b"]
        .into_iter()
        .filter(|key| reopened.get(key).unwrap().is_none())
        .map(String::from)
        .collect()
}

#[test]
fn with_the_mutant_a_power_cut_loses_a_new_segment_and_its_acknowledged_writes() {
    assert_eq!(acknowledged_writes_lost(), Vec::<String>::new());
    mutant::activate(Mutant::RenameWithoutDirFsync).unwrap();
    assert_eq!(acknowledged_writes_lost(), vec!["a", "b"]);
}
