//! The list of models `faultline model` knows, and how to build, check and explore each.

use crate::checking::{self, CheckOptions, ProtocolModel};
use crate::commit::CommitModel;
use crate::frontier::FrontierModel;
use crate::lock::LockModel;
use crate::report::CheckReport;
use crate::versioned::VersionedModel;
use crate::{ModelError, Variant};
use std::fmt::Debug;
use std::hash::Hash;
use std::net::SocketAddr;

/// A model in the catalog.
#[derive(Clone, Copy, Debug)]
pub struct ModelInfo {
    /// Name used on the command line.
    pub name: &'static str,
    /// One line: what protocol it models.
    pub summary: &'static str,
    /// What `--processes` counts in this model.
    pub processes_meaning: &'static str,
    /// Default instance size (the one whose state counts the tests pin).
    pub default_processes: u8,
    /// Smallest and largest instance accepted.
    pub processes_range: (u8, u8),
    check: CheckFn,
    serve: ServeFn,
}

type CheckFn = fn(Variant, u8, String, CheckOptions) -> CheckReport;
type ServeFn = fn(Variant, u8, SocketAddr);

fn check_instance<M>(
    variant: Variant,
    size: u8,
    title: String,
    options: CheckOptions,
) -> CheckReport
where
    M: ProtocolModel + Send + Sync + 'static,
    M::State: Clone + Debug + Hash + PartialEq + Send + Sync + 'static,
    M::Action: Clone + Debug + PartialEq + Send + Sync + 'static,
{
    checking::run(M::instance(variant, size), title, options)
}

fn serve_instance<M>(variant: Variant, size: u8, address: SocketAddr)
where
    M: ProtocolModel + Send + Sync + 'static,
    M::State: Clone + Debug + Hash + PartialEq + Send + Sync + 'static,
    M::Action: Clone + Debug + PartialEq + Send + Sync + 'static,
{
    let _checker = M::instance(variant, size).checker().serve(address);
}

/// Every model, in the order `faultline model list` prints them.
pub const MODELS: &[ModelInfo] = &[
    ModelInfo {
        name: "lock",
        summary: "lease lock with fencing epochs: takeover of crashed or paused holders",
        processes_meaning: "contending processes",
        default_processes: 3,
        processes_range: (1, 4),
        check: check_instance::<LockModel>,
        serve: serve_instance::<LockModel>,
    },
    ModelInfo {
        name: "commit",
        summary: "group commit, snapshot + manifest swap + segment deletion, GC, a reader",
        processes_meaning: "client writes",
        default_processes: 4,
        processes_range: (1, 4),
        check: check_instance::<CommitModel>,
        serve: serve_instance::<CommitModel>,
    },
    ModelInfo {
        name: "versioned",
        summary: "versioned keys: put, patch, delete, get-if-modified, eviction, restart",
        processes_meaning: "clients",
        default_processes: 2,
        processes_range: (1, 3),
        check: check_instance::<VersionedModel>,
        serve: serve_instance::<VersionedModel>,
    },
    ModelInfo {
        name: "frontier",
        summary: "frontier protocol: batches at [lower, upper), readers wait, producers crash",
        processes_meaning: "producers",
        default_processes: 2,
        processes_range: (1, 3),
        check: check_instance::<FrontierModel>,
        serve: serve_instance::<FrontierModel>,
    },
];

/// Looks a model up by name.
pub fn find(name: &str) -> Result<&'static ModelInfo, ModelError> {
    MODELS
        .iter()
        .find(|info| info.name == name)
        .ok_or_else(|| ModelError::UnknownModel {
            name: name.to_string(),
            known: MODELS
                .iter()
                .map(|info| info.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

fn instance(name: &str, processes: Option<u8>) -> Result<(&'static ModelInfo, u8), ModelError> {
    let info = find(name)?;
    let processes = processes.unwrap_or(info.default_processes);
    let (min, max) = info.processes_range;
    if !(min..=max).contains(&processes) {
        return Err(ModelError::ProcessesOutOfRange {
            model: info.name,
            requested: processes,
            min,
            max,
        });
    }
    Ok((info, processes))
}

/// Checks model `name` exhaustively (BFS, shortest paths) and reports every property.
pub fn check(
    name: &str,
    variant: Variant,
    processes: Option<u8>,
    options: CheckOptions,
) -> Result<CheckReport, ModelError> {
    let (info, processes) = instance(name, processes)?;
    let title = format!(
        "{} ({variant}, {processes} {})",
        info.name, info.processes_meaning
    );
    Ok((info.check)(variant, processes, title, options))
}

/// Serves stateright's Explorer for model `name` on `address`, which must be a loopback
/// address. Blocks for as long as the server runs.
pub fn explore(
    name: &str,
    variant: Variant,
    processes: Option<u8>,
    address: SocketAddr,
) -> Result<(), ModelError> {
    let (info, processes) = instance(name, processes)?;
    if !address.ip().is_loopback() {
        return Err(ModelError::ExplorerNotLoopback { address });
    }
    // stateright panics when it cannot bind; try first so the user gets an error instead.
    drop(
        std::net::TcpListener::bind(address)
            .map_err(|source| ModelError::ExplorerBind { address, source })?,
    );
    (info.serve)(variant, processes, address);
    Ok(())
}
