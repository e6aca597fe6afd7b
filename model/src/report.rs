//! The result of checking one model: figures, each property's outcome, and counterexample
//! paths printed step by step.

use std::fmt;
use std::time::Duration;

/// One step of a path: the action taken (none for the initial state) and the state it led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The action, as the model names it; `None` for the initial state.
    pub action: Option<String>,
    /// A one-line summary of the state reached.
    pub state: String,
}

/// What the checker concluded about one property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An `always` property held in every reachable state.
    Holds,
    /// An `always` property failed; the shortest path to a failing state.
    Counterexample(Vec<Step>),
    /// A `sometimes` property was reached; the shortest path to it.
    Example(Vec<Step>),
    /// A `sometimes` property was never reached although the search was complete: the model
    /// cannot do what it is supposed to be able to do.
    NeverReached,
    /// The search stopped at its bound before settling the property.
    Unknown,
}

impl Outcome {
    /// True when the outcome is what a correct protocol must show.
    pub fn is_expected(&self) -> bool {
        matches!(self, Outcome::Holds | Outcome::Example(_))
    }

    /// The path of a counterexample or example.
    pub fn path(&self) -> Option<&[Step]> {
        match self {
            Outcome::Counterexample(path) | Outcome::Example(path) => Some(path),
            _ => None,
        }
    }
}

/// A property's name and outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyReport {
    /// The property's name, as the model declares it.
    pub name: &'static str,
    /// What the checker found.
    pub outcome: Outcome,
}

/// Figures and outcomes of one check run.
#[derive(Clone, Debug)]
pub struct CheckReport {
    /// Model, variant and instance size, e.g. `lock (correct, 3 processes)`.
    pub title: String,
    /// Distinct states generated.
    pub unique_states: usize,
    /// States generated, repeats included.
    pub total_states: usize,
    /// Length of the longest shortest path explored.
    pub max_depth: usize,
    /// Wall-clock time of the search.
    pub elapsed: Duration,
    /// False when the search stopped at its bound (some outcomes are then `Unknown`).
    pub complete: bool,
    /// One entry per property, in the model's order.
    pub properties: Vec<PropertyReport>,
}

impl CheckReport {
    /// True when every property has its expected outcome.
    pub fn all_expected(&self) -> bool {
        self.properties.iter().all(|p| p.outcome.is_expected())
    }

    /// The outcome of the property called `name`.
    pub fn outcome(&self, name: &str) -> Option<&Outcome> {
        self.properties
            .iter()
            .find(|p| p.name == name)
            .map(|p| &p.outcome)
    }

    /// The actions of the counterexample found for the property called `name`, if one was.
    pub fn counterexample_actions(&self, name: &str) -> Option<Vec<String>> {
        match self.outcome(name) {
            Some(Outcome::Counterexample(path)) => {
                Some(path.iter().filter_map(|step| step.action.clone()).collect())
            }
            _ => None,
        }
    }

    /// Unique states explored per second of search.
    pub fn states_per_second(&self) -> f64 {
        self.unique_states as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "model {}", self.title)?;
        writeln!(
            f,
            "  unique states {}, total states {}, max depth {}, time {:.3} s, {:.0} states/s{}",
            self.unique_states,
            self.total_states,
            self.max_depth,
            self.elapsed.as_secs_f64(),
            self.states_per_second(),
            if self.complete {
                ""
            } else {
                " (bound reached: search incomplete)"
            }
        )?;
        let width = self
            .properties
            .iter()
            .map(|p| p.name.len())
            .max()
            .unwrap_or(0);
        for property in &self.properties {
            let verdict = match &property.outcome {
                Outcome::Holds => "holds".to_string(),
                Outcome::Counterexample(path) => {
                    format!("FAILS (counterexample, {} steps)", path.len() - 1)
                }
                Outcome::Example(path) => format!("reached ({} steps)", path.len() - 1),
                Outcome::NeverReached => "FAILS (never reached)".to_string(),
                Outcome::Unknown => "UNKNOWN (search bound reached)".to_string(),
            };
            writeln!(f, "  {:<width$}  {verdict}", property.name)?;
        }
        for property in &self.properties {
            if let Outcome::Counterexample(path) = &property.outcome {
                writeln!(f, "counterexample to \"{}\":", property.name)?;
                write_path(f, path)?;
            }
        }
        Ok(())
    }
}

fn write_path(f: &mut fmt::Formatter<'_>, path: &[Step]) -> fmt::Result {
    for (index, step) in path.iter().enumerate() {
        match &step.action {
            None => writeln!(f, "  {index:>3}. initial state")?,
            Some(action) => writeln!(f, "  {index:>3}. {action}")?,
        }
        writeln!(f, "       {}", step.state)?;
    }
    Ok(())
}

/// The counterexample's actions for property `name`; panics with the report if there is none.
#[cfg(test)]
pub(crate) fn expect_counterexample(report: &CheckReport, name: &str) -> Vec<String> {
    report.counterexample_actions(name).unwrap_or_else(|| {
        panic!(
            "expected a counterexample to {name}, got {:?}\n{report}",
            report.outcome(name)
        )
    })
}
