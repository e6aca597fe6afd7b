//! The Store's WAL payload: [`LogRecord`], the one thing the Store writes into a WAL record,
//! and [`WalRecord`], the change it stands for once a value kept in a value blob is read back.
//!
//! The WAL frames, checksums and numbers records; this module only gives the payload bytes a
//! meaning. Layout (little-endian, drawn in FORMAT.md "Store record payload"):
//!
//! ```text
//! offset 0  u8   RECORD_FORMAT_VERSION (2; version 1 is read, kinds 1..=7 only)
//! offset 1  u8   kind (KIND_* below)
//! offset 2  ...  fields of the kind, in declaration order:
//!                key   = u32 length + UTF-8 bytes (length <= MAX_KEY_BYTES)
//!                bytes = u32 length + raw bytes
//!                batch = u64 batch id, count = u32
//!                value = u8 blob id length + blob id + u64 value length (a [`ValueRef`])
//! ```
//!
//! A large value is written as a content-addressed value blob first ([`ValueRef::for_value`]:
//! the blob id is `v-` and the SHA-256 of the value in hex) and the record names it; whoever
//! replays the record reads the blob and checks it is that value ([`ValueRef::matches`]).
//!
//! Decoding never panics and never allocates more than the input holds: every length is checked
//! against the bytes that remain before anything is copied, and trailing bytes are an error.

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::blob::BlobId;

/// Version of the payload encoding written in byte 0 of every record. Version 1 (no value
/// blobs) is still read.
pub const RECORD_FORMAT_VERSION: u8 = 2;
/// The first version, without value blob kinds; read, never written.
const RECORD_FORMAT_VERSION_1: u8 = 1;
/// Prefix of every value blob's id (`v-<sha256 hex>`).
pub const VALUE_BLOB_PREFIX: &str = "v-";
/// Longest key accepted, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 4096;

const KIND_PUT: u8 = 1;
const KIND_PATCH: u8 = 2;
const KIND_DELETE: u8 = 3;
const KIND_BATCH_BEGIN: u8 = 4;
const KIND_BATCH_PUT: u8 = 5;
const KIND_BATCH_DELETE: u8 = 6;
const KIND_BATCH_COMMIT: u8 = 7;
const KIND_PUT_BLOB: u8 = 8;
const KIND_BATCH_PUT_BLOB: u8 = 9;
/// The highest kind of version 1.
const LAST_KIND_OF_VERSION_1: u8 = KIND_BATCH_COMMIT;

/// Identifies one batch among the records of a log; chosen by the writer, unique per writer.
pub type BatchId = u64;

/// One change to the key space, as written in the WAL.
///
/// A batch is written as `BatchBegin`, then exactly `op_count` `BatchPut`/`BatchDelete` records
/// of the same id, then `BatchCommit`, all contiguous in the log. It takes effect only when its
/// `BatchCommit` is applied; a batch cut off before its commit is never visible.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WalRecord {
    /// Sets `key` to `value`.
    Put { key: String, value: Vec<u8> },
    /// Appends `delta` to the value of `key` (a missing key starts from the empty value).
    Patch { key: String, delta: Vec<u8> },
    /// Removes `key`.
    Delete { key: String },
    /// Opens batch `batch`, which will hold `op_count` operations.
    BatchBegin { batch: BatchId, op_count: u32 },
    /// Sets `key` to `value` when batch `batch` commits.
    BatchPut {
        batch: BatchId,
        key: String,
        value: Vec<u8>,
    },
    /// Removes `key` when batch `batch` commits.
    BatchDelete { batch: BatchId, key: String },
    /// Applies batch `batch`, which must hold exactly `op_count` operations.
    BatchCommit { batch: BatchId, op_count: u32 },
}

/// A value kept in a value blob: the blob's id and the value's length.
///
/// Invariant: `blob` is `v-` followed by the 64 lowercase hex digits of the value's SHA-256,
/// so equal values share one blob and a blob's content can be checked against its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueRef {
    /// The value blob's id.
    pub blob: BlobId,
    /// The value's length in bytes.
    pub len: u64,
}

impl ValueRef {
    /// The reference to `value`'s content-addressed blob.
    pub fn for_value(value: &[u8]) -> ValueRef {
        let digest = Sha256::digest(value);
        let mut id = String::with_capacity(VALUE_BLOB_PREFIX.len() + 64);
        id.push_str(VALUE_BLOB_PREFIX);
        for byte in digest {
            id.push_str(&format!("{byte:02x}"));
        }
        ValueRef {
            // 66 characters of [a-z0-9-]: always a valid id.
            blob: BlobId::new(id).unwrap_or_else(|_| unreachable!("a hex digest is a valid id")),
            len: value.len() as u64,
        }
    }

