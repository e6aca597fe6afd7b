//! Holding the lease: how long, and when to let go.
//!
//! - The lease keeper thread heartbeats the lease every `lease_ms / 4` and releases it once no
//!   operation has been in flight for `idle_release_ms`, so other processes get their turn.
//! - Fairness under continuous load: once the lease has been held for `max_hold_ms`, new
//!   operations wait until those in flight have settled, the lease is released, and
//!   [`lock_yield`] has passed: a little more than the lock's largest retry delay, so a process
//!   waiting for the lock retries within that window and gets it.
//! - Releasing first makes every appended record durable (a successor must find them on disk).

use std::sync::{MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::core::{Core, Inner};
use crate::lock::LeaseOptions;

/// How long a process that gave up the lease for fairness waits before taking it again.
pub(crate) fn lock_yield() -> Duration {
    LeaseOptions::default().max_backoff + Duration::from_millis(10)
}

impl Core {
    /// See the module doc. Bounded: waits at most `lock_wait_ms` for operations in flight.
    pub(crate) fn yield_if_held_too_long<'a>(
        &'a self,
        mut inner: MutexGuard<'a, Inner>,
    ) -> MutexGuard<'a, Inner> {
        let max_hold = Duration::from_millis(self.options.max_hold_ms);
        let held_too_long = |inner: &Inner| {
            self.options.max_hold_ms > 0
                && inner.holder.is_some()
                && inner.held_since.elapsed() >= max_hold
        };
        if held_too_long(&inner) {
            let wait = Duration::from_millis(self.options.lock_wait_ms);
            inner = self
                .drained
                .wait_timeout_while(inner, wait, |inner| {
                    inner.in_flight > 0 && held_too_long(inner)
                })
                .map(|(inner, _)| inner)
                .unwrap_or_else(|poisoned| PoisonError::into_inner(poisoned).0);
            if held_too_long(&inner) && inner.in_flight == 0 {
                release(&mut inner);
                inner.yield_until = Some(Instant::now() + lock_yield());
            }
        }
        while let Some(until) = inner.yield_until {
            let now = Instant::now();
            if now >= until {
                inner.yield_until = None;
                break;
            }
            drop(inner);
            std::thread::sleep(until - now);
            inner = self.lock_inner();
        }
        inner
    }
}

/// Releases the lease after making every appended record durable; if that fails, the state
/// may hold records that never reach the disk, so it is rebuilt from disk next time.
pub(crate) fn release(inner: &mut Inner) {
    let Some(holder) = inner.holder.take() else {
        return;
    };
    if holder.wal.sync(holder.wal.last_lsn()).is_err() {
        inner.needs_reload = true;
        super::core::note_failed_sync(inner, &holder.wal);
    }
    let _ = holder.lease.release();
}

/// The lease keeper: heartbeats the lease and releases it once the process has been idle for
/// `idle_release_ms`. Exits when the store is dropped.
pub(crate) fn keep_lease(core: Weak<Core>) {
    loop {
        let Some(core) = core.upgrade() else {
            return;
        };
        let tick_ms = (core.options.lease_ms / 4)
            .clamp(1, 250)
            .min(core.options.idle_release_ms.max(1));
        {
            let mut inner = core.lock_inner();
            let idle_for = Duration::from_millis(core.options.idle_release_ms);
            let heartbeat_every = Duration::from_millis(core.options.lease_ms / 4);
            if inner.holder.is_some()
                && inner.in_flight == 0
                && inner.last_activity.elapsed() >= idle_for
            {
                release(&mut inner);
            } else if inner.last_heartbeat.elapsed() >= heartbeat_every {
                inner.last_heartbeat = Instant::now();
                let beat = inner.holder.as_ref().map(|holder| holder.lease.heartbeat());
                // A lost lease is reported by the next settle (the fencing check).
                if let Some(Err(_)) = beat {
                    if inner.in_flight == 0 {
                        release(&mut inner);
                        inner.needs_reload = true;
                    }
                }
            }
        }
        drop(core);
        std::thread::sleep(Duration::from_millis(tick_ms));
    }
}
