//! The knobs: [`CrashPolicy`] (named probabilities of what a power cut does to pending
//! operations) and [`LazyFsOptions`] (what to mount where, bounds, log files).

use std::path::{Path, PathBuf};

use super::LazyFsError;

/// How a seeded power cut treats each pending (unsynced) operation. Every probability is in
/// `[0, 1]`; out-of-range values are clamped. The default is a harsh but plausible disk.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CrashPolicy {
    /// Probability that a pending write reached the disk whole.
    pub write_kept_probability: f64,
    /// Probability that a pending write (of at least two sectors) is torn: only a run of its
    /// sectors at one end reached the disk. The rest of the time (1 - kept - torn) it is lost.
    pub write_torn_probability: f64,
    /// Given a torn write, probability that the sectors it did not persist hold zeros.
    pub torn_zeros_probability: f64,
    /// Given a torn write, probability that the sectors it did not persist hold garbage.
    /// The rest of the time they keep their old content.
    pub torn_garbage_probability: f64,
    /// Given a torn write, probability that it tears at 4 KiB rather than 512 B sectors.
    pub torn_4k_probability: f64,
    /// Probability that a pending truncate (set_len) reached the disk.
    pub truncate_kept_probability: f64,
    /// Probability that the kept file operations of the cut reached the disk out of issue
    /// order (one shuffled order for the whole cut), so an older write can land over a newer.
    pub reorder_probability: f64,
    /// Probability that a pending directory operation (create, mkdir, rename, unlink, rmdir)
    /// is lost; the kept ones are applied in issue order.
    pub dir_op_lost_probability: f64,
}

impl Default for CrashPolicy {
    fn default() -> Self {
        Self {
            write_kept_probability: 0.4,
            write_torn_probability: 0.2,
            torn_zeros_probability: 0.25,
            torn_garbage_probability: 0.25,
            torn_4k_probability: 0.5,
            truncate_kept_probability: 0.5,
            reorder_probability: 0.2,
            dir_op_lost_probability: 0.5,
        }
    }
}

impl CrashPolicy {
    /// Every pending operation is lost: the disk holds exactly what was synced.
    pub fn lose_everything() -> Self {
        Self {
            write_kept_probability: 0.0,
            write_torn_probability: 0.0,
            truncate_kept_probability: 0.0,
            reorder_probability: 0.0,
            dir_op_lost_probability: 1.0,
            ..Self::default()
        }
    }
}

/// Where and how to mount a lazy filesystem.
#[derive(Debug, Clone)]
pub struct LazyFsOptions {
    /// The directory that holds the durable image (created if missing).
    pub backing_dir: PathBuf,
    /// The empty directory to mount on (created if missing).
    pub mount_point: PathBuf,
    /// What a power cut does to pending operations.
    pub crash_policy: CrashPolicy,
    /// Bound on the bytes held in memory (durable image, cached data and pending writes).
    /// A write past it fails with `ENOSPC` and a `cache-full` line in the fault log.
    pub cache_limit_bytes: u64,
    /// Seed of the fault decisions that need randomness (which bit flips, where a misdirected
    /// write lands), and of a power cut asked for without a seed (seed + earlier cuts).
    pub fault_seed: u64,
    /// JSON-lines fault log (faults fired, power cuts). Must lie outside the mount and the
    /// backing directory so that it survives the crash. `None`: kept in memory only.
    pub fault_log: Option<PathBuf>,
    /// Record the operation trace from the start into this JSON-lines file (outside the tree).
    pub trace_file: Option<PathBuf>,
    /// Also fsync the backing files and directories when the mount makes something durable,
    /// so that the durable image survives a real crash of the host (slower). Off by default:
    /// the simulated power cut needs no real sync.
    pub sync_backing: bool,
    /// Worker threads serving FUSE requests.
    pub threads: usize,
}

impl LazyFsOptions {
    /// Options with the defaults: default crash policy, 1 GiB cache, 2 threads, no log files.
    pub fn new(backing_dir: impl Into<PathBuf>, mount_point: impl Into<PathBuf>) -> Self {
        Self {
            backing_dir: backing_dir.into(),
            mount_point: mount_point.into(),
            crash_policy: CrashPolicy::default(),
            cache_limit_bytes: 1 << 30,
            fault_seed: 0,
            fault_log: None,
            trace_file: None,
            sync_backing: false,
            threads: 2,
        }
    }
}

/// Refuse a log or trace file inside one of `roots` (the mount point, the backing
/// directory): it would not survive the crash, and writing it into the mount from inside a
/// request would deadlock.
pub(crate) fn ensure_outside(path: &Path, roots: &[PathBuf]) -> Result<(), LazyFsError> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let resolved = parent
        .canonicalize()
        .map_err(|source| LazyFsError::LogFile {
            path: path.to_path_buf(),
            source,
        })?;
    match roots.iter().find(|root| resolved.starts_with(root)) {
        Some(root) => Err(LazyFsError::InsideTree {
            path: path.to_path_buf(),
            root: root.clone(),
        }),
        None => Ok(()),
    }
}
