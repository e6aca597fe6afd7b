//! Reading the log back: recovery at open and catch-up by other processes.
//!
//! Rules (see `store/FORMAT.md`, "WAL recovery"):
//! 1. The live segments form a chain: start at the segment with the highest `(epoch,
//!    first_lsn)` whose header is valid; each segment's predecessor is the segment of its
//!    header's `prev_epoch` with the highest `first_lsn` not past its own (strictly before it
//!    within one epoch). Every segment off the chain is stale (a fenced holder's) and ignored.
//!    A highest segment with a torn header (a torn creation) stays last, to be removed.
//! 2. A live segment ends where the next live segment begins: records at or past the next
//!    segment's first LSN are a fenced holder's and ignored. Before that point every record
//!    must be valid, contiguous and of the segment's epoch, or recovery fails naming the file
//!    and the offset.
//! 3. Only the last segment may end in invalid bytes (a torn or unsynced tail). They are cut,
//!    unless a valid record after them says (by its durable LSN) that the damaged record had
//!    already been fsynced: then the damage is an error, never silently cut.

use std::path::{Path, PathBuf};

use crate::io::Io;
use crate::mutant::{self, Mutant};
use crate::wal::chain::chain;
use crate::wal::frame::{
    decode_frame, decode_segment_header, Frame, RECORD_HEADER_LEN, RECORD_MAGIC, SEGMENT_HEADER_LEN,
};
use crate::wal::segment::{list_segments, SegmentName};
use crate::wal::{io_error, Lsn, Record, RecordFault, TailCut, WalError};

/// What a scan of the WAL directory found.
#[derive(Debug)]
pub(crate) struct Scan {
    /// Valid records with LSN above the scan's `after`, in LSN order.
    pub(crate) records: Vec<Record>,
    /// LSN of the last valid record (or `after` if the log holds none past it).
    pub(crate) last_lsn: Lsn,
    /// Live segments in order; the last one is the tail.
    pub(crate) live: Vec<SegmentName>,
    /// Segments of fenced epochs.
    pub(crate) stale: Vec<SegmentName>,
    /// The bytes of the tail segment that recovery would cut.
    pub(crate) cut: Option<TailCut>,
    /// Whether the tail segment's header is invalid (the whole file is a torn creation).
    pub(crate) tail_header_invalid: bool,
}

/// Scans `dir` for every record with an LSN above `after`. Read-only.
pub(crate) fn scan(io: &dyn Io, dir: &Path, after: Lsn) -> Result<Scan, WalError> {
    let (live, stale) = chain(io, dir, list_segments(io, dir)?)?;
    let mut scan = Scan {
        records: Vec::new(),
        last_lsn: after,
        live,
        stale,
        cut: None,
        tail_header_invalid: false,
    };
    let Some(first_needed) = scan.live.iter().rposition(|s| s.first_lsn <= after.next()) else {
        if let Some(first) = scan.live.first() {
            return Err(WalError::MissingSegment {
                dir: dir.to_path_buf(),
                expected_lsn: after.next(),
                first_segment: dir.join(first.file_name()),
            });
        }
        return Ok(scan);
    };
    let mut next_lsn = scan.live[first_needed].first_lsn;
    for index in first_needed..scan.live.len() {
        let name = &scan.live[index];
        let path = dir.join(name.file_name());
        let bytes = io
            .read(&path)
            .map_err(|source| io_error("read", &path, source))?;
        // Each sealed segment is read up to the next one's first LSN, so they chain.
        debug_assert_eq!(name.first_lsn, next_lsn);
        let end = scan.live.get(index + 1).map(|next| next.first_lsn);
        let mut segment = SegmentScan {
            path,
            name,
            bytes: &bytes,
            after,
            records: &mut scan.records,
        };
        match end {
            Some(end) => next_lsn = segment.read_sealed(end)?,
            None => {
                let (next, cut, header_invalid) = segment.read_tail()?;
                next_lsn = next;
                scan.cut = cut;
                scan.tail_header_invalid = header_invalid;
            }
        }
    }
    let last_lsn = Lsn(next_lsn.0.saturating_sub(1));
    if last_lsn < after {
        return Err(WalError::LogEndsBeforeLsn {
            dir: dir.to_path_buf(),
            last_lsn,
            expected_lsn: after,
        });
    }
    scan.last_lsn = last_lsn;
    Ok(scan)
}

