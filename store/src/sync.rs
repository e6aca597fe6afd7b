//! The one place that picks std or loom synchronisation types.
//!
//! Code whose interleavings loom should explore (the WAL's group commit) imports `Mutex`,
//! `Condvar` and friends from here. Under `--cfg loom` these are loom's model-checked
//! versions; otherwise they are std's.

#[cfg(not(loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};
