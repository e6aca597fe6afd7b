#![cfg(feature = "mutants")]
//! Planted bug 12, version-restarts-after-delete: a put on a deleted key is taken for the key's
//! first write and restarts its version at 1. The scenario — put, delete, put, read, delete,
//! put — keeps versions strictly increasing with the clean store; with the mutant the version
//! goes back to 1 after each delete and a conditional get answers "not modified" for a version
//! that is not the key's current one (the value changed under it), also after a restart.
//!
//! One test: the clean run comes first, then the mutant is activated for the rest of the process.
//! Run: `cargo test -p store --features mutants --test mutant_version_restarts_after_delete`.

use std::path::Path;

use store::mutant::{self, Mutant};
use store::{Entry, IfModified, Store, StoreOptions};

/// What the scenario saw.
#[derive(Debug)]
struct Seen {
    /// Versions read after each write of the key, in order.
    versions: Vec<u64>,
    /// The answer to "has `k` changed since the version I read of value "b"?" once it holds "c".
    stale_read: IfModified,
    /// The same question after a restart.
    stale_read_after_restart: IfModified,
}

fn read(store: &Store) -> Entry {
    store.get("k").unwrap().expect("the key is present")
}

fn scenario(dir: &Path) -> Seen {
    let store = Store::open(dir, StoreOptions::default()).unwrap();
    let mut versions = Vec::new();
    store.put("k", b"a").unwrap();
    versions.push(read(&store).version);
    store.delete("k").unwrap();
    store.put("k", b"b").unwrap();
    let held = read(&store); // a client caches "b" at this version
    versions.push(held.version);
    store.delete("k").unwrap();
    store.put("k", b"c").unwrap();
    versions.push(read(&store).version);
    let stale_read = store.get_if_modified("k", held.version).unwrap();
    drop(store);
    let restarted = Store::open(dir, StoreOptions::default()).unwrap();
    let stale_read_after_restart = restarted.get_if_modified("k", held.version).unwrap();
    Seen {
        versions,
        stale_read,
        stale_read_after_restart,
    }
}

fn holds_c(answer: &IfModified) -> bool {
    matches!(answer, IfModified::Modified(Some(entry)) if entry.value == b"c")
}

#[test]
fn a_put_after_a_delete_reuses_a_version_only_with_the_mutant() {
    let clean = scenario(tempfile::tempdir().unwrap().path());
    assert!(
        clean.versions.windows(2).all(|pair| pair[0] < pair[1]),
        "{clean:?}"
    );
    assert!(holds_c(&clean.stale_read), "{clean:?}");
    assert!(holds_c(&clean.stale_read_after_restart), "{clean:?}");

    mutant::activate(Mutant::VersionRestartsAfterDelete).unwrap();
    let broken = scenario(tempfile::tempdir().unwrap().path());
    // Each put after a delete restarts at 1: the version never increases, it repeats.
    assert_eq!(broken.versions[1..], [1, 1], "{broken:?}");
    // The cached "b" is reported current although the key now holds "c" — before and after
    // a restart (replaying the log makes the same mistake).
    assert_eq!(broken.stale_read, IfModified::NotModified, "{broken:?}");
    assert_eq!(
        broken.stale_read_after_restart,
        IfModified::NotModified,
        "{broken:?}"
    );
}
