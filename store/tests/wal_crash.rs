//! Property: a WAL that loses power at any instant opens again with every acknowledged record,
//! as an exact prefix of what was appended, even after takeovers by new writers.
//!
//! The disk is simulated in memory (`SimDisk`): each file has volatile and durable contents and
//! each directory volatile and durable entries. `sync` makes a file durable, `sync_dir` a
//! directory's entries. A kill keeps the volatile state (the page cache survives a process);
//! a power cut keeps the durable state plus a torn, partly reordered piece of each file's
//! unsynced tail (some 512-byte sectors landed, others did not), and loses every create,
//! rename and unlink not followed by a directory fsync.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use store::io::{Io, IoFile};
use store::lock::Epoch;
use store::wal::{Lsn, Wal, WalOptions};

#[derive(Debug, Default, Clone)]
struct Inode {
    volatile: Vec<u8>,
    durable: Vec<u8>,
}

/// A directory's entries (name -> inode): as visible now, and as durable.
type Entries = BTreeMap<String, usize>;

#[derive(Debug, Default)]
struct DiskState {
    inodes: Vec<Inode>,
    /// The next file sync fails without syncing (the process dies between write and fsync).
    fail_next_sync: bool,
    /// Directory -> (volatile entries, durable entries); entries map names to inodes.
    dirs: BTreeMap<PathBuf, (Entries, Entries)>,
}

#[derive(Debug, Default, Clone)]
struct SimDisk(Arc<Mutex<DiskState>>);

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
        format!("{} not found", path.display()),
    )
}

impl SimDisk {
    fn lookup(&self, path: &Path) -> io::Result<usize> {
        let (dir, name) = split(path);
        let state = self.0.lock().unwrap();
        state
            .dirs
            .get(&dir)
            .and_then(|(entries, _)| entries.get(&name).copied())
            .ok_or_else(|| not_found(path))
    }

    /// A power cut: durable state plus a torn, partly reordered piece of each unsynced tail.
    fn power_cut(&self, rng: &mut impl FnMut(u64) -> u64) {
        let mut state = self.0.lock().unwrap();
        for (volatile, durable) in state.dirs.values_mut() {
            *volatile = durable.clone();
        }
        for inode in &mut state.inodes {
            let mut kept = inode.durable.clone();
            if inode.volatile.len() > kept.len() && inode.volatile.starts_with(&kept) {
                let extra = inode.volatile.len() - kept.len();
                let landed_len = kept.len() + rng(extra as u64 + 1) as usize;
                let start = kept.len();
                kept.extend_from_slice(&inode.volatile[start..landed_len]);
                // Sectors of the unsynced tail that did not land (a later one did).
                for sector in (start / 512 * 512..landed_len).step_by(512) {
                    if sector >= start && rng(4) == 0 {
                        let end = (sector + 512).min(landed_len);
                        kept[sector..end].fill(0);
                    }
                }
            }
            inode.volatile = kept.clone();
            inode.durable = kept;
        }
    }
}

#[derive(Debug)]
struct SimFile {
    disk: SimDisk,
    inode: usize,
}

impl IoFile for SimFile {
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut state = self.disk.0.lock().unwrap();
        let file = &mut state.inodes[self.inode].volatile;
        let end = offset as usize + data.len();
        if file.len() < end {
            file.resize(end, 0);
        }
        file[offset as usize..end].copy_from_slice(data);
        Ok(())
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let state = self.disk.0.lock().unwrap();
        let file = &state.inodes[self.inode].volatile;
        let start = (offset as usize).min(file.len());
        let len = buf.len().min(file.len() - start);
        buf[..len].copy_from_slice(&file[start..start + len]);
        Ok(len)
    }
    fn len_bytes(&self) -> io::Result<u64> {
        Ok(self.disk.0.lock().unwrap().inodes[self.inode]
            .volatile
            .len() as u64)
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.disk.0.lock().unwrap().inodes[self.inode]
            .volatile
            .resize(len as usize, 0);
        Ok(())
    }
    fn sync(&self) -> io::Result<()> {
        let mut state = self.disk.0.lock().unwrap();
        if std::mem::take(&mut state.fail_next_sync) {
            return Err(io::Error::other("killed before the fsync"));
        }
        let inode = &mut state.inodes[self.inode];
        inode.durable = inode.volatile.clone();
        Ok(())
    }
}

