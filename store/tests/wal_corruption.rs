//! Property: recovery on arbitrary corruption of any WAL segment never panics, and either opens
//! with an exact prefix of the appended records or fails with an error naming a file. When the
//! corruption touches only bytes written after the last acknowledged (synced) record, recovery
//! opens and keeps every acknowledged record.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use proptest::prelude::*;
use store::io::StdIo;
use store::lock::Epoch;
use store::wal::frame::{decode_frame, SEGMENT_HEADER_LEN};
use store::wal::{Lsn, RecoveredLog, Wal, WalError, WalOptions};

/// One way of damaging a file. Positions are fractions of the file's length so that the
/// strategy does not depend on the sizes the generator picked.
#[derive(Debug, Clone)]
enum Corruption {
    FlipBit { at: f64, bit: u8 },
    Truncate { at: f64 },
    AppendGarbage { bytes: Vec<u8> },
    ZeroRange { at: f64, len: usize },
}

fn corruption() -> impl Strategy<Value = Corruption> {
    prop_oneof![
        (0.0..1.0f64, 0..8u8).prop_map(|(at, bit)| Corruption::FlipBit { at, bit }),
        (0.0..1.0f64).prop_map(|at| Corruption::Truncate { at }),
        prop::collection::vec(any::<u8>(), 1..64)
            .prop_map(|bytes| Corruption::AppendGarbage { bytes }),
        (0.0..1.0f64, 1..300usize).prop_map(|(at, len)| Corruption::ZeroRange { at, len }),
    ]
}

/// Applies `corruption` to `bytes[from..]` (positions are fractions of that range).
fn apply(bytes: &mut Vec<u8>, from: usize, corruption: &Corruption) {
    let span = bytes.len().saturating_sub(from);
    let position = |at: f64| from + ((span as f64 * at) as usize).min(span.saturating_sub(1));
    match corruption {
        Corruption::FlipBit { at, bit } if span > 0 => bytes[position(*at)] ^= 1 << bit,
        Corruption::Truncate { at } => bytes.truncate(from + (span as f64 * at) as usize),
        Corruption::AppendGarbage { bytes: garbage } => bytes.extend_from_slice(garbage),
        Corruption::ZeroRange { at, len } if span > 0 => {
            let start = position(*at);
            let end = (start + len).min(bytes.len());
            bytes[start..end].fill(0);
        }
        _ => {}
    }
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "wal"))
        .collect();
    paths.sort();
    paths
}

/// Writes `synced` records one sync each (acknowledged), then `unsynced` more that reach the
/// file in one final flush, all framed while only the first ones were durable: the state a
/// power cut during that flush could leave. Returns all payloads in LSN order.
fn write_log(
    dir: &Path,
    synced: &[Vec<u8>],
    unsynced: &[Vec<u8>],
    segment_max_bytes: u64,
) -> Vec<Vec<u8>> {
    let options = WalOptions {
        segment_max_bytes,
        ..WalOptions::default()
    };
    let (wal, _) = Wal::open(Arc::new(StdIo), dir, Epoch(1), Lsn::ZERO, options).unwrap();
    for payload in synced {
        wal.append_sync(payload).unwrap();
    }
    let mut last = wal.last_lsn();
    for payload in unsynced {
        last = wal.append(payload).unwrap();
    }
    wal.sync(last).unwrap();
    synced.iter().chain(unsynced).cloned().collect()
}

fn reopen(dir: &Path, epoch: u64) -> Result<(Wal, RecoveredLog), WalError> {
    Wal::open(
        Arc::new(StdIo),
        dir,
        Epoch(epoch),
        Lsn::ZERO,
        WalOptions::default(),
    )
}

