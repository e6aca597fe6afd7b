//! faultline's reference store: a write-ahead log and blob store with versioned keys, batches,
//! snapshots and garbage collection, shared by several processes through one directory. It is
//! both the example of how to persist data correctly and the first system faultline attacks.
//!
//! # Main types
//! - [`Store`]: the store over one directory ([`Store::open`], `put`, `patch`, `delete`,
//!   `get`, `get_if_modified`, `cas`, [`Store::batch`], `snapshot`, `gc`, `verify`,
//!   [`Store::pin_snapshot`]). Errors are [`StoreError`]s, each saying through
//!   [`StoreError::outcome`] whether the operation may still have happened.
//! - [`serve::serve`]: the line protocol faultline drives (store/SERVE.md), used by
//!   `store serve`.
//! - The durable primitives, each with a written contract: [`io::Io`] (the IO seam),
//!   [`wal::Wal`], [`blob::BlobStore`], [`manifest::ManifestStore`], [`lock::LeaseLock`].
//! - [`record::LogRecord`] (what the Store writes into the WAL: a [`record::WalRecord`] with
//!   its value inline, or a put naming a content-addressed value blob for values of at least
//!   [`StoreOptions::blob_threshold_bytes`]) and [`state::State`] (the key space the records
//!   build, versions included).
//! - [`mutant`]: the planted bugs (cargo feature `mutants`) that measure faultline's
//!   detection power.
//!
//! # How a request flows
//! A line on `store serve`'s stdin is parsed ([`serve::parse_line`]) and queued; a worker
//! thread calls the [`Store`]. The Store takes its state mutex, makes sure this process holds
//! the directory's lease lock (taking it and catching up from the manifest's snapshot and the
//! WAL if not), checks the request against the state, writes and pins the blob of a large value, appends
//! its [`record::LogRecord`]s to the [`wal::Wal`] and applies them to the [`state::State`] at their LSNs (a key's version is the
//! LSN of its last change). It then releases the mutex and waits in [`wal::Wal::sync`], where
//! concurrent writers share one fsync (group commit), re-checks that no other process took the
//! lock over, and only then answers `ok`; an fsync error or a lost lock answers `info`. The
//! worker writes the answer line as soon as it is ready, so answers may come out of order.
//! Protocols, invariants and crash cases: store/PROTOCOL.md; byte layouts: store/FORMAT.md.

// Durable primitives, each with a written contract.
pub mod blob;
pub mod io;
pub mod lock;
pub mod manifest;
pub mod mutant;
mod sync;
pub mod wal;

// Protocols built on the primitives.
pub mod record;
pub mod serve;
pub mod state;
mod store;

pub use crate::store::{
    Batch, CasExpected, CasOutcome, GcReport, Outcome, PinnedSnapshot, SnapshotReport, Store,
    StoreError, StoreOptions, DEFAULT_BLOB_THRESHOLD_BYTES, MAX_BATCH_OPS,
};
pub use state::{Entry, IfModified, Version};
