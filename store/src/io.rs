//! The IO seam: every durable operation of the store goes through [`Io`] and [`IoFile`].
//!
//! [`StdIo`] implements it on `std::fs`. A simulated disk (faultline's lazy filesystem, a
//! fault-injecting overlay) implements the same two traits and stands in for it.
//!
//! Methods marked **crash-relevant** are the steps whose ordering the durability arguments in
//! `store/FORMAT.md` rely on; a crash between two of them is what the nemesis explores. The
//! [`conformance::check`] is the suite every implementation must pass.
//! The assumptions made of the disk are written down there too: a write is durable only after a
//! successful [`IoFile::sync`]; a create, rename or remove is durable only after
//! [`Io::sync_dir`] of its directory; a failed sync may have lost data.

pub mod conformance;
pub mod sim;
mod sync_hook;

pub use sync_hook::{SyncHook, SyncHookIo};

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// An open file: positional reads and writes, so one writer and several readers can share it.
pub trait IoFile: Send + Sync + fmt::Debug {
    /// Writes all of `data` at `offset`, extending the file if needed. **Crash-relevant**: the
    /// bytes are volatile until [`IoFile::sync`] succeeds; a crash may lose, tear (at sector
    /// granularity) or reorder them.
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()>;

    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read (0 at the end).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;

    /// The current length of the file in bytes.
    fn len_bytes(&self) -> io::Result<u64>;

    /// Truncates or extends the file to `len` bytes. **Crash-relevant**: volatile until
    /// [`IoFile::sync`].
    fn set_len(&self, len: u64) -> io::Result<()>;

    /// Makes the file's data and length durable (fdatasync). **Crash-relevant**: on error the
    /// data written since the last successful sync may or may not be durable, and a later sync
    /// may succeed without having written it (the pages may have been marked clean): callers
    /// must never retry and then acknowledge.
    fn sync(&self) -> io::Result<()>;
}

/// A directory tree on some disk. Paths are used as given (callers pass absolute or
/// store-relative paths consistently).
pub trait Io: Send + Sync + fmt::Debug {
    /// Creates `path` and its missing parents. Not durable until [`Io::sync_dir`] of each
    /// parent; callers sync the directories they rely on.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;

    /// Opens an existing file for reading and writing (`NotFound` if missing).
    fn open(&self, path: &Path) -> io::Result<Box<dyn IoFile>>;

    /// Creates a new file, failing with `AlreadyExists` if it exists (O_CREAT|O_EXCL). This is
    /// the atomic compare-and-set the lease lock and the blob store rely on: of several
    /// concurrent callers exactly one succeeds. **Crash-relevant**: the new name is durable
    /// only after [`Io::sync_dir`] of its parent.
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn IoFile>>;

    /// Reads the whole file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;

    /// Atomically replaces `to` with `from` (rename(2)). **Crash-relevant**: after a crash
    /// either name may be visible until [`Io::sync_dir`] of the parent succeeded.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Removes a file. **Crash-relevant**: durable only after [`Io::sync_dir`].
    fn remove_file(&self, path: &Path) -> io::Result<()>;

    /// Makes the directory's entries (creates, renames, removes) durable. **Crash-relevant**.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;

    /// The names of the entries of a directory, sorted bytewise. Entries whose names are not
    /// UTF-8 are returned lossily converted (callers reject names they do not recognise).
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>>;
}

