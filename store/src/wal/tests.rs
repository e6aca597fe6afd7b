//! Tests of the Wal: append and sync, group commit, each recovery rule, fencing, compaction.

use std::sync::Arc;

use super::frame::{RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};
use super::segment::create_segment;
use super::*;
use crate::io::StdIo;

mod fencing;

fn open(dir: &Path, epoch: u64) -> Result<(Wal, RecoveredLog), WalError> {
    open_with(dir, epoch, Lsn::ZERO, WalOptions::default())
}

fn open_with(
    dir: &Path,
    epoch: u64,
    after: Lsn,
    options: WalOptions,
) -> Result<(Wal, RecoveredLog), WalError> {
    Wal::open(Arc::new(StdIo), dir, Epoch(epoch), after, options)
}

fn payloads(log: &RecoveredLog) -> Vec<Vec<u8>> {
    log.records.iter().map(|r| r.payload.clone()).collect()
}

fn segment_paths(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    paths.sort();
    paths
}

/// Offset of the record with index `index` (0-based) in a segment of records of `payload_len`.
fn record_offset(index: usize, payload_len: usize) -> u64 {
    (SEGMENT_HEADER_LEN + index * (RECORD_HEADER_LEN + payload_len)) as u64
}

fn write_three(dir: &Path) {
    let (wal, _) = open(dir, 1).unwrap();
    for payload in [b"one", b"two", b"thr"] {
        wal.append_sync(payload).unwrap();
    }
}

#[test]
fn appended_synced_records_are_recovered_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, recovered) = open(dir.path(), 1).unwrap();
    assert_eq!(recovered.last_lsn, Lsn::ZERO);
    assert_eq!(wal.append(b"a").unwrap(), Lsn(1));
    assert_eq!(wal.append(b"b").unwrap(), Lsn(2));
    assert_eq!(wal.durable_lsn(), Lsn::ZERO);
    wal.sync(Lsn(2)).unwrap();
    assert_eq!(wal.durable_lsn(), Lsn(2));
    assert!(matches!(
        wal.sync(Lsn(3)),
        Err(WalError::NotAppended { .. })
    ));
    wal.check_invariants().unwrap();
    drop(wal);
    let (wal, recovered) = open(dir.path(), 2).unwrap();
    assert_eq!(payloads(&recovered), vec![b"a".to_vec(), b"b".to_vec()]);
    assert!(recovered.records.iter().all(|r| r.epoch == Epoch(1)));
    assert_eq!(
        wal.append(b"c").unwrap(),
        Lsn(3),
        "LSNs continue across epochs"
    );
    wal.sync(Lsn(3)).unwrap();
    let read = read_after(&StdIo, dir.path(), Lsn(1)).unwrap();
    assert_eq!(
        read.records.iter().map(|r| r.lsn).collect::<Vec<_>>(),
        vec![Lsn(2), Lsn(3)]
    );
    assert_eq!(read.records[1].epoch, Epoch(2));
}

#[test]
fn unsynced_records_are_lost_not_invented() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open(dir.path(), 1).unwrap();
    wal.append_sync(b"kept").unwrap();
    wal.append(b"never synced").unwrap();
    drop(wal);
    let (_, recovered) = open(dir.path(), 2).unwrap();
    assert_eq!(payloads(&recovered), vec![b"kept".to_vec()]);
}

#[test]
fn a_torn_tail_is_cut_durably() {
    let dir = tempfile::tempdir().unwrap();
    write_three(dir.path());
    let path = segment_paths(dir.path())[0].clone();
    let full = std::fs::metadata(&path).unwrap().len();
    // Tear the last record in the middle of its payload.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(full - 2)
        .unwrap();
    let (_, recovered) = open(dir.path(), 2).unwrap();
    assert_eq!(payloads(&recovered), vec![b"one".to_vec(), b"two".to_vec()]);
    let cut = recovered.cut.unwrap();
    assert_eq!(
        (cut.path.clone(), cut.offset),
        (path.clone(), record_offset(2, 3))
    );
    assert_eq!(std::fs::metadata(&path).unwrap().len(), record_offset(2, 3));
    // Garbage appended after the last record is cut too.
    let mut bytes = std::fs::read(&segment_paths(dir.path())[1]).unwrap();
    bytes.extend_from_slice(b"FLRC garbage");
    std::fs::write(&segment_paths(dir.path())[1], &bytes).unwrap();
    let (_, recovered) = open(dir.path(), 3).unwrap();
    assert_eq!(recovered.last_lsn, Lsn(2));
    assert_eq!(recovered.cut.unwrap().discarded_bytes, 12);
}

