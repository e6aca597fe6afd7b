//! Fencing: a stale writer's records and segments are ignored; misplaced segments are errors.

use super::*;

#[test]
fn a_stale_writer_is_fenced() {
    let dir = tempfile::tempdir().unwrap();
    let (stale, _) = open(dir.path(), 1).unwrap();
    stale.append_sync(b"before takeover").unwrap();
    let (current, recovered) = open(dir.path(), 2).unwrap();
    assert_eq!(recovered.last_lsn, Lsn(1));
    // The stale writer keeps appending to its segment; the new one starts at lsn 2.
    assert_eq!(stale.append_sync(b"stale write").unwrap(), Lsn(2));
    assert_eq!(current.append_sync(b"current write").unwrap(), Lsn(2));
    drop((stale, current));
    let (_, recovered) = open(dir.path(), 3).unwrap();
    assert_eq!(
        payloads(&recovered),
        vec![b"before takeover".to_vec(), b"current write".to_vec()]
    );
    // An old epoch cannot open the log any more.
    assert!(matches!(
        open(dir.path(), 2),
        Err(WalError::StaleEpoch { .. })
    ));
}

#[test]
fn a_stale_writers_new_segment_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    write_three(dir.path());
    let (current, _) = open(dir.path(), 2).unwrap();
    current.append_sync(b"four").unwrap();
    // A fenced epoch-1 writer rotated after the takeover.
    let stale_name = SegmentName {
        first_lsn: Lsn(9),
        epoch: Epoch(1),
    };
    create_segment(&StdIo, dir.path(), &stale_name).unwrap();
    drop(current);
    let (wal, recovered) = open(dir.path(), 3).unwrap();
    assert_eq!(recovered.last_lsn, Lsn(4));
    assert_eq!(
        recovered.stale_segments,
        vec![dir.path().join(stale_name.file_name())]
    );
    wal.remove_segments_through(Lsn::ZERO).unwrap();
    assert!(!dir.path().join(stale_name.file_name()).exists());
}

#[test]
fn a_segment_under_the_wrong_name_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    write_three(dir.path());
    let path = segment_paths(dir.path())[0].clone();
    let misplaced = SegmentName {
        first_lsn: Lsn(1),
        epoch: Epoch(7),
    };
    std::fs::rename(&path, dir.path().join(misplaced.file_name())).unwrap();
    let error = open(dir.path(), 8).unwrap_err();
    assert!(
        matches!(
            error,
            WalError::SegmentHeaderMismatch {
                header_epoch: Epoch(1),
                ..
            }
        ),
        "{error}"
    );
}
