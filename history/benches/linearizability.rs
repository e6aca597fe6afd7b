//! Checker throughput on generated histories: a CAS register and a 64-key map, 5 to 50
//! clients, 1k to 100k operations, each clean (must be ok), with one impossible read and with
//! one stale read (both must be violations). Prints operations checked per second, for the
//! default check (`ours_ms`: a violation is shrunk to a small core) and for a verdict only
//! (`verdict_ms`: `shrink_checks_max` 0, the violation still confirmed exactly), which is what
//! Porcupine's `CheckOperations` computes.
//!
//! Peer: with `PORCUPINE_DRIVER=/path/to/porcupine-driver` (see `history/peer/README.md`)
//! each history is also written to a file and checked by Porcupine in the same run, on the
//! same machine; the table then shows Porcupine's check time (measured inside the driver,
//! after reading and converting the file), the time that reading took, the ratios of its
//! check time to ours (`ratio`, `ratio_med`: to our verdict-only check, fastest and median
//! runs; `ratio_core`: to our default check, which also shrinks — Porcupine gives no minimal
//! counterexample, so that column is shown, not compared) and whether the verdicts agree.
//! Without it, the peer is reported as not available.
//!
//! `BENCH_PLAIN=1` adds faultline's plain search (`CheckOptions::reductions` off) on the same
//! history, with the speed-up of the reductions (a lower bound, `>=`, where the plain search
//! ran out of time). `BENCH_FULL=1` runs every size. `BENCH_ONLY=kv-64/20/` runs only the
//! rows whose `workload/clients/ops/history` name contains the text.
//!
//! Run: `cargo bench -p history --bench linearizability`. Each check has a 5 s deadline and
//! is repeated as `timing` says, for both checkers alike.

#[path = "../tests/common/gen.rs"]
mod gen;
mod peer;
mod timing;

use gen::{corrupt_one_read, generate, stale_one_read, Shape, Workload};
use history::{CheckOptions, History, ModelKind, Value, Verdict};
use peer::{Peer, PeerRun};
use std::time::{Duration, Instant};
use timing::Timing;

fn verdict_name(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Ok => "ok",
        Verdict::Violation(_) => "violation",
        Verdict::Unknown(_) => "unknown",
    }
}

/// The default matrix keeps the run near a minute or two; `BENCH_FULL=1` runs every
/// combination of 5 / 20 / 50 clients and 1k / 10k / 100k operations for both workloads.
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

/// A check by faultline, repeated by the rule of [`timing`]: the verdict and the runs' times.
fn ours(model: ModelKind, history: &History, options: &CheckOptions) -> (&'static str, Timing) {
    let (mut runs, mut total) = (Vec::new(), Duration::ZERO);
    let mut first: Option<&'static str> = None;
    loop {
        let started = Instant::now();
        let result = model
            .check(Value::Nil, history, options)
            .expect("generated histories are valid");
        let (verdict, elapsed) = (verdict_name(&result.verdict), started.elapsed());
        assert_eq!(
            *first.get_or_insert(verdict),
            verdict,
            "the same check gave two verdicts"
        );
        runs.push(elapsed);
        total += elapsed;
        if !timing::again(runs.len(), total, elapsed) {
            return (verdict, Timing::new(runs).expect("at least one run"));
        }
    }
}

