//! Errors of the lazy filesystem: [`LazyFsError`] for the library API, [`FsError`] for one
//! filesystem operation (it maps to the errno a FUSE callback replies with).

use std::io;
use std::path::PathBuf;

/// An error of the lazy filesystem's library API (mounting, power cuts, faults, traces).
#[derive(Debug, thiserror::Error)]
pub enum LazyFsError {
    /// The backing directory (the durable image) could not be read or written.
    #[error("backing directory {path}: {source}")]
    Backing {
        /// The file or directory that failed.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The backing directory holds something the lazy filesystem cannot model.
    #[error("backing directory {path}: {reason}")]
    Unsupported {
        /// The offending entry.
        path: PathBuf,
        /// What was expected instead.
        reason: String,
    },
    /// The FUSE mount could not be set up.
    #[error("mounting the lazy filesystem on {mountpoint}: {source}")]
    Mount {
        /// Where it was to be mounted.
        mountpoint: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The mount could not be removed, not even lazily.
    #[error("unmounting {mountpoint}: {detail}")]
    Unmount {
        /// The mount point.
        mountpoint: PathBuf,
        /// What `fusermount3` said.
        detail: String,
    },
    /// The fault log, the trace or the control socket file failed.
    #[error("{path}: {source}")]
    LogFile {
        /// The file outside the faulted tree.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A fault log or trace file was placed inside the faulted tree.
    #[error("{path} lies inside {root}: the fault log and the trace must be kept outside the mount and the backing directory")]
    InsideTree {
        /// The file asked for.
        path: PathBuf,
        /// The mount point or backing directory it lies in.
        root: PathBuf,
    },
    /// A path pattern (glob) is malformed.
    #[error("path pattern {pattern:?}: {reason}")]
    Pattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A control command is malformed.
    #[error("control command {line:?}: {reason}")]
    Control {
        /// The command line as received.
        line: String,
        /// What was expected.
        reason: String,
    },
    /// A trace file line is malformed.
    #[error("trace {path} line {line}: {reason}")]
    TraceParse {
        /// The trace file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was expected.
        reason: String,
    },
    /// A trace cannot be replayed (it names an inode it never introduced, or it began with
    /// operations pending, whose content the trace does not hold).
    #[error("trace event {index}: {reason}")]
    TraceReplay {
        /// 0-based event index.
        index: usize,
        /// Why it cannot be replayed.
        reason: String,
    },
    /// A filesystem operation failed while the library applied it.
    #[error("{operation}: {source}")]
    Operation {
        /// What was being done.
        operation: String,
        /// The filesystem error.
        source: FsError,
    },
    /// A callback panicked while holding the filesystem state; it can no longer be trusted.
    #[error("the lazy filesystem state was poisoned by a panic")]
    Poisoned,
}

/// Why one filesystem operation failed. Each maps to one errno ([`FsError::errno`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FsError {
    /// No such file or directory (`ENOENT`).
    #[error("no such file or directory")]
    NotFound,
    /// The name exists already (`EEXIST`).
    #[error("file exists")]
    Exists,
    /// A directory was expected (`ENOTDIR`).
    #[error("not a directory")]
    NotDir,
    /// A file was expected (`EISDIR`).
    #[error("is a directory")]
    IsDir,
    /// The directory still has entries (`ENOTEMPTY`).
    #[error("directory not empty")]
    NotEmpty,
    /// An injected fault or the backing disk reported an I/O error (`EIO`).
    #[error("input/output error")]
    Io,
    /// An injected full-disk fault (`ENOSPC`).
    #[error("no space left on device")]
    NoSpace,
    /// The in-memory cache reached its bound (`ENOSPC`, with a line in the fault log).
    #[error("lazy filesystem cache full: {used_bytes} bytes held, limit {limit_bytes}")]
    CacheFull {
        /// Bytes held before the refused operation.
        used_bytes: u64,
        /// The configured bound.
        limit_bytes: u64,
    },
    /// A name that is not UTF-8, an offset past the model's range, an unsupported flag
    /// (`EINVAL`).
    #[error("invalid argument")]
    Invalid,
    /// The inode is gone: it predates the last power cut (`ESTALE`).
    #[error("stale file handle")]
    Stale,
}

impl FsError {
    /// The errno a FUSE reply carries for this error.
    pub fn errno(&self) -> i32 {
        match self {
            FsError::NotFound => libc::ENOENT,
            FsError::Exists => libc::EEXIST,
            FsError::NotDir => libc::ENOTDIR,
            FsError::IsDir => libc::EISDIR,
            FsError::NotEmpty => libc::ENOTEMPTY,
            FsError::Io => libc::EIO,
            FsError::NoSpace | FsError::CacheFull { .. } => libc::ENOSPC,
            FsError::Invalid => libc::EINVAL,
            FsError::Stale => libc::ESTALE,
        }
    }
}
