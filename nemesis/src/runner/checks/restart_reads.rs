//! Damage read at a start, one damage at a time. After each fault that damages data at rest,
//! every process of the system under test is restarted; when those starts read damaged bytes
//! and all succeed, the nemesis records a [`DAMAGE_READ_AT_START`] event. The store must then
//! show it detected something before the next damage: a `corrupt` answer or a refused
//! restart in between, or a `verify` problem when no damage follows. A sign of detecting a
//! later damage does not excuse an earlier damage taken for valid data (a store that skipped
//! a bad log record in silence, then refused a misplaced blob, still lost the record).

use history::{Fault, History};

use crate::runner::nemesis::{DAMAGE_READ_AT_START, RECOVERY_FAILED};
use crate::runner::schedule::FaultKind;

/// The [`DAMAGE_READ_AT_START`] events not followed by a sign of detection before the next
/// damage, described. `corrupt_lines` are the history lines of `corrupt` answers;
/// `verify_problems` whether the final `verify` found any.
pub fn undetected_reads_at_start(
    recorded: &History,
    corrupt_lines: &[usize],
    verify_problems: bool,
) -> Vec<String> {
    let is_damage = |fault: &Fault| {
        fault.f == FaultKind::BitRot.name() || fault.f == FaultKind::MisplacedBlob.name()
    };
    let mut undetected = Vec::new();
    for (at, read) in recorded.faults.iter().enumerate() {
        if read.f != DAMAGE_READ_AT_START {
            continue;
        }
        // From the damage whose restart read it (its event comes just before) to the next.
        let start = recorded.faults[..at]
            .iter()
            .rposition(is_damage)
            .map_or(read.line, |damage| recorded.faults[damage].line);
        let next = (at..recorded.faults.len()).find(|&index| is_damage(&recorded.faults[index]));
        // A damage is recorded after its restarts: a refusal (or a heal so that a store
        // could start) just before it is that damage's, not this one's.
        let end = next.map_or(usize::MAX, |mut index| {
            while index > at + 1 && is_own_restart(&recorded.faults[index - 1]) {
                index -= 1;
            }
            recorded.faults[index].line
        });
        let within = |line: usize| line > start && line < end;
        let refused = recorded
            .faults
            .iter()
            .any(|fault| fault.f == RECOVERY_FAILED && within(fault.line));
        let corrupt = corrupt_lines.iter().any(|&line| within(line));
        if !(refused || corrupt || (next.is_none() && verify_problems)) {
            undetected.push(format!("line {}: {}", read.line, read.value));
        }
    }
    undetected
}

/// Events the nemesis records while restarting after a damage, before the damage itself.
fn is_own_restart(fault: &Fault) -> bool {
    fault.f == RECOVERY_FAILED || fault.f == FaultKind::Heal.name()
}

#[cfg(test)]
mod tests {
    use super::*;
    use history::Value;

    fn faults(list: &[(&str, usize)]) -> History {
        History {
            operations: Vec::new(),
            faults: list
                .iter()
                .map(|(f, line)| Fault {
                    f: (*f).to_owned(),
                    value: Value::from("store/wal/1: read"),
                    time_ns: *line as u64,
                    line: *line,
                })
                .collect(),
        }
    }

    #[test]
    fn a_read_at_start_needs_a_sign_before_the_next_damage() {
        let skipped_then_refused = faults(&[
            ("bit_rot", 10),
            (DAMAGE_READ_AT_START, 11),
            ("kill_one", 20),
            (RECOVERY_FAILED, 29),
            ("misplaced_blob", 30),
        ]);
        let undetected = undetected_reads_at_start(&skipped_then_refused, &[], false);
        assert_eq!(
            undetected,
            vec!["line 11: \"store/wal/1: read\"".to_owned()]
        );
        let answered = undetected_reads_at_start(&skipped_then_refused, &[15], false);
        assert!(answered.is_empty(), "a corrupt answer in between");
        let after_next = undetected_reads_at_start(&skipped_then_refused, &[31], true);
        assert_eq!(
            after_next.len(),
            1,
            "a later damage's detection does not count"
        );
        let refused_at_once = faults(&[
            ("bit_rot", 10),
            (DAMAGE_READ_AT_START, 11),
            (RECOVERY_FAILED, 12),
            ("kill_one", 13),
        ]);
        assert!(undetected_reads_at_start(&refused_at_once, &[], false).is_empty());
    }

    #[test]
    fn the_last_read_at_start_may_be_answered_by_verify_or_a_later_refusal() {
        let last = faults(&[("bit_rot", 10), (DAMAGE_READ_AT_START, 11)]);
        assert_eq!(undetected_reads_at_start(&last, &[], false).len(), 1);
        assert!(undetected_reads_at_start(&last, &[], true).is_empty());
        let refused_later = faults(&[
            ("bit_rot", 10),
            (DAMAGE_READ_AT_START, 11),
            ("power_cut", 40),
            (RECOVERY_FAILED, 41),
        ]);
        assert!(undetected_reads_at_start(&refused_later, &[], false).is_empty());
    }

    #[test]
    fn damage_never_read_at_a_start_asks_nothing() {
        let unread = faults(&[("bit_rot", 10), ("misplaced_blob", 20)]);
        assert!(undetected_reads_at_start(&unread, &[], false).is_empty());
    }
}
