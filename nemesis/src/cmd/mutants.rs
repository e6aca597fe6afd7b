//! `faultline mutants`: the detection-power benchmark. A soak against the store with each
//! planted bug active, stopped at its first failing run; then the clean store with the same
//! seeds and budget (false alarms); each caught bundle replayed, with the mutant and against
//! the clean store. Prints the table; exit 0 only if every mutant was caught, the clean store
//! never failed, and every caught failure reproduced and was not the clean store's too, else 1;
//! 3 for bad input or a setup error.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use nemesis::runner::cleanup::abort_cleanup;
use nemesis::runner::config::{parse_faults, shell_quote};
use nemesis::runner::mutants::{
    render_table, run_benchmark, BenchmarkOptions, REPLAYS_MAX, SEED_RUN_MS_MIN,
};
use nemesis::runner::run::MUTANT_BUILD;
use nemesis::runner::{interrupt, RunConfig};
use store::mutant::Mutant;

use super::soak::parse_duration;

/// Where the mutant-capable store is built, relative to the workspace (and to `target/`).
const MUTANT_STORE: &str = "target/mutants/release/store";

/// The default store's lock settings: a short lease, so that a process paused by the nemesis
/// outlives its lease within a run and another takes over (the path fencing guards), and
/// frequent hand-offs of the lock between processes under load (catch-up, manifest swaps).
const MUTANT_STORE_FLAGS: &str = "--lease-ms 200 --max-hold-ms 100";

/// Arguments of `faultline mutants`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct MutantsArgs {
    /// Wall-clock time in which each mutant's soak starts runs (it stops at its first failing
    /// run; a run started in time is finished and checked, so a catch may come later); the
    /// clean store's soak takes all of it: `60s`, `5m`.
    #[arg(long, value_name = "TIME", default_value = "60s", value_parser = parse_duration)]
    budget: Duration,
    /// Spread each budget over exactly K runs (seeds S..S+K-1, each run's clients running
    /// budget/K, checks on top); the clean store runs the same K seeds. Without it, runs of
    /// --run-secs follow each other until the budget is spent.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    seeds: Option<u64>,
    /// First seed S of every soak (the same for every mutant and the clean store).
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// Command line of one process of a store built with the `mutants` feature; `{dir}` is the
    /// data directory. Default: target/mutants/release/store serve --dir {dir} --lease-ms 200
    /// --max-hold-ms 100 (a lease a paused process outlives within a run).
    #[arg(long, value_name = "CMD")]
    sut: Option<String>,
    /// Only these mutants (comma-separated names, e.g. `ack-before-fsync,no-fencing`).
    #[arg(long, value_name = "NAMES")]
    only: Option<String>,
    /// Where bundles go: DIR/NN-NAME/ per mutant, DIR/clean/ for false alarms.
    #[arg(long, value_name = "DIR", default_value = "faultline-mutants")]
    out: PathBuf,
    /// Replays of each caught bundle, stopping at the first that reproduces, plus one against
    /// the clean store (0: none of either).
    #[arg(long, value_name = "N", default_value_t = 3)]
    replays: u32,
    /// Length of one run without --seeds, in seconds (fractions allowed).
    #[arg(long, value_name = "S", default_value_t = 3.0)]
    run_secs: f64,
    /// Fault kinds to inject (comma-separated, or `all`).
    #[arg(long, value_name = "LIST", default_value = "all")]
    faults: String,
    /// Processes of the store sharing the data directory.
    #[arg(long, value_name = "P", default_value_t = 2)]
    processes: usize,
    /// Concurrent clients.
    #[arg(long, value_name = "C", default_value_t = 4)]
    clients: usize,
}

const AFTER_HELP: &str = "\
The store under test must be built with the `mutants` feature, apart from the shipped build:
  cargo build --release -p store --features mutants --target-dir target/mutants
Each process gets FAULTLINE_MUTANT=NAME and must name the mutant in its `hello` answer; a store
that does not (a build without the feature) is refused, never counted as a missed mutant.

