//! Byte layouts of the WAL: the segment header and the record frame. Mirrors `store/FORMAT.md`
//! ("WAL segment"); every integer is little-endian.
//!
//! Decoding never panics and never trusts a length before checking it against the bytes at
//! hand; every failure is a typed [`FrameError`].

use crate::lock::Epoch;
use crate::wal::Lsn;

/// Current record frame format version.
pub const FORMAT_VERSION: u16 = 1;
/// Current segment header format version (2: the header names `prev_epoch`; version 1 headers
/// are refused).
pub const SEGMENT_FORMAT_VERSION: u16 = 2;

/// Segment header magic, `FLTWALSG`.
pub const SEGMENT_MAGIC: [u8; 8] = *b"FLTWALSG";
/// Segment header: bytes 0..8 magic.
pub const SEGMENT_MAGIC_OFFSET: usize = 0;
/// Segment header: bytes 8..10 format version.
pub const SEGMENT_VERSION_OFFSET: usize = 8;
/// Segment header: bytes 10..12 reserved, zero.
pub const SEGMENT_RESERVED_OFFSET: usize = 10;
/// Segment header: bytes 12..20 LSN of the segment's first record.
pub const SEGMENT_FIRST_LSN_OFFSET: usize = 12;
/// Segment header: bytes 20..28 the writer epoch that owns the segment.
pub const SEGMENT_EPOCH_OFFSET: usize = 20;
/// Segment header: bytes 28..36 the epoch of the segment this one continues (0: none).
pub const SEGMENT_PREV_EPOCH_OFFSET: usize = 28;
/// Segment header: bytes 36..40 CRC32C of bytes 0..36.
pub const SEGMENT_CRC_OFFSET: usize = 36;
/// Length of the segment header; the first record frame starts here.
pub const SEGMENT_HEADER_LEN: usize = 40;

/// Record frame magic, `FLRC`.
pub const RECORD_MAGIC: [u8; 4] = *b"FLRC";
/// Record header: bytes 0..4 magic.
pub const RECORD_MAGIC_OFFSET: usize = 0;
/// Record header: bytes 4..6 format version.
pub const RECORD_VERSION_OFFSET: usize = 4;
/// Record header: bytes 6..8 reserved, zero.
pub const RECORD_RESERVED_OFFSET: usize = 6;
/// Record header: bytes 8..12 payload length in bytes.
pub const RECORD_LEN_OFFSET: usize = 8;
/// Record header: bytes 12..20 the record's LSN.
pub const RECORD_LSN_OFFSET: usize = 12;
/// Record header: bytes 20..28 the writer epoch that wrote it.
pub const RECORD_EPOCH_OFFSET: usize = 20;
/// Record header: bytes 28..36 the writer's durable LSN when it framed the record: every record
/// with an LSN at or below it had been fsynced (and may have been acknowledged) before this
/// record was written. Recovery uses it to tell a torn tail from a damaged acknowledged record.
pub const RECORD_DURABLE_LSN_OFFSET: usize = 28;
/// Record header: bytes 36..40 CRC32C of header bytes 0..36 followed by the payload.
pub const RECORD_CRC_OFFSET: usize = 36;
/// Length of the record header; the payload follows it.
pub const RECORD_HEADER_LEN: usize = 40;
/// Largest payload a record may carry (64 MiB). A larger length field is corruption.
pub const MAX_PAYLOAD_BYTES: usize = 64 << 20;

/// Why bytes are not a valid segment header or record frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Fewer bytes remain than the header or the payload needs (a torn or truncated write).
    #[error("truncated: needs {needed} bytes, {available} available")]
    Truncated {
        /// Bytes needed from the frame's start.
        needed: usize,
        /// Bytes available from the frame's start.
        available: usize,
    },
    /// The magic bytes are wrong (not a frame, zeroed or overwritten bytes).
    #[error("bad magic {found:02x?}")]
    BadMagic {
        /// The bytes found where the magic belongs.
        found: Vec<u8>,
    },
    /// A format version this build does not read.
    #[error("unsupported format version {found} (this build reads {expected})")]
    UnsupportedVersion {
        /// The version found.
        found: u16,
        /// The version this build reads there.
        expected: u16,
    },
    /// Reserved bytes are not zero.
    #[error("reserved bytes are not zero")]
    ReservedNotZero,
    /// The payload length exceeds [`MAX_PAYLOAD_BYTES`].
    #[error("payload length {len} exceeds the maximum {MAX_PAYLOAD_BYTES}")]
    PayloadTooLarge {
        /// The length field.
        len: u64,
    },
    /// The stored CRC32C does not match the bytes (bit flip, torn or misplaced write).
    #[error("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    ChecksumMismatch {
        /// The CRC stored in the frame.
        stored: u32,
        /// The CRC of the bytes read.
        computed: u32,
    },
}

