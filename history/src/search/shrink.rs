//! Turning a violation into a small, confirmed counterexample.
//!
//! Relaxing an operation (unknown result, open to the end of the history, may not have
//! happened) only adds linearizations, which makes shrinking sound: if the history with some
//! operations relaxed is not linearizable, neither is the original. So: cut the history at the earliest time where
//! it is already non-linearizable (operations still open at the cut are relaxed), then relax
//! chunks of operations while the history stays non-linearizable (delta debugging). The
//! operations left strict are the core: even if every other operation may or may not have
//! happened, with any result, the core cannot be linearized.
//! Fast searches use fingerprints; the prefix and the core are then confirmed exactly.

use super::bitset::ExactKey;
use super::wgl::{search, Limits, Search};
use crate::{Model, Operation};

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
    checks_left: usize,
    /// Whether a search hit the step cap (so the core may not be minimal).
    capped: bool,
}

impl<M: Model> Shrinker<'_, M> {
    /// `Some(true)` non-linearizable, `Some(false)` linearizable or too long to tell (the
    /// caller then keeps the operation strict), `None` out of checks, time or memory.
    fn fails(&mut self, ops: &[(usize, Operation)], capped: bool) -> Option<bool> {
        if self.checks_left == 0 {
            return None;
        }
        self.checks_left -= 1;
        let refs: Vec<&Operation> = ops.iter().map(|(_, op)| op).collect();
        let limits = if capped {
            &self.capped_limits
        } else {
            &self.limits
        };
        match search::<M, u128>(self.model, &refs, limits) {
            Search::NotLinearizable { .. } => Some(true),
            Search::Linearizable => Some(false),
            Search::TooLong => {
                self.capped = true;
                Some(false)
            }
            _ => None,
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
            match self.fails(&prefix(ops, cuts[middle]), false) {
                Some(true) => high = middle,
                Some(false) => low = middle + 1,
                None => break,
            }
        }
        prefix(ops, cuts.get(high).copied().unwrap_or(u64::MAX))
    }

    /// Relaxes chunks of the strict operations while the history stays failing; returns
    /// whether the single-operation pass completed. Relaxed operations stay in the history:
    /// deleting them could remove the explanation of another operation's result.
    fn relax_chunks(&mut self, ops: &mut [(usize, Operation)]) -> bool {
        let mut chunk = ops.len().div_ceil(2).max(1);
        loop {
            let strict: Vec<usize> = (0..ops.len())
                .filter(|index| ops[*index].1.return_ns.is_some())
                .collect();
            for chunk_indices in strict.chunks(chunk) {
                let mut candidate = ops.to_vec();
                chunk_indices
                    .iter()
                    .for_each(|index| candidate[*index].1 = relaxed(&ops[*index].1));
                match self.fails(&candidate, true) {
                    Some(true) => ops.clone_from_slice(&candidate),
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

fn exact_fails<M: Model>(model: &M, ops: &[(usize, Operation)], limits: &Limits) -> Search {
    let refs: Vec<&Operation> = ops.iter().map(|(_, op)| op).collect();
    search::<M, ExactKey>(model, &refs, limits)
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
        checks_left: checks_max,
        capped: false,
    };
    let mut failing_prefix = shrinker.shortest_failing_prefix(ops);
    // The fast prefix searches may have been misled (or stopped by a bound): keep the prefix
    // only if it fails exactly.
    if failing_prefix.len() >= confirmed.len()
        || !matches!(
            exact_fails(model, &failing_prefix, limits),
            Search::NotLinearizable { .. }
        )
    {
        failing_prefix = confirmed;
    }
    let mut shrunk = failing_prefix.clone();
    let mut core_minimal = shrinker.relax_chunks(&mut shrunk) && !shrinker.capped;
    // Nothing relaxed (no checks allowed, or none succeeded): confirmed exactly above.
    if shrunk != failing_prefix
        && !matches!(
            exact_fails(model, &shrunk, limits),
            Search::NotLinearizable { .. }
        )
    {
        shrunk = failing_prefix;
        core_minimal = false;
    }
    Confirmation::Violation(Confirmed {
        core: strict(shrunk),
        core_minimal,
    })
}
