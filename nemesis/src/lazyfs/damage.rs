//! Damage to data at rest, applied to a mount on request: a decayed bit in a file's durable
//! content ([`FsState::rot`]) and a whole file's content landed under another file's name
//! ([`FsState::misplace`]). Both change what the disk holds (the backing directory is
//! rewritten) and what readers see, and are written to the fault log.
//!
//! Where they hit is chosen so that a careful system can always tell: a decayed bit is never
//! in a file's first 512 bytes (a header a system may rewrite as a torn creation) nor in its
//! last `tail_margin_bytes` (a last record a system may cut as torn); a misplaced file's
//! content differs from the one it replaces. The damaged ranges are tracked ([`DamageMap`])
//! until rewritten, and their first read is logged as `damage-read`. Both aim at recent data (the newest file, the
//! last bytes before the margin), which a system still needs: damage to data it has already
//! compacted away shows nothing.

mod map;
pub mod siblings;

use rand::Rng;

pub(crate) use map::DamageMap;

use super::backing::mirror_durable_file;
use super::model::DurableFile;
use super::state::FsState;
use super::{LazyFsError, PathPattern};

/// How far before a file's tail margin a decayed bit may land: recent data.
pub const ROT_RECENT_WINDOW_BYTES: u64 = 6 * 1024;

/// Bytes at the start of a file a decayed bit never hits.
pub const ROT_HEADER_SKIP_BYTES: u64 = 512;

impl FsState {
    /// Flips one bit of the durable content of a file `pattern` matches, at an offset at
    /// least [`ROT_HEADER_SKIP_BYTES`] from its start and `tail_margin_bytes` from its end,
    /// and within the [`ROT_RECENT_WINDOW_BYTES`] before that margin (recently written data,
    /// which a system has not yet compacted away): in the most recently modified such file
    /// half of the time, else drawn uniformly over every such byte of every such file.
    /// Returns what it did, or `None` when no file is long enough.
    pub(crate) fn rot(
        &mut self,
        pattern: &PathPattern,
        tail_margin_bytes: u64,
    ) -> Result<Option<String>, LazyFsError> {
        let floor = ROT_HEADER_SKIP_BYTES + tail_margin_bytes;
        let mut files: Vec<DurableFile> = self
            .model
            .durable_files()
            .into_iter()
            .filter(|file| file.len > floor && pattern.matches(&file.path))
            .collect();
        files.sort_by(|a, b| (&b.mtime, &b.path).cmp(&(&a.mtime, &a.path)));
        let span = |file: &DurableFile| (file.len - floor).min(ROT_RECENT_WINDOW_BYTES);
        let eligible: u64 = files.iter().map(span).sum();
        if eligible == 0 {
            return Ok(None);
        }
        let (file, ticket) = if self.faults.rng.random_bool(0.5) {
            let newest = &files[0];
            (newest, self.faults.rng.random_range(0..span(newest)))
        } else {
            let mut ticket = self.faults.rng.random_range(0..eligible);
            let mut chosen = &files[0];
            for file in &files {
                if ticket < span(file) {
                    chosen = file;
                    break;
                }
                ticket -= span(file);
            }
            (chosen, ticket)
        };
        let offset = file.len - tail_margin_bytes - span(file) + ticket;
        debug_assert!(offset >= ROT_HEADER_SKIP_BYTES && offset < file.len - tail_margin_bytes);
        let bit = self.faults.rng.random_range(0..8u8);
        self.model
            .rot_bit(file.ino, offset, bit)
            .map_err(|source| LazyFsError::Operation {
                operation: format!("flipping a bit of {}", file.path),
                source,
            })?;
        mirror_durable_file(&self.backing, &self.model, file.ino, self.sync_backing)?;
        self.damage.add(&file.path, offset, offset + 1, "bit-rot");
        let detail = format!(
            "bit {bit} of byte {offset} of {} ({} durable bytes) flipped at rest",
            file.path, file.len
        );
        self.log.record("bit-rot", Some(&file.path), detail.clone());
        Ok(Some(detail))
    }

    /// Writes the durable content of one file `pattern` matches under the name of a sibling
    /// (another file of its kind in its directory, [`siblings`]): the target is the file with
    /// the most siblings of other content, the most recently modified among equals (so among
    /// content-addressed blobs, the newest value rather than one of two snapshots), and it gets
    /// the content of the sibling with the longest shared name prefix, the most recently
    /// modified among equals, as a write that went astray would leave. Returns what it did, or
    /// `None` when no file has a sibling.
    pub(crate) fn misplace(
        &mut self,
        pattern: &PathPattern,
    ) -> Result<Option<String>, LazyFsError> {
        let mut files: Vec<DurableFile> = self
            .model
            .durable_files()
            .into_iter()
            .filter(|file| file.len > 0 && pattern.matches(&file.path))
            .collect();
        // Newest first; a power cut gives every file its time, so the later inode is newer.
        files.sort_by(|a, b| (&b.mtime, b.ino, &b.path).cmp(&(&a.mtime, a.ino, &a.path)));
        let contents: Vec<&[u8]> = files
            .iter()
            .map(|file| self.model.durable_content(file.ino).unwrap_or_default())
            .collect();
        let paths: Vec<&str> = files.iter().map(|file| file.path.as_str()).collect();
        let Some((target, source)) =
            siblings::choose_misplacement(&paths, |a, b| contents[a] != contents[b])
        else {
            return Ok(None);
        };
        let (target, source) = (files[target].clone(), files[source].clone());
        self.model
            .misplace_content(source.ino, target.ino)
            .map_err(|source_error| LazyFsError::Operation {
                operation: format!("writing {} under {}", source.path, target.path),
                source: source_error,
            })?;
        mirror_durable_file(&self.backing, &self.model, target.ino, self.sync_backing)?;
        self.damage
            .add(&target.path, 0, source.len, "misplaced-file");
        let detail = format!(
            "the content of {} ({} bytes) landed under {}",
            source.path, source.len, target.path
        );
        self.log
            .record("misplaced-file", Some(&target.path), detail.clone());
        Ok(Some(detail))
    }
}

impl FsState {
    /// Reports, once per damaged range, a read of `[offset, offset + len)` of `ino`.
    pub(crate) fn note_damage_read(&mut self, ino: super::Ino, offset: u64, len: u64) {
        if self.damage.is_empty() {
            return;
        }
        let path = self.path_of(ino);
        for range in self.damage.read(&path, offset, offset + len) {
            let detail = format!(
                "bytes [{}, {}) damaged by {} were read",
                range.start, range.end, range.cause
            );
            self.log.record("damage-read", Some(&path), detail);
        }
    }
}
