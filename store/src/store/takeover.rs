//! Taking over the log ([`Core::catch_up`], store/PROTOCOL.md §2 and §3 step 2): reload a
//! newer snapshot, make durable what the new holder will build on, open the Wal for the new
//! epoch and apply the records after the state's LSN (reading their value blobs).
//!
//! Before a new holder builds on the records another holder left, it makes durable, by
//! writing them itself, those that holder may never have made durable ([`make_tail_durable`]).
//!
//! Why writing and not just an fsync: a holder whose fsync failed leaves records whose pages
//! the kernel marked clean. They read back from the page cache, yet no later fsync (by anyone)
//! writes them, and a power cut loses them. A new holder that built on them after an fsync
//! would leave a gap before its own acknowledged records. Writing the same bytes again dirties
//! the pages, so the fsync that follows really writes them.
//!
//! Which records: those of the newest segment (by epoch, then first LSN, with a valid header:
//! the log's tail) after the last frame's `durable_lsn`. Every record at or below it had been
//! fsynced successfully by its writer; every segment before the tail was fsynced by its writer
//! before it created the next one, or by the holder that took over from it (this step).

use std::io;
use std::path::Path;

use super::backend::{self, Lease};
use super::core::{Core, Inner};
use super::{values, StoreError};
use crate::io::Io;
use crate::lock::Epoch;
use crate::state::State;
use crate::wal::frame::{decode_frame, decode_segment_header, SEGMENT_HEADER_LEN};
use crate::wal::{Lsn, Wal, WalError};

impl Core {
    /// Reloads the snapshot if a newer one was published, writes again the log's tail records
    /// the previous holder may not have made durable ([`make_tail_durable`]), then opens the
    /// Wal for the lease's epoch (which makes what it read durable and cuts a torn tail) and
    /// applies the records after the state's LSN.
    pub(super) fn catch_up(&self, inner: &mut Inner, lease: &Lease) -> Result<Wal, StoreError> {
        if inner.needs_reload {
            inner.state = State::new();
        }
        let io = &self.options.io;
        let published = backend::read_manifest(io, &self.dir)?;
        if published.covered_lsn() > inner.state.applied_lsn() {
            inner.state = backend::load_snapshot(io, &self.dir, &published)?;
        }
        let after = Lsn(inner.state.applied_lsn());
        let wal_dir = self.dir.join("wal");
        make_tail_durable(io.as_ref(), &wal_dir).map_err(|source| StoreError::Io {
            what: "write the log's unproven tail again",
            source,
        })?;
        let (wal, recovered) = match inner.durable_limit {
            None => Wal::open(io.clone(), &wal_dir, lease.epoch(), after, self.options.wal)?,
            Some(failed) => Wal::reopen_after_failed_sync(
                io.clone(),
                &wal_dir,
                lease.epoch(),
                after,
                failed,
                self.options.wal,
            )?,
        };
        for record in &recovered.records {
            let decoded = values::read_record(io, &self.dir, record)?;
            inner.state.apply(record.lsn.0, &decoded)?;
        }
        if wal.last_lsn().0 != inner.state.applied_lsn() {
            return Err(StoreError::Wal(WalError::LogEndsBeforeLsn {
                dir: wal_dir,
                last_lsn: wal.last_lsn(),
                expected_lsn: Lsn(inner.state.applied_lsn()),
            }));
        }
        inner.needs_reload = false;
        inner.durable_limit = None;
        Ok(wal)
    }
}

/// Writes again, then fsyncs, the records of the log's tail segment in `wal_dir` after its
/// last frame's `durable_lsn`. Returns how many bytes were written (0: nothing unproven).
/// Call under the lease, before opening the Wal.
pub(crate) fn make_tail_durable(io: &dyn Io, wal_dir: &Path) -> io::Result<usize> {
    let names = match io.list_dir(wal_dir) {
        Ok(names) => names,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(error),
    };
    let mut segments: Vec<(Epoch, Lsn, &String)> = names
        .iter()
        .filter_map(|name| segment_name(name).map(|(first, epoch)| (epoch, first, name)))
        .collect();
    segments.sort();
    // Newest first; the first with a valid header is the tail (a newer torn creation holds
    // no record, and its creator proved the segment before it).
    for (epoch, first_lsn, name) in segments.iter().rev() {
        let path = wal_dir.join(name);
        let bytes = io.read(&path)?;
        let valid_header = decode_segment_header(&bytes)
            .is_ok_and(|header| header.epoch == *epoch && header.first_lsn == *first_lsn);
        if !valid_header {
            continue;
        }
        let Some((start, end)) = unproven_range(&bytes, *epoch, *first_lsn) else {
            return Ok(0);
        };
        let file = io.open(&path)?;
        file.write_at(start as u64, &bytes[start..end])?;
        file.sync()?;
        return Ok(end - start);
    }
    Ok(0)
}

