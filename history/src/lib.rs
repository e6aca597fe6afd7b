//! faultline's recorded histories and linearizability checker.
//!
//! Data flows: a history file (JSON lines, see `FORMAT.md`; or Jepsen EDN / etcd-style logs
//! through [`import`]) is read as [`Event`]s, paired by [`pair_events`] into a [`History`] of
//! [`Operation`]s and [`Fault`]s, and checked by [`check`] against a [`Model`] (built-in ones
//! in [`ModelKind`]). The [`Verdict`] is `Ok`, `Violation` (with the partition, a shrunk core
//! of operations that cannot be linearized and the longest partial linearization) or
//! `Unknown` when the deadline or memory budget ran out. [`report`] renders it as text or as a
//! self-contained HTML page.
//!
//! The checker is Wing–Gong/Lowe's search with memoisation of (linearized set, model state),
//! split by the model's partitions (P-compositionality) and run in parallel, cheapest work
//! first: a greedy replay settles most linearizable partitions without a search (its order
//! is a linearization); the others are searched with step budgets that grow by stages, so
//! that a violation that is cheap to find stops the check before long searches of other
//! partitions run. `fail` operations
//! are dropped; `info` operations may take effect at any time after their call, or never.
//! The memoisation cache keys linearized sets by a 128-bit fingerprint and model states by a
//! 64-bit hash (it keeps no copy of a state); a collision could only prune a branch, so a
//! violation is always re-confirmed with exact sets and states before it is reported, and
//! "linearizable" never rests on a fingerprint. A confirmed violation is shrunk:
//! the history is cut at the earliest time it is already non-linearizable, then operations
//! are relaxed (made `info`-like) while it stays so; what stays strict is the core.
//!
//! For models that declare how each operation reads and writes a single-valued state
//! ([`Access`]: registers, keys of a map), four exact shortcuts apply (switch them off with
//! [`CheckOptions::reductions`]): an `ok` operation observing a value nothing could have set
//! before it returned is a violation found before any search; so is one observing a value
//! whose every setter was overwritten by an `ok` operation that returned before it was
//! called (a stale read); `info` operations that nothing observes are dropped; and the
//! search rejects a step that leaves a value while an `ok` operation still has to observe it
//! and no operation that sets it is left. A partition with appends ([`Access::Append`], the
//! `kv` model's lists and strings) gets the first two only, in a coarser form (a read of
//! something no write or append could have made; a read of a value whose every possible
//! maker was overwritten before it was called). These linear-time checks run over every
//! partition before any partition is searched.
//!
//! What it does not check: only linearizability of single operations against the model
//! (no serializability anomalies beyond what a `txn` model expresses, no session guarantees,
//! no durability across restarts unless the model says so); the times in the history are
//! trusted as real-time order (clock skew between recording threads is not corrected); a
//! model is trusted to be a correct sequential specification. Malformed input
//! ([`FormatError`], [`PairingError`], [`CheckError`], [`import::ImportError`]) is always an
//! error, never a verdict.

mod event;
pub mod export;
pub mod import;
mod jsonl;
mod model;
mod models;
mod operation;
pub mod report;
mod search;
mod value;

pub use event::{Event, EventType, Process};
pub use jsonl::{FormatError, HistoryReader, HistoryWriter};
pub use model::{Access, Model};
pub use models::{
    append_value, KvMap, KvState, ListAppend, ModelKind, Mutex, Register, Txn, VersionedObject,
    VersionedState,
};
pub use operation::{pair_events, Fault, History, Operation, Outcome, PairingError};
pub use search::{check, CheckError, CheckOptions, CheckResult, Limit, Verdict, Violation};
pub use value::Value;

/// Reads and pairs a JSON-lines history.
pub fn read_jsonl(input: impl std::io::BufRead) -> Result<History, ReadError> {
    let events = HistoryReader::new(input).collect::<Result<Vec<_>, _>>()?;
    Ok(pair_events(events)?)
}

/// Why a history file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A line is not a valid event.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The events do not pair into operations.
    #[error(transparent)]
    Pairing(#[from] PairingError),
}
