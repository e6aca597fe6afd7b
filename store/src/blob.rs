//! Write-once blobs (snapshots, large values) in `DIR/blobs/<id>.blob`.
//!
//! [`BlobStore::put`] writes a temporary of its own, `<id>.<pid>-<n>.tmp` (O_EXCL), fsyncs it,
//! renames it to `<id>.blob` and fsyncs the directory: after a crash the blob is either absent
//! or complete (leftover `.tmp` files are garbage, see [`BlobStore::list_temporaries`]). Each
//! writer has its own temporary, so two writers of one content-addressed id (a holder and a
//! stalled, fenced one) never rename each other's half-written file into place. Because an existing `<id>.blob` is
//! always complete, a put that finds its id stored ([`BlobError::AlreadyExists`]) may be taken
//! as "already stored" by callers that name blobs by their content.
//!
//! Each blob starts with a header and a CRC32C that covers the blob's own id, its length and
//! its payload, verified on every [`BlobStore::get`]: a bit flip, a torn write or the right
//! bytes under the wrong name is an error, never returned as valid. Layout:
//! `store/FORMAT.md`, "Blob file".

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::io::Io;
use crate::mutant::{self, Mutant};

/// Blob magic, `FLTBLOB\0`.
pub const BLOB_MAGIC: [u8; 8] = *b"FLTBLOB\0";
/// Current blob format version.
pub const BLOB_FORMAT_VERSION: u16 = 1;
/// Bytes 0..8 magic.
pub const BLOB_MAGIC_OFFSET: usize = 0;
/// Bytes 8..10 format version.
pub const BLOB_VERSION_OFFSET: usize = 8;
/// Bytes 10..12 id length `i` in bytes.
pub const BLOB_ID_LEN_OFFSET: usize = 10;
/// Bytes 12..20 payload length `n` in bytes.
pub const BLOB_PAYLOAD_LEN_OFFSET: usize = 12;
/// Bytes 20..24 CRC32C of bytes 0..20, then the id, then the payload.
pub const BLOB_CRC_OFFSET: usize = 20;
/// Header length; the id (`i` bytes) follows, then the payload (`n` bytes).
pub const BLOB_HEADER_LEN: usize = 24;
/// Longest id, in bytes.
pub const MAX_BLOB_ID_BYTES: usize = 128;

/// A temporary file of a put of blob `id` (`<id>.<pid>-<n>.tmp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobTemporary {
    /// The blob the put was writing.
    pub id: BlobId,
    /// The file's name in the blob directory.
    pub name: String,
}

/// A blob's name: 1 to 128 characters of `[A-Za-z0-9_-]`, unique across processes.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct BlobId(String);

impl BlobId {
    /// Validates an id.
    pub fn new(id: impl Into<String>) -> Result<BlobId, BlobError> {
        let id = id.into();
        let valid = !id.is_empty()
            && id.len() <= MAX_BLOB_ID_BYTES
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if valid {
            Ok(BlobId(id))
        } else {
            Err(BlobError::InvalidId { id })
        }
    }

