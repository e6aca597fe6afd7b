//! Format version 1 leftovers: the temporaries `MANIFEST.<epoch:020>.tmp` that version 1
//! renamed over `MANIFEST`. This version never writes them; GC removes those of fenced epochs.

use std::path::PathBuf;

use super::{io_error, ManifestError, ManifestStore};
use super::{MANIFEST_TEMPORARY_PREFIX, MANIFEST_TEMPORARY_SUFFIX};
use crate::lock::Epoch;

/// The name of a format version 1 temporary of `epoch`.
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

impl ManifestStore {
    /// Format version 1 manifest temporaries (`MANIFEST.<epoch:020>.tmp`, left by a publish
    /// interrupted before its rename) of epochs below `current`: provably garbage (their
    /// writers were fenced by `current`; this version never writes them). Those of `current`
    /// or above are never listed.
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
