//! The `Model` trait: the sequential specification a history is checked against.

use crate::{Operation, Value};
use std::borrow::Cow;
use std::fmt::Debug;
use std::hash::Hash;

/// A sequential specification. Implement it to check histories of your own objects.
///
/// Contract:
/// - `step` is a pure function: from `state`, applying `op` with the observed result
///   `op.output` gives `Some(next state)`, or `None` when a sequential object could not have
///   returned that result. `op.output == None` means the result is unknown (an `info`
///   operation): `step` must then accept whatever the operation could have returned.
/// - `partition` returns the key of the independent part of the object `op` touches, or `None`
///   when the object cannot be split (every operation then lands in one partition). Operations
///   in different partitions must never constrain each other (P-compositionality).
/// - `validate` rejects operations the model does not know (wrong `f`, malformed value); the
///   checker reports those as bad input before searching, never as a violation.
///
/// A nondeterministic object is modelled by letting `State` be the set of states it may be in
/// (a `BTreeSet`), `step` mapping every member and failing only when the set becomes empty.
pub trait Model: Sync {
    /// The object's state; it is cloned, hashed and compared during the search (and may be
    /// freed on another thread after it).
    type State: Clone + Eq + Hash + Send + Debug + 'static;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// The state after `op` returned `op.output`, or `None` if that result is impossible.
    fn step(&self, state: &Self::State, op: &Operation) -> Option<Self::State>;

    /// The independent part `op` touches (by default: none, one partition).
    fn partition(&self, _op: &Operation) -> Option<Value> {
        None
    }

    /// [`Model::partition`], borrowed from `op` where it can be (a model partitioned by the
    /// operation's key returns `Cow::Borrowed(&op.key)`), which spares the checker a copy of
    /// every operation's key. Must equal `partition(op)`.
    fn partition_of<'a>(&self, op: &'a Operation) -> Cow<'a, Option<Value>> {
        Cow::Owned(self.partition(op))
    }

    /// Why `op` is not an operation of this model, if it is not.
    fn validate(&self, _op: &Operation) -> Result<(), String> {
        Ok(())
    }

    /// How `op` reads and writes a single-valued state, for the checker's reductions (see
    /// [`Access`]). The default, [`Access::Opaque`], switches them off for the partition;
    /// return anything else only where the contract of that variant holds exactly. Borrow the
    /// values from `op` where they are its own (`Cow::Borrowed(&op.input)`): the checker asks
    /// this of every operation, and a copy of each value would cost it much of its time.
    fn access<'a>(&self, _op: &'a Operation) -> Access<'a> {
        Access::Opaque
    }

    /// A short human description of `op` for reports.
    fn describe(&self, op: &Operation) -> String {
        describe_operation(op)
    }
}

/// How an operation uses a state that is a single value (a register, one key of a map), as
/// [`Model::access`] declares it. The checker uses these claims to decide some partitions
/// before searching and to drop `info` operations that cannot matter; they must agree with
/// [`Model::step`] exactly, for every state. The values name states: in a partition whose
/// every operation declares an access other than `Opaque`, every reachable state has one
/// value and distinct states have distinct values (a register's value; a versioned object's
/// `[value, version]`; a mutex's holder).
///
/// The values are borrowed from the operation where they can be (`'a` is the operation's
/// lifetime) and owned where the model makes them (a versioned object's `[value, version]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access<'a> {
    /// `step` succeeds iff the state equals the value, and leaves it unchanged (an `ok` read).
    Observe(Cow<'a, Value>),
    /// If it takes effect, `step` requires the state to equal `expected` (when given) and sets
    /// it to `new`; for an `info` operation whose `expected` differs from the state, `step`
    /// may only leave the state unchanged (as if it had not happened) or fail. An `ok` write,
    /// `ok` successful compare-and-set, an `info` write or compare-and-set. An `ok` operation
    /// may also fail from states its model rules out otherwise (a versioned write whose
    /// version is not above the current one); an `info` one may not.
    Replace {
        /// The state required before, if any.
        expected: Option<Cow<'a, Value>>,
        /// The state after.
        new: Cow<'a, Value>,
    },
    /// `step` succeeds from every state and leaves it unchanged (an `info` read).
    Neutral,
    /// If it takes effect, `step` sets the state `s` to [`crate::append_value`]`(s, delta)`
    /// and fails where that is `None` (an `ok` or `info` append of `delta`). Values here
    /// need not name states one to one: a partition with an append gets only the
    /// necessary-condition checks that hold for any value (see the checker's reductions).
    Append(Cow<'a, Value>),
    /// Anything else (a mismatched compare-and-set, ...): no reduction applies.
    Opaque,
}

/// `f key input -> output`, the default description of an operation.
pub(crate) fn describe_operation(op: &Operation) -> String {
    let key = op
        .key
        .as_ref()
        .map(|key| format!(" {key}"))
        .unwrap_or_default();
    let output = match (&op.output, op.outcome) {
        (_, crate::Outcome::Fail) => " (failed)".to_string(),
        (Some(output), _) if *output != op.input || *output == Value::Nil => {
            format!(" -> {output}")
        }
        (Some(_), _) => String::new(),
        (None, _) => " -> ?".to_string(),
    };
    let input = if op.input == Value::Nil {
        String::new()
    } else {
        format!(" {}", op.input)
    };
    format!("{}{key}{input}{output}", op.f)
}