/// Creates `path` and its missing ancestors durably: after the mkdir, fsyncs the parent of
/// every directory it created (top down), so a power cut cannot lose them. Existing
/// directories cost one `list_dir` and no fsync.
pub fn create_dir_durable(io: &dyn Io, path: &Path) -> io::Result<()> {
    let mut missing = Vec::new();
    // Bounded by the number of components of `path`.
    for ancestor in path.ancestors() {
        if ancestor.as_os_str().is_empty() {
            break;
        }
        match io.list_dir(ancestor) {
            Ok(_) => break,
            Err(error) if error.kind() == io::ErrorKind::NotFound => missing.push(ancestor),
            Err(error) => return Err(error),
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    io.create_dir_all(path)?;
    for created in missing.iter().rev() {
        if let Some(parent) = created.parent().filter(|p| !p.as_os_str().is_empty()) {
            io.sync_dir(parent)?;
        }
    }
    Ok(())
}

/// [`Io`] on the real filesystem through `std::fs` (Unix).
#[derive(Debug, Clone, Copy, Default)]
pub struct StdIo;

/// A file opened by [`StdIo`].
#[derive(Debug)]
pub struct StdFile {
    file: File,
    path: PathBuf,
}

impl IoFile for StdFile {
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.file.write_all_at(data, offset)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.file.read_at(buf, offset) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                result => return result,
            }
        }
    }

    fn len_bytes(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    fn sync(&self) -> io::Result<()> {
        self.file.sync_data().map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("fdatasync {}: {error}", self.path.display()),
            )
        })
    }
}

impl Io for StdIo {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::create_dir_all(path)
    }

    fn open(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        Ok(Box::new(StdFile {
            file,
            path: path.to_path_buf(),
        }))
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
        Ok(Box::new(StdFile {
            file,
            path: path.to_path_buf(),
        }))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        File::open(path)?.sync_all()
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(path)? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }
}

/// Reads exactly `buf.len()` bytes at `offset`, or fails with `UnexpectedEof`.
pub fn read_exact_at(file: &dyn IoFile, offset: u64, buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let read = file.read_at(offset + filled as u64, &mut buf[filled..])?;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("short read at offset {}", offset + filled as u64),
            ));
        }
        filled += read;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_io_passes_the_conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        conformance::check(&StdIo, dir.path()).unwrap();
    }

    /// A planted bug: an Io whose `create_new` silently opens an existing file.
    #[derive(Debug)]
    struct NotExclusive;

    impl Io for NotExclusive {
        fn create_dir_all(&self, path: &Path) -> io::Result<()> {
            StdIo.create_dir_all(path)
        }
        fn open(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
            StdIo.open(path)
        }
        fn create_new(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
            StdIo.create_new(path).or_else(|_| StdIo.open(path))
        }
        fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
            StdIo.read(path)
        }
        fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
            StdIo.rename(from, to)
        }
        fn remove_file(&self, path: &Path) -> io::Result<()> {
            StdIo.remove_file(path)
        }
        fn sync_dir(&self, path: &Path) -> io::Result<()> {
            StdIo.sync_dir(path)
        }
        fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
            StdIo.list_dir(path)
        }
    }

    #[test]
    fn the_conformance_suite_catches_a_create_new_that_is_not_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let failure = conformance::check(&NotExclusive, dir.path()).unwrap_err();
        assert!(failure.contract.contains("AlreadyExists"), "{failure}");
    }

    #[test]
    fn create_new_is_exclusive_and_files_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        let io = StdIo;
        let file = io.create_new(&path).unwrap();
        assert_eq!(
            io.create_new(&path).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        file.write_at(3, b"xyz").unwrap();
        file.sync().unwrap();
        assert_eq!(file.len_bytes().unwrap(), 6);
        let mut buf = [0u8; 3];
        read_exact_at(file.as_ref(), 3, &mut buf).unwrap();
        assert_eq!(&buf, b"xyz");
        assert!(read_exact_at(file.as_ref(), 5, &mut buf).is_err());
        file.set_len(4).unwrap();
        assert_eq!(io.read(&path).unwrap(), b"\0\0\0x");
        io.rename(&path, &dir.path().join("b")).unwrap();
        io.sync_dir(dir.path()).unwrap();
        assert_eq!(io.list_dir(dir.path()).unwrap(), vec!["b".to_string()]);
        io.remove_file(&dir.path().join("b")).unwrap();
        assert!(io.list_dir(dir.path()).unwrap().is_empty());
    }
}
