#![cfg(feature = "mutants")]
//! Mutant 16, `blob-checksum-without-id`: a blob's checksum covers its payload only and its
//! id is not verified. Exposed by a **misplaced write** (a blob's bytes landing in another
//! blob's file): the clean store reports the blob corrupt; with the mutant another blob's
//! payload is returned as valid, and a value read from a value blob (whose name is its
//! value's SHA-256) returns another key's value.

use std::path::Path;
use std::sync::Arc;

use store::blob::{BlobError, BlobId, BlobStore};
use store::io::sim::SimDisk;
use store::io::Io;
use store::mutant::{self, Mutant};
use store::{Store, StoreError, StoreOptions};

/// Writes two blobs, lands the first one's file bytes in the second's file, reads the second.
fn read_after_a_misplaced_write() -> Result<Vec<u8>, BlobError> {
    let disk = SimDisk::new();
    let blobs = BlobStore::open(Arc::new(disk.clone()), Path::new("/store/blobs")).unwrap();
    let (first, second) = (
        BlobId::new("first").unwrap(),
        BlobId::new("second").unwrap(),
    );
    blobs.put(&first, b"the first blob's payload").unwrap();
    blobs.put(&second, b"the second blob's payload").unwrap();
    let misplaced = disk.read(&blobs.path(&first)).unwrap();
    let file = disk.open(&blobs.path(&second)).unwrap();
    file.set_len(0).unwrap();
    file.write_at(0, &misplaced).unwrap();
    file.sync().unwrap();
    blobs.get(&second)
}

/// A value of `len` bytes that differs per `seed`.
fn value(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i % 251) as u8))
        .collect()
}

/// Puts a large value under `a` and another under `b`, then (the store closed) lands the
/// file of `a`'s value blob in `b`'s, reopens the store and reads `b`.
fn value_read_after_a_misplaced_write() -> Result<Vec<u8>, StoreError> {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (value(1, 3000), value(2, 3000));
    {
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        store.put("a", &first).unwrap();
        store.put("b", &second).unwrap();
    }
    let blobs = dir.path().join("blobs");
    let path_of = |value: &[u8]| {
        let id = store::record::ValueRef::for_value(value).blob;
        blobs.join(format!("{id}.blob"))
    };
    std::fs::copy(path_of(&first), path_of(&second)).unwrap();
    let store = Store::open(dir.path(), StoreOptions::default())?;
    Ok(store.get("b")?.map(|entry| entry.value).unwrap_or_default())
}

/// One test, clean first, then with the mutant: the switch is process-wide.
#[test]
fn with_the_mutant_a_misplaced_blob_is_read_as_valid() {
    let error = read_after_a_misplaced_write().unwrap_err();
    assert!(
        error.to_string().contains("holds blob \"first\""),
        "{error}"
    );
    let error = value_read_after_a_misplaced_write().unwrap_err();
    assert!(
        matches!(&error, StoreError::ValueBlob { .. }) && error.code() == "corrupt",
        "{error:?}"
    );
    mutant::activate(Mutant::BlobChecksumWithoutId).unwrap();
    assert_eq!(
        read_after_a_misplaced_write().unwrap(),
        b"the first blob's payload"
    );
    // The broken promise through the store: key `b` reads key `a`'s value.
    assert_eq!(
        value_read_after_a_misplaced_write().unwrap(),
        value(1, 3000)
    );
}
