//! faultline's runner and faults.
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
