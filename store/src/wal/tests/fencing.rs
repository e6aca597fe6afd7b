//! Fencing: a stale writer's records and segments are ignored; misplaced segments are errors.

use super::*;
use crate::io::Io;

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
    create_segment(&StdIo, dir.path(), &stale_name, Epoch(1)).unwrap();
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

/// The model checker's three-holder scenario: holder 2 (epoch 2) checked its epoch when the log
/// was empty, then paused; holder 3 fenced it after holder 1's record and started `2-e3.wal`;
/// holder 2 then created `1-e2.wal`. Neither holder 1's nor holder 3's record may be lost.
#[test]
fn a_stale_holders_late_segment_does_not_end_the_segment_it_never_saw() {
    let dir = tempfile::tempdir().unwrap();
    let (holder_1, _) = open(dir.path(), 1).unwrap();
    holder_1.append_sync(b"holder 1").unwrap();
    // Holder 2's view: an empty log. Its segment is built where it paused (an empty dir).
    let paused = tempfile::tempdir().unwrap();
    let (holder_2, recovered) = open(paused.path(), 2).unwrap();
    assert_eq!(recovered.last_lsn, Lsn::ZERO);
    drop(holder_2);
    let (holder_3, recovered) = open(dir.path(), 3).unwrap();
    assert_eq!(recovered.last_lsn, Lsn(1));
    assert_eq!(holder_3.append_sync(b"holder 3").unwrap(), Lsn(2));
    drop((holder_1, holder_3));
    // Holder 2 resumes and creates its segment in the real directory.
    let late = SegmentName {
        first_lsn: Lsn(1),
        epoch: Epoch(2),
    }
    .file_name();
    let io = StdIo;
    let bytes = io.read(&paused.path().join(&late)).unwrap();
    let file = io.create_new(&dir.path().join(&late)).unwrap();
    file.write_at(0, &bytes).unwrap();
    file.sync().unwrap();
    io.sync_dir(dir.path()).unwrap();

    let (_, recovered) = open(dir.path(), 4).unwrap();
    assert_eq!(
        payloads(&recovered),
        vec![b"holder 1".to_vec(), b"holder 3".to_vec()]
    );
    assert_eq!(recovered.stale_segments, vec![dir.path().join(&late)]);
}

/// A fenced holder that crashed while creating its segment leaves an empty file: it is stale
/// (off the chain), not a torn tail that would end the live log.
#[test]
fn a_fenced_holders_torn_segment_creation_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    write_three(dir.path());
    let (current, _) = open(dir.path(), 3).unwrap();
    current.append_sync(b"four").unwrap();
    drop(current);
    let torn = SegmentName {
        first_lsn: Lsn(1),
        epoch: Epoch(2),
    };
    std::fs::write(dir.path().join(torn.file_name()), b"").unwrap();
    let (_, recovered) = open(dir.path(), 4).unwrap();
    assert_eq!(recovered.last_lsn, Lsn(4));
    assert_eq!(
        recovered.stale_segments,
        vec![dir.path().join(torn.file_name())]
    );
}
