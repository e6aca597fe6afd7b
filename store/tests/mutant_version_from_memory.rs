#![cfg(feature = "mutants")]
//! Planted bug 11, version-from-memory (Flame): a key's version lives in a per-process map that
//! a restart empties, so a process that starts from a snapshot restarts every key it loads at
//! version 1. The scenario — write a key three times, compact, then (a) restart, (b) let a
//! second process catch up past the compaction — keeps every version with the clean store and
//! sends versions backwards (and reuses them) with the mutant.
//!
//! One test: the clean run comes first, then the mutant is activated for the rest of the process.
//! Run: `cargo test -p store --features mutants --test mutant_version_from_memory`.

use std::path::Path;

use store::mutant::{self, Mutant};
use store::{IfModified, Store, StoreOptions};

fn options() -> StoreOptions {
    StoreOptions {
        // Let the lock go as soon as nothing is in flight, so a second handle gets its turn.
        idle_release_ms: 0,
        ..StoreOptions::default()
    }
}

/// What the scenario saw: the last acknowledged version of the key and the versions read back.
#[derive(Debug)]
struct Seen {
    first_version: u64,
    last_acked: u64,
    after_restart: u64,
    in_second_process: u64,
    first_version_not_modified_after_restart: bool,
}

fn version_of(store: &Store, key: &str) -> u64 {
    store.get(key).unwrap().expect("the key is present").version
}

fn scenario(dir: &Path) -> Seen {
    let writer = Store::open(dir, options()).unwrap();
    let first_version = writer.put("k", b"1").unwrap();
    writer.put("k", b"2").unwrap();
    let last_acked = writer.put("k", b"3").unwrap();
    writer.put("other", b"x").unwrap();
    writer.snapshot().unwrap();
    // (b) Another process opens the directory: it catches up from the snapshot.
    let second = Store::open(dir, options()).unwrap();
    let in_second_process = version_of(&second, "k");
    drop(second);
    drop(writer);
    // (a) A restart: the directory is opened again from scratch.
    let restarted = Store::open(dir, options()).unwrap();
    let after_restart = version_of(&restarted, "k");
    let not_modified = restarted.get_if_modified("k", first_version).unwrap();
    Seen {
        first_version,
        last_acked,
        after_restart,
        in_second_process,
        first_version_not_modified_after_restart: not_modified == IfModified::NotModified,
    }
}

#[test]
fn versions_go_backwards_across_a_restart_and_another_process_only_with_the_mutant() {
    let clean = scenario(tempfile::tempdir().unwrap().path());
    assert_eq!(clean.after_restart, clean.last_acked, "{clean:?}");
    assert_eq!(clean.in_second_process, clean.last_acked, "{clean:?}");
    assert!(!clean.first_version_not_modified_after_restart, "{clean:?}");

    mutant::activate(Mutant::VersionFromMemory).unwrap();
    let broken = scenario(tempfile::tempdir().unwrap().path());
    // The writer acknowledged version `last_acked`; after the restart, and in another process,
    // the same value reads at a lower version...
    assert!(broken.after_restart < broken.last_acked, "{broken:?}");
    assert!(broken.in_second_process < broken.last_acked, "{broken:?}");
    // ...which is a version the key already had: a client holding the key's first version (of
    // value "1") is told the key holds it unchanged, though it now holds "3".
    assert_eq!(broken.after_restart, broken.first_version, "{broken:?}");
    assert!(
        broken.first_version_not_modified_after_restart,
        "{broken:?}"
    );
}
