//! The search's list of calls and returns, sorted by time, from which operations are lifted
//! while linearized and put back on backtracking.

use crate::Operation;

/// No entry.
pub(crate) const NONE: u32 = u32::MAX;
/// The list's head sentinel.
pub(crate) const HEAD: u32 = 0;

/// Calls and returns in one doubly-linked list sorted by time (a call before a return at the
/// same instant; an `info` return, at +infinity, last). Entry 0 is the head.
#[derive(Default)]
pub(crate) struct Entries {
    pub(crate) next: Vec<u32>,
    pub(crate) prev: Vec<u32>,
    pub(crate) op: Vec<u32>,
    pub(crate) is_call: Vec<bool>,
    pub(crate) partner: Vec<u32>,
    /// Room for sorting the events while building (time, kind, op packed in a word).
    order: Vec<u128>,
    /// Room for each operation's call entry while building.
    call_entry: Vec<u32>,
}

impl Entries {
    #[cfg(test)]
    pub(crate) fn build(ops: &[&Operation]) -> Entries {
        let mut entries = Entries::default();
        entries.rebuild(ops);
        entries
    }

    /// Makes this the list of `ops`, reusing the vectors' memory.
    pub(crate) fn rebuild(&mut self, ops: &[&Operation]) {
        self.sort_events(ops);
        let order = &self.order;
        let len = order.len() + 1;
        self.next.clear();
        self.next.extend(1..=len as u32);
        self.next[len - 1] = NONE;
        self.prev.clear();
        self.prev.extend((0..len as u32).map(|e| e.wrapping_sub(1)));
        self.op.clear();
        self.op.resize(len, NONE);
        self.is_call.clear();
        self.is_call.resize(len, false);
        self.partner.clear();
        self.partner.resize(len, NONE);
        let call_entry = &mut self.call_entry;
        call_entry.clear();
        call_entry.resize(ops.len(), NONE);
        for (position, packed) in order.iter().enumerate() {
            let op = *packed as u32;
            let is_return = (*packed >> 32) as u32 & 3 > 0;
            let entry = position as u32 + 1;
            self.op[entry as usize] = op;
            self.is_call[entry as usize] = !is_return;
            if is_return {
                let call = call_entry[op as usize];
                self.partner[call as usize] = entry;
                self.partner[entry as usize] = call;
            } else {
                call_entry[op as usize] = entry;
            }
        }
    }

    /// Fills `order` with the events of `ops` sorted: (time, kind, op) packed in one word
    /// pair, kind 0 call, 1 return, 2 `info` return; so at one instant calls come first
    /// (concurrent) and `info` returns last, even against a return at u64::MAX. Operations
    /// come in call order (a history's, or a subset of it), so only the returns are sorted
    /// and merged with the calls; in any other order, all events are sorted.
    fn sort_events(&mut self, ops: &[&Operation]) {
        let call = |(index, op): (usize, &&Operation)| u128::from(op.call_ns) << 64 | index as u128;
        let order = &mut self.order;
        order.clear();
        order.reserve(ops.len() * 2);
        order.extend(ops.iter().enumerate().map(|(index, op)| {
            let kind: u128 = if op.return_ns.is_some() { 1 } else { 2 };
            u128::from(op.return_ns.unwrap_or(u64::MAX)) << 64 | kind << 32 | index as u128
        }));
        if !ops.is_sorted_by_key(|op| op.call_ns) {
            order.extend(ops.iter().enumerate().map(call));
            order.sort_unstable();
            return;
        }
        order.sort_unstable();
        // Merge from the back into room after the returns: calls are sorted already.
        let returns = ops.len();
        order.resize(returns * 2, 0);
        let (mut next_call, mut next_return) = (returns, returns);
        for slot in (0..returns * 2).rev() {
            let take_call = next_return == 0
                || (next_call > 0 && {
                    let candidate = call((next_call - 1, &ops[next_call - 1]));
                    candidate > order[next_return - 1]
                });
            order[slot] = if take_call {
                next_call -= 1;
                call((next_call, &ops[next_call]))
            } else {
                next_return -= 1;
                order[next_return]
            };
        }
    }

