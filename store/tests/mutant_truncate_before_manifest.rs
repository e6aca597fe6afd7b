#![cfg(feature = "mutants")]
//! Mutant 8, `truncate-before-manifest` (a design that truncates its log once the records are
//! folded into the snapshot it is about to write, before the manifest naming that snapshot is
//! durable). Exposed by a **kill or power cut during a snapshot**: here the process dies as it
//! starts writing the new manifest, then the power goes. The old manifest is current and the log no longer
//! holds its first records: the store does not open, every acknowledged write is out of reach.
//! Clean code deletes the segments only after the manifest is durable, so the same crash
//! leaves the old manifest and the whole log.

mod common;

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use store::io::sim::SimDisk;
use store::io::{Io, IoFile};
use store::mutant::{self, Mutant};
use store::wal::{WalError, WalOptions};
use store::{Store, StoreError, StoreOptions};

/// A process on `disk` that dies (every later IO fails) when it first creates or renames a
/// manifest file (`MANIFEST*`), before that happens: the new manifest is not durable.
#[derive(Debug, Clone)]
struct DiesAtManifestWrite {
    disk: SimDisk,
    dead: Arc<AtomicBool>,
}

impl DiesAtManifestWrite {
    /// Dies if `path` is a manifest file.
    fn die_at(&self, path: &Path) -> io::Result<()> {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if name.is_some_and(|name| name.starts_with("MANIFEST")) {
            self.dead.store(true, Ordering::SeqCst);
        }
        self.check()
    }

    fn check(&self) -> io::Result<()> {
        if self.dead.load(Ordering::SeqCst) {
            return Err(io::Error::other("the process died"));
        }
        Ok(())
    }

    fn file(&self, inner: Box<dyn IoFile>) -> Box<dyn IoFile> {
        Box::new(DyingFile {
            inner,
            dead: Arc::clone(&self.dead),
        })
    }
}

#[derive(Debug)]
struct DyingFile {
    inner: Box<dyn IoFile>,
    dead: Arc<AtomicBool>,
}

impl DyingFile {
    fn check(&self) -> io::Result<()> {
        if self.dead.load(Ordering::SeqCst) {
            return Err(io::Error::other("the process died"));
        }
        Ok(())
    }
}

impl IoFile for DyingFile {
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.check()?;
        self.inner.write_at(offset, data)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.check()?;
        self.inner.read_at(offset, buf)
    }
    fn len_bytes(&self) -> io::Result<u64> {
        self.check()?;
        self.inner.len_bytes()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.check()?;
        self.inner.set_len(len)
    }
    fn sync(&self) -> io::Result<()> {
        self.check()?;
        self.inner.sync()
    }
}

impl Io for DiesAtManifestWrite {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.check()?;
        self.disk.create_dir_all(path)
    }
    fn open(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        self.check()?;
        Ok(self.file(self.disk.open(path)?))
    }
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        self.die_at(path)?;
        Ok(self.file(self.disk.create_new(path)?))
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.check()?;
        self.disk.read(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.die_at(to)?;
        self.disk.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.check()?;
        self.disk.remove_file(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.check()?;
        self.disk.sync_dir(path)
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        self.check()?;
        self.disk.list_dir(path)
    }
}

fn options(io: Arc<dyn Io>) -> StoreOptions {
    StoreOptions {
        wal: WalOptions {
            // A few records per segment, so a snapshot covers sealed segments.
            segment_max_bytes: 200,
            ..WalOptions::default()
        },
        // The dead process never releases its lease: the restart takes it over once it expires.
        ..common::sim_options(io, 300)
    }
}

const KEYS: usize = 10;

/// Acknowledged puts, a snapshot during which the process dies as it writes the manifest, a
/// power cut, a restart: the values the restarted store reads, or why it does not open.
fn acknowledged_writes_after_a_crash_in_a_snapshot() -> Result<Vec<Option<Vec<u8>>>, StoreError> {
    let disk = SimDisk::new();
    let dying = DiesAtManifestWrite {
        disk: disk.clone(),
        dead: Arc::new(AtomicBool::new(false)),
    };
    let dir = Path::new("/store");
    let store = Store::open(dir, options(Arc::new(dying))).unwrap();
    for key in 0..KEYS {
        store.put(&format!("k{key}"), b"acknowledged").unwrap();
    }
    assert!(
        store.snapshot().is_err(),
        "the process died in the snapshot"
    );
    drop(store);
    disk.power_cut(7);
    let reopened = Store::open(dir, options(Arc::new(disk)))?;
    (0..KEYS)
        .map(|key| Ok(reopened.get(&format!("k{key}"))?.map(|entry| entry.value)))
        .collect()
}

#[test]
fn with_the_mutant_a_crash_during_a_snapshot_loses_the_acknowledged_writes() {
    let every_value = vec![Some(b"acknowledged".to_vec()); KEYS];
    assert_eq!(
        acknowledged_writes_after_a_crash_in_a_snapshot().unwrap(),
        every_value
    );

    mutant::activate(Mutant::TruncateBeforeManifest).unwrap();
    match acknowledged_writes_after_a_crash_in_a_snapshot() {
        Err(error) => assert!(
            matches!(error, StoreError::Wal(WalError::MissingSegment { .. })),
            "the log's first segments are gone: {error}"
        ),
        Ok(values) => assert_ne!(values, every_value, "acknowledged writes must be lost"),
    }
}
