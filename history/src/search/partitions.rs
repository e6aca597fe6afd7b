//! Splitting a history into the model's partitions (P-compositionality).

use super::bitset::FastHash;
use super::CheckError;
use crate::{History, Model, Operation, Outcome, Value};
use std::borrow::Cow;
use std::collections::HashMap;

/// Room for this many partitions from the start: a keyed history has tens to thousands of
/// keys, and growing the table a key at a time costs a short check a good part of its time.
const PARTITIONS_EXPECTED: usize = 128;

/// An operation that is in no partition (a `fail` one).
const DROPPED: usize = usize::MAX;

/// One partition: its key and its operations, in call order.
pub(super) type Partition<'a> = (Option<Value>, Vec<&'a Operation>);

/// The partitions of `history` under `model`, in key order, without the `fail` operations;
/// an operation the model rejects is an error.
pub(super) fn split<'a, M: Model>(
    model: &M,
    history: &'a History,
) -> Result<Vec<Partition<'a>>, CheckError> {
    // First each operation's partition and each partition's size, so that every partition's
    // vector is allocated once, at its size.
    let mut index_of: HashMap<Cow<'a, Option<Value>>, usize, FastHash> =
        HashMap::with_capacity_and_hasher(PARTITIONS_EXPECTED, FastHash);
    let mut partitions: Vec<Partition<'a>> = Vec::new();
    let mut sizes: Vec<usize> = Vec::new();
    let mut assigned: Vec<usize> = Vec::with_capacity(history.operations.len());
    for op in &history.operations {
        if op.outcome == Outcome::Fail {
            assigned.push(DROPPED);
            continue;
        }
        model
            .validate(op)
            .map_err(|reason| CheckError::InvalidOperation {
                line: op.line,
                f: op.f.clone(),
                reason,
            })?;
        let key = model.partition_of(op);
        let index = match index_of.get(key.as_ref()) {
            Some(index) => *index,
            None => {
                partitions.push((key.as_ref().clone(), Vec::new()));
                sizes.push(0);
                index_of.insert(key, partitions.len() - 1);
                partitions.len() - 1
            }
        };
        sizes[index] += 1;
        assigned.push(index);
    }
    for ((_, ops), size) in partitions.iter_mut().zip(sizes) {
        ops.reserve_exact(size);
    }
    for (op, index) in history.operations.iter().zip(assigned) {
        if index != DROPPED {
            partitions[index].1.push(op);
        }
    }
    partitions.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(partitions)
}
