//! The manifest: the durable pointer to the current snapshot, advanced by compare-and-set.
//!
//! Every publish adds one write-once file, `MANIFEST.<seq:020>`, claimed with O_EXCL
//! ([`Io::create_new`]), so no publisher ever rewrites, or renames over, a manifest another
//! one wrote. [`ManifestStore::read`] returns the current [`Manifest`] (the valid file with
//! the greatest [`order_key`]: covered LSN, then epoch, then seq) and a [`ManifestToken`]
//! naming it; files that are not valid (a claim whose bytes were never written, a torn write)
//! are skipped, so a reader falls back to the previous manifest. [`ManifestStore::publish`]
//! adds a manifest iff the current one is still the one the token names; a mismatch is the
//! value [`PublishOutcome::Conflict`], not an error. Layout: `store/FORMAT.md`, "Manifest
//! files"; the protocol and why a stalled publisher is harmless: `store/PROTOCOL.md` §5.

mod codec;
mod legacy;
mod scan;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::blob::BlobId;
use crate::io::{Io, IoFile};
use crate::lock::Epoch;
use crate::mutant::{self, Mutant};
use crate::wal::Lsn;
pub use codec::{decode_manifest, encode_manifest};
pub use legacy::manifest_temporary_name;
pub use scan::{manifest_file_name, order_key, InvalidManifest, ManifestFiles, ValidManifest};

/// Manifest magic, `FLTMANIF`.
pub const MANIFEST_MAGIC: [u8; 8] = *b"FLTMANIF";
/// Current manifest format version (2: one write-once file per seq).
pub const MANIFEST_FORMAT_VERSION: u16 = 2;
/// Bytes 0..8 magic.
pub const MANIFEST_MAGIC_OFFSET: usize = 0;
/// Bytes 8..10 format version.
pub const MANIFEST_VERSION_OFFSET: usize = 8;
/// Bytes 10..12 snapshot blob id length `i` (0: no snapshot).
pub const MANIFEST_ID_LEN_OFFSET: usize = 10;
/// Bytes 12..20 seq (equal to the seq in the file's name).
pub const MANIFEST_SEQ_OFFSET: usize = 12;
/// Bytes 20..28 writer epoch.
pub const MANIFEST_EPOCH_OFFSET: usize = 20;
/// Bytes 28..36 covered LSN.
pub const MANIFEST_COVERED_LSN_OFFSET: usize = 28;
/// Bytes 36..36+i snapshot blob id, then 4 bytes CRC32C of everything before.
pub const MANIFEST_ID_OFFSET: usize = 36;
/// Prefix of a manifest file's name: `MANIFEST.<seq:020>`.
pub const MANIFEST_FILE_PREFIX: &str = "MANIFEST.";
/// Digits of the seq in a manifest file's name.
pub const MANIFEST_SEQ_DIGITS: usize = 20;
/// The single manifest file of format version 1, which this build refuses to read.
pub const LEGACY_MANIFEST_FILE: &str = "MANIFEST";
/// Prefix of the temporaries format version 1 renamed over `MANIFEST`:
/// `MANIFEST.<epoch:020>.tmp`. Only removed (by GC) in this version.
pub const MANIFEST_TEMPORARY_PREFIX: &str = "MANIFEST.";
/// Suffix of those temporaries.
pub const MANIFEST_TEMPORARY_SUFFIX: &str = ".tmp";
/// Publish gives up after losing this many claims in a row (each lost claim is a manifest
/// file another publisher created between this one's listing and its claim).
pub const MAX_CLAIM_ATTEMPTS: u32 = 16;

/// The pointer to the current snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// The seq in the file's name. Strictly increases with every publish; a publish skips the
    /// numbers of unfinished claims (0: no manifest was ever published).
    pub seq: u64,
    /// Epoch of the writer that published it.
    pub epoch: Epoch,
    /// The snapshot blob, if any.
    pub snapshot: Option<BlobId>,
    /// Every record with an LSN at or below this one is in the snapshot.
    pub covered_lsn: Lsn,
}

