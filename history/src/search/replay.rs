//! A greedy replay that settles a linearizable partition without a search.
//!
//! From the initial state, the replay repeatedly applies one of the operations that may come
//! next (called no later than every remaining `ok` operation returned) whose step succeeds,
//! never undoing a choice. An `info` operation may be applied at any time after its call, or
//! never. If every `ok` operation is applied, that order (with the `info` operations applied
//! where they were, the others taken as never having happened) is a linearization and the
//! partition is linearizable. If the replay gets stuck, or runs out of its step budget,
//! nothing is known and the partition is searched.
//!
//! Its choice, in order of preference: an operation that leaves the state as it is (a read
//! of the current value: applying it now never hurts, as it changes nothing and every other
//! remaining operation may still follow it); an operation whose new state another candidate
//! then observes (a write that a concurrent read saw; the only way an `info` operation that
//! changes the state is applied); the `ok` candidate that returns first (it has to come
//! before everything called after it returns).

use crate::{Model, Operation};

/// The replay gives up after this many model steps, plus [`STEPS_PER_OPERATION`] per
/// operation: far less than a search of the partition would take.
const STEPS_BASE: usize = 256;
/// See [`STEPS_BASE`].
const STEPS_PER_OPERATION: usize = 32;

/// Whether the greedy replay linearizes `ops` (one partition, in call order).
pub(crate) fn replays<M: Model>(model: &M, ops: &[&Operation]) -> bool {
    let is_info: Vec<bool> = ops.iter().map(|op| op.return_ns.is_none()).collect();
    let mut steps_left = STEPS_BASE + STEPS_PER_OPERATION * ops.len();
    let mut step = |state: &M::State, op: &Operation| {
        steps_left = steps_left.checked_sub(1)?;
        Some(model.step(state, op))
    };
    let mut ok_left = is_info.iter().filter(|info| !**info).count();
    let mut done = vec![false; ops.len()];
    // `info` operations before `scanned` not applied (all called before `window`).
    let (mut open_info, mut scanned) = (Vec::new(), 0);
    let mut candidates: Vec<usize> = Vec::new();
    let mut changing: Vec<(usize, M::State)> = Vec::new();
    let (mut first, mut state) = (0, model.init());
    loop {
        while first < ops.len() && (done[first] || is_info[first]) {
            first += 1;
        }
        if ok_left == 0 {
            return true;
        }
        // The operations that may come next: called before the earliest remaining return.
        let mut earliest_return_ns = u64::MAX;
        let mut window = first;
        while window < ops.len() && ops[window].call_ns <= earliest_return_ns {
            if let (false, Some(return_ns)) = (done[window], ops[window].return_ns) {
                earliest_return_ns = earliest_return_ns.min(return_ns);
            }
            window += 1;
        }
        open_info.extend((scanned..window).filter(|index| is_info[*index]));
        scanned = scanned.max(window);
        candidates.clear();
        candidates.extend((first..window).filter(|index| {
            !done[*index] && !is_info[*index] && ops[*index].call_ns <= earliest_return_ns
        }));
        candidates.extend(&open_info);
        changing.clear();
        let mut keeping = None;
        for index in &candidates {
            let Some(next) = step(&state, ops[*index]) else {
                return false;
            };
            match next {
                Some(next) if next == state => {
                    keeping = Some(*index);
                    break;
                }
                Some(next) => changing.push((*index, next)),
                None => {}
            }
        }
        let chosen = match keeping {
            Some(index) => index,
            None => {
                let choice = Choice {
                    ops,
                    is_info: &is_info,
                    candidates: &candidates,
                };
                let Some((index, next)) = choice.choose(&mut step, changing.drain(..)) else {
                    return false;
                };
                state = next;
                index
            }
        };
        done[chosen] = true;
        if is_info[chosen] {
            open_info.retain(|index| *index != chosen);
        } else {
            ok_left -= 1;
        }
    }
}