    /// A fresh id unique across processes and time: `<prefix>-<unix ns>-<pid>-<counter>`.
    /// `prefix` must itself be a valid id fragment (e.g. `snap`).
    pub fn unique(prefix: &str) -> Result<BlobId, BlobError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        BlobId::new(format!("{prefix}-{nanos}-{}-{count}", std::process::id()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Errors of the blob store.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// An IO operation failed. For `put`, the blob may or may not exist afterwards only if the
    /// failure was the final directory fsync (`op == "fsync dir"`).
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// `<id>.blob` exists already (blobs are write-once); nothing was written. It is a
    /// complete blob (a final name only ever appears by the rename of a fsynced temporary),
    /// so a caller whose ids name contents may take this as "already stored", after an fsync
    /// of the directory (the put that renamed it may have died before its own).
    #[error("blob {id} already exists")]
    AlreadyExists {
        /// The id.
        id: BlobId,
    },
    /// Not a valid blob id.
    #[error("invalid blob id {id:?}: expected 1 to 128 characters of [A-Za-z0-9_-]")]
    InvalidId {
        /// The rejected id.
        id: String,
    },
    /// No blob has this id.
    #[error("blob {id} not found at {path}")]
    NotFound {
        /// The id.
        id: BlobId,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The blob file is damaged, truncated, or holds another blob's bytes.
    #[error("{path}: corrupt blob at offset {offset}: {detail}")]
    Corrupt {
        /// The blob file.
        path: PathBuf,
        /// Offset of the bad field.
        offset: u64,
        /// What was expected and found.
        detail: String,
    },
}

fn io_error(op: &'static str, path: &Path, source: std::io::Error) -> BlobError {
    BlobError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Encodes a blob file: header, id, payload.
pub fn encode_blob(id: &BlobId, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(BLOB_HEADER_LEN + id.0.len() + payload.len());
    out.extend_from_slice(&BLOB_MAGIC);
    out.extend_from_slice(&BLOB_FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(id.0.len() as u16).to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    let crc = blob_checksum(&out, id.0.as_bytes(), payload);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(id.0.as_bytes());
    out.extend_from_slice(payload);
    out
}

/// The CRC32C of a blob: over header bytes 0..20, the id, then the payload.
fn blob_checksum(header: &[u8], id: &[u8], payload: &[u8]) -> u32 {
    if mutant::is_active(Mutant::BlobChecksumWithoutId) {
        // Mutant 16 (a checksum that covers the data but not its identity): only the
        // payload is checked, so another blob's bytes under this name read as valid.
        return crc32c::crc32c(payload);
    }
    let crc = crc32c::crc32c_append(crc32c::crc32c(header), id);
    crc32c::crc32c_append(crc, payload)
}

/// Decodes and verifies a blob file read from `path`, which must hold blob `id`.
pub fn decode_blob(path: &Path, id: &BlobId, bytes: &[u8]) -> Result<Vec<u8>, BlobError> {
    let corrupt = |offset: usize, detail: String| BlobError::Corrupt {
        path: path.to_path_buf(),
        offset: offset as u64,
        detail,
    };
    let Some(header) = bytes.get(..BLOB_HEADER_LEN) else {
        return Err(corrupt(
            0,
            format!("{} bytes, shorter than the header", bytes.len()),
        ));
    };
    if header[..8] != BLOB_MAGIC {
        return Err(corrupt(BLOB_MAGIC_OFFSET, "bad magic".into()));
    }
    let version = u16::from_le_bytes([header[8], header[9]]);
    if version != BLOB_FORMAT_VERSION {
        return Err(corrupt(
            BLOB_VERSION_OFFSET,
            format!("unsupported version {version}"),
        ));
    }
    let id_len = u16::from_le_bytes([header[10], header[11]]) as usize;
    let mut len_bytes = [0u8; 8];
    len_bytes.copy_from_slice(&header[BLOB_PAYLOAD_LEN_OFFSET..BLOB_CRC_OFFSET]);
    let payload_len = u64::from_le_bytes(len_bytes);
    let expected_len = (BLOB_HEADER_LEN + id_len) as u64 + payload_len;
    if expected_len != bytes.len() as u64 {
        return Err(corrupt(
            BLOB_PAYLOAD_LEN_OFFSET,
            format!(
                "header says {expected_len} bytes, the file has {}",
                bytes.len()
            ),
        ));
    }
    let stored = u32::from_le_bytes([header[20], header[21], header[22], header[23]]);
    let body = bytes.get(BLOB_HEADER_LEN..).unwrap_or_default();
    let (stored_id, payload) = body.split_at(id_len.min(body.len()));
    let computed = blob_checksum(&header[..BLOB_CRC_OFFSET], stored_id, payload);
    if stored != computed {
        return Err(corrupt(
            BLOB_CRC_OFFSET,
            format!("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"),
        ));
    }
    if stored_id != id.0.as_bytes() && !mutant::is_active(Mutant::BlobChecksumWithoutId) {
        return Err(corrupt(
            BLOB_HEADER_LEN,
            format!(
                "holds blob {:?}, expected {id}",
                String::from_utf8_lossy(stored_id)
            ),
        ));
    }
    Ok(payload.to_vec())
}

/// Write-once blobs in one directory.
#[derive(Debug, Clone)]
pub struct BlobStore {
    io: Arc<dyn Io>,
    dir: PathBuf,
}

impl BlobStore {
    /// The blob store in `dir` (created if missing, and made durable).
    pub fn open(io: Arc<dyn Io>, dir: &Path) -> Result<Self, BlobError> {
        crate::io::create_dir_durable(io.as_ref(), dir)
            .map_err(|source| io_error("create dir", dir, source))?;
        Ok(BlobStore {
            io,
            dir: dir.to_path_buf(),
        })
    }

    /// Path of blob `id`.
    pub fn path(&self, id: &BlobId) -> PathBuf {
        self.dir.join(format!("{id}.blob"))
    }

    /// A temporary name no other writer (of this or another process) uses.
    fn fresh_temporary(&self, id: &BlobId) -> BlobTemporary {
        static WRITER: AtomicU64 = AtomicU64::new(0);
        let writer = WRITER.fetch_add(1, Ordering::Relaxed);
        BlobTemporary {
            id: id.clone(),
            name: format!("{id}.{}-{writer}.tmp", std::process::id()),
        }
    }

    /// Writes blob `id` durably. Steps: (1) create this writer's own `<id>.<pid>-<n>.tmp` with
    /// O_EXCL, (2) write header+id+payload, (3) fsync it, (4) rename
    /// to `<id>.blob`, (5) fsync the directory. `Ok` means the blob is durable.
    ///
    /// Write-once: if `<id>.blob` exists, nothing is written and the answer is
    /// [`BlobError::AlreadyExists`]. Content-addressed callers take that as "already stored"
    /// (see the variant), which is safe only because a final name is never written in place:
    /// it appears only by the rename of a fsynced temporary (steps 3-4), so an existing one is
    /// a complete blob.
    pub fn put(&self, id: &BlobId, payload: &[u8]) -> Result<(), BlobError> {
        let path = self.path(id);
        if self.exists(id)? {
            return Err(BlobError::AlreadyExists { id: id.clone() });
        }
        if mutant::is_active(Mutant::BlobInPlace) {
            return self.put_in_place(id, payload);
        }
        let temporary = self.dir.join(self.fresh_temporary(id).name);
        let file = self
            .io
            .create_new(&temporary)
            .map_err(|source| io_error("create", &temporary, source))?;
        file.write_at(0, &encode_blob(id, payload))
            .map_err(|source| io_error("write", &temporary, source))?;
        if !mutant::is_active(Mutant::RenameBeforeDataFsync) {
            // Mutant 5 skips this (see `ManifestStore::publish`): a torn blob can end up under
            // its final name.
            file.sync()
                .map_err(|source| io_error("fsync", &temporary, source))?;
        }
        drop(file);
        self.io
            .rename(&temporary, &path)
            .map_err(|source| io_error("rename", &temporary, source))?;
        if mutant::is_active(Mutant::RenameWithoutDirFsync) {
            // Mutant 4 (see `wal::segment::create_segment`): the rename is not made durable.
            return Ok(());
        }
        self.io
            .sync_dir(&self.dir)
            .map_err(|source| io_error("fsync dir", &self.dir, source))
    }

    /// Only with mutant 3 (a file written in place instead of temp + rename, as by the
    /// applications whose files ext4 left empty after crashes in 2009): create `<id>.blob`,
    /// write, fsync, fsync the directory. A power cut after the name became durable (by any
    /// other fsync of the directory) and before the data fsync leaves a torn file under the
    /// final name, which a later put of the same id then takes as stored.
    fn put_in_place(&self, id: &BlobId, payload: &[u8]) -> Result<(), BlobError> {
        let path = self.path(id);
        let file = self
            .io
            .create_new(&path)
            .map_err(|source| io_error("create", &path, source))?;
        file.write_at(0, &encode_blob(id, payload))
            .map_err(|source| io_error("write", &path, source))?;
        file.sync()
            .map_err(|source| io_error("fsync", &path, source))?;
        self.io
            .sync_dir(&self.dir)
            .map_err(|source| io_error("fsync dir", &self.dir, source))
    }

    /// Whether blob `id` exists (its contents are not checked).
    pub fn exists(&self, id: &BlobId) -> Result<bool, BlobError> {
        let path = self.path(id);
        match self.io.open(&path) {
            Ok(_) => Ok(true),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(io_error("open", &path, source)),
        }
    }

    /// Reads and verifies blob `id` (magic, version, length, id, CRC).
    pub fn get(&self, id: &BlobId) -> Result<Vec<u8>, BlobError> {
        let path = self.path(id);
        let bytes = match self.io.read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(BlobError::NotFound {
                    id: id.clone(),
                    path,
                });
            }
            Err(source) => return Err(io_error("read", &path, source)),
        };
        decode_blob(&path, id, &bytes)
    }

    fn list_names(&self) -> Result<Vec<String>, BlobError> {
        self.io
            .list_dir(&self.dir)
            .map_err(|source| io_error("list", &self.dir, source))
    }

    /// Every blob present, sorted (for GC). Files with other names are not listed.
    pub fn list(&self) -> Result<Vec<BlobId>, BlobError> {
        Ok(self
            .list_names()?
            .iter()
            .filter_map(|n| n.strip_suffix(".blob"))
            .filter_map(|id| BlobId::new(id).ok())
            .collect())
    }

    /// Temporaries in the directory: leftovers of interrupted puts, or puts in progress.
    pub fn list_temporaries(&self) -> Result<Vec<BlobTemporary>, BlobError> {
        Ok(self
            .list_names()?
            .into_iter()
            .filter_map(|name| {
                let stem = name.strip_suffix(".tmp")?;
                let id = stem.split_once('.').map_or(stem, |(id, _writer)| id);
                let id = BlobId::new(id).ok()?;
                Some(BlobTemporary { id, name })
            })
            .collect())
    }

    /// Removes blob `id` and fsyncs the directory. Removing a missing blob is `Ok`. Only GC,
    /// under the lease, after proving the blob unreachable, may call this.
    pub fn remove(&self, id: &BlobId) -> Result<(), BlobError> {
        self.remove_path(&self.path(id))
    }

    /// Removes a leftover temporary and fsyncs the directory.
    pub fn remove_temporary(&self, temporary: &BlobTemporary) -> Result<(), BlobError> {
        self.remove_path(&self.dir.join(&temporary.name))
    }

    fn remove_path(&self, path: &Path) -> Result<(), BlobError> {
        match self.io.remove_file(path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(io_error("remove", path, source)),
        }
        self.io
            .sync_dir(&self.dir)
            .map_err(|source| io_error("fsync dir", &self.dir, source))
    }
}

#[cfg(test)]
mod tests;