/// `<first_lsn:020>-<epoch:010>.wal` → (first LSN, epoch).
fn segment_name(name: &str) -> Option<(Lsn, Epoch)> {
    let (first, epoch) = name.strip_suffix(".wal")?.split_once('-')?;
    Some((Lsn(first.parse().ok()?), Epoch(epoch.parse().ok()?)))
}

/// The byte range of the segment's valid, contiguous frames of its own epoch after the last
/// one's `durable_lsn`; `None` if there is none.
fn unproven_range(bytes: &[u8], epoch: Epoch, first_lsn: Lsn) -> Option<(usize, usize)> {
    let mut frames = Vec::new();
    let mut offset = SEGMENT_HEADER_LEN;
    let mut expected = first_lsn;
    // Bounded: every step consumes at least one frame header of the segment's bytes.
    while let Ok(frame) = decode_frame(bytes.get(offset..)?) {
        if frame.epoch != epoch || frame.lsn != expected {
            break;
        }
        frames.push((offset, frame.lsn, frame.durable_lsn));
        offset += frame.encoded_len();
        expected = expected.next();
    }
    let durable_lsn = frames.last()?.2;
    let start = frames.iter().find(|(_, lsn, _)| *lsn > durable_lsn)?.0;
    Some((start, offset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::frame::{encode_frame, encode_segment_header, Frame, SegmentHeader};

    fn segment(epoch: u64, frames: &[(u64, u64)]) -> Vec<u8> {
        let first_lsn = Lsn(frames.first().map_or(1, |f| f.0));
        let header = SegmentHeader {
            first_lsn,
            epoch: Epoch(epoch),
            prev_epoch: Epoch(0),
        };
        let mut bytes = encode_segment_header(header).to_vec();
        for (lsn, durable_lsn) in frames {
            let frame = Frame {
                lsn: Lsn(*lsn),
                epoch: Epoch(epoch),
                durable_lsn: Lsn(*durable_lsn),
                payload: b"payload",
            };
            encode_frame(&frame, &mut bytes);
        }
        bytes
    }

    #[test]
    fn the_unproven_frames_are_those_after_the_last_durable_lsn() {
        let frame_len = 40 + 7;
        // Records 2 to 4 were framed when only record 1 was durable.
        let bytes = segment(3, &[(1, 0), (2, 1), (3, 1), (4, 1)]);
        assert_eq!(
            unproven_range(&bytes, Epoch(3), Lsn(1)),
            Some((40 + frame_len, 40 + 4 * frame_len))
        );
        // A later frame says records 1 and 2 were durable.
        let proven = segment(3, &[(1, 0), (2, 0), (3, 2)]);
        assert_eq!(
            unproven_range(&proven, Epoch(3), Lsn(1)),
            Some((40 + 2 * frame_len, 40 + 3 * frame_len))
        );
        let proven = segment(3, &[(1, 0), (2, 2)]);
        assert_eq!(unproven_range(&proven, Epoch(3), Lsn(1)), None);
        // A torn tail and frames of another epoch end the valid frames.
        let mut torn = segment(3, &[(1, 0), (2, 0)]);
        torn.truncate(torn.len() - 1);
        assert_eq!(
            unproven_range(&torn, Epoch(3), Lsn(1)),
            Some((40, 40 + frame_len))
        );
        assert_eq!(unproven_range(&segment(3, &[]), Epoch(3), Lsn(1)), None);
    }

    #[test]
    fn names_parse_and_others_are_ignored() {
        assert_eq!(
            segment_name("00000000000000000007-0000000002.wal"),
            Some((Lsn(7), Epoch(2)))
        );
        assert_eq!(segment_name("MANIFEST"), None);
        assert_eq!(segment_name("x-y.wal"), None);
    }
}