#[test]
fn a_corrupt_record_in_a_sealed_segment_is_an_error_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    write_three(dir.path());
    open(dir.path(), 2).unwrap().0.append_sync(b"four").unwrap();
    let sealed = segment_paths(dir.path())[0].clone();
    let mut bytes = std::fs::read(&sealed).unwrap();
    let offset = record_offset(1, 3) as usize + RECORD_HEADER_LEN; // payload of lsn 2
    bytes[offset] ^= 0x01;
    std::fs::write(&sealed, &bytes).unwrap();
    let error = open(dir.path(), 3).unwrap_err();
    match &error {
        WalError::CorruptRecord {
            path,
            offset,
            expected_lsn,
            fault,
        } => {
            assert_eq!(
                (path, *offset, *expected_lsn),
                (&sealed, record_offset(1, 3), Lsn(2))
            );
            assert!(matches!(
                fault,
                RecordFault::Frame(frame::FrameError::ChecksumMismatch { .. })
            ));
        }
        other => panic!("expected CorruptRecord, got {other}"),
    }
    assert!(error.to_string().contains(&sealed.display().to_string()));
    assert!(matches!(
        read_after(&StdIo, dir.path(), Lsn::ZERO),
        Err(WalError::CorruptRecord { .. })
    ));
}

#[test]
fn a_damaged_synced_record_in_the_last_segment_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write_three(dir.path());
    let path = segment_paths(dir.path())[0].clone();
    let mut bytes = std::fs::read(&path).unwrap();
    // Flip a bit of lsn 2; lsn 3 was framed after lsn 2 was durable and says so.
    bytes[record_offset(1, 3) as usize + 13] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let error = open(dir.path(), 2).unwrap_err();
    assert!(
        matches!(
            error,
            WalError::DamagedDurableRecord {
                expected_lsn: Lsn(2),
                evidence_durable_lsn: Lsn(2),
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "nothing was cut");
}

#[test]
fn an_lsn_gap_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open(dir.path(), 1).unwrap();
    wal.append_sync(b"aaa").unwrap();
    drop(wal);
    // Forge a sealed segment whose records jump from lsn 1 to lsn 3.
    let path = segment_paths(dir.path())[0].clone();
    let mut bytes = std::fs::read(&path).unwrap();
    let forged = frame::Frame {
        lsn: Lsn(3),
        epoch: Epoch(1),
        durable_lsn: Lsn(1),
        payload: b"ccc",
    };
    frame::encode_frame(&forged, &mut bytes);
    std::fs::write(&path, &bytes).unwrap();
    let next = SegmentName {
        first_lsn: Lsn(4),
        epoch: Epoch(1),
    };
    create_segment(&StdIo, dir.path(), &next, Epoch(1)).unwrap();
    let error = open(dir.path(), 2).unwrap_err();
    assert!(
        matches!(
            error,
            WalError::CorruptRecord {
                fault: RecordFault::LsnGap { found: Lsn(3) },
                expected_lsn: Lsn(2),
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn a_missing_segment_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let options = WalOptions {
        segment_max_bytes: 100,
        ..WalOptions::default()
    };
    let (wal, _) = open_with(dir.path(), 1, Lsn::ZERO, options).unwrap();
    for _ in 0..4 {
        wal.append_sync(&[7u8; 40]).unwrap();
    }
    drop(wal);
    let segments = segment_paths(dir.path());
    assert_eq!(segments.len(), 4, "one record per segment");
    std::fs::remove_file(&segments[1]).unwrap();
    let error = open(dir.path(), 2).unwrap_err();
    assert!(
        matches!(
            error,
            WalError::MissingRecords {
                expected_lsn: Lsn(2),
                ..
            }
        ),
        "{error}"
    );
    std::fs::remove_file(&segments[0]).unwrap();
    let error = open(dir.path(), 2).unwrap_err();
    assert!(
        matches!(
            error,
            WalError::MissingSegment {
                expected_lsn: Lsn(1),
                ..
            }
        ),
        "{error}"
    );
    // With a snapshot covering lsn 2, the log from lsn 3 on suffices.
    let (_, recovered) = open_with(dir.path(), 2, Lsn(2), WalOptions::default()).unwrap();
    assert_eq!(
        recovered.records.iter().map(|r| r.lsn).collect::<Vec<_>>(),
        vec![Lsn(3), Lsn(4)]
    );
}

#[test]
fn rotation_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let options = WalOptions {
        segment_max_bytes: 200,
        ..WalOptions::default()
    };
    let (wal, _) = open_with(dir.path(), 1, Lsn::ZERO, options).unwrap();
    for index in 0..10u8 {
        wal.append_sync(&[index; 50]).unwrap();
    }
    wal.check_invariants().unwrap();
    let before = segment_paths(dir.path()).len();
    assert!(before >= 4, "{before} segments");
    assert_eq!(wal.remove_segments_through(Lsn::ZERO).unwrap(), 0);
    let removed = wal.remove_segments_through(Lsn(6)).unwrap();
    assert!(removed >= 1);
    wal.check_invariants().unwrap();
    drop(wal);
    let error = open_with(dir.path(), 2, Lsn::ZERO, options).unwrap_err();
    assert!(matches!(error, WalError::MissingSegment { .. }), "{error}");
    let (_, recovered) = open_with(dir.path(), 2, Lsn(6), options).unwrap();
    assert_eq!(
        recovered
            .records
            .iter()
            .map(|r| r.lsn.0)
            .collect::<Vec<_>>(),
        vec![7, 8, 9, 10]
    );
    assert_eq!(recovered.records[0].payload, vec![6u8; 50]);
}

#[test]
fn a_torn_segment_creation_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    write_three(dir.path());
    let torn = SegmentName {
        first_lsn: Lsn(4),
        epoch: Epoch(2),
    };
    std::fs::write(dir.path().join(torn.file_name()), b"FLTW").unwrap();
    let (wal, recovered) = open(dir.path(), 3).unwrap();
    assert_eq!(recovered.last_lsn, Lsn(3));
    assert!(!dir.path().join(torn.file_name()).exists());
    assert_eq!(wal.append_sync(b"four").unwrap(), Lsn(4));
}

#[test]
fn concurrent_writers_share_fsyncs_and_all_are_durable() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open(dir.path(), 1).unwrap();
    let wal = Arc::new(wal);
    let threads: Vec<_> = (0..8)
        .map(|thread| {
            let wal = Arc::clone(&wal);
            std::thread::spawn(move || {
                for index in 0..50u32 {
                    let lsn = wal.append_sync(&[thread as u8; 16]).unwrap();
                    assert!(wal.durable_lsn() >= lsn, "acknowledged before durable");
                    let _ = index;
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    wal.check_invariants().unwrap();
    drop(wal);
    let (_, recovered) = open(dir.path(), 2).unwrap();
    assert_eq!(recovered.last_lsn, Lsn(400));
}

#[test]
fn catch_up_reports_a_torn_tail_without_cutting_it() {
    let dir = tempfile::tempdir().unwrap();
    write_three(dir.path());
    let path = segment_paths(dir.path())[0].clone();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&[0xff; 7]);
    std::fs::write(&path, &bytes).unwrap();
    let read = read_after(&StdIo, dir.path(), Lsn(2)).unwrap();
    assert_eq!(read.records.len(), 1);
    assert_eq!(read.last_lsn, Lsn(3));
    assert_eq!(read.cut.map(|cut| cut.discarded_bytes), Some(7));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "catch-up never writes"
    );
}
