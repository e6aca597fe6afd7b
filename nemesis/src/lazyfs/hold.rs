//! Holding one operation: the next fsync (or create, or write) of a file or directory a pattern
//! matches waits, its data still pending (or not yet written), until it is released (to go on, or to fail with `EIO`) or a
//! bound runs out. A power cut taken while it waits lands exactly where a system is making
//! something durable: after a write and before its fsync returns, after a rename and before
//! its directory is synced. The caller's pid is kept, so the process can be stalled there
//! (SIGSTOP) while the operation completes. The waiting thread holds no lock of the model, so
//! other operations go on meanwhile.
//!
//! Invariant: at most one operation is held at a time; each held operation has its own id,
//! and a release reaches only the operation held when it was given (a hold armed by
//! [`FsyncHold::release_and_arm`] never takes the release meant for the one before it).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::PathPattern;

/// Longest time a held operation waits for its release; then it goes on as if never held.
pub const HOLD_MAX_WAIT: Duration = Duration::from_secs(5);

/// How a held operation ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldRelease {
    /// It goes on (syncs, creates).
    Proceed,
    /// It fails with `EIO` without syncing (the machine it ran on lost power).
    Fail,
}

/// Which operation a hold waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldPoint {
    /// An fsync of a file or directory.
    Fsync,
    /// The creation of a file (before it is created).
    Create,
    /// A write to a file (before its data reaches the file).
    Write,
}

/// The operation a hold caught.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldOp {
    /// Its path, relative to the mount point.
    pub path: String,
    /// The thread that called it, as the kernel named it in the request (0 when unknown).
    pub caller_pid: u32,
}

/// What a hold waits for.
#[derive(Debug, Clone)]
pub(crate) struct HoldTarget {
    pub(crate) point: HoldPoint,
    pub(crate) pattern: PathPattern,
    /// An fsync is held only if its file has at least this many bytes of writes pending; a
    /// write only if it starts at least this far into its file (so a header is not held; the
    /// filesystem reports a write that is not an append as starting at 0).
    pub(crate) min_bytes: u64,
}

#[derive(Debug, Default)]
struct Inner {
    armed: Option<HoldTarget>,
    next_id: u64,
    held: Option<(u64, HeldOp)>,
    /// Releases given to held operations that have not yet woken up to take them.
    releases: BTreeMap<u64, HoldRelease>,
    /// A held write whose caller is to be answered now, its data kept back until release.
    answer: Option<u64>,
}

