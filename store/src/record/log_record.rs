//! [`LogRecord`]: a record as the WAL holds it, whose put value may live in a value blob
//! named by a [`ValueRef`] (content-addressed: `v-<sha256 hex>`).

use sha2::{Digest, Sha256};

use super::{
    decode_inline, put_bytes, BatchId, BlobId, Reader, RecordDecodeError, WalRecord,
    KIND_BATCH_PUT_BLOB, KIND_PUT_BLOB, LAST_KIND_OF_VERSION_1, RECORD_FORMAT_VERSION,
    RECORD_FORMAT_VERSION_1, VALUE_BLOB_PREFIX,
};

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

/// Appends a value reference: u8 id length, the id, u64 value length.
fn put_value_ref(out: &mut Vec<u8>, value: &ValueRef) {
    let id = value.blob.as_str().as_bytes();
    // Blob ids are at most MAX_BLOB_ID_BYTES (128) long.
    out.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(id);
    out.extend_from_slice(&value.len.to_le_bytes());
}

impl Reader<'_> {
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
}
