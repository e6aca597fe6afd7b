//! A holder killed between writing its manifest and fsyncing it leaves a manifest that the next
//! holder reads as current but a power cut can lose. The next holder's compaction, finding
//! that manifest already covers its state, deletes the log segments it covers: it must first
//! make that manifest durable (`ManifestStore::read_durable`), or after a power cut the store
//! falls back to no manifest and a log whose first segments are gone.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use store::io::sim::SimDisk;
use store::io::{Io, SyncHookIo};
use store::wal::WalOptions;
use store::{Store, StoreOptions};

fn options(io: Arc<dyn Io>) -> StoreOptions {
    StoreOptions {
        wal: WalOptions {
            // A few records per segment, so a snapshot covers sealed segments.
            segment_max_bytes: 200,
            ..WalOptions::default()
        },
        ..common::sim_options(io, 200)
    }
}

#[test]
fn compaction_by_a_manifest_another_holder_never_fsynced_survives_a_power_cut() {
    let disk = SimDisk::new();
    let dir = Path::new("/store");
    let killed = Arc::new(AtomicBool::new(false));
    let (listing, once) = (disk.clone(), killed.clone());
    // The first file sync once a manifest file exists is the manifest's own: it never runs.
    let dying = SyncHookIo::over(Arc::new(disk.clone()), move || {
        let names = listing.list_dir(Path::new("/store")).unwrap_or_default();
        let manifest_written = names.iter().any(|name| name.starts_with("MANIFEST."));
        if manifest_written && !once.swap(true, Ordering::SeqCst) {
            return Err(std::io::Error::other("killed before the manifest's fsync"));
        }
        Ok(())
    });
    let first = Store::open(dir, options(Arc::new(dying))).unwrap();
    for key in 0..10 {
        first.put(&format!("k{key}"), b"acknowledged").unwrap();
    }
    assert!(first.snapshot().is_err(), "killed in its publish");
    drop(first);
    let second = Store::open(dir, options(Arc::new(disk.clone()))).unwrap();
    let report = second.snapshot().unwrap();
    assert!(!report.written && report.segments_deleted > 0, "{report:?}");
    drop(second);
    disk.power_cut(1);
    let reopened = Store::open(dir, options(Arc::new(disk))).unwrap();
    for key in 0..10 {
        let key = format!("k{key}");
        assert!(reopened.get(&key).unwrap().is_some(), "{key} lost");
    }
}
