//! Segment files: names, listing, creation, and the writer of the active segment.
//!
//! A segment is named `<first_lsn:020>-<epoch:010>.wal`; it belongs to one writer epoch and
//! starts with a segment header that repeats both numbers (a misplaced or renamed segment is
//! detected). Segments are ordered by `(first_lsn, epoch)`.

use std::path::{Path, PathBuf};

use crate::io::{Io, IoFile};
use crate::lock::Epoch;
use crate::mutant::{self, Mutant};
use crate::wal::frame::{encode_segment_header, SegmentHeader, SEGMENT_HEADER_LEN};
use crate::wal::{io_error, Lsn, WalError};

/// A segment file found in the WAL directory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SegmentName {
    /// LSN of its first record (from the name).
    pub(crate) first_lsn: Lsn,
    /// Its writer epoch (from the name).
    pub(crate) epoch: Epoch,
}

impl SegmentName {
    /// The file name, `<first_lsn:020>-<epoch:010>.wal`.
    pub(crate) fn file_name(&self) -> String {
        format!("{:020}-{:010}.wal", self.first_lsn.0, self.epoch.0)
    }

    /// Parses a file name; `None` for anything that is not a segment name.
    pub(crate) fn parse(name: &str) -> Option<SegmentName> {
        let stem = name.strip_suffix(".wal")?;
        let (lsn, epoch) = stem.split_once('-')?;
        if lsn.len() != 20 || epoch.len() != 10 {
            return None;
        }
        if !lsn.bytes().chain(epoch.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let first_lsn = Lsn(lsn.parse().ok()?);
        if first_lsn == Lsn::ZERO {
            return None; // LSNs start at 1: never a segment this store wrote.
        }
        Some(SegmentName {
            first_lsn,
            epoch: Epoch(epoch.parse().ok()?),
        })
    }
}

/// Lists the segments of `dir`, sorted by `(first_lsn, epoch)`. Other files are ignored.
pub(crate) fn list_segments(io: &dyn Io, dir: &Path) -> Result<Vec<SegmentName>, WalError> {
    let names = io
        .list_dir(dir)
        .map_err(|source| io_error("list", dir, source))?;
    let mut segments: Vec<SegmentName> =
        names.iter().filter_map(|n| SegmentName::parse(n)).collect();
    segments.sort();
    Ok(segments)
}

/// Creates a segment durably: create (O_EXCL), write the header, fsync it, fsync the directory.
/// `prev_epoch`: the epoch of the segment whose records it continues (`Epoch(0)`: none).
pub(crate) fn create_segment(
    io: &dyn Io,
    dir: &Path,
    name: &SegmentName,
    prev_epoch: Epoch,
) -> Result<Box<dyn IoFile>, WalError> {
    let path = dir.join(name.file_name());
    let file = io
        .create_new(&path)
        .map_err(|source| io_error("create", &path, source))?;
    let header = encode_segment_header(SegmentHeader {
        first_lsn: name.first_lsn,
        epoch: name.epoch,
        prev_epoch,
    });
    file.write_at(0, &header)
        .map_err(|source| io_error("write", &path, source))?;
    file.sync()
        .map_err(|source| io_error("fsync", &path, source))?;
    if mutant::is_active(Mutant::RenameWithoutDirFsync) {
        // Mutant 4 (etcd 2016: a new WAL segment was created without an fsync of its
        // directory): records fsynced into it are acknowledged while a power cut can still
        // lose the file's name, and with it every record in it.
        return Ok(file);
    }
    io.sync_dir(dir)
        .map_err(|source| io_error("fsync dir", dir, source))?;
    Ok(file)
}

/// The segment being appended to and the sealed ones before it. Only a group-commit leader
/// (or compaction) touches it, one at a time, under its own mutex.
#[derive(Debug)]
pub(crate) struct SegmentWriter {
    pub(crate) io: std::sync::Arc<dyn Io>,
    pub(crate) dir: PathBuf,
    /// The active segment.
    pub(crate) active: SegmentName,
    pub(crate) active_file: Box<dyn IoFile>,
    /// Bytes of the active segment written so far (header included).
    pub(crate) active_len: u64,
    /// Sealed segments, oldest first, and segments of stale epochs found at open.
    pub(crate) sealed: Vec<SegmentName>,
    pub(crate) stale: Vec<SegmentName>,
}

impl SegmentWriter {
    /// Path of the active segment.
    pub(crate) fn active_path(&self) -> PathBuf {
        self.dir.join(self.active.file_name())
    }

