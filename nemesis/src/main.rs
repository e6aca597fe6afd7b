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
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => cmd::check::run(args),
        Command::Lazyfs(args) => cmd::lazyfs::run(args),
        Command::Model(args) => cmd::model::run(args),
    };
    match result {
        Ok(code) => std::process::ExitCode::from(code),
        Err(error) => {
            eprintln!("faultline: {error:#}");
            std::process::ExitCode::from(cmd::EXIT_ERROR)
        }
    }
}
