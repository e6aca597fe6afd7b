//! faultline's runner and faults: the lazy filesystem that cuts the power ([`lazyfs`]) and the
//! runner that drives a system under test through faults, records what its clients saw and
//! checks it ([`runner`]). The `faultline` binary (`src/main.rs`, one module per subcommand
//! under `src/cmd/`) is a thin shell over both.
//!
//! # The runner ([`runner`])
//!
//! **A run** ([`runner::run`]): a work directory, the lazy filesystem when a fault needs it, P
//! processes of the system under test on one data directory ([`runner::cluster`], each in a
//! process group of its own), C clients that pipeline requests over the line protocol of
//! store/SERVE.md ([`runner::client`], one outstanding request per Jepsen process id, retired
//! after an `info`), and the nemesis ([`runner::nemesis`]) picking faults from a seeded,
//! weighted schedule ([`runner::schedule`]) among those the system promises to survive or
//! detect ([`runner::promises`]). Every invoke, completion and fault goes to `history.jsonl`
//! as it happens ([`runner::record`], fsynced every second and at every fault).
//!
//! **The verdict** ([`runner::checks`]): recovery within a bound, the store's own `verify`,
//! every acknowledged write present after the last recovery, no phantom read, and per-key
//! linearizability with the store's model ([`runner::model::StoreModel`]). A failing run is
//! kept as a bundle ([`runner::keep`], format in `src/runner/BUNDLE.md`), written and fsynced
//! before anything else happens; `faultline replay` runs it again, `faultline check` re-checks
//! it, `faultline report` renders it. [`runner::soak`] runs many runs back to back.
//!
//! # The lazy filesystem ([`lazyfs`])
//!
//! A FUSE filesystem over a *backing directory* that behaves like a disk with a volatile
//! cache, so that a power cut can be simulated for any program in any language.
//!
//! **Disk model** ([`lazyfs::DiskModel`], plain data, no FUSE). Each inode has a live
//! content (what every reader of the mount sees) and a durable content (what the disk
//! holds); the namespace exists twice as well, live and durable. Every mutation changes the
//! live side and appends a pending operation ([`lazyfs::Op`]): writes and truncates per file,
//! creates, renames and unlinks per directory. `fsync(file)` makes the file's pending data
//! durable; only `fsync(parent directory)` makes a name durable, so a renamed file's data
//! and its new name become durable independently.
//!
//! **Crash states.** A power cut keeps, loses or tears (at 512 B or 4 KiB sectors; the rest
//! old, zeros or garbage, at either end) each pending write, may land the kept ones out of
//! order, and loses each pending directory operation with a probability
//! ([`lazyfs::CrashPolicy`], drawn from a seed by [`lazyfs::random_crash`]).
//!
//! **Data flow.** Callbacks go to the model under one lock. The backing directory only ever
//! holds the durable image: an fsync mirrors what it made durable into it, a power cut
//! rewrites it with the crash state and rebuilds the model from it (fresh inode numbers, so
//! no stale kernel cache survives; the mount uses direct I/O and zero cache timeouts).
//! The fault log and the operation trace are JSON lines outside the faulted tree.
//!
//! **Entry points.** [`lazyfs::LazyFs::mount`] gives a [`lazyfs::MountedLazyFs`]
//! (`power_cut`, `power_cut_to`, `crash_states`, `inject`, `heal`, `start_trace`,
//! `stop_trace`, `mark`, `control`, `fault_log`, `unmount`; dropping it unmounts).
//! [`lazyfs::explore_trace`] replays a recorded trace through every crash state, as ALICE
//! does. `faultline lazyfs` serves a mount with a control socket ([`lazyfs::ControlServer`]).
#![warn(missing_docs)]

pub mod lazyfs;
pub mod runner;
