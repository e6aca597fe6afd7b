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
//! 2. **Stale observation.** An `ok` operation `o` that requires `v`, where every other
//!    operation that sets `v` and is called before `o` returns has completed (no `info` one),
//!    the last of them returning at `l` (or `v` is the initial state and there is none), and
//!    some `ok` operation `x` that takes effect unconditionally (`Replace`) is called after
//!    `l` and returns before `o` is called. Then `x` is linearized after every setter of `v`
//!    and before `o`, and sets something else (a setter of `v` cannot be called after `l`
//!    and return before `o`'s call, which is before `o` returns); nothing can set `v` again
//!    in between, so `o` can never be linearized: a stale read. The setters, `x` and `o` are
//!    a core (relaxing other operations adds no setter of `v`). `O(n log n)`, where the
//!    search has to exhaust the linearizations of everything concurrent with the read.
//! 3. **Unobserved `info` operations are dropped.** An `info` read constrains nothing. An
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
//! Any [`Access::Opaque`] operation in the partition (a compare-and-set that observed a
//! mismatch — it observes "not `e`", which rule 3 cannot see) turns them all off. An
//! [`Access::Append`] turns them off too, and brings the checks of `appends` instead.

use super::bitset::FastHash;
use super::overwriters::Overwriters;
use crate::{Access, Model, Operation};
use std::collections::HashMap;

/// What the reductions made of a partition.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reduction {
    /// Not linearizable: these operations (local indices, a core) can never all be
    /// linearized; `minimal` when relaxing any one of them makes the core linearizable.
    Impossible {
        /// The core.
        core: Vec<usize>,
        /// Whether the core is 1-minimal.
        minimal: bool,
    },
    /// Search these operations (local indices, in order) instead.
    Search(Vec<usize>),
    /// Some operation is [`Access::Opaque`]: search every operation, and nothing can be
    /// stranded either (see `stranded`).
    Opaque,
}

/// Applies the reductions to one partition.
pub(crate) fn reduce<M: Model>(model: &M, ops: &[&Operation]) -> Reduction {
    let mut accesses: Vec<Access> = Vec::with_capacity(ops.len());
    let mut appends = false;
    for op in ops {
        match model.access(op) {
            // Stop at the first: the values the others would clone are not needed.
            Access::Opaque => return Reduction::Opaque,
            access => {
                appends |= matches!(access, Access::Append(_));
                accesses.push(access);
            }
        }
    }
    if appends {
        // Values no longer name states one to one: only the necessary conditions apply.
        return super::appends::check(model, ops, &accesses).unwrap_or(Reduction::Opaque);
    }
    let values = Values::new(ops, &accesses);
    if let Some(impossible) = impossible_observation(model, ops, &accesses, &values) {
        return Reduction::Impossible {
            core: vec![impossible],
            minimal: true,
        };
    }
    if let Some(impossible) = stale_observation(model, ops, &accesses, &values) {
        return impossible;
    }
    let kept = (0..ops.len())
        .filter(|index| {
            let is_info = ops[*index].return_ns.is_none();
            let droppable = match &accesses[*index] {
                Access::Neutral => true,
                Access::Replace { new, .. } => !values.facts[new.as_ref()].observed,
                Access::Observe(_) | Access::Append(_) | Access::Opaque => false,
            };
            !(is_info && droppable)
        })
        .collect();
    Reduction::Search(kept)
}

/// The value an access requires the state to hold, if any.
fn observes<'a>(access: &'a Access<'_>) -> Option<&'a crate::Value> {
    match access {
        Access::Observe(value) => Some(value),
        Access::Replace {
            expected: Some(expected),
            ..
        } => Some(expected),
        _ => None,
    }
}

/// What the operations of a partition do with one value.
struct ValueFacts {
    /// The earliest call of an operation that sets it (`u64::MAX`: none).
    first_set_ns: u64,
    /// The last entry of its setters in [`Values::setters`] (`usize::MAX`: none).
    last_setter: usize,
    /// Whether some operation requires it (reads it, expects it in a compare-and-set).
    observed: bool,
}

/// Every value a partition sets or requires, found in one pass over its accesses (one hash
/// per value an access names, no allocation per value).
struct Values<'a> {
    facts: HashMap<&'a crate::Value, ValueFacts, FastHash>,
    /// The setters of each value as lists threaded through one vector: (operation, previous
    /// entry of the same value, `usize::MAX` at the first).
    setters: Vec<(usize, usize)>,
}

impl<'a> Values<'a> {
    fn new(ops: &[&Operation], accesses: &'a [Access<'_>]) -> Values<'a> {
        let mut values = Values {
            facts: HashMap::with_capacity_and_hasher(ops.len(), FastHash),
            setters: Vec::with_capacity(ops.len()),
        };
        for (index, (op, access)) in ops.iter().zip(accesses).enumerate() {
            if let Access::Replace { new, .. } = access {
                let entry = values.setters.len();
                let facts = values.fact_mut(new);
                facts.first_set_ns = facts.first_set_ns.min(op.call_ns);
                let previous = std::mem::replace(&mut facts.last_setter, entry);
                values.setters.push((index, previous));
            }
            if let Some(required) = observes(access) {
                values.fact_mut(required).observed = true;
            }
        }
        values
    }

    fn fact_mut(&mut self, value: &'a crate::Value) -> &mut ValueFacts {
        self.facts.entry(value).or_insert(ValueFacts {
            first_set_ns: u64::MAX,
            last_setter: usize::MAX,
            observed: false,
        })
    }

    /// The operations that set `value`, latest first.
    fn setters_of(&self, value: &crate::Value) -> impl Iterator<Item = usize> + '_ {
        let mut entry = self.facts.get(value).map_or(usize::MAX, |f| f.last_setter);
        std::iter::from_fn(move || {
            let (setter, previous) = *self.setters.get(entry)?;
            entry = previous;
            Some(setter)
        })
    }
}

