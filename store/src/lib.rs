//! The reference store. (Being built: see store/PROTOCOL.md and store/FORMAT.md.)

// Durable primitives, each with a written contract.
pub mod blob;
pub mod io;
pub mod lock;
pub mod manifest;
mod sync;
pub mod wal;

// Protocols built on the primitives.
pub mod record;
pub mod serve;
pub mod state;
mod store;

pub use crate::store::{
    Batch, CasExpected, CasOutcome, GcReport, Outcome, PinnedSnapshot, SnapshotReport, Store,
    StoreError, StoreOptions, MAX_BATCH_OPS,
};
pub use state::{Entry, IfModified, Version};