/// Names one manifest as read: `(seq, crc)`. Two reads of the same file give equal tokens;
/// [`ManifestToken::seq`] is the seq a publish actually wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ManifestToken {
    seq: u64,
    crc: u32,
}

impl ManifestToken {
    /// The token of "no manifest file yet".
    pub const ABSENT: ManifestToken = ManifestToken { seq: 0, crc: 0 };

    /// The seq of the manifest it names (0: none).
    pub fn seq(&self) -> u64 {
        self.seq
    }
}

/// The result of a compare-and-set publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// The new manifest is durable and is, and stays, current unless a manifest of a greater
    /// [`order_key`] is (see [`ManifestStore::publish`]); its token.
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
    /// An IO operation failed before any manifest file was claimed (or while reading): the
    /// current manifest is unchanged.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Writing, fsyncing or making durable the claimed manifest file failed: the new manifest
    /// may or may not be current (its bytes may be readable, and lost by a power cut).
    #[error("publishing {path} may or may not have taken effect: {op}: {source}")]
    PublishIndeterminate {
        /// What failed.
        op: &'static str,
        /// The manifest path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A manifest file is damaged, or is a format version 1 `MANIFEST` (not read by this
    /// build), or no manifest file is valid while some hold bytes.
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
    /// The highest manifest file's seq is the largest a name can hold (a crafted or damaged
    /// directory): no later manifest can be claimed. Nothing was written.
    #[error("{path}: no manifest seq follows this file's")]
    SeqExhausted {
        /// The manifest file of the highest seq.
        path: PathBuf,
    },
    /// Every claim was lost: each time, another publisher created the manifest file this one
    /// chose between its listing and its claim. Nothing was written.
    #[error("gave up publishing after losing {attempts} claims to other publishers (last {path})")]
    ClaimContended {
        /// Claims attempted.
        attempts: u32,
        /// The last manifest file claimed.
        path: PathBuf,
    },
}

