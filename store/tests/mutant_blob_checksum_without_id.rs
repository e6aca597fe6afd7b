#![cfg(feature = "mutants")]
//! Mutant 16, `blob-checksum-without-id`: a blob's checksum covers its payload only and its
//! id is not verified. Exposed by a **misplaced write** (a blob's bytes landing in another
//! blob's file): the clean store reports the blob corrupt; with the mutant another blob's
//! payload is returned as valid.

use std::path::Path;
use std::sync::Arc;

use store::blob::{BlobError, BlobId, BlobStore};
use store::io::sim::SimDisk;
use store::io::Io;
use store::mutant::{self, Mutant};

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

#[test]
fn with_the_mutant_a_misplaced_blob_is_read_as_valid() {
    let error = read_after_a_misplaced_write().unwrap_err();
    assert!(
        error.to_string().contains("holds blob \"first\""),
        "{error}"
    );
    mutant::activate(Mutant::BlobChecksumWithoutId).unwrap();
    assert_eq!(
        read_after_a_misplaced_write().unwrap(),
        b"the first blob's payload"
    );
}
