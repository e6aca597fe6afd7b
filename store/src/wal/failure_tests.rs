//! Failures: a failed fsync poisons the Wal (through an Io whose syncs fail on demand);
//! appends past the payload and pending limits are refused.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::io::{Io, IoFile, StdIo};
use crate::lock::Epoch;
use crate::wal::{Lsn, Wal, WalError, WalOptions};

/// An Io whose file syncs fail once `failing` is set.
#[derive(Debug)]
struct FailingSyncIo {
    failing: Arc<AtomicBool>,
}

#[derive(Debug)]
struct FailingSyncFile {
    inner: Box<dyn IoFile>,
    failing: Arc<AtomicBool>,
}

impl IoFile for FailingSyncFile {
    fn write_at(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.inner.write_at(offset, data)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read_at(offset, buf)
    }
    fn len_bytes(&self) -> std::io::Result<u64> {
        self.inner.len_bytes()
    }
    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.inner.set_len(len)
    }
    fn sync(&self) -> std::io::Result<()> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(std::io::Error::other("injected fsync failure"));
        }
        self.inner.sync()
    }
}

impl Io for FailingSyncIo {
    fn create_dir_all(&self, path: &Path) -> std::io::Result<()> {
        StdIo.create_dir_all(path)
    }
    fn open(&self, path: &Path) -> std::io::Result<Box<dyn IoFile>> {
        let inner = StdIo.open(path)?;
        Ok(Box::new(FailingSyncFile {
            inner,
            failing: Arc::clone(&self.failing),
        }))
    }
    fn create_new(&self, path: &Path) -> std::io::Result<Box<dyn IoFile>> {
        let inner = StdIo.create_new(path)?;
        Ok(Box::new(FailingSyncFile {
            inner,
            failing: Arc::clone(&self.failing),
        }))
    }
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        StdIo.read(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        StdIo.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> std::io::Result<()> {
        StdIo.remove_file(path)
    }
    fn sync_dir(&self, path: &Path) -> std::io::Result<()> {
        StdIo.sync_dir(path)
    }
    fn list_dir(&self, path: &Path) -> std::io::Result<Vec<String>> {
        StdIo.list_dir(path)
    }
}

#[test]
fn a_failed_fsync_poisons_the_wal_and_is_never_retried_into_an_ack() {
    let dir = tempfile::tempdir().unwrap();
    let failing = Arc::new(AtomicBool::new(false));
    let io = Arc::new(FailingSyncIo {
        failing: Arc::clone(&failing),
    });
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
