//! Reading every manifest file of a directory and choosing the current one (layout and rules:
//! `store/FORMAT.md`, "Manifest files").
//!
//! The current manifest is the valid one with the greatest [`order_key`]: its covered LSN,
//! then its epoch, then its seq. Files that are not valid manifests (an empty claim, a torn
//! write, a damaged file) are skipped, so a reader falls back to the previous manifest; if no
//! file is valid but one holds data (not only zeros), reading is an error naming it.

use std::path::{Path, PathBuf};

use super::codec::decode_manifest;
use super::{
    io_error, Manifest, ManifestError, ManifestToken, LEGACY_MANIFEST_FILE, MANIFEST_FILE_PREFIX,
    MANIFEST_SEQ_DIGITS, MANIFEST_SEQ_OFFSET, MANIFEST_VERSION_OFFSET,
};
use crate::io::Io;
use crate::lock::Epoch;
use crate::wal::Lsn;

/// The order of manifests: a reader's current manifest is the valid one with the greatest key.
pub fn order_key(manifest: &Manifest) -> (Lsn, Epoch, u64) {
    (manifest.covered_lsn, manifest.epoch, manifest.seq)
}

/// The name of the manifest file of `seq`: `MANIFEST.<seq:020>`.
pub fn manifest_file_name(seq: u64) -> String {
    format!(
        "{MANIFEST_FILE_PREFIX}{seq:0width$}",
        width = MANIFEST_SEQ_DIGITS
    )
}

/// The seq of a manifest file's name; `None` for any other name.
pub(super) fn parse_manifest_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(MANIFEST_FILE_PREFIX)?;
    if digits.len() != MANIFEST_SEQ_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A valid manifest file.
#[derive(Debug, Clone)]
pub struct ValidManifest {
    /// The file.
    pub path: PathBuf,
    /// What it says.
    pub manifest: Manifest,
    /// Its token.
    pub token: ManifestToken,
}

/// A manifest file that is not a valid manifest.
#[derive(Debug)]
pub struct InvalidManifest {
    /// The file.
    pub path: PathBuf,
    /// Its seq (from its name).
    pub seq: u64,
    /// Its length in bytes.
    pub len: usize,
    /// Whether it holds no data: empty or all zeros (a claim whose bytes were never written,
    /// or whose write a power cut lost while its length or name survived).
    pub blank: bool,
    /// Why it is not valid.
    pub error: ManifestError,
}

/// Every manifest file of a directory, as read by one listing.
#[derive(Debug, Default)]
pub struct ManifestFiles {
    /// Valid manifests, in the order of [`order_key`] (the last is the current one).
    pub valid: Vec<ValidManifest>,
    /// Files that are not valid manifests, by seq: unfinished claims (a publisher that crashed
    /// or stalls before its bytes are written) or damaged files. Never removed by the store:
    /// their writer may still be running.
    pub invalid: Vec<InvalidManifest>,
    /// The highest seq of any manifest file, valid or not (0: none).
    pub highest_seq: u64,
}

impl ManifestFiles {
    /// The current manifest: the valid one with the greatest [`order_key`].
    pub fn current(&self) -> Option<&ValidManifest> {
        self.valid.last()
    }

    /// Checks what a listing guarantees: valid manifests in key order, each under its own
    /// seq's name, invalid ones in seq order, and no file above `highest_seq`.
    pub fn check_invariants(&self) -> Result<(), String> {
        let keys: Vec<_> = self.valid.iter().map(|f| order_key(&f.manifest)).collect();
        if keys.windows(2).any(|pair| pair[0] > pair[1]) {
            return Err(format!("valid manifests out of key order: {keys:?}"));
        }
        for file in &self.valid {
            let name = manifest_file_name(file.manifest.seq);
            if !file.path.ends_with(&name) || file.manifest.seq > self.highest_seq {
                return Err(format!(
                    "{}: seq {}",
                    file.path.display(),
                    file.manifest.seq
                ));
            }
        }
        let seqs: Vec<u64> = self.invalid.iter().map(|f| f.seq).collect();
        if seqs.windows(2).any(|pair| pair[0] > pair[1])
            || seqs.iter().any(|&seq| seq > self.highest_seq)
        {
            return Err(format!(
                "invalid files {seqs:?}, highest seq {}",
                self.highest_seq
            ));
        }
        Ok(())
    }

