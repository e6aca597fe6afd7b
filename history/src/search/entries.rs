//! The search's list of calls and returns, sorted by time, from which operations are lifted
//! while linearized and put back on backtracking.

use crate::Operation;

/// No entry.
pub(crate) const NONE: u32 = u32::MAX;
/// The list's head sentinel.
pub(crate) const HEAD: u32 = 0;

/// Calls and returns in one doubly-linked list sorted by time (a call before a return at the
/// same instant; an `info` return, at +infinity, last). Entry 0 is the head.
pub(crate) struct Entries {
    pub(crate) next: Vec<u32>,
    pub(crate) prev: Vec<u32>,
    pub(crate) op: Vec<u32>,
    pub(crate) is_call: Vec<bool>,
    pub(crate) partner: Vec<u32>,
}

impl Entries {
    pub(crate) fn build(ops: &[&Operation]) -> Entries {
        // (time, kind, op): kind 0 call, 1 return, 2 `info` return; so at one instant calls
        // come first (concurrent) and `info` returns last, even against a return at u64::MAX.
        let mut order: Vec<(u64, u8, u32)> = Vec::with_capacity(ops.len() * 2);
        for (index, op) in ops.iter().enumerate() {
            order.push((op.call_ns, 0, index as u32));
            order.push((
                op.return_ns.unwrap_or(u64::MAX),
                if op.return_ns.is_some() { 1 } else { 2 },
                index as u32,
            ));
        }
        order.sort_unstable();
        let len = order.len() + 1;
        let mut entries = Entries {
            next: (1..=len as u32).collect(),
            prev: (0..len as u32).map(|e| e.wrapping_sub(1)).collect(),
            op: vec![NONE; len],
            is_call: vec![false; len],
            partner: vec![NONE; len],
        };
        entries.next[len - 1] = NONE;
        let mut call_entry = vec![NONE; ops.len()];
        for (position, (_, kind, op)) in order.into_iter().enumerate() {
            let is_return = kind > 0;
            let entry = position as u32 + 1;
            entries.op[entry as usize] = op;
            entries.is_call[entry as usize] = !is_return;
            if is_return {
                let call = call_entry[op as usize];
                entries.partner[call as usize] = entry;
                entries.partner[entry as usize] = call;
            } else {
                call_entry[op as usize] = entry;
            }
        }
        entries
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
    use super::*;
    use crate::{Outcome, Value};

    fn op(id: usize, call_ns: u64, return_ns: Option<u64>) -> Operation {
        Operation {
            id,
            process: id as u64,
            f: "read".into(),
            key: None,
            input: Value::Nil,
            output: None,
            outcome: if return_ns.is_some() {
                Outcome::Ok
            } else {
                Outcome::Info
            },
            call_ns,
            return_ns,
            line: id + 1,
        }
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
}
