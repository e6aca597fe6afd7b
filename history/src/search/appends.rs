//! Necessary conditions for partitions with appends ([`Access::Append`]: a key of a map whose
//! value grows by appends), checked before searching. Both are exact when they answer: they
//! only say "not linearizable" where no linearization can exist.
//!
//! A state `v` can only be made by a *setter of `v`*: an operation that replaces the state
//! with `v` (a write, a compare-and-set to `v`), or an append whose delta could end `v`
//! (see [`Producer`]: the delta itself, appended to nothing; a list's last item; any string
//! for a string). The producers are compared by that coarse key, never by a full suffix, so
//! the set of setters found is a superset of the true one, which is what the rules need.
//!
//! 1. **Impossible read.** An `ok` read of `v`, not the initial state, with no setter of `v`
//!    called before the read returns (an element no append wrote, a value no write wrote).
//!    The read alone is a core: relaxing the other operations adds no setter.
//! 2. **Stale read.** An `ok` read of `v` where every setter of `v` called before the read
//!    returns has completed, the last returning at `l` (or `v` is the initial state and there
//!    is none), and an `ok` unconditional overwrite `x` (a write; not an append) is called
//!    after `l` and returns before the read is called. `x` is then linearized after every
//!    setter and before the read, it sets something other than `v` (else it would be a
//!    setter), and nothing between can make `v` again. The setters, `x` and the read are a
//!    core.

use super::bitset::FastHash;
use super::overwriters::Overwriters;
use super::reduce::Reduction;
use crate::{Access, Model, Operation, Value};
use std::collections::HashMap;

/// A coarse name of the states an operation may leave, or a read may observe: two match when
/// the operation could have made the observed state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Producer<'a> {
    /// Exactly this value.
    Exact(&'a Value),
    /// Some list whose last item is this.
    LastItem(&'a Value),
    /// Some string.
    AnyString,
    /// Some list.
    AnyList,
}

/// What the state may be after an operation with `access` (none: it sets nothing).
fn produces<'a>(access: &'a Access<'_>) -> [Option<Producer<'a>>; 3] {
    match access {
        Access::Replace { new, .. } => [Some(Producer::Exact(new)), None, None],
        // `append_value`: onto nil the delta itself; strings concatenate; lists extend by a
        // list delta or push any other one.
        Access::Append(delta) => {
            let delta: &Value = delta;
            let exact = Some(Producer::Exact(delta));
            match delta {
                Value::List(items) => [
                    exact,
                    Some(match items.last() {
                        Some(last) => Producer::LastItem(last),
                        None => Producer::AnyList,
                    }),
                    None,
                ],
                Value::Str(_) => [
                    exact,
                    Some(Producer::AnyString),
                    Some(Producer::LastItem(delta)),
                ],
                element => [exact, Some(Producer::LastItem(element)), None],
            }
        }
        Access::Observe(_) | Access::Neutral | Access::Opaque => [None, None, None],
    }
}

/// The producers that could have made `value`.
fn made_by(value: &Value) -> [Option<Producer<'_>>; 3] {
    let exact = Some(Producer::Exact(value));
    match value {
        Value::List(items) => [
            exact,
            Some(Producer::AnyList),
            items.last().map(Producer::LastItem),
        ],
        Value::Str(_) => [exact, Some(Producer::AnyString), None],
        _ => [exact, None, None],
    }
}

