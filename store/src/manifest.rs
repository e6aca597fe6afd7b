//! The manifest: the durable pointer to the current snapshot, swapped by compare-and-set.
//!
//! [`ManifestStore::read`] returns the current [`Manifest`] and a [`ManifestToken`] naming
//! it. [`ManifestStore::publish`] replaces it iff it is still the one the token names:
//! write `MANIFEST.<epoch:020>.tmp` (one temporary per writer epoch, so a fenced holder and
//! the new one never write the same file), fsync, rename over `MANIFEST`, fsync the
//! directory. A mismatch is
//! the value [`PublishOutcome::Conflict`], not an error. The compare-and-set is atomic only
//! among holders of the lease lock: callers publish under the lock, after checking they are
//! not fenced. Layout: `store/FORMAT.md`, "Manifest file".

mod codec;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::blob::BlobId;
use crate::io::Io;
use crate::lock::Epoch;
use crate::mutant::{self, Mutant};
use crate::wal::Lsn;
pub use codec::{decode_manifest, encode_manifest};

/// Manifest magic, `FLTMANIF`.
pub const MANIFEST_MAGIC: [u8; 8] = *b"FLTMANIF";
/// Current manifest format version.
pub const MANIFEST_FORMAT_VERSION: u16 = 1;
/// Bytes 0..8 magic.
pub const MANIFEST_MAGIC_OFFSET: usize = 0;
/// Bytes 8..10 format version.
pub const MANIFEST_VERSION_OFFSET: usize = 8;
/// Bytes 10..12 snapshot blob id length `i` (0: no snapshot).
pub const MANIFEST_ID_LEN_OFFSET: usize = 10;
/// Bytes 12..20 seq.
pub const MANIFEST_SEQ_OFFSET: usize = 12;
/// Bytes 20..28 writer epoch.
pub const MANIFEST_EPOCH_OFFSET: usize = 20;
/// Bytes 28..36 covered LSN.
pub const MANIFEST_COVERED_LSN_OFFSET: usize = 28;
/// Bytes 36..36+i snapshot blob id, then 4 bytes CRC32C of everything before.
pub const MANIFEST_ID_OFFSET: usize = 36;
/// The manifest's file name.
pub const MANIFEST_FILE: &str = "MANIFEST";
/// Prefix of the temporaries written before the rename: `MANIFEST.<epoch:020>.tmp`.
pub const MANIFEST_TEMPORARY_PREFIX: &str = "MANIFEST.";
/// Suffix of the temporaries written before the rename.
pub const MANIFEST_TEMPORARY_SUFFIX: &str = ".tmp";

/// The name of the temporary a publisher of `epoch` writes.
pub fn manifest_temporary_name(epoch: Epoch) -> String {
    format!(
        "{MANIFEST_TEMPORARY_PREFIX}{:020}{MANIFEST_TEMPORARY_SUFFIX}",
        epoch.0
    )
}

/// The epoch of a manifest temporary's name; `None` for any other name.
fn parse_manifest_temporary_name(name: &str) -> Option<Epoch> {
    let digits = name
        .strip_prefix(MANIFEST_TEMPORARY_PREFIX)?
        .strip_suffix(MANIFEST_TEMPORARY_SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(Epoch)
}

/// The pointer to the current snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Strictly increases with every publish (0: no manifest was ever published).
    pub seq: u64,
    /// Epoch of the writer that published it.
    pub epoch: Epoch,
    /// The snapshot blob, if any.
    pub snapshot: Option<BlobId>,
    /// Every record with an LSN at or below this one is in the snapshot.
    pub covered_lsn: Lsn,
}

/// Names one manifest as read: `(seq, crc)`. Two reads of the same file give equal tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ManifestToken {
    seq: u64,
    crc: u32,
}

impl ManifestToken {
    /// The token of "no manifest file yet".
    pub const ABSENT: ManifestToken = ManifestToken { seq: 0, crc: 0 };
}

/// The result of a compare-and-set publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// The new manifest is durable; its token.
    Published(ManifestToken),
    /// The current manifest is not the expected one; nothing was written.
    Conflict {
        /// The current manifest.
        current: Manifest,
        /// Its token.
        token: ManifestToken,
    },
}

/// Errors of the manifest store.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// An IO operation failed before the rename: the old manifest is still current.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The rename or the directory fsync failed: the new manifest may or may not be current.
    #[error("publishing {path} may or may not have taken effect: {op}: {source}")]
    PublishIndeterminate {
        /// What failed.
        op: &'static str,
        /// The manifest path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The manifest file is damaged.
    #[error("{path}: corrupt manifest at offset {offset}: {detail}")]
    Corrupt {
        /// The manifest file.
        path: PathBuf,
        /// Offset of the bad field.
        offset: u64,
        /// What was expected and found.
        detail: String,
    },
    /// The new manifest does not follow the current one (seq must grow by one, covered LSN
    /// must not shrink). A caller bug; nothing was written.
    #[error("manifest seq {new_seq} (covered {new_covered}) cannot follow seq {current_seq} (covered {current_covered})")]
    InvalidSuccessor {
        /// Current seq.
        current_seq: u64,
        /// Current covered LSN.
        current_covered: Lsn,
        /// New seq.
        new_seq: u64,
        /// New covered LSN.
        new_covered: Lsn,
    },
}

