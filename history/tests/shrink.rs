//! Cores of write-heavy violations: many concurrent writes and reads, one stale read.

mod common;

use common::history;
use history::{CheckOptions, ModelKind, Value, Verdict};

/// `rounds` rounds of four processes each writing its own value at once, then reading (each
/// read sees the round's last write); then four more writes at once and reads of two of
/// their values by processes 4 and 5 one after the other: 1, 2, 2, 1 (values written once
/// each, so the state went from 1 to 2 and back, which no order of the writes gives).
fn many_writes_then_reads_out_of_order(rounds: u64) -> String {
    let mut text = String::new();
    for round in 0..=rounds {
        let values: Vec<u64> = (0..4).map(|process| round * 4 + process + 1).collect();
        for (process, value) in values.iter().enumerate() {
            text += &format!("{process} invoke write {value}\n");
        }
        for (process, value) in values.iter().enumerate() {
            text += &format!("{process} ok write {value}\n");
        }
        if round == rounds {
            break;
        }
        for process in 0..4 {
            text += &format!("{process} invoke read\n");
        }
        for process in 0..4 {
            text += &format!("{process} ok read {}\n", values[3]);
        }
    }
    let (first, second) = (rounds * 4 + 1, rounds * 4 + 2);
    for (process, value) in [(4, first), (5, second), (4, second), (5, first)] {
        text += &format!("{process} invoke read\n{process} ok read {value}\n");
    }
    text
}

#[test]
fn reads_out_of_order_among_many_writes_have_a_core_of_three() {
    let rounds = 30;
    let text = many_writes_then_reads_out_of_order(rounds);
    let result = ModelKind::Register
        .check(Value::Nil, &history(&text), &CheckOptions::default())
        .unwrap();
    let Verdict::Violation(violation) = result.verdict else {
        panic!("{:?}", result.verdict)
    };
    // Operations are numbered by call: 8 per round, then the last round's 4 writes (the
    // write of 2 is `writes + 1`) and the 4 reads. Two 3-operation cores explain it: the
    // first read of 1, the read of 2 and the second read of 1 (the state went back), or the
    // write of 2 (it returned before the reads), the first read of 1 and the read of 2 (the
    // state went back to 2 after the write). Nothing of the earlier rounds matters.
    let writes = 8 * rounds as usize;
    let reads = writes + 4;
    let cores = [
        vec![reads, reads + 1, reads + 3],
        vec![writes + 1, reads, reads + 1],
    ];
    assert!(cores.contains(&violation.core), "{:?}", violation.core);
    assert!(violation.core_minimal);
}
