//! IO faults through the `Io` seam: a failing fsync and a full disk. Nothing may be
//! acknowledged that a failed fsync may have lost (the answer is `info`), the store must keep
//! working once the fault heals, and every acknowledged write must still be there.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use store::io::{Io, IoFile, StdIo};
use store::{Outcome, Store, StoreOptions};

/// Which faults are switched on, shared by the Io and every file it opened.
#[derive(Debug, Default)]
struct Faults {
    fail_file_sync: AtomicBool,
    disk_full: AtomicBool,
}

#[derive(Debug)]
struct FaultyIo {
    inner: StdIo,
    faults: Arc<Faults>,
}

#[derive(Debug)]
struct FaultyFile {
    inner: Box<dyn IoFile>,
    faults: Arc<Faults>,
}

impl IoFile for FaultyFile {
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        if self.faults.disk_full.load(Ordering::SeqCst) {
            return Err(io::Error::from(io::ErrorKind::StorageFull));
        }
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
        if self.faults.fail_file_sync.load(Ordering::SeqCst) {
            return Err(io::Error::other("injected fsync failure"));
        }
        self.inner.sync()
    }
}

impl FaultyIo {
    fn wrap(&self, file: Box<dyn IoFile>) -> Box<dyn IoFile> {
        Box::new(FaultyFile {
            inner: file,
            faults: self.faults.clone(),
        })
    }
}

impl Io for FaultyIo {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.inner.create_dir_all(path)
    }
    fn open(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        self.inner.open(path).map(|file| self.wrap(file))
    }
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        self.inner.create_new(path).map(|file| self.wrap(file))
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

fn faulty_store(dir: &Path) -> (Store, Arc<Faults>) {
    let faults = Arc::new(Faults::default());
    let io = Arc::new(FaultyIo {
        inner: StdIo,
        faults: faults.clone(),
    });
    let options = StoreOptions {
        io,
        idle_release_ms: 600_000,
        lease_ms: 300,
        ..StoreOptions::default()
    };
    (Store::open(dir, options).unwrap(), faults)
}

#[test]
fn a_failed_fsync_is_never_acknowledged_and_the_store_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let (store, faults) = faulty_store(dir.path());
    let acked = store.put("a", b"1").unwrap();

    faults.fail_file_sync.store(true, Ordering::SeqCst);
    // Writers whose records reached the failed flush learn "may have happened"; writers that
    // came later fail to take the lock again and learn "did not happen". None is acknowledged.
    let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|writer| {
                let store = &store;
                scope.spawn(move || store.put(&format!("w{writer}"), b"x"))
            })
            .collect();
        let results = handles.into_iter().map(|h| h.join().unwrap());
        results
            .map(|r| r.expect_err("acknowledged").outcome())
            .collect()
    });
    assert!(outcomes.contains(&Outcome::Indeterminate), "{outcomes:?}");
    let read = store.get("a");
    assert!(
        read.is_err(),
        "a read must not answer while the disk cannot be synced: {read:?}"
    );

    faults.fail_file_sync.store(false, Ordering::SeqCst);
    let entry = store.get("a").unwrap().unwrap();
    assert_eq!((entry.value.as_slice(), entry.version), (&b"1"[..], acked));
    let after = store.put("a", b"2").unwrap();
    assert!(after > acked);
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
    drop(store);
    let reopened = Store::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(reopened.get("a").unwrap().unwrap().version, after);
}

#[test]
fn a_full_disk_fails_cleanly_and_the_store_works_again_once_space_is_freed() {
    let dir = tempfile::tempdir().unwrap();
    let (store, faults) = faulty_store(dir.path());
    let acked = store.put("a", b"1").unwrap();
    faults.disk_full.store(true, Ordering::SeqCst);
    assert!(
        store.put("a", b"2").is_err(),
        "a write on a full disk was acknowledged"
    );
    assert!(
        store.snapshot().is_err(),
        "a snapshot on a full disk was reported written"
    );
    faults.disk_full.store(false, Ordering::SeqCst);
    let entry = store.get("a").unwrap().unwrap();
    assert!(entry.version >= acked);
    store.put("b", b"3").unwrap();
    store.snapshot().unwrap();
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
}

#[test]
fn the_server_answers_info_when_an_fsync_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (store, faults) = faulty_store(dir.path());
    faults.fail_file_sync.store(true, Ordering::SeqCst);
    let input = "{\"id\":1,\"op\":\"put\",\"key\":\"k\",\"value\":\"v\"}\n";
    let mut output = Vec::new();
    store::serve::serve(&store, input.as_bytes(), &mut output, 2).unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(answer["type"], "info", "{answer}");
    assert_eq!(answer["error"], "indeterminate");
}
