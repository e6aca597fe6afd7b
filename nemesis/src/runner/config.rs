//! The configuration of one run, exactly as a bundle keeps it: what replay needs to run it again.

use serde::{Deserialize, Serialize};

use super::schedule::{FaultKind, FaultWeights};
use super::workload::WorkloadMix;

/// The default command line of the system under test; `{dir}` is replaced by the data directory.
pub const DEFAULT_SUT: &str = "store serve --dir {dir}";

/// Everything that decides what a run does. Serialised into `bundle.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Seeds the workload, the fault schedule and the power cuts.
    pub seed: u64,
    /// Command line of one process of the system under test; `{dir}` is the data directory.
    pub sut: String,
    /// Environment variables set for every process of the system under test (besides the
    /// inherited ones), in order.
    #[serde(default)]
    pub sut_env: Vec<(String, String)>,
    /// The planted bug the system under test must run with: passed to it as
    /// `FAULTLINE_MUTANT=NAME`, and its `hello` must answer `"mutant": NAME` (else the run is a
    /// setup error). `None` runs the system as built.
    #[serde(default)]
    pub mutant: Option<String>,
    /// Processes of the system under test sharing the data directory.
    pub processes: usize,
    /// Concurrent clients; client `i` talks to process `i % processes`.
    pub clients: usize,
    /// Keys in the hot key set.
    pub keys: usize,
    /// How long clients run, in milliseconds.
    pub run_ms: u64,
    /// Fault kinds the nemesis may pick (further restricted to those the SUT promises).
    pub faults: Vec<FaultKind>,
    /// Weights of the fault kinds.
    pub weights: FaultWeights,
    /// The operation mix of the clients.
    pub mix: WorkloadMix,
    /// Promises given on the command line (`kill=survive,...`); `None` asks `hello`.
    pub promises: Option<String>,
    /// Shortest pause between two faults, in milliseconds.
    pub fault_interval_min_ms: u64,
    /// Longest pause between two faults, in milliseconds.
    pub fault_interval_max_ms: u64,
    /// A restarted process must answer its first request within this bound.
    pub recovery_timeout_ms: u64,
    /// A request unanswered this long completes as `info`.
    pub op_timeout_ms: u64,
    /// Path pattern (relative to the mount point) the filesystem faults aim at.
    pub fault_pattern: String,
    /// Upper bound on the linearizability check's time, in milliseconds.
    pub check_timeout_ms: u64,
    /// Faults the system under test only promises to detect are drawn in one run of every
    /// `detect_every` (seed modulo); 0 never draws them.
    pub detect_every: u64,
    /// Faults to apply instead of drawing from the schedule (replay); `None` draws.
    pub planned_faults: Option<Vec<FaultRecord>>,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            seed: 0,
            sut: DEFAULT_SUT.to_owned(),
            sut_env: Vec::new(),
            mutant: None,
            processes: 2,
            clients: 4,
            keys: 6,
            run_ms: 3_000,
            faults: FaultKind::ALL.to_vec(),
            weights: FaultWeights::default(),
            mix: WorkloadMix::default(),
            promises: None,
            fault_interval_min_ms: 30,
            fault_interval_max_ms: 200,
            recovery_timeout_ms: 10_000,
            op_timeout_ms: 3_000,
            fault_pattern: "store/**".to_owned(),
            check_timeout_ms: 60_000,
            detect_every: 4,
            planned_faults: None,
        }
    }
}

impl RunConfig {
    /// The command line of the system under test for data directory `dir`.
    pub fn sut_command(&self, dir: &std::path::Path) -> String {
        self.sut
            .replace("{dir}", &shell_quote(&dir.to_string_lossy()))
    }

    /// The environment of every process of the system under test: [`RunConfig::sut_env`],
    /// then the mutant's variable when one is asked for.
    pub fn sut_environment(&self) -> Vec<(String, String)> {
        let mut env = self.sut_env.clone();
        if let Some(mutant) = &self.mutant {
            env.push((store::mutant::ENV_VAR.to_owned(), mutant.clone()));
        }
        env
    }

