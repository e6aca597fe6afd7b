#![cfg(feature = "mutants")]
//! Mutant 14, `gc-ignores-pins` (a collector that computes reachability from the durable roots
//! only, the manifest and the log, as if no reader or writer were in the middle of something).
//! Exposed by **GC running concurrently** with (a) a large put whose value blob is written but
//! whose record is not yet on disk: the put is acknowledged, and its value is gone at the next
//! catch-up or restart; (b) a pinned snapshot reader after a newer snapshot was published: its
//! next read fails.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use store::io::SyncHookIo;
use store::mutant::{self, Mutant};
use store::{Store, StoreError, StoreOptions};

fn options() -> StoreOptions {
    StoreOptions {
        gc_grace_ms: 0,
        lease_ms: 1_000,
        lock_wait_ms: 20_000,
        ..StoreOptions::default()
    }
}

fn value(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i % 251) as u8))
        .collect()
}

fn value_blob_count(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("blobs")).map_or(0, |entries| {
        entries
            .filter(|entry| {
                let name = entry.as_ref().unwrap().file_name();
                let name = name.to_string_lossy();
                name.starts_with("v-") && name.ends_with(".blob")
            })
            .count()
    })
}

/// Blocks the first file fsync after `arm` until `open`: (armed, entered, open).
#[derive(Default)]
struct Gate {
    state: Mutex<(bool, bool, bool)>,
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
            let wait = self.changed.wait_timeout(state, Duration::from_millis(50));
            state = wait.unwrap().0;
        }
    }

    fn wait_entered(&self) {
        let mut state = self.state.lock().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !state.1 {
            assert!(Instant::now() < deadline, "the fsync was never reached");
            let wait = self.changed.wait_timeout(state, Duration::from_millis(50));
            state = wait.unwrap().0;
        }
    }

    fn set(&self, armed: bool, open: bool) {
        let mut state = self.state.lock().unwrap();
        state.0 = armed;
        state.2 = open;
        self.changed.notify_all();
    }
}

/// (a): GC while an acknowledged large put is in flight; then a restart reads the value back.
fn in_flight_put_then_restart() -> Result<Vec<u8>, StoreError> {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Gate::default());
    let hooked = Arc::clone(&gate);
    let hooked_options = StoreOptions {
        io: Arc::new(SyncHookIo::new(move || {
            hooked.hook();
            Ok(())
        })),
        lease_ms: 60_000,
        idle_release_ms: 600_000,
        max_hold_ms: 0,
        ..options()
    };
    let store = Store::open(dir.path(), hooked_options).unwrap();
    let big = value(1, 4000);
    std::thread::scope(|scope| {
        gate.set(true, false);
        // A small put whose group-commit fsync stalls; the large put's record queues after it.
        let stalled = scope.spawn(|| store.put("small", b"s").unwrap());
        gate.wait_entered();
        let in_flight = scope.spawn(|| store.put("big", &big).unwrap());
        let deadline = Instant::now() + Duration::from_secs(20);
        while value_blob_count(dir.path()) == 0 {
            assert!(
                Instant::now() < deadline,
                "the value blob was never written"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        store.gc().unwrap();
        gate.set(false, true);
        stalled.join().unwrap();
        // Acknowledged, whatever GC did.
        in_flight.join().unwrap();
    });
    drop(store);
    let reopened = Store::open(dir.path(), options())?;
    Ok(reopened
        .get("big")?
        .map(|entry| entry.value)
        .unwrap_or_default())
}

/// (b): GC after a newer snapshot was published; then the pinned reader reads.
fn pinned_reader_after_gc() -> Result<Vec<u8>, StoreError> {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    store.put("k", b"old").unwrap();
    let reader = store.pin_snapshot().unwrap();
    store.put("k", b"new").unwrap();
    store.snapshot().unwrap();
    store.gc().unwrap();
    Ok(reader
        .get("k")?
        .map(|entry| entry.value)
        .unwrap_or_default())
}

#[test]
fn with_the_mutant_gc_deletes_blobs_that_an_in_flight_write_and_a_pinned_reader_need() {
    assert_eq!(in_flight_put_then_restart().unwrap(), value(1, 4000));
    assert_eq!(pinned_reader_after_gc().unwrap(), b"old");

    mutant::activate(Mutant::GcIgnoresPins).unwrap();
    let error = in_flight_put_then_restart().unwrap_err();
    assert!(
        matches!(&error, StoreError::ValueBlob { .. }) && error.code() == "corrupt",
        "an acknowledged value's blob is gone: {error}"
    );
    let error = pinned_reader_after_gc().unwrap_err();
    assert!(
        error.to_string().contains("not found"),
        "the pinned snapshot's blob is gone: {error}"
    );
}