fn io_error(op: &'static str, path: &Path, source: std::io::Error) -> ManifestError {
    ManifestError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// What step 2 of a publish got.
enum Claim {
    /// The new, empty manifest file of `seq`, this publisher's alone.
    Won { seq: u64, file: Box<dyn IoFile> },
    /// The current manifest is not the expected one.
    Conflict(PublishOutcome),
}

/// The manifest files of one store directory.
#[derive(Debug, Clone)]
pub struct ManifestStore {
    io: Arc<dyn Io>,
    dir: PathBuf,
}

impl ManifestStore {
    /// The manifest files in `dir` (`dir/MANIFEST.<seq:020>`).
    pub fn new(io: Arc<dyn Io>, dir: &Path) -> Self {
        ManifestStore {
            io,
            dir: dir.to_path_buf(),
        }
    }

    /// The path of the manifest file of `seq`.
    pub fn path_of(&self, seq: u64) -> PathBuf {
        self.dir.join(manifest_file_name(seq))
    }

    /// Every manifest file, valid or not, as one listing finds them (for checks and tests).
    pub fn files(&self) -> Result<ManifestFiles, ManifestError> {
        scan::scan(self.io.as_ref(), &self.dir)
    }

    /// The current manifest and its token; `(Manifest::default(), ManifestToken::ABSENT)` if
    /// none was ever published (no manifest file, or only blank ones: claims whose bytes were
    /// never written). Files that are not valid manifests are skipped (the previous manifest
    /// is current); if some hold data and none is valid, an error names the highest one and
    /// the offset of its damage. A format version 1 `MANIFEST` is an error.
    pub fn read(&self) -> Result<(Manifest, ManifestToken), ManifestError> {
        self.files()?.current_or_absent()
    }

    /// [`Self::read`], then makes the current manifest durable: writes its bytes again (the
    /// same bytes, so no reader ever sees other content), fsyncs it and fsyncs the directory.
    /// A reader may see a manifest whose publisher crashed, stalls or failed before its own
    /// fsyncs (after a kill its bytes are in the page cache; after a failed fsync they may
    /// even be marked clean): a caller that deletes what a manifest covers, or collects what
    /// it does not name, must read it with this method, or a power cut may bring back an older
    /// manifest that needs what was deleted. Call only while holding the lease.
    pub fn read_durable(&self) -> Result<(Manifest, ManifestToken), ManifestError> {
        let files = self.files()?;
        let current = files.current_or_absent()?;
        let Some(valid) = files.current() else {
            return Ok(current);
        };
        let (bytes, _) = encode_manifest(&valid.manifest);
        let path = &valid.path;
        let file = self
            .io
            .open(path)
            .map_err(|source| io_error("open", path, source))?;
        file.write_at(0, &bytes)
            .map_err(|source| io_error("write", path, source))?;
        file.sync()
            .map_err(|source| io_error("fsync", path, source))?;
        self.io
            .sync_dir(&self.dir)
            .map_err(|source| io_error("fsync dir", &self.dir, source))?;
        Ok(current)
    }

    /// Publishes `new` iff the current manifest is the one `expected` names. Call only while
    /// holding the lease, after checking it is not fenced; publishes of one epoch must not
    /// run concurrently. `new.seq` must be the current seq + 1 and `new.covered_lsn` must not
    /// be below the current one ([`ManifestError::InvalidSuccessor`]).
    ///
    /// Steps (`store/PROTOCOL.md` §5a): (1) list and read every manifest file, compare the
    /// current one with `expected` (a mismatch: [`PublishOutcome::Conflict`], nothing
    /// written); (2) claim `MANIFEST.<s>` with O_EXCL, `s` one above the highest manifest file
    /// of any kind (lost to another creator: back to 1, at most [`MAX_CLAIM_ATTEMPTS`] times);
    /// (3) write the manifest, its seq set to `s` (`s > new.seq` when unfinished claims hold
    /// lower numbers); (4) fsync it; (5) fsync the directory; (6) remove the valid manifests
    /// ordered below it (best effort: a leftover is ignored by readers and removed next time).
    ///
    /// Guarantees. `Published(token)`: the manifest is durable, and from now on [`Self::read`]
    /// returns it or a manifest of a greater [`order_key`] (so one covering at least its LSN),
    /// also after a crash: its caller may delete what it covers. `Conflict`: the current
    /// manifest was another; nothing was written. No publisher ever modifies or removes a
    /// manifest file it did not write, except a valid one ordered below a durable one of its
    /// own. Two publishers that built on the same `expected` each claim their own file; both
    /// can publish only if one skipped the other's unfinished claim, and then the greater key
    /// is current whichever finishes last (PROTOCOL.md §5a says why the lease makes that the
    /// newer holder's). Errors: [`ManifestError::Io`], [`ManifestError::ClaimContended`] and
    /// [`ManifestError::InvalidSuccessor`] wrote nothing that can become current;
    /// [`ManifestError::PublishIndeterminate`] (after the claim) may have published.
    pub fn publish(
        &self,
        expected: &ManifestToken,
        new: &Manifest,
    ) -> Result<PublishOutcome, ManifestError> {
        let (seq, file) = if mutant::is_active(Mutant::ManifestSwapUnchecked) {
            // Mutant 9 (a lost update: a read-modify-write of a pointer without an atomic
            // compare-and-set): no compare and no claim; the manifest goes to the seq the
            // caller computed, over whatever file is there (O_TRUNC instead of O_EXCL).
            (new.seq, self.open_truncated(new.seq)?)
        } else {
            match self.claim(expected, new)? {
                Claim::Won { seq, file } => (seq, file),
                Claim::Conflict(conflict) => return Ok(conflict),
            }
        };
        let path = self.path_of(seq);
        let indeterminate = |op, source| ManifestError::PublishIndeterminate {
            op,
            path: path.clone(),
            source,
        };
        let written = Manifest { seq, ..new.clone() };
        let (bytes, crc) = encode_manifest(&written);
        file.write_at(0, &bytes)
            .map_err(|source| indeterminate("write", source))?;
        if !mutant::is_active(Mutant::RenameBeforeDataFsync) {
            // Mutant 5 (LevelDB's empty CURRENT: the pointer became durable before its data)
            // skips this: the claimed name can be durable while its bytes are not.
            file.sync()
                .map_err(|source| indeterminate("fsync", source))?;
        }
        drop(file);
        if !mutant::is_active(Mutant::RenameWithoutDirFsync) {
            // Mutant 4 (see `wal::segment::create_segment`) skips this: the claimed name is
            // lost by a power cut, after the covered segments were deleted.
            self.io
                .sync_dir(&self.dir)
                .map_err(|source| indeterminate("fsync dir", source))?;
        }
        self.remove_ordered_below(&written);
        Ok(PublishOutcome::Published(ManifestToken { seq, crc }))
    }

    /// Steps 1 and 2: the claimed seq and its new, empty file, or the conflict.
    fn claim(&self, expected: &ManifestToken, new: &Manifest) -> Result<Claim, ManifestError> {
        let mut last = self.dir.clone();
        for _attempt in 0..MAX_CLAIM_ATTEMPTS {
            let files = self.files()?;
            let (current, token) = files.current_or_absent()?;
            if token != *expected {
                return Ok(Claim::Conflict(PublishOutcome::Conflict { current, token }));
            }
            if current.seq.checked_add(1) != Some(new.seq) || new.covered_lsn < current.covered_lsn
            {
                return Err(ManifestError::InvalidSuccessor {
                    current_seq: current.seq,
                    current_covered: current.covered_lsn,
                    new_seq: new.seq,
                    new_covered: new.covered_lsn,
                });
            }
            let Some(seq) = files.highest_seq.checked_add(1) else {
                return Err(ManifestError::SeqExhausted {
                    path: self.path_of(files.highest_seq),
                });
            };
            last = self.path_of(seq);
            match self.io.create_new(&last) {
                Ok(file) => return Ok(Claim::Won { seq, file }),
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(io_error("create", &last, source)),
            }
        }
        Err(ManifestError::ClaimContended {
            attempts: MAX_CLAIM_ATTEMPTS,
            path: last,
        })
    }

    /// Mutant 9's file: the manifest file of `seq`, created or truncated.
    fn open_truncated(&self, seq: u64) -> Result<Box<dyn IoFile>, ManifestError> {
        let path = self.path_of(seq);
        let file = match self.io.create_new(&path) {
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => self.io.open(&path),
            other => other,
        }
        .map_err(|source| io_error("create", &path, source))?;
        file.set_len(0)
            .map_err(|source| io_error("truncate", &path, source))?;
        Ok(file)
    }

    /// Step 6: removes the valid manifests ordered below `durable` (never current again: the
    /// current manifest's key only grows, and `durable` stays until a greater one is durable).
    /// Invalid files are kept: their writer may still finish them. Best effort, no directory
    /// fsync: a removal a crash undoes leaves a superseded manifest, which readers skip.
    fn remove_ordered_below(&self, durable: &Manifest) {
        let Ok(files) = self.files() else {
            return;
        };
        let key = order_key(durable);
        for file in files.valid.iter().filter(|f| order_key(&f.manifest) < key) {
            // A failure leaves a superseded manifest: harmless, removed by a later publish.
            let _ = self.io.remove_file(&file.path);
        }
    }
}

#[cfg(test)]
mod directory_tests;
#[cfg(test)]
mod race_tests;
#[cfg(test)]
mod tests;
