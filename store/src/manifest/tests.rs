//! Tests of the manifest store: compare-and-set publish, format checks, the choice of the
//! current manifest among the files (fallback past torn and unfinished ones).

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
        store.path_of(1),
        b"garbage that is long enough to be a manifest....",
    )
    .unwrap();
    let error = store.read().unwrap_err();
    assert!(
        error.to_string().contains("MANIFEST.00000000000000000001"),
        "{error}"
    );
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

#[test]
fn only_temporaries_of_fenced_epochs_are_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let store = ManifestStore::new(Arc::new(StdIo), dir.path());
    for epoch in [1, 2, 3] {
        std::fs::write(dir.path().join(manifest_temporary_name(Epoch(epoch))), b"x").unwrap();
    }
    std::fs::write(dir.path().join("MANIFEST.1.tmp"), b"not ours").unwrap();
    assert_eq!(
        store.stale_temporaries(Epoch(2)).unwrap(),
        vec![dir.path().join(manifest_temporary_name(Epoch(1)))]
    );
    assert_eq!(store.remove_stale_temporaries(Epoch(2)).unwrap(), 1);
    assert!(dir.path().join(manifest_temporary_name(Epoch(2))).exists());
    assert!(dir.path().join(manifest_temporary_name(Epoch(3))).exists());
    assert!(dir.path().join("MANIFEST.1.tmp").exists());
}

/// Publishes `manifest(seq, covered)` over `token`; its new token.
fn publish(store: &ManifestStore, token: &ManifestToken, seq: u64, covered: u64) -> ManifestToken {
    match store.publish(token, &manifest(seq, covered, Some(&format!("snap-{seq}")))) {
        Ok(PublishOutcome::Published(token)) => token,
        other => panic!("expected a publish, got {other:?}"),
    }
}

/// A store in a temporary directory with manifests 1 and 2 published; manifest 1 is removed
/// by the second publish, so it is written back to have a previous manifest to fall back to.
fn store_with_two_manifests() -> (tempfile::TempDir, ManifestStore, ManifestToken) {
    let dir = tempfile::tempdir().unwrap();
    let store = ManifestStore::new(Arc::new(StdIo), dir.path());
    let first = publish(&store, &ManifestToken::ABSENT, 1, 10);
    let second = publish(&store, &first, 2, 20);
    assert!(
        !store.path_of(1).exists(),
        "a superseded manifest is removed"
    );
    (dir, store, second)
}

#[test]
fn the_reader_falls_back_past_a_torn_or_empty_highest_file() {
    let (_dir, store, second) = store_with_two_manifests();
    let (bytes, _) = encode_manifest(&manifest(3, 30, Some("snap-3")));
    let damaged: [(&str, Vec<u8>); 4] = [
        ("empty", Vec::new()),
        ("torn", bytes[..bytes.len() - 5].to_vec()),
        ("zeroed", vec![0; bytes.len()]),
        ("flipped", {
            let mut flipped = bytes.clone();
            flipped[MANIFEST_COVERED_LSN_OFFSET] ^= 1;
            flipped
        }),
    ];
    for (what, content) in damaged {
        std::fs::write(store.path_of(3), &content).unwrap();
        let (current, token) = store.read().unwrap();
        assert_eq!((current.seq, token), (2, second), "{what}");
        let files = store.files().unwrap();
        assert_eq!(files.highest_seq, 3, "{what}");
        assert_eq!(files.invalid.len(), 1, "{what}");
        assert_eq!(files.invalid[0].len, content.len(), "{what}");
    }
    // The next publish builds on manifest 2 and claims the number after the torn file.
    let next = publish(&store, &second, 3, 40);
    assert_eq!(next.seq(), 4);
    assert_eq!(store.read().unwrap().0.covered_lsn, Lsn(40));
    assert!(
        store.path_of(3).exists(),
        "an unfinished claim is never removed"
    );
}

