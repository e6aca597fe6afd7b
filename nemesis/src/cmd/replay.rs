//! `faultline replay BUNDLE`: runs a failure bundle's seed, configuration and fault schedule
//! again and says whether the failure reproduced (exit 0) or not (exit 1). A `recovery` failure
//! is also replayed on the crash image its bundle keeps, which does not depend on timing.

use std::path::PathBuf;

use anyhow::Context;
use nemesis::runner::cleanup::abort_cleanup;
use nemesis::runner::interrupt;
use nemesis::runner::keep::replay;

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
    let replayed = replay(&args.bundle, &args.out, args.sut.as_deref())
        .with_context(|| format!("replaying {}", args.bundle.display()))?;
    let (index, outcome) = (&replayed.index, &replayed.outcome);
    println!(
        "replayed seed {} ({} faults) from {}; it had failed check `{}`",
        index.seed,
        index.faults.len(),
        args.bundle.display(),
        index.failing_check
    );
    if let Some(image) = &replayed.crash_image {
        println!(
            "started on its crash image {}: {}",
            image.image.display(),
            if image.reproduced() {
                "recovery failed again"
            } else {
                "recovered"
            }
        );
        for line in image.describe().lines() {
            println!("  {line}");
        }
        println!("the run, replayed:");
    }
    for check in &outcome.checks {
        println!("  {:<20} {:?}: {}", check.name, check.status, check.detail);
    }
    if let Some(bundle) = &outcome.bundle {
        println!("bundle of the replay: {}", bundle.display());
    }
    if replayed.reproduced() {
        let place = match (replayed.crash_image_reproduced(), replayed.run_reproduced()) {
            (true, true) => "on the crash image and in the replayed run",
            (true, false) => "on the crash image (not in the replayed run)",
            _ => "in the replayed run",
        };
        println!(
            "reproduced: check `{}` failed again {place}",
            index.failing_check
        );
        return Ok(0);
    }
    match &outcome.failing_check {
        Some(check) => println!(
            "not reproduced: check `{check}` failed, `{}` passed",
            index.failing_check
        ),
        None => println!("not reproduced: every check passed"),
    }
    Ok(1)
}
