//! Why a run could not be carried out (as opposed to a run that found a failure, which is a
//! verdict, not an error).

use std::io;
use std::path::PathBuf;

use super::bundle::BundleError;
use super::process::ProcessError;
use super::promises::PromiseError;
use crate::lazyfs::LazyFsError;

/// Errors of the runner. None of them is a finding about the system under test.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A file or directory of the run could not be created, written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A process of the system under test could not be started or signalled.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// The lazy filesystem could not be mounted or driven.
    #[error("lazy filesystem: {0}")]
    LazyFs(#[from] LazyFsError),
    /// A bundle could not be written or read.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The promises of the system under test are malformed.
    #[error(transparent)]
    Promises(#[from] PromiseError),
    /// The system under test did not answer `hello` at start.
    #[error("the system under test `{command}` did not answer hello: {detail}")]
    Hello {
        /// Its command line.
        command: String,
        /// What came back instead.
        detail: String,
    },
    /// The recorded history could not be read back (a bug of the recorder, never a verdict).
    #[error("reading back the recorded history {path}: {detail}")]
    History {
        /// The history file.
        path: PathBuf,
        /// The reader's or checker's complaint.
        detail: String,
    },
    /// The configuration cannot be run.
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl RunError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> RunError {
        let path = path.into();
        move |source| RunError::Io { path, source }
    }
}
