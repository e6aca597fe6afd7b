//! The one place that picks std or loom synchronisation types.
//!
//! Code whose interleavings loom should explore imports `Mutex`, `Condvar` and friends from
//! here. Under `--cfg loom` these are loom's model-checked versions; otherwise they are std's.
//!
//! The store's in-process concurrency, and the loom model of each (run by `.ci/loom`, each
//! with a buggy twin that must fail):
//! - group commit's leader/follower hand-off (`wal::group_commit`, `wal::loom_group_commit`):
//!   nobody is acknowledged before a covering fsync, no wake-up is lost;
//! - snapshot readers against compaction and GC (`store::pins::table`,
//!   `store::pins::loom_pins`): a pinned blob is never deleted under its reader.
//!
//! Everything else a process shares lives under the store's state mutex (the key space, the
//! published snapshot, the lease), and the store keeps no other shared cache.

#[cfg(not(loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};
