//! `faultline check`: read a history, check it for linearizability, print the verdict.
//!
//! Exit codes: 0 linearizable, 1 violation, 2 unknown (a bound ran out), 3 bad input.
//!
//! Given a failure bundle (a directory written by `faultline soak`), it re-runs every check of
//! the run on the recorded history without running anything, and exits 1 if one fails.

use anyhow::Context;
use history::report::{html, text, ReportInput};
use history::{CheckOptions, History, ModelKind, Value, Verdict};
use nemesis::runner::checks::{per_key_history, CheckStatus};
use nemesis::runner::model::StoreModel;
use std::path::{Path, PathBuf};
use std::time::Duration;

const EXIT_OK: u8 = 0;
const EXIT_VIOLATION: u8 = 1;
const EXIT_UNKNOWN: u8 = 2;
const EXIT_BAD_INPUT: u8 = super::EXIT_ERROR;

/// Arguments of `faultline check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The history file, or a failure bundle directory.
    file: PathBuf,
    /// The model: register, cas-register, txn, kv, list-append, versioned, mutex, or store
    /// (the line protocol of store/SERVE.md, as `faultline soak` records it).
    #[arg(long, default_value = "cas-register")]
    model: String,
    /// jsonl, edn or etcd-log (default: from the file's extension, .edn / .log / else jsonl).
    #[arg(long)]
    format: Option<String>,
    /// The initial value (JSON: 0, "x", null) for register, cas-register, kv and txn.
    #[arg(long)]
    init: Option<String>,
    /// Also write a self-contained HTML report here.
    #[arg(long)]
    html: Option<PathBuf>,
    /// Give up after this many seconds (verdict unknown, exit 2).
    #[arg(long)]
    timeout: Option<f64>,
    /// Give up when the search caches exceed this many MiB (verdict unknown, exit 2).
    #[arg(long, default_value_t = 1024)]
    memory_budget_mib: usize,
}

/// Input that cannot be checked: reported with the file, line and what was expected.
struct BadInput(String);

fn bad<T>(message: impl Into<String>) -> Result<T, BadInput> {
    Err(BadInput(message.into()))
}

fn read_history(path: &Path, format: &str, keyed: bool) -> Result<History, BadInput> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .or_else(|error| bad(format!("{shown}: cannot read: {error}")))?;
    let parsed = match format {
        "jsonl" => history::read_jsonl(text.as_bytes()).map_err(|error| error.to_string()),
        "edn" => history::import::read_edn(&text, keyed).map_err(|error| error.to_string()),
        "etcd-log" => {
            history::import::read_etcd_log(&text, keyed).map_err(|error| error.to_string())
        }
        other => {
            return bad(format!(
                "--format: expected jsonl, edn or etcd-log, found `{other}`"
            ))
        }
    };
    parsed.or_else(|error| bad(format!("{shown}: {error}")))
}

fn format_of(args: &CheckArgs) -> String {
    args.format.clone().unwrap_or_else(|| {
        match args
            .file
            .extension()
            .and_then(|extension| extension.to_str())
        {
            Some("edn") => "edn".to_string(),
            Some("log") => "etcd-log".to_string(),
            _ => "jsonl".to_string(),
        }
    })
}

fn options_of(args: &CheckArgs) -> Result<CheckOptions, BadInput> {
    let timeout = match args.timeout {
        None => None,
        Some(seconds) if seconds.is_finite() && seconds >= 0.0 => {
            Some(Duration::from_secs_f64(seconds))
        }
        Some(other) => return bad(format!("--timeout: expected seconds >= 0, found {other}")),
    };
    let memory_budget_bytes = args.memory_budget_mib.saturating_mul(1 << 20);
    Ok(CheckOptions {
        timeout,
        memory_budget_bytes,
        ..CheckOptions::default()
    })
}