#[test]
fn with_no_valid_manifest_a_damaged_file_is_an_error_naming_it_and_the_offset() {
    let dir = tempfile::tempdir().unwrap();
    let store = ManifestStore::new(Arc::new(StdIo), dir.path());
    let (mut bytes, _) = encode_manifest(&manifest(1, 10, Some("snap-1")));
    bytes[MANIFEST_ID_OFFSET] ^= 0x20;
    std::fs::write(store.path_of(1), &bytes).unwrap();
    std::fs::write(store.path_of(2), b"").unwrap();
    let error = store.read().unwrap_err();
    let crc_offset = MANIFEST_ID_OFFSET + "snap-1".len();
    match &error {
        ManifestError::Corrupt { path, offset, .. } => {
            assert_eq!((path, *offset), (&store.path_of(1), crc_offset as u64));
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let text = error.to_string();
    assert!(text.contains("MANIFEST.00000000000000000001"), "{text}");
    assert!(text.contains(&format!("offset {crc_offset}")), "{text}");
    assert!(
        text.contains("no manifest file in the directory is valid"),
        "{text}"
    );
    let outcome = store.publish(&ManifestToken::ABSENT, &manifest(1, 5, None));
    assert!(
        matches!(outcome, Err(ManifestError::Corrupt { .. })),
        "{outcome:?}"
    );
}

/// A first publish killed between its claim and its write leaves an empty file (a power cut
/// may leave one of zeros): the store has no manifest (it must open), and the next publish
/// skips the numbers.
#[test]
fn claims_that_were_never_written_read_as_no_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let store = ManifestStore::new(Arc::new(StdIo), dir.path());
    std::fs::write(store.path_of(1), b"").unwrap();
    std::fs::write(store.path_of(2), [0; 48]).unwrap();
    assert_eq!(
        store.read().unwrap(),
        (Manifest::default(), ManifestToken::ABSENT)
    );
    let token = publish(&store, &ManifestToken::ABSENT, 1, 7);
    assert_eq!(token.seq(), 3);
    let (current, read_token) = store.read().unwrap();
    assert_eq!(
        (current.seq, current.covered_lsn, read_token),
        (3, Lsn(7), token)
    );
}

#[test]
fn a_manifest_under_another_seqs_name_is_not_valid() {
    let (_dir, store, second) = store_with_two_manifests();
    let (bytes, _) = encode_manifest(&manifest(7, 70, None));
    std::fs::write(store.path_of(3), &bytes).unwrap();
    assert_eq!(store.read().unwrap().1, second);
    let files = store.files().unwrap();
    let error = files.invalid[0].error.to_string();
    assert!(error.contains("misplaced"), "{error}");
    assert!(
        error.contains(&format!("offset {MANIFEST_SEQ_OFFSET}")),
        "{error}"
    );
}

#[test]
fn a_format_version_1_manifest_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = ManifestStore::new(Arc::new(StdIo), dir.path());
    let mut old = manifest(1, 10, Some("snap-1"));
    old.epoch = Epoch(1);
    let (mut bytes, _) = encode_manifest(&old);
    bytes[MANIFEST_VERSION_OFFSET] = 1;
    std::fs::write(dir.path().join("MANIFEST"), &bytes).unwrap();
    let error = store.read().unwrap_err().to_string();
    assert!(error.contains("/MANIFEST:"), "{error}");
    assert!(error.contains("format version 1"), "{error}");
    assert!(
        error.contains(&format!("offset {MANIFEST_VERSION_OFFSET}")),
        "{error}"
    );
}

#[test]
fn the_current_manifest_is_the_valid_one_covering_the_most() {
    let dir = tempfile::tempdir().unwrap();
    let store = ManifestStore::new(Arc::new(StdIo), dir.path());
    // A late manifest of a fenced publisher at a higher number, covering less: not current.
    let newer = Manifest {
        seq: 1,
        epoch: Epoch(5),
        snapshot: Some(BlobId::new("snap-new").unwrap()),
        covered_lsn: Lsn(20),
    };
    let stale = |seq, covered| Manifest {
        seq,
        epoch: Epoch(4),
        snapshot: Some(BlobId::new("snap-stale").unwrap()),
        covered_lsn: Lsn(covered),
    };
    std::fs::write(store.path_of(1), encode_manifest(&newer).0).unwrap();
    std::fs::write(store.path_of(2), encode_manifest(&stale(2, 15)).0).unwrap();
    assert_eq!(store.read().unwrap().0, newer);
    // Covering as much: the higher epoch wins.
    std::fs::write(store.path_of(3), encode_manifest(&stale(3, 20)).0).unwrap();
    assert_eq!(store.read().unwrap().0, newer);
    let files = store.files().unwrap();
    let order: Vec<u64> = files.valid.iter().map(|f| f.manifest.seq).collect();
    assert_eq!(order, vec![2, 3, 1]);
}

#[test]
fn the_largest_seq_is_an_error_not_an_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let store = ManifestStore::new(Arc::new(StdIo), dir.path());
    let last = Manifest {
        seq: u64::MAX,
        ..manifest(0, 10, None)
    };
    std::fs::write(store.path_of(u64::MAX), encode_manifest(&last).0).unwrap();
    let (current, token) = store.read().unwrap();
    assert_eq!(current, last);
    let next = manifest(0, 20, None);
    let error = store.publish(&token, &next).unwrap_err();
    assert!(
        matches!(error, ManifestError::InvalidSuccessor { .. }),
        "{error}"
    );
    std::fs::write(store.path_of(u64::MAX), b"").unwrap();
    std::fs::write(store.path_of(1), encode_manifest(&manifest(1, 5, None)).0).unwrap();
    let (_, token) = store.read().unwrap();
    let error = store.publish(&token, &manifest(2, 20, None)).unwrap_err();
    assert!(
        matches!(error, ManifestError::SeqExhausted { .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("18446744073709551615"),
        "{error}"
    );
}