    /// Writes `bytes` (whole frames) to the segment starting at `segment_first_lsn`, rotating
    /// to a new segment first if needed (fsyncing the old one, creating the new one durably).
    pub(crate) fn write(&mut self, segment_first_lsn: Lsn, bytes: &[u8]) -> Result<(), WalError> {
        if segment_first_lsn != self.active.first_lsn {
            self.rotate(segment_first_lsn)?;
        }
        let path = self.active_path();
        self.active_file
            .write_at(self.active_len, bytes)
            .map_err(|source| io_error("write", &path, source))?;
        self.active_len += bytes.len() as u64;
        Ok(())
    }

    /// Fsyncs the active segment.
    pub(crate) fn sync(&self) -> Result<(), WalError> {
        let path = self.active_path();
        self.active_file
            .sync()
            .map_err(|source| io_error("fsync", &path, source))
    }

    fn rotate(&mut self, first_lsn: Lsn) -> Result<(), WalError> {
        debug_assert!(first_lsn > self.active.first_lsn);
        self.sync()?;
        let name = SegmentName {
            first_lsn,
            epoch: self.active.epoch,
        };
        let file = create_segment(self.io.as_ref(), &self.dir, &name, self.active.epoch)?;
        let old = std::mem::replace(&mut self.active, name);
        self.sealed.push(old);
        self.active_file = file;
        self.active_len = SEGMENT_HEADER_LEN as u64;
        Ok(())
    }

    /// Removes every sealed segment whose records all have LSNs at or below `lsn`, and every
    /// stale segment; then fsyncs the directory. Returns how many files were removed.
    pub(crate) fn remove_through(&mut self, lsn: Lsn) -> Result<usize, WalError> {
        let mut removable = 0;
        for (index, _) in self.sealed.iter().enumerate() {
            let next_first = self
                .sealed
                .get(index + 1)
                .map_or(self.active.first_lsn, |next| next.first_lsn);
            if next_first.0.saturating_sub(1) <= lsn.0 {
                removable = index + 1;
            } else {
                break;
            }
        }
        let doomed: Vec<SegmentName> = self
            .sealed
            .drain(..removable)
            .chain(self.stale.drain(..))
            .collect();
        for name in &doomed {
            let path = self.dir.join(name.file_name());
            match self.io.remove_file(&path) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(io_error("remove", &path, source)),
            }
        }
        if !doomed.is_empty() {
            self.io
                .sync_dir(&self.dir)
                .map_err(|source| io_error("fsync dir", &self.dir, source))?;
        }
        Ok(doomed.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sort_by_lsn_then_epoch() {
        let name = SegmentName {
            first_lsn: Lsn(12),
            epoch: Epoch(3),
        };
        assert_eq!(name.file_name(), "00000000000000000012-0000000003.wal");
        assert_eq!(SegmentName::parse(&name.file_name()), Some(name.clone()));
        for bad in [
            "x.wal",
            "00000000000000000012-0000000003.tmp",
            "1-2.wal",
            "-.wal",
        ] {
            assert_eq!(SegmentName::parse(bad), None);
        }
        let later = SegmentName {
            first_lsn: Lsn(12),
            epoch: Epoch(4),
        };
        assert!(name < later);
    }
}
