//! The operations of a partition that surely overwrite its state, for the stale-read rules of
//! `reduce` (registers) and `appends`.

use crate::{Access, Operation};

/// Operations that surely take effect and set the state unconditionally of what it was
/// observed to be (`ok` ones with a `Replace` access), by call time, with the suffix minimum of
/// their return times: what a stale-read rule asks of them.
pub(crate) struct Overwriters {
    /// (call, return, index) of each, by call time.
    by_call: Vec<(u64, u64, usize)>,
    /// `earliest_return[p]`: the earliest (return, index) of `by_call[p..]`.
    earliest_return: Vec<(u64, usize)>,
}

impl Overwriters {
    pub(crate) fn new(ops: &[&Operation], accesses: &[Access<'_>]) -> Self {
        let mut by_call: Vec<(u64, u64, usize)> = ops
            .iter()
            .zip(accesses)
            .enumerate()
            .filter_map(|(index, (op, access))| match (access, op.return_ns) {
                (Access::Replace { .. }, Some(return_ns)) => Some((op.call_ns, return_ns, index)),
                _ => None,
            })
            .collect();
        by_call.sort_unstable();
        let mut earliest_return = vec![(u64::MAX, usize::MAX); by_call.len() + 1];
        for position in (0..by_call.len()).rev() {
            let (_, return_ns, index) = by_call[position];
            earliest_return[position] = earliest_return[position + 1].min((return_ns, index));
        }
        Overwriters {
            by_call,
            earliest_return,
        }
    }

    /// The overwrite called after `last_set_ns` (any, when `None`) that returns first, if it
    /// returns before `read_call_ns`: the index of the operation that makes the read stale.
    pub(crate) fn returned_before(
        &self,
        last_set_ns: Option<u64>,
        read_call_ns: u64,
    ) -> Option<usize> {
        let after = match last_set_ns {
            Some(last_set_ns) => self
                .by_call
                .partition_point(|(call_ns, _, _)| *call_ns <= last_set_ns),
            None => 0,
        };
        let (return_ns, overwriter) = self.earliest_return[after];
        (return_ns < read_call_ns).then_some(overwriter)
    }
}
