//! The lazy filesystem: a FUSE passthrough that holds unsynced writes and can cut the power.
//! See the crate documentation for the disk model and how data flows.

mod crash;
mod error;
mod image;
mod model;
mod ops;
mod options;
mod pattern;

pub use crash::{crash_image, describe_fate, random_crash, CrashReport, Fate};
pub use error::{FsError, LazyFsError};
pub use image::{DiskImage, ImageNode};
pub use model::{DiskModel, NodeAttr};
pub use ops::{Ino, NodeKind, Op, PendingOp, TornFill, TornSide, TornWrite, ROOT_INO};
pub use options::{CrashPolicy, LazyFsOptions};
pub use pattern::PathPattern;
