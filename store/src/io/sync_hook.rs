//! [`SyncHookIo`]: an [`Io`] (the std filesystem unless told otherwise) with a hook that runs
//! before every file fsync, to count fsyncs (the group-commit benchmark) or to fail, pause or
//! interleave them on demand (tests).

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

use super::{Io, IoFile, StdIo};

/// What runs before each file fsync; an error is returned by that fsync, which is then not
/// performed.
pub type SyncHook = Arc<dyn Fn() -> io::Result<()> + Send + Sync>;

/// An [`Io`] with a [`SyncHook`] before every file sync. Directory syncs are not hooked.
#[derive(Clone)]
pub struct SyncHookIo {
    inner: Arc<dyn Io>,
    hook: SyncHook,
}

impl SyncHookIo {
    /// [`StdIo`] running `hook` before each file fsync.
    pub fn new(hook: impl Fn() -> io::Result<()> + Send + Sync + 'static) -> Self {
        SyncHookIo::over(Arc::new(StdIo), hook)
    }

    /// `inner` (e.g. a [`crate::io::sim::SimDisk`]) running `hook` before each file fsync.
    pub fn over(
        inner: Arc<dyn Io>,
        hook: impl Fn() -> io::Result<()> + Send + Sync + 'static,
    ) -> Self {
        SyncHookIo {
            inner,
            hook: Arc::new(hook),
        }
    }

    fn hooked(&self, inner: Box<dyn IoFile>) -> Box<dyn IoFile> {
        Box::new(HookedFile {
            inner,
            hook: Arc::clone(&self.hook),
        })
    }
}

impl fmt::Debug for SyncHookIo {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SyncHookIo")
    }
}

struct HookedFile {
    inner: Box<dyn IoFile>,
    hook: SyncHook,
}

impl fmt::Debug for HookedFile {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_tuple("HookedFile")
            .field(&self.inner)
            .finish()
    }
}

impl IoFile for HookedFile {
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.inner.write_at(offset, data)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_at(offset, buf)
    }
    fn len_bytes(&self) -> io::Result<u64> {
        self.inner.len_bytes()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }
    fn sync(&self) -> io::Result<()> {
        (self.hook)()?;
        self.inner.sync()
    }
}

impl Io for SyncHookIo {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.inner.create_dir_all(path)
    }
    fn open(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        Ok(self.hooked(self.inner.open(path)?))
    }
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        Ok(self.hooked(self.inner.create_new(path)?))
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.inner.read(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_file(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.inner.sync_dir(path)
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        self.inner.list_dir(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn the_hook_runs_before_each_file_sync_and_its_error_is_the_syncs() {
        let dir = tempfile::tempdir().unwrap();
        let syncs = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&syncs);
        let io = SyncHookIo::new(move || {
            if counted.fetch_add(1, Ordering::SeqCst) >= 1 {
                return Err(io::Error::other("injected"));
            }
            Ok(())
        });
        let file = io.create_new(&dir.path().join("f")).unwrap();
        file.write_at(0, b"x").unwrap();
        file.sync().unwrap();
        assert!(file.sync().is_err());
        io.sync_dir(dir.path()).unwrap();
        assert_eq!(syncs.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn the_hook_runs_over_any_io() {
        let disk = crate::io::sim::SimDisk::new();
        let dir = Path::new("/d");
        disk.create_dir_all(dir).unwrap();
        let syncs = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&syncs);
        let io = SyncHookIo::over(Arc::new(disk.clone()), move || {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        let file = io.create_new(&dir.join("f")).unwrap();
        file.write_at(0, b"synced").unwrap();
        file.sync().unwrap();
        io.sync_dir(dir).unwrap();
        assert_eq!(syncs.load(Ordering::SeqCst), 1);
        disk.power_cut(1);
        assert_eq!(disk.read(&dir.join("f")).unwrap(), b"synced");
    }
}
