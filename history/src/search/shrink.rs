//! Turning a violation into a small, confirmed counterexample.
//!
//! Relaxing an operation (unknown result, open to the end of the history, may not have
//! happened) only adds linearizations, which makes shrinking sound: if the history with some
//! operations relaxed is not linearizable, neither is the original. So: cut the history at the earliest time where
//! it is already non-linearizable (operations still open at the cut are relaxed), then relax
//! chunks of operations while the history stays non-linearizable (delta debugging). The
//! operations left strict are the core: even if every other operation may or may not have
//! happened, with any result, the core cannot be linearized.
//! Observations are relaxed before the rest, and with the reductions on each candidate goes
//! through them first (see `reduce`): they decide many at once, and they drop the relaxed
//! operations that cannot matter (relaxed reads, writes nothing strict observes), which
//! would otherwise stay open to the end and make every later search try their orders.
//! Fast searches use fingerprints; the prefix and the core are then confirmed exactly.

use super::bitset::ExactKey;
use super::reduce::{reduce, Reduction};
use super::wgl::{search, CacheKey, Limits, Search};
use crate::{Access, Model, Operation, Outcome};

/// A confirmed violation of one partition.
pub(crate) struct Confirmed {
    /// Local indices of the core operations (completed, not relaxed).
    pub core: Vec<usize>,
    /// Whether every single core operation was tried (1-minimal), within the bounds.
    pub core_minimal: bool,
}

/// What confirming a fingerprint violation gave.
pub(crate) enum Confirmation {
    Violation(Confirmed),
    /// The exact search disagreed (a fingerprint collision) and found a linearization.
    Linearizable,
    /// A bound ran out before the violation was confirmed.
    Unconfirmed(Search),
}

fn relaxed(op: &Operation) -> Operation {
    Operation {
        output: None,
        return_ns: None,
        outcome: Outcome::Info,
        ..op.clone()
    }
}

/// The history cut at `cut_ns`: later calls dropped, operations open at the cut relaxed.
/// If it is not linearizable, neither is the history: the operations a linearization of the
/// history places at or before `cut_ns` linearize the prefix (an operation open at the cut
/// that it places later counts as never having happened).
fn prefix(ops: &[&Operation], cut_ns: u64) -> Vec<(usize, Operation)> {
    let kept = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| op.call_ns <= cut_ns);
    kept.map(|(index, op)| match op.return_ns {
        Some(return_ns) if return_ns <= cut_ns => (index, (*op).clone()),
        _ => (index, relaxed(op)),
    })
    .collect()
}

struct Shrinker<'a, M> {
    model: &'a M,
    /// The check's limits.
    limits: Limits<'a>,
    /// The same with a step cap per search, for relaxing.
    capped_limits: Limits<'a>,
    /// Whether the reductions (`reduce`) decide or cut each candidate before its search.
    reductions: bool,
    checks_left: usize,
    /// Whether a search hit the step cap (so the core may not be minimal).
    capped: bool,
}

