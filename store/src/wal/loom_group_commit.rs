//! Loom models of group commit (`--cfg loom`; run by `.ci/loom`).
//!
//! The flush is modelled as two steps on a shared "disk" (write, then fsync) with the core's
//! mutex released in between, so loom explores every interleaving of appends, leaders,
//! followers and wake-ups. Properties checked in every interleaving:
//! - no writer is acknowledged (`sync` returns `Ok`) before a completed fsync covered its LSN;
//! - no lost wake-up: every writer returns (loom reports a deadlock otherwise);
//! - a failed fsync acknowledges nobody whose record it carried.
//!
//! Loom's `wait_timeout` never times out, so the models run with gathering off
//! (`gather_wait_max` zero); gathering only delays the take and cannot change what is
//! acknowledged.
//!
//! `loom_buggy_follower_is_caught` runs the same model on a mutated core whose followers
//! return as soon as any flush completed, and must fail.

use std::time::Duration;

use loom::sync::{Arc, Mutex};
use loom::thread;

use super::group_commit::{CommitError, GroupCommit};

/// What the modelled disk holds: the highest LSN written, and the highest made durable.
#[derive(Debug, Default)]
struct Disk {
    written_lsn: u64,
    durable_lsn: u64,
    fail_fsync: bool,
}

type Core = GroupCommit<Vec<u64>>;

fn flush(disk: &Mutex<Disk>, batch: Vec<u64>) -> Result<(), &'static str> {
    {
        let mut disk = disk.lock().unwrap();
        for lsn in batch {
            assert_eq!(lsn, disk.written_lsn + 1, "records written out of order");
            disk.written_lsn = lsn;
        }
    }
    // The fsync is a separate step: other threads run between the write and the sync.
    let mut disk = disk.lock().unwrap();
    if disk.fail_fsync {
        return Err("fsync failed");
    }
    disk.durable_lsn = disk.written_lsn;
    Ok(())
}

/// One writer: append a record, sync it, check the acknowledgement.
fn writer(core: &Core, disk: &Mutex<Disk>) -> Result<u64, CommitError<&'static str>> {
    let lsn = core.append(|lsn, _, pending: &mut Vec<u64>| {
        pending.push(lsn);
        Ok(())
    })?;
    core.sync(lsn, std::mem::take, |batch| flush(disk, batch))?;
    let durable = disk.lock().unwrap().durable_lsn;
    assert!(
        durable >= lsn,
        "lsn {lsn} acknowledged, but only {durable} is durable"
    );
    Ok(lsn)
}

fn run_writers(writers: usize, core: Core, fail_fsync: bool) {
    let core = Arc::new(core);
    let disk = Arc::new(Mutex::new(Disk {
        fail_fsync,
        ..Disk::default()
    }));
    let handles: Vec<_> = (0..writers)
        .map(|_| {
            let (core, disk) = (Arc::clone(&core), Arc::clone(&disk));
            thread::spawn(move || writer(&core, &disk))
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    if fail_fsync {
        assert!(results.iter().all(Result::is_err), "{results:?}");
    } else {
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert_eq!(disk.lock().unwrap().durable_lsn, writers as u64);
    }
    core.with_state(|state| state.check_invariants()).unwrap();
}

#[test]
fn loom_two_writers_are_acknowledged_only_after_a_covering_fsync() {
    loom::model(|| run_writers(2, GroupCommit::new(0, Vec::new(), Duration::ZERO), false));
}

#[test]
fn loom_three_writers_share_fsyncs_without_lost_wakeups() {
    loom::model(|| run_writers(3, GroupCommit::new(0, Vec::new(), Duration::ZERO), false));
}

#[test]
fn loom_a_failed_fsync_acknowledges_nobody() {
    loom::model(|| run_writers(2, GroupCommit::new(0, Vec::new(), Duration::ZERO), true));
}

#[test]
#[should_panic(expected = "acknowledged, but only")]
fn loom_buggy_follower_is_caught() {
    loom::model(|| {
        let mut core = GroupCommit::new(0, Vec::new(), Duration::ZERO);
        core.release_on_any_flush = true;
        run_writers(2, core, false);
    });
}
