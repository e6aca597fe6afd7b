//! How the benchmark times a check, the same way for faultline and for Porcupine: a check is
//! run at least [`RUNS_MIN`] times (unless one run takes [`REPEAT_FOR`] or more) and, while
//! all runs together took less than [`REPEAT_FOR`], up to [`RUNS_MAX`] times, in one process
//! (faultline's in the benchmark's, Porcupine's inside one driver process, which is given the
//! same rule as flags). Both the fastest and the median run are kept, so that one descheduling
//! on a shared machine does not decide a ratio either way.

use std::time::Duration;

/// Fewest runs of a short check.
pub const RUNS_MIN: usize = 3;
/// Most runs of a short check.
pub const RUNS_MAX: usize = 20;
/// A check is repeated while all its runs together took less than this.
pub const REPEAT_FOR: Duration = Duration::from_secs(1);

/// Whether to run a check again after `runs` that took `total`, the last one `last`.
pub fn again(runs: usize, total: Duration, last: Duration) -> bool {
    last < REPEAT_FOR && runs < RUNS_MAX && (runs < RUNS_MIN || total < REPEAT_FOR)
}

/// The times of a check's runs.
#[derive(Clone, Debug)]
pub struct Timing {
    /// Each run's time, in run order (at least one).
    runs: Vec<Duration>,
}

impl Timing {
    /// The runs' times; `None` if there are none.
    pub fn new(runs: Vec<Duration>) -> Option<Timing> {
        (!runs.is_empty()).then_some(Timing { runs })
    }

    /// The fastest run.
    pub fn fastest(&self) -> Duration {
        *self.runs.iter().min().expect("at least one run")
    }

    /// The median run (the faster of the two middle ones for an even count).
    pub fn median(&self) -> Duration {
        let mut sorted = self.runs.clone();
        sorted.sort_unstable();
        sorted[(sorted.len() - 1) / 2]
    }
}

/// A description of the rule for the benchmark's header.
pub fn describe() -> String {
    format!(
        "timing: each check runs {RUNS_MIN} to {RUNS_MAX} times in one process (faultline: this one; Porcupine: one driver process, heap collected between runs, untimed), more while all runs took under {} ms, once if one run takes that long; ratio = Porcupine's fastest / ours fastest, ratio_med = medians",
        REPEAT_FOR.as_millis()
    )
}
