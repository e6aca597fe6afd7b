//! [`SimDisk`]: an in-memory [`Io`] that models what a power cut does, for fast crash tests.
//!
//! Each file has volatile contents (what reads see: the page cache) and durable contents (what
//! survives power loss); each directory has volatile and durable entries. [`IoFile::sync`]
//! makes a file's contents durable, [`Io::sync_dir`] a directory's entries. Then:
//! - a **kill** of the process changes nothing (the page cache survives): just drop the
//!   handles and reopen;
//! - a **power cut** ([`SimDisk::power_cut`]) keeps the durable state plus, per file, a torn
//!   piece of its unsynced appended tail in which some 512-byte sectors did not land (zeros)
//!   while later ones did (reordering); every create, rename and unlink not followed by a
//!   directory fsync is lost. [`SimDisk::crashed_copy`] gives what a power cut now would
//!   leave as a new disk, while the processes on this one run on;
//! - [`SimDisk::kill_before_next_sync`] makes the next file sync fail without syncing, its
//!   pages left dirty (a process killed between its write and its fsync);
//! - [`SimDisk::fail_next_sync`] makes the next file sync fail without syncing, the way Linux
//!   fails an fsync with EIO: the pages it should have written are marked clean, so reads still
//!   return the new bytes but no later sync writes them (unless they are written again); a
//!   power cut loses them.
//!
//! It models the assumptions in `store/FORMAT.md`; it does not flip bits (tests corrupt files
//! directly). It passes [`crate::io::conformance::check`].

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::io::{Io, IoFile};
use inode::Inode;

mod inode;

/// Sector size of the power-cut model.
pub const SECTOR_BYTES: usize = 512;

/// A directory's entries (name -> inode).
type Entries = BTreeMap<String, usize>;

#[derive(Debug, Default, Clone)]
struct Dir {
    volatile: Entries,
    durable: Entries,
}

#[derive(Debug, Default, Clone)]
struct DiskState {
    inodes: Vec<Inode>,
    dirs: BTreeMap<PathBuf, Dir>,
    fail_next_sync: bool,
    /// Whether that failure marks the pages clean (an fsync error) or leaves them dirty.
    failed_sync_marks_clean: bool,
}

/// The simulated disk. Clones share the same disk.
#[derive(Debug, Default, Clone)]
pub struct SimDisk(Arc<Mutex<DiskState>>);

fn split(path: &Path) -> (PathBuf, String) {
    let parent = path.parent().unwrap_or(Path::new("")).to_path_buf();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (parent, name)
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{}: not found", path.display()),
    )
}

impl SimDisk {
    /// An empty disk.
    pub fn new() -> SimDisk {
        SimDisk::default()
    }

    fn state(&self) -> MutexGuard<'_, DiskState> {
        self.0.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    fn lookup(&self, path: &Path) -> io::Result<usize> {
        let (dir, name) = split(path);
        self.state()
            .dirs
            .get(&dir)
            .and_then(|d| d.volatile.get(&name).copied())
            .ok_or_else(|| not_found(path))
    }

    /// The next file sync fails with an error (EIO) and syncs nothing; the pages it should have
    /// written are marked clean: reads still return them, no later sync writes them unless they
    /// are written again, a power cut loses them.
    pub fn fail_next_sync(&self) {
        let mut state = self.state();
        state.fail_next_sync = true;
        state.failed_sync_marks_clean = true;
    }

    /// The next file sync fails and syncs nothing, leaving the pages dirty: what a process killed
    /// between its write and its fsync leaves behind (a later sync by anyone writes them).
    pub fn kill_before_next_sync(&self) {
        let mut state = self.state();
        state.fail_next_sync = true;
        state.failed_sync_marks_clean = false;
    }

    /// Cuts the power: see the module documentation. `seed` picks how much of each unsynced
    /// tail landed and which of its sectors did not.
    pub fn power_cut(&self, seed: u64) {
        let mut random = seed | 1;
        let mut state = self.state();
        state.fail_next_sync = false;
        for dir in state.dirs.values_mut() {
            dir.volatile = dir.durable.clone();
        }
        for inode in &mut state.inodes {
            inode.power_cut(&mut random);
        }
    }
}

impl SimDisk {
    /// What a power cut at this instant (with `seed`, as [`SimDisk::power_cut`]) would leave,
    /// as a new, independent disk; this one runs on untouched. A test can so ask "what if the
    /// power failed right now" while its writers still run, e.g. right after an
    /// acknowledgement and before anything else reaches the disk.
    pub fn crashed_copy(&self, seed: u64) -> SimDisk {
        let copy = SimDisk(Arc::new(Mutex::new(self.state().clone())));
        copy.power_cut(seed);
        copy
    }
}

