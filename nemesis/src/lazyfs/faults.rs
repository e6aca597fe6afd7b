//! Injected faults aimed at path patterns, and the fault log that survives the crash.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::{LazyFsError, PathPattern};

/// A kind of injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// fsync returns `EIO`; the file's pending writes are marked clean and lost at the next
    /// power cut (Linux ext4); the next fsync succeeds.
    FsyncEio,
    /// Writes (and creates) return `ENOSPC`.
    WriteEnospc,
    /// A read returns one sector of its range with one bit flipped (the disk keeps the data).
    ReadBitflip,
    /// A write is acknowledged and shown to readers but reaches the disk at another
    /// sector-aligned offset of the file (visible after the next power cut).
    MisdirectedWrite,
}

impl FaultKind {
    /// The name used by the control protocol and the fault log.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::FsyncEio => "fsync-eio",
            FaultKind::WriteEnospc => "enospc",
            FaultKind::ReadBitflip => "bitflip",
            FaultKind::MisdirectedWrite => "misdirect",
        }
    }
}

impl FromStr for FaultKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [
            FaultKind::FsyncEio,
            FaultKind::WriteEnospc,
            FaultKind::ReadBitflip,
            FaultKind::MisdirectedWrite,
        ]
        .into_iter()
        .find(|kind| kind.name() == text)
        .ok_or_else(|| {
            format!("unknown fault {text:?} (expected fsync-eio, enospc, bitflip or misdirect)")
        })
    }
}

/// One armed fault: a kind, the paths it hits, and how many more times it fires
/// (`None`: until healed).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Fault {
    /// What happens.
    pub kind: FaultKind,
    /// Which paths (relative to the mount point) it hits.
    pub pattern: PathPattern,
    /// Firings left; `None` fires until healed.
    pub remaining: Option<u64>,
}

/// The armed faults and the randomness they draw on (which bit, which offset).
#[derive(Debug)]
pub struct FaultSet {
    faults: Vec<Fault>,
    pub(crate) rng: StdRng,
}

impl FaultSet {
    /// No faults armed.
    pub fn new(seed: u64) -> Self {
        Self {
            faults: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// Arm a fault.
    pub fn inject(&mut self, fault: Fault) {
        self.faults.push(fault);
    }

    /// Disarm every fault.
    pub fn heal(&mut self) {
        self.faults.clear();
    }

    /// The armed faults.
    pub fn armed(&self) -> &[Fault] {
        &self.faults
    }

    /// Whether a fault of `kind` hits `path` now; counts the firing.
    pub fn fire(&mut self, kind: FaultKind, path: &str) -> bool {
        let Some(index) = self
            .faults
            .iter()
            .position(|f| f.kind == kind && f.pattern.matches(path))
        else {
            return false;
        };
        let fault = &mut self.faults[index];
        if let Some(remaining) = fault.remaining.as_mut() {
            *remaining = remaining.saturating_sub(1);
            if *remaining == 0 {
                self.faults.remove(index);
            }
        }
        true
    }
}

/// One line of the fault log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FaultLogEntry {
    /// Wall-clock time, milliseconds since the Unix epoch.
    pub unix_ms: u64,
    /// What happened: a fault name, `power-cut`, `heal`, `inject`, `cache-full`, `backing-error`.
    pub event: String,
    /// The path it hit, if any.
    pub path: Option<String>,
    /// Details (the crash report for a power cut).
    pub detail: String,
}

/// Most entries kept in memory; older ones are only in the file.
pub const FAULT_LOG_MEMORY_ENTRIES: usize = 10_000;

/// The fault log: JSON lines appended to a file outside the faulted tree, the latest
/// [`FAULT_LOG_MEMORY_ENTRIES`] also kept in memory.
#[derive(Debug)]
pub struct FaultLog {
    file: Option<(PathBuf, File)>,
    entries: VecDeque<FaultLogEntry>,
}

impl FaultLog {
    /// A log appending to `path` (created if missing), or in memory only.
    pub fn open(path: Option<&Path>) -> Result<Self, LazyFsError> {
        let file = match path {
            None => None,
            Some(path) => {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| LazyFsError::LogFile {
                        path: path.to_path_buf(),
                        source,
                    })?;
                Some((path.to_path_buf(), file))
            }
        };
        Ok(Self {
            file,
            entries: VecDeque::new(),
        })
    }

    /// Record an event. A failure to write the file is reported on stderr, not to the
    /// filesystem caller (the fault already happened).
    pub fn record(&mut self, event: &str, path: Option<&str>, detail: String) {
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let entry = FaultLogEntry {
            unix_ms,
            event: event.to_owned(),
            path: path.map(str::to_owned),
            detail,
        };
        if let Some((path, file)) = self.file.as_mut() {
            let mut line = serde_json::to_string(&entry).unwrap_or_default();
            line.push('\n');
            if let Err(error) = file.write_all(line.as_bytes()) {
                eprintln!("faultline lazyfs: fault log {}: {error}", path.display());
            }
        }
        if self.entries.len() == FAULT_LOG_MEMORY_ENTRIES {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// The entries kept in memory, oldest first.
    pub fn entries(&self) -> Vec<FaultLogEntry> {
        self.entries.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counted_fault_fires_then_disarms() {
        let mut faults = FaultSet::new(0);
        let pattern = PathPattern::new("wal/*").expect("pattern");
        faults.inject(Fault {
            kind: FaultKind::FsyncEio,
            pattern,
            remaining: Some(1),
        });
        assert!(!faults.fire(FaultKind::FsyncEio, "MANIFEST"));
        assert!(!faults.fire(FaultKind::WriteEnospc, "wal/1"));
        assert!(faults.fire(FaultKind::FsyncEio, "wal/1"));
        assert!(!faults.fire(FaultKind::FsyncEio, "wal/1"));
    }

    #[test]
    fn the_log_file_gets_one_json_line_per_event() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("faults.jsonl");
        let mut log = FaultLog::open(Some(&path)).expect("open");
        log.record("fsync-eio", Some("wal/1"), "2 writes lost".into());
        log.record("heal", None, String::new());
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.lines().count(), 2);
        assert!(text.contains("\"event\":\"fsync-eio\""));
        assert_eq!(log.entries().len(), 2);
    }
}
