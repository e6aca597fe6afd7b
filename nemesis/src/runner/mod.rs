//! The runner: drives a system under test that speaks the line protocol of store/SERVE.md from
//! several clients, injects faults from a seeded schedule, records the history, checks it and
//! keeps every failure as a bundle that replays.
//!
//! Pieces, in the order data flows through a run: [`process`] starts the system under test in
//! process groups of its own; [`connection`] pipelines requests to one process and matches
//! answers by id; [`workload`] says what each client asks; [`schedule`] picks faults;
//! [`promises`] says which faults the system promises to survive or detect; [`bundle`] keeps a
//! failure durably; [`summary`] counts what a soak did; [`interrupt`] makes Ctrl-C and panics
//! clean up everything that was started.
#![allow(missing_docs)] // field-level docs still to be written for the runner

pub mod bundle;
pub mod connection;
pub mod interrupt;
pub mod process;
pub mod promises;
pub mod schedule;
pub mod summary;
pub mod workload;
