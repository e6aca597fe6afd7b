//! Group commit: one flush (write + fsync) serves every writer waiting for durability.
//!
//! The core is generic over what is pending (`P`) and over how a batch is flushed, and it is
//! written against [`crate::sync`] so that loom can explore its interleavings with a modelled
//! fsync (see `loom_group_commit`).
//!
//! Protocol: writers `append` under the mutex (each gets the next LSN) and call `sync(lsn)`.
//! If `lsn` is already durable, `sync` returns. Otherwise, if no flush is running, the caller
//! becomes the leader: it takes everything pending (up to `last_lsn`), releases the mutex,
//! flushes, re-takes the mutex, publishes `durable_lsn = last_lsn at take time`, and wakes all
//! waiters. A follower waits on the condition variable and is released only once
//! `durable_lsn >= lsn`, i.e. only by a completed flush that covered its record. A failed
//! flush poisons the core: every waiter and every later call gets an error; nothing is
//! acknowledged again (fsyncgate: the lost pages may have been marked clean).
//!
//! Gathering: before taking the batch, a leader may wait (bounded by `gather_wait_max` and by
//! twice the duration of the previous flush) until as many records are pending as the previous flush
//! carried. Writers released by that flush are then back with their next record, and one
//! fsync serves nearly all of them instead of alternating small and large batches. A single
//! writer never waits (the previous batch held one record). The wait happens before the take,
//! so it cannot affect what is acknowledged, only when.
//!
//! Bound: a waiter sees at most two flushes before its record is covered: the one in flight
//! when it arrived (which may not cover it) and the next (whose leader takes every record
//! appended so far, its own included). This is asserted in debug builds.

use std::time::{Duration, Instant};

use crate::mutant::{self, Mutant};
use crate::sync::{Condvar, Mutex, MutexGuard};

/// The state the mutex guards.
#[derive(Debug)]
pub(crate) struct CommitState<P> {
    /// LSN of the last appended record (0: none).
    pub(crate) last_lsn: u64,
    /// Every record with an LSN at or below this one has been flushed successfully.
    pub(crate) durable_lsn: u64,
    /// A leader is flushing right now.
    flushing: bool,
    /// A flush failed; nothing may be acknowledged any more.
    poisoned: bool,
    /// Completed flushes (successful or not), for the bound and for the loom mutation.
    flush_count: u64,
    /// Records the previous flush carried, and how long it took.
    last_batch_records: u64,
    last_flush_duration: Duration,
    /// A leader is waiting for records to arrive (appends notify `arrivals`).
    gathering: bool,
    /// Appended records not yet taken by a leader.
    pub(crate) pending: P,
}

impl<P> CommitState<P> {
    /// Checks the invariants that hold whenever the mutex is free.
    pub(crate) fn check_invariants(&self) -> Result<(), String> {
        if self.durable_lsn > self.last_lsn {
            return Err(format!(
                "durable lsn {} is past the last appended lsn {}",
                self.durable_lsn, self.last_lsn
            ));
        }
        Ok(())
    }
}

/// Why `append` or `sync` did not succeed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CommitError<E> {
    /// This caller led a flush and it failed; the core is now poisoned.
    Flush(E),
    /// An earlier flush failed; the core is poisoned.
    Poisoned,
    /// `sync` was asked for an LSN that was never appended.
    NotAppended { lsn: u64, last_lsn: u64 },
    /// The framing closure refused the record (nothing was appended).
    Rejected(E),
}

/// The group-commit core.
#[derive(Debug)]
pub(crate) struct GroupCommit<P> {
    state: Mutex<CommitState<P>>,
    flushed: Condvar,
    arrivals: Condvar,
    gather_wait_max: Duration,
    /// Test-only mutation (loom): a follower returns as soon as any flush completed.
    #[cfg(loom)]
    pub(crate) release_on_any_flush: bool,
}

impl<P> GroupCommit<P> {
    /// A core whose records up to `last_lsn` are all durable (recovered from disk). A leader
    /// waits at most `gather_wait_max` for records to arrive (zero: never waits).
    pub(crate) fn new(last_lsn: u64, pending: P, gather_wait_max: Duration) -> Self {
        GroupCommit {
            state: Mutex::new(CommitState {
                last_lsn,
                durable_lsn: last_lsn,
                flushing: false,
                poisoned: false,
                flush_count: 0,
                last_batch_records: 0,
                last_flush_duration: Duration::ZERO,
                gathering: false,
                pending,
            }),
            flushed: Condvar::new(),
            arrivals: Condvar::new(),
            gather_wait_max,
            #[cfg(loom)]
            release_on_any_flush: false,
        }
    }

    fn lock(&self) -> MutexGuard<'_, CommitState<P>> {
        // A panic while holding the lock cannot leave the counters inconsistent (each update
        // is a single assignment), so a poisoned mutex is recovered.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Runs `inspect` on the state under the mutex.
    pub(crate) fn with_state<R>(&self, inspect: impl FnOnce(&CommitState<P>) -> R) -> R {
        inspect(&self.lock())
    }