    /// Whether `value` is the value this reference names (length and SHA-256).
    pub fn matches(&self, value: &[u8]) -> bool {
        value.len() as u64 == self.len && ValueRef::for_value(value).blob == self.blob
    }

    /// Whether `blob` names a value blob (rather than a snapshot).
    pub fn is_value_blob(blob: &BlobId) -> bool {
        blob.as_str().starts_with(VALUE_BLOB_PREFIX)
    }
}

/// A record as the WAL holds it: a [`WalRecord`] with its values inline, or a put whose value
/// is in a value blob (written, durably, before the record).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogRecord {
    /// A change whose values, if any, are in the record.
    Inline(WalRecord),
    /// [`WalRecord::Put`] with the value in a blob.
    PutBlob { key: String, value: ValueRef },
    /// [`WalRecord::BatchPut`] with the value in a blob.
    BatchPutBlob {
        batch: BatchId,
        key: String,
        value: ValueRef,
    },
}

impl LogRecord {
    /// The value blob this record names, if any.
    pub fn value_ref(&self) -> Option<&ValueRef> {
        match self {
            LogRecord::Inline(_) => None,
            LogRecord::PutBlob { value, .. } | LogRecord::BatchPutBlob { value, .. } => Some(value),
        }
    }

    /// The change this record stands for, given the value its blob holds (the caller checked
    /// it with [`ValueRef::matches`]); an inline record ignores `value`.
    pub fn resolve(self, value: Vec<u8>) -> WalRecord {
        match self {
            LogRecord::Inline(record) => record,
            LogRecord::PutBlob { key, .. } => WalRecord::Put { key, value },
            LogRecord::BatchPutBlob { batch, key, .. } => WalRecord::BatchPut { batch, key, value },
        }
    }

    /// Encodes the record as a WAL payload (format version [`RECORD_FORMAT_VERSION`]).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            LogRecord::Inline(record) => record.encode(),
            LogRecord::PutBlob { key, value } => {
                let mut out = vec![RECORD_FORMAT_VERSION, KIND_PUT_BLOB];
                put_bytes(&mut out, key.as_bytes());
                put_value_ref(&mut out, value);
                out
            }
            LogRecord::BatchPutBlob { batch, key, value } => {
                let mut out = vec![RECORD_FORMAT_VERSION, KIND_BATCH_PUT_BLOB];
                out.extend_from_slice(&batch.to_le_bytes());
                put_bytes(&mut out, key.as_bytes());
                put_value_ref(&mut out, value);
                out
            }
        }
    }

    /// Decodes a WAL payload; any malformed input is an error naming the offset, never a panic.
    pub fn decode(payload: &[u8]) -> Result<LogRecord, RecordDecodeError> {
        let mut reader = Reader {
            bytes: payload,
            offset: 0,
        };
        let version = reader.u8("record format version")?;
        if version != RECORD_FORMAT_VERSION && version != RECORD_FORMAT_VERSION_1 {
            return Err(RecordDecodeError::UnknownVersion { found: version });
        }
        let kind = reader.u8("record kind")?;
        if version == RECORD_FORMAT_VERSION_1 && kind > LAST_KIND_OF_VERSION_1 {
            return Err(RecordDecodeError::UnknownKind { found: kind });
        }
        let record = match kind {
            KIND_PUT_BLOB => LogRecord::PutBlob {
                key: reader.key()?,
                value: reader.value_ref()?,
            },
            KIND_BATCH_PUT_BLOB => LogRecord::BatchPutBlob {
                batch: reader.u64("batch id")?,
                key: reader.key()?,
                value: reader.value_ref()?,
            },
            kind => LogRecord::Inline(decode_inline(&mut reader, kind)?),
        };
        reader.finish()?;
        Ok(record)
    }
}

