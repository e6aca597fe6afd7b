//! Failures: a failed fsync poisons the Wal (through an Io whose syncs fail on demand);
//! appends past the payload and pending limits are refused.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::io::{StdIo, SyncHookIo};
use crate::lock::Epoch;
use crate::wal::{Lsn, Wal, WalError, WalOptions};

/// An Io whose file syncs fail while `failing` is set.
fn failing_sync_io(failing: &Arc<AtomicBool>) -> SyncHookIo {
    let failing = Arc::clone(failing);
    SyncHookIo::new(move || {
        if failing.load(Ordering::SeqCst) {
            return Err(std::io::Error::other("injected fsync failure"));
        }
        Ok(())
    })
}

#[test]
fn a_failed_fsync_poisons_the_wal_and_is_never_retried_into_an_ack() {
    let dir = tempfile::tempdir().unwrap();
    let failing = Arc::new(AtomicBool::new(false));
    let io = Arc::new(failing_sync_io(&failing));
    let (wal, _) = Wal::open(io, dir.path(), Epoch(1), Lsn::ZERO, WalOptions::default()).unwrap();
    wal.append_sync(b"durable").unwrap();
    let lsn = wal.append(b"in doubt").unwrap();
    failing.store(true, Ordering::SeqCst);
    let error = wal.sync(lsn).unwrap_err();
    assert!(
        matches!(error, WalError::SyncFailed { .. }) && error.is_indeterminate(),
        "{error}"
    );
    // The disk heals, but the Wal never acknowledges again.
    failing.store(false, Ordering::SeqCst);
    let error = wal.sync(lsn).unwrap_err();
    assert!(matches!(error, WalError::SyncPoisoned { .. }) && error.is_indeterminate());
    assert!(matches!(wal.append(b"more"), Err(WalError::Poisoned)));
    assert!(wal.is_poisoned());
    assert_eq!(wal.durable_lsn(), Lsn(1));
    drop(wal);
    // Reopening recovers: the record in doubt may or may not be there (here it is).
    let (_, recovered) = Wal::open(
        Arc::new(StdIo),
        dir.path(),
        Epoch(2),
        Lsn::ZERO,
        WalOptions::default(),
    )
    .unwrap();
    assert!(recovered.last_lsn >= Lsn(1));
}

#[test]
fn payload_limits_are_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let options = WalOptions {
        max_pending_bytes: 100,
        ..WalOptions::default()
    };
    let (wal, _) = Wal::open(Arc::new(StdIo), dir.path(), Epoch(1), Lsn::ZERO, options).unwrap();
    wal.append(&[0u8; 80]).unwrap();
    assert!(matches!(
        wal.append(&[0u8; 8]),
        Err(WalError::PendingFull { .. })
    ));
    wal.sync(Lsn(1)).unwrap();
    wal.append(&[0u8; 8]).unwrap();
    let huge = vec![0u8; crate::wal::frame::MAX_PAYLOAD_BYTES + 1];
    assert!(matches!(
        wal.append(&huge),
        Err(WalError::PayloadTooLarge { .. })
    ));
}