    pub(crate) fn lift(&mut self, call: u32) {
        let ret = self.partner[call as usize];
        let (call, ret) = (call as usize, ret as usize);
        self.next[self.prev[call] as usize] = self.next[call];
        self.prev[self.next[call] as usize] = self.prev[call];
        self.next[self.prev[ret] as usize] = self.next[ret];
        if self.next[ret] != NONE {
            self.prev[self.next[ret] as usize] = self.prev[ret];
        }
    }

    pub(crate) fn unlift(&mut self, call: u32) {
        let ret = self.partner[call as usize];
        let (call_index, ret_index) = (call as usize, ret as usize);
        self.next[self.prev[ret_index] as usize] = ret;
        if self.next[ret_index] != NONE {
            self.prev[self.next[ret_index] as usize] = ret;
        }
        self.next[self.prev[call_index] as usize] = call;
        self.prev[self.next[call_index] as usize] = call;
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_ops::operation;
    use super::*;
    use crate::Value;

    fn op(id: usize, call_ns: u64, return_ns: Option<u64>) -> Operation {
        operation(id, "read", None, Value::Nil, None, call_ns, return_ns)
    }

    fn walk(entries: &Entries) -> Vec<(u32, bool)> {
        let mut seen = Vec::new();
        let mut entry = entries.next[HEAD as usize];
        while entry != NONE {
            assert_eq!(entries.next[entries.prev[entry as usize] as usize], entry);
            seen.push((entries.op[entry as usize], entries.is_call[entry as usize]));
            entry = entries.next[entry as usize];
        }
        seen
    }

    #[test]
    fn entries_sort_calls_first_and_info_last_and_lift_restores() {
        let ops = [op(0, 5, Some(u64::MAX)), op(1, 5, None), op(2, 7, Some(9))];
        let refs: Vec<&Operation> = ops.iter().collect();
        let mut entries = Entries::build(&refs);
        let order = walk(&entries);
        assert_eq!(
            order,
            vec![
                (0, true),
                (1, true),
                (2, true),
                (2, false),
                (0, false),
                (1, false)
            ]
        );
        let call_of_2 = 3;
        entries.lift(call_of_2);
        assert_eq!(
            walk(&entries),
            vec![(0, true), (1, true), (0, false), (1, false)]
        );
        entries.unlift(call_of_2);
        assert_eq!(walk(&entries), order);
    }

    #[test]
    fn merged_calls_and_returns_give_the_order_of_a_full_sort() {
        // Calls in order, with ties, returns out of order, an `info` one; then the same
        // operations out of call order, which take the full sort.
        let times = [
            (1, Some(9)),
            (1, Some(4)),
            (3, None),
            (3, Some(3)),
            (5, Some(6)),
        ];
        let ops: Vec<Operation> = (0..times.len())
            .map(|id| op(id, times[id].0, times[id].1))
            .collect();
        for refs in [
            ops.iter().collect::<Vec<_>>(),
            ops.iter().rev().collect::<Vec<_>>(),
        ] {
            let mut expected: Vec<(u64, u32, u32)> = Vec::new();
            for (index, op) in refs.iter().enumerate() {
                let kind = if op.return_ns.is_some() { 1 } else { 2 };
                expected.push((op.call_ns, 0, index as u32));
                expected.push((op.return_ns.unwrap_or(u64::MAX), kind, index as u32));
            }
            expected.sort_unstable();
            let walked: Vec<(u32, bool)> = expected
                .iter()
                .map(|(_, kind, index)| (*index, *kind == 0))
                .collect();
            assert_eq!(walk(&Entries::build(&refs)), walked);
        }
    }
}
