//! `store`: the reference store's command line.
//!
//! - `store serve --dir DIR` speaks the line protocol (store/SERVE.md) on stdin/stdout.
//! - `store verify --dir DIR` checks a directory against the store's invariants.
//! - `store demo --dir DIR` writes through concurrent writers into a child `store serve`, kills
//!   it with SIGKILL mid-write, recovers, and checks that nothing acknowledged was lost.
//!
//! Every subcommand takes `--mutant NAME` (or reads `FAULTLINE_MUTANT`) to run with a planted
//! bug (store/src/mutant.rs); a build without the `mutants` feature, or an unknown name, is
//! refused with exit status 2 before anything is opened.

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use store::{Store, StoreOptions};

#[path = "store/demo.rs"]
mod demo;

#[derive(Parser)]
#[command(name = "store", about = "faultline's reference store", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Run with this planted bug active (needs a build with the `mutants` feature; also read
    /// from the FAULTLINE_MUTANT environment variable).
    #[arg(long, global = true, value_name = "NAME")]
    mutant: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the line protocol (store/SERVE.md) on stdin/stdout.
    Serve {
        #[command(flatten)]
        open: OpenArgs,
        /// Worker threads running requests concurrently (they share group commits).
        #[arg(long, default_value_t = 8)]
        workers: usize,
    },
    /// Check a store directory against the store's invariants; exit 1 if a problem is found.
    Verify {
        #[command(flatten)]
        open: OpenArgs,
    },
    /// Write, crash a child server with SIGKILL, recover and check (about 3 s).
    Demo {
        /// An empty or missing directory to run the demo in.
        #[arg(long)]
        dir: PathBuf,
        /// Concurrent writers.
        #[arg(long, default_value_t = 8)]
        writers: usize,
        /// How long the writers run before the server is killed, in milliseconds.
        #[arg(long, default_value_t = 1500)]
        write_ms: u64,
    },
}

#[derive(Args)]
struct OpenArgs {
    /// The store directory (created if missing).
    #[arg(long)]
    dir: PathBuf,
    /// Lease length: another process may take over once a holder is silent this long.
    #[arg(long, default_value_t = 2_000)]
    lease_ms: u64,
    /// How long an operation waits for the lock before failing.
    #[arg(long, default_value_t = 10_000)]
    lock_wait_ms: u64,
    /// Release the lock after this long without work, so other processes get a turn.
    #[arg(long, default_value_t = 5)]
    idle_release_ms: u64,
    /// After holding the lock this long under continuous load, let it go briefly (0: never).
    #[arg(long, default_value_t = 1_000)]
    max_hold_ms: u64,
    /// Values of at least this many bytes are stored as content-addressed blobs named by their
    /// log record (0: never).
    #[arg(long, default_value_t = store::DEFAULT_BLOB_THRESHOLD_BYTES)]
    blob_threshold_bytes: usize,
}

impl OpenArgs {
    fn open_store(&self) -> Result<Store, store::StoreError> {
        let options = StoreOptions {
            lease_ms: self.lease_ms,
            lock_wait_ms: self.lock_wait_ms,
            idle_release_ms: self.idle_release_ms,
            max_hold_ms: self.max_hold_ms,
            blob_threshold_bytes: self.blob_threshold_bytes,
            ..StoreOptions::default()
        };
        Store::open(&self.dir, options)
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("store: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Activates the mutant named by `--mutant` and/or `FAULTLINE_MUTANT` (both may name the same
/// one); any name this build cannot run is an error.
fn activate_mutant(flag: Option<&str>) -> anyhow::Result<()> {
    use store::mutant;
    mutant::activate_from_env()
        .with_context(|| format!("activating the mutant named by {}", mutant::ENV_VAR))?;
    if let Some(name) = flag {
        let asked = mutant::parse(name).context("--mutant")?;
        mutant::activate(asked).context("--mutant")?;
    }
    if let Some(active) = mutant::active() {
        eprintln!("store: mutant {active} is active (a planted bug: never trust this store)");
    }
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    activate_mutant(cli.mutant.as_deref())?;
    match cli.command {
        Command::Serve { open, workers } => {
            let stats = match open.open_store() {
                Ok(store) => store::serve::serve(&store, io::stdin().lock(), io::stdout(), workers),
                // Invalid data: keep speaking the protocol and refuse every request, so the
                // client sees a store that refuses to guess rather than a crash.
                Err(error) if error.code() == "corrupt" => {
                    eprintln!(
                        "store serve: {} cannot be opened, refusing every request: {error}",
                        open.dir.display()
                    );
                    store::serve::serve_refusing(&error, io::stdin().lock(), io::stdout())
                }
                Err(error) => {
                    return Err(error)
                        .with_context(|| format!("opening the store in {}", open.dir.display()))
                }
            }
            .context("serving the line protocol")?;
            eprintln!(
                "store serve: {} lines, {} answers, {} malformed",
                stats.lines, stats.answers, stats.malformed
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { open } => {
            let store = match open.open_store() {
                Ok(store) => store,
                Err(error) if error.code() == "corrupt" => {
                    println!("problem: the store cannot be opened: {error}");
                    return Ok(ExitCode::FAILURE);
                }
                Err(error) => {
                    return Err(error)
                        .with_context(|| format!("opening the store in {}", open.dir.display()))
                }
            };
            let problems = store.verify().context("running verify")?;
            if problems.is_empty() {
                println!("{}: no problems found", open.dir.display());
                return Ok(ExitCode::SUCCESS);
            }
            for problem in &problems {
                println!("problem: {problem}");
            }
            Ok(ExitCode::FAILURE)
        }
        Command::Demo {
            dir,
            writers,
            write_ms,
        } => demo::run(&dir, writers, write_ms),
    }
}
