//! The Store's operations through its public API on a real directory: versions, batches,
//! compare-and-set, reopen, snapshot + GC, pinned readers and verify.

use store::{CasExpected, CasOutcome, IfModified, Store, StoreOptions};

fn options() -> StoreOptions {
    StoreOptions {
        gc_grace_ms: 0,
        lease_ms: 500,
        ..StoreOptions::default()
    }
}

#[test]
fn versions_batches_and_cas_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (put_version, batch_version) = {
        let store = Store::open(dir.path(), options()).unwrap();
        let put_version = store.put("a", b"x").unwrap();
        assert_eq!(store.patch("a", b"y").unwrap(), put_version + 1);
        assert_eq!(store.get("a").unwrap().unwrap().value, b"xy");
        let mut batch = store.batch();
        batch.put("b", b"1").unwrap();
        batch.delete("a").unwrap();
        let batch_version = batch.commit().unwrap();
        let mut aborted = store.batch();
        aborted.put("never", b"!").unwrap();
        aborted.abort();
        assert_eq!(store.get("a").unwrap(), None);
        assert_eq!(store.get("never").unwrap(), None);
        let mismatch = store.cas("b", &CasExpected::Version(1), b"2").unwrap();
        assert!(matches!(mismatch, CasOutcome::Mismatch(Some(_))));
        let written = store
            .cas("b", &CasExpected::Version(batch_version), b"2")
            .unwrap();
        assert!(matches!(written, CasOutcome::Written(v) if v > batch_version));
        assert_eq!(store.delete("missing").unwrap(), None);
        store.check_invariants().unwrap();
        (put_version, batch_version)
    };
    let store = Store::open(dir.path(), options()).unwrap();
    assert_eq!(store.get("a").unwrap(), None);
    let b = store.get("b").unwrap().unwrap();
    assert_eq!(b.value, b"2");
    assert!(b.version > batch_version && batch_version > put_version);
    assert_eq!(
        store.get_if_modified("b", b.version).unwrap(),
        IfModified::NotModified
    );
    let again = store.put("a", b"new").unwrap();
    assert!(
        again > b.version,
        "a version is never reused after delete + put"
    );
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
}

#[test]
fn snapshot_gc_and_pinned_reader() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    store.put("k", b"old").unwrap();
    let reader = store.pin_snapshot().unwrap();
    store.put("k", b"new").unwrap();
    let second = store.snapshot().unwrap();
    assert!(second.written);
    let gc = store.gc().unwrap();
    assert_eq!(
        gc.blobs_deleted, 0,
        "the pinned and the published snapshot stay: {gc:?}"
    );
    assert_eq!(reader.get("k").unwrap().unwrap().value, b"old");
    drop(reader);
    let gc = store.gc().unwrap();
    assert_eq!(gc.blobs_deleted, 1, "{gc:?}");
    assert_eq!(store.get("k").unwrap().unwrap().value, b"new");
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
    drop(store);
    let reopened = Store::open(dir.path(), options()).unwrap();
    assert_eq!(reopened.get("k").unwrap().unwrap().value, b"new");
    assert_eq!(reopened.verify().unwrap(), Vec::<String>::new());
}

/// A store holding the lock for the whole test, with a published snapshot and WAL records
/// after it; returns it and the paths of its snapshot blob and its newest WAL segment.
fn damaged_candidate(dir: &std::path::Path) -> (Store, std::path::PathBuf, std::path::PathBuf) {
    let keep_lock = StoreOptions {
        idle_release_ms: 600_000,
        ..options()
    };
    let store = Store::open(dir, keep_lock).unwrap();
    for i in 0..5 {
        store.put(&format!("k{i}"), b"before").unwrap();
    }
    let snapshot = store.snapshot().unwrap();
    for i in 0..5 {
        store.put(&format!("k{i}"), b"after").unwrap();
    }
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
    let blob = dir
        .join("blobs")
        .join(format!("{}.blob", snapshot.snapshot_blob));
    let mut segments: Vec<_> = std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    segments.sort();
    (store, blob, segments.pop().unwrap())
}

fn flip_byte(path: &std::path::Path, from_end: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes.len() - from_end;
    bytes[at] ^= 0x40;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn verify_reports_planted_damage() {
    let dir = tempfile::tempdir().unwrap();
    let (store, blob, _) = damaged_candidate(dir.path());
    flip_byte(&blob, 3);
    let problems = store.verify().unwrap();
    assert!(
        problems.iter().any(|p| p.contains("corrupt blob")),
        "bit flip in a blob: {problems:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let (store, _, segment) = damaged_candidate(dir.path());
    let len = std::fs::metadata(&segment).unwrap().len() as usize;
    flip_byte(&segment, len / 2);
    let problems = store.verify().unwrap();
    assert!(
        !problems.is_empty(),
        "bit flip inside the log went unnoticed"
    );

    let dir = tempfile::tempdir().unwrap();
    let (store, blob, _) = damaged_candidate(dir.path());
    std::fs::remove_file(&blob).unwrap();
    let problems = store.verify().unwrap();
    assert!(
        !problems.is_empty(),
        "the published snapshot is missing but verify is silent"
    );
}
