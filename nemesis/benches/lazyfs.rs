//! The store's workload through the lazy filesystem against the raw backing disk, measured
//! in the same run: 128-byte record appends with an fsync every 16 records into segment
//! files (a new segment, with a directory fsync, every 1024 records), and small blobs
//! written the atomic way (create tmp, write, fsync, rename, fsync the directory).
//!
//! `cargo bench -p nemesis --bench lazyfs` prints ops/s per workload and the slowdown
//! (target: at most 3x). Two mounts are measured: the default, which does not fsync the
//! backing directory (the power cut it simulates needs none), and `sync_backing`, which
//! does, so that its durable image also survives a real crash of the host.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use nemesis::lazyfs::{CrashPolicy, LazyFs, LazyFsOptions};

const RECORD_BYTES: usize = 128;
const RECORDS: usize = 8192;
const RECORDS_PER_FSYNC: usize = 16;
const RECORDS_PER_SEGMENT: usize = 1024;
const BLOBS: usize = 300;
const BLOB_BYTES: usize = 4096;
const ROUNDS: usize = 3;

/// Append records; returns the time taken.
fn appends(root: &Path) -> Duration {
    let wal = root.join("wal");
    fs::create_dir_all(&wal).expect("mkdir wal");
    File::open(root)
        .and_then(|dir| dir.sync_all())
        .expect("fsync root");
    let record = [0x42u8; RECORD_BYTES];
    let start = Instant::now();
    let mut segment: Option<File> = None;
    for index in 0..RECORDS {
        if index % RECORDS_PER_SEGMENT == 0 {
            let path = wal.join(format!("{index:020}-{:010}.wal", 1));
            segment = Some(
                OpenOptions::new()
                    .create_new(true)
                    .append(true)
                    .open(path)
                    .expect("segment"),
            );
            File::open(&wal)
                .and_then(|dir| dir.sync_all())
                .expect("fsync wal dir");
        }
        let file = segment.as_mut().expect("segment open");
        file.write_all(&record).expect("append");
        if (index + 1) % RECORDS_PER_FSYNC == 0 {
            file.sync_data().expect("fsync segment");
        }
    }
    start.elapsed()
}

/// Append records without any fsync: the per-request cost of FUSE alone (not the store's
/// workload, shown so that the price of a page-cache-less mount is known).
fn appends_unsynced(root: &Path) -> Duration {
    let mut file = File::create(root.join("unsynced.log")).expect("create");
    let record = [0x42u8; RECORD_BYTES];
    let start = Instant::now();
    for _ in 0..RECORDS {
        file.write_all(&record).expect("append");
    }
    start.elapsed()
}

/// Write blobs atomically; returns the time taken.
fn blobs(root: &Path) -> Duration {
    let dir = root.join("blobs");
    fs::create_dir_all(&dir).expect("mkdir blobs");
    File::open(root)
        .and_then(|dir| dir.sync_all())
        .expect("fsync root");
    let payload = vec![0x17u8; BLOB_BYTES];
    let start = Instant::now();
    for index in 0..BLOBS {
        let tmp = dir.join(format!("{index}.tmp"));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .expect("tmp");
        file.write_all(&payload).expect("write blob");
        file.sync_all().expect("fsync blob");
        fs::rename(&tmp, dir.join(format!("{index}.blob"))).expect("rename");
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .expect("fsync blobs dir");
    }
    start.elapsed()
}

/// Where a workload runs: the raw disk, or a mount (with or without syncing the backing).
#[derive(Debug, Clone, Copy)]
enum Target {
    Raw,
    Mount { sync_backing: bool },
}

/// Run `workload` once on `target` in the fresh directory `dir`, after flushing every dirty
/// page of the machine (so that no run pays for the previous run's writeback).
fn run_once(dir: &Path, target: Target, workload: fn(&Path) -> Duration) -> Duration {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
    match target {
        Target::Raw => {
            fs::create_dir_all(dir).expect("raw dir");
            workload(dir)
        }
        Target::Mount { sync_backing } => {
            let mut options = LazyFsOptions::new(dir.join("backing"), dir.join("mnt"));
            options.crash_policy = CrashPolicy::default();
            options.sync_backing = sync_backing;
            let mount = LazyFs::mount(options).expect("mount");
            let elapsed = workload(mount.mount_point());
            mount.unmount().expect("unmount");
            elapsed
        }
    }
}

/// Best time of each target over ROUNDS rounds, the targets interleaved within each round so
/// that background load hits them alike.
fn measure(root: &Path, targets: &[Target], workload: fn(&Path) -> Duration) -> Vec<Duration> {
    let mut best = vec![Duration::MAX; targets.len()];
    for round in 0..ROUNDS {
        for (index, &target) in targets.iter().enumerate() {
            let dir = root.join(format!("{}-{index}-{round}", workload as usize));
            best[index] = best[index].min(run_once(&dir, target, workload));
        }
    }
    best
}

fn ops_per_second(ops: usize, elapsed: Duration) -> f64 {
    ops as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn main() {
    if !Path::new("/dev/fuse").exists() {
        println!("SKIPPED: /dev/fuse is missing, the lazy filesystem cannot be mounted here");
        return;
    }
    let scratch = tempfile::tempdir_in(std::env::temp_dir()).expect("tempdir");
    let targets = [
        Target::Raw,
        Target::Mount {
            sync_backing: false,
        },
        Target::Mount { sync_backing: true },
    ];
    let append_times = measure(scratch.path(), &targets, appends);
    let blob_times = measure(scratch.path(), &targets, blobs);
    let unsynced_times = measure(scratch.path(), &targets, appends_unsynced);
    println!(
        "lazyfs benchmark: best of {ROUNDS} rounds, same run, same disk ({})",
        scratch.path().display()
    );
    println!(
        "{:<44} {:>12} {:>14} {:>9} {:>17} {:>9}",
        "workload", "raw ops/s", "lazyfs ops/s", "slowdown", "lazyfs+sync ops/s", "slowdown"
    );
    let rows = [
        (
            format!("append {RECORD_BYTES} B, fsync every {RECORDS_PER_FSYNC} ({RECORDS} records)"),
            RECORDS,
            append_times,
        ),
        (
            format!("blob {BLOB_BYTES} B tmp+fsync+rename+fsync dir ({BLOBS})"),
            BLOBS,
            blob_times,
        ),
        (
            format!("(FUSE cost alone) append {RECORD_BYTES} B, no fsync"),
            RECORDS,
            unsynced_times,
        ),
    ];
    for (name, ops, times) in rows {
        let (raw_time, lazy_time, synced_time) = (times[0], times[1], times[2]);
        let (raw_rate, lazy_rate, synced_rate) = (
            ops_per_second(ops, raw_time),
            ops_per_second(ops, lazy_time),
            ops_per_second(ops, synced_time),
        );
        println!(
            "{:<44} {:>12.0} {:>14.0} {:>8.2}x {:>17.0} {:>8.2}x",
            name,
            raw_rate,
            lazy_rate,
            raw_rate / lazy_rate,
            synced_rate,
            raw_rate / synced_rate
        );
    }
}
