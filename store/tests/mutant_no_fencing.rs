#![cfg(feature = "mutants")]
//! Mutant 10, `no-fencing` (a lease without fencing tokens: the holder that stalled past its
//! lease, in Kleppmann's HBase example, kept writing): every fencing check of the lease lock
//! passes. Exposed by a **pause** (SIGSTOP past the lease, then SIGCONT) of a holder while
//! another process takes over and writes: the clean holder learns it was fenced and answers
//! `info` or catches up; with the mutant it acknowledges a write into its old epoch's
//! segment, which recovery ignores, and reads stale state.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use store::io::sim::SimDisk;
use store::io::{Io, SyncHookIo};
use store::mutant::{self, Mutant};
use store::{Store, StoreOptions};

fn sim_store(io: Arc<dyn Io>, idle_release_ms: u64) -> Store {
    let options = StoreOptions {
        idle_release_ms,
        ..common::sim_options(io, 200)
    };
    Store::open(Path::new(common::DIR), options).unwrap()
}

/// Waits (at most 10 s) until `flag` is set.
fn wait_for(flag: &AtomicBool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !flag.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "timed out");
        thread::sleep(Duration::from_millis(1));
    }
}

/// What went wrong: stale reads and acknowledged writes missing after a reopen.
fn broken_promises() -> Vec<String> {
    let disk = SimDisk::new();
    let paused = Arc::new(AtomicBool::new(false));
    let stalled = Arc::new(AtomicBool::new(false));
    let hook = {
        let (paused, stalled) = (paused.clone(), stalled.clone());
        move || {
            // A stalled process: its every fsync (the lease keeper's heartbeat first) waits.
            let deadline = Instant::now() + Duration::from_secs(10);
            while paused.load(Ordering::SeqCst) && Instant::now() < deadline {
                stalled.store(true, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(1));
            }
            Ok(())
        }
    };
    let stalling = sim_store(
        Arc::new(SyncHookIo::over(Arc::new(disk.clone()), hook)),
        600_000,
    );
    let mut acknowledged = Vec::new();
    stalling.put("a", b"1").unwrap();
    acknowledged.push("a");
    paused.store(true, Ordering::SeqCst);
    wait_for(&stalled);
    // Another process takes the lease over once it expired, writes, and lets go.
    let taker = sim_store(Arc::new(disk.clone()), 0);
    taker.put("b", b"2").unwrap();
    acknowledged.push("b");
    drop(taker);
    paused.store(false, Ordering::SeqCst);
    let mut broken = Vec::new();
    if let Ok(None) = stalling.get("b") {
        broken.push("stale read: b is absent".to_string());
    }
    if stalling.put("c", b"3").is_ok() {
        acknowledged.push("c");
    }
    drop(stalling);
    let reopened = sim_store(Arc::new(disk), 600_000);
    for key in acknowledged {
        if reopened.get(key).unwrap().is_none() {
            broken.push(format!("acknowledged write {key} lost"));
        }
    }
    broken
}

#[test]
fn with_the_mutant_a_stalled_holder_acknowledges_writes_that_are_lost() {
    assert_eq!(broken_promises(), Vec::<String>::new());
    mutant::activate(Mutant::NoFencing).unwrap();
    assert_eq!(
        broken_promises(),
        vec!["stale read: b is absent", "acknowledged write c lost"]
    );
}
