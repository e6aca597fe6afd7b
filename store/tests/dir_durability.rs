//! Directories the store creates are durable: after each mkdir that created something, the
//! parent directory is fsynced (else a power cut can lose the whole store, or its `wal/`).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use store::io::{Io, IoFile, StdIo};
use store::{Store, StoreOptions};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    CreateDir(PathBuf),
    SyncDir(PathBuf),
}

#[derive(Debug, Default)]
struct RecordingIo {
    events: Mutex<Vec<Event>>,
}

impl Io for RecordingIo {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.events
            .lock()
            .unwrap()
            .push(Event::CreateDir(path.to_path_buf()));
        StdIo.create_dir_all(path)
    }
    fn open(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        StdIo.open(path)
    }
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        StdIo.create_new(path)
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
        self.events
            .lock()
            .unwrap()
            .push(Event::SyncDir(path.to_path_buf()));
        StdIo.sync_dir(path)
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        StdIo.list_dir(path)
    }
}

#[test]
fn every_directory_the_store_creates_is_made_durable_in_its_parent() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("nested").join("store");
    let io = Arc::new(RecordingIo::default());
    let options = StoreOptions {
        io: io.clone(),
        ..StoreOptions::default()
    };
    let store = Store::open(&dir, options).unwrap();
    store.put("k", b"v").unwrap();
    store.snapshot().unwrap();
    let _pin = store.pin_snapshot().unwrap();
    let events = io.events.lock().unwrap().clone();
    let mut created = vec![root.path().join("nested"), dir.clone()];
    for sub in ["wal", "lock", "blobs", "pins"] {
        if dir.join(sub).is_dir() {
            created.push(dir.join(sub));
        }
    }
    assert!(created.len() >= 5, "{created:?}");
    for made in &created {
        let creation = events
            .iter()
            .position(|e| matches!(e, Event::CreateDir(p) if p.starts_with(made)))
            .unwrap_or_else(|| panic!("{} was created without create_dir_all", made.display()));
        let parent = made.parent().unwrap().to_path_buf();
        assert!(
            events[creation..].contains(&Event::SyncDir(parent.clone())),
            "{} created but {} never fsynced after it: {events:?}",
            made.display(),
            parent.display()
        );
    }
}
