#![cfg(feature = "mutants")]
//! Mutant 4, `rename-without-dir-fsync` (etcd 2016: a new WAL segment was created without an
//! fsync of its directory; the blob store and the manifest skip theirs too). Exposed by a
//! **power cut** after writes acknowledged into a new segment (the first one, or one begun at
//! a rotation or a takeover): the file's name was never durable, so every record in it goes.
//! At the manifest alone: a power cut after a publish returned loses the claimed
//! `MANIFEST.<seq>` (its name was never durable), and the previous manifest is read again,
//! though its publisher was told the new one was durable and may have deleted what it covers.

mod common;

use std::path::Path;
use std::sync::Arc;

use store::io::sim::SimDisk;
use store::io::Io;
use store::lock::Epoch;
use store::manifest::{Manifest, ManifestStore, ManifestToken, PublishOutcome};
use store::mutant::{self, Mutant};
use store::wal::Lsn;
use store::Store;

fn sim_store(disk: &SimDisk) -> Store {
    common::open_sim(disk, 60_000).unwrap()
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

/// The covered LSN of the manifest read after a publish of one covering 10 returned and the
/// power went.
fn covered_after_a_published_manifest_and_a_power_cut() -> u64 {
    let disk = SimDisk::new();
    let dir = Path::new("/store");
    disk.create_dir_all(dir).unwrap();
    let manifests = ManifestStore::new(Arc::new(disk.clone()), dir);
    let manifest = Manifest {
        seq: 1,
        epoch: Epoch(1),
        snapshot: None,
        covered_lsn: Lsn(10),
    };
    let outcome = manifests.publish(&ManifestToken::ABSENT, &manifest);
    assert!(
        matches!(outcome, Ok(PublishOutcome::Published(_))),
        "{outcome:?}"
    );
    disk.power_cut(1);
    manifests.read().unwrap().0.covered_lsn.0
}

#[test]
fn with_the_mutant_a_power_cut_loses_a_new_segment_and_its_acknowledged_writes() {
    assert_eq!(acknowledged_writes_lost(), Vec::<String>::new());
    assert_eq!(covered_after_a_published_manifest_and_a_power_cut(), 10);
    mutant::activate(Mutant::RenameWithoutDirFsync).unwrap();
    assert_eq!(acknowledged_writes_lost(), vec!["a", "b"]);
    assert_eq!(covered_after_a_published_manifest_and_a_power_cut(), 0);
}
