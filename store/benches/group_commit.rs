//! Group-commit benchmark: `cargo bench -p store --bench group_commit`.
//!
//! Measures, in one run and on one disk (`FAULTLINE_BENCH_DIR`, default the temp dir):
//! 1. the raw rate of this disk for append + fsync of 128-byte records, one fsync each;
//! 2. the Wal's rate with 1, 8 and 64 concurrent writers, each appending 128-byte records and
//!    waiting for durability (`append_sync`).
//!
//! It prints records/s, records per fsync and the ratio to raw. Targets: >= 50 records per
//! fsync at 64 writers; a single writer within 1.2x of one raw fsync. Each phase runs
//! `FAULTLINE_BENCH_SECONDS` (default 1) seconds.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use store::io::SyncHookIo;
use store::lock::Epoch;
use store::wal::{Lsn, Wal, WalOptions};

const RECORD_BYTES: usize = 128;

struct Measurement {
    records: u64,
    fsyncs: u64,
    elapsed: Duration,
}

impl Measurement {
    fn records_per_second(&self) -> f64 {
        self.records as f64 / self.elapsed.as_secs_f64()
    }
}

/// Raw disk: append a 128-byte record and fdatasync, one at a time.
fn raw(dir: &Path, duration: Duration) -> std::io::Result<Measurement> {
    let path = dir.join("raw.log");
    let file = OpenOptions::new()
        .create_new(true)
        .read(true)
        .write(true)
        .open(&path)?;
    let record = [0x5au8; RECORD_BYTES];
    let started = Instant::now();
    let mut records = 0u64;
    while started.elapsed() < duration {
        file.write_all_at(&record, records * RECORD_BYTES as u64)?;
        file.sync_data()?;
        records += 1;
    }
    Ok(Measurement {
        records,
        fsyncs: records,
        elapsed: started.elapsed(),
    })
}

/// The Wal with `writers` threads, each doing append + sync of 128-byte records.
fn wal(
    dir: &Path,
    writers: usize,
    duration: Duration,
) -> Result<Measurement, Box<dyn std::error::Error>> {
    let syncs = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&syncs);
    // Counts file fsyncs.
    let io = Arc::new(SyncHookIo::new(move || {
        counted.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }));
    let options = WalOptions {
        segment_max_bytes: 1 << 30,
        ..WalOptions::default()
    };
    let (wal, _) = Wal::open(io, dir, Epoch(1), Lsn::ZERO, options)?;
    let wal = Arc::new(wal);
    let records = Arc::new(AtomicU64::new(0));
    syncs.store(0, Ordering::SeqCst);
    let started = Instant::now();
    let threads: Vec<_> = (0..writers)
        .map(|_| {
            let (wal, records) = (Arc::clone(&wal), Arc::clone(&records));
            std::thread::spawn(move || -> Result<(), store::wal::WalError> {
                let record = [0xa5u8; RECORD_BYTES];
                while started.elapsed() < duration {
                    wal.append_sync(&record)?;
                    records.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();
    for thread in threads {
        thread.join().map_err(|_| "writer thread panicked")??;
    }
    let elapsed = started.elapsed();
    Ok(Measurement {
        records: records.load(Ordering::SeqCst),
        fsyncs: syncs.load(Ordering::SeqCst),
        elapsed,
    })
}

fn scratch_dir(root: &Path, name: &str) -> std::io::Result<PathBuf> {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds: f64 = std::env::var("FAULTLINE_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let duration = Duration::from_secs_f64(seconds);
    let base =
        std::env::var_os("FAULTLINE_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let root = tempfile::tempdir_in(&base)?;
    println!(
        "group commit benchmark: {RECORD_BYTES}-byte records, {seconds} s per phase, in {}",
        base.display()
    );
    // The raw rate is measured before and after the Wal phases; their mean is the baseline,
    // and both are printed so that a drifting disk is visible.
    let raw_before = raw(&scratch_dir(root.path(), "raw-before")?, duration)?;
    let mut rows = Vec::new();
    for writers in [1usize, 8, 64] {
        let dir = scratch_dir(root.path(), &format!("wal-{writers}"))?;
        rows.push((writers, wal(&dir, writers, duration)?));
    }
    let raw_after = raw(&scratch_dir(root.path(), "raw-after")?, duration)?;
    let raw_rate = (raw_before.records_per_second() + raw_after.records_per_second()) / 2.0;
    println!(
        "{:>10} {:>12} {:>10} {:>18} {:>13}",
        "writers", "records/s", "fsyncs", "records per fsync", "ratio to raw"
    );
    for (name, m) in [("raw before", &raw_before), ("raw after", &raw_after)] {
        let rate = m.records_per_second();
        println!(
            "{name:>10} {rate:>12.0} {:>10} {:>18.1} {:>13.2}",
            m.fsyncs,
            1.0,
            rate / raw_rate
        );
    }
    let mut per_fsync_at_64 = 0.0;
    let mut single_ratio = 0.0;
    for (writers, m) in rows {
        let per_fsync = m.records as f64 / m.fsyncs.max(1) as f64;
        let ratio = m.records_per_second() / raw_rate;
        println!(
            "{:>10} {:>12.0} {:>10} {:>18.1} {:>13.2}",
            writers,
            m.records_per_second(),
            m.fsyncs,
            per_fsync,
            ratio
        );
        if writers == 1 {
            single_ratio = ratio;
        }
        if writers == 64 {
            per_fsync_at_64 = per_fsync;
        }
    }
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "target: >= 50 records per fsync at 64 writers: {per_fsync_at_64:.1} ({})",
        verdict(per_fsync_at_64 >= 50.0)
    );
    println!(
        "target: single writer within 1.2x of one raw fsync: raw/wal = {:.2} ({})",
        1.0 / single_ratio.max(f64::MIN_POSITIVE),
        verdict(single_ratio >= 1.0 / 1.2)
    );
    Ok(())
}
