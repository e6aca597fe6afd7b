//! Unit tests of [`State`]: versions, conditional reads, batches.

use super::*;

fn put(key: &str, value: &str) -> WalRecord {
    let value = value.as_bytes().to_vec();
    WalRecord::Put {
        key: key.into(),
        value,
    }
}
fn del(key: &str) -> WalRecord {
    WalRecord::Delete { key: key.into() }
}
fn begin(batch: BatchId, op_count: u32) -> WalRecord {
    WalRecord::BatchBegin { batch, op_count }
}
fn batch_put(batch: BatchId, key: &str, value: &str) -> WalRecord {
    let value = value.as_bytes().to_vec();
    WalRecord::BatchPut {
        batch,
        key: key.into(),
        value,
    }
}
fn commit(batch: BatchId, op_count: u32) -> WalRecord {
    WalRecord::BatchCommit { batch, op_count }
}

#[test]
fn versions_are_lsns_and_never_reused_after_delete() {
    let mut state = State::new();
    state.apply(1, &put("a", "x")).unwrap();
    assert_eq!(state.get("a").unwrap().version, 1);
    state.apply(2, &del("a")).unwrap();
    assert_eq!(state.get("a"), None);
    state.apply(3, &put("a", "x")).unwrap();
    assert_eq!(state.get("a").unwrap().version, 3);
    let patch = WalRecord::Patch {
        key: "a".into(),
        delta: b"yz".to_vec(),
    };
    state.apply(4, &patch).unwrap();
    let expected = Entry {
        value: b"xyz".to_vec(),
        version: 4,
    };
    assert_eq!(state.get("a"), Some(&expected));
    let error = StateError::LsnNotIncreasing {
        lsn: 4,
        applied_lsn: 4,
    };
    assert_eq!(state.apply(4, &put("b", "y")), Err(error));
}

#[test]
fn get_if_modified_only_for_the_current_version() {
    let mut state = State::new();
    state.apply(1, &put("a", "x")).unwrap();
    assert_eq!(state.get_if_modified("a", 1), IfModified::NotModified);
    let answer = state.get_if_modified("a", 0);
    assert!(matches!(answer, IfModified::Modified(Some(_))));
    state.apply(2, &del("a")).unwrap();
    assert_eq!(state.get_if_modified("a", 1), IfModified::Modified(None));
}

#[test]
fn batch_is_invisible_until_commit_and_takes_the_commit_lsn() {
    let mut state = State::new();
    state.apply(1, &put("gone", "x")).unwrap();
    state.apply(2, &begin(9, 2)).unwrap();
    state.apply(3, &batch_put(9, "a", "1")).unwrap();
    let batch_delete = WalRecord::BatchDelete {
        batch: 9,
        key: "gone".into(),
    };
    state.apply(4, &batch_delete).unwrap();
    assert_eq!(state.get("a"), None);
    assert!(state.get("gone").is_some());
    state.apply(5, &commit(9, 2)).unwrap();
    assert_eq!(state.get("a").unwrap().version, 5);
    assert_eq!(state.get("gone"), None);
}

#[test]
fn cut_off_batch_is_dropped_by_the_next_record() {
    let mut state = State::new();
    state.apply(1, &begin(1, 1)).unwrap();
    state.apply(2, &batch_put(1, "a", "")).unwrap();
    state.apply(3, &put("b", "y")).unwrap();
    assert_eq!(state.dropped_batches(), 1);
    let error = StateError::BatchRecordWithoutBegin { lsn: 4, batch: 1 };
    assert_eq!(state.apply(4, &commit(1, 1)), Err(error));
    assert_eq!(state.get("a"), None);
}

#[test]
fn batch_counts_are_enforced() {
    let mut state = State::new();
    state.apply(1, &begin(1, 0)).unwrap();
    let too_long = state.apply(2, &batch_put(1, "a", ""));
    assert!(matches!(too_long, Err(StateError::BatchTooLong { .. })));
    let mismatch = state.apply(2, &commit(1, 3));
    assert!(matches!(
        mismatch,
        Err(StateError::BatchCountMismatch { .. })
    ));
}
