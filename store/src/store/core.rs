//! The commit protocol: holding the lease, catching up, appending records under the state
//! mutex, and settling (group-commit fsync, then the fencing check) outside it.
//!
//! Invariants of [`Inner`] (while its mutex is free):
//! - `holder` is `Some` only while this process holds the lease; its Wal has this epoch;
//! - `state` reflects every record the holder's Wal has appended (durable or not) and, before
//!   that, exactly the published snapshot plus the log after it;
//! - `in_flight` counts operations between "took the mutex" and "settled"; the lease is never
//!   released while it is non-zero, and never with appended records left unsynced;
//! - after an indeterminate failure `needs_reload` is set and `holder` is dropped: the next
//!   operation takes the lease again and rebuilds `state` from disk alone;
//! - after a failed fsync `durable_limit` holds the poisoned Wal's last synced LSN until a new
//!   Wal opened without building on the records after it (they read back from the page cache
//!   but may be gone at the next power cut: see `store/PROTOCOL.md`, crash cases).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use super::backend::{self, Lease};
use super::holding::{keep_lease, release};
use super::values;
use super::{Outcome, StoreError, StoreOptions};
use crate::lock::Epoch;
use crate::record::{WalRecord, MAX_KEY_BYTES};
use crate::state::{State, Version};
use crate::wal::{Lsn, Wal};

/// The lease and the Wal of the epoch it grants.
#[derive(Clone, Debug)]
pub(crate) struct Holder {
    pub(crate) lease: Arc<Lease>,
    pub(crate) wal: Arc<Wal>,
}

/// Everything the state mutex guards. See the module doc for the invariants.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) state: State,
    pub(crate) holder: Option<Holder>,
    pub(crate) in_flight: usize,
    pub(crate) last_activity: Instant,
    pub(crate) last_heartbeat: Instant,
    /// When this process took the lease it holds.
    pub(crate) held_since: Instant,
    /// Operations wait until then before taking the lease again (fairness, see `holding`).
    pub(crate) yield_until: Option<Instant>,
    pub(crate) needs_reload: bool,
    /// The epoch of a poisoned Wal of this process and the last LSN it synced, until the
    /// next Wal opened.
    pub(crate) durable_limit: Option<(Epoch, Lsn)>,
}

/// An operation's claim on durability: settled by [`Core::finish`].
struct Ticket {
    wal: Arc<Wal>,
    lease: Arc<Lease>,
    lsn: u64,
}

/// The shared part of a [`super::Store`].
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) dir: PathBuf,
    pub(crate) options: StoreOptions,
    inner: Mutex<Inner>,
    /// Notified when `in_flight` drops to zero.
    pub(crate) drained: Condvar,
}

