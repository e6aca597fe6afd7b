//! Whether the faults a store only promises to *detect* excuse lost data in a run.
//!
//! A detect promise lets a store lose data, but only data it knows it lost: it must not return
//! it as valid. Faults that may be indistinguishable from a torn write (a flipped bit read from
//! a last record, a misdirected write) excuse every loss. Faults placed where a careful store
//! can always tell ([`FaultKind::detection_required`]: a bit decayed inside a file, away from
//! its ends; a blob under another blob's name) excuse loss only once the store showed it
//! detected something: a `corrupt` answer, a process that refused to start, a `verify`
//! problem. A store that shows none of these is held to every check: it lost or changed data
//! without noticing. And if it read damaged bytes (the lazy filesystem logs `damage-read`)
//! without showing any of these, it used damaged data as valid: the `detection` check fails.
//! So does a run in which the restarts after one damage read damaged bytes and started, with
//! no sign of detection before the next damage ([`restart_reads`]): detecting a later damage
//! does not excuse an earlier one taken for valid data.

use std::io::BufRead;

use history::{EventType, History, HistoryReader, Process, Value};

use super::restart_reads;
use super::{CheckInputs, CheckStatus};
use crate::runner::nemesis::RECOVERY_FAILED;
use crate::runner::schedule::FaultKind;

/// What the run's detect-only faults excuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excuse {
    /// Whether data loss is excused (the checks that data may fail are `not_held`).
    pub excused: bool,
    /// For runs with faults that require detection: the `detection` check's status (failed
    /// when damaged bytes were read and nothing was detected) and what the store showed.
    pub detection: Option<(CheckStatus, String)>,
}

