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
//! after reading the file), its whole-process time, the ratios of its check time to ours
//! (`ratio`: to our verdict-only check; `ratio_core`: to our default check, which also
//! shrinks) and whether the verdicts agree. Without it, the peer is reported as not
//! available.
//!
//! `BENCH_PLAIN=1` adds faultline's plain search (`CheckOptions::reductions` off) on the same
//! history, with the speed-up of the reductions (a lower bound, `>=`, where the plain search
//! ran out of time). `BENCH_FULL=1` runs every size.
//!
//! Run: `cargo bench -p history --bench linearizability`. Each check has a 5 s deadline; a
//! check shorter than 1 s is run 3 to 20 times (more while all runs took under 1 s) and the
//! fastest run counts, the same for Porcupine.

#[path = "../tests/common/gen.rs"]
mod gen;
mod peer;

use gen::{corrupt_one_read, generate, stale_one_read, Shape, Workload};
use history::{CheckOptions, History, ModelKind, Value, Verdict};
use peer::{Peer, PeerRun};
use std::time::{Duration, Instant};

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

/// A check is run at least [`RUNS_MIN`] times (unless one run takes [`REPEAT_BELOW`] or
/// more) and, while all runs together took less than [`REPEAT_FOR`], up to [`RUNS_MAX`]
/// times; the fastest run counts, for faultline and Porcupine alike, so that descheduling
/// on a shared machine does not decide a ratio.
const REPEAT_BELOW: Duration = Duration::from_secs(1);
const REPEAT_FOR: Duration = Duration::from_secs(1);
const RUNS_MIN: usize = 3;
const RUNS_MAX: usize = 20;

/// Whether to run a check again after `runs` runs that took `total` (the last `last`).
fn again(runs: usize, total: Duration, last: Duration) -> bool {
    last < REPEAT_BELOW && runs < RUNS_MAX && (runs < RUNS_MIN || total < REPEAT_FOR)
}

