//! `check`: partition the history, apply the linear-time checks to every partition (see
//! `reduce`; a violation they find stops the check before any search), settle each partition
//! (a greedy replay, then searches with growing step budgets, cheapest work first, see
//! `queue`) in parallel, confirm and shrink the first violation.

mod appends;
mod bitset;
mod entries;
mod memo;
mod overwriters;
mod partitions;
mod queue;
mod reduce;
mod replay;
mod shrink;
mod stranded;
#[cfg(test)]
mod test_ops;
mod wgl;

pub(crate) use bitset::FastHash;
pub use wgl::Limit;

use crate::{History, Model, Operation, Value};
use queue::Queue;
use shrink::Confirmation;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use wgl::{Limits, Scratch, Search};

/// Bounds and parallelism of a check.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Give up (verdict `Unknown`) after this long; `None` waits forever.
    pub timeout: Option<Duration>,
    /// Give up when the memoisation caches of running searches together exceed this many
    /// bytes (keys and inline state counted; heap data inside states is not).
    pub memory_budget_bytes: usize,
    /// Worker threads; 0 means one per core (one in all for a history of fewer than 2048
    /// operations, where starting threads costs more than it saves).
    pub threads: usize,
    /// At most this many extra searches to shrink a violation to its core; 0 reports as the
    /// core the partition cut where the search got stuck (or the whole partition), confirmed
    /// exactly: little more than a verdict, and about as fast as the search that found it.
    pub shrink_checks_max: usize,
    /// Each of those searches gives up after this many steps plus 8 per operation (the
    /// operations it tried to relax then stay in the core).
    pub shrink_steps_max: u64,
    /// Settle a partition without searching when a greedy replay linearizes it (any model);
    /// decide impossible observations before searching, drop `info` operations that cannot
    /// matter and prune steps that strand an observation, for models that declare
    /// [`crate::Access`]. Exact either way; off only to compare against the plain search.
    pub reductions: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            timeout: None,
            memory_budget_bytes: 1 << 30,
            threads: 0,
            shrink_checks_max: 500,
            shrink_steps_max: 2_000,
            reductions: true,
        }
    }
}

/// A confirmed violation, with what a user needs to see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The partition (key) that cannot be linearized; `None` for an unpartitioned model.
    pub partition: Option<Value>,
    /// Ids of operations that together cannot be linearized (even if every other operation
    /// of the partition may or may not have happened, with any result). Shrunk greedily.
    pub core: Vec<usize>,
    /// Whether removing any single operation of `core` was tried (it then is 1-minimal).
    pub core_minimal: bool,
    /// Ids of the longest partial linearization found, in linearization order (empty when
    /// the violation was decided without a search: an operation observed a value nothing
    /// could have set before it returned).
    pub partial_linearization: Vec<usize>,
}

/// The answer of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The history is linearizable.
    Ok,
    /// It is not; see the violation.
    Violation(Violation),
    /// A bound ran out before an answer was found. Never a silent `Ok`.
    Unknown(Limit),
}

/// A verdict with figures about the check.
#[derive(Clone, Debug)]
pub struct CheckResult {
    /// The verdict.
    pub verdict: Verdict,
    /// How many partitions were formed.
    pub partitions: usize,
    /// Operations searched (failed ones are not).
    pub operations_checked: usize,
    /// Wall-clock time of the check.
    pub elapsed: Duration,
}

/// A history the model cannot interpret: bad input, never a verdict.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckError {
    /// The model rejected an operation (unknown `f`, malformed value).
    #[error("line {line}: operation `{f}`: {reason}")]
    InvalidOperation {
        /// Line of the operation's invocation.
        line: usize,
        /// The operation's name.
        f: String,
        /// What the model expected.
        reason: String,
    },
}

enum PartitionResult {
    Violation {
        confirmed: shrink::Confirmed,
        longest: Vec<usize>,
    },
    Unknown(Limit),
    Done,
    /// The search ran out of its stage's steps (see `queue`): search again with more.
    Deferred,
}