impl<M: Model> Shrinker<'_, M> {
    /// `Some(true)` non-linearizable, `Some(false)` linearizable or too long to tell (the
    /// caller then keeps the operation strict), `None` out of checks, time or memory. With the
    /// reductions on, a failing `ops` loses the relaxed operations they drop (they cannot
    /// matter, whatever is relaxed later: see `reduce`), which spares every later search them.
    fn fails(&mut self, ops: &mut Vec<(usize, Operation)>, capped: bool) -> Option<bool> {
        if self.checks_left == 0 {
            return None;
        }
        self.checks_left -= 1;
        let limits = if capped {
            self.capped_limits
        } else {
            self.limits
        };
        let verdict = decide::<M, u128>(self.model, ops, &limits, self.reductions);
        match verdict {
            Decided::NotLinearizable { kept } => {
                if let Some(kept) = kept {
                    *ops = kept.into_iter().map(|index| ops[index].clone()).collect();
                }
                Some(true)
            }
            Decided::Searched(Search::Linearizable) => Some(false),
            Decided::Searched(Search::TooLong) => {
                self.capped = true;
                Some(false)
            }
            Decided::Searched(_) => None,
        }
    }

    /// Smallest failing cut among the completion times (monotone, so a binary search).
    fn shortest_failing_prefix(&mut self, ops: &[&Operation]) -> Vec<(usize, Operation)> {
        let mut cuts: Vec<u64> = ops.iter().filter_map(|op| op.return_ns).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let (mut low, mut high) = (0, cuts.len());
        while low < high {
            let middle = (low + high) / 2;
            match self.fails(&mut prefix(ops, cuts[middle]), false) {
                Some(true) => high = middle,
                Some(false) => low = middle + 1,
                None => break,
            }
        }
        prefix(ops, cuts.get(high).copied().unwrap_or(u64::MAX))
    }

    /// Relaxes chunks of the strict operations while the history stays failing; returns
    /// whether the single-operation passes completed. Relaxed operations stay in the history
    /// (deleting them could remove the explanation of another operation's result) unless the
    /// reductions show they cannot matter. Observations go first: a relaxed one constrains
    /// nothing, and once the reads of a value are relaxed its writes can be dropped, where a
    /// relaxed write that is still observed stays open to the end and multiplies the orders
    /// every later search has to try.
    fn relax_chunks(&mut self, ops: &mut Vec<(usize, Operation)>) -> bool {
        let observes = |model: &M, op: &Operation| matches!(model.access(op), Access::Observe(_));
        self.relax_where(ops, observes) && self.relax_where(ops, |_, _| true)
    }

    /// Delta debugging over the strict operations `wanted` picks, in halving chunks down to
    /// single operations; returns whether the single-operation pass completed.
    fn relax_where(
        &mut self,
        ops: &mut Vec<(usize, Operation)>,
        wanted: impl Fn(&M, &Operation) -> bool,
    ) -> bool {
        let strict_indices = |ops: &[(usize, Operation)]| -> Vec<usize> {
            let strict = ops.iter().filter(|(_, op)| op.return_ns.is_some());
            strict
                .filter(|(_, op)| wanted(self.model, op))
                .map(|(index, _)| *index)
                .collect()
        };
        let mut chunk = strict_indices(ops).len().div_ceil(2).max(1);
        loop {
            for chunk_indices in strict_indices(ops).chunks(chunk) {
                let mut candidate = ops.clone();
                candidate
                    .iter_mut()
                    .filter(|(index, _)| chunk_indices.binary_search(index).is_ok())
                    .for_each(|(_, op)| *op = relaxed(op));
                match self.fails(&mut candidate, true) {
                    Some(true) => *ops = candidate,
                    Some(false) => {}
                    None => return false,
                }
            }
            if chunk == 1 {
                return true;
            }
            chunk = chunk.div_ceil(2);
        }
    }
}

/// What [`decide`] found.
enum Decided {
    /// Not linearizable; `kept`: the positions of the operations that still matter, when the
    /// reductions dropped some (all of them relaxed).
    NotLinearizable { kept: Option<Vec<usize>> },
    /// What the search gave otherwise.
    Searched(Search),
}

/// Whether `ops` is linearizable: with `reductions`, decided by them where they can (exact)
/// and searched without the operations they drop; else searched whole.
fn decide<M: Model, K: CacheKey>(
    model: &M,
    ops: &[(usize, Operation)],
    limits: &Limits,
    reductions: bool,
) -> Decided {
    let refs: Vec<&Operation> = ops.iter().map(|(_, op)| op).collect();
    let (kept, limits) = match reductions.then(|| reduce(model, &refs)) {
        Some(Reduction::Impossible { .. }) => return Decided::NotLinearizable { kept: None },
        Some(Reduction::Search(kept)) if kept.len() < refs.len() => (Some(kept), *limits),
        Some(Reduction::Search(_)) | None => (None, *limits),
        Some(Reduction::Opaque) => (
            None,
            Limits {
                prune_stranded: false,
                ..*limits
            },
        ),
    };
    let searched = match &kept {
        Some(kept) => search::<M, K>(
            model,
            &kept.iter().map(|i| refs[*i]).collect::<Vec<_>>(),
            &limits,
        ),
        None => search::<M, K>(model, &refs, &limits),
    };
    match searched {
        Search::NotLinearizable { .. } => Decided::NotLinearizable { kept },
        other => Decided::Searched(other),
    }
}

