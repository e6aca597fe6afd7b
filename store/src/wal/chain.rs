//! The live chain of segments (rule 1 of `recovery`): which segments hold the log and which
//! a fenced writer left behind. Reads every segment's header.

use std::path::Path;

use crate::io::Io;
use crate::lock::Epoch;
use crate::wal::frame::{decode_segment_header, SegmentHeader, SEGMENT_HEADER_LEN};
use crate::wal::segment::SegmentName;
use crate::wal::{io_error, WalError};

/// Splits segments (sorted by `(first_lsn, epoch)`) into the live chain, in order, and the
/// stale rest (rule 1). Reads every segment's header.
pub(crate) fn chain(
    io: &dyn Io,
    dir: &Path,
    segments: Vec<SegmentName>,
) -> Result<(Vec<SegmentName>, Vec<SegmentName>), WalError> {
    let mut headers: Vec<Option<SegmentHeader>> = Vec::with_capacity(segments.len());
    let mut damage: Vec<Option<WalError>> = Vec::with_capacity(segments.len());
    for name in &segments {
        match read_header(io, &dir.join(name.file_name()), name) {
            Ok(header) => {
                headers.push(Some(header));
                damage.push(None);
            }
            Err(error @ WalError::CorruptSegmentHeader { .. }) => {
                headers.push(None);
                damage.push(Some(error));
            }
            Err(error) => return Err(error),
        }
    }
    let newest_epoch = segments.iter().map(|s| s.epoch).max();
    let by_recency = |index: &usize| (segments[*index].epoch, segments[*index].first_lsn);
    let torn = (0..segments.len())
        .max_by_key(by_recency)
        .filter(|index| headers[*index].is_none());
    for (index, error) in damage.into_iter().enumerate() {
        if let Some(error) = error {
            // Only the newest segment may be a torn creation; an older one of the newest
            // epoch is damage. (Torn headers of older epochs are fenced holders' creations.)
            if Some(index) != torn && Some(segments[index].epoch) == newest_epoch {
                return Err(error);
            }
        }
    }
    let mut on_chain = vec![false; segments.len()];
    let mut current = (0..segments.len())
        .filter(|index| headers[*index].is_some())
        .max_by_key(by_recency);
    // Each step moves to a strictly older segment: at most one step per segment.
    for _ in 0..segments.len() {
        let Some(index) = current else { break };
        on_chain[index] = true;
        let name = &segments[index];
        let Some(header) = headers[index] else { break };
        if header.prev_epoch == Epoch(0) {
            break;
        }
        current = (0..segments.len())
            .filter(|candidate| {
                let other = &segments[*candidate];
                headers[*candidate].is_some()
                    && other.epoch == header.prev_epoch
                    && if other.epoch == name.epoch {
                        other.first_lsn < name.first_lsn
                    } else {
                        other.first_lsn <= name.first_lsn
                    }
            })
            .max_by_key(|candidate| segments[*candidate].first_lsn);
    }
    let newest_valid = (0..segments.len())
        .filter(|index| on_chain[*index])
        .max_by_key(|index| segments[*index].first_lsn);
    if let (Some(torn), Some(last)) = (torn, newest_valid) {
        // A torn creation that starts before the chain ends was a fenced holder's.
        on_chain[torn] = segments[torn].first_lsn >= segments[last].first_lsn;
    } else if let Some(torn) = torn {
        on_chain[torn] = true;
    }
    let mut live = Vec::new();
    let mut stale = Vec::new();
    for (index, segment) in segments.into_iter().enumerate() {
        if on_chain[index] {
            live.push(segment);
        } else {
            stale.push(segment);
        }
    }
    Ok((live, stale))
}

/// Reads a segment's header. `CorruptSegmentHeader` if it cannot be decoded (a torn creation,
/// or damage); other errors if it disagrees with the file name or names a predecessor above
/// its own epoch, or cannot be read.
fn read_header(io: &dyn Io, path: &Path, name: &SegmentName) -> Result<SegmentHeader, WalError> {
    let file = io
        .open(path)
        .map_err(|source| io_error("open", path, source))?;
    let mut bytes = [0u8; SEGMENT_HEADER_LEN];
    let mut read = 0;
    // Short reads end at the end of the file: at most one read per byte.
    while read < bytes.len() {
        let n = file
            .read_at(read as u64, &mut bytes[read..])
            .map_err(|source| io_error("read", path, source))?;
        if n == 0 {
            break;
        }
        read += n;
    }
    let header =
        decode_segment_header(&bytes[..read]).map_err(|source| WalError::CorruptSegmentHeader {
            path: path.to_path_buf(),
            source,
        })?;
    if header.first_lsn != name.first_lsn || header.epoch != name.epoch {
        return Err(WalError::SegmentHeaderMismatch {
            path: path.to_path_buf(),
            header_first_lsn: header.first_lsn,
            header_epoch: header.epoch,
        });
    }
    if header.prev_epoch > header.epoch {
        return Err(WalError::PrevEpochAboveEpoch {
            path: path.to_path_buf(),
            epoch: header.epoch,
            prev_epoch: header.prev_epoch,
        });
    }
    Ok(header)
}
