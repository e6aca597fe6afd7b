//! `faultline`: the user-facing binary. Each subcommand lives in its own module under `cmd/`
//! and returns the process exit code.

mod cmd;

use clap::{Parser, Subcommand};

/// Find the bugs storage code hides until a crash.
#[derive(Debug, Parser)]
#[command(name = "faultline", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a recorded history (or a failure bundle) for linearizability.
    Check(cmd::check::CheckArgs),
    /// Serve a lazy filesystem that holds unsynced writes and can cut the power.
    Lazyfs(cmd::lazyfs::LazyfsArgs),
    /// List, check and explore the stateright models of the store's protocols.
    Model(cmd::model::ModelArgs),
    /// Run many runs back to back against a system under test; keep every failure.
    Soak(cmd::soak::SoakArgs),
    /// Measure detection power: a soak per planted bug of the store, then the clean store.
    Mutants(cmd::mutants::MutantsArgs),
    /// Run a failure bundle again and say whether the failure reproduced (exit 0) or not (1).
    Replay(cmd::replay::ReplayArgs),
    /// Render a failure bundle's report as text, or as HTML with --html.
    Report(cmd::report::ReportArgs),
}

fn main() -> std::process::ExitCode {
    // A wrong flag is bad input (exit 3); clap's own code 2 would read as "unknown".
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return std::process::ExitCode::from(match error.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => cmd::EXIT_ERROR,
            });
        }
    };
    let result = match cli.command {
        Command::Check(args) => cmd::check::run(args),
        Command::Lazyfs(args) => cmd::lazyfs::run(args),
        Command::Model(args) => cmd::model::run(args),
        Command::Soak(args) => cmd::soak::run(args),
        Command::Mutants(args) => cmd::mutants::run(args),
        Command::Replay(args) => cmd::replay::run_replay(args),
        Command::Report(args) => cmd::report::run(args),
    };
    match result {
        Ok(code) => std::process::ExitCode::from(code),
        Err(error) => {
            eprintln!("faultline: {error:#}");
            std::process::ExitCode::from(cmd::EXIT_ERROR)
        }
    }
}