/// A decoded segment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// LSN of the segment's first record.
    pub first_lsn: Lsn,
    /// The epoch of the writer that created the segment.
    pub epoch: Epoch,
    /// The epoch of the segment whose records this one continues: the segment its writer
    /// fenced and read (another epoch) or rotated from (its own). `Epoch(0)`: none.
    pub prev_epoch: Epoch,
}

/// A decoded record frame borrowing its payload from the segment bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The record's LSN.
    pub lsn: Lsn,
    /// The epoch of the writer that wrote it.
    pub epoch: Epoch,
    /// The writer's durable LSN when the record was framed.
    pub durable_lsn: Lsn,
    /// The payload bytes.
    pub payload: &'a [u8],
}

impl Frame<'_> {
    /// Total length on disk: header plus payload.
    pub fn encoded_len(&self) -> usize {
        RECORD_HEADER_LEN + self.payload.len()
    }
}

fn u16_at(bytes: &[u8], offset: usize) -> u16 {
    let mut raw = [0u8; 2];
    raw.copy_from_slice(&bytes[offset..offset + 2]);
    u16::from_le_bytes(raw)
}

fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    let mut raw = [0u8; 4];
    raw.copy_from_slice(&bytes[offset..offset + 4]);
    u32::from_le_bytes(raw)
}

fn u64_at(bytes: &[u8], offset: usize) -> u64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&bytes[offset..offset + 8]);
    u64::from_le_bytes(raw)
}

