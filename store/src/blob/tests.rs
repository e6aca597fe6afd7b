//! Tests of the blob store: round trip, write-once, verification on read, GC listing.

use super::*;
use crate::io::StdIo;

fn store() -> (tempfile::TempDir, BlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let blobs = BlobStore::open(Arc::new(StdIo), &dir.path().join("blobs")).unwrap();
    (dir, blobs)
}

#[test]
fn put_get_list_remove() {
    let (_dir, blobs) = store();
    let a = BlobId::new("a").unwrap();
    let b = BlobId::unique("snap").unwrap();
    blobs.put(&a, b"alpha").unwrap();
    blobs.put(&b, b"").unwrap();
    assert_eq!(blobs.get(&a).unwrap(), b"alpha");
    assert_eq!(blobs.get(&b).unwrap(), b"");
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert_eq!(blobs.list().unwrap(), expected);
    assert!(matches!(
        blobs.put(&a, b"again"),
        Err(BlobError::AlreadyExists { .. })
    ));
    assert_eq!(blobs.get(&a).unwrap(), b"alpha");
    blobs.remove(&a).unwrap();
    blobs.remove(&a).unwrap();
    assert!(matches!(blobs.get(&a), Err(BlobError::NotFound { .. })));
    assert_eq!(blobs.list().unwrap(), vec![b]);
}

#[test]
fn ids_are_validated_and_unique() {
    for bad in ["", "a/b", "..", "a.b", &"x".repeat(129)] {
        assert!(BlobId::new(bad).is_err(), "{bad:?}");
    }
    assert_ne!(BlobId::unique("v").unwrap(), BlobId::unique("v").unwrap());
}

#[test]
fn every_bit_flip_and_truncation_is_detected() {
    let (_dir, blobs) = store();
    let id = BlobId::new("flip").unwrap();
    blobs.put(&id, b"payload bytes").unwrap();
    let path = blobs.path(&id);
    let good = std::fs::read(&path).unwrap();
    for bit in 0..good.len() * 8 {
        let mut bad = good.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        assert!(decode_blob(&path, &id, &bad).is_err(), "bit {bit}");
    }
    for len in 0..good.len() {
        assert!(decode_blob(&path, &id, &good[..len]).is_err(), "len {len}");
    }
    let mut longer = good.clone();
    longer.push(0);
    assert!(decode_blob(&path, &id, &longer).is_err());
}

#[test]
fn a_misplaced_blob_is_detected() {
    let (_dir, blobs) = store();
    let a = BlobId::new("a").unwrap();
    let b = BlobId::new("b").unwrap();
    blobs.put(&a, b"same bytes").unwrap();
    std::fs::copy(blobs.path(&a), blobs.path(&b)).unwrap();
    let error = blobs.get(&b).unwrap_err();
    assert!(matches!(error, BlobError::Corrupt { .. }), "{error}");
    assert!(error.to_string().contains("expected b"), "{error}");
}

#[test]
fn a_leftover_temporary_is_listed_and_left_to_gc() {
    let (_dir, blobs) = store();
    let id = BlobId::new("t").unwrap();
    // A stalled writer's half-written temporary, and one of the old `<id>.tmp` form.
    std::fs::write(blobs.dir.join("t.1-0.tmp"), b"half").unwrap();
    std::fs::write(blobs.dir.join("t.tmp"), b"half").unwrap();
    let leftovers = blobs.list_temporaries().unwrap();
    let mut names: Vec<&str> = leftovers.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["t.1-0.tmp", "t.tmp"]);
    assert!(leftovers.iter().all(|t| t.id == id));
    assert!(blobs.list().unwrap().is_empty());
    // A put writes a temporary of its own: it neither trusts nor renames the stalled one's.
    blobs.put(&id, b"whole").unwrap();
    assert_eq!(blobs.get(&id).unwrap(), b"whole");
    assert_eq!(blobs.list_temporaries().unwrap().len(), 2);
    for temporary in leftovers {
        blobs.remove_temporary(&temporary).unwrap();
    }
    assert!(blobs.list_temporaries().unwrap().is_empty());
}

proptest::proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
        let id = BlobId::new("x").unwrap();
        let _ = decode_blob(Path::new("x.blob"), &id, &bytes);
    }
}

#[test]
fn a_put_blob_survives_a_power_cut_and_an_interrupted_one_is_absent() {
    use crate::io::sim::SimDisk;
    for seed in 0..20 {
        let disk = SimDisk::new();
        let blobs = BlobStore::open(Arc::new(disk.clone()), Path::new("/store/blobs")).unwrap();
        let kept = BlobId::new("kept").unwrap();
        let interrupted = BlobId::new("interrupted").unwrap();
        blobs.put(&kept, &vec![7u8; 3000]).unwrap();
        disk.fail_next_sync();
        assert!(blobs.put(&interrupted, &vec![9u8; 3000]).is_err());
        disk.power_cut(seed);
        assert_eq!(blobs.get(&kept).unwrap(), vec![7u8; 3000]);
        assert!(matches!(
            blobs.get(&interrupted),
            Err(BlobError::NotFound { .. })
        ));
        assert_eq!(blobs.list().unwrap(), vec![kept]);
    }
}
