//! Keeping a failure: the bundle of a failed run, written and fsynced before the run cleans up.

use std::path::{Path, PathBuf};

use super::bundle::{BundleWriter, BUNDLE_INDEX};
use super::checks::CheckStatus;
use super::checks::{run_checks, CheckInputs, Checked};
use super::config::RunConfig;
use super::crash_image::{replay_crash_image, CrashImageReplay, CRASH_IMAGE_DIR};
use super::error::RunError;
use super::nemesis::NemesisReport;
use super::promises::Promises;
use super::report::{render_html, render_text, BundleIndex, BUNDLE_FORMAT};
use super::run::RunOutcome;
use crate::lazyfs::MountedLazyFs;
use history::report::ReportInput;

/// The faultline version written into every bundle.
pub const FAULTLINE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Files copied from the run's work directory when present: name, what it holds.
const RUN_FILES: [(&str, &str); 5] = [
    (
        "history.jsonl",
        "the history: every invocation, completion and fault",
    ),
    (
        "trace.jsonl",
        "lazy filesystem operation trace since the last power cut",
    ),
    (
        "trace.previous.jsonl",
        "lazy filesystem operation trace up to the last power cut",
    ),
    (
        "fault-log.jsonl",
        "lazy filesystem fault log (faults fired, power cuts)",
    ),
    ("sut-0.log", "stderr of the system under test, slot 0"),
];

/// Everything a failed run leaves for its bundle.
#[derive(Debug)]
pub struct FailedRun<'a> {
    /// The run's configuration.
    pub config: &'a RunConfig,
    /// What the system under test promised.
    pub promises: &'a Promises,
    /// What the nemesis did.
    pub nemesis: &'a NemesisReport,
    /// How the run ended.
    pub outcome: &'a RunOutcome,
    /// What the checks found.
    pub checked: &'a Checked,
    /// When the final reads started (ns on the run's clock).
    pub final_reads_ns: u64,
    /// The run's work directory (history, traces, images).
    pub work: &'a Path,
    /// The lazy filesystem, when the run used one.
    pub mount: Option<&'a MountedLazyFs>,
}

/// Writes the bundle of a failed run under `out` and returns its path.
pub fn write_bundle(run: &FailedRun<'_>, out: &Path) -> Result<PathBuf, RunError> {
    let FailedRun {
        config,
        promises,
        nemesis: report,
        outcome,
        work,
        mount,
        ..
    } = *run;
    let failing_check = outcome.failing_check.clone().unwrap_or_default();
    let name = format!("seed-{}-{failing_check}", config.seed);
    let writer = BundleWriter::create(out, &name)?;
    let mut files = Vec::new();
    if let Some(mount) = mount {
        mount.stop_trace();
    }
    for (file, what) in RUN_FILES {
        let source = work.join(file);
        if let Ok(bytes) = std::fs::read(&source) {
            writer.write_file(file, &bytes)?;
            files.push((file.to_owned(), what.to_owned()));
        }
    }
    for slot in 1..config.processes {
        let file = format!("sut-{slot}.log");
        if let Ok(bytes) = std::fs::read(work.join(&file)) {
            writer.write_file(&file, &bytes)?;
            files.push((
                file,
                format!("stderr of the system under test, slot {slot}"),
            ));
        }
    }
    for (dir, what) in [
        (
            "image-before",
            "the store directory's durable image just before the last crash",
        ),
        (
            CRASH_IMAGE_DIR,
            "the store directory as the restarted processes found it after the last crash of \
             every process (replay starts the system under test on it)",
        ),
        ("image-after", "the store directory at the end of the run"),
    ] {
        if work.join(dir).is_dir() {
            writer.copy_tree(&work.join(dir), dir)?;
            files.push((format!("{dir}/"), what.to_owned()));
        }
    }
    let input = ReportInput {
        source: "history.jsonl",
        model: "store (per key; batches split)",
        history: &run.checked.history,
        result: &run.checked.linearizability,
    };
    writer.write_file(
        "linearizability.txt",
        history::report::text(&input).as_bytes(),
    )?;
    writer.write_file(
        "linearizability.html",
        history::report::html(&input).as_bytes(),
    )?;
    files.push((
        "linearizability.txt".into(),
        "the linearizability checker's report".into(),
    ));
    files.push((
        "linearizability.html".into(),
        "the same, with the history drawn".into(),
    ));
    files.push(("report.txt".into(), "this report as text".into()));
    files.push(("report.html".into(), "this report as a web page".into()));
    let index = BundleIndex {
        bundle_format: BUNDLE_FORMAT,
        faultline_version: FAULTLINE_VERSION.to_owned(),
        seed: config.seed,
        failing_check,
        config: RunConfig {
            planned_faults: None,
            ..config.clone()
        },
        promises: promises.to_string(),
        checks: outcome.checks.clone(),
        faults: report.faults.clone(),
        operations: outcome.operations,
        crashes: outcome.crashes,
        final_reads_ns: run.final_reads_ns,
        detect_only: report.detect_only,
        files,
    };
    writer.write_file("report.txt", render_text(&index).as_bytes())?;
    writer.write_file("report.html", render_html(&index).as_bytes())?;
    let json =
        serde_json::to_vec_pretty(&index).map_err(|error| RunError::Config(error.to_string()))?;
    writer.write_file(BUNDLE_INDEX, &json)?;
    Ok(writer.finish()?)
}

