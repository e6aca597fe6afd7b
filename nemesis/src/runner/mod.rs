//! The runner: drives a system under test that speaks the line protocol of store/SERVE.md from
//! several clients, injects faults from a seeded schedule, records the history, checks it and
//! keeps every failure as a bundle that replays.
//!
//! Pieces, in the order data flows through a run ([`run::run`]): [`process`] starts the system
//! under test in process groups of its own and [`cluster`] keeps them by slot; [`connection`]
//! pipelines requests to one process and matches answers by id; [`workload`] says what each
//! [`client`] asks; [`record`] writes every event to the history as it happens; [`schedule`]
//! picks faults and [`nemesis`] applies them, restricted by [`promises`]; [`checks`] checks the
//! history against [`model::StoreModel`] and more; [`keep`] writes a failure as a [`bundle`]
//! with its [`report`] and the [`crash_image`] a recovery failure replays on; [`soak`] runs many runs and counts them in a [`summary`]; [`cleanup`]
//! and [`interrupt`] make sure no process, mount or temporary directory outlives faultline.
//! [`mutants`] measures detection power: a soak per planted bug of the store, then the clean
//! store.

pub mod bundle;
pub mod checks;
pub mod cleanup;
pub mod client;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod crash_image;
pub mod durability;
pub mod error;
pub mod interrupt;
pub mod keep;
pub mod model;
pub mod mutants;
pub mod nemesis;
pub mod process;
pub mod promises;
pub mod record;
pub mod report;
pub mod run;
pub mod schedule;
pub mod soak;
pub mod summary;
pub mod workload;

pub use config::{FaultRecord, RunConfig};
pub use error::RunError;
pub use run::{run, RunOutcome};
pub use soak::{soak, Shard, SoakAborted, SoakOptions};
