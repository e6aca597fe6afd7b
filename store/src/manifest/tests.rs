//! Tests of the manifest store: compare-and-set publish, format checks.

use super::*;
use crate::io::StdIo;

fn manifest(seq: u64, covered: u64, snapshot: Option<&str>) -> Manifest {
    Manifest {
        seq,
        epoch: Epoch(3),
        snapshot: snapshot.map(|s| BlobId::new(s).unwrap()),
        covered_lsn: Lsn(covered),
    }
}

#[test]
fn publish_is_a_compare_and_set() {
    let dir = tempfile::tempdir().unwrap();
    let store = ManifestStore::new(Arc::new(StdIo), dir.path());
    let (initial, absent) = store.read().unwrap();
    assert_eq!(
        (initial, absent),
        (Manifest::default(), ManifestToken::ABSENT)
    );
    let first = manifest(1, 10, Some("snap-1"));
    let PublishOutcome::Published(token) = store.publish(&absent, &first).unwrap() else {
        panic!("first publish conflicted");
    };
    assert_eq!(store.read().unwrap(), (first.clone(), token));
    // A second publisher that read the absent manifest loses, as a value.
    match store.publish(&absent, &manifest(1, 12, None)).unwrap() {
        PublishOutcome::Conflict {
            current,
            token: current_token,
        } => {
            assert_eq!((current, current_token), (first.clone(), token));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let second = manifest(2, 20, None);
    assert!(matches!(
        store.publish(&token, &second).unwrap(),
        PublishOutcome::Published(_)
    ));
    assert_eq!(store.read().unwrap().0, second);
}

#[test]
fn successors_must_increase() {
    let dir = tempfile::tempdir().unwrap();
    let store = ManifestStore::new(Arc::new(StdIo), dir.path());
    let error = store
        .publish(&ManifestToken::ABSENT, &manifest(2, 0, None))
        .unwrap_err();
    assert!(matches!(error, ManifestError::InvalidSuccessor { .. }));
    let PublishOutcome::Published(token) = store
        .publish(&ManifestToken::ABSENT, &manifest(1, 5, None))
        .unwrap()
    else {
        panic!("conflict");
    };
    let error = store.publish(&token, &manifest(2, 4, None)).unwrap_err();
    assert!(matches!(error, ManifestError::InvalidSuccessor { .. }));
}

#[test]
fn every_bit_flip_and_truncation_is_an_error() {
    let path = Path::new("MANIFEST");
    let (good, _) = encode_manifest(&manifest(7, 99, Some("snap-x")));
    assert!(decode_manifest(path, &good).is_ok());
    for bit in 0..good.len() * 8 {
        let mut bad = good.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        assert!(decode_manifest(path, &bad).is_err(), "bit {bit}");
    }
    for len in 0..good.len() {
        assert!(decode_manifest(path, &good[..len]).is_err(), "len {len}");
    }
}

#[test]
fn a_damaged_manifest_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = ManifestStore::new(Arc::new(StdIo), dir.path());
    std::fs::write(
        store.path(),
        b"garbage that is long enough to be a manifest....",
    )
    .unwrap();
    let error = store.read().unwrap_err();
    assert!(error.to_string().contains("MANIFEST"), "{error}");
}

proptest::proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
        let _ = decode_manifest(Path::new("MANIFEST"), &bytes);
    }
}

#[test]
fn a_published_manifest_survives_a_power_cut_and_an_interrupted_one_leaves_the_old() {
    use crate::io::sim::SimDisk;
    for seed in 0..20 {
        let disk = SimDisk::new();
        let dir = Path::new("/store");
        disk.create_dir_all(dir).unwrap();
        let store = ManifestStore::new(Arc::new(disk.clone()), dir);
        let first = manifest(1, 10, Some("snap-1"));
        let PublishOutcome::Published(token) =
            store.publish(&ManifestToken::ABSENT, &first).unwrap()
        else {
            panic!("conflict");
        };
        disk.fail_next_sync();
        assert!(store
            .publish(&token, &manifest(2, 20, Some("snap-2")))
            .is_err());
        disk.power_cut(seed);
        assert_eq!(store.read().unwrap(), (first, token));
    }
}