/// The configuration that replays the bundle: its config, with its faults as the plan.
pub fn replay_config(index: &BundleIndex) -> RunConfig {
    RunConfig {
        planned_faults: Some(index.faults.clone()),
        ..index.config.clone()
    }
}

/// What replaying a bundle found.
#[derive(Debug, Clone)]
pub struct Replay {
    /// The bundle's index.
    pub index: BundleIndex,
    /// For a bundle that failed `recovery` and keeps its crash image: the system under test
    /// started on a copy of that image.
    pub crash_image: Option<CrashImageReplay>,
    /// The replayed run.
    pub outcome: RunOutcome,
}

impl Replay {
    /// Whether the check that failed the bundle's run failed again: in the replayed run (whose
    /// verdict may name an earlier check first) or, for `recovery`, on the crash image.
    pub fn reproduced(&self) -> bool {
        self.crash_image_reproduced() || self.run_reproduced()
    }

    /// Whether the system under test failed to recover from the bundle's crash image again.
    pub fn crash_image_reproduced(&self) -> bool {
        self.crash_image
            .as_ref()
            .is_some_and(CrashImageReplay::reproduced)
    }

    /// Whether the replayed run failed the bundle's check again.
    pub fn run_reproduced(&self) -> bool {
        self.outcome.checks.iter().any(|check| {
            check.name == self.index.failing_check && check.status == CheckStatus::Failed
        })
    }
}

/// Runs the bundle at `bundle` again (same seed, configuration and faults at the same times);
/// a replay that fails again keeps its own bundle under `out`. `sut` replaces the command line.
/// A bundle that failed `recovery` with a crash image is first replayed on that image
/// ([`replay_crash_image`]), which does not depend on timing; the run is replayed as well.
pub fn replay(bundle: &Path, out: &Path, sut: Option<&str>) -> Result<Replay, RunError> {
    replay_with(bundle, out, |config| {
        if let Some(sut) = sut {
            config.sut = sut.to_owned();
        }
    })
}

/// [`replay`] with the bundle's configuration changed by `adjust` first (another command line,
/// no mutant).
pub fn replay_with(
    bundle: &Path,
    out: &Path,
    adjust: impl FnOnce(&mut RunConfig),
) -> Result<Replay, RunError> {
    let index = BundleIndex::read(bundle)?;
    let mut config = replay_config(&index);
    adjust(&mut config);
    let crash_image = if index.failing_check == "recovery" {
        replay_crash_image(bundle, &config)?
    } else {
        None
    };
    let outcome = super::run::run(&config, out)?;
    Ok(Replay {
        index,
        crash_image,
        outcome,
    })
}

/// Re-checks the history a bundle recorded, without running anything: what `faultline check
/// BUNDLE` does. `recovery` and `verify` are carried over from the bundle (they were observed,
/// not recorded in the history); the other checks run again on `history.jsonl`.
pub fn check_bundle(bundle: &Path) -> Result<Checked, RunError> {
    let index = BundleIndex::read(bundle)?;
    let recorded = |name: &str| index.checks.iter().find(|check| check.name == name);
    let recovery_failure = recorded("recovery")
        .filter(|check| check.status == CheckStatus::Failed)
        .map(|check| check.detail.clone());
    let verify_problems = match recorded("verify") {
        Some(check) if check.status == CheckStatus::Passed => Some(Vec::new()),
        Some(check) if check.status == CheckStatus::Unknown => None,
        Some(check) => Some(vec![check.detail.clone()]),
        None => None,
    };
    let inputs = CheckInputs {
        recovery_failure,
        verify_problems,
        detect_only: index.detect_only,
        final_reads_ns: index.final_reads_ns,
        check_timeout: std::time::Duration::from_millis(index.config.check_timeout_ms),
    };
    run_checks(&bundle.join("history.jsonl"), &inputs)
}