/// A check by faultline: the verdict and the fastest run's time.
fn ours(model: ModelKind, history: &History, options: &CheckOptions) -> (&'static str, Duration) {
    let (mut runs, mut total) = (0, Duration::ZERO);
    let mut fastest: Option<(&'static str, Duration)> = None;
    loop {
        let started = Instant::now();
        let result = model
            .check(Value::Nil, history, options)
            .expect("generated histories are valid");
        let (verdict, elapsed) = (verdict_name(&result.verdict), started.elapsed());
        if let Some((first, _)) = fastest {
            assert_eq!(first, verdict, "the same check gave two verdicts");
        }
        fastest = Some((
            verdict,
            fastest.map_or(elapsed, |(_, best)| best.min(elapsed)),
        ));
        runs += 1;
        total += elapsed;
        if !again(runs, total, elapsed) {
            return fastest.expect("at least one run");
        }
    }
}

/// Porcupine on the history in `path`, repeated like [`ours`] (by its check time).
fn theirs(peer: &Peer, path: &std::path::Path, deadline: Duration) -> PeerRun {
    let (mut runs, mut total) = (0, Duration::ZERO);
    let mut fastest: Option<PeerRun> = None;
    loop {
        let run = peer
            .run(path, deadline)
            .unwrap_or_else(|error| panic!("{error}"));
        let last = run.check;
        fastest = Some(match fastest {
            None => run,
            Some(best) => {
                assert_eq!(best.verdict, run.verdict, "Porcupine gave two verdicts");
                PeerRun {
                    verdict: best.verdict,
                    check: best.check.min(run.check),
                    process: best.process.min(run.process),
                }
            }
        });
        runs += 1;
        total += last;
        if !again(runs, total, last) {
            return fastest.expect("at least one run");
        }
    }
}

fn milliseconds(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// Tallies of the whole run.
#[derive(Default)]
struct Tally {
    wrong: usize,
    unknown: usize,
    disagreements: usize,
    peer_rows: usize,
    ratio_min: Option<f64>,
    ratio_core_min: Option<f64>,
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
    match &peer {
        Some(_) => println!("peer: Porcupine (PORCUPINE_DRIVER); por_ms is its check inside the driver, por_proc_ms the whole driver process; ratio = por_ms / ours_ms"),
        None => println!("peer: Porcupine not available (set PORCUPINE_DRIVER, see history/peer/README.md); faultline only"),
    }
    print!(
        "{:<9} {:>7} {:>7} {:<8} {:<9} {:>9} {:>10} {:>11}",
        "workload", "clients", "ops", "history", "verdict", "ours_ms", "verdict_ms", "ops/s"
    );
    if plain {
        print!(" {:<9} {:>9} {:>8}", "plain", "plain_ms", "speedup");
    }
    if peer.is_some() {
        print!(
            " {:<9} {:>9} {:>11} {:>11} {:>8} {:>10} {:>5}",
            "porcupine", "por_ms", "por_ops/s", "por_proc_ms", "ratio", "ratio_core", "agree"
        );
    }
    println!("  expected");
    let mut tally = Tally::default();
    for (workload, clients, operations) in matrix() {
        let (name, model, peer_model) = match workload {
            Workload::Register => ("register", ModelKind::CasRegister, "cas-register"),
            Workload::Kv(_) => ("kv-64", ModelKind::Kv, "kv"),
        };
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
            let (verdict, elapsed) = ours(model, history, &options);
            let (verdict_only, verdict_elapsed) = ours(model, history, &verdict_options);
            if verdict_only != verdict && verdict_only != "unknown" && verdict != "unknown" {
                tally.wrong += 1;
            }
            let ops_per_s = history.operations.len() as f64 / verdict_elapsed.as_secs_f64();
            print!(
                "{name:<9} {clients:>7} {operations:>7} {label:<8} {verdict:<9} {:>9.1} {:>10.1} {ops_per_s:>11.0}",
                milliseconds(elapsed),
                milliseconds(verdict_elapsed)
            );
            if plain {
                let (plain_verdict, plain_elapsed) = ours(model, history, &plain_options);
                let ratio = plain_elapsed.as_secs_f64() / elapsed.as_secs_f64();
                let speedup = match plain_verdict {
                    "unknown" => format!(">={ratio:.0}x"),
                    _ => format!("{ratio:.1}x"),
                };
                if plain_verdict != "unknown" && verdict != "unknown" && plain_verdict != verdict {
                    tally.wrong += 1;
                }
                print!(
                    " {plain_verdict:<9} {:>9.1} {speedup:>8}",
                    milliseconds(plain_elapsed)
                );
            }
            if let Some(peer) = &peer {
                let path = scratch
                    .path()
                    .join(format!("{name}-{clients}-{operations}-{label}.json"));
                peer::write_history(&path, peer_model, history).expect("the history is written");
                let run = theirs(peer, &path, deadline);
                let ours = Ours {
                    verdict: verdict_only,
                    verdict_elapsed,
                    elapsed,
                };
                print_peer(&run, &ours, history.operations.len(), &mut tally);
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
    match (&peer, tally.ratio_min) {
        (None, _) => println!("Porcupine: not available in this run; no comparison made."),
        (Some(_), ratio_min) => println!(
            "Porcupine: {} histories; verdicts disagree on {}; lowest ratio of Porcupine's check time to ours where both decided: {} (verdict only), {} (with shrinking)",
            tally.peer_rows,
            tally.disagreements,
            ratio_min.map_or("n/a".to_string(), |ratio| format!("{ratio:.1}x")),
            tally
                .ratio_core_min
                .map_or("n/a".to_string(), |ratio| format!("{ratio:.1}x")),
        ),
    }
}

/// Our figures for one history.
struct Ours {
    /// The verdict-only check's verdict.
    verdict: &'static str,
    verdict_elapsed: Duration,
    /// The default check (with shrinking).
    elapsed: Duration,
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
fn print_peer(run: &PeerRun, ours: &Ours, ops: usize, tally: &mut Tally) {
    tally.peer_rows += 1;
    let verdict = ours.verdict;
    let ratio = run.check.as_secs_f64() / ours.verdict_elapsed.as_secs_f64();
    let ratio_core = run.check.as_secs_f64() / ours.elapsed.as_secs_f64();
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
        tally.ratio_min = Some(tally.ratio_min.map_or(ratio, |min: f64| min.min(ratio)));
        tally.ratio_core_min = Some(
            tally
                .ratio_core_min
                .map_or(ratio_core, |min: f64| min.min(ratio_core)),
        );
    }
    print!(
        " {:<9} {:>9.1} {:>11.0} {:>11.1} {:>8} {:>10} {agree:>5}",
        run.verdict,
        milliseconds(run.check),
        ops as f64 / run.check.as_secs_f64(),
        milliseconds(run.process),
        ratio_text(verdict, &run.verdict, ratio),
        ratio_text(verdict, &run.verdict, ratio_core),
    );
}
