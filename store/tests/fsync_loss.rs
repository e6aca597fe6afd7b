//! A failed fsync followed by a power cut, on the simulated disk (which marks the pages of a
//! failed fsync clean, as Linux does): the records it lost were answered `info`, so they may
//! vanish, but the store must keep building only on what is durable and open after the cut.

mod common;

use std::path::Path;
use std::sync::Arc;

use store::io::sim::SimDisk;
use store::{Outcome, Store};

fn sim_store(disk: &SimDisk, dir: &Path) -> Store {
    Store::open(dir, common::sim_options(Arc::new(disk.clone()), 300)).unwrap()
}

#[test]
fn a_power_cut_after_a_failed_fsync_keeps_every_acknowledged_write() {
    let dir = Path::new("/store");
    for seed in 1..20u64 {
        let disk = SimDisk::new();
        let store = sim_store(&disk, dir);
        store.put("a", b"1").unwrap();
        disk.fail_next_sync();
        let lost = store.put("b", b"2").unwrap_err();
        assert_eq!(lost.outcome(), Outcome::Indeterminate, "{lost}");
        // The next write takes the lease again and must not build on the lost record.
        store.put("c", b"3").unwrap();
        drop(store);
        disk.power_cut(seed);
        let store = sim_store(&disk, dir);
        assert_eq!(store.get("a").unwrap().unwrap().value, b"1");
        assert_eq!(store.get("c").unwrap().unwrap().value, b"3");
        store.check_invariants().unwrap();
    }
}

/// The rebuild after a failed fsync drops only the failed holder's own records: if another
/// holder took over in between and acknowledged writes built on them, those stay.
#[test]
fn a_rebuild_after_a_failed_fsync_keeps_another_holders_acknowledged_writes() {
    let dir = Path::new("/store");
    let disk = SimDisk::new();
    let first = sim_store(&disk, dir);
    first.put("a", b"1").unwrap();
    disk.fail_next_sync();
    let lost = first.put("b", b"2").unwrap_err();
    assert_eq!(lost.outcome(), Outcome::Indeterminate, "{lost}");
    // Another handle takes over (after the lease) and acknowledges a write.
    let second = sim_store(&disk, dir);
    second.put("c", b"3").unwrap();
    drop(second);
    // The first handle rebuilds: it must see the acknowledged write.
    assert_eq!(first.get("c").unwrap().unwrap().value, b"3");
    first.put("d", b"4").unwrap();
    drop(first);
    let reopened = sim_store(&disk, dir);
    for (key, value) in [("a", b"1"), ("c", b"3"), ("d", b"4")] {
        assert_eq!(reopened.get(key).unwrap().unwrap().value, value, "{key}");
    }
}
