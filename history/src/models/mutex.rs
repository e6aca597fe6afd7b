//! A mutex that knows its holder.

use crate::{Access, Model, Operation, Value};
use std::borrow::Cow;

/// A mutex (`mutex`): `acquire` succeeds only when free and makes the calling process the
/// holder; `release` succeeds only when the calling process holds it.
///
/// Unlike Knossos's mutex it tracks the holder: a release by a process that does not hold the
/// mutex (another client, or nobody) is not linearizable, and neither is a second acquire by
/// the holder (the mutex is not reentrant). A process whose acquire ended `info` may hold it
/// forever: it never runs again, so nobody can release it.
#[derive(Clone, Debug, Default)]
pub struct Mutex;

/// The state as a value for [`Access`]: `nil` free, the holder's process id when held.
fn holder_value(holder: Option<u64>) -> Value {
    holder.map_or(Value::Nil, |process| Value::Int(process as i64))
}

impl Model for Mutex {
    /// The holder's process id, `None` when free.
    type State = Option<u64>;

    fn init(&self) -> Option<u64> {
        None
    }

    fn step(&self, holder: &Option<u64>, op: &Operation) -> Option<Option<u64>> {
        match op.f.as_str() {
            "acquire" => holder.is_none().then_some(Some(op.process)),
            "release" => (*holder == Some(op.process)).then_some(None),
            _ => None,
        }
    }

    /// Both operations compare the holder and replace it, `ok` or `info` alike (an `info`
    /// one that does not apply here is simply not linearized here).
    fn access<'a>(&self, op: &'a Operation) -> Access<'a> {
        let caller = Some(op.process);
        match op.f.as_str() {
            "acquire" => Access::Replace {
                expected: Some(Cow::Owned(holder_value(None))),
                new: Cow::Owned(holder_value(caller)),
            },
            "release" => Access::Replace {
                expected: Some(Cow::Owned(holder_value(caller))),
                new: Cow::Owned(holder_value(None)),
            },
            _ => Access::Opaque,
        }
    }

    fn validate(&self, op: &Operation) -> Result<(), String> {
        if i64::try_from(op.process).is_err() {
            return Err(format!("process id {} is too large", op.process));
        }
        match op.f.as_str() {
            "acquire" | "release" => Ok(()),
            _ => Err("the mutex model knows acquire and release".to_string()),
        }
    }
}
