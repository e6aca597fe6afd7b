//! Large values kept as content-addressed value blobs named by WAL records: they survive
//! restart, another handle catches up on them, compaction folds them into the snapshot and GC
//! then collects them, GC keeps those of writes in flight and of pinned snapshots, and a
//! missing or damaged value blob is a clear `corrupt` error naming the blob and the LSN.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use store::blob::{encode_blob, BlobId, BlobStore};
use store::io::sim::SimDisk;
use store::io::{Io, SyncHookIo};
use store::record::ValueRef;
use store::{CasExpected, CasOutcome, Store, StoreError, StoreOptions};

fn options() -> StoreOptions {
    StoreOptions {
        gc_grace_ms: 0,
        lease_ms: 1_000,
        lock_wait_ms: 20_000,
        ..StoreOptions::default()
    }
}

/// A value of `len` bytes that differs per `seed`.
fn value(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i % 251) as u8))
        .collect()
}

fn value_blobs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir.join("blobs")) else {
        return Vec::new();
    };
    let mut blobs: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with("v-") && name.ends_with(".blob")
        })
        .collect();
    blobs.sort();
    blobs
}

#[test]
fn large_values_survive_restart_and_small_ones_stay_inline() {
    let dir = tempfile::tempdir().unwrap();
    let threshold = StoreOptions::default().blob_threshold_bytes;
    assert_eq!(threshold, 1024);
    let (big, also_big, batched) = (value(1, 5000), value(2, threshold), value(3, 70_000));
    {
        let store = Store::open(dir.path(), options()).unwrap();
        store.put("small", &value(9, threshold - 1)).unwrap();
        store.put("big", &big).unwrap();
        let expected = CasExpected::Value(big.clone());
        assert!(matches!(
            store.cas("big", &expected, &also_big).unwrap(),
            CasOutcome::Written(_)
        ));
        let mut batch = store.batch();
        batch.put("batched", &batched).unwrap();
        batch.put("twice", &batched).unwrap();
        batch.put("small2", b"x").unwrap();
        batch.commit().unwrap();
        // Three distinct large values: equal values share one blob.
        assert_eq!(value_blobs(dir.path()).len(), 3);
        assert_eq!(store.verify().unwrap(), Vec::<String>::new());
    }
    let store = Store::open(dir.path(), options()).unwrap();
    assert_eq!(store.get("big").unwrap().unwrap().value, also_big);
    assert_eq!(store.get("batched").unwrap().unwrap().value, batched);
    assert_eq!(store.get("twice").unwrap().unwrap().value, batched);
    assert_eq!(store.get("small").unwrap().unwrap().value.len(), 1023);
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
    let gc = store.gc().unwrap();
    assert_eq!(
        gc.value_blobs_deleted, 0,
        "every record, the overwritten one too, is in the live log: {gc:?}"
    );
}

#[test]
fn another_handle_catches_up_on_large_values() {
    let dir = tempfile::tempdir().unwrap();
    let first = Store::open(dir.path(), options()).unwrap();
    let second = Store::open(dir.path(), options()).unwrap();
    let big = value(4, 10_000);
    let version = first.put("k", &big).unwrap();
    let read = second.get("k").unwrap().unwrap();
    assert_eq!((read.value, read.version), (big, version));
    let bigger = value(5, 20_000);
    second.put("k", &bigger).unwrap();
    assert_eq!(first.get("k").unwrap().unwrap().value, bigger);
    assert_eq!(first.verify().unwrap(), Vec::<String>::new());
}