Table columns: time and ops are those of the mutant's soak up to the end of its first failing
run (for a missed mutant, more than the whole soak's); check is the check that failed; fault is
the last fault the failing run applied (heal and resume not counted; `none` if it applied none);
reproduced k/n is k reproductions in n replays of the bundle (replays stop at the first);
clean is the same seed, configuration and faults replayed once against the clean store:
`passes`, or `FAILS` when the failure is not the mutant's doing (then the benchmark fails).

Exit: 0 every mutant caught, no false alarm, every caught failure reproduced and passing on the
clean store; 1 otherwise;
3 bad input or a setup error.";

pub fn run(args: MutantsArgs) -> anyhow::Result<u8> {
    interrupt::install(abort_cleanup);
    let options = options(args)?;
    eprintln!(
        "faultline mutants: {} mutant(s), {} each{}; system under test: {}",
        options.mutants.len(),
        humantime(options.budget),
        options
            .seeds
            .map_or(String::new(), |k| format!(" over {k} seed(s)")),
        options.base.sut
    );
    let report = run_benchmark(&options, |line| eprintln!("{line}"))
        .context("the benchmark could not be carried out")?;
    println!("{}", render_table(&report));
    if report.interrupted {
        eprintln!("faultline mutants: interrupted; the table shows what was done");
    }
    Ok(if report.passed() { 0 } else { 1 })
}

fn options(args: MutantsArgs) -> anyhow::Result<BenchmarkOptions> {
    if !(args.run_secs > 0.0 && args.run_secs < 86_400.0) {
        anyhow::bail!(
            "--run-secs {}: expected a positive number of seconds",
            args.run_secs
        );
    }
    if args.budget.is_zero() {
        anyhow::bail!("--budget: expected a positive duration");
    }
    if let Some(seeds) = args.seeds {
        if args.budget.as_millis() / u128::from(seeds) < u128::from(SEED_RUN_MS_MIN) {
            anyhow::bail!(
                "--seeds {seeds} with --budget {}: runs would be shorter than {SEED_RUN_MS_MIN} \
                 ms; give fewer seeds or a larger budget",
                humantime(args.budget)
            );
        }
    }
    if args.replays > REPLAYS_MAX {
        anyhow::bail!("--replays {}: at most {REPLAYS_MAX}", args.replays);
    }
    let faults =
        parse_faults(&args.faults).map_err(|error| anyhow::anyhow!("--faults: {error}"))?;
    let mutants = match &args.only {
        Some(names) => parse_only(names)?,
        None => Mutant::ALL.to_vec(),
    };
    let sut = match args.sut {
        Some(sut) => sut,
        None => default_sut()?,
    };
    Ok(BenchmarkOptions {
        mutants,
        budget: args.budget,
        seeds: args.seeds,
        base: RunConfig {
            seed: args.seed,
            sut,
            processes: args.processes,
            clients: args.clients,
            run_ms: (args.run_secs * 1000.0) as u64,
            faults,
            ..RunConfig::default()
        },
        out: args.out,
        replays: args.replays,
    })
}

/// The mutants named in `--only`, in the catalogue's order, each once.
fn parse_only(names: &str) -> anyhow::Result<Vec<Mutant>> {
    let mut mutants = Vec::new();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let mutant =
            store::mutant::parse(name).map_err(|error| anyhow::anyhow!("--only: {error}"))?;
        if !mutants.contains(&mutant) {
            mutants.push(mutant);
        }
    }
    if mutants.is_empty() {
        anyhow::bail!("--only {names:?}: expected at least one mutant name");
    }
    mutants.sort_by_key(|mutant| mutant.number());
    Ok(mutants)
}

/// `target/mutants/release/store serve --dir {dir}`, from the current directory or beside the
/// `target/` this faultline was built in; a clear error saying how to build it otherwise.
fn default_sut() -> anyhow::Result<String> {
    let mut candidates = vec![PathBuf::from(MUTANT_STORE)];
    if let Some(target) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().and_then(Path::parent).map(Path::to_path_buf))
    {
        candidates.push(target.join("mutants/release/store"));
    }
    let found = candidates.iter().find(|path| path.is_file()).ok_or_else(|| {
        let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        anyhow::anyhow!(
            "no store built with the `mutants` feature (looked at {}); build one with `{MUTANT_BUILD}` \
             from the workspace, or pass --sut CMD",
            looked.join(" and ")
        )
    })?;
    let path = found
        .canonicalize()
        .with_context(|| format!("resolving {}", found.display()))?;
    Ok(format!(
        "{} serve --dir {{dir}} {MUTANT_STORE_FLAGS}",
        shell_quote(&path.to_string_lossy())
    ))
}

fn humantime(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}
