//! The lock model's named properties.

use super::*;
use crate::checking::can_progress;

fn accepted_or_empty(model: &LockModel, state: &LockState) -> Vec<Record> {
    state.accepted(model).unwrap_or_default()
}

pub(super) fn all() -> Vec<Property<LockModel>> {
    vec![
        Property::always(
            "recovery finds every LSN of the log",
            |model: &LockModel, state: &LockState| state.accepted(model).is_ok(),
        ),
        Property::always(
            "acknowledged writes are in the accepted log",
            |model: &LockModel, state: &LockState| {
                let accepted = accepted_or_empty(model, state);
                state
                    .acknowledged
                    .iter()
                    .all(|writer| accepted.iter().any(|r| r.writer == *writer))
            },
        ),
        Property::always(
            "no write made after a takeover is accepted",
            |model: &LockModel, state: &LockState| {
                accepted_or_empty(model, state)
                    .iter()
                    .all(|r| !r.after_takeover)
            },
        ),
        Property::always(
            "accepted log has one writer at a time",
            |model: &LockModel, state: &LockState| {
                let accepted = accepted_or_empty(model, state);
                accepted
                    .windows(2)
                    .all(|pair| pair[0].epoch <= pair[1].epoch)
            },
        ),
        Property::always(
            "no process waits forever for the lock",
            |model: &LockModel, state: &LockState| {
                state
                    .processes
                    .iter()
                    .all(|p| matches!(p.pc, Pc::Done | Pc::Crashed))
                    || can_progress(model, state, |action| {
                        matches!(action, LockAction::Pause(_) | LockAction::Crash(_))
                    })
            },
        ),
        Property::sometimes(
            "a paused holder writes after a takeover",
            |_: &LockModel, state: &LockState| {
                state
                    .segments
                    .iter()
                    .any(|s| s.records.iter().any(|r| r.after_takeover))
            },
        ),
    ]
}