#[test]
fn compaction_folds_large_values_into_the_snapshot_and_gc_collects_their_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    let (old, new) = (value(6, 3000), value(7, 3000));
    store.put("k", &old).unwrap();
    store.put("k", &new).unwrap();
    assert_eq!(value_blobs(dir.path()).len(), 2);
    let gc = store.gc().unwrap();
    assert_eq!(
        gc.value_blobs_deleted, 0,
        "both records are in the live log: {gc:?}"
    );
    store.snapshot().unwrap();
    let after_snapshot = value(8, 3000);
    store.put("later", &after_snapshot).unwrap();
    let gc = store.gc().unwrap();
    assert_eq!(gc.value_blobs_deleted, 2, "{gc:?}");
    assert_eq!(value_blobs(dir.path()).len(), 1, "the live record's blob");
    assert_eq!(store.get("k").unwrap().unwrap().value, new);
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
    drop(store);
    let reopened = Store::open(dir.path(), options()).unwrap();
    assert_eq!(reopened.get("k").unwrap().unwrap().value, new);
    assert_eq!(
        reopened.get("later").unwrap().unwrap().value,
        after_snapshot
    );
    // Writing a collected value again stores its blob again.
    reopened.put("again", &old).unwrap();
    drop(reopened);
    let reopened = Store::open(dir.path(), options()).unwrap();
    assert_eq!(reopened.get("again").unwrap().unwrap().value, old);
}

#[test]
fn a_missing_value_blob_is_a_corrupt_error_naming_blob_and_lsn() {
    let dir = tempfile::tempdir().unwrap();
    let version = {
        let store = Store::open(dir.path(), options()).unwrap();
        store.put("k", &value(10, 2000)).unwrap()
    };
    let blob = value_blobs(dir.path()).pop().unwrap();
    std::fs::remove_file(&blob).unwrap();
    let error = Store::open(dir.path(), options()).unwrap_err();
    let id = blob.file_stem().unwrap().to_string_lossy().into_owned();
    assert!(
        matches!(&error, StoreError::ValueBlob { lsn, blob, .. } if *lsn == version && *blob == id),
        "{error:?}"
    );
    assert_eq!(error.code(), "corrupt");
    let message = error.to_string();
    assert!(
        message.contains(&id) && message.contains(&format!("lsn {version}")),
        "{message}"
    );
}

#[test]
fn a_damaged_value_blob_is_a_corrupt_error_and_verify_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let keep_lock = StoreOptions {
        idle_release_ms: 600_000,
        ..options()
    };
    let store = Store::open(dir.path(), keep_lock).unwrap();
    store.put("k", &value(11, 2000)).unwrap();
    let blob = value_blobs(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&blob, &bytes).unwrap();
    let problems = store.verify().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("value blob") && p.contains("lsn")),
        "{problems:?}"
    );
    drop(store);
    let error = Store::open(dir.path(), options()).unwrap_err();
    assert_eq!(error.code(), "corrupt", "{error}");
    assert!(error.to_string().contains("checksum"), "{error}");
}

/// Blocks the first file fsync after [`Gate::arm`] until [`Gate::open`].
#[derive(Default)]
struct Gate {
    state: Mutex<(bool, bool, bool)>, // (armed, entered, open)
    changed: Condvar,
}

impl Gate {
    fn hook(&self) {
        let mut state = self.state.lock().unwrap();
        if !state.0 {
            return;
        }
        state.0 = false;
        state.1 = true;
        self.changed.notify_all();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !state.2 && Instant::now() < deadline {
            state = self
                .changed
                .wait_timeout(state, Duration::from_millis(50))
                .unwrap()
                .0;
        }
    }

    fn arm(&self) {
        self.state.lock().unwrap().0 = true;
    }

    fn wait_entered(&self) {
        let mut state = self.state.lock().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !state.1 {
            assert!(Instant::now() < deadline, "the fsync was never reached");
            state = self
                .changed
                .wait_timeout(state, Duration::from_millis(50))
                .unwrap()
                .0;
        }
    }

    fn open(&self) {
        self.state.lock().unwrap().2 = true;
        self.changed.notify_all();
    }
}