    /// The current manifest and its token; the default manifest and
    /// [`ManifestToken::ABSENT`] if every file is blank; an error naming the highest
    /// damaged file if files hold data but none is a valid manifest.
    pub fn current_or_absent(&self) -> Result<(Manifest, ManifestToken), ManifestError> {
        if let Some(current) = self.current() {
            return Ok((current.manifest.clone(), current.token));
        }
        let Some(damaged) = self.invalid.iter().rev().find(|file| !file.blank) else {
            return Ok((Manifest::default(), ManifestToken::ABSENT));
        };
        let (offset, detail) = match &damaged.error {
            ManifestError::Corrupt { offset, detail, .. } => (*offset, detail.clone()),
            other => (0, other.to_string()),
        };
        Err(ManifestError::Corrupt {
            path: damaged.path.clone(),
            offset,
            detail: format!("{detail} (no manifest file in the directory is valid)"),
        })
    }
}

/// Lists `dir` and reads every manifest file. A single-file `MANIFEST` of format version 1
/// is an error (this build does not read it, see `store/FORMAT.md`).
pub(super) fn scan(io: &dyn Io, dir: &Path) -> Result<ManifestFiles, ManifestError> {
    let names = match io.list_dir(dir) {
        Ok(names) => names,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => return Err(io_error("list", dir, source)),
    };
    let mut files = ManifestFiles::default();
    for name in &names {
        if name == LEGACY_MANIFEST_FILE {
            return Err(legacy_manifest(&dir.join(name)));
        }
        let Some(seq) = parse_manifest_file_name(name) else {
            continue;
        };
        let path = dir.join(name);
        files.highest_seq = files.highest_seq.max(seq);
        let bytes = match io.read(&path) {
            Ok(bytes) => bytes,
            // Removed since the listing: a superseded manifest.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(io_error("read", &path, source)),
        };
        match decode_named(&path, seq, &bytes) {
            Ok((manifest, token)) => files.valid.push(ValidManifest {
                path,
                manifest,
                token,
            }),
            Err(error) => files.invalid.push(InvalidManifest {
                path,
                seq,
                len: bytes.len(),
                blank: bytes.iter().all(|&byte| byte == 0),
                error,
            }),
        }
    }
    files.valid.sort_by_key(|file| order_key(&file.manifest));
    files.invalid.sort_by_key(|file| file.seq);
    Ok(files)
}

/// Decodes the manifest file of `seq`: a valid manifest whose seq is its name's.
fn decode_named(
    path: &Path,
    seq: u64,
    bytes: &[u8],
) -> Result<(Manifest, ManifestToken), ManifestError> {
    let (manifest, token) = decode_manifest(path, bytes)?;
    if manifest.seq != seq {
        return Err(ManifestError::Corrupt {
            path: path.to_path_buf(),
            offset: MANIFEST_SEQ_OFFSET as u64,
            detail: format!(
                "seq {} in the file of seq {seq} (a misplaced manifest)",
                manifest.seq
            ),
        });
    }
    Ok((manifest, token))
}

fn legacy_manifest(path: &Path) -> ManifestError {
    ManifestError::Corrupt {
        path: path.to_path_buf(),
        offset: MANIFEST_VERSION_OFFSET as u64,
        detail: "a single-file manifest of format version 1, which this build does not read \
                 (it reads MANIFEST.<seq:020> files of format version 2; see store/FORMAT.md)"
            .into(),
    }
}
