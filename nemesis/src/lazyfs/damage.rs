//! Damage to data at rest, applied to a mount on request: a decayed bit in a file's durable
//! content ([`FsState::rot`]) and a whole file's content landed under another file's name
//! ([`FsState::misplace`]). Both change what the disk holds (the backing directory is
//! rewritten) and what readers see, and are written to the fault log.
//!
//! Where they hit is chosen so that a careful system can always tell: a decayed bit is never
//! in a file's first 512 bytes (a header a system may rewrite as a torn creation) nor in its
//! last `tail_margin_bytes` (a last record a system may cut as torn); a misplaced file's
//! content differs from the one it replaces.

use rand::Rng;

use super::backing::mirror_durable_file;
use super::model::DurableFile;
use super::state::FsState;
use super::{LazyFsError, PathPattern};

/// Bytes at the start of a file a decayed bit never hits.
pub const ROT_HEADER_SKIP_BYTES: u64 = 512;

impl FsState {
    /// Flips one bit of the durable content of a file `pattern` matches, at an offset at
    /// least [`ROT_HEADER_SKIP_BYTES`] from its start and `tail_margin_bytes` from its end.
    /// Returns what it did, or `None` when no file is long enough.
    pub(crate) fn rot(
        &mut self,
        pattern: &PathPattern,
        tail_margin_bytes: u64,
    ) -> Result<Option<String>, LazyFsError> {
        let floor = ROT_HEADER_SKIP_BYTES + tail_margin_bytes;
        let files: Vec<DurableFile> = self
            .model
            .durable_files()
            .into_iter()
            .filter(|file| file.len > floor && pattern.matches(&file.path))
            .collect();
        if files.is_empty() {
            return Ok(None);
        }
        let file = &files[self.faults.rng.random_range(0..files.len())];
        let offset = self
            .faults
            .rng
            .random_range(ROT_HEADER_SKIP_BYTES..file.len - tail_margin_bytes);
        let bit = self.faults.rng.random_range(0..8u8);
        self.model
            .rot_bit(file.ino, offset, bit)
            .map_err(|source| LazyFsError::Operation {
                operation: format!("flipping a bit of {}", file.path),
                source,
            })?;
        mirror_durable_file(&self.backing, &self.model, file.ino, self.sync_backing)?;
        let detail = format!(
            "bit {bit} of byte {offset} of {} ({} durable bytes) flipped at rest",
            file.path, file.len
        );
        self.log.record("bit-rot", Some(&file.path), detail.clone());
        Ok(Some(detail))
    }

    /// Writes the durable content of one file `pattern` matches under the name of another:
    /// the newest such file (highest inode) gets the content of the newest other one whose
    /// name shares the longest prefix with it and whose content differs. Returns what it did,
    /// or `None` when there are not two such files.
    pub(crate) fn misplace(
        &mut self,
        pattern: &PathPattern,
    ) -> Result<Option<String>, LazyFsError> {
        let files: Vec<DurableFile> = self
            .model
            .durable_files()
            .into_iter()
            .filter(|file| file.len > 0 && pattern.matches(&file.path))
            .collect();
        let Some(target) = files.last() else {
            return Ok(None);
        };
        let target_content = self.model.durable_content(target.ino).unwrap_or_default();
        let source = files
            .iter()
            .rev()
            .filter(|file| file.ino != target.ino)
            .filter(|file| {
                self.model.durable_content(file.ino).unwrap_or_default() != target_content
            })
            .max_by_key(|file| common_prefix(&file.path, &target.path));
        let Some(source) = source.cloned() else {
            return Ok(None);
        };
        self.model
            .misplace_content(source.ino, target.ino)
            .map_err(|source_error| LazyFsError::Operation {
                operation: format!("writing {} under {}", source.path, target.path),
                source: source_error,
            })?;
        mirror_durable_file(&self.backing, &self.model, target.ino, self.sync_backing)?;
        let detail = format!(
            "the content of {} ({} bytes) landed under {}",
            source.path, source.len, target.path
        );
        self.log
            .record("misplaced-file", Some(&target.path), detail.clone());
        Ok(Some(detail))
    }
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}
