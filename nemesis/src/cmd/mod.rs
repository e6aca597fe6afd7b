//! The subcommands of `faultline`, one module each. Every `run` returns the exit code.

pub mod check;
pub mod lazyfs;
pub mod model;
pub mod mutants;
pub mod replay;
pub mod report;
pub mod soak;

/// Exit code for bad input or an internal error (a wrong flag, an unreadable file).
pub const EXIT_ERROR: u8 = 3;