impl Io for SimDisk {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.0
            .lock()
            .unwrap()
            .dirs
            .entry(path.to_path_buf())
            .or_default();
        Ok(())
    }
    fn open(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        Ok(Box::new(SimFile {
            disk: self.clone(),
            inode: self.lookup(path)?,
        }))
    }
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        let (dir, name) = split(path);
        let mut state = self.0.lock().unwrap();
        let inode = state.inodes.len();
        let (entries, _) = state.dirs.get_mut(&dir).ok_or_else(|| not_found(path))?;
        if entries.contains_key(&name) {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, "exists"));
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
        Ok(self.0.lock().unwrap().inodes[inode].volatile.clone())
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let inode = self.lookup(from)?;
        let ((dir, from_name), (_, to_name)) = (split(from), split(to));
        let mut state = self.0.lock().unwrap();
        let (entries, _) = state.dirs.get_mut(&dir).ok_or_else(|| not_found(from))?;
        entries.remove(&from_name);
        entries.insert(to_name, inode);
        Ok(())
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let (dir, name) = split(path);
        let mut state = self.0.lock().unwrap();
        let (entries, _) = state.dirs.get_mut(&dir).ok_or_else(|| not_found(path))?;
        entries
            .remove(&name)
            .map(drop)
            .ok_or_else(|| not_found(path))
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        let mut state = self.0.lock().unwrap();
        let (volatile, durable) = state.dirs.get_mut(path).ok_or_else(|| not_found(path))?;
        *durable = volatile.clone();
        Ok(())
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let state = self.0.lock().unwrap();
        let (entries, _) = state.dirs.get(path).ok_or_else(|| not_found(path))?;
        Ok(entries.keys().cloned().collect())
    }
}

#[derive(Debug, Clone)]
enum Step {
    /// Append this many records, then sync them (acknowledged) or not.
    Append { records: u8, sync: bool },
    /// The process is killed: the page cache survives; a new writer takes over.
    Kill,
    /// Append and sync this many records, but the process dies after the write, before the
    /// fsync: the records are in the page cache only; a new writer takes over.
    KillBeforeFsync { records: u8 },
    /// Power is cut: unsynced data is lost, torn or reordered; a new writer takes over.
    PowerCut { seed: u64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (1..6u8, any::<bool>()).prop_map(|(records, sync)| Step::Append { records, sync }),
        1 => Just(Step::Kill),
        1 => (1..4u8).prop_map(|records| Step::KillBeforeFsync { records }),
        1 => any::<u64>().prop_map(|seed| Step::PowerCut { seed }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_acknowledged_record_survives_kills_and_power_cuts(steps in prop::collection::vec(step(), 1..40)) {
        let disk = SimDisk::default();
        let dir = Path::new("/store/wal");
        let options = WalOptions { segment_max_bytes: 300, ..WalOptions::default() };
        let open = |epoch: u64| Wal::open(Arc::new(disk.clone()), dir, Epoch(epoch), Lsn::ZERO, options);
        let mut epoch = 1;
        let (mut wal, _) = open(epoch).unwrap();
        // Payloads by LSN as this run appended them; how many of them are acknowledged.
        let mut log: Vec<Vec<u8>> = Vec::new();
        let mut acknowledged = 0usize;
        for (index, step) in steps.iter().enumerate() {
            match step {
                Step::Append { records, sync } => {
                    let mut last = Lsn::ZERO;
                    for record in 0..*records {
                        let payload = format!("step {index} record {record} {}", "x".repeat(index % 50)).into_bytes();
                        last = wal.append(&payload).unwrap();
                        prop_assert_eq!(last.0 as usize, log.len() + 1);
                        log.push(payload);
                    }
                    if *sync {
                        wal.sync(last).unwrap();
                        acknowledged = log.len();
                    }
                }
                Step::KillBeforeFsync { records } => {
                    for record in 0..*records {
                        let payload = format!("step {index} unsynced {record}").into_bytes();
                        wal.append(&payload).unwrap();
                        log.push(payload);
                    }
                    disk.0.lock().unwrap().fail_next_sync = true;
                    let error = wal.sync(wal.last_lsn()).unwrap_err();
                    prop_assert!(error.is_indeterminate(), "{}", error);
                }
                _ => {}
            }
            if matches!(step, Step::Kill | Step::KillBeforeFsync { .. } | Step::PowerCut { .. }) {
                drop(wal);
                if let Step::PowerCut { seed } = step {
                    let mut state = *seed | 1;
                    disk.power_cut(&mut |bound| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        state % bound.max(1)
                    });
                }
                epoch += 1;
                let (next, recovered) = open(epoch)
                    .map_err(|error| TestCaseError::fail(format!("recovery failed: {error}")))?;
                prop_assert!(recovered.records.len() >= acknowledged,
                    "lost acknowledged records: {} < {}", recovered.records.len(), acknowledged);
                for (offset, record) in recovered.records.iter().enumerate() {
                    prop_assert_eq!(record.lsn, Lsn(offset as u64 + 1));
                    prop_assert_eq!(&record.payload, &log[offset]);
                }
                // What the new writer read is what it builds on: it counts as acknowledged.
                log.truncate(recovered.records.len());
                acknowledged = log.len();
                wal = next;
            }
        }
    }
}
