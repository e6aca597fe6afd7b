//! A property test over generated directories of manifest files: whatever they hold, reading
//! picks the greatest valid manifest or fails naming a file, and a publish on it succeeds.

use super::*;
use crate::io::sim::SimDisk;

/// One file of a generated directory: its seq and what it holds.
#[derive(Debug, Clone)]
enum Content {
    /// A valid manifest of this epoch and covered LSN.
    Valid(u64, u64),
    /// A valid manifest with one bit flipped.
    Flipped(u64, u64, usize),
    /// A prefix of a valid manifest.
    Torn(u64, usize),
    /// Arbitrary bytes.
    Bytes(Vec<u8>),
}

fn content() -> impl proptest::strategy::Strategy<Value = Content> {
    use proptest::prelude::*;
    prop_oneof![
        (1..4u64, 0..50u64).prop_map(|(epoch, covered)| Content::Valid(epoch, covered)),
        (1..4u64, 0..50u64, 0..400usize).prop_map(|(e, c, bit)| Content::Flipped(e, c, bit)),
        (0..50u64, 0..50usize).prop_map(|(covered, len)| Content::Torn(covered, len)),
        proptest::collection::vec(any::<u8>(), 0..60).prop_map(Content::Bytes),
    ]
}

fn bytes_of(seq: u64, content: &Content) -> Vec<u8> {
    let encoded = |epoch, covered| {
        let snapshot = Some(BlobId::new(format!("snap-{seq}")).unwrap());
        let manifest = Manifest {
            seq,
            epoch: Epoch(epoch),
            snapshot,
            covered_lsn: Lsn(covered),
        };
        encode_manifest(&manifest).0
    };
    match content {
        Content::Valid(epoch, covered) => encoded(*epoch, *covered),
        Content::Flipped(epoch, covered, bit) => {
            let mut bytes = encoded(*epoch, *covered);
            let bit = bit % (bytes.len() * 8);
            bytes[bit / 8] ^= 1 << (bit % 8);
            bytes
        }
        Content::Torn(covered, len) => {
            let bytes = encoded(1, *covered);
            bytes[..(*len).min(bytes.len() - 1)].to_vec()
        }
        Content::Bytes(bytes) => bytes.clone(),
    }
}

proptest::proptest! {
    /// Any directory of manifest files: reading never panics; it returns the valid manifest
    /// with the greatest key, "none" if every file is blank, or an error naming a file; a
    /// publish on what was read never panics, and once published its manifest is current.
    #[test]
    fn any_directory_reads_as_its_greatest_valid_manifest(
        files in proptest::collection::btree_map(1..6u64, content(), 0..5)
    ) {
        let disk = SimDisk::new();
        let dir = Path::new("/store");
        disk.create_dir_all(dir).unwrap();
        let store = ManifestStore::new(Arc::new(disk.clone()), dir);
        let mut expected = None;
        let mut any_data = false;
        for (seq, content) in &files {
            let bytes = bytes_of(*seq, content);
            let file = disk.create_new(&store.path_of(*seq)).unwrap();
            file.write_at(0, &bytes).unwrap();
            if let Ok((manifest, _)) = decode_manifest(&store.path_of(*seq), &bytes) {
                if manifest.seq == *seq && expected.as_ref().is_none_or(|e: &Manifest| order_key(e) < order_key(&manifest)) {
                    expected = Some(manifest);
                }
            }
            any_data |= bytes.iter().any(|&byte| byte != 0);
        }
        let listing = store.files().unwrap();
        proptest::prop_assert_eq!(listing.check_invariants(), Ok(()));
        match (store.read(), &expected) {
            (Ok((current, _)), Some(expected)) => proptest::prop_assert_eq!(&current, expected),
            (Ok((current, token)), None) => {
                proptest::prop_assert!(!any_data);
                proptest::prop_assert_eq!((current, token), (Manifest::default(), ManifestToken::ABSENT));
            }
            (Err(ManifestError::Corrupt { path, .. }), None) => {
                proptest::prop_assert!(any_data);
                proptest::prop_assert!(path.to_string_lossy().contains("MANIFEST."));
            }
            (other, _) => proptest::prop_assert!(false, "{other:?} for {expected:?}"),
        }
        if let Ok((current, token)) = store.read() {
            let new = Manifest {
                seq: current.seq + 1,
                epoch: Epoch(9),
                snapshot: None,
                covered_lsn: Lsn(current.covered_lsn.0 + 1),
            };
            let outcome = store.publish(&token, &new);
            let Ok(PublishOutcome::Published(published)) = outcome else {
                return Err(proptest::test_runner::TestCaseError::fail(format!("{outcome:?}")));
            };
            let (now, now_token) = store.read().unwrap();
            proptest::prop_assert_eq!(now_token, published);
            proptest::prop_assert_eq!(now.covered_lsn, new.covered_lsn);
            proptest::prop_assert!(now.seq > listing.highest_seq);
            proptest::prop_assert_eq!(store.files().unwrap().valid.len(), 1);
        }
    }
}