/// Checks `history` for linearizability against `model`.
pub fn check<M: Model>(
    model: &M,
    history: &History,
    options: &CheckOptions,
) -> Result<CheckResult, CheckError> {
    let started = Instant::now();
    let partitions = partitions::split(model, history)?;
    let operations_checked = partitions.iter().map(|(_, ops)| ops.len()).sum();
    let memory_used_bytes = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let limits = Limits {
        deadline: options.timeout.map(|timeout| started + timeout),
        memory_budget_bytes: options.memory_budget_bytes,
        memory_used_bytes: &memory_used_bytes,
        stop: &stop,
        steps_max: None,
        prune_stranded: options.reductions,
    };
    let results: Mutex<Vec<(usize, PartitionResult)>> = Mutex::new(Vec::new());
    let threads = if options.threads == 0 && operations_checked < ONE_THREAD_BELOW_OPERATIONS {
        1
    } else if options.threads == 0 {
        cores()
    } else {
        options.threads
    }
    .clamp(1, partitions.len().max(1));
    // Stages (see `queue`): replays only with the reductions on; bounded searches only
    // when there are more partitions than workers (otherwise every partition has a worker).
    let staged = partitions.len() > threads;
    let search_stage = if staged {
        queue::FIRST_SEARCH_STAGE
    } else {
        queue::UNBOUNDED_STAGE
    };
    let first_stage = if options.reductions {
        queue::PRECHECK_STAGE
    } else {
        search_stage
    };
    let queue = Queue::new(partitions.len(), first_stage);
    // Each partition's reduction, made in the pre-check stage (with the reductions on).
    let reductions: Vec<OnceLock<reduce::Reduction>> =
        partitions.iter().map(|_| OnceLock::new()).collect();
    let worker = || {
        let mut scratch = Scratch::default();
        while let Some(task) = queue.take() {
            let ops = &partitions[task.partition].1;
            // A partition the replay does not settle is searched at once in the first search
            // stage: where a violation is, the replay usually gets stuck.
            let mut search = |stage: u32| {
                let steps_max = queue::steps_max(stage, ops.len());
                let reduction = reductions[task.partition].get();
                let result = check_partition(
                    model,
                    ops,
                    reduction,
                    &limits,
                    options,
                    steps_max,
                    &mut scratch,
                );
                (result, Some(stage))
            };
            let (result, stage) = match task.stage {
                queue::PRECHECK_STAGE => match reduce::reduce(model, ops) {
                    reduce::Reduction::Impossible { core, minimal } => {
                        let confirmed = shrink::Confirmed {
                            core,
                            core_minimal: minimal,
                        };
                        let longest = Vec::new();
                        (PartitionResult::Violation { confirmed, longest }, None)
                    }
                    reduction => {
                        let _ = reductions[task.partition].set(reduction);
                        queue.put_back(task, queue::REPLAY_STAGE);
                        continue;
                    }
                },
                queue::REPLAY_STAGE if replay::replays(model, ops) => (PartitionResult::Done, None),
                queue::REPLAY_STAGE => search(search_stage),
                stage => search(stage),
            };
            match (result, stage) {
                (PartitionResult::Deferred, Some(stage)) => queue.put_back(task, stage + 1),
                (result, _) => {
                    if matches!(result, PartitionResult::Violation { .. }) {
                        stop.store(true, Ordering::Relaxed);
                        queue.close();
                    }
                    queue.finish(task);
                    results
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .push((task.partition, result));
                }
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(worker);
        }
        worker();
    });
    let mut results = results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    results.sort_by_key(|(index, _)| *index);
    let mut verdict = Verdict::Ok;
    for (index, result) in results {
        let (key, ops) = &partitions[index];
        match result {
            PartitionResult::Violation { confirmed, longest } => {
                verdict = Verdict::Violation(Violation {
                    partition: key.clone(),
                    core: confirmed.core.iter().map(|local| ops[*local].id).collect(),
                    core_minimal: confirmed.core_minimal,
                    partial_linearization: longest.iter().map(|local| ops[*local].id).collect(),
                });
                break;
            }
            PartitionResult::Unknown(limit) => verdict = Verdict::Unknown(limit),
            PartitionResult::Done | PartitionResult::Deferred => {}
        }
    }
    let partitions = partitions.len();
    Ok(CheckResult {
        verdict,
        partitions,
        operations_checked,
        elapsed: started.elapsed(),
    })
}

