#![cfg(feature = "mutants")]
//! Mutant 2, `group-commit-uncovered-ack`: group commit releases a follower as soon as the
//! leader's flush completes, although that flush was taken before the follower's record was
//! appended and did not cover it. Exposed by a **power cut** while concurrent writers share
//! fsyncs: the clean store keeps every acknowledged write; with the mutant the follower's
//! acknowledged record was never even written.

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use store::io::sim::SimDisk;
use store::io::{Io, SyncHookIo};
use store::mutant::{self, Mutant};
use store::Store;

fn sim_store(io: Arc<dyn Io>) -> Store {
    common::open_on(io, 200).unwrap()
}

/// The leader's first fsync waits until a follower has appended its record and is waiting;
/// then the power is cut (on a copy of the disk, at once) and the keys the copy lacks of the
/// acknowledged ones are returned.
fn acknowledged_writes_lost() -> Vec<&'static str> {
    let disk = SimDisk::new();
    let (in_fsync, leader_in_fsync) = mpsc::channel();
    let (release_leader, leader_released) = mpsc::channel::<()>();
    let gate = Mutex::new(Some((in_fsync, leader_released)));
    let io = SyncHookIo::over(Arc::new(disk.clone()), move || {
        if thread::current().name() == Some("leader") {
            if let Some((in_fsync, released)) = gate.lock().unwrap().take() {
                in_fsync.send(()).unwrap();
                let _ = released.recv_timeout(Duration::from_secs(10));
            }
        }
        Ok(())
    });
    let store = sim_store(Arc::new(io));
    thread::scope(|scope| {
        let leader = thread::Builder::new()
            .name("leader".into())
            .spawn_scoped(scope, || store.put("leader", b"1"))
            .unwrap();
        leader_in_fsync
            .recv_timeout(Duration::from_secs(10))
            .unwrap();
        let follower = scope.spawn(|| store.put("follower", b"2"));
        // Long enough for the follower to append and wait behind the leader's flush.
        thread::sleep(Duration::from_millis(200));
        release_leader.send(()).unwrap();
        leader.join().unwrap().unwrap();
        follower.join().unwrap().unwrap();
    });
    let crashed = disk.crashed_copy(1);
    let reopened = sim_store(Arc::new(crashed));
    ["leader", "follower"]
        .into_iter()
        .filter(|key| reopened.get(key).unwrap().is_none())
        .collect()
}

#[test]
fn with_the_mutant_a_follower_the_leaders_fsync_did_not_cover_is_acknowledged_and_lost() {
    assert_eq!(acknowledged_writes_lost(), Vec::<&str>::new());
    mutant::activate(Mutant::GroupCommitUncoveredAck).unwrap();
    assert_eq!(acknowledged_writes_lost(), vec!["follower"]);
}
