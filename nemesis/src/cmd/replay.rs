//! `faultline replay BUNDLE`: runs a failure bundle's seed, configuration and fault schedule
//! again and says whether the failure reproduced (exit 0) or not (exit 1).

use std::path::PathBuf;

use anyhow::Context;
use nemesis::runner::cleanup::abort_cleanup;
use nemesis::runner::keep::replay_config;
use nemesis::runner::report::BundleIndex;
use nemesis::runner::{interrupt, run};

/// Arguments of `faultline replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The bundle directory (holding bundle.json).
    bundle: PathBuf,
    /// Where a bundle of the replayed run goes if it fails again.
    #[arg(long, value_name = "DIR", default_value = "faultline-out/replays")]
    out: PathBuf,
    /// Command line of the system under test, instead of the bundle's.
    #[arg(long, value_name = "CMD")]
    sut: Option<String>,
}

pub fn run_replay(args: ReplayArgs) -> anyhow::Result<u8> {
    interrupt::install(abort_cleanup);
    let index = BundleIndex::read(&args.bundle)?;
    let mut config = replay_config(&index);
    if let Some(sut) = args.sut {
        config.sut = sut;
    }
    println!(
        "replaying seed {} ({} faults) from {}; it failed check `{}`",
        index.seed,
        index.faults.len(),
        args.bundle.display(),
        index.failing_check
    );
    let outcome = run(&config, &args.out).context("replaying the run")?;
    for check in &outcome.checks {
        println!("  {:<20} {:?}: {}", check.name, check.status, check.detail);
    }
    match &outcome.failing_check {
        Some(check) if *check == index.failing_check => {
            println!("reproduced: check `{check}` failed again");
            if let Some(bundle) = &outcome.bundle {
                println!("bundle of the replay: {}", bundle.display());
            }
            Ok(0)
        }
        Some(check) => {
            println!(
                "not reproduced: check `{check}` failed instead of `{}`",
                index.failing_check
            );
            Ok(1)
        }
        None => {
            println!("not reproduced: every check passed");
            Ok(1)
        }
    }
}