pub fn run(args: CheckArgs) -> anyhow::Result<u8> {
    if args.file.is_dir() {
        return check_bundle(&args.file);
    }
    let checked = match check(&args) {
        Ok(checked) => checked,
        Err(BadInput(message)) => {
            eprintln!("faultline check: bad input: {message}");
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let (history, result, model) = checked;
    let source = args.file.display().to_string();
    let input = ReportInput {
        source: &source,
        model,
        history: &history,
        result: &result,
    };
    print!("{}", text(&input));
    println!(
        "checked {} operation(s) in {} ms",
        result.operations_checked,
        result.elapsed.as_millis()
    );
    if let Some(path) = &args.html {
        std::fs::write(path, html(&input))
            .with_context(|| format!("writing the HTML report {}", path.display()))?;
        println!("HTML report: {}", path.display());
    }
    Ok(match result.verdict {
        Verdict::Ok => EXIT_OK,
        Verdict::Violation(_) => EXIT_VIOLATION,
        Verdict::Unknown(_) => EXIT_UNKNOWN,
    })
}

/// Re-checks a bundle's recorded history with every check of the run.
fn check_bundle(bundle: &Path) -> anyhow::Result<u8> {
    let checked = match nemesis::runner::keep::check_bundle(bundle) {
        Ok(checked) => checked,
        Err(error) => {
            eprintln!("faultline check: bad input: {error}");
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let mut failed = false;
    let mut unknown = false;
    for record in &checked.records {
        println!(
            "{:<22} {:<8} {}",
            record.name,
            format!("{:?}", record.status),
            record.detail
        );
        failed |= record.status == CheckStatus::Failed;
        unknown |= record.status == CheckStatus::Unknown;
    }
    let source = bundle.display().to_string();
    let input = ReportInput {
        source: &source,
        model: STORE_MODEL,
        history: &checked.history,
        result: &checked.linearizability,
    };
    print!("{}", text(&input));
    Ok(if failed {
        EXIT_VIOLATION
    } else if unknown {
        EXIT_UNKNOWN
    } else {
        EXIT_OK
    })
}

/// The name of the store protocol's model, which lives in the runner.
const STORE_MODEL: &str = "store";

/// A history of the store's line protocol, checked with the runner's store model as a run's
/// checks do: each `batch` split into its per-key operations first.
fn check_store_history(args: &CheckArgs) -> Result<(History, history::CheckResult), BadInput> {
    if args.init.is_some() {
        return bad("--init: the store model has no initial value");
    }
    let options = options_of(args)?;
    let history = per_key_history(&read_history(&args.file, &format_of(args), true)?);
    let result = history::check(&StoreModel, &history, &options)
        .or_else(|error| bad(format!("{}: {error}", args.file.display())))?;
    Ok((history, result))
}

type Checked = (History, history::CheckResult, &'static str);

fn check(args: &CheckArgs) -> Result<Checked, BadInput> {
    if args.model == STORE_MODEL {
        let (history, result) = check_store_history(args)?;
        return Ok((history, result, STORE_MODEL));
    }
    let Some(kind) = ModelKind::from_name(&args.model) else {
        let mut names: Vec<&str> = ModelKind::ALL.iter().map(|kind| kind.name()).collect();
        names.push(STORE_MODEL);
        return bad(format!(
            "--model: expected one of {}, found `{}`",
            names.join(", "),
            args.model
        ));
    };
    let init = match &args.init {
        None => Value::Nil,
        Some(_) if !kind.takes_init() => {
            return bad(format!(
                "--init: the {} model has no initial value",
                kind.name()
            ))
        }
        Some(text) => Value::parse_json(text).or_else(|error| {
            bad(format!(
                "--init: expected a JSON value (0, \"x\", null): {error}"
            ))
        })?,
    };
    let options = options_of(args)?;
    let history = read_history(&args.file, &format_of(args), kind.keyed())?;
    let result = kind
        .check(init, &history, &options)
        .or_else(|error| bad(format!("{}: {error}", args.file.display())))?;
    Ok((history, result, kind.name()))
}
