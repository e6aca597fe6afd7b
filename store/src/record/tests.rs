//! Tests of the record payload encoding: round trips, golden bytes, malformed input.

use super::*;
use proptest::prelude::*;

fn any_record() -> impl Strategy<Value = WalRecord> {
    let key = "[a-z0-9]{0,12}";
    let bytes = proptest::collection::vec(any::<u8>(), 0..40);
    prop_oneof![
        (key, bytes.clone()).prop_map(|(key, value)| WalRecord::Put { key, value }),
        (key, bytes.clone()).prop_map(|(key, delta)| WalRecord::Patch { key, delta }),
        key.prop_map(|key| WalRecord::Delete { key }),
        (any::<u64>(), any::<u32>())
            .prop_map(|(batch, op_count)| WalRecord::BatchBegin { batch, op_count }),
        (any::<u64>(), key, bytes).prop_map(|(batch, key, value)| WalRecord::BatchPut {
            batch,
            key,
            value
        }),
        (any::<u64>(), key).prop_map(|(batch, key)| WalRecord::BatchDelete { batch, key }),
        (any::<u64>(), any::<u32>())
            .prop_map(|(batch, op_count)| WalRecord::BatchCommit { batch, op_count }),
    ]
}

fn any_log_record() -> impl Strategy<Value = LogRecord> {
    let value_ref =
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(|value| ValueRef::for_value(&value));
    prop_oneof![
        any_record().prop_map(LogRecord::Inline),
        ("[a-z0-9]{0,12}", value_ref.clone())
            .prop_map(|(key, value)| LogRecord::PutBlob { key, value }),
        (any::<u64>(), "[a-z0-9]{0,12}", value_ref)
            .prop_map(|(batch, key, value)| { LogRecord::BatchPutBlob { batch, key, value } }),
    ]
}

proptest! {
    #[test]
    fn encode_then_decode_is_identity(record in any_record()) {
        prop_assert_eq!(WalRecord::decode(&record.encode()), Ok(record));
    }

    #[test]
    fn log_records_round_trip(record in any_log_record()) {
        prop_assert_eq!(LogRecord::decode(&record.encode()), Ok(record));
    }

    #[test]
    fn corrupt_log_record_never_panics(
        record in any_log_record(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        cut in any::<usize>(),
    ) {
        let _ = LogRecord::decode(&damaged(record.encode(), &flips, cut));
    }

    #[test]
    fn every_strict_prefix_of_a_log_record_is_rejected(record in any_log_record()) {
        let bytes = record.encode();
        for len in 0..bytes.len() {
            prop_assert!(LogRecord::decode(&bytes[..len]).is_err());
        }
    }

    #[test]
    fn corrupt_payload_never_panics(
        record in any_record(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        cut in any::<usize>(),
    ) {
        let _ = WalRecord::decode(&damaged(record.encode(), &flips, cut));
    }

    #[test]
    fn every_strict_prefix_is_rejected(record in any_record()) {
        let bytes = record.encode();
        for len in 0..bytes.len() {
            prop_assert!(WalRecord::decode(&bytes[..len]).is_err());
        }
    }
}

/// `bytes` with each `(at, mask)` flipped in (positions taken modulo the length), then cut to
/// `cut` modulo its length plus one.
fn damaged(mut bytes: Vec<u8>, flips: &[(usize, u8)], cut: usize) -> Vec<u8> {
    for (at, mask) in flips {
        let len = bytes.len();
        bytes[at % len] ^= mask;
    }
    bytes.truncate(cut % (bytes.len() + 1));
    bytes
}

#[test]
fn errors_name_the_offset() {
    let put = WalRecord::Put {
        key: "k".into(),
        value: b"v".to_vec(),
    }
    .encode();
    assert_eq!(
        WalRecord::decode(&[9]),
        Err(RecordDecodeError::UnknownVersion { found: 9 })
    );
    assert_eq!(
        WalRecord::decode(&[1, 42]),
        Err(RecordDecodeError::UnknownKind { found: 42 })
    );
    let mut trailing = put.clone();
    trailing.push(0);
    assert_eq!(
        WalRecord::decode(&trailing),
        Err(RecordDecodeError::TrailingBytes {
            offset: put.len(),
            extra: 1
        })
    );
    let mut huge = vec![1, KIND_DELETE];
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        WalRecord::decode(&huge),
        Err(RecordDecodeError::InvalidKey {
            offset: 2,
            reason: "key too long"
        })
    );
    let not_utf8 = [1, KIND_DELETE, 1, 0, 0, 0, 0xff];
    assert!(matches!(
        WalRecord::decode(&not_utf8),
        Err(RecordDecodeError::InvalidKey {
            reason: "key is not UTF-8",
            ..
        })
    ));
}

#[test]
fn golden_bytes_of_a_put() {
    let put = WalRecord::Put {
        key: "ab".into(),
        value: vec![7],
    }
    .encode();
    assert_eq!(put, [2, 1, 2, 0, 0, 0, b'a', b'b', 1, 0, 0, 0, 7]);
}

#[test]
fn version_1_records_are_still_read_without_blob_kinds() {
    let put = [1, 1, 2, 0, 0, 0, b'a', b'b', 1, 0, 0, 0, 7];
    assert_eq!(
        WalRecord::decode(&put),
        Ok(WalRecord::Put {
            key: "ab".into(),
            value: vec![7]
        })
    );
    let mut blob_put = LogRecord::PutBlob {
        key: "ab".into(),
        value: ValueRef::for_value(b"x"),
    }
    .encode();
    blob_put[0] = 1;
    assert_eq!(
        LogRecord::decode(&blob_put),
        Err(RecordDecodeError::UnknownKind { found: 8 })
    );
}

#[test]
fn golden_bytes_of_a_blob_put() {
    let value = ValueRef::for_value(b"abc");
    // SHA-256("abc"), the FIPS 180-2 test vector.
    let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_eq!(value.blob.as_str(), format!("v-{hex}"));
    assert_eq!(value.len, 3);
    let put = LogRecord::PutBlob {
        key: "k".into(),
        value: value.clone(),
    }
    .encode();
    let mut expected = vec![2, 8, 1, 0, 0, 0, b'k', 66];
    expected.extend_from_slice(format!("v-{hex}").as_bytes());
    expected.extend_from_slice(&3u64.to_le_bytes());
    assert_eq!(put, expected);
    assert_eq!(
        WalRecord::decode(&put),
        Err(RecordDecodeError::ValueInBlob { kind: 8 })
    );
    assert!(value.matches(b"abc"));
    assert!(!value.matches(b"abd"));
}

#[test]
fn a_blob_reference_to_a_non_value_blob_is_rejected() {
    let mut bytes = vec![2, 8, 1, 0, 0, 0, b'k', 4];
    bytes.extend_from_slice(b"snap");
    bytes.extend_from_slice(&0u64.to_le_bytes());
    assert_eq!(
        LogRecord::decode(&bytes),
        Err(RecordDecodeError::InvalidBlobId { offset: 7 })
    );
}
