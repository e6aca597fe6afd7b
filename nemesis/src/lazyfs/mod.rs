//! The lazy filesystem: a FUSE passthrough that holds unsynced writes and can cut the power.
//!
//! # What is modelled
//! - A write or truncate is durable after `fsync` of its file; a create, mkdir, rename,
//!   unlink or rmdir after `fsync` of its directory (a rename: of either directory; earlier
//!   pending operations on the same names or inodes come along, as they must precede it).
//! - A power cut ([`random_crash`], [`CrashPolicy`]) keeps, loses or tears each pending
//!   write (512 B or 4 KiB sectors aligned to the file offset; the part not persisted holds
//!   old content, zeros or garbage, at either end), may land kept writes out of order, and
//!   loses each pending directory operation with a probability.
//! - [`enumerate_crash_states`] / [`explore_trace`]: ALICE's systematic states (every
//!   prefix of the pending operations, every prefix but one omitted, every torn write).
//! - Faults ([`FaultKind`]) aimed by [`PathPattern`]: fsync `EIO` (ext4: pages marked clean,
//!   data lost at the next cut, the next fsync succeeds), `ENOSPC` on write and create, one
//!   flipped bit on read, a misdirected write (lands 512 B–4 KiB away once it reaches disk).
//! - A held fsync ([`MountedLazyFs::hold_next_fsync`]): the next fsync a pattern matches
//!   waits, its data pending, until released, so a power cut can land inside it; a held
//!   create ([`MountedLazyFs::hold_next_create`]) waits before the file exists. The caller's
//!   pid is kept ([`HeldOp`]), so its process can be stalled right there.
//! - Damage to data at rest, on request ([`MountedLazyFs::rot`], [`MountedLazyFs::misplace`]):
//!   a bit of a file's durable content flips (never in its first [`ROT_HEADER_SKIP_BYTES`] nor
//!   in a given margin before its end), or one file's content lands under another's name.
//!
//! # Not modelled
//! Permissions and times are not crash-relevant (they survive every cut). Hard links,
//! symlinks, special files and extended attributes are refused. The whole image is held in
//! memory (bounded by [`LazyFsOptions::cache_limit_bytes`]; past it writes fail `ENOSPC`
//! with a `cache-full` fault-log line). Names must be UTF-8.
//!
//! # Files outside the tree
//! - Fault log: one JSON object per line, [`FaultLogEntry`] (`unix_ms`, `event`, `path`,
//!   `detail`; a power cut's detail is its [`CrashReport`] as JSON).
//! - Trace: one JSON object per line, [`TraceEvent`], tagged by `op` (`start`, `create`,
//!   `write` with `data_hex`, `truncate`, `remove`, `rename`, `fsync`, `fsync-failed`,
//!   `mark`). A power cut ends the trace. Only a trace begun with nothing pending replays.
//!
//! # Control protocol
//! See [`ControlServer`]: `power-cut [SEED]`, `inject KIND PATTERN [COUNT]`, `heal`,
//! `trace start FILE`, `trace stop`, `mark LABEL`, `status`, `crash-states [MAX]`,
//! `power-cut-state INDEX [MAX]`, `rot PATTERN [MARGIN]`, `misplace PATTERN`; answers
//! `ok ...` / `error ...`.

mod backing;
mod control;
mod crash;
mod damage;
mod error;
mod faults;
mod fs;
mod hold;
mod image;
mod model;
mod mount;
mod ops;
mod options;
mod pattern;
mod state;
mod systematic;
mod trace;

pub use control::{ControlServer, DEFAULT_MAX_CRASH_STATES, MAX_COMMAND_BYTES};
pub use crash::{crash_image, describe_fate, random_crash, CrashReport, Fate};
pub use damage::ROT_HEADER_SKIP_BYTES;
pub use error::{FsError, LazyFsError};
pub use faults::{Fault, FaultKind, FaultLog, FaultLogEntry, FaultSet, FAULT_LOG_MEMORY_ENTRIES};
pub use hold::{HeldOp, HoldPoint, HoldRelease, HOLD_MAX_WAIT};
pub use image::{DiskImage, ImageNode};
pub use model::{DiskModel, DurableFile, NodeAttr};
pub use mount::{force_unmount, is_mounted, LazyFs, MountedLazyFs, UNMOUNT_JOIN_TIMEOUT};
pub use ops::{Ino, NodeKind, Op, PendingOp, TornFill, TornSide, TornWrite, ROOT_INO};
pub use options::{CrashPolicy, LazyFsOptions};
pub use pattern::PathPattern;
pub use systematic::{enumerate_crash_states, explore_trace, CrashState, Exploration, Violation};
pub use trace::{load_trace, TraceEvent, TraceRecorder};
