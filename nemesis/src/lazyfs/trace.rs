//! The operation trace: every successful mutation and sync the mount served, as JSON lines
//! in a file outside the faulted tree (it survives the crash). [`crate::lazyfs::explore_trace`]
//! replays a trace to enumerate its crash states.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use super::ops::{Ino, NodeKind};
use super::LazyFsError;

/// One traced operation. Inode numbers are the mount's; `Start` names the inodes that
/// existed when recording began.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum TraceEvent {
    /// Recording began. `inodes`: live path and inode of every node; `pending_ops`: how many
    /// operations were pending then (a trace is replayable only from a synced state).
    Start {
        /// Live path to inode number.
        inodes: Vec<(String, Ino)>,
        /// Operations pending at the start.
        pending_ops: usize,
    },
    /// A file or directory was created.
    Create {
        /// Parent directory.
        parent: Ino,
        /// New name.
        name: String,
        /// New inode.
        ino: Ino,
        /// File or directory.
        kind: NodeKind,
    },
    /// Data was written (hex-encoded).
    Write {
        /// The file.
        ino: Ino,
        /// Offset.
        offset: u64,
        /// The bytes, as lower-case hex.
        data_hex: String,
    },
    /// A file's length was set.
    Truncate {
        /// The file.
        ino: Ino,
        /// New length.
        len: u64,
    },
    /// A name was removed.
    Remove {
        /// Parent directory.
        parent: Ino,
        /// Removed name.
        name: String,
        /// What it named.
        kind: NodeKind,
    },
    /// A name was moved.
    Rename {
        /// Source directory.
        from_parent: Ino,
        /// Source name.
        from_name: String,
        /// Target directory.
        to_parent: Ino,
        /// Target name.
        to_name: String,
    },
    /// A file or directory was fsynced successfully.
    Fsync {
        /// The inode.
        ino: Ino,
    },
    /// An fsync failed with an injected EIO (its pending writes were dropped).
    FsyncFailed {
        /// The inode.
        ino: Ino,
    },
    /// A label set through the control interface (e.g. "acknowledged put 17").
    Mark {
        /// The label.
        label: String,
    },
}

/// Appends trace events to a file, one JSON object per line, each written at once.
#[derive(Debug)]
pub struct TraceRecorder {
    path: PathBuf,
    file: File,
}

impl TraceRecorder {
    /// Create (truncate) the trace file.
    pub fn create(path: &Path) -> Result<Self, LazyFsError> {
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)
            .map_err(|source| LazyFsError::LogFile {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    /// The trace file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one event.
    pub fn record(&mut self, event: &TraceEvent) -> Result<(), LazyFsError> {
        let mut line = serde_json::to_string(event).unwrap_or_default();
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .map_err(|source| LazyFsError::LogFile {
                path: self.path.clone(),
                source,
            })
    }
}

/// Read a trace file written by [`TraceRecorder`].
pub fn load_trace(path: &Path) -> Result<Vec<TraceEvent>, LazyFsError> {
    let file = File::open(path).map_err(|source| LazyFsError::LogFile {
        path: path.to_path_buf(),
        source,
    })?;
    let mut events = Vec::new();
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| LazyFsError::LogFile {
            path: path.to_path_buf(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let event = serde_json::from_str(&line).map_err(|error| LazyFsError::TraceParse {
            path: path.to_path_buf(),
            line: index + 1,
            reason: error.to_string(),
        })?;
        events.push(event);
    }
    Ok(events)
}

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Bytes of a hex string, or `None` if it is not an even run of hex digits.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(text.get(index..index + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_junk() {
        assert_eq!(
            from_hex(&to_hex(b"\x00\xffab")),
            Some(b"\x00\xffab".to_vec())
        );
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
    }

    #[test]
    fn a_malformed_line_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("trace.jsonl");
        let mut recorder = TraceRecorder::create(&path).expect("create");
        recorder
            .record(&TraceEvent::Fsync { ino: 1 })
            .expect("record");
        std::fs::write(&path, "{\"op\":\"fsync\",\"ino\":1}\nnot json\n").expect("write");
        let error = load_trace(&path).expect_err("line 2 is junk");
        assert!(error.to_string().contains("line 2"), "{error}");
    }
}