/// Lines of a lazy filesystem fault log that report a read of damaged bytes.
pub fn damage_reads(fault_log: impl BufRead) -> Vec<String> {
    fault_log
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(&line).ok())
        .filter(|entry| entry["event"] == "damage-read")
        .map(|entry| {
            format!(
                "{}: {}",
                entry["path"].as_str().unwrap_or("?"),
                entry["detail"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// Decides the excuse of a run from its recorded history (`raw`: the history file's lines, for
/// the error codes of `fail` answers, which pairing drops) and the check inputs.
///
/// `damage_reads` are the reads of damaged bytes the lazy filesystem reported ([`damage_reads`]).
pub fn excuse(
    raw: impl BufRead,
    recorded: &History,
    inputs: &CheckInputs,
    damage_reads: &[String],
) -> Excuse {
    let injected = |kinds: &[FaultKind]| {
        recorded
            .faults
            .iter()
            .filter(|fault| kinds.iter().any(|kind| kind.name() == fault.f))
            .map(|fault| fault.f.clone())
            .collect::<Vec<_>>()
    };
    let required = injected(&[FaultKind::BitRot, FaultKind::MisplacedBlob]);
    let lenient = injected(&[FaultKind::BitFlip, FaultKind::MisdirectedWrite]);
    if !inputs.detect_only || required.is_empty() || !lenient.is_empty() {
        return Excuse {
            excused: inputs.detect_only,
            detection: None,
        };
    }
    let mut signs = Vec::new();
    let corrupt_lines: Vec<usize> = corrupt_answer_lines(raw)
        .into_iter()
        .map(|(line, _, _)| line)
        .collect();
    if !corrupt_lines.is_empty() {
        signs.push(format!("{} `corrupt` answers", corrupt_lines.len()));
    }
    let refused = recorded
        .faults
        .iter()
        .filter(|fault| fault.f == RECOVERY_FAILED)
        .count();
    if refused > 0 {
        signs.push(format!("{refused} restarts refused"));
    }
    if let Some(problems) = inputs.verify_problems.as_ref().filter(|p| !p.is_empty()) {
        signs.push(format!("verify: {}", problems.join("; ")));
    }
    let mut kinds = required.clone();
    kinds.dedup();
    let verify_problems = inputs
        .verify_problems
        .as_ref()
        .is_some_and(|p| !p.is_empty());
    let undetected_at_start =
        restart_reads::undetected_reads_at_start(recorded, &corrupt_lines, verify_problems);
    let detection = if !undetected_at_start.is_empty() {
        let shown: Vec<&str> = (undetected_at_start.iter().take(3))
            .map(String::as_str)
            .collect();
        let text = format!(
            "undetected_damage: {} injected; the restarts after it read damaged bytes ({}),              every process started, and the store showed no detection before the next damage",
            kinds.join(", "),
            shown.join("; ")
        );
        (CheckStatus::Failed, text)
    } else if !signs.is_empty() {
        let text = format!(
            "{} injected and detected: {}",
            kinds.join(", "),
            signs.join(", ")
        );
        (CheckStatus::Passed, text)
    } else if !damage_reads.is_empty() {
        let shown: Vec<&str> = damage_reads.iter().take(3).map(String::as_str).collect();
        let text = format!(
            "undetected_damage: {} injected, damaged bytes read ({}) and never detected (no \
             `corrupt` answer, no refused restart, no verify problem)",
            kinds.join(", "),
            shown.join("; ")
        );
        (CheckStatus::Failed, text)
    } else {
        let text = format!(
            "{} injected, never read and never detected: every check is held",
            kinds.join(", ")
        );
        (CheckStatus::Passed, text)
    };
    Excuse {
        excused: !signs.is_empty(),
        detection: Some(detection),
    }
}

/// The `fail` completions whose value is the error code `corrupt`: (line, operation, key).
fn corrupt_answer_lines(raw: impl BufRead) -> Vec<(usize, String, String)> {
    HistoryReader::new(raw)
        .filter_map(Result::ok)
        .filter(|(_, event)| {
            event.kind == EventType::Fail
                && matches!(event.process, Process::Client(_))
                && event.value == Value::from("corrupt")
        })
        .map(|(line, event)| {
            let key = event.key.as_ref().map_or("-".to_owned(), Value::to_string);
            (line, event.f, key)
        })
        .collect()
}

/// The `integrity` check: in a run whose every fault the store promises to survive (no
/// detect-only fault injected), nothing was damaged, so a `corrupt` answer means the store
/// damaged its own data (a blob collected while still named, a torn file taken as complete)
/// and found out only later. Failed on any; in a run with a detect-only fault a `corrupt`
/// answer is detection, which [`excuse`] weighs, and this check passes.
///
/// Not held in a run with a `pause` (`paused`): a stalled holder's log write that lands after
/// a takeover is answered `corrupt` by the reference store today, an open finding about the
/// store that would otherwise fail every such run.
pub fn integrity(raw: impl BufRead, inputs: &CheckInputs, paused: bool) -> (CheckStatus, String) {
    if inputs.detect_only {
        return (
            CheckStatus::Passed,
            "a fault the store only promises to detect was injected: `corrupt` answers are \
             detection"
                .into(),
        );
    }
    let answers = corrupt_answer_lines(raw);
    if answers.is_empty() {
        return (
            CheckStatus::Passed,
            "no `corrupt` answer in a run of faults the store promises to survive".into(),
        );
    }
    let shown: Vec<String> = answers
        .iter()
        .take(3)
        .map(|(line, f, key)| format!("line {line}: {f} {key}"))
        .collect();
    if paused {
        let text = format!(
            "{} `corrupt` answers ({}) in a run with a pause: not held",
            answers.len(),
            shown.join("; ")
        );
        return (CheckStatus::NotHeld, text);
    }
    let text = format!(
        "corrupt_answer: {} `corrupt` answers ({}) in a run of faults the store promises to \
         survive: it damaged data nothing else damaged",
        answers.len(),
        shown.join("; ")
    );
    (CheckStatus::Failed, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use history::Fault;

    fn recorded(faults: &[&str]) -> History {
        History {
            operations: Vec::new(),
            faults: faults
                .iter()
                .enumerate()
                .map(|(line, f)| Fault {
                    f: (*f).to_owned(),
                    value: Value::Nil,
                    time_ns: line as u64,
                    line: line + 1,
                })
                .collect(),
        }
    }

    fn detect_only() -> CheckInputs {
        CheckInputs {
            detect_only: true,
            verify_problems: Some(Vec::new()),
            ..CheckInputs::default()
        }
    }

    const CORRUPT: &str = "{\"process\":3,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"k0\"}\n\
                           {\"process\":3,\"type\":\"fail\",\"f\":\"get\",\"key\":\"k0\",\"value\":\"corrupt\"}\n";

    #[test]
    fn silent_loss_after_a_fault_that_requires_detection_is_held() {
        let rot = recorded(&["kill_one", "bit_rot"]);
        let silent = excuse(&b""[..], &rot, &detect_only(), &[]);
        assert!(!silent.excused, "{silent:?}");
        assert_eq!(
            silent.detection.unwrap().0,
            CheckStatus::Passed,
            "nothing read"
        );
    }

    #[test]
    fn damaged_bytes_read_without_detection_fail_and_with_detection_pass() {
        let log = concat!(
            r#"{"unix_ms":1,"event":"bit-rot","path":"store/wal/1","detail":""}"#,
            "\n",
            r#"{"unix_ms":2,"event":"damage-read","path":"store/wal/1","detail":"bytes [9, 10) damaged by bit-rot were read"}"#,
            "\n"
        );
        let reads = damage_reads(log.as_bytes());
        assert_eq!(reads.len(), 1, "{reads:?}");
        let rot = recorded(&["bit_rot"]);
        let silent = excuse(&b""[..], &rot, &detect_only(), &reads);
        let (status, text) = silent.detection.unwrap();
        assert_eq!(status, CheckStatus::Failed);
        assert!(
            text.contains("undetected_damage") && text.contains("store/wal/1"),
            "{text}"
        );
        let detected = excuse(CORRUPT.as_bytes(), &rot, &detect_only(), &reads);
        assert_eq!(detected.detection.unwrap().0, CheckStatus::Passed);
    }

    #[test]
    fn a_corrupt_answer_a_refused_restart_or_a_verify_problem_excuses_it() {
        let rot = recorded(&["bit_rot"]);
        assert!(excuse(CORRUPT.as_bytes(), &rot, &detect_only(), &[]).excused);
        let refused = recorded(&["misplaced_blob", RECOVERY_FAILED]);
        assert!(excuse(&b""[..], &refused, &detect_only(), &[]).excused);
        let verify = CheckInputs {
            verify_problems: Some(vec!["blob snap-1: checksum".into()]),
            ..detect_only()
        };
        assert!(excuse(&b""[..], &rot, &verify, &[]).excused);
    }

    #[test]
    fn a_corrupt_answer_fails_integrity_only_when_every_fault_was_survivable() {
        let survivable = CheckInputs::default();
        let (status, text) = integrity(CORRUPT.as_bytes(), &survivable, false);
        assert_eq!(status, CheckStatus::Failed);
        assert!(
            text.contains("corrupt_answer") && text.contains("line 2: get"),
            "{text}"
        );
        let clean = "{\"process\":3,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"k0\"}\n\
                     {\"process\":3,\"type\":\"fail\",\"f\":\"get\",\"key\":\"k0\",\"value\":\"busy\"}\n";
        assert_eq!(
            integrity(clean.as_bytes(), &survivable, false).0,
            CheckStatus::Passed
        );
        assert_eq!(
            integrity(CORRUPT.as_bytes(), &detect_only(), false).0,
            CheckStatus::Passed
        );
        assert_eq!(
            integrity(CORRUPT.as_bytes(), &survivable, true).0,
            CheckStatus::NotHeld
        );
    }

    #[test]
    fn damage_read_at_a_start_in_silence_fails_though_a_later_damage_is_detected() {
        use crate::runner::nemesis::DAMAGE_READ_AT_START;
        let skipped = recorded(&[
            "bit_rot",
            DAMAGE_READ_AT_START,
            "kill_one",
            RECOVERY_FAILED,
            "misplaced_blob",
        ]);
        let excuse = excuse(&b""[..], &skipped, &detect_only(), &[]);
        let (status, text) = excuse.detection.unwrap();
        assert_eq!(status, CheckStatus::Failed, "{text}");
        assert!(
            text.contains("undetected_damage") && text.contains("line 2"),
            "{text}"
        );
        let refused = recorded(&["bit_rot", DAMAGE_READ_AT_START, "kill_all", RECOVERY_FAILED]);
        let detected = super::excuse(&b""[..], &refused, &detect_only(), &[]);
        assert_eq!(detected.detection.unwrap().0, CheckStatus::Passed);
    }

    #[test]
    fn lenient_faults_excuse_as_before() {
        let both = recorded(&["bit_rot", "bit_flip"]);
        assert!(excuse(&b""[..], &both, &detect_only(), &[]).excused);
        let not_detect = CheckInputs::default();
        assert!(!excuse(&b""[..], &recorded(&["bit_flip"]), &not_detect, &[]).excused);
    }
}
