//! Pruning stranded observations during the search, for partitions whose every operation
//! declares its [`Access`] to a single-valued state.
//!
//! An `ok` operation that observes `v` (reads it, or expects it in a compare-and-set) must be
//! linearized while the state is `v`. Once the state leaves `v` and every operation that
//! sets `v` is already linearized, the state can never be `v` again, so that operation can
//! never be linearized: no completion of the branch exists, and the step that left `v` is
//! rejected at once instead of after exploring everything the branch allows. On a register
//! whose written values are distinct this cuts the backtracking that many concurrent clients
//! cause (a write linearized too early strands the reads of the value it overwrote).
//!
//! The value of the state is known once an operation set it (its `new`). The initial state's
//! value is known when an `ok` operation observing some `v` can step from it (the contract of
//! [`Access`] makes that "the initial state is `v`"); otherwise no `ok` operation observes
//! it and leaving it prunes nothing.

use super::bitset::FastHash;
use crate::{Access, Model, Operation, Value};
use std::borrow::Cow;
use std::collections::HashMap;

/// No value (or an unknown one).
pub(crate) const UNKNOWN: u32 = u32::MAX;

/// Counts of operations still to linearize, per observed / set value.
pub(crate) struct Stranded {
    /// Per operation: the value id an `ok` operation observes, or `UNKNOWN`.
    observes: Vec<u32>,
    /// Per operation: the value id it sets when it takes effect, or `UNKNOWN`.
    sets: Vec<u32>,
    /// Per value id: `ok` operations observing it not linearized yet.
    observers_left: Vec<u32>,
    /// Per value id: operations setting it not linearized yet.
    setters_left: Vec<u32>,
    /// The value id of the initial state, or `UNKNOWN`.
    pub(crate) init_value: u32,
}

impl Stranded {
    /// `None` when some operation is [`Access::Opaque`] or an append.
    pub(crate) fn build<M: Model>(model: &M, ops: &[&Operation]) -> Option<Stranded> {
        let mut ids: HashMap<Value, u32, FastHash> =
            HashMap::with_capacity_and_hasher(ops.len(), FastHash);
        let mut id_of = |value: Cow<'_, Value>| {
            let next = ids.len() as u32;
            *ids.entry(value.into_owned()).or_insert(next)
        };
        let (mut observes, mut sets) =
            (Vec::with_capacity(ops.len()), Vec::with_capacity(ops.len()));
        let init = model.init();
        let mut init_value = UNKNOWN;
        for op in ops {
            let (observed, set) = match model.access(op) {
                Access::Opaque | Access::Append(_) => return None,
                Access::Observe(value) => (Some(id_of(value)), None),
                Access::Replace { expected, new } => (expected.map(&mut id_of), Some(id_of(new))),
                Access::Neutral => (None, None),
            };
            let must_happen = op.return_ns.is_some();
            if let (true, Some(observed), UNKNOWN) = (must_happen, observed, init_value) {
                if model.step(&init, op).is_some() {
                    init_value = observed;
                }
            }
            observes.push(observed.filter(|_| must_happen).unwrap_or(UNKNOWN));
            sets.push(set.unwrap_or(UNKNOWN));
        }
        let values = ids.len();
        let mut stranded = Stranded {
            observes,
            sets,
            observers_left: vec![0; values],
            setters_left: vec![0; values],
            init_value,
        };
        for op in 0..ops.len() {
            stranded.count(op, 1);
        }
        Some(stranded)
    }

    fn count(&mut self, op: usize, delta: i32) {
        if let Some(left) = self.observers_left.get_mut(self.observes[op] as usize) {
            *left = left.wrapping_add_signed(delta);
        }
        if let Some(left) = self.setters_left.get_mut(self.sets[op] as usize) {
            *left = left.wrapping_add_signed(delta);
        }
    }

    /// `op` is linearized.
    pub(crate) fn linearize(&mut self, op: usize) {
        self.count(op, -1);
    }

    /// `op` is no longer linearized.
    pub(crate) fn unlinearize(&mut self, op: usize) {
        self.count(op, 1);
    }

    /// The value id `op` sets.
    pub(crate) fn sets(&self, op: usize) -> u32 {
        self.sets[op]
    }

    /// Whether leaving value `from` now strands an operation observing it.
    pub(crate) fn strands(&self, from: u32) -> bool {
        from != UNKNOWN
            && self.observers_left[from as usize] > 0
            && self.setters_left[from as usize] == 0
    }
}
