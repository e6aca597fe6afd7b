#![cfg(feature = "mutants")]
//! Mutant 3, `blob-in-place` (the files ext4 left empty after crashes in 2009 had been
//! rewritten in place instead of written to a temporary and renamed): a blob is written
//! directly under its final name. With content-addressed blobs, whose writers take an
//! existing final name as "already stored", a torn blob is then trusted for good. Exposed by
//! a **power cut** while a blob is being written and another write fsyncs `blobs/` (making
//! the torn file's name durable), then the same content stored again: the clean store reads
//! it back; with the mutant the blob is corrupt although its put succeeded.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use store::blob::{BlobError, BlobId, BlobStore};
use store::io::sim::SimDisk;
use store::io::SyncHookIo;
use store::mutant::{self, Mutant};

/// Stores `payload` as `id`, taking an existing blob as already stored (content addressing).
fn store_content(blobs: &BlobStore, id: &BlobId, payload: &[u8]) -> Result<(), BlobError> {
    match blobs.put(id, payload) {
        Ok(()) | Err(BlobError::AlreadyExists { .. }) => Ok(()),
        Err(error) => Err(error),
    }
}

/// Over several power cuts in the middle of a put: the reads that failed after the same
/// content was stored again.
fn unreadable_after_storing_again() -> Vec<String> {
    let dir = Path::new("/store/blobs");
    let id = BlobId::new("content-hash").unwrap();
    let payload = vec![42u8; 2000];
    let mut unreadable = Vec::new();
    for seed in 1..=12u64 {
        let disk = SimDisk::new();
        let crashed = Arc::new(Mutex::new(None));
        let armed = AtomicBool::new(true);
        let hook = {
            let (disk, crashed) = (disk.clone(), crashed.clone());
            move || {
                if armed.swap(false, Ordering::SeqCst) {
                    // Before the blob's data fsync: another blob's put fsyncs the directory,
                    // then the power fails.
                    let other = BlobStore::open(Arc::new(disk.clone()), dir).unwrap();
                    other.put(&BlobId::new("other").unwrap(), b"x").unwrap();
                    *crashed.lock().unwrap() = Some(disk.crashed_copy(seed));
                }
                Ok(())
            }
        };
        let hooked = SyncHookIo::over(Arc::new(disk.clone()), hook);
        let blobs = BlobStore::open(Arc::new(hooked), dir).unwrap();
        blobs.put(&id, &payload).unwrap();
        let crashed = crashed.lock().unwrap().take().expect("the hook ran");
        let after = BlobStore::open(Arc::new(crashed), dir).unwrap();
        store_content(&after, &id, &payload).unwrap();
        if let Err(error) = after.get(&id) {
            unreadable.push(format!("seed {seed}: {error}"));
        }
    }
    unreadable
}

#[test]
fn with_the_mutant_a_torn_blob_under_its_final_name_is_trusted() {
    assert_eq!(unreadable_after_storing_again(), Vec::<String>::new());
    mutant::activate(Mutant::BlobInPlace).unwrap();
    let unreadable = unreadable_after_storing_again();
    assert!(!unreadable.is_empty(), "every torn put was repaired");
}
