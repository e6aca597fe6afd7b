//! faultline's stateright models of the store's protocols.
//!
//! Each protocol of the store (`store/PROTOCOL.md`) is modelled as a small
//! stateright [`Model`](stateright::Model) in its own module, with a [`Variant`] switch: the
//! `Correct` protocol, and a `Buggy` one that plants a bug real stores have shipped. Each model
//! names its properties: `always` for safety; liveness as the `always` property "no reachable
//! state has unfinished work while only faults are possible"; `sometimes` to show the
//! interesting behaviour (a takeover, a reader race) is reachable at all.
//!
//! Data flow: [`check`] looks a model up in [`MODELS`], builds the instance, runs stateright's
//! single-threaded BFS over every interleaving and crash point, and returns a [`CheckReport`]:
//! state counts, time, each property's [`Outcome`] and the shortest counterexample path, step by
//! step (stateright 0.31 would otherwise overwrite the shortest path; see `model/README.md`).
//! [`explore`] serves stateright's Explorer for the same instance on localhost. The
//! `faultline model` command is a thin layer over these two.
//!
//! Models: [`lock`] (lease + fencing epochs), [`commit`] (group commit, compaction, GC, a
//! reader), [`versioned`] (versioned keys, checked for linearizability), [`frontier`] (stream
//! frontiers). Every model implements [`ProtocolModel`].

mod catalog;
mod checking;
pub mod commit;
pub mod frontier;
pub mod lock;
mod report;
pub mod versioned;

pub use catalog::{check, explore, find, ModelInfo, MODELS};
pub use checking::{CheckOptions, ProtocolModel};
pub use report::{CheckReport, Outcome, PropertyReport, Step};

use std::fmt;
use std::net::SocketAddr;

/// Which protocol a model runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// The protocol as designed; every property must hold.
    Correct,
    /// The protocol with its planted bug; some property must fail.
    Buggy,
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Variant::Correct => "correct",
            Variant::Buggy => "buggy",
        })
    }
}

/// Why a model could not be checked or explored.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// No model has this name.
    #[error("unknown model `{name}` (known models: {known})")]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// The names that exist, comma-separated.
        known: String,
    },
    /// The instance size is outside what the model supports.
    #[error("model `{model}` takes --processes from {min} to {max}, not {requested}")]
    ProcessesOutOfRange {
        /// The model.
        model: &'static str,
        /// The size asked for.
        requested: u8,
        /// Smallest size supported.
        min: u8,
        /// Largest size supported.
        max: u8,
    },
    /// The Explorer serves only on a loopback address.
    #[error("the Explorer serves on localhost only; {address} is not a loopback address")]
    ExplorerNotLoopback {
        /// The address asked for.
        address: SocketAddr,
    },
    /// The Explorer's address could not be bound.
    #[error("cannot listen on {address} for the Explorer: {source}")]
    ExplorerBind {
        /// The address asked for.
        address: SocketAddr,
        /// The bind error.
        source: std::io::Error,
    },
}
