//! Tests of the manifest store: compare-and-set publish, format checks.

use super::*;
use crate::io::{StdIo, SyncHookIo};

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

/// A fenced holder (epoch 1) is between writing its temporary and renaming it when the new
/// holder (epoch 2) publishes: the new holder must neither remove nor overwrite the fenced
/// holder's temporary (their bytes could interleave), and the fenced holder, comparing again
/// after its fsync, does not replace the newer manifest.
#[test]
fn publishers_of_two_epochs_never_share_a_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let fenced_view = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = fenced_view.clone();
    // Runs once, at the fenced holder's first file sync.
    let once: std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>> =
        std::sync::Mutex::new(Some(Box::new(move || {
            // The fenced holder's temporary is written; the new holder publishes now.
            let temporaries = |dir: &Path| -> Vec<(String, Vec<u8>)> {
                let mut found: Vec<_> = std::fs::read_dir(dir)
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".tmp"))
                    .map(|n| (n.clone(), std::fs::read(dir.join(&n)).unwrap()))
                    .collect();
                found.sort();
                found
            };
            let before = temporaries(&path);
            let new_holder = ManifestStore::new(Arc::new(StdIo), &path);
            let mut current = manifest(1, 20, Some("snap-new"));
            current.epoch = Epoch(2);
            let outcome = new_holder
                .publish(&ManifestToken::ABSENT, &current)
                .unwrap();
            assert!(matches!(outcome, PublishOutcome::Published(_)));
            seen.lock().unwrap().push((before, temporaries(&path)));
        })));
    let hook_io = SyncHookIo::new(move || {
        if let Some(hook) = once.lock().unwrap().take() {
            hook();
        }
        Ok(())
    });
    let fenced = ManifestStore::new(Arc::new(hook_io), dir.path());
    let mut stale = manifest(1, 10, Some("snap-old"));
    stale.epoch = Epoch(1);
    let outcome = fenced.publish(&ManifestToken::ABSENT, &stale);
    assert!(
        matches!(outcome, Ok(PublishOutcome::Conflict { .. })),
        "{outcome:?}"
    );
    let view = fenced_view.lock().unwrap();
    let (before, after) = &view[0];
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(
        after, before,
        "the new holder touched the fenced one's temporary"
    );
    let (kept, _) = fenced.read().unwrap();
    assert_eq!(kept.epoch, Epoch(2), "{kept:?}");
    assert_eq!(kept.snapshot, Some(BlobId::new("snap-new").unwrap()));
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