/// The hold of one mount: at most one operation armed and one held at a time.
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

    /// Arms the hold for the next operation `target` names (replacing an armed hold).
    pub(crate) fn arm(&self, target: HoldTarget) {
        let mut inner = self.lock();
        inner.armed = Some(target);
        self.armed.store(true, Ordering::SeqCst);
    }

    /// Called by an operation at `point`; `file` gives its path and the bytes
    /// [`HoldTarget::min_bytes`] is compared with (computed only when armed). If the hold is
    /// armed for it, waits for the release and returns it; `None` when not held (or the wait
    /// ran out). `answer_early` is called (once, outside the lock) if [`Self::answer_held`]
    /// asks for the caller to be answered before the release.
    pub(crate) fn hold(
        &self,
        point: HoldPoint,
        caller_pid: u32,
        file: impl FnOnce() -> (String, u64),
        mut answer_early: impl FnMut(),
    ) -> Option<HoldRelease> {
        if !self.armed.load(Ordering::SeqCst) {
            return None;
        }
        let (path, bytes) = file();
        let mut inner = self.lock();
        let wanted = inner.armed.as_ref().is_some_and(|target| {
            target.point == point && target.pattern.matches(&path) && bytes >= target.min_bytes
        });
        if !wanted || inner.held.is_some() {
            return None;
        }
        inner.armed = None;
        self.armed.store(false, Ordering::SeqCst);
        let id = inner.next_id;
        inner.next_id += 1;
        inner.held = Some((id, HeldOp { path, caller_pid }));
        self.changed.notify_all();
        let deadline = Instant::now() + HOLD_MAX_WAIT;
        loop {
            if let Some(how) = inner.releases.remove(&id) {
                return Some(how);
            }
            if inner.answer == Some(id) {
                inner.answer = None;
                drop(inner);
                answer_early();
                inner = self.lock();
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                if inner.held.as_ref().is_some_and(|(held, _)| *held == id) {
                    inner.held = None;
                }
                return None;
            }
            inner = self
                .changed
                .wait_timeout(inner, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    /// Waits up to `timeout` for an armed hold to catch an operation; returns it, or `None`
    /// (and disarms) when none came.
    pub(crate) fn wait_held(&self, timeout: Duration) -> Option<HeldOp> {
        let deadline = Instant::now() + timeout;
        let mut inner = self.lock();
        loop {
            if let Some((_, op)) = &inner.held {
                return Some(op.clone());
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

    /// Asks the held operation (if any) to answer its caller now, as if it had completed,
    /// while it stays held (a write: its data reaches the file only at the release).
    pub(crate) fn answer_held(&self) {
        let mut inner = self.lock();
        inner.answer = inner.held.as_ref().map(|(id, _)| *id);
        self.changed.notify_all();
    }

    /// Releases the held operation (if any) and disarms.
    pub(crate) fn release(&self, how: HoldRelease) {
        let mut inner = self.lock();
        inner.armed = None;
        self.armed.store(false, Ordering::SeqCst);
        Self::release_held(&mut inner, how);
        self.changed.notify_all();
    }

    /// Releases the held operation (if any) and, at the same instant, arms for the next one:
    /// no operation that follows the released one can slip through unheld.
    pub(crate) fn release_and_arm(&self, how: HoldRelease, next: HoldTarget) {
        let mut inner = self.lock();
        Self::release_held(&mut inner, how);
        inner.armed = Some(next);
        self.armed.store(true, Ordering::SeqCst);
        self.changed.notify_all();
    }

    fn release_held(inner: &mut Inner, how: HoldRelease) {
        if let Some((id, _)) = inner.held.take() {
            inner.releases.insert(id, how);
            if inner.answer == Some(id) {
                inner.answer = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn fsync_of(pattern: &str, min_pending_bytes: u64) -> HoldTarget {
        HoldTarget {
            point: HoldPoint::Fsync,
            pattern: PathPattern::new(pattern).unwrap(),
            min_bytes: min_pending_bytes,
        }
    }

    fn held_fsync(
        hold: &Arc<FsyncHold>,
        path: &str,
    ) -> std::thread::JoinHandle<Option<HoldRelease>> {
        let (hold, path) = (Arc::clone(hold), path.to_owned());
        std::thread::spawn(move || hold.hold(HoldPoint::Fsync, 42, || (path, 900), || {}))
    }

    #[test]
    fn the_matching_fsync_waits_until_released() {
        let hold = Arc::new(FsyncHold::default());
        assert_eq!(
            hold.hold(HoldPoint::Fsync, 1, || ("wal/1".into(), 900), || {}),
            None
        );
        hold.arm(fsync_of("wal/*", 512));
        let not_matched = hold.hold(HoldPoint::Fsync, 1, || ("MANIFEST".into(), 900), || {});
        assert_eq!(not_matched, None);
        let too_little = hold.hold(HoldPoint::Fsync, 1, || ("wal/1".into(), 100), || {});
        assert_eq!(too_little, None);
        let other_point = hold.hold(HoldPoint::Create, 1, || ("wal/1".into(), 900), || {});
        assert_eq!(other_point, None);
        let waiter = held_fsync(&hold, "wal/2");
        let held = hold.wait_held(Duration::from_secs(5)).unwrap();
        assert_eq!((held.path.as_str(), held.caller_pid), ("wal/2", 42));
        hold.release(HoldRelease::Fail);
        assert_eq!(waiter.join().unwrap(), Some(HoldRelease::Fail));
        let again = hold.hold(HoldPoint::Fsync, 1, || ("wal/3".into(), 900), || {});
        assert_eq!(again, None, "held once only");
    }

    #[test]
    fn a_create_is_held_by_a_create_hold() {
        let hold = Arc::new(FsyncHold::default());
        hold.arm(HoldTarget {
            point: HoldPoint::Create,
            pattern: PathPattern::new("MANIFEST*").unwrap(),
            min_bytes: 0,
        });
        let waiter = {
            let hold = Arc::clone(&hold);
            std::thread::spawn(move || {
                hold.hold(HoldPoint::Create, 7, || ("MANIFEST.2".into(), 0), || {})
            })
        };
        let held = hold.wait_held(Duration::from_secs(5)).unwrap();
        assert_eq!((held.path.as_str(), held.caller_pid), ("MANIFEST.2", 7));
        hold.release(HoldRelease::Proceed);
        assert_eq!(waiter.join().unwrap(), Some(HoldRelease::Proceed));
    }

    #[test]
    fn release_and_arm_holds_the_next_without_giving_it_the_first_release() {
        let hold = Arc::new(FsyncHold::default());
        hold.arm(fsync_of("wal/*", 0));
        let first = held_fsync(&hold, "wal/1");
        assert!(hold.wait_held(Duration::from_secs(5)).is_some());
        hold.release_and_arm(HoldRelease::Proceed, fsync_of("wal/*", 0));
        let second = held_fsync(&hold, "wal/2");
        let held = hold.wait_held(Duration::from_secs(5)).unwrap();
        assert_eq!(held.path, "wal/2");
        assert_eq!(first.join().unwrap(), Some(HoldRelease::Proceed));
        assert!(
            !second.is_finished(),
            "the second waits for its own release"
        );
        hold.release(HoldRelease::Fail);
        assert_eq!(second.join().unwrap(), Some(HoldRelease::Fail));
    }

    #[test]
    fn a_held_write_answers_early_and_still_waits_for_its_release() {
        let hold = Arc::new(FsyncHold::default());
        hold.arm(HoldTarget {
            point: HoldPoint::Write,
            pattern: PathPattern::new("wal/*").unwrap(),
            min_bytes: 1,
        });
        assert_eq!(
            hold.hold(HoldPoint::Write, 1, || ("wal/1".into(), 0), || {}),
            None
        );
        let (answered, answered_rx) = std::sync::mpsc::channel();
        let waiter = {
            let hold = Arc::clone(&hold);
            std::thread::spawn(move || {
                let answer = || answered.send(()).unwrap();
                hold.hold(HoldPoint::Write, 3, || ("wal/1".into(), 64), answer)
            })
        };
        assert!(hold.wait_held(Duration::from_secs(5)).is_some());
        hold.answer_held();
        answered_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("answered early");
        assert!(!waiter.is_finished(), "still held after answering");
        hold.release(HoldRelease::Proceed);
        assert_eq!(waiter.join().unwrap(), Some(HoldRelease::Proceed));
    }

    #[test]
    fn no_fsync_in_time_disarms() {
        let hold = FsyncHold::default();
        hold.arm(fsync_of("**", 0));
        assert_eq!(hold.wait_held(Duration::from_millis(10)), None);
        assert_eq!(
            hold.hold(HoldPoint::Fsync, 1, || ("a".into(), 0), || {}),
            None,
            "disarmed"
        );
    }
}
