//! Operations for the search's unit tests: process `id`, line `id + 1`, `ok` when it returned
//! and `info` when it did not.

use crate::{Operation, Outcome, Value};

pub(crate) fn operation(
    id: usize,
    f: &str,
    key: Option<Value>,
    input: Value,
    output: Option<Value>,
    call_ns: u64,
    return_ns: Option<u64>,
) -> Operation {
    Operation {
        id,
        process: id as u64,
        f: f.into(),
        key,
        input,
        output,
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