    /// Whether a flush has failed.
    pub(crate) fn is_poisoned(&self) -> bool {
        self.lock().poisoned
    }

    /// Appends one record: `frame(lsn, durable_lsn, pending)` adds it to `pending`; on success
    /// the record gets `lsn = last_lsn + 1`. On `Err` nothing was appended.
    pub(crate) fn append<E>(
        &self,
        frame: impl FnOnce(u64, u64, &mut P) -> Result<(), E>,
    ) -> Result<u64, CommitError<E>> {
        let mut state = self.lock();
        if state.poisoned {
            return Err(CommitError::Poisoned);
        }
        let lsn = state.last_lsn + 1;
        let durable_lsn = state.durable_lsn;
        frame(lsn, durable_lsn, &mut state.pending).map_err(CommitError::Rejected)?;
        state.last_lsn = lsn;
        if state.gathering {
            self.arrivals.notify_one();
        }
        Ok(lsn)
    }

    /// The leader's bounded wait for as many pending records as the previous flush carried.
    fn gather<'a>(
        &'a self,
        mut state: MutexGuard<'a, CommitState<P>>,
    ) -> MutexGuard<'a, CommitState<P>> {
        let wanted = state.last_batch_records;
        // Never longer than two of the previous fsync: waiting costs at most that much.
        let wait_max = self.gather_wait_max.min(state.last_flush_duration * 2);
        if wanted <= 1 || wait_max.is_zero() {
            return state;
        }
        let deadline = Instant::now() + wait_max;
        state.gathering = true;
        while state.last_lsn - state.durable_lsn < wanted {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = match self.arrivals.wait_timeout(state, deadline - now) {
                Ok((state, _)) => state,
                Err(poison) => poison.into_inner().0,
            };
        }
        state.gathering = false;
        state
    }

    /// Returns once every record up to `lsn` is durable, leading a flush if none is running.
    /// `take` moves the pending records out (called under the mutex); `flush` writes and
    /// fsyncs them (called without the mutex, by one leader at a time).
    pub(crate) fn sync<B, E>(
        &self,
        lsn: u64,
        take: impl FnOnce(&mut P) -> B,
        flush: impl FnOnce(B) -> Result<(), E>,
    ) -> Result<(), CommitError<E>> {
        let mut take = Some(take);
        let mut flush = Some(flush);
        let mut state = self.lock();
        let flushes_at_arrival = state.flush_count;
        loop {
            debug_assert!(state.check_invariants().is_ok());
            if state.poisoned {
                return Err(CommitError::Poisoned);
            }
            if lsn <= state.durable_lsn {
                return Ok(());
            }
            if lsn > state.last_lsn {
                return Err(CommitError::NotAppended {
                    lsn,
                    last_lsn: state.last_lsn,
                });
            }
            debug_assert!(
                state.flush_count - flushes_at_arrival <= 2,
                "lsn {lsn} still not durable after two flushes"
            );
            if !state.flushing {
                // Leader. `take` and `flush` are used at most once: after our flush either
                // `durable_lsn >= lsn` (we took every record up to `last_lsn >= lsn`) or the
                // core is poisoned, so the loop returns before reaching here again.
                let (Some(take), Some(flush)) = (take.take(), flush.take()) else {
                    debug_assert!(false, "a caller led two flushes");
                    return Err(CommitError::Poisoned);
                };
                state.flushing = true;
                state = self.gather(state);
                let batch = take(&mut state.pending);
                let target = state.last_lsn;
                let records = target - state.durable_lsn;
                drop(state);
                let started = Instant::now();
                let result = flush(batch);
                let duration = started.elapsed();
                state = self.lock();
                state.flushing = false;
                state.flush_count += 1;
                state.last_batch_records = records;
                state.last_flush_duration = duration;
                match result {
                    Ok(()) => {
                        debug_assert!(target >= state.durable_lsn);
                        state.durable_lsn = target;
                    }
                    Err(error) => {
                        state.poisoned = true;
                        self.flushed.notify_all();
                        return Err(CommitError::Flush(error));
                    }
                }
                self.flushed.notify_all();
                continue;
            }
            let flushes_before_wait = state.flush_count;
            state = self
                .flushed
                .wait(state)
                .unwrap_or_else(|poison| poison.into_inner());
            #[cfg(loom)]
            if self.release_on_any_flush && state.flush_count > flushes_before_wait {
                return Ok(());
            }
            if mutant::is_active(Mutant::GroupCommitUncoveredAck)
                && state.flush_count > flushes_before_wait
                && !state.poisoned
            {
                // Mutant 2 (group commit that treats "a flush completed" as "my record is
                // durable"): a follower that arrived during a flush is woken by its leader,
                // whose fsync did not cover the follower's record, and returns as acknowledged.
                return Ok(());
            }
        }
    }
}
