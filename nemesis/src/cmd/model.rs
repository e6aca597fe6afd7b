//! `faultline model`: list, check and explore the stateright models of the store's protocols.

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use model::{CheckOptions, Variant};
use std::io::Write;
use std::net::SocketAddr;

/// Arguments of `faultline model`.
#[derive(Debug, clap::Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    command: ModelCommand,
}

#[derive(Debug, Subcommand)]
enum ModelCommand {
    /// List the models with their default instance sizes.
    List,
    /// Check every interleaving and crash point of a small instance (breadth-first, so every
    /// counterexample printed is a shortest one). Exits 0 when every property has its expected
    /// outcome, 1 when one fails.
    Check {
        /// Model name (see `faultline model list`), or `all` for every model.
        name: String,
        /// The protocol as designed, or with its planted bug.
        #[arg(long, value_enum, default_value_t = VariantArg::Correct)]
        variant: VariantArg,
        /// Instance size (what it counts depends on the model; see `list`).
        #[arg(long)]
        processes: Option<u8>,
        /// Give up after generating about this many states (the result is then `unknown`).
        #[arg(long, default_value_t = CheckOptions::default().max_states)]
        max_states: usize,
    },
    /// Serve stateright's Explorer for a model on localhost, to step through it in a browser.
    Explore {
        /// Model name (see `faultline model list`).
        name: String,
        /// The protocol as designed, or with its planted bug.
        #[arg(long, value_enum, default_value_t = VariantArg::Correct)]
        variant: VariantArg,
        /// Instance size (what it counts depends on the model; see `list`).
        #[arg(long)]
        processes: Option<u8>,
        /// Loopback address to serve on.
        #[arg(long, default_value = "127.0.0.1:3000")]
        addr: SocketAddr,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum VariantArg {
    Correct,
    Buggy,
}

impl From<VariantArg> for Variant {
    fn from(arg: VariantArg) -> Variant {
        match arg {
            VariantArg::Correct => Variant::Correct,
            VariantArg::Buggy => Variant::Buggy,
        }
    }
}

/// Exit code when a property fails (or a `sometimes` property is never reached).
const EXIT_PROPERTY_FAILED: u8 = 1;

/// Exit code when the search bound was reached before every property was settled.
const EXIT_UNKNOWN: u8 = 2;

/// 0 when every property has its expected outcome, 1 when one fails, 2 when the search bound
/// left some unsettled.
fn exit_code_of(report: &model::CheckReport) -> u8 {
    let failed = report
        .properties
        .iter()
        .any(|p| !p.outcome.is_expected() && !matches!(p.outcome, model::Outcome::Unknown));
    if report.all_expected() {
        0
    } else if failed {
        EXIT_PROPERTY_FAILED
    } else {
        EXIT_UNKNOWN
    }
}

/// Writes `text` to stdout; a closed pipe (`faultline model check x | head`) is not an error.
fn emit(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(error).context("writing to stdout")
        }
        _ => Ok(()),
    }
}

pub fn run(args: ModelArgs) -> anyhow::Result<u8> {
    match args.command {
        ModelCommand::List => {
            let mut text = format!(
                "{:<8} {:<8} {:<30} summary\n",
                "model", "default", "--processes counts"
            );
            for info in model::MODELS {
                let (min, max) = info.processes_range;
                let counts = format!("{} ({min}-{max})", info.processes_meaning);
                text.push_str(&format!(
                    "{:<8} {:<8} {counts:<30} {}\n",
                    info.name, info.default_processes, info.summary
                ));
            }
            emit(&text)?;
            Ok(0)
        }
        ModelCommand::Check {
            name,
            variant,
            processes,
            max_states,
        } => {
            let options = CheckOptions { max_states };
            let names: Vec<&str> = if name == "all" {
                model::MODELS.iter().map(|info| info.name).collect()
            } else {
                vec![name.as_str()]
            };
            if name == "all" && processes.is_some() {
                anyhow::bail!("--processes applies to one model, not to `all`");
            }
            let mut exit_codes = Vec::new();
            for name in names {
                let report = model::check(name, variant.into(), processes, options)
                    .with_context(|| format!("checking model `{name}`"))?;
                emit(&report.to_string())?;
                exit_codes.push(exit_code_of(&report));
            }
            // A failed property outranks a search left unfinished.
            Ok([EXIT_PROPERTY_FAILED, EXIT_UNKNOWN]
                .into_iter()
                .find(|code| exit_codes.contains(code))
                .unwrap_or(0))
        }
        ModelCommand::Explore {
            name,
            variant,
            processes,
            addr,
        } => {
            emit(&format!(
                "serving the Explorer for model `{name}` on http://{addr}/ (Ctrl-C stops)\n"
            ))?;
            model::explore(&name, variant.into(), processes, addr)
                .with_context(|| format!("exploring model `{name}`"))?;
            Ok(0)
        }
    }
}
