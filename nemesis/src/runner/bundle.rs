//! Failure bundles: everything needed to look at a failure again and to replay it, written and
//! fsynced before anything else happens, so a harness killed a moment later still has it.
//!
//! A bundle is a directory `<out>/<name>/`, built under `<out>/.<name>.partial/` and renamed into
//! place once every file in it is durable (then the parent directory is fsynced). A directory
//! without `bundle.json` is not a bundle.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The name of the file that marks a directory as a bundle and says what is in it.
pub const BUNDLE_INDEX: &str = "bundle.json";

/// Errors writing or opening a bundle.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A file of the bundle could not be written or made durable.
    #[error("cannot write bundle file {path}: {source}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The path is not a bundle directory (no index file).
    #[error("{path} is not a faultline bundle: expected a directory holding {BUNDLE_INDEX}")]
    NotABundle {
        /// The path given.
        path: PathBuf,
    },
    /// A file the index names is missing or unreadable.
    #[error("cannot read bundle file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The bundle was written in a format this faultline does not read.
    #[error("{path}: bundle format {found}; this faultline reads format {expected}")]
    UnsupportedFormat {
        /// The index file.
        path: PathBuf,
        /// The format found.
        found: u32,
        /// The format this faultline reads.
        expected: u32,
    },
    /// The index or another JSON file is malformed.
    #[error("{path}: line {line}, column {column}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Line of the error (1-based).
        line: usize,
        /// Column of the error (1-based).
        column: usize,
        /// What the parser expected.
        message: String,
    },
}

/// A bundle being written. Nothing is visible under the final name until [`BundleWriter::finish`].
#[derive(Debug)]
pub struct BundleWriter {
    partial: PathBuf,
    target: PathBuf,
}

impl BundleWriter {
    /// Starts bundle `name` under `out` (created if missing).
    pub fn create(out: &Path, name: &str) -> Result<Self, BundleError> {
        let partial = out.join(format!(".{name}.partial"));
        let target = out.join(name);
        let write_error = |source| BundleError::Write {
            path: partial.clone(),
            source,
        };
        fs::create_dir_all(out).map_err(write_error)?;
        if partial.exists() {
            fs::remove_dir_all(&partial).map_err(write_error)?;
        }
        fs::create_dir_all(&partial).map_err(write_error)?;
        Ok(BundleWriter { partial, target })
    }

    /// Writes `bytes` as file `name` of the bundle and fsyncs it.
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> Result<(), BundleError> {
        let path = self.partial.join(name);
        write_durably(&path, bytes).map_err(|source| BundleError::Write { path, source })
    }

    /// Copies the tree at `source` into directory `name` of the bundle, fsyncing every file.
    /// Files that vanish while being copied (a store still running) are skipped.
    pub fn copy_tree(&self, source: &Path, name: &str) -> Result<(), BundleError> {
        let target = self.partial.join(name);
        copy_tree_durably(source, &target).map_err(|error| BundleError::Write {
            path: target,
            source: error,
        })
    }

    /// Makes the bundle durable and visible under its final name; returns its path.
    pub fn finish(self) -> Result<PathBuf, BundleError> {
        let write_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| BundleError::Write { path, source }
        };
        sync_dir(&self.partial).map_err(write_error(&self.partial))?;
        if self.target.exists() {
            fs::remove_dir_all(&self.target).map_err(write_error(&self.target))?;
        }
        fs::rename(&self.partial, &self.target).map_err(write_error(&self.target))?;
        let parent = self.target.parent().unwrap_or(Path::new("."));
        sync_dir(parent).map_err(write_error(parent))?;
        Ok(self.target)
    }
}

/// Reads file `name` of the bundle at `bundle`, checking first that it is a bundle.
pub fn read_bundle_file(bundle: &Path, name: &str) -> Result<Vec<u8>, BundleError> {
    if !bundle.join(BUNDLE_INDEX).is_file() {
        return Err(BundleError::NotABundle {
            path: bundle.to_path_buf(),
        });
    }
    let path = bundle.join(name);
    fs::read(&path).map_err(|source| BundleError::Read { path, source })
}

/// Parses JSON file `name` of the bundle, with the line and column of any error.
pub fn read_bundle_json<T: serde::de::DeserializeOwned>(
    bundle: &Path,
    name: &str,
) -> Result<T, BundleError> {
    let bytes = read_bundle_file(bundle, name)?;
    serde_json::from_slice(&bytes).map_err(|error| BundleError::Malformed {
        path: bundle.join(name),
        line: error.line(),
        column: error.column(),
        message: error.to_string(),
    })
}

fn write_durably(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn copy_tree_durably(source: &Path, target: &Path) -> io::Result<()> {
    fs::create_dir_all(target)?;
    for entry in fs::read_dir(source)? {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        let from = entry.path();
        let to = target.join(entry.file_name());
        let file_type = match entry.file_type() {
            Ok(file_type) => file_type,
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        if file_type.is_dir() {
            copy_tree_durably(&from, &to)?;
        } else if file_type.is_file() {
            match fs::read(&from) {
                Ok(bytes) => write_durably(&to, &bytes)?,
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                Err(error) => return Err(error),
            }
        }
    }
    sync_dir(target)
}

fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_bundle_holds_its_files_and_no_partial_dir() {
        let out = tempfile::tempdir().unwrap();
        let source = tempfile::tempdir().unwrap();
        fs::create_dir_all(source.path().join("wal")).unwrap();
        fs::write(source.path().join("wal/0001.wal"), b"records").unwrap();

        let writer = BundleWriter::create(out.path(), "run-7").unwrap();
        writer.write_file(BUNDLE_INDEX, br#"{"seed":7}"#).unwrap();
        writer.copy_tree(source.path(), "image-after").unwrap();
        let path = writer.finish().unwrap();

        assert_eq!(path, out.path().join("run-7"));
        assert_eq!(
            fs::read(path.join("image-after/wal/0001.wal")).unwrap(),
            b"records"
        );
        let index: serde_json::Value = read_bundle_json(&path, BUNDLE_INDEX).unwrap();
        assert_eq!(index["seed"], 7);
        assert!(!out.path().join(".run-7.partial").exists());
    }

    #[test]
    fn an_unfinished_bundle_is_not_a_bundle() {
        let out = tempfile::tempdir().unwrap();
        let writer = BundleWriter::create(out.path(), "run-8").unwrap();
        writer.write_file(BUNDLE_INDEX, b"{}").unwrap();
        drop(writer);
        let error = read_bundle_file(&out.path().join("run-8"), BUNDLE_INDEX).unwrap_err();
        assert!(matches!(error, BundleError::NotABundle { .. }), "{error}");
    }

    #[test]
    fn a_malformed_index_names_file_line_and_column() {
        let out = tempfile::tempdir().unwrap();
        let writer = BundleWriter::create(out.path(), "run-9").unwrap();
        writer
            .write_file(BUNDLE_INDEX, b"{\n  \"seed\": 7,\n  oops\n}")
            .unwrap();
        let path = writer.finish().unwrap();
        let error = read_bundle_json::<serde_json::Value>(&path, BUNDLE_INDEX).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("bundle.json: line 3"), "{message}");
    }
}
