//! The Store's WAL payload: [`WalRecord`], the one thing the Store writes into a WAL record.
//!
//! The WAL frames, checksums and numbers records; this module only gives the payload bytes a
//! meaning. Layout (little-endian, drawn in FORMAT.md "Store record payload"):
//!
//! ```text
//! offset 0  u8   RECORD_FORMAT_VERSION (1)
//! offset 1  u8   kind (KIND_* below)
//! offset 2  ...  fields of the kind, in declaration order:
//!                key   = u32 length + UTF-8 bytes (length <= MAX_KEY_BYTES)
//!                bytes = u32 length + raw bytes
//!                batch = u64 batch id, count = u32
//! ```
//!
//! Decoding never panics and never allocates more than the input holds: every length is checked
//! against the bytes that remain before anything is copied, and trailing bytes are an error.

use thiserror::Error;

/// Version of the payload encoding written in byte 0 of every record.
pub const RECORD_FORMAT_VERSION: u8 = 1;
/// Longest key accepted, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 4096;

const KIND_PUT: u8 = 1;
const KIND_PATCH: u8 = 2;
const KIND_DELETE: u8 = 3;
const KIND_BATCH_BEGIN: u8 = 4;
const KIND_BATCH_PUT: u8 = 5;
const KIND_BATCH_DELETE: u8 = 6;
const KIND_BATCH_COMMIT: u8 = 7;

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

/// Why a payload is not a valid [`WalRecord`]. Every variant names the byte offset.
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
    /// Byte 1 is not a known record kind.
    #[error("unknown record kind {found} at offset 1, expected 1..=7")]
    UnknownKind { found: u8 },
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

    /// Decodes a WAL payload; any malformed input is an error naming the offset, never a panic.
    pub fn decode(payload: &[u8]) -> Result<WalRecord, RecordDecodeError> {
        let mut reader = Reader {
            bytes: payload,
            offset: 0,
        };
        let version = reader.u8("record format version")?;
        if version != RECORD_FORMAT_VERSION {
            return Err(RecordDecodeError::UnknownVersion { found: version });
        }
        let kind = reader.u8("record kind")?;
        let record = match kind {
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
        };
        reader.finish()?;
        Ok(record)
    }
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

    proptest! {
        #[test]
        fn encode_then_decode_is_identity(record in any_record()) {
            prop_assert_eq!(WalRecord::decode(&record.encode()), Ok(record));
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
        assert_eq!(put, [1, 1, 2, 0, 0, 0, b'a', b'b', 1, 0, 0, 0, 7]);
    }
}
