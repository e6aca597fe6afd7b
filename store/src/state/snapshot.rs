//! The snapshot payload: the committed key space at a covered LSN, as stored in a snapshot
//! blob (the blob layer adds its own header and checksum). Layout (little-endian; FORMAT.md
//! "Snapshot payload"):
//!
//! ```text
//! offset 0   8 bytes  SNAPSHOT_MAGIC "FLSNAP\0\0"
//! offset 8   u16      SNAPSHOT_FORMAT_VERSION (1)
//! offset 10  u64      covered_lsn: every record with lsn <= covered_lsn is folded in
//! offset 18  u64      entry count
//! offset 26  entries, strictly ascending by key:
//!            u32 key length, key bytes (UTF-8), u64 version, u32 value length, value bytes
//! ```

use thiserror::Error;

use super::{Entry, State};
use crate::mutant::{self, Mutant};
use crate::record::{put_bytes, Reader, RecordDecodeError};

/// Why a snapshot payload cannot be read.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SnapshotDecodeError {
    /// The payload does not start with [`SNAPSHOT_MAGIC`].
    #[error("snapshot magic missing at offset 0")]
    BadMagic,
    /// The snapshot format version is not one this build reads.
    #[error("snapshot format version {found} at offset 8, expected {SNAPSHOT_FORMAT_VERSION}")]
    UnknownVersion { found: u16 },
    /// A field is truncated or malformed.
    #[error("snapshot: {0}")]
    Field(#[from] RecordDecodeError),
    /// Keys must be strictly ascending.
    #[error("snapshot entry at offset {offset} is not in strictly ascending key order")]
    KeysNotAscending { offset: usize },
    /// An entry's version is 0 or above the snapshot's covered LSN.
    #[error("snapshot entry at offset {offset} has version {version} outside 1..={covered_lsn}")]
    VersionOutOfRange {
        offset: usize,
        version: u64,
        covered_lsn: u64,
    },
}

/// First 8 bytes of every snapshot payload.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"FLSNAP\0\0";
/// Version of the snapshot payload encoding.
pub const SNAPSHOT_FORMAT_VERSION: u16 = 1;

impl State {
    /// Encodes the committed key space as a snapshot payload covering `applied_lsn`. An open
    /// batch is not included: a snapshot is taken under the lock, where an open batch can only
    /// be one whose writer died before its commit.
    pub fn encode_snapshot(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(26 + self.entries.len() * 32);
        out.extend_from_slice(&SNAPSHOT_MAGIC);
        out.extend_from_slice(&SNAPSHOT_FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&self.applied_lsn.to_le_bytes());
        out.extend_from_slice(&(self.entries.len() as u64).to_le_bytes());
        for (key, entry) in &self.entries {
            put_bytes(&mut out, key.as_bytes());
            out.extend_from_slice(&entry.version.to_le_bytes());
            put_bytes(&mut out, &entry.value);
        }
        out
    }

    /// Reads a snapshot payload back; never panics on any input.
    pub fn decode_snapshot(payload: &[u8]) -> Result<State, SnapshotDecodeError> {
        let mut reader = Reader {
            bytes: payload,
            offset: 0,
        };
        let magic = reader
            .take(8, "snapshot magic")
            .map_err(|_| SnapshotDecodeError::BadMagic)?;
        if magic != SNAPSHOT_MAGIC {
            return Err(SnapshotDecodeError::BadMagic);
        }
        let mut raw_version = [0u8; 2];
        raw_version.copy_from_slice(reader.take(2, "snapshot format version")?);
        let version = u16::from_le_bytes(raw_version);
        if version != SNAPSHOT_FORMAT_VERSION {
            return Err(SnapshotDecodeError::UnknownVersion { found: version });
        }
        let covered_lsn = reader.u64("covered lsn")?;
        let count = reader.u64("entry count")?;
        let mut state = State {
            applied_lsn: covered_lsn,
            ..State::default()
        };
        for _ in 0..count {
            let offset = reader.offset;
            let key = reader.key()?;
            let version = reader.u64("entry version")?;
            let value = reader.bytes("entry value")?;
            if version == 0 || version > covered_lsn {
                return Err(SnapshotDecodeError::VersionOutOfRange {
                    offset,
                    version,
                    covered_lsn,
                });
            }
            if state
                .entries
                .last_key_value()
                .is_some_and(|(last, _)| *last >= key)
            {
                return Err(SnapshotDecodeError::KeysNotAscending { offset });
            }
            if mutant::is_active(Mutant::VersionFromMemory) {
                // Planted bug 11 (Flame): a key's version is kept in a per-process map (key ->
                // version of its last change, set as this process applies each change) that is
                // never made durable with the values. A process that starts from a snapshot (a
                // restart after a compaction, a reload after a failure, another process catching
                // up past a compaction) has that map empty, so every key it loads from the
                // snapshot starts again at version 1: versions go backwards and are reused.
                // Changes replayed from the log after the snapshot still get their LSNs.
                state.entries.insert(key, Entry { value, version: 1 });
                continue;
            }
            state.entries.insert(key, Entry { value, version });
        }
        reader.finish()?;
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::WalRecord;

    fn put(key: &str, value: &str) -> WalRecord {
        WalRecord::Put {
            key: key.into(),
            value: value.as_bytes().to_vec(),
        }
    }

    #[test]
    fn snapshot_round_trips_and_rejects_bad_input() {
        let mut state = State::new();
        state.apply(3, &put("a", "x")).unwrap();
        state.apply(7, &put("b", "")).unwrap();
        let bytes = state.encode_snapshot();
        let back = State::decode_snapshot(&bytes).unwrap();
        assert_eq!(back.entries(), state.entries());
        assert_eq!(back.applied_lsn(), 7);
        for len in 0..bytes.len() {
            assert!(
                State::decode_snapshot(&bytes[..len]).is_err(),
                "prefix {len} accepted"
            );
        }
        let mut bad = bytes.clone();
        bad[10] = 5; // covered lsn 5 < version 7
        assert!(matches!(
            State::decode_snapshot(&bad),
            Err(SnapshotDecodeError::VersionOutOfRange { version: 7, .. })
        ));
        for at in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0xff;
            let _ = State::decode_snapshot(&flipped);
        }
    }
}