/// With `CheckOptions::threads` 0, a history with fewer operations than this is checked on
/// the calling thread alone: starting a thread costs more than sharing so little work saves.
const ONE_THREAD_BELOW_OPERATIONS: usize = 2048;

/// The number of cores, asked of the system once (it reads files and makes system calls,
/// which would cost a short check a good part of its time).
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |cores| cores.get()))
}

/// Checks one partition; the indices in the result are local to `ops`.
/// `steps_max`: the stage's bound on the search (not on confirming a violation).
/// `reduction`: the partition's, when the reductions are on (never `Impossible`: that is
/// reported in the pre-check stage).
fn check_partition<M: Model>(
    model: &M,
    ops: &[&Operation],
    reduction: Option<&reduce::Reduction>,
    limits: &Limits,
    options: &CheckOptions,
    steps_max: Option<u64>,
    scratch: &mut Scratch<M, u128>,
) -> PartitionResult {
    let Some(reduction) = reduction.filter(|_| options.reductions) else {
        return search_partition(model, ops, limits, options, steps_max, scratch);
    };
    let kept = match reduction {
        reduce::Reduction::Impossible { core, minimal } => {
            return PartitionResult::Violation {
                confirmed: shrink::Confirmed {
                    core: core.clone(),
                    core_minimal: *minimal,
                },
                longest: Vec::new(),
            }
        }
        reduce::Reduction::Search(kept) => kept,
        reduce::Reduction::Opaque => {
            let limits = Limits {
                prune_stranded: false,
                ..*limits
            };
            return search_partition(model, ops, &limits, options, steps_max, scratch);
        }
    };
    if kept.len() == ops.len() {
        return search_partition(model, ops, limits, options, steps_max, scratch);
    }
    let reduced: Vec<&Operation> = kept.iter().map(|local| ops[*local]).collect();
    match search_partition(model, &reduced, limits, options, steps_max, scratch) {
        PartitionResult::Violation { confirmed, longest } => PartitionResult::Violation {
            confirmed: shrink::Confirmed {
                core: confirmed.core.iter().map(|local| kept[*local]).collect(),
                core_minimal: confirmed.core_minimal,
            },
            longest: longest.iter().map(|local| kept[*local]).collect(),
        },
        other => other,
    }
}

fn search_partition<M: Model>(
    model: &M,
    ops: &[&Operation],
    limits: &Limits,
    options: &CheckOptions,
    steps_max: Option<u64>,
    scratch: &mut Scratch<M, u128>,
) -> PartitionResult {
    let search_limits = Limits {
        steps_max,
        ..*limits
    };
    match wgl::search_reusing(model, ops, &search_limits, scratch) {
        Search::Linearizable | Search::Cancelled => PartitionResult::Done,
        Search::TooLong if steps_max.is_some() => PartitionResult::Deferred,
        Search::TooLong => PartitionResult::Unknown(Limit::Deadline),
        Search::OutOfBudget(limit) => PartitionResult::Unknown(limit),
        Search::NotLinearizable { longest } => {
            // The earliest return of an operation the longest partial linearization could
            // not reach: the history is likely already not linearizable when it returns.
            let mut reached = vec![false; ops.len()];
            longest.iter().for_each(|local| reached[*local] = true);
            let hint_cut_ns = ops
                .iter()
                .zip(&reached)
                .filter(|(_, reached)| !**reached)
                .filter_map(|(op, _)| op.return_ns)
                .min();
            match shrink::confirm(
                model,
                ops,
                limits,
                options.shrink_checks_max,
                options.shrink_steps_max,
                options.reductions,
                hint_cut_ns,
            ) {
                Confirmation::Violation(confirmed) => {
                    PartitionResult::Violation { confirmed, longest }
                }
                Confirmation::Linearizable | Confirmation::Unconfirmed(Search::Cancelled) => {
                    PartitionResult::Done
                }
                Confirmation::Unconfirmed(Search::OutOfBudget(limit)) => {
                    PartitionResult::Unknown(limit)
                }
                Confirmation::Unconfirmed(_) => PartitionResult::Unknown(Limit::Deadline),
            }
        }
    }
}
