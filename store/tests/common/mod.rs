//! What the store's integration tests share: a store on a simulated disk (or any [`Io`]), at
//! the directory `/store`, that keeps its lease between operations. Each test file uses what it
//! needs of this module, so the rest is unused there.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use store::io::sim::SimDisk;
use store::io::Io;
use store::{Store, StoreError, StoreOptions};

/// Where the tests' stores live on their simulated disks.
pub const DIR: &str = "/store";

/// Options for a store on `io` with a lease of `lease_ms`, released only after ten idle
/// minutes (so a test's operations run under one lease unless it says otherwise).
pub fn sim_options(io: Arc<dyn Io>, lease_ms: u64) -> StoreOptions {
    StoreOptions {
        io,
        idle_release_ms: 600_000,
        lease_ms,
        ..StoreOptions::default()
    }
}

/// Opens the store at [`DIR`] on `io`.
pub fn open_on(io: Arc<dyn Io>, lease_ms: u64) -> Result<Store, StoreError> {
    Store::open(Path::new(DIR), sim_options(io, lease_ms))
}

/// Opens the store at [`DIR`] on (a handle to) `disk`.
pub fn open_sim(disk: &SimDisk, lease_ms: u64) -> Result<Store, StoreError> {
    open_on(Arc::new(disk.clone()), lease_ms)
}