/// Checks the recovered log is an exact prefix of `written` and the cut was made on disk;
/// then appends one more record through the recovered Wal (which, being of the same epoch,
/// continues the damaged segment) and checks a fresh open sees exactly the prefix plus it.
fn check_prefix(
    dir: &Path,
    wal: Wal,
    log: &RecoveredLog,
    written: &[Vec<u8>],
) -> Result<(), TestCaseError> {
    prop_assert!(log.records.len() <= written.len());
    for (index, record) in log.records.iter().enumerate() {
        prop_assert_eq!(record.lsn, Lsn(index as u64 + 1));
        prop_assert_eq!(&record.payload, &written[index]);
    }
    prop_assert_eq!(log.last_lsn, Lsn(log.records.len() as u64));
    if let Some(cut) = &log.cut {
        let len = std::fs::metadata(&cut.path).map_or(0, |m| m.len());
        // A cut at 0 removed a segment with a torn header; the reopened Wal may have
        // recreated it (same first LSN and epoch) with just a header.
        let recreated = cut.offset == 0 && len == SEGMENT_HEADER_LEN as u64;
        prop_assert!(
            len == cut.offset || recreated,
            "the cut of {:?} is not on disk",
            cut.path
        );
    }
    let after = wal
        .append_sync(b"after recovery")
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(after, log.last_lsn.next());
    drop(wal);
    let (_, again) =
        reopen(dir, 2).map_err(|e| TestCaseError::fail(format!("second open failed: {e}")))?;
    prop_assert!(
        again.cut.is_none(),
        "second open cut again: {:?}",
        again.cut
    );
    prop_assert_eq!(&again.records[..again.records.len() - 1], &log.records[..]);
    prop_assert_eq!(
        &again.records[again.records.len() - 1].payload,
        b"after recovery"
    );
    Ok(())
}

fn payloads() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..120), 0..12)
}

/// Offset in the last segment just past the last acknowledged record (`acked` records in all).
fn end_of_acked(path: &Path, acked: usize) -> Option<usize> {
    let bytes = std::fs::read(path).ok()?;
    let mut offset = SEGMENT_HEADER_LEN;
    while let Ok(frame) = decode_frame(bytes.get(offset..)?) {
        if frame.lsn.0 as usize > acked {
            return Some(offset);
        }
        offset += frame.encoded_len();
    }
    Some(offset)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn any_corruption_opens_an_exact_prefix_or_fails_clearly(
        synced in payloads(),
        unsynced in payloads(),
        segment_max_bytes in 100..1500u64,
        damage in prop::collection::vec((any::<prop::sample::Index>(), corruption()), 1..4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let written = write_log(dir.path(), &synced, &unsynced, segment_max_bytes);
        let files = segments(dir.path());
        for (file, corruption) in &damage {
            let path = file.get(&files);
            let mut bytes = std::fs::read(path).unwrap();
            apply(&mut bytes, 0, corruption);
            std::fs::write(path, &bytes).unwrap();
        }
        match reopen(dir.path(), 1) {
            Ok((wal, log)) => check_prefix(dir.path(), wal, &log, &written)?,
            Err(error) => {
                let message = error.to_string();
                prop_assert!(message.contains(&dir.path().display().to_string()), "{}", message);
            }
        }
    }

    #[test]
    fn corruption_of_the_unsynced_tail_keeps_every_acknowledged_record(
        synced in payloads(),
        unsynced in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..120), 1..6),
        damage in prop::collection::vec(corruption(), 1..4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        // Segments large enough that the unsynced records share the last segment.
        let written = write_log(dir.path(), &synced, &unsynced, 1 << 20);
        let last = segments(dir.path()).pop().unwrap();
        let from = end_of_acked(&last, synced.len()).unwrap();
        let mut bytes = std::fs::read(&last).unwrap();
        for corruption in &damage {
            apply(&mut bytes, from, corruption);
        }
        std::fs::write(&last, &bytes).unwrap();
        let (wal, log) = reopen(dir.path(), 1).map_err(|e| TestCaseError::fail(format!("open failed: {e}")))?;
        prop_assert!(log.records.len() >= synced.len(), "lost acknowledged records: {} < {}", log.records.len(), synced.len());
        check_prefix(dir.path(), wal, &log, &written)?;
    }
}
