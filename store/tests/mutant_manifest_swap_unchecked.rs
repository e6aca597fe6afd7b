#![cfg(feature = "mutants")]
//! Mutant 9, `manifest-swap-unchecked` (a lost update: a read-modify-write of a pointer
//! without an atomic compare-and-set): the publisher neither compares nor claims its manifest
//! file with O_EXCL; it writes the seq it computed from the manifest it read, over whatever
//! file holds it. Exposed by a **pause** of a holder in the middle of a snapshot (here just
//! before it creates its manifest file, after its last fencing check) while another process
//! takes over, writes, and compacts: the clean holder's O_EXCL claim fails and its publish is
//! a conflict; with the mutant it overwrites the newer manifest with its older one, whose log
//! was compacted away, and the store no longer opens with its acknowledged writes.

mod common;

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use store::io::sim::SimDisk;
use store::io::{Io, IoFile};
use store::mutant::{self, Mutant};
use store::wal::WalOptions;
use store::{Store, StoreError, StoreOptions};

fn sim_store(io: Arc<dyn Io>) -> Result<Store, StoreError> {
    let options = StoreOptions {
        wal: WalOptions {
            segment_max_bytes: 200,
            ..WalOptions::default()
        },
        ..common::sim_options(io, 200)
    };
    Store::open(Path::new(common::DIR), options)
}

/// Waits (at most 10 s) until `flag` is set.
fn wait_for(flag: &AtomicBool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !flag.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "timed out");
        thread::sleep(Duration::from_millis(1));
    }
}

/// A [`SimDisk`] on which a thread named "snapshotter" stalls, while `paused` is set, just
/// before it creates a manifest file (`MANIFEST.<seq>`), setting `stalled`.
#[derive(Debug)]
struct StallBeforeManifestCreate {
    disk: SimDisk,
    paused: Arc<AtomicBool>,
    stalled: Arc<AtomicBool>,
}

impl StallBeforeManifestCreate {
    fn stall_if_publishing(&self, path: &Path) {
        let manifest = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with("MANIFEST."));
        if !manifest || thread::current().name() != Some("snapshotter") {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.paused.load(Ordering::SeqCst) && Instant::now() < deadline {
            self.stalled.store(true, Ordering::SeqCst);
            thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Io for StallBeforeManifestCreate {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.disk.create_dir_all(path)
    }
    fn open(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        self.disk.open(path)
    }
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        self.stall_if_publishing(path);
        self.disk.create_new(path)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.disk.read(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.disk.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.disk.remove_file(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.disk.sync_dir(path)
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        self.disk.list_dir(path)
    }
}

/// What went wrong when the store was reopened after the race.
fn broken_promises() -> Vec<String> {
    let disk = SimDisk::new();
    let paused = Arc::new(AtomicBool::new(true));
    let stalled = Arc::new(AtomicBool::new(false));
    let hooked: Arc<dyn Io> = Arc::new(StallBeforeManifestCreate {
        disk: disk.clone(),
        paused: paused.clone(),
        stalled: stalled.clone(),
    });
    let stalling = sim_store(hooked).unwrap();
    let mut acknowledged = Vec::new();
    for key in ["a", "b", "c"] {
        stalling.put(key, b"first holder").unwrap();
        acknowledged.push(key.to_string());
    }
    thread::scope(|scope| {
        let snapshotter = thread::Builder::new()
            .name("snapshotter".into())
            .spawn_scoped(scope, || stalling.snapshot())
            .unwrap();
        wait_for(&stalled);
        // Another process takes over once the lease expired, writes across several
        // segments, compacts them away under its own manifest, and lets go.
        let taker = sim_store(Arc::new(disk.clone())).unwrap();
        for index in 0..10 {
            let key = format!("k{index}");
            taker.put(&key, b"second holder").unwrap();
            acknowledged.push(key);
        }
        assert!(taker.snapshot().unwrap().segments_deleted > 0);
        drop(taker);
        paused.store(false, Ordering::SeqCst);
        let _ = snapshotter.join().unwrap();
    });
    drop(stalling);
    let reopened = match sim_store(Arc::new(disk)) {
        Ok(store) => store,
        Err(error) => return vec![format!("refuses to open: {error}")],
    };
    acknowledged
        .into_iter()
        .filter(|key| !matches!(reopened.get(key), Ok(Some(_))))
        .map(|key| format!("acknowledged write {key} lost"))
        .collect()
}

#[test]
fn with_the_mutant_a_paused_publisher_overwrites_a_newer_manifest() {
    assert_eq!(broken_promises(), Vec::<String>::new());
    mutant::activate(Mutant::ManifestSwapUnchecked).unwrap();
    let broken = broken_promises();
    assert!(!broken.is_empty(), "the stale publish did no harm");
}