/// Why a payload is not a valid [`LogRecord`]. Every variant names the byte offset.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RecordDecodeError {
    /// The payload ends before the field that starts at `offset`.
    #[error("record payload truncated at offset {offset}: expected {expected}")]
    Truncated {
        offset: usize,
        expected: &'static str,
    },
    /// Byte 0 names a payload version this build does not read.
    #[error("record payload version {found} at offset 0, expected {RECORD_FORMAT_VERSION}")]
    UnknownVersion { found: u8 },
    /// Byte 1 is not a known record kind (of the payload's version).
    #[error("unknown record kind {found} at offset 1, expected 1..=7 (version 1) or 1..=9")]
    UnknownKind { found: u8 },
    /// A value blob reference whose blob id is not a valid id.
    #[error("invalid value blob id at offset {offset}")]
    InvalidBlobId { offset: usize },
    /// The record keeps its value in a blob: decode it as a [`LogRecord`] and read the blob.
    #[error("record kind {kind} at offset 1 keeps its value in a blob, read as a LogRecord")]
    ValueInBlob { kind: u8 },
    /// A key is not UTF-8 or longer than [`MAX_KEY_BYTES`].
    #[error("invalid key at offset {offset}: {reason}")]
    InvalidKey { offset: usize, reason: &'static str },
    /// Bytes remain after the last field.
    #[error("{extra} unexpected trailing bytes at offset {offset}")]
    TrailingBytes { offset: usize, extra: usize },
}

impl WalRecord {
    /// The key this record changes, if it names one.
    pub fn key(&self) -> Option<&str> {
        match self {
            WalRecord::Put { key, .. }
            | WalRecord::Patch { key, .. }
            | WalRecord::Delete { key }
            | WalRecord::BatchPut { key, .. }
            | WalRecord::BatchDelete { key, .. } => Some(key),
            WalRecord::BatchBegin { .. } | WalRecord::BatchCommit { .. } => None,
        }
    }

    /// Encodes the record as a WAL payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        out.push(RECORD_FORMAT_VERSION);
        match self {
            WalRecord::Put { key, value } => {
                out.push(KIND_PUT);
                put_bytes(&mut out, key.as_bytes());
                put_bytes(&mut out, value);
            }
            WalRecord::Patch { key, delta } => {
                out.push(KIND_PATCH);
                put_bytes(&mut out, key.as_bytes());
                put_bytes(&mut out, delta);
            }
            WalRecord::Delete { key } => {
                out.push(KIND_DELETE);
                put_bytes(&mut out, key.as_bytes());
            }
            WalRecord::BatchBegin { batch, op_count } => {
                out.push(KIND_BATCH_BEGIN);
                out.extend_from_slice(&batch.to_le_bytes());
                out.extend_from_slice(&op_count.to_le_bytes());
            }
            WalRecord::BatchPut { batch, key, value } => {
                out.push(KIND_BATCH_PUT);
                out.extend_from_slice(&batch.to_le_bytes());
                put_bytes(&mut out, key.as_bytes());
                put_bytes(&mut out, value);
            }
            WalRecord::BatchDelete { batch, key } => {
                out.push(KIND_BATCH_DELETE);
                out.extend_from_slice(&batch.to_le_bytes());
                put_bytes(&mut out, key.as_bytes());
            }
            WalRecord::BatchCommit { batch, op_count } => {
                out.push(KIND_BATCH_COMMIT);
                out.extend_from_slice(&batch.to_le_bytes());
                out.extend_from_slice(&op_count.to_le_bytes());
            }
        }
        out
    }

    /// Decodes a WAL payload holding an inline record; a record that keeps its value in a blob
    /// is [`RecordDecodeError::ValueInBlob`] (use [`LogRecord::decode`]).
    pub fn decode(payload: &[u8]) -> Result<WalRecord, RecordDecodeError> {
        match LogRecord::decode(payload)? {
            LogRecord::Inline(record) => Ok(record),
            LogRecord::PutBlob { .. } => Err(RecordDecodeError::ValueInBlob {
                kind: KIND_PUT_BLOB,
            }),
            LogRecord::BatchPutBlob { .. } => Err(RecordDecodeError::ValueInBlob {
                kind: KIND_BATCH_PUT_BLOB,
            }),
        }
    }
}

/// Decodes the fields of an inline record of `kind` (kinds 1..=7).
fn decode_inline(reader: &mut Reader<'_>, kind: u8) -> Result<WalRecord, RecordDecodeError> {
    Ok(match kind {
        KIND_PUT => WalRecord::Put {
            key: reader.key()?,
            value: reader.bytes("value")?,
        },
        KIND_PATCH => WalRecord::Patch {
            key: reader.key()?,
            delta: reader.bytes("delta")?,
        },
        KIND_DELETE => WalRecord::Delete { key: reader.key()? },
        KIND_BATCH_BEGIN => WalRecord::BatchBegin {
            batch: reader.u64("batch id")?,
            op_count: reader.u32("op count")?,
        },
        KIND_BATCH_PUT => WalRecord::BatchPut {
            batch: reader.u64("batch id")?,
            key: reader.key()?,
            value: reader.bytes("value")?,
        },
        KIND_BATCH_DELETE => WalRecord::BatchDelete {
            batch: reader.u64("batch id")?,
            key: reader.key()?,
        },
        KIND_BATCH_COMMIT => WalRecord::BatchCommit {
            batch: reader.u64("batch id")?,
            op_count: reader.u32("op count")?,
        },
        found => return Err(RecordDecodeError::UnknownKind { found }),
    })
}