/// Encodes a segment header.
pub fn encode_segment_header(header: SegmentHeader) -> [u8; SEGMENT_HEADER_LEN] {
    let mut out = [0u8; SEGMENT_HEADER_LEN];
    out[SEGMENT_MAGIC_OFFSET..SEGMENT_MAGIC_OFFSET + 8].copy_from_slice(&SEGMENT_MAGIC);
    out[SEGMENT_VERSION_OFFSET..SEGMENT_VERSION_OFFSET + 2]
        .copy_from_slice(&SEGMENT_FORMAT_VERSION.to_le_bytes());
    out[SEGMENT_FIRST_LSN_OFFSET..SEGMENT_FIRST_LSN_OFFSET + 8]
        .copy_from_slice(&header.first_lsn.0.to_le_bytes());
    out[SEGMENT_EPOCH_OFFSET..SEGMENT_EPOCH_OFFSET + 8]
        .copy_from_slice(&header.epoch.0.to_le_bytes());
    out[SEGMENT_PREV_EPOCH_OFFSET..SEGMENT_PREV_EPOCH_OFFSET + 8]
        .copy_from_slice(&header.prev_epoch.0.to_le_bytes());
    let crc = crc32c::crc32c(&out[..SEGMENT_CRC_OFFSET]);
    out[SEGMENT_CRC_OFFSET..SEGMENT_HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes the segment header at the start of `bytes`.
pub fn decode_segment_header(bytes: &[u8]) -> Result<SegmentHeader, FrameError> {
    let Some(header) = bytes.get(..SEGMENT_HEADER_LEN) else {
        return Err(FrameError::Truncated {
            needed: SEGMENT_HEADER_LEN,
            available: bytes.len(),
        });
    };
    if header[..8] != SEGMENT_MAGIC {
        return Err(FrameError::BadMagic {
            found: header[..8].to_vec(),
        });
    }
    let stored = u32_at(header, SEGMENT_CRC_OFFSET);
    let computed = crc32c::crc32c(&header[..SEGMENT_CRC_OFFSET]);
    if stored != computed {
        return Err(FrameError::ChecksumMismatch { stored, computed });
    }
    let version = u16_at(header, SEGMENT_VERSION_OFFSET);
    if version != SEGMENT_FORMAT_VERSION {
        return Err(FrameError::UnsupportedVersion {
            found: version,
            expected: SEGMENT_FORMAT_VERSION,
        });
    }
    if u16_at(header, SEGMENT_RESERVED_OFFSET) != 0 {
        return Err(FrameError::ReservedNotZero);
    }
    Ok(SegmentHeader {
        first_lsn: Lsn(u64_at(header, SEGMENT_FIRST_LSN_OFFSET)),
        epoch: Epoch(u64_at(header, SEGMENT_EPOCH_OFFSET)),
        prev_epoch: Epoch(u64_at(header, SEGMENT_PREV_EPOCH_OFFSET)),
    })
}

/// Appends the encoded frame to `out`. The payload must not exceed [`MAX_PAYLOAD_BYTES`]
/// (checked by the caller; asserted here).
pub fn encode_frame(frame: &Frame<'_>, out: &mut Vec<u8>) {
    debug_assert!(frame.payload.len() <= MAX_PAYLOAD_BYTES);
    let start = out.len();
    out.extend_from_slice(&RECORD_MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(frame.payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&frame.lsn.0.to_le_bytes());
    out.extend_from_slice(&frame.epoch.0.to_le_bytes());
    out.extend_from_slice(&frame.durable_lsn.0.to_le_bytes());
    let crc = crc32c::crc32c(&out[start..start + RECORD_CRC_OFFSET]);
    let crc = crc32c::crc32c_append(crc, frame.payload);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(frame.payload);
    debug_assert_eq!(out.len() - start, frame.encoded_len());
}

/// Decodes the record frame at the start of `bytes` (which may hold more after it).
pub fn decode_frame(bytes: &[u8]) -> Result<Frame<'_>, FrameError> {
    let Some(header) = bytes.get(..RECORD_HEADER_LEN) else {
        return Err(FrameError::Truncated {
            needed: RECORD_HEADER_LEN,
            available: bytes.len(),
        });
    };
    if header[..4] != RECORD_MAGIC {
        return Err(FrameError::BadMagic {
            found: header[..4].to_vec(),
        });
    }
    let len = u32_at(header, RECORD_LEN_OFFSET) as usize;
    if len > MAX_PAYLOAD_BYTES {
        return Err(FrameError::PayloadTooLarge { len: len as u64 });
    }
    let Some(payload) = bytes.get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + len) else {
        return Err(FrameError::Truncated {
            needed: RECORD_HEADER_LEN + len,
            available: bytes.len(),
        });
    };
    let stored = u32_at(header, RECORD_CRC_OFFSET);
    let computed = crc32c::crc32c_append(crc32c::crc32c(&header[..RECORD_CRC_OFFSET]), payload);
    if stored != computed {
        return Err(FrameError::ChecksumMismatch { stored, computed });
    }
    let version = u16_at(header, RECORD_VERSION_OFFSET);
    if version != FORMAT_VERSION {
        return Err(FrameError::UnsupportedVersion {
            found: version,
            expected: FORMAT_VERSION,
        });
    }
    if u16_at(header, RECORD_RESERVED_OFFSET) != 0 {
        return Err(FrameError::ReservedNotZero);
    }
    Ok(Frame {
        lsn: Lsn(u64_at(header, RECORD_LSN_OFFSET)),
        epoch: Epoch(u64_at(header, RECORD_EPOCH_OFFSET)),
        durable_lsn: Lsn(u64_at(header, RECORD_DURABLE_LSN_OFFSET)),
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut out = Vec::new();
        let frame = Frame {
            lsn: Lsn(7),
            epoch: Epoch(3),
            durable_lsn: Lsn(5),
            payload: b"hello",
        };
        encode_frame(&frame, &mut out);
        out
    }

    #[test]
    fn frame_round_trips() {
        let bytes = sample();
        let frame = decode_frame(&bytes).unwrap();
        assert_eq!(
            (frame.lsn, frame.epoch, frame.durable_lsn),
            (Lsn(7), Epoch(3), Lsn(5))
        );
        assert_eq!(frame.payload, b"hello");
        assert_eq!(frame.encoded_len(), bytes.len());
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let bytes = sample();
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(decode_frame(&flipped).is_err(), "bit {bit} undetected");
        }
    }

    #[test]
    fn every_truncation_is_detected() {
        let bytes = sample();
        for len in 0..bytes.len() {
            assert!(matches!(
                decode_frame(&bytes[..len]),
                Err(FrameError::Truncated { .. } | FrameError::BadMagic { .. })
            ));
        }
    }

    proptest::proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = decode_frame(&bytes);
            let _ = decode_segment_header(&bytes);
        }

        #[test]
        fn a_damaged_frame_is_rejected_or_unchanged(
            position in 0usize..48,
            value in proptest::prelude::any::<u8>(),
            keep in 0usize..48,
        ) {
            let mut bytes = sample();
            let position = position % bytes.len();
            bytes[position] = value;
            bytes.truncate(keep.max(position + 1));
            if let Ok(frame) = decode_frame(&bytes) {
                let original = sample();
                proptest::prop_assert_eq!(frame, decode_frame(&original).unwrap());
            }
        }
    }

    #[test]
    fn segment_header_round_trips_and_detects_flips() {
        let header = SegmentHeader {
            first_lsn: Lsn(42),
            epoch: Epoch(9),
            prev_epoch: Epoch(7),
        };
        let bytes = encode_segment_header(header);
        assert_eq!(decode_segment_header(&bytes), Ok(header));
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes;
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(decode_segment_header(&flipped).is_err());
        }
        // A version 1 header (no prev_epoch) is refused by name.
        let mut old = bytes;
        old[SEGMENT_VERSION_OFFSET..SEGMENT_VERSION_OFFSET + 2]
            .copy_from_slice(&1u16.to_le_bytes());
        let crc = crc32c::crc32c(&old[..SEGMENT_CRC_OFFSET]);
        old[SEGMENT_CRC_OFFSET..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(
            decode_segment_header(&old),
            Err(FrameError::UnsupportedVersion {
                found: 1,
                expected: SEGMENT_FORMAT_VERSION
            })
        );
    }
}