struct SegmentScan<'a> {
    path: PathBuf,
    name: &'a SegmentName,
    bytes: &'a [u8],
    after: Lsn,
    records: &'a mut Vec<Record>,
}

impl<'a> SegmentScan<'a> {
    fn check_header(&self) -> Result<(), WalError> {
        let header =
            decode_segment_header(self.bytes).map_err(|source| WalError::CorruptSegmentHeader {
                path: self.path.clone(),
                source,
            })?;
        if header.first_lsn != self.name.first_lsn || header.epoch != self.name.epoch {
            return Err(WalError::SegmentHeaderMismatch {
                path: self.path.clone(),
                header_first_lsn: header.first_lsn,
                header_epoch: header.epoch,
            });
        }
        Ok(())
    }

    /// Validates the frame at `offset` as the record `expected`.
    fn frame_at(&self, offset: usize, expected: Lsn) -> Result<Frame<'a>, RecordFault> {
        let bytes: &'a [u8] = self.bytes;
        let rest = bytes.get(offset..).unwrap_or_default();
        let frame = decode_frame(rest).map_err(RecordFault::Frame)?;
        if frame.lsn != expected {
            return Err(RecordFault::LsnGap { found: frame.lsn });
        }
        if frame.epoch != self.name.epoch {
            return Err(RecordFault::EpochMismatch { found: frame.epoch });
        }
        Ok(frame)
    }

    fn keep(&mut self, frame: &Frame<'_>) {
        if frame.lsn > self.after {
            self.records.push(Record {
                lsn: frame.lsn,
                epoch: frame.epoch,
                payload: frame.payload.to_vec(),
            });
        }
    }

    /// Reads records `first_lsn..end`; anything after them is a fenced holder's and ignored.
    fn read_sealed(&mut self, end: Lsn) -> Result<Lsn, WalError> {
        self.check_header()?;
        let mut offset = SEGMENT_HEADER_LEN;
        let mut expected = self.name.first_lsn;
        while expected < end {
            if offset >= self.bytes.len() {
                return Err(WalError::MissingRecords {
                    path: self.path.clone(),
                    expected_lsn: expected,
                    next_segment_first_lsn: end,
                });
            }
            let frame = match self.frame_at(offset, expected) {
                Ok(frame) => frame,
                Err(fault) => {
                    if let Some((next, lsn)) = self.skip_bad_record(offset, expected, end) {
                        (offset, expected) = (next, lsn);
                        continue;
                    }
                    return Err(WalError::CorruptRecord {
                        path: self.path.clone(),
                        offset: offset as u64,
                        expected_lsn: expected,
                        fault,
                    });
                }
            };
            let frame_len = frame.encoded_len();
            self.keep(&frame);
            offset += frame_len;
            expected = expected.next();
        }
        Ok(expected)
    }

    /// Reads the tail segment up to its first invalid byte. Returns the next LSN, the cut (if
    /// bytes follow the last valid record) and whether the header itself is invalid.
    fn read_tail(&mut self) -> Result<(Lsn, Option<TailCut>, bool), WalError> {
        let first = self.name.first_lsn;
        if let Err(error) = self.check_header() {
            if !matches!(error, WalError::CorruptSegmentHeader { .. }) {
                return Err(error);
            }
            if let Some((evidence_offset, durable_lsn)) = self.durable_evidence(0, first) {
                return Err(WalError::DamagedDurableRecord {
                    path: self.path.clone(),
                    offset: 0,
                    expected_lsn: first,
                    fault: Box::new(error),
                    evidence_offset,
                    evidence_durable_lsn: durable_lsn,
                });
            }
            return Ok((first, Some(self.cut_at(0)), true));
        }
        let mut offset = SEGMENT_HEADER_LEN;
        let mut expected = first;
        while offset < self.bytes.len() {
            match self.frame_at(offset, expected) {
                Ok(frame) => {
                    let frame_len = frame.encoded_len();
                    self.keep(&frame);
                    offset += frame_len;
                    expected = expected.next();
                }
                Err(fault) => {
                    if let Some((next, lsn)) = self.skip_bad_record(offset, expected, Lsn(u64::MAX))
                    {
                        (offset, expected) = (next, lsn);
                        continue;
                    }
                    if let Some((evidence_offset, durable_lsn)) =
                        self.durable_evidence(offset, expected)
                    {
                        return Err(WalError::DamagedDurableRecord {
                            path: self.path.clone(),
                            offset: offset as u64,
                            expected_lsn: expected,
                            fault: Box::new(WalError::CorruptRecord {
                                path: self.path.clone(),
                                offset: offset as u64,
                                expected_lsn: expected,
                                fault,
                            }),
                            evidence_offset,
                            evidence_durable_lsn: durable_lsn,
                        });
                    }
                    if mutant::is_active(Mutant::RecoveryRefusesTornTail) {
                        // Mutant 7 (etcd's "wal: crc mismatch" on a torn last record): any
                        // invalid record is fatal, so the store refuses to open after a power
                        // cut tore the unacknowledged tail, instead of cutting it.
                        return Err(WalError::CorruptRecord {
                            path: self.path.clone(),
                            offset: offset as u64,
                            expected_lsn: expected,
                            fault,
                        });
                    }
                    return Ok((expected, Some(self.cut_at(offset)), false));
                }
            }
        }
        Ok((expected, None, false))
    }

    fn cut_at(&self, offset: usize) -> TailCut {
        TailCut {
            path: self.path.clone(),
            offset: offset as u64,
            discarded_bytes: (self.bytes.len() - offset) as u64,
        }
    }

    /// Only with mutant 6 (RocksDB's "skip any corrupted records" recovery mode): the offset
    /// and LSN of the next valid record of this segment after the invalid one at `offset`
    /// (below `end`), to go on reading from there, leaving a hole where the bad record was.
    /// `None` in correct builds: an invalid record ends what is read.
    fn skip_bad_record(&self, offset: usize, expected: Lsn, end: Lsn) -> Option<(usize, Lsn)> {
        if !mutant::is_active(Mutant::RecoverySkipsBadRecord) {
            return None;
        }
        let rest = self.bytes.get(offset + 1..)?;
        // Each candidate is a distinct magic position: at most one decode per byte.
        let mut position = 0;
        while let Some(skip) = rest
            .get(position..)?
            .windows(RECORD_MAGIC.len())
            .position(|w| w == RECORD_MAGIC)
        {
            position += skip;
            if let Ok(frame) = decode_frame(rest.get(position..)?) {
                if frame.epoch == self.name.epoch && frame.lsn > expected && frame.lsn < end {
                    return Some((offset + 1 + position, frame.lsn));
                }
            }
            position += 1;
        }
        None
    }

    /// Looks at or after `from` for a valid frame of this segment's epoch whose durable LSN
    /// covers `expected`: proof that the record `expected` had been fsynced.
    fn durable_evidence(&self, from: usize, expected: Lsn) -> Option<(u64, Lsn)> {
        let rest = self.bytes.get(from..)?;
        let mut position = 0;
        while position + RECORD_HEADER_LEN <= rest.len() {
            let window = rest.get(position..)?;
            let skip = window
                .windows(RECORD_MAGIC.len())
                .position(|w| w == RECORD_MAGIC)?;
            position += skip;
            if let Ok(frame) = decode_frame(rest.get(position..)?) {
                if frame.epoch == self.name.epoch && frame.durable_lsn >= expected {
                    return Some(((from + position) as u64, frame.durable_lsn));
                }
            }
            position += 1;
        }
        None
    }
}