/// Appends a value reference: u8 id length, the id, u64 value length.
fn put_value_ref(out: &mut Vec<u8>, value: &ValueRef) {
    let id = value.blob.as_str().as_bytes();
    // Blob ids are at most MAX_BLOB_ID_BYTES (128) long.
    out.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(id);
    out.extend_from_slice(&value.len.to_le_bytes());
}

/// Appends a u32 length and the bytes (callers keep lengths below 4 GiB: values are bounded
/// far below that by the WAL's record size limit).
pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes);
}

/// A bounds-checked cursor over a payload; shared with the snapshot decoder.
pub(crate) struct Reader<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) offset: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn take(
        &mut self,
        len: usize,
        expected: &'static str,
    ) -> Result<&'a [u8], RecordDecodeError> {
        let remaining = self.bytes.len() - self.offset;
        if len > remaining {
            return Err(RecordDecodeError::Truncated {
                offset: self.offset,
                expected,
            });
        }
        let slice = &self.bytes[self.offset..self.offset + len];
        self.offset += len;
        Ok(slice)
    }

    pub(crate) fn u8(&mut self, expected: &'static str) -> Result<u8, RecordDecodeError> {
        Ok(self.take(1, expected)?[0])
    }

    pub(crate) fn u32(&mut self, expected: &'static str) -> Result<u32, RecordDecodeError> {
        let mut raw = [0u8; 4];
        raw.copy_from_slice(self.take(4, expected)?);
        Ok(u32::from_le_bytes(raw))
    }

    pub(crate) fn u64(&mut self, expected: &'static str) -> Result<u64, RecordDecodeError> {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(self.take(8, expected)?);
        Ok(u64::from_le_bytes(raw))
    }

    pub(crate) fn bytes(&mut self, expected: &'static str) -> Result<Vec<u8>, RecordDecodeError> {
        let len = self.u32(expected)? as usize;
        Ok(self.take(len, expected)?.to_vec())
    }

    pub(crate) fn key(&mut self) -> Result<String, RecordDecodeError> {
        let start = self.offset;
        let len = self.u32("key length")? as usize;
        if len > MAX_KEY_BYTES {
            return Err(RecordDecodeError::InvalidKey {
                offset: start,
                reason: "key too long",
            });
        }
        let raw = self.take(len, "key bytes")?;
        String::from_utf8(raw.to_vec()).map_err(|_| RecordDecodeError::InvalidKey {
            offset: start,
            reason: "key is not UTF-8",
        })
    }

    fn value_ref(&mut self) -> Result<ValueRef, RecordDecodeError> {
        let start = self.offset;
        let len = self.u8("value blob id length")? as usize;
        let raw = self.take(len, "value blob id")?;
        let blob = std::str::from_utf8(raw)
            .ok()
            .and_then(|id| BlobId::new(id).ok())
            .filter(ValueRef::is_value_blob)
            .ok_or(RecordDecodeError::InvalidBlobId { offset: start })?;
        let len = self.u64("value length")?;
        Ok(ValueRef { blob, len })
    }

    pub(crate) fn finish(&self) -> Result<(), RecordDecodeError> {
        let extra = self.bytes.len() - self.offset;
        if extra > 0 {
            return Err(RecordDecodeError::TrailingBytes {
                offset: self.offset,
                extra,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
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
        let value_ref = proptest::collection::vec(any::<u8>(), 0..40)
            .prop_map(|value| ValueRef::for_value(&value));
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
            let mut bytes = record.encode();
            for (at, mask) in flips {
                let len = bytes.len();
                bytes[at % len] ^= mask;
            }
            bytes.truncate(cut % (bytes.len() + 1));
            let _ = LogRecord::decode(&bytes);
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
            let mut bytes = record.encode();
            for (at, mask) in flips {
                let len = bytes.len();
                bytes[at % len] ^= mask;
            }
            bytes.truncate(cut % (bytes.len() + 1));
            let _ = WalRecord::decode(&bytes);
        }

        #[test]
        fn every_strict_prefix_is_rejected(record in any_record()) {
            let bytes = record.encode();
            for len in 0..bytes.len() {
                prop_assert!(WalRecord::decode(&bytes[..len]).is_err());
            }
        }
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
}
