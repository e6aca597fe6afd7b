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
//!   directory fsync is lost;
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

/// Sector size of the power-cut model.
pub const SECTOR_BYTES: usize = 512;

#[derive(Debug, Default, Clone)]
struct Inode {
    volatile: Vec<u8>,
    durable: Vec<u8>,
    /// Byte ranges a failed sync marked clean: readable, never written by a later sync until
    /// they are written again.
    marked_clean: Vec<(usize, usize)>,
}

impl Inode {
    /// Forgets `start..end` from the clean-marked ranges (those bytes are dirty again).
    fn dirty(&mut self, start: usize, end: usize) {
        let mut kept = Vec::new();
        for (a, b) in self.marked_clean.drain(..) {
            if a < start.min(b) {
                kept.push((a, start.min(b)));
            }
            if b > end.max(a) {
                kept.push((end.max(a), b));
            }
        }
        self.marked_clean = kept;
    }

    /// A successful sync: the volatile contents become durable, except clean-marked bytes,
    /// which keep what the disk held (zeros past its old end).
    fn sync(&mut self) {
        let old = std::mem::replace(&mut self.durable, self.volatile.clone());
        for &(start, end) in &self.marked_clean {
            for offset in start..end.min(self.durable.len()) {
                self.durable[offset] = old.get(offset).copied().unwrap_or(0);
            }
        }
    }

    /// A failed sync: every byte not yet durable is marked clean.
    fn fail_sync(&mut self) {
        let same = self
            .durable
            .iter()
            .zip(&self.volatile)
            .take_while(|(a, b)| a == b)
            .count();
        if same < self.volatile.len() {
            self.marked_clean.push((same, self.volatile.len()));
        }
    }
}

/// A directory's entries (name -> inode).
type Entries = BTreeMap<String, usize>;

#[derive(Debug, Default)]
struct Dir {
    volatile: Entries,
    durable: Entries,
}

#[derive(Debug, Default)]
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

/// xorshift64: a small deterministic generator for the power-cut choices.
fn next_random(state: &mut u64, bound: u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state % bound.max(1)
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
            let mut kept = inode.durable.clone();
            let start = kept.len();
            if inode.volatile.len() > start && inode.volatile.starts_with(&kept) {
                let extra = (inode.volatile.len() - start) as u64;
                let landed = start + next_random(&mut random, extra + 1) as usize;
                kept.extend_from_slice(inode.volatile.get(start..landed).unwrap_or_default());
                let first_whole_sector = start.div_ceil(SECTOR_BYTES) * SECTOR_BYTES;
                for sector in (first_whole_sector..landed).step_by(SECTOR_BYTES) {
                    if next_random(&mut random, 4) == 0 {
                        let end = (sector + SECTOR_BYTES).min(landed);
                        if let Some(bytes) = kept.get_mut(sector..end) {
                            bytes.fill(0);
                        }
                    }
                }
            }
            inode.volatile = kept.clone();
            inode.durable = kept;
            inode.marked_clean.clear();
        }
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
mod tests {
    use super::*;

    #[test]
    fn sim_disk_passes_the_conformance_suite() {
        crate::io::conformance::check(&SimDisk::new(), Path::new("/scratch")).unwrap();
    }

    #[test]
    fn a_power_cut_keeps_only_what_was_synced() {
        let disk = SimDisk::new();
        let dir = Path::new("/d");
        disk.create_dir_all(dir).unwrap();
        let synced = disk.create_new(&dir.join("synced")).unwrap();
        synced.write_at(0, b"durable").unwrap();
        synced.sync().unwrap();
        disk.sync_dir(dir).unwrap();
        synced.write_at(7, &[1u8; 2000]).unwrap();
        let unsynced = disk.create_new(&dir.join("unsynced")).unwrap();
        unsynced.write_at(0, b"lost").unwrap();
        unsynced.sync().unwrap(); // its directory entry was never synced
        disk.power_cut(42);
        assert_eq!(disk.list_dir(dir).unwrap(), vec!["synced".to_string()]);
        let bytes = disk.read(&dir.join("synced")).unwrap();
        assert!(bytes.starts_with(b"durable") && bytes.len() <= 2007);
        disk.fail_next_sync();
        assert!(synced.sync().is_err());
        assert!(synced.sync().is_ok());
    }

    #[test]
    fn a_failed_sync_marks_its_pages_clean_and_a_kill_before_sync_does_not() {
        let disk = SimDisk::new();
        let dir = Path::new("/d");
        disk.create_dir_all(dir).unwrap();
        let file = disk.create_new(&dir.join("f")).unwrap();
        disk.sync_dir(dir).unwrap();
        file.write_at(0, b"head").unwrap();
        file.sync().unwrap();
        file.write_at(4, b"lost").unwrap();
        disk.fail_next_sync();
        assert!(file.sync().is_err());
        file.write_at(8, b"tail").unwrap();
        assert!(file.sync().is_ok());
        assert_eq!(disk.read(&dir.join("f")).unwrap(), b"headlosttail");
        disk.power_cut(7);
        assert_eq!(disk.read(&dir.join("f")).unwrap(), b"head\0\0\0\0tail");
        // Rewritten pages are dirty again; a killed process's pages are written by a later sync.
        file.write_at(4, b"back").unwrap();
        disk.kill_before_next_sync();
        assert!(file.sync().is_err());
        assert!(file.sync().is_ok());
        disk.power_cut(7);
        assert_eq!(disk.read(&dir.join("f")).unwrap(), b"headbacktail");
    }
}