    /// Whether any enabled fault needs the lazy filesystem.
    pub fn needs_lazyfs(&self) -> bool {
        self.faults.iter().any(|kind| kind.needs_lazyfs())
    }
}

/// One fault as it happened: when (ms after the run started), what, on which process, and the
/// power cut's or stall's seed. Replay applies the same list at the same times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRecord {
    /// Milliseconds after the run started.
    pub at_ms: u64,
    /// The action.
    pub kind: FaultKind,
    /// The process slot it hit, for actions on one process.
    pub target: Option<usize>,
    /// The seed of a power cut's crash state and aim, or of a stall's aim (a pause recorded
    /// with a seed is a stall; one without, a plain pause).
    pub crash_seed: Option<u64>,
    /// What happened (recovery time, crash report, why it was skipped).
    pub detail: String,
}

/// Quotes `text` for `sh` with single quotes.
pub fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:=".contains(c))
    {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Parses a fault list such as `kill_one,power_cut` (or `all`).
pub fn parse_faults(text: &str) -> Result<Vec<FaultKind>, String> {
    if text.trim() == "all" {
        return Ok(FaultKind::ALL.to_vec());
    }
    let mut kinds = Vec::new();
    for name in text
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        let kind = FaultKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = FaultKind::ALL.iter().map(|kind| kind.name()).collect();
                format!(
                    "unknown fault {name:?}; expected `all` or some of {}",
                    known.join(", ")
                )
            })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_directory_is_quoted_into_the_command() {
        let config = RunConfig::default();
        let command = config.sut_command(std::path::Path::new("/tmp/a b"));
        assert_eq!(command, "store serve --dir '/tmp/a b'");
    }

    #[test]
    fn fault_lists_parse_and_bad_names_are_named() {
        assert_eq!(
            parse_faults("kill_one, power_cut").unwrap(),
            vec![FaultKind::KillOne, FaultKind::PowerCut]
        );
        assert_eq!(parse_faults("all").unwrap().len(), FaultKind::ALL.len());
        let error = parse_faults("kill_one,meteor").unwrap_err();
        assert!(error.contains("\"meteor\""), "{error}");
    }

    #[test]
    fn the_mutant_is_passed_in_the_environment_after_the_configured_variables() {
        let config = RunConfig {
            sut_env: vec![("RUST_LOG".into(), "debug".into())],
            mutant: Some("no-fencing".into()),
            ..RunConfig::default()
        };
        assert_eq!(
            config.sut_environment(),
            vec![
                ("RUST_LOG".to_owned(), "debug".to_owned()),
                ("FAULTLINE_MUTANT".to_owned(), "no-fencing".to_owned()),
            ]
        );
        assert!(RunConfig::default().sut_environment().is_empty());
    }

    #[test]
    fn a_config_without_environment_or_mutant_still_reads() {
        let mut json = serde_json::to_value(RunConfig::default()).unwrap();
        let object = json.as_object_mut().unwrap();
        object.remove("sut_env");
        object.remove("mutant");
        let config: RunConfig = serde_json::from_value(json).unwrap();
        assert_eq!(config, RunConfig::default());
    }

    #[test]
    fn a_config_round_trips_through_json() {
        let config = RunConfig {
            sut_env: vec![("A".into(), "b c".into())],
            mutant: Some("blob-in-place".into()),
            planned_faults: Some(vec![FaultRecord {
                at_ms: 5,
                kind: FaultKind::PowerCut,
                target: None,
                crash_seed: Some(9),
                detail: String::new(),
            }]),
            ..RunConfig::default()
        };
        let text = serde_json::to_string(&config).unwrap();
        assert_eq!(serde_json::from_str::<RunConfig>(&text).unwrap(), config);
    }
}