fn io_error(op: &'static str, path: &Path, source: std::io::Error) -> ManifestError {
    ManifestError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// The manifest of one store directory.
#[derive(Debug, Clone)]
pub struct ManifestStore {
    io: Arc<dyn Io>,
    dir: PathBuf,
}

impl ManifestStore {
    /// The manifest in `dir/MANIFEST`.
    pub fn new(io: Arc<dyn Io>, dir: &Path) -> Self {
        ManifestStore {
            io,
            dir: dir.to_path_buf(),
        }
    }

    /// The manifest's path.
    pub fn path(&self) -> PathBuf {
        self.dir.join(MANIFEST_FILE)
    }

    /// The current manifest and its token; `(Manifest::default(), ManifestToken::ABSENT)` if
    /// none was ever published. A damaged file is an error, never a default.
    pub fn read(&self) -> Result<(Manifest, ManifestToken), ManifestError> {
        let path = self.path();
        match self.io.read(&path) {
            Ok(bytes) => decode_manifest(&path, &bytes),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                Ok((Manifest::default(), ManifestToken::ABSENT))
            }
            Err(source) => Err(io_error("read", &path, source)),
        }
    }

    /// Publishes `new` iff the current manifest is still the one `expected` names.
    /// Steps: (1) read and compare, (2) write `MANIFEST.<new.epoch>.tmp` (replacing a leftover
    /// of the same epoch: publishes of one epoch are serialized by its holder), (3) fsync it,
    /// (4) read and compare again, (5) rename over `MANIFEST`, (6) fsync the directory.
    /// `new.seq` must be the current seq + 1 and `new.covered_lsn` must not be below the
    /// current one.
    ///
    /// Limit: the compare and the rename are two steps, so a publisher that stalls between (4)
    /// and (5) while another publishes can still replace the newer manifest. Step 4 narrows
    /// that window from the fsync of step 3 to two system calls; only the lease (a publisher
    /// checks it is not fenced just before) guards the rest.
    pub fn publish(
        &self,
        expected: &ManifestToken,
        new: &Manifest,
    ) -> Result<PublishOutcome, ManifestError> {
        if let Some(conflict) = self.compare(expected, new)? {
            return Ok(conflict);
        }
        let (bytes, crc) = encode_manifest(new);
        let temporary = self.dir.join(manifest_temporary_name(new.epoch));
        match self.io.remove_file(&temporary) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(io_error("remove", &temporary, source)),
        }
        let file = self
            .io
            .create_new(&temporary)
            .map_err(|source| io_error("create", &temporary, source))?;
        file.write_at(0, &bytes)
            .map_err(|source| io_error("write", &temporary, source))?;
        if !mutant::is_active(Mutant::RenameBeforeDataFsync) {
            // Mutant 5 (LevelDB's empty CURRENT: it was renamed into place before its data
            // was synced) skips this: the rename can be durable while the data is not.
            file.sync()
                .map_err(|source| io_error("fsync", &temporary, source))?;
        }
        drop(file);
        if let Some(conflict) = self.compare(expected, new)? {
            return Ok(conflict);
        }
        let path = self.path();
        let indeterminate = |op, source| ManifestError::PublishIndeterminate {
            op,
            path: path.clone(),
            source,
        };
        self.io
            .rename(&temporary, &path)
            .map_err(|source| indeterminate("rename", source))?;
        if !mutant::is_active(Mutant::RenameWithoutDirFsync) {
            // Mutant 4 (see `wal::segment::create_segment`) skips this: the rename is lost
            // by a power cut, after the covered segments were deleted.
            self.io
                .sync_dir(&self.dir)
                .map_err(|source| indeterminate("fsync dir", source))?;
        }
        Ok(PublishOutcome::Published(ManifestToken {
            seq: new.seq,
            crc,
        }))
    }

    /// `Some(Conflict)` unless the current manifest is the one `expected` names; an error if
    /// `new` cannot follow it.
    fn compare(
        &self,
        expected: &ManifestToken,
        new: &Manifest,
    ) -> Result<Option<PublishOutcome>, ManifestError> {
        if mutant::is_active(Mutant::ManifestSwapUnchecked) {
            // Mutant 9 (a lost update: a read-modify-write of a pointer without
            // compare-and-set): the manifest is swapped without checking it is still the one
            // this process read.
            return Ok(None);
        }
        let (current, token) = self.read()?;
        if token != *expected {
            return Ok(Some(PublishOutcome::Conflict { current, token }));
        }
        if new.seq != current.seq + 1 || new.covered_lsn < current.covered_lsn {
            return Err(ManifestError::InvalidSuccessor {
                current_seq: current.seq,
                current_covered: current.covered_lsn,
                new_seq: new.seq,
                new_covered: new.covered_lsn,
            });
        }
        Ok(None)
    }

    /// Manifest temporaries of epochs below `current`: provably garbage (their writers were
    /// fenced by `current` and never publish again). Temporaries of `current` or above may be
    /// in use and are never listed.
    pub fn stale_temporaries(&self, current: Epoch) -> Result<Vec<PathBuf>, ManifestError> {
        let names = self
            .io
            .list_dir(&self.dir)
            .map_err(|source| io_error("list", &self.dir, source))?;
        let mut stale: Vec<PathBuf> = names
            .iter()
            .filter(|name| parse_manifest_temporary_name(name).is_some_and(|e| e < current))
            .map(|name| self.dir.join(name))
            .collect();
        stale.sort();
        Ok(stale)
    }

    /// Removes [`ManifestStore::stale_temporaries`] (then fsyncs the directory if any was
    /// removed). Call only while holding the lease of epoch `current`. Returns how many.
    pub fn remove_stale_temporaries(&self, current: Epoch) -> Result<usize, ManifestError> {
        let stale = self.stale_temporaries(current)?;
        for path in &stale {
            match self.io.remove_file(path) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(io_error("remove", path, source)),
            }
        }
        if !stale.is_empty() {
            self.io
                .sync_dir(&self.dir)
                .map_err(|source| io_error("fsync dir", &self.dir, source))?;
        }
        Ok(stale.len())
    }
}

#[cfg(test)]
mod tests;
