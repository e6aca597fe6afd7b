//! The operations the disk model keeps pending until a sync, and how one lands on a disk
//! image: whole, torn at sector granularity, or at a misdirected offset.

use std::collections::{BTreeMap, HashMap};

/// An inode number. [`ROOT_INO`] is the root directory; numbers are never reused within one
/// mount, not even across power cuts.
pub type Ino = u64;

/// The root directory's inode number.
pub const ROOT_INO: Ino = 1;

/// Directory contents by directory inode: name to inode.
pub(crate) type Entries = HashMap<Ino, BTreeMap<String, Ino>>;

/// What an inode is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
}

/// One operation that changed the live view and is not yet durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Data written to a file; durable at the file's fsync. `misdirect_to` is set when an
    /// injected fault makes the disk store it at another offset.
    Write {
        /// The file.
        ino: Ino,
        /// Where the writer put it.
        offset: u64,
        /// The bytes.
        data: Vec<u8>,
        /// Where the disk will actually put it (a misdirected-write fault).
        misdirect_to: Option<u64>,
    },
    /// A file's length set (`ftruncate`, `set_len`); durable at the file's fsync.
    Truncate {
        /// The file.
        ino: Ino,
        /// The new length.
        len: u64,
    },
    /// A name created for a new file or directory; durable at the directory's fsync.
    Link {
        /// The directory.
        dir: Ino,
        /// The new name.
        name: String,
        /// The new inode.
        ino: Ino,
    },
    /// A name removed (unlink, rmdir); durable at the directory's fsync.
    Unlink {
        /// The directory.
        dir: Ino,
        /// The removed name.
        name: String,
    },
    /// A name moved, replacing any target; atomic, durable at the fsync of either directory.
    Rename {
        /// Source directory.
        from_dir: Ino,
        /// Source name.
        from_name: String,
        /// Target directory.
        to_dir: Ino,
        /// Target name.
        to_name: String,
        /// The inode moved.
        ino: Ino,
    },
}

impl Op {
    /// The file whose data this operation changes, for file operations.
    pub fn file_ino(&self) -> Option<Ino> {
        match self {
            Op::Write { ino, .. } | Op::Truncate { ino, .. } => Some(*ino),
            _ => None,
        }
    }

    /// Whether this is a directory (namespace) operation.
    pub fn is_dir_op(&self) -> bool {
        self.file_ino().is_none()
    }

    /// Whether a directory operation changes directory `dir`.
    pub fn touches_dir(&self, dir: Ino) -> bool {
        match self {
            Op::Link { dir: d, .. } | Op::Unlink { dir: d, .. } => *d == dir,
            Op::Rename {
                from_dir, to_dir, ..
            } => *from_dir == dir || *to_dir == dir,
            Op::Write { .. } | Op::Truncate { .. } => false,
        }
    }

    /// Bytes of data this operation holds in memory.
    pub fn held_bytes(&self) -> u64 {
        match self {
            Op::Write { data, .. } => data.len() as u64,
            _ => 0,
        }
    }

    /// A short human description, e.g. `write ino 7 [0, 4096)`.
    pub fn describe(&self) -> String {
        match self {
            Op::Write {
                ino, offset, data, ..
            } => {
                format!("write ino {ino} [{offset}, {})", offset + data.len() as u64)
            }
            Op::Truncate { ino, len } => format!("truncate ino {ino} to {len}"),
            Op::Link { dir, name, ino } => format!("link {name:?} in dir {dir} to ino {ino}"),
            Op::Unlink { dir, name } => format!("unlink {name:?} in dir {dir}"),
            Op::Rename {
                from_dir,
                from_name,
                to_dir,
                to_name,
                ..
            } => {
                format!("rename {from_name:?} in dir {from_dir} to {to_name:?} in dir {to_dir}")
            }
        }
    }
}

/// A pending operation with its issue sequence number (strictly increasing per mount).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingOp {
    /// Issue order.
    pub seq: u64,
    /// The operation.
    pub op: Op,
}

/// What the sectors of a torn write that did not persist hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TornFill {
    /// Their old content (the write never reached them).
    Old,
    /// Zeros.
    Zeros,
    /// Pseudo-random bytes from this seed.
    Garbage(u64),
}

/// Which end of a torn write persisted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TornSide {
    /// The first sectors persisted.
    Head,
    /// The last sectors persisted.
    Tail,
}

/// How a write was torn. Sectors are aligned to absolute file offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TornWrite {
    /// Sector size: 512 or 4096.
    pub sector_bytes: u64,
    /// How many sectors of the write persisted (fewer than it spans).
    pub persisted_sectors: usize,
    /// Which end persisted.
    pub side: TornSide,
    /// What the rest holds.
    pub fill: TornFill,
}

/// The sector-aligned pieces `[start, end)` that a write of `len` bytes at `offset` spans.
pub fn sector_chunks(offset: u64, len: u64, sector_bytes: u64) -> Vec<(u64, u64)> {
    debug_assert!(sector_bytes > 0);
    let end = offset + len;
    let mut chunks = Vec::new();
    let mut start = offset;
    while start < end {
        let boundary = (start / sector_bytes + 1) * sector_bytes;
        let stop = boundary.min(end);
        chunks.push((start, stop));
        start = stop;
    }
    chunks
}

