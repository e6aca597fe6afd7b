//! Checker throughput on generated histories: a CAS register and a 64-key map, 5 to 50
//! clients, 1k to 100k operations, each clean (must be ok) and with one impossible read
//! (must be a violation). Prints a table of operations checked per second, and beside it the
//! plain search (`CheckOptions::reductions` off) on the same history in the same run, with
//! the speed-up (a lower bound, `>=`, where the plain search ran out of time).
//!
//! Run: `cargo bench -p history --bench linearizability`. Each check has a 20 s deadline.

#[path = "../tests/common/gen.rs"]
mod gen;

use gen::{corrupt_one_read, generate, Shape, Workload};
use history::{CheckOptions, ModelKind, Value, Verdict};
use std::time::{Duration, Instant};

fn verdict_name(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Ok => "ok",
        Verdict::Violation(_) => "violation",
        Verdict::Unknown(_) => "unknown",
    }
}

/// The default matrix keeps the run near a minute; `BENCH_FULL=1` runs every combination of
/// 5 / 20 / 50 clients and 1k / 10k / 100k operations for both workloads.
fn matrix() -> Vec<(Workload, usize, usize)> {
    let full = std::env::var_os("BENCH_FULL").is_some();
    let mut rows = Vec::new();
    for workload in [Workload::Register, Workload::Kv(64)] {
        for clients in [5, 20, 50] {
            for operations in [1_000, 10_000, 100_000] {
                let register_cap = match clients {
                    5 => 100_000,
                    20 => 10_000,
                    _ => 1_000,
                };
                let kv_row = workload != Workload::Register && clients != 20;
                if full || kv_row || (workload == Workload::Register && operations <= register_cap)
                {
                    rows.push((workload, clients, operations));
                }
            }
        }
    }
    rows
}

fn main() {
    let deadline = Duration::from_secs(5);
    let options = CheckOptions {
        timeout: Some(deadline),
        ..CheckOptions::default()
    };
    println!(
        "deadline per check: {} s; info 0.5%, fail 0.5% of operations",
        deadline.as_secs()
    );
    let plain_options = CheckOptions {
        reductions: false,
        ..options.clone()
    };
    println!(
        "{:<10} {:>7} {:>8} {:<9} {:<10} {:>10} {:>12} {:<10} {:>10} {:>9}  as expected",
        "workload",
        "clients",
        "ops",
        "history",
        "verdict",
        "time_ms",
        "ops_per_s",
        "plain",
        "plain_ms",
        "speedup"
    );
    let (mut wrong, mut unknown) = (0, 0);
    for (workload, clients, operations) in matrix() {
        let (name, model) = match workload {
            Workload::Register => ("register", ModelKind::CasRegister),
            Workload::Kv(_) => ("kv-64", ModelKind::Kv),
        };
        let shape = Shape {
            seed: 42,
            clients,
            operations,
            workload,
            info_per_mille: 5,
            fail_per_mille: 5,
        };
        let clean = generate(shape);
        let corrupted = corrupt_one_read(&clean, operations / 2).expect("a read");
        for (label, history, expected) in [
            ("clean", &clean, "ok"),
            ("corrupt", &corrupted, "violation"),
        ] {
            let started = Instant::now();
            let result = model
                .check(Value::Nil, history, &options)
                .expect("generated histories are valid");
            let elapsed = started.elapsed();
            let verdict = verdict_name(&result.verdict);
            let ops_per_s = history.operations.len() as f64 / elapsed.as_secs_f64();
            let plain_started = Instant::now();
            let plain = model
                .check(Value::Nil, history, &plain_options)
                .expect("generated histories are valid");
            let plain_elapsed = plain_started.elapsed();
            let plain_verdict = verdict_name(&plain.verdict);
            let ratio = plain_elapsed.as_secs_f64() / elapsed.as_secs_f64();
            let speedup = if plain_verdict == "unknown" {
                format!(">={ratio:.0}x")
            } else {
                format!("{ratio:.1}x")
            };
            if plain_verdict != "unknown" && verdict != "unknown" && plain_verdict != verdict {
                wrong += 1;
            }
            let judged = match verdict {
                "unknown" => {
                    unknown += 1;
                    "unknown (bound hit)"
                }
                _ if verdict == expected => "yes",
                _ => {
                    wrong += 1;
                    "NO"
                }
            };
            println!(
                "{name:<10} {clients:>7} {operations:>8} {label:<9} {verdict:<10} {:>10.1} {ops_per_s:>12.0} {plain_verdict:<10} {:>10.1} {speedup:>9}  {judged}",
                elapsed.as_secs_f64() * 1e3,
                plain_elapsed.as_secs_f64() * 1e3
            );
        }
    }
    println!("wrong verdicts (or disagreements with the plain search): {wrong}; unknown (deadline or memory): {unknown}");
    println!("Porcupine on the same histories: not measured here (no Go toolchain); the comparison is open.");
}
