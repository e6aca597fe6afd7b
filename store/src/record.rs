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

use thiserror::Error;

use crate::blob::BlobId;

mod log_record;
pub use log_record::{LogRecord, ValueRef};

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
mod tests;