/// Applies both rules to a partition whose accesses (one per operation) include an append
/// and no [`Access::Opaque`]; the first violation found, as a core.
pub(crate) fn check<M: Model>(
    model: &M,
    ops: &[&Operation],
    accesses: &[Access<'_>],
) -> Option<Reduction> {
    // The setters of each producer, as lists threaded through one vector (no allocation per
    // producer): `latest` gives a producer's last entry, each entry (operation, previous).
    let mut latest: HashMap<Producer<'_>, usize, FastHash> =
        HashMap::with_capacity_and_hasher(ops.len(), FastHash);
    let mut entries: Vec<(usize, usize)> = Vec::with_capacity(ops.len());
    for (index, access) in accesses.iter().enumerate() {
        for producer in produces(access).into_iter().flatten() {
            let previous = latest.insert(producer, entries.len()).unwrap_or(usize::MAX);
            entries.push((index, previous));
        }
    }
    let overwriters = Overwriters::new(ops, accesses);
    let init = model.init();
    let mut candidates: Vec<usize> = Vec::new();
    (0..ops.len()).find_map(|index| {
        let op = ops[index];
        let return_ns = op.return_ns?;
        let Access::Observe(seen) = &accesses[index] else {
            return None;
        };
        candidates.clear();
        for producer in made_by(seen).into_iter().flatten() {
            let mut entry = latest.get(&producer).copied().unwrap_or(usize::MAX);
            while let Some((setter, previous)) = entries.get(entry) {
                candidates.push(*setter);
                entry = *previous;
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut core = Vec::new();
        let mut last_set_ns = None;
        let mut info_setter = false;
        for setter in &candidates {
            let setter_op = ops[*setter];
            if setter_op.call_ns > return_ns {
                continue;
            }
            match setter_op.return_ns {
                Some(setter_return_ns) => {
                    last_set_ns = last_set_ns.max(Some(setter_return_ns));
                    core.push(*setter);
                }
                None => info_setter = true,
            }
        }
        let initial = model.step(&init, op).is_some();
        if core.is_empty() && !info_setter && !initial {
            return Some(Reduction::Impossible {
                core: vec![index],
                minimal: true,
            });
        }
        if info_setter {
            return None;
        }
        let overwriter = overwriters.returned_before(last_set_ns, op.call_ns)?;
        // 1-minimal when relaxing any setter lets it make `v` again after the overwrite: so
        // when each replaces the state with `v` (an append needs the state it extends), and
        // the overwrite requires nothing.
        let minimal = matches!(
            &accesses[overwriter],
            Access::Replace { expected: None, .. }
        ) && core
            .iter()
            .all(|setter| matches!(accesses[*setter], Access::Replace { .. }));
        core.extend([overwriter, index]);
        core.sort_unstable();
        Some(Reduction::Impossible { core, minimal })
    })
}

#[cfg(test)]
mod tests {
    use super::super::reduce::{reduce, Reduction};
    use super::super::test_ops::operation;
    use crate::{KvMap, Operation, Value};

    fn op(
        f: &str,
        input: Value,
        output: Option<Value>,
        call_ns: u64,
        ret: Option<u64>,
    ) -> Operation {
        operation(
            0,
            f,
            Some(Value::Str("k".into())),
            input,
            output,
            call_ns,
            ret,
        )
    }

    fn list(items: &[i64]) -> Value {
        Value::List(items.iter().map(|item| Value::Int(*item)).collect())
    }

    fn append(items: &[i64], call_ns: u64, ret: Option<u64>) -> Operation {
        let output = ret.map(|_| list(items));
        op("append", list(items), output, call_ns, ret)
    }

    fn put(items: &[i64], call_ns: u64, ret: u64) -> Operation {
        op("put", list(items), Some(list(items)), call_ns, Some(ret))
    }

    fn read(seen: Value, call_ns: u64, ret: u64) -> Operation {
        op("get", Value::Nil, Some(seen), call_ns, Some(ret))
    }

    /// The verdict of the plain search, to compare each rule's answer with.
    fn linearizable(ops: &[&Operation]) -> bool {
        let history = crate::History {
            operations: ops
                .iter()
                .enumerate()
                .map(|(id, op)| Operation {
                    id,
                    line: id + 1,
                    ..(*op).clone()
                })
                .collect(),
            ..Default::default()
        };
        let options = crate::CheckOptions {
            reductions: false,
            ..Default::default()
        };
        let result = crate::check(&KvMap::default(), &history, &options).unwrap();
        result.verdict == crate::Verdict::Ok
    }

    fn assert_impossible(ops: &[&Operation], core: Vec<usize>, minimal: bool) {
        assert_eq!(
            reduce(&KvMap::default(), ops),
            Reduction::Impossible { core, minimal }
        );
        assert!(!linearizable(ops));
    }

    fn assert_left_to_search(ops: &[&Operation], linearizable_expected: bool) {
        assert_eq!(reduce(&KvMap::default(), ops), Reduction::Opaque);
        assert_eq!(linearizable(ops), linearizable_expected);
    }

    #[test]
    fn a_read_of_an_element_no_append_wrote_is_impossible() {
        let first = append(&[1], 0, Some(2));
        let second = append(&[2], 3, Some(5));
        assert_impossible(
            &[&first, &second, &read(list(&[1, 3]), 6, 8)],
            vec![2],
            true,
        );
        let corrupt = read(Value::Str("never-written".into()), 6, 8);
        assert_impossible(&[&first, &second, &corrupt], vec![2], true);
        // Written only after the read returned.
        assert_impossible(
            &[&first, &read(list(&[1, 2]), 1, 2), &second],
            vec![1],
            true,
        );
        // Possible reads, and an `info` append that may have written the element.
        assert_left_to_search(&[&first, &second, &read(list(&[1, 2]), 6, 8)], true);
        let info = append(&[3], 4, None);
        assert_left_to_search(&[&first, &info, &read(list(&[1, 3]), 6, 8)], true);
        // The element was appended, but not after the one before it: left to the search.
        assert_left_to_search(&[&first, &second, &read(list(&[2, 1]), 6, 8)], false);
    }

    #[test]
    fn a_read_of_an_overwritten_value_is_stale() {
        let old = put(&[1], 0, 2);
        let grown = append(&[2], 3, Some(5));
        let overwrite = put(&[7], 6, 8);
        let stale = read(list(&[1, 2]), 9, 11);
        assert_impossible(&[&old, &grown, &overwrite, &stale], vec![1, 2, 3], false);
        // Only exact setters before the overwrite: 1-minimal.
        let stale_put = read(list(&[1]), 9, 11);
        assert_impossible(&[&old, &grown, &overwrite, &stale_put], vec![0, 2, 3], true);
        // The initial value, read after an overwrite.
        assert_impossible(&[&overwrite, &read(Value::Nil, 9, 11)], vec![0, 1], true);
        // The overwrite concurrent with the read, or with the last append: not decided here.
        let concurrent = read(list(&[1, 2]), 7, 11);
        assert_left_to_search(&[&old, &grown, &overwrite, &concurrent], true);
        let late_append = append(&[2], 3, Some(7));
        assert_left_to_search(&[&old, &late_append, &overwrite, &stale], false);
        // An `info` append that may make the value again after the overwrite.
        let again = append(&[2], 7, None);
        assert_left_to_search(&[&old, &grown, &overwrite, &again, &stale], false);
        let again_after_put = put(&[1], 7, 8);
        let info_tail = append(&[2], 7, None);
        assert_left_to_search(
            &[&old, &overwrite, &again_after_put, &info_tail, &stale],
            true,
        );
    }

    #[test]
    fn a_precheck_violation_in_a_late_partition_stops_the_check_before_any_search() {
        let keyed = |key: &str, op: Operation| Operation {
            key: Some(Value::Str(key.into())),
            ..op
        };
        // Key `a`, first in key order: a violation only a search finds (elements read out of
        // order). Key `z`: an element never appended, found by the pre-check.
        let ops = [
            keyed("a", append(&[1], 0, Some(2))),
            keyed("a", append(&[2], 3, Some(5))),
            keyed("z", append(&[9], 3, Some(5))),
            keyed("a", read(list(&[2, 1]), 6, 8)),
            keyed("z", read(list(&[9, 8]), 6, 8)),
        ];
        let history = crate::History {
            operations: ops
                .into_iter()
                .enumerate()
                .map(|(id, op)| Operation { id, ..op })
                .collect(),
            ..Default::default()
        };
        let options = crate::CheckOptions {
            threads: 1,
            ..Default::default()
        };
        let result = crate::check(&KvMap::default(), &history, &options).unwrap();
        let crate::Verdict::Violation(violation) = result.verdict else {
            panic!("not a violation: {:?}", result.verdict);
        };
        assert_eq!(violation.partition, Some(Value::Str("z".into())));
        assert_eq!(violation.core, vec![4]);
        // Without the `z` read, the search finds the violation of `a`.
        let mut history = history;
        history.operations.pop();
        let result = crate::check(&KvMap::default(), &history, &options).unwrap();
        let crate::Verdict::Violation(violation) = result.verdict else {
            panic!("not a violation: {:?}", result.verdict);
        };
        assert_eq!(violation.partition, Some(Value::Str("a".into())));
    }
}
