//! A mutex.

use crate::{Model, Operation};

/// A mutex (`mutex`): `acquire` succeeds only when free, `release` only when held.
///
/// Like Knossos's mutex it does not track the holder: a release by another process is allowed.
#[derive(Clone, Debug, Default)]
pub struct Mutex;

impl Model for Mutex {
    type State = bool;

    fn init(&self) -> bool {
        false
    }

    fn step(&self, held: &bool, op: &Operation) -> Option<bool> {
        match op.f.as_str() {
            "acquire" => (!held).then_some(true),
            "release" => held.then_some(false),
            _ => None,
        }
    }

    fn validate(&self, op: &Operation) -> Result<(), String> {
        match op.f.as_str() {
            "acquire" | "release" => Ok(()),
            _ => Err("the mutex model knows acquire and release".to_string()),
        }
    }
}