/// Write `data` at `offset`, growing `content` with zeros as needed.
pub fn write_at(content: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let (Ok(start), Some(end)) = (
        usize::try_from(offset),
        (offset as usize).checked_add(data.len()),
    ) else {
        return;
    };
    if content.len() < end {
        content.resize(end, 0);
    }
    content[start..end].copy_from_slice(data);
}

/// Apply a torn version of the write of `data` at `offset`.
pub fn write_torn(content: &mut Vec<u8>, offset: u64, data: &[u8], torn: &TornWrite) {
    let chunks = sector_chunks(offset, data.len() as u64, torn.sector_bytes);
    let persisted = torn.persisted_sectors.min(chunks.len());
    for (index, &(start, end)) in chunks.iter().enumerate() {
        let is_persisted = match torn.side {
            TornSide::Head => index < persisted,
            TornSide::Tail => index >= chunks.len() - persisted,
        };
        let piece = &data[(start - offset) as usize..(end - offset) as usize];
        if is_persisted {
            write_at(content, start, piece);
            continue;
        }
        match torn.fill {
            TornFill::Old => {}
            TornFill::Zeros => write_at(content, start, &vec![0; piece.len()]),
            TornFill::Garbage(seed) => {
                write_at(content, start, &garbage(seed ^ start, piece.len()))
            }
        }
    }
}

/// Apply a file operation whole to `content` (a misdirected write lands at its wrong offset).
pub fn apply_file_op(content: &mut Vec<u8>, op: &Op) {
    match op {
        Op::Write {
            offset,
            data,
            misdirect_to,
            ..
        } => write_at(content, misdirect_to.unwrap_or(*offset), data),
        Op::Truncate { len, .. } => content.resize(usize::try_from(*len).unwrap_or(usize::MAX), 0),
        _ => debug_assert!(false, "not a file operation: {op:?}"),
    }
}

/// Apply a directory operation to a namespace.
pub(crate) fn apply_dir_op(entries: &mut Entries, op: &Op) {
    match op {
        Op::Link { dir, name, ino } => {
            entries.entry(*dir).or_default().insert(name.clone(), *ino);
        }
        Op::Unlink { dir, name } => {
            entries.entry(*dir).or_default().remove(name);
        }
        Op::Rename {
            from_dir,
            from_name,
            to_dir,
            to_name,
            ino,
        } => {
            entries.entry(*from_dir).or_default().remove(from_name);
            entries
                .entry(*to_dir)
                .or_default()
                .insert(to_name.clone(), *ino);
        }
        Op::Write { .. } | Op::Truncate { .. } => debug_assert!(false, "not a directory operation"),
    }
}

/// Deterministic pseudo-random bytes (splitmix64).
pub fn garbage(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        bytes.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_follow_absolute_sector_boundaries() {
        assert_eq!(
            sector_chunks(100, 1000, 512),
            vec![(100, 512), (512, 1024), (1024, 1100)]
        );
        assert_eq!(sector_chunks(0, 512, 512), vec![(0, 512)]);
        assert!(sector_chunks(7, 0, 512).is_empty());
    }

    #[test]
    fn torn_head_keeps_first_sectors_and_old_tail() {
        let mut content = vec![b'o'; 2048];
        let torn = TornWrite {
            sector_bytes: 512,
            persisted_sectors: 1,
            side: TornSide::Head,
            fill: TornFill::Old,
        };
        write_torn(&mut content, 0, &[b'n'; 2048], &torn);
        assert!(content[..512].iter().all(|&b| b == b'n'));
        assert!(content[512..].iter().all(|&b| b == b'o'));
    }

    #[test]
    fn torn_tail_with_zeros_fills_the_head() {
        let mut content = vec![b'o'; 1024];
        let torn = TornWrite {
            sector_bytes: 512,
            persisted_sectors: 1,
            side: TornSide::Tail,
            fill: TornFill::Zeros,
        };
        write_torn(&mut content, 0, &[b'n'; 1024], &torn);
        assert!(content[..512].iter().all(|&b| b == 0));
        assert!(content[512..].iter().all(|&b| b == b'n'));
    }

    #[test]
    fn torn_garbage_is_neither_old_nor_new() {
        let mut content = vec![b'o'; 1024];
        let torn = TornWrite {
            sector_bytes: 512,
            persisted_sectors: 1,
            side: TornSide::Head,
            fill: TornFill::Garbage(9),
        };
        write_torn(&mut content, 0, &[b'n'; 1024], &torn);
        assert_ne!(&content[512..], &[b'o'; 512][..]);
        assert_ne!(&content[512..], &[b'n'; 512][..]);
    }

    #[test]
    fn misdirected_write_lands_elsewhere() {
        let mut content = vec![0; 8];
        let op = Op::Write {
            ino: 2,
            offset: 0,
            data: vec![1, 2],
            misdirect_to: Some(4),
        };
        apply_file_op(&mut content, &op);
        assert_eq!(content, vec![0, 0, 0, 0, 1, 2, 0, 0]);
    }
}