impl Core {
    pub(crate) fn open(dir: &Path, options: StoreOptions) -> Result<Arc<Core>, StoreError> {
        let inner = Inner {
            state: State::new(),
            holder: None,
            in_flight: 0,
            last_activity: Instant::now(),
            last_heartbeat: Instant::now(),
            held_since: Instant::now(),
            yield_until: None,
            needs_reload: false,
            durable_limit: None,
        };
        let core = Arc::new(Core {
            dir: dir.to_path_buf(),
            options,
            inner: Mutex::new(inner),
            drained: Condvar::new(),
        });
        drop(core.begin()?);
        let weak = Arc::downgrade(&core);
        std::thread::Builder::new()
            .name("store-lease-keeper".into())
            .spawn(move || keep_lease(weak))
            .map_err(|error| backend::spawn_error("spawn lease keeper", error))?;
        Ok(core)
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn lock_inner(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes the state mutex and makes sure this process holds the lease (after yielding it if
    /// held too long, see `holding`).
    pub(crate) fn begin(&self) -> Result<(MutexGuard<'_, Inner>, Holder), StoreError> {
        let mut inner = self.yield_if_held_too_long(self.lock_inner());
        let holder = self.ensure_holder(&mut inner)?;
        Ok((inner, holder))
    }

    /// Takes the lease (waiting at most `lock_wait_ms`) and catches up, unless already held.
    fn ensure_holder(&self, inner: &mut Inner) -> Result<Holder, StoreError> {
        if let Some(holder) = &inner.holder {
            if !holder.wal.is_poisoned() {
                return Ok(holder.clone());
            }
            let wal = holder.wal.clone();
            inner.holder = None;
            inner.needs_reload = true;
            note_failed_sync(inner, &wal);
        }
        let io = self.options.io.clone();
        let lease = Lease::acquire(
            io,
            &self.dir,
            self.options.lease_ms,
            self.options.lock_wait_ms,
        )?;
        match self.catch_up(inner, &lease) {
            Ok(wal) => {
                let holder = Holder {
                    lease: Arc::new(lease),
                    wal: Arc::new(wal),
                };
                inner.holder = Some(holder.clone());
                inner.last_heartbeat = Instant::now();
                inner.held_since = Instant::now();
                Ok(holder)
            }
            Err(error) => {
                inner.needs_reload = true;
                let _ = lease.release();
                Err(error)
            }
        }
    }

    /// Runs `plan` on the caught-up state; appends the records it returns (applying each at
    /// its LSN) and waits until they are durable. Returns the last record's LSN, or `None` when
    /// `plan` wrote nothing (then the state it saw is durable when this returns).
    pub(crate) fn write(
        &self,
        key: Option<&str>,
        plan: impl FnOnce(&State) -> Result<Option<Vec<WalRecord>>, StoreError>,
    ) -> Result<Option<Version>, StoreError> {
        if let Some(key) = key {
            check_key(key)?;
        }
        let (mut inner, holder) = self.begin()?;
        match plan(&inner.state)? {
            Some(records) => self.append_and_settle(inner, holder, &records).map(Some),
            None => {
                let ticket = ticket(&mut inner, holder);
                drop(inner);
                self.finish(ticket).map(|()| None)
            }
        }
    }

    /// Appends `records` unconditionally and waits until they are durable; returns the last
    /// record's LSN.
    pub(crate) fn write_all(
        &self,
        key: Option<&str>,
        records: &[WalRecord],
    ) -> Result<Version, StoreError> {
        if let Some(key) = key {
            check_key(key)?;
        }
        let (inner, holder) = self.begin()?;
        self.append_and_settle(inner, holder, records)
    }

    fn append_and_settle(
        &self,
        mut inner: MutexGuard<'_, Inner>,
        holder: Holder,
        records: &[WalRecord],
    ) -> Result<Version, StoreError> {
        let io = &self.options.io;
        let threshold = self.options.blob_threshold_bytes;
        let staged = values::stage(io, &self.dir, threshold, records)?;
        let payloads = &staged.payloads;
        check_payload_sizes(payloads)?;
        for (record, payload) in records.iter().zip(payloads) {
            let lsn = holder.wal.append(payload)?;
            if let Err(error) = inner.state.apply(lsn.0, record) {
                inner.needs_reload = true;
                inner.holder = None;
                return Err(error.into());
            }
        }
        let written = inner.state.applied_lsn();
        let ticket = ticket(&mut inner, holder);
        drop(inner);
        let settled = self.finish(ticket);
        // The records are durable (or the write failed): they, not the pins, keep their value
        // blobs from GC from now on.
        drop(staged.pins);
        settled.map(|()| written)
    }

    /// Runs `read` on the caught-up state and returns its answer once that state is durable
    /// and the lease was still this process's.
    pub(crate) fn read<R>(&self, read: impl FnOnce(&State) -> R) -> Result<R, StoreError> {
        let (answer, ticket) = {
            let (mut inner, holder) = self.begin()?;
            let answer = read(&inner.state);
            (answer, ticket(&mut inner, holder))
        };
        self.finish(ticket)?;
        Ok(answer)
    }

    /// Settles a ticket: group-commit fsync through its LSN, then the fencing check.
    fn finish(&self, ticket: Ticket) -> Result<(), StoreError> {
        let result = settle(&ticket);
        let Ticket { wal, .. } = ticket;
        let mut inner = self.lock_inner();
        inner.in_flight -= 1;
        inner.last_activity = Instant::now();
        if let Err(error) = &result {
            forget_holder_if_indeterminate(&mut inner, &wal, error);
        }
        if inner.in_flight == 0 {
            self.drained.notify_all();
            if self.options.idle_release_ms == 0 {
                release(&mut inner);
            }
        }
        result
    }

    /// After an operation under the state mutex failed: if its outcome is unknown, stop using
    /// this holder and rebuild the state from disk next time.
    pub(crate) fn after_error<T>(
        &self,
        inner: &mut Inner,
        holder: &Holder,
        result: &Result<T, StoreError>,
    ) {
        if let Err(error) = result {
            forget_holder_if_indeterminate(inner, &holder.wal, error);
        }
    }

    pub(crate) fn check_invariants(&self) -> Result<(), String> {
        let inner = self.lock_inner();
        inner.state.check_invariants()?;
        if let Some(holder) = &inner.holder {
            holder.wal.check_invariants()?;
            if holder.wal.last_lsn().0 != inner.state.applied_lsn() {
                return Err(format!(
                    "state at lsn {} but the wal appended through {}",
                    inner.state.applied_lsn(),
                    holder.wal.last_lsn()
                ));
            }
        }
        Ok(())
    }
}

fn forget_holder_if_indeterminate(inner: &mut Inner, wal: &Arc<Wal>, error: &StoreError) {
    if error.outcome() != Outcome::Indeterminate {
        return;
    }
    if inner
        .holder
        .as_ref()
        .is_some_and(|holder| Arc::ptr_eq(&holder.wal, wal))
    {
        inner.holder = None;
        inner.needs_reload = true;
        note_failed_sync(inner, wal);
    }
}

/// Remembers how far a poisoned Wal is durable (the lowest such point if several were).
pub(crate) fn note_failed_sync(inner: &mut Inner, wal: &Wal) {
    if wal.is_poisoned() {
        let failed = (wal.epoch(), wal.durable_lsn());
        inner.durable_limit = Some(inner.durable_limit.map_or(failed, |d| d.min(failed)));
    }
}

fn ticket(inner: &mut Inner, holder: Holder) -> Ticket {
    inner.in_flight += 1;
    Ticket {
        wal: holder.wal,
        lease: holder.lease,
        lsn: inner.state.applied_lsn(),
    }
}

fn settle(ticket: &Ticket) -> Result<(), StoreError> {
    ticket.wal.sync(Lsn(ticket.lsn))?;
    if !ticket.lease.still_ours()? {
        return Err(StoreError::LockLost {
            epoch: ticket.lease.epoch().0,
        });
    }
    Ok(())
}

fn check_key(key: &str) -> Result<(), StoreError> {
    if key.len() > MAX_KEY_BYTES {
        return Err(StoreError::KeyTooLong { len: key.len() });
    }
    Ok(())
}

fn check_payload_sizes(payloads: &[Vec<u8>]) -> Result<(), StoreError> {
    let max = crate::wal::frame::MAX_PAYLOAD_BYTES;
    match payloads.iter().find(|payload| payload.len() > max) {
        Some(payload) => Err(crate::wal::WalError::PayloadTooLarge {
            len: payload.len(),
            max,
        }
        .into()),
        None => Ok(()),
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        let inner = self
            .inner
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        release(inner);
    }
}
