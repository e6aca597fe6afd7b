//! The lazy filesystem: a FUSE passthrough that holds unsynced writes and can cut the power.
//! See the crate documentation for the disk model and how data flows.

mod backing;
mod control;
mod crash;
mod error;
mod faults;
mod fs;
mod image;
mod model;
mod mount;
mod ops;
mod options;
mod pattern;
mod state;
mod systematic;
mod trace;

pub use control::{ControlServer, MAX_COMMAND_BYTES};
pub use crash::{crash_image, describe_fate, random_crash, CrashReport, Fate};
pub use error::{FsError, LazyFsError};
pub use faults::{Fault, FaultKind, FaultLog, FaultLogEntry, FaultSet};
pub use image::{DiskImage, ImageNode};
pub use model::{DiskModel, NodeAttr};
pub use mount::{force_unmount, is_mounted, LazyFs, MountedLazyFs, UNMOUNT_JOIN_TIMEOUT};
pub use ops::{Ino, NodeKind, Op, PendingOp, TornFill, TornSide, TornWrite, ROOT_INO};
pub use options::{CrashPolicy, LazyFsOptions};
pub use pattern::PathPattern;
pub use systematic::{enumerate_crash_states, explore_trace, CrashState, Exploration, Violation};
pub use trace::{load_trace, TraceEvent, TraceRecorder};
