//! Holding one fsync: the next fsync of a file or directory a pattern matches waits, its data
//! still pending, until it is released (to go on, or to fail with `EIO`) or a bound runs out.
//! A power cut taken while it waits lands exactly where a system is making something durable:
//! after a write and before its fsync returns, after a rename and before its directory is
//! synced. The waiting thread holds no lock, so other operations go on meanwhile.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::PathPattern;

/// Longest time a held fsync waits for its release; then it goes on as if never held.
pub const HOLD_MAX_WAIT: Duration = Duration::from_secs(5);

/// How a held fsync ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldRelease {
    /// It goes on and syncs.
    Proceed,
    /// It fails with `EIO` without syncing (the machine it ran on lost power).
    Fail,
}

#[derive(Debug, Default)]
struct Inner {
    armed: Option<PathPattern>,
    /// Least pending data (bytes) the fsync's file must have to be held.
    min_pending_bytes: u64,
    held: Option<String>,
    release: Option<HoldRelease>,
}

/// The hold of one mount: at most one fsync armed or held at a time.
#[derive(Debug, Default)]
pub(crate) struct FsyncHold {
    armed: AtomicBool,
    inner: Mutex<Inner>,
    changed: Condvar,
}

impl FsyncHold {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Arms the hold for the next fsync of a path `pattern` matches whose file has at least
    /// `min_pending_bytes` of writes pending (replacing an armed hold).
    pub(crate) fn arm(&self, pattern: PathPattern, min_pending_bytes: u64) {
        let mut inner = self.lock();
        *inner = Inner {
            armed: Some(pattern),
            min_pending_bytes,
            held: None,
            release: None,
        };
        self.armed.store(true, Ordering::SeqCst);
    }

    /// Called by an fsync; `file` gives its path and pending bytes (computed only when armed).
    /// If the hold is armed for it, waits for the release and returns it; `None` when not
    /// held (or the wait ran out).
    pub(crate) fn hold(&self, file: impl FnOnce() -> (String, u64)) -> Option<HoldRelease> {
        if !self.armed.load(Ordering::SeqCst) {
            return None;
        }
        let (path, pending_bytes) = file();
        let mut inner = self.lock();
        if !inner.armed.as_ref().is_some_and(|p| p.matches(&path))
            || pending_bytes < inner.min_pending_bytes
        {
            return None;
        }
        inner.armed = None;
        self.armed.store(false, Ordering::SeqCst);
        inner.held = Some(path);
        self.changed.notify_all();
        let deadline = Instant::now() + HOLD_MAX_WAIT;
        while inner.release.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                inner.held = None;
                return None;
            }
            inner = self
                .changed
                .wait_timeout(inner, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        inner.held = None;
        inner.release.take()
    }

    /// Waits up to `timeout` for an armed hold to catch an fsync; returns the held path, or
    /// `None` (and disarms) when none came.
    pub(crate) fn wait_held(&self, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut inner = self.lock();
        loop {
            if let Some(path) = &inner.held {
                return Some(path.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || inner.armed.is_none() {
                inner.armed = None;
                self.armed.store(false, Ordering::SeqCst);
                return None;
            }
            inner = self
                .changed
                .wait_timeout(inner, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    /// Releases the held fsync (if any) and disarms.
    pub(crate) fn release(&self, how: HoldRelease) {
        let mut inner = self.lock();
        inner.armed = None;
        self.armed.store(false, Ordering::SeqCst);
        if inner.held.is_some() {
            inner.release = Some(how);
        }
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn the_matching_fsync_waits_until_released() {
        let hold = Arc::new(FsyncHold::default());
        assert_eq!(hold.hold(|| ("wal/1".into(), 900)), None, "not armed");
        hold.arm(PathPattern::new("wal/*").unwrap(), 512);
        assert_eq!(hold.hold(|| ("MANIFEST".into(), 900)), None, "not matched");
        assert_eq!(
            hold.hold(|| ("wal/1".into(), 100)),
            None,
            "too little pending"
        );
        let waiter = {
            let hold = Arc::clone(&hold);
            std::thread::spawn(move || hold.hold(|| ("wal/2".into(), 900)))
        };
        assert_eq!(
            hold.wait_held(Duration::from_secs(5)).as_deref(),
            Some("wal/2")
        );
        hold.release(HoldRelease::Fail);
        assert_eq!(waiter.join().unwrap(), Some(HoldRelease::Fail));
        assert_eq!(hold.hold(|| ("wal/3".into(), 900)), None, "held once only");
    }

    #[test]
    fn no_fsync_in_time_disarms() {
        let hold = FsyncHold::default();
        hold.arm(PathPattern::new("**").unwrap(), 0);
        assert_eq!(hold.wait_held(Duration::from_millis(10)), None);
        assert_eq!(hold.hold(|| ("a".into(), 0)), None, "disarmed");
    }
}