/// What the replay chooses among.
struct Choice<'a> {
    ops: &'a [&'a Operation],
    is_info: &'a [bool],
    candidates: &'a [usize],
}

impl Choice<'_> {
    /// Whether a candidate other than `index` observes `next` (its step from it succeeds
    /// and leaves it); `None` when the step budget ran out.
    fn observed<S: PartialEq>(
        &self,
        step: &mut impl FnMut(&S, &Operation) -> Option<Option<S>>,
        index: usize,
        next: &S,
    ) -> Option<bool> {
        for reader in self.candidates {
            let op = self.ops[*reader];
            if *reader == index || op.output.is_none() {
                continue;
            }
            if step(next, op)?.as_ref() == Some(next) {
                return Some(true);
            }
        }
        Some(false)
    }

    /// Among the candidates that change the state (`changing`, with their next state): one
    /// whose next state another candidate observes, else the `ok` one returning first; `None`
    /// when there is none or the step budget ran out.
    fn choose<S: PartialEq>(
        &self,
        step: &mut impl FnMut(&S, &Operation) -> Option<Option<S>>,
        changing: impl Iterator<Item = (usize, S)>,
    ) -> Option<(usize, S)> {
        let mut first_returning: Option<(usize, S)> = None;
        for (index, next) in changing {
            if self.observed(step, index, &next)? {
                return Some((index, next));
            }
            let returns_first = first_returning
                .as_ref()
                .is_none_or(|(best, _)| self.ops[index].return_ns < self.ops[*best].return_ns);
            if !self.is_info[index] && returns_first {
                first_returning = Some((index, next));
            }
        }
        first_returning
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_ops::operation;
    use super::*;
    use crate::search::{check, CheckOptions, Verdict};
    use crate::{History, Value};

    fn op(id: usize, f: &str, value: i64, call_ns: u64, return_ns: Option<u64>) -> Operation {
        let input = if f == "write" {
            Value::Int(value)
        } else {
            Value::Nil
        };
        let output = return_ns.map(|_| Value::Int(value));
        operation(id, f, None, input, output, call_ns, return_ns)
    }

    #[test]
    fn a_replay_settles_only_what_it_linearizes() {
        let register = crate::Register::default();
        // Write 1 and write 2 concurrent, then a read of 1: the replay writes 1 first (call
        // order), then has to take write 2 before the read can be called... and gets stuck,
        // though writing 2 then 1 linearizes.
        let stuck = [
            op(0, "write", 1, 0, Some(10)),
            op(1, "write", 2, 1, Some(10)),
            op(2, "read", 1, 11, Some(12)),
        ];
        let refs: Vec<&Operation> = stuck.iter().collect();
        assert!(!replays(&register, &refs));
        let history = History {
            operations: stuck.to_vec(),
            faults: Vec::new(),
        };
        let result = check(&register, &history, &CheckOptions::default()).unwrap();
        assert_eq!(result.verdict, Verdict::Ok);
        // Sequential write 1, read 1, and an `info` write never observed: replayed.
        let plain = [
            op(0, "write", 1, 0, Some(1)),
            op(1, "read", 1, 2, Some(3)),
            op(2, "write", 5, 2, None),
        ];
        let refs: Vec<&Operation> = plain.iter().collect();
        assert!(replays(&register, &refs));
        // An `info` write that a later read observed is applied where it is needed.
        let observed_info = [
            op(0, "write", 1, 0, Some(1)),
            op(1, "write", 2, 2, None),
            op(2, "read", 1, 3, Some(4)),
            op(3, "read", 2, 5, Some(6)),
        ];
        let refs: Vec<&Operation> = observed_info.iter().collect();
        assert!(replays(&register, &refs));
        // A read of a value never written is never replayed.
        let impossible = [op(0, "write", 1, 0, Some(1)), op(1, "read", 2, 2, Some(3))];
        let refs: Vec<&Operation> = impossible.iter().collect();
        assert!(!replays(&register, &refs));
    }
}