fn exact_fails<M: Model>(model: &M, ops: &[(usize, Operation)], limits: &Limits) -> Search {
    let refs: Vec<&Operation> = ops.iter().map(|(_, op)| op).collect();
    search::<M, ExactKey>(model, &refs, limits)
}

/// Whether `ops` is exactly (no fingerprints) not linearizable, within `limits`.
fn exactly_fails<M: Model>(
    model: &M,
    ops: &[(usize, Operation)],
    limits: &Limits,
    reductions: bool,
) -> bool {
    matches!(
        decide::<M, ExactKey>(model, ops, limits, reductions),
        Decided::NotLinearizable { .. }
    )
}

/// Confirms exactly that `ops` (found non-linearizable with fingerprints) is a violation and
/// shrinks it, with at most `checks_max` searches. The violation is confirmed before
/// shrinking, so a bound hit while shrinking only leaves the core larger (not minimal), never
/// turns the violation into "unknown". It is confirmed on the prefix cut at `hint_cut_ns`
/// when that prefix fails exactly (a prefix is checked sooner; see [`prefix`] for why its
/// failing implies the whole failing), else on the whole partition.
pub(crate) fn confirm<M: Model>(
    model: &M,
    ops: &[&Operation],
    limits: &Limits,
    checks_max: usize,
    steps_max: u64,
    reductions: bool,
    hint_cut_ns: Option<u64>,
) -> Confirmation {
    let hinted = hint_cut_ns
        .map(|cut_ns| prefix(ops, cut_ns))
        .filter(|hinted| hinted.len() < ops.len());
    let confirmed = match hinted.map(|hinted| (exact_fails(model, &hinted, limits), hinted)) {
        Some((Search::NotLinearizable { .. }, hinted)) => hinted,
        Some((Search::OutOfBudget(limit), _)) => {
            return Confirmation::Unconfirmed(Search::OutOfBudget(limit))
        }
        Some((Search::Cancelled, _)) => return Confirmation::Unconfirmed(Search::Cancelled),
        _ => {
            let whole: Vec<(usize, Operation)> =
                ops.iter().map(|op| (*op).clone()).enumerate().collect();
            match exact_fails(model, &whole, limits) {
                Search::NotLinearizable { .. } => whole,
                Search::Linearizable => return Confirmation::Linearizable,
                other => return Confirmation::Unconfirmed(other),
            }
        }
    };
    let strict = |ops: Vec<(usize, Operation)>| -> Vec<usize> {
        ops.into_iter()
            .filter(|(_, op)| op.return_ns.is_some())
            .map(|(index, _)| index)
            .collect()
    };
    if checks_max == 0 {
        // A verdict only: the confirmed history is the core, as no search may shrink it.
        return Confirmation::Violation(Confirmed {
            core: strict(confirmed),
            core_minimal: false,
        });
    }
    let capped_limits = Limits {
        steps_max: Some(steps_max + 8 * ops.len() as u64),
        ..*limits
    };
    let mut shrinker = Shrinker {
        model,
        limits: *limits,
        capped_limits,
        reductions,
        checks_left: checks_max,
        capped: false,
    };
    let mut failing_prefix = shrinker.shortest_failing_prefix(ops);
    // The fast prefix searches may have been misled (or stopped by a bound): keep the prefix
    // only if it fails exactly.
    if failing_prefix.len() >= confirmed.len()
        || !exactly_fails(model, &failing_prefix, limits, reductions)
    {
        failing_prefix = confirmed;
    }
    let mut shrunk = failing_prefix.clone();
    let mut core_minimal = shrinker.relax_chunks(&mut shrunk) && !shrinker.capped;
    // Nothing relaxed (no checks allowed, or none succeeded): confirmed exactly above.
    if shrunk != failing_prefix && !exactly_fails(model, &shrunk, limits, reductions) {
        shrunk = failing_prefix;
        core_minimal = false;
    }
    Confirmation::Violation(Confirmed {
        core: strict(shrunk),
        core_minimal,
    })
}
