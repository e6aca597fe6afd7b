//! `faultline soak`: runs back to back against a system under test, with a progress bar, a
//! summary line at each interval and the table at the end. Exit 1 if any run failed.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use nemesis::runner::cleanup::abort_cleanup;
use nemesis::runner::config::{parse_faults, DEFAULT_SUT};
use nemesis::runner::{interrupt, soak, RunConfig, Shard, SoakOptions};

/// Arguments of `faultline soak`.
#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// How long to soak: `90s`, `10m`, `1h`, `500ms`.
    #[arg(long, value_name = "TIME", default_value = "60s", value_parser = parse_duration)]
    duration: Duration,
    /// Base seed; run k of shard I/N uses seed + k*N + I.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,
    /// Command line of one process of the system under test; `{dir}` is the data directory.
    #[arg(long, value_name = "CMD", default_value = DEFAULT_SUT)]
    sut: String,
    /// Where failure bundles go.
    #[arg(long, value_name = "DIR", default_value = "faultline-out")]
    out: PathBuf,
    /// Processes of the system under test sharing the data directory.
    #[arg(long, value_name = "P", default_value_t = 2)]
    processes: usize,
    /// Concurrent clients (several per process, so requests pipeline).
    #[arg(long, value_name = "C", default_value_t = 4)]
    clients: usize,
    /// Length of one run, in seconds (fractions allowed).
    #[arg(long, value_name = "S", default_value_t = 3.0)]
    run_secs: f64,
    /// This machine's part of the campaign's seeds, `I/N`.
    #[arg(long, value_name = "I/N", default_value = "0/1", value_parser = Shard::parse)]
    shard: Shard,
    /// Fault kinds to inject (comma-separated, or `all`); further limited to what the system
    /// under test promises.
    #[arg(long, value_name = "LIST", default_value = "all")]
    faults: String,
    /// Promises of a system that does not answer them to `hello`: `kill=survive,bit_flip=detect`.
    #[arg(long, value_name = "LIST")]
    promises: Option<String>,
    /// Stop after this many failing runs (0: never stop early).
    #[arg(long, value_name = "N", default_value_t = 0)]
    max_failures: usize,
    /// Seconds between summary lines.
    #[arg(long, value_name = "S", default_value_t = 10)]
    interval_secs: u64,
}

/// Reads `90s`, `10m`, `1h`, `500ms` or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("duration {text:?}: expected a number and a unit (ms, s, m, h)"))?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "" | "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => {
            return Err(format!(
                "duration {text:?}: unknown unit {unit:?}; expected ms, s, m or h"
            ))
        }
    };
    Ok(Duration::from_secs_f64(seconds))
}

pub fn run(args: SoakArgs) -> anyhow::Result<u8> {
    interrupt::install(abort_cleanup);
    if !(args.run_secs > 0.0 && args.run_secs < 86_400.0) {
        anyhow::bail!(
            "--run-secs {}: expected a positive number of seconds",
            args.run_secs
        );
    }
    let faults =
        parse_faults(&args.faults).map_err(|error| anyhow::anyhow!("--faults: {error}"))?;
    let options = SoakOptions {
        duration: args.duration,
        base: RunConfig {
            seed: args.seed,
            sut: args.sut,
            processes: args.processes,
            clients: args.clients,
            run_ms: (args.run_secs * 1000.0) as u64,
            faults,
            promises: args.promises,
            ..RunConfig::default()
        },
        out: args.out,
        shard: args.shard,
        max_failures: args.max_failures,
        max_runs: 0,
    };
    let bar = progress_bar(options.duration);
    let interval = Duration::from_secs(args.interval_secs.max(1));
    let mut last_line = Instant::now();
    let result = soak(&options, |summary, outcome| {
        if let (Some(check), Some(bundle)) = (&outcome.failing_check, &outcome.bundle) {
            let line = format!(
                "seed {}: check `{check}` failed; bundle {}",
                outcome.seed,
                bundle.display()
            );
            match &bar {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }
        if let Some(bar) = &bar {
            bar.set_position(summary.elapsed.as_secs().min(options.duration.as_secs()));
            bar.set_message(format!(
                "runs {} ops {} faults {} crashes {} failures {}",
                summary.runs,
                summary.operations,
                summary.fault_count(),
                summary.crashes,
                summary.failures.len()
            ));
        }
        if last_line.elapsed() >= interval {
            match &bar {
                Some(bar) => bar.println(summary.line()),
                None => eprintln!("{}", summary.line()),
            }
            last_line = Instant::now();
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let summary = match result {
        Ok(summary) => summary,
        Err(aborted) => {
            println!("{}", aborted.summary);
            return Err(anyhow::Error::new(*aborted).context("soak stopped"));
        }
    };
    if interrupt::stop_requested() {
        eprintln!("faultline soak: interrupted; the current run was finished and checked");
    }
    println!("{summary}");
    Ok(if summary.failures.is_empty() { 0 } else { 1 })
}

fn progress_bar(duration: Duration) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(duration.as_secs().max(1));
    let style = ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {eta} left | {msg}")
        .map(|style| style.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(500));
    Some(bar)
}
