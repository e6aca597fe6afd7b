#![cfg(feature = "mutants")]
//! Mutant 6, `recovery-skips-bad-record` (RocksDB's "skip any corrupted records" recovery
//! mode): recovery skips an invalid record in the middle of the log and keeps reading, leaving
//! a hole. Exposed by a **bit flip** in an acknowledged record followed by later ones: the
//! clean store refuses to open, naming the file and offset (the damage is detected); with the
//! mutant it opens and answers as if the acknowledged write never happened.

mod common;

use std::path::Path;

use store::io::sim::SimDisk;
use store::io::Io;
use store::mutant::{self, Mutant};
use store::wal::frame::{decode_frame, SEGMENT_HEADER_LEN};
use store::{Store, StoreError};

fn sim_store(disk: &SimDisk) -> Result<Store, StoreError> {
    common::open_sim(disk, 60_000)
}

/// Flips the last payload bit of the `index`th record (from 0) of the only WAL segment.
fn flip_a_bit_in_record(disk: &SimDisk, index: usize) {
    let wal = Path::new("/store/wal");
    let names = disk.list_dir(wal).unwrap();
    let [name] = names.as_slice() else {
        panic!("expected one segment: {names:?}");
    };
    let path = wal.join(name);
    let bytes = disk.read(&path).unwrap();
    let mut offset = SEGMENT_HEADER_LEN;
    for _ in 0..index {
        offset += decode_frame(&bytes[offset..]).unwrap().encoded_len();
    }
    let last = offset + decode_frame(&bytes[offset..]).unwrap().encoded_len() - 1;
    let file = disk.open(&path).unwrap();
    file.write_at(last as u64, &[bytes[last] ^ 1]).unwrap();
    file.sync().unwrap();
}

/// Writes a, b, c, flips a bit in b's record, reopens: the error, or what is read of b.
fn reopen_after_a_flip_in_the_middle() -> Result<Option<Vec<u8>>, StoreError> {
    let disk = SimDisk::new();
    let store = sim_store(&disk).unwrap();
    for key in ["a", "b", "c"] {
        store.put(key, key.as_bytes()).unwrap();
    }
    drop(store);
    flip_a_bit_in_record(&disk, 1);
    let reopened = sim_store(&disk)?;
    assert_eq!(reopened.get("c").unwrap().unwrap().value, b"c");
    Ok(reopened.get("b")?.map(|entry| entry.value))
}

#[test]
fn with_the_mutant_a_damaged_acknowledged_record_becomes_a_silent_hole() {
    let error = reopen_after_a_flip_in_the_middle().unwrap_err();
    assert!(error.to_string().contains("offset"), "{error}");
    mutant::activate(Mutant::RecoverySkipsBadRecord).unwrap();
    assert_eq!(reopen_after_a_flip_in_the_middle().unwrap(), None);
}