/// A file of a [`SimDisk`].
#[derive(Debug)]
pub struct SimFile {
    disk: SimDisk,
    inode: usize,
}

impl SimFile {
    fn with<R>(&self, f: impl FnOnce(&mut Inode) -> R) -> io::Result<R> {
        let mut state = self.disk.state();
        let inode = state
            .inodes
            .get_mut(self.inode)
            .ok_or_else(|| io::Error::other("stale simulated inode"))?;
        Ok(f(inode))
    }
}

impl IoFile for SimFile {
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(io::Error::other)?;
        let end = start
            .checked_add(data.len())
            .ok_or_else(|| io::Error::other("write past the largest offset"))?;
        self.with(|inode| {
            if inode.volatile.len() < end {
                inode.volatile.resize(end, 0);
            }
            inode.volatile[start..end].copy_from_slice(data);
            inode.dirty(start, end);
        })
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.with(|inode| {
            let start = usize::try_from(offset)
                .map_or(inode.volatile.len(), |o| o.min(inode.volatile.len()));
            let len = buf.len().min(inode.volatile.len() - start);
            buf[..len].copy_from_slice(&inode.volatile[start..start + len]);
            len
        })
    }

    fn len_bytes(&self) -> io::Result<u64> {
        self.with(|inode| inode.volatile.len() as u64)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let len = usize::try_from(len).map_err(io::Error::other)?;
        self.with(|inode| {
            let old_len = inode.volatile.len();
            inode.volatile.resize(len, 0);
            inode.dirty(len.min(old_len), usize::MAX);
        })
    }

    fn sync(&self) -> io::Result<()> {
        let (failing, marks_clean) = {
            let mut state = self.disk.state();
            (
                std::mem::take(&mut state.fail_next_sync),
                state.failed_sync_marks_clean,
            )
        };
        if failing {
            if marks_clean {
                self.with(Inode::fail_sync)?;
            }
            return Err(io::Error::other("simulated fsync failure"));
        }
        self.with(Inode::sync)
    }
}

impl Io for SimDisk {
    /// Creates the directory and its ancestors, durably (entries of directories are not
    /// modelled as directory entries: directories themselves never vanish).
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut state = self.state();
        for ancestor in path.ancestors() {
            state.dirs.entry(ancestor.to_path_buf()).or_default();
        }
        Ok(())
    }

    fn open(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        let inode = self.lookup(path)?;
        Ok(Box::new(SimFile {
            disk: self.clone(),
            inode,
        }))
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        let (dir, name) = split(path);
        let mut state = self.state();
        let inode = state.inodes.len();
        let entries = &mut state
            .dirs
            .get_mut(&dir)
            .ok_or_else(|| not_found(path))?
            .volatile;
        if entries.contains_key(&name) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{}: exists", path.display()),
            ));
        }
        entries.insert(name, inode);
        state.inodes.push(Inode::default());
        Ok(Box::new(SimFile {
            disk: self.clone(),
            inode,
        }))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let inode = self.lookup(path)?;
        let state = self.state();
        Ok(state
            .inodes
            .get(inode)
            .map(|i| i.volatile.clone())
            .unwrap_or_default())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let inode = self.lookup(from)?;
        let ((from_dir, from_name), (to_dir, to_name)) = (split(from), split(to));
        let mut state = self.state();
        if !state.dirs.contains_key(&to_dir) {
            return Err(not_found(to));
        }
        if let Some(dir) = state.dirs.get_mut(&from_dir) {
            dir.volatile.remove(&from_name);
        }
        if let Some(dir) = state.dirs.get_mut(&to_dir) {
            dir.volatile.insert(to_name, inode);
        }
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let (dir, name) = split(path);
        let mut state = self.state();
        let entries = &mut state
            .dirs
            .get_mut(&dir)
            .ok_or_else(|| not_found(path))?
            .volatile;
        entries
            .remove(&name)
            .map(drop)
            .ok_or_else(|| not_found(path))
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        let mut state = self.state();
        let dir = state.dirs.get_mut(path).ok_or_else(|| not_found(path))?;
        dir.durable = dir.volatile.clone();
        Ok(())
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let state = self.state();
        let dir = state.dirs.get(path).ok_or_else(|| not_found(path))?;
        Ok(dir.volatile.keys().cloned().collect())
    }
}

#[cfg(test)]
mod tests;
