//! Reductions before the search, for partitions whose every operation declares its
//! [`Access`] to a single-valued state (registers, keys of a map). Both are exact: the
//! verdict is the one the plain search gives, only found sooner.
//!
//! 1. **Impossible observation.** An `ok` operation that requires the state to be `v` (a read
//!    of `v`, a compare-and-set expecting `v`) where `v` is not the initial state needs some
//!    operation that sets `v` to be linearized before it, and so to be called no later than
//!    it returns. If none is, the partition is not linearizable, and that operation alone is
//!    a core: relaxing every other operation (unknown result, may not have happened) adds no
//!    operation that sets `v` early enough. Linear time, where the search would have to
//!    exhaust every linearization of the history before that operation first.
//! 2. **Unobserved `info` operations are dropped.** An `info` read constrains nothing. An
//!    `info` operation that sets `w`, where no operation of the partition observes `w` (reads
//!    it, or expects it in a compare-and-set, whatever its outcome): take a linearization in
//!    which it takes effect. Until the next operation that takes effect and sets the state
//!    unconditionally, the state is `w`, so every operation in between observes nothing (an
//!    `ok` one would observe `w`) — it is an `info` read, or an `info` compare-and-set that
//!    does not apply. Removing the operation and those no-op `info` ones leaves a
//!    linearization of the rest. So the partition is linearizable iff it is without the
//!    operation. Removing operations only removes observations, so all the dropped operations
//!    can go at once; and relaxing operations (shrinking) only removes observations too, so
//!    a core found without them is a core with them.
//!
//! Any [`Access::Opaque`] operation in the partition (an append, a compare-and-set that
//! observed a mismatch — it observes "not `e`", which rule 2 cannot see) turns both off.

use crate::{Access, Model, Operation};
use std::collections::{HashMap, HashSet};

/// What the reductions made of a partition.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reduction {
    /// Not linearizable: the operation (local index) can never be linearized.
    Impossible(usize),
    /// Search these operations (local indices, in order) instead.
    Search(Vec<usize>),
}

/// Applies both reductions to one partition.
pub(crate) fn reduce<M: Model>(model: &M, ops: &[&Operation]) -> Reduction {
    let every = || (0..ops.len()).collect();
    let accesses: Vec<Access> = ops.iter().map(|op| model.access(op)).collect();
    if accesses.contains(&Access::Opaque) {
        return Reduction::Search(every());
    }
    if let Some(impossible) = impossible_observation(model, ops, &accesses) {
        return Reduction::Impossible(impossible);
    }
    let observed: HashSet<&crate::Value> = accesses.iter().filter_map(observes).collect();
    let kept = (0..ops.len())
        .filter(|index| {
            let is_info = ops[*index].return_ns.is_none();
            let droppable = match &accesses[*index] {
                Access::Neutral => true,
                Access::Replace { new, .. } => !observed.contains(new),
                Access::Observe(_) | Access::Opaque => false,
            };
            !(is_info && droppable)
        })
        .collect();
    Reduction::Search(kept)
}

/// The value an access requires the state to hold, if any.
fn observes(access: &Access) -> Option<&crate::Value> {
    match access {
        Access::Observe(value) => Some(value),
        Access::Replace {
            expected: Some(expected),
            ..
        } => Some(expected),
        _ => None,
    }
}

/// The first `ok` operation requiring a value that is not the initial state and that no
/// operation called before it returns sets.
fn impossible_observation<M: Model>(
    model: &M,
    ops: &[&Operation],
    accesses: &[Access],
) -> Option<usize> {
    let mut first_set_ns: HashMap<&crate::Value, u64> = HashMap::new();
    for (op, access) in ops.iter().zip(accesses) {
        if let Access::Replace { new, .. } = access {
            let earliest = first_set_ns.entry(new).or_insert(op.call_ns);
            *earliest = (*earliest).min(op.call_ns);
        }
    }
    let init = model.init();
    (0..ops.len()).find(|index| {
        let op = ops[*index];
        let Some(return_ns) = op.return_ns else {
            return false;
        };
        let Some(required) = observes(&accesses[*index]) else {
            return false;
        };
        // A compare-and-set of `v` to `v` could set what it requires itself: left to search.
        let sets_itself =
            matches!(&accesses[*index], Access::Replace { new, .. } if new == required);
        !sets_itself
            && model.step(&init, op).is_none()
            && first_set_ns
                .get(required)
                .is_none_or(|call_ns| *call_ns > return_ns)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Outcome, Register, Value};

    fn op(
        f: &str,
        input: Value,
        output: Option<Value>,
        call_ns: u64,
        ret: Option<u64>,
    ) -> Operation {
        Operation {
            id: 0,
            process: 0,
            f: f.into(),
            key: None,
            input,
            output,
            outcome: if ret.is_some() {
                Outcome::Ok
            } else {
                Outcome::Info
            },
            call_ns,
            return_ns: ret,
            line: 1,
        }
    }

    #[test]
    fn a_read_of_a_value_set_only_later_is_impossible() {
        let model = Register::default();
        let read = op("read", Value::Nil, Some(Value::Int(1)), 0, Some(5));
        let late_write = op("write", Value::Int(1), Some(Value::Int(1)), 6, Some(9));
        assert_eq!(
            reduce(&model, &[&read, &late_write]),
            Reduction::Impossible(0)
        );
        let concurrent_write = op("write", Value::Int(1), Some(Value::Int(1)), 5, Some(9));
        assert_eq!(
            reduce(&model, &[&read, &concurrent_write]),
            Reduction::Search(vec![0, 1])
        );
        let read_init = op("read", Value::Nil, Some(Value::Nil), 0, Some(5));
        assert_eq!(reduce(&model, &[&read_init]), Reduction::Search(vec![0]));
    }

    #[test]
    fn unobserved_info_operations_are_dropped_unless_a_mismatch_is_recorded() {
        let model = Register {
            init: Value::Nil,
            cas: true,
        };
        let unseen = op("write", Value::Int(1), None, 0, None);
        let seen = op("write", Value::Int(2), None, 0, None);
        let info_read = op("read", Value::Nil, None, 0, None);
        let read = op("read", Value::Nil, Some(Value::Int(2)), 1, Some(2));
        let ops = [&unseen, &seen, &info_read, &read];
        assert_eq!(reduce(&model, &ops), Reduction::Search(vec![1, 3]));
        let mismatch = op(
            "cas",
            Value::List(vec![Value::Int(5), Value::Int(6)]),
            Some(Value::Bool(false)),
            3,
            Some(4),
        );
        let ops = [&unseen, &seen, &info_read, &read, &mismatch];
        assert_eq!(reduce(&model, &ops), Reduction::Search(vec![0, 1, 2, 3, 4]));
    }
}