/// The first `ok` operation requiring a value that is not the initial state and that no
/// operation called before it returns sets.
fn impossible_observation<M: Model>(
    model: &M,
    ops: &[&Operation],
    accesses: &[Access<'_>],
    values: &Values<'_>,
) -> Option<usize> {
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
            matches!(&accesses[*index], Access::Replace { new, .. } if **new == *required);
        !sets_itself
            && values.facts[required].first_set_ns > return_ns
            && model.step(&init, op).is_none()
    })
}

/// The first stale observation (rule 2), as a core.
fn stale_observation<M: Model>(
    model: &M,
    ops: &[&Operation],
    accesses: &[Access<'_>],
    values: &Values<'_>,
) -> Option<Reduction> {
    let overwriters = Overwriters::new(ops, accesses);
    let init = model.init();
    (0..ops.len()).find_map(|index| {
        let op = ops[index];
        let return_ns = op.return_ns?;
        let required = observes(&accesses[index])?;
        let mut core = Vec::new();
        let mut last_set_ns = None;
        for setter in values.setters_of(required) {
            let setter_op = ops[setter];
            if setter == index || setter_op.call_ns > return_ns {
                continue;
            }
            // An `info` setter may take effect at any time after its call.
            let setter_return_ns = setter_op.return_ns?;
            last_set_ns = last_set_ns.max(Some(setter_return_ns));
            core.push(setter);
        }
        if core.is_empty() && model.step(&init, op).is_none() {
            return None; // No setter and not the initial state: rule 1's case.
        }
        let overwriter = overwriters.returned_before(last_set_ns, op.call_ns)?;
        // Relaxing one setter lets it take effect between the overwriter and `op`, unless the
        // overwriter itself requires a state that only the relaxed operations could give.
        let minimal = matches!(
            &accesses[overwriter],
            Access::Replace { expected: None, .. }
        );
        core.extend([overwriter, index]);
        core.sort_unstable();
        Some(Reduction::Impossible { core, minimal })
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_ops::operation;
    use super::*;
    use crate::{Register, Value};

    fn op(
        f: &str,
        input: Value,
        output: Option<Value>,
        call_ns: u64,
        ret: Option<u64>,
    ) -> Operation {
        operation(0, f, None, input, output, call_ns, ret)
    }

    #[test]
    fn a_read_of_a_value_set_only_later_is_impossible() {
        let model = Register::default();
        let read = op("read", Value::Nil, Some(Value::Int(1)), 0, Some(5));
        let late_write = op("write", Value::Int(1), Some(Value::Int(1)), 6, Some(9));
        assert_eq!(
            reduce(&model, &[&read, &late_write]),
            Reduction::Impossible {
                core: vec![0],
                minimal: true
            }
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
        assert_eq!(reduce(&model, &ops), Reduction::Opaque);
    }

    #[test]
    fn a_read_of_an_overwritten_value_is_stale() {
        let model = Register {
            init: Value::Nil,
            cas: true,
        };
        let write = |value: i64, call_ns, return_ns| {
            op(
                "write",
                Value::Int(value),
                Some(Value::Int(value)),
                call_ns,
                Some(return_ns),
            )
        };
        let read = |value: Value, call_ns, return_ns| {
            op("read", Value::Nil, Some(value), call_ns, Some(return_ns))
        };
        let first = write(1, 0, 2);
        let second = write(2, 3, 5);
        let stale = read(Value::Int(1), 6, 8);
        assert_eq!(
            reduce(&model, &[&first, &second, &stale]),
            Reduction::Impossible {
                core: vec![0, 1, 2],
                minimal: true
            }
        );
        // The overwrite concurrent with the first write or with the read: not stale.
        let overlapping = write(2, 2, 5);
        assert_eq!(
            reduce(&model, &[&first, &overlapping, &stale]),
            Reduction::Search(vec![0, 1, 2])
        );
        let concurrent_read = read(Value::Int(1), 5, 8);
        assert_eq!(
            reduce(&model, &[&first, &second, &concurrent_read]),
            Reduction::Search(vec![0, 1, 2])
        );
        // A later write of the same value, or an `info` one, may have set it again.
        let again = write(1, 4, 7);
        assert_eq!(
            reduce(&model, &[&first, &second, &again, &stale]),
            Reduction::Search(vec![0, 1, 2, 3])
        );
        let info_again = op("write", Value::Int(1), None, 1, None);
        assert_eq!(
            reduce(&model, &[&first, &second, &info_again, &stale]),
            Reduction::Search(vec![0, 1, 2, 3])
        );
        // The initial value read after an overwrite.
        let initial = read(Value::Nil, 6, 8);
        assert_eq!(
            reduce(&model, &[&second, &initial]),
            Reduction::Impossible {
                core: vec![0, 1],
                minimal: true
            }
        );
    }
}