/// GC runs while a large put is in flight: its blob is stored, its record appended but not yet
/// written (it waits for the group commit round after one whose fsync is stalled). GC must
/// keep the blob: the write is acknowledged, so its value must read back after a restart.
#[test]
fn gc_keeps_the_blob_of_a_write_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Gate::default());
    let hooked = Arc::clone(&gate);
    let options = StoreOptions {
        io: Arc::new(SyncHookIo::new(move || {
            hooked.hook();
            Ok(())
        })),
        lease_ms: 60_000,
        idle_release_ms: 600_000,
        max_hold_ms: 0,
        ..options()
    };
    let store = Store::open(dir.path(), options).unwrap();
    let big = value(12, 4000);
    let gc = std::thread::scope(|scope| {
        gate.arm();
        let stalled = scope.spawn(|| store.put("small", b"s").unwrap());
        gate.wait_entered();
        let in_flight = scope.spawn(|| store.put("big", &big).unwrap());
        let deadline = Instant::now() + Duration::from_secs(20);
        while value_blobs(dir.path()).is_empty() {
            assert!(
                Instant::now() < deadline,
                "the value blob was never written"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        // GC takes the state mutex, so the in-flight put has appended its record by now.
        let gc = store.gc().unwrap();
        gate.open();
        stalled.join().unwrap();
        in_flight.join().unwrap();
        gc
    });
    assert_eq!(gc.value_blobs_deleted, 0, "{gc:?}");
    drop(store);
    let reopened = Store::open(dir.path(), self::options()).unwrap();
    assert_eq!(reopened.get("big").unwrap().unwrap().value, big);
    assert_eq!(reopened.verify().unwrap(), Vec::<String>::new());
}

#[test]
fn gc_keeps_a_pinned_snapshot_with_large_values_readable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    let old = value(13, 4000);
    store.put("k", &old).unwrap();
    let reader = store.pin_snapshot().unwrap();
    store.put("k", &value(14, 4000)).unwrap();
    store.snapshot().unwrap();
    let gc = store.gc().unwrap();
    assert_eq!(
        gc.value_blobs_deleted, 2,
        "values live inline in snapshots: {gc:?}"
    );
    assert_eq!(reader.get("k").unwrap().unwrap().value, old);
}

#[test]
fn gc_deletes_nothing_when_the_live_log_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let keep_lock = StoreOptions {
        idle_release_ms: 600_000,
        ..options()
    };
    let store = Store::open(dir.path(), keep_lock).unwrap();
    store.put("k", &value(15, 3000)).unwrap();
    store.put("k", &value(16, 3000)).unwrap();
    store.snapshot().unwrap();
    // Garbage (the snapshot holds the values) once the log is read, but the log is damaged:
    // a flip in its first record, which later valid records prove was durable.
    store.put("later", &value(17, 3000)).unwrap();
    let mut segments: Vec<PathBuf> = std::fs::read_dir(dir.path().join("wal"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    segments.sort();
    let newest = segments.last().unwrap();
    let mut bytes = std::fs::read(newest).unwrap();
    bytes[40 + 50] ^= 0x01;
    std::fs::write(newest, &bytes).unwrap();
    let gc = store.gc().unwrap();
    assert_eq!(gc.blobs_deleted, 0, "{gc:?}");
    assert!(
        gc.kept_all_because
            .as_deref()
            .is_some_and(|why| why.contains("log")),
        "{gc:?}"
    );
    assert_eq!(value_blobs(dir.path()).len(), 3);
}

/// A value blob whose writer died after its rename but before its directory fsync is complete
/// but its name is not durable. A later write of the same value finds it stored: it must make
/// the name durable before its record, or a power cut loses the blob of an acknowledged write.
#[test]
fn a_value_found_stored_has_its_name_made_durable_before_its_record() {
    let disk = SimDisk::new();
    let dir = Path::new("/store");
    let sim_options = || StoreOptions {
        io: Arc::new(disk.clone()),
        idle_release_ms: 600_000,
        ..options()
    };
    let big = value(18, 3000);
    let store = Store::open(dir, sim_options()).unwrap();
    // What a writer killed between step 5 (rename) and step 6 (fsync blobs/) leaves.
    let id = BlobId::new(ValueRef::for_value(&big).blob.to_string()).unwrap();
    let blobs = BlobStore::open(Arc::new(disk.clone()), &dir.join("blobs")).unwrap();
    let temporary = dir.join("blobs").join(format!("{id}.tmp"));
    let file = disk.create_new(&temporary).unwrap();
    file.write_at(0, &encode_blob(&id, &big)).unwrap();
    file.sync().unwrap();
    disk.rename(&temporary, &blobs.path(&id)).unwrap();
    store.put("k", &big).unwrap();
    drop(store);
    disk.power_cut(3);
    let reopened = Store::open(dir, sim_options()).unwrap();
    assert_eq!(reopened.get("k").unwrap().unwrap().value, big);
}