fn milliseconds(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// The lowest ratio seen so far, and its row.
#[derive(Default)]
struct Lowest {
    ratio: Option<(f64, String)>,
}

impl Lowest {
    fn see(&mut self, ratio: f64, row: &str) {
        if self
            .ratio
            .as_ref()
            .is_none_or(|(lowest, _)| ratio < *lowest)
        {
            self.ratio = Some((ratio, row.to_string()));
        }
    }
    fn text(&self) -> String {
        self.ratio
            .as_ref()
            .map_or("n/a".to_string(), |(ratio, row)| {
                format!("{ratio:.1}x ({row})")
            })
    }
}

/// Tallies of the whole run.
#[derive(Default)]
struct Tally {
    wrong: usize,
    unknown: usize,
    disagreements: usize,
    peer_rows: usize,
    /// Porcupine's fastest check over our fastest verdict-only check.
    ratio: Lowest,
    /// The same with medians.
    ratio_median: Lowest,
    /// Porcupine's fastest check over our fastest default check (which shrinks).
    ratio_core: Lowest,
}

/// Only rows whose `workload/clients/ops/history` name contains `BENCH_ONLY`, if set.
fn selected(row: &str) -> bool {
    std::env::var("BENCH_ONLY").map_or(true, |only| row.contains(&only))
}

fn main() {
    let deadline = Duration::from_secs(5);
    let options = CheckOptions {
        timeout: Some(deadline),
        ..CheckOptions::default()
    };
    let plain_options = CheckOptions {
        reductions: false,
        ..options.clone()
    };
    let verdict_options = CheckOptions {
        shrink_checks_max: 0,
        ..options.clone()
    };
    let plain = std::env::var_os("BENCH_PLAIN").is_some();
    let peer = match Peer::from_env() {
        Some(Ok(peer)) => Some(peer),
        Some(Err(reason)) => panic!("{reason}"),
        None => None,
    };
    let scratch = tempfile::tempdir().expect("a temporary directory");
    println!(
        "deadline per check: {} s; info 0.5%, fail 0.5% of operations; {} cores",
        deadline.as_secs(),
        std::thread::available_parallelism().map_or(1, |cores| cores.get())
    );
    println!("{}", timing::describe());
    println!("ours_ms: faultline's default check (a violation is shrunk to a small confirmed core); verdict_ms / verdict_med_ms: its verdict-only check (fastest / median run), what Porcupine computes");
    match &peer {
        Some(_) => {
            println!("peer: Porcupine (PORCUPINE_DRIVER); por_ms / por_med_ms: its check inside the driver after the file was read and converted (fastest / median run), por_load_ms: that reading and converting");
            println!("ratio = por_ms / verdict_ms, ratio_med = por_med_ms / verdict_med_ms: the like-for-like comparison; ratio_core = por_ms / ours_ms compares with our check that also shrinks, which Porcupine does not do (it gives no minimal counterexample), shown, not a target");
        }
        None => println!("peer: Porcupine not available (set PORCUPINE_DRIVER, see history/peer/README.md); faultline only"),
    }
    print!(
        "{:<9} {:>7} {:>7} {:<8} {:<9} {:>9} {:>10} {:>14} {:>11}",
        "workload",
        "clients",
        "ops",
        "history",
        "verdict",
        "ours_ms",
        "verdict_ms",
        "verdict_med_ms",
        "ops/s"
    );
    if plain {
        print!(" {:<9} {:>9} {:>8}", "plain", "plain_ms", "speedup");
    }
    if peer.is_some() {
        print!(
            " {:<9} {:>9} {:>10} {:>11} {:>11} {:>8} {:>9} {:>10} {:>5}",
            "porcupine",
            "por_ms",
            "por_med_ms",
            "por_ops/s",
            "por_load_ms",
            "ratio",
            "ratio_med",
            "ratio_core",
            "agree"
        );
    }
    println!("  expected");
    let mut tally = Tally::default();
    for (workload, clients, operations) in matrix() {
        let (name, model, peer_model) = match workload {
            Workload::Register => ("register", ModelKind::CasRegister, "cas-register"),
            Workload::Kv(_) => ("kv-64", ModelKind::Kv, "kv"),
        };
        let any_selected = ["clean", "corrupt", "stale"]
            .iter()
            .any(|label| selected(&format!("{name}/{clients}/{operations}/{label}")));
        if !any_selected {
            continue;
        }
        let clean = generate(Shape {
            seed: 42,
            clients,
            operations,
            workload,
            info_per_mille: 5,
            fail_per_mille: 5,
        });
        let mut histories = vec![("clean", clean.clone(), "ok")];
        if let Some(corrupted) = corrupt_one_read(&clean, operations / 2) {
            histories.push(("corrupt", corrupted, "violation"));
        }
        if let Some(stale) = stale_one_read(&clean, operations / 2) {
            histories.push(("stale", stale, "violation"));
        }
        for (label, history, expected) in &histories {
            let row = format!("{name}/{clients}/{operations}/{label}");
            if !selected(&row) {
                continue;
            }
            let (verdict, timing) = ours(model, history, &options);
            let (verdict_only, verdict_timing) = ours(model, history, &verdict_options);
            if verdict_only != verdict && verdict_only != "unknown" && verdict != "unknown" {
                tally.wrong += 1;
            }
            let ops_per_s =
                history.operations.len() as f64 / verdict_timing.fastest().as_secs_f64();
            print!(
                "{name:<9} {clients:>7} {operations:>7} {label:<8} {verdict:<9} {:>9.1} {:>10.2} {:>14.2} {ops_per_s:>11.0}",
                milliseconds(timing.fastest()),
                milliseconds(verdict_timing.fastest()),
                milliseconds(verdict_timing.median())
            );
            if plain {
                let (plain_verdict, plain_timing) = ours(model, history, &plain_options);
                let ratio = plain_timing.fastest().as_secs_f64() / timing.fastest().as_secs_f64();
                let speedup = match plain_verdict {
                    "unknown" => format!(">={ratio:.0}x"),
                    _ => format!("{ratio:.1}x"),
                };
                if plain_verdict != "unknown" && verdict != "unknown" && plain_verdict != verdict {
                    tally.wrong += 1;
                }
                print!(
                    " {plain_verdict:<9} {:>9.1} {speedup:>8}",
                    milliseconds(plain_timing.fastest())
                );
            }
            if let Some(peer) = &peer {
                let path = scratch
                    .path()
                    .join(format!("{name}-{clients}-{operations}-{label}.json"));
                peer::write_history(&path, peer_model, history).expect("the history is written");
                let run = peer
                    .run(&path, deadline)
                    .unwrap_or_else(|error| panic!("{error}"));
                let ours = Ours {
                    verdict: verdict_only,
                    verdict_timing,
                    timing,
                };
                print_peer(&run, &ours, history.operations.len(), &row, &mut tally);
            }
            let judged = match verdict {
                "unknown" => {
                    tally.unknown += 1;
                    "unknown (bound hit)"
                }
                _ if verdict == *expected => "yes",
                _ => {
                    tally.wrong += 1;
                    "NO"
                }
            };
            println!("  {judged}");
        }
    }
    println!(
        "faultline: wrong verdicts (or disagreements with the plain search): {}; unknown (deadline or memory): {}",
        tally.wrong, tally.unknown
    );
    match &peer {
        None => println!("Porcupine: not available in this run; no comparison made."),
        Some(_) => println!(
            "Porcupine: {} histories; verdicts disagree on {}; lowest ratio of Porcupine's check time to ours where both decided, verdict only: {} fastest, {} median; with shrinking (not a target): {}",
            tally.peer_rows,
            tally.disagreements,
            tally.ratio.text(),
            tally.ratio_median.text(),
            tally.ratio_core.text(),
        ),
    }
}

/// Our figures for one history.
struct Ours {
    /// The verdict-only check's verdict.
    verdict: &'static str,
    verdict_timing: Timing,
    /// The default check (with shrinking).
    timing: Timing,
}

/// `por / ours` as text: `>=` where Porcupine ran out of time, `n/a` where we did.
fn ratio_text(ours: &str, peer: &str, ratio: f64) -> String {
    match (ours, peer) {
        ("unknown", _) => "n/a".to_string(),
        (_, "unknown") => format!(">={ratio:.0}x"),
        _ => format!("{ratio:.1}x"),
    }
}

/// Prints Porcupine's columns of one row and counts its agreement.
fn print_peer(run: &PeerRun, ours: &Ours, ops: usize, row: &str, tally: &mut Tally) {
    tally.peer_rows += 1;
    let verdict = ours.verdict;
    let seconds = |duration: Duration| duration.as_secs_f64();
    let ratio = seconds(run.check.fastest()) / seconds(ours.verdict_timing.fastest());
    let ratio_median = seconds(run.check.median()) / seconds(ours.verdict_timing.median());
    let ratio_core = seconds(run.check.fastest()) / seconds(ours.timing.fastest());
    let decided = verdict != "unknown" && run.verdict != "unknown";
    let agree = match (decided, run.verdict == verdict) {
        (false, _) => "n/a",
        (true, true) => "yes",
        (true, false) => {
            tally.disagreements += 1;
            "NO"
        }
    };
    if decided {
        tally.ratio.see(ratio, row);
        tally.ratio_median.see(ratio_median, row);
        tally.ratio_core.see(ratio_core, row);
    }
    print!(
        " {:<9} {:>9.2} {:>10.2} {:>11.0} {:>11.1} {:>8} {:>9} {:>10} {agree:>5}",
        run.verdict,
        milliseconds(run.check.fastest()),
        milliseconds(run.check.median()),
        ops as f64 / seconds(run.check.fastest()),
        milliseconds(run.load),
        ratio_text(verdict, &run.verdict, ratio),
        ratio_text(verdict, &run.verdict, ratio_median),
        ratio_text(verdict, &run.verdict, ratio_core),
    );
}
