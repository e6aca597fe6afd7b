//! Running a model through stateright's BFS checker and turning the outcome into a
//! [`CheckReport`].
//!
//! stateright 0.31.0 keeps re-recording a property's discovery after the first one while other
//! properties are still open: every later state that violates an `always` property (or
//! satisfies a `sometimes` one) overwrites the stored path, so BFS returns the *last* violation
//! met, not the shortest (0.30 skipped properties already discovered). Checking one property at
//! a time avoids it, at the cost of one search per property. [`Latched`] gets the same result in
//! one search: it wraps a model so that each property reports its first discovery only; with a
//! single-threaded BFS the first discovery is at the smallest depth, so every printed path is a
//! shortest one. The tests below show both the overwrite and the two ways around it.

use crate::report::{CheckReport, Outcome, PropertyReport, Step};
use crate::Variant;
use stateright::{Checker, Expectation, Model, Property};
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// What every faultline model adds to stateright's [`Model`]: how to build an instance of a
/// given variant and size, and a one-line summary of a state, printed after each step of a
/// counterexample.
pub trait ProtocolModel: Model {
    /// The model's instance for `variant` and size `size` (what the size counts is the
    /// model's `ModelInfo::processes_meaning`).
    fn instance(variant: Variant, size: u8) -> Self;

    /// The parts of `state` a reader of a counterexample needs, on one line.
    fn summarize(&self, state: &Self::State) -> String;
}

/// True when some step other than an injected fault is possible from `state`. The models
/// state liveness as "no reachable state has unfinished work and only faults left to do": a
/// process that can only crash or pause is blocked forever. For the bounded, acyclic state
/// spaces of these models this is the same as "every fault-free continuation finishes", and,
/// unlike stateright 0.31's `eventually`, it has no false negatives at joins of the state graph
/// and keeps its shortest counterexample.
pub(crate) fn can_progress<M: Model>(
    model: &M,
    state: &M::State,
    is_fault: fn(&M::Action) -> bool,
) -> bool {
    let mut actions = Vec::new();
    model.actions(state, &mut actions);
    actions
        .into_iter()
        .filter(|action| !is_fault(action))
        .any(|action| model.next_state(state, action).is_some())
}

/// The most properties one model may declare (one latch function per slot).
const MAX_PROPERTIES: usize = 8;

/// A model whose properties record only their first discovery (see the module doc).
pub(crate) struct Latched<M: Model> {
    inner: M,
    properties: Vec<Property<M>>,
    latches: Vec<AtomicBool>,
}

impl<M: Model> Latched<M> {
    pub(crate) fn new(inner: M) -> Self {
        let properties = inner.properties();
        assert!(
            properties.len() <= MAX_PROPERTIES,
            "a model declares at most {MAX_PROPERTIES} properties"
        );
        let latches = properties.iter().map(|_| AtomicBool::new(false)).collect();
        Latched {
            inner,
            properties,
            latches,
        }
    }
}

fn latched_condition<M: Model, const I: usize>(model: &Latched<M>, state: &M::State) -> bool {
    let property = &model.properties[I];
    let latch = &model.latches[I];
    let holds = (property.condition)(&model.inner, state);
    let is_discovery = match property.expectation {
        Expectation::Always => !holds,
        Expectation::Sometimes => holds,
        Expectation::Eventually => return holds,
    };
    if latch.load(Ordering::Relaxed) {
        // Already discovered: answer "nothing new here" so the first path is kept.
        return property.expectation == Expectation::Always;
    }
    if is_discovery {
        latch.store(true, Ordering::Relaxed);
    }
    holds
}

type Condition<M> = fn(&Latched<M>, &<M as Model>::State) -> bool;

fn latched_condition_at<M: Model>(index: usize) -> Condition<M> {
    match index {
        0 => latched_condition::<M, 0>,
        1 => latched_condition::<M, 1>,
        2 => latched_condition::<M, 2>,
        3 => latched_condition::<M, 3>,
        4 => latched_condition::<M, 4>,
        5 => latched_condition::<M, 5>,
        6 => latched_condition::<M, 6>,
        _ => latched_condition::<M, 7>,
    }
}

impl<M: Model> Model for Latched<M> {
    type State = M::State;
    type Action = M::Action;

    fn init_states(&self) -> Vec<Self::State> {
        self.inner.init_states()
    }

    fn actions(&self, state: &Self::State, actions: &mut Vec<Self::Action>) {
        self.inner.actions(state, actions);
    }

    fn next_state(&self, state: &Self::State, action: Self::Action) -> Option<Self::State> {
        self.inner.next_state(state, action)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        self.properties
            .iter()
            .enumerate()
            .map(|(index, property)| Property {
                expectation: property.expectation.clone(),
                name: property.name,
                condition: latched_condition_at::<M>(index),
            })
            .collect()
    }

    fn within_boundary(&self, state: &Self::State) -> bool {
        self.inner.within_boundary(state)
    }
}

/// Bounds of one check run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckOptions {
    /// Stop after generating about this many states; properties not settled by then are
    /// reported [`Outcome::Unknown`], never as holding.
    pub max_states: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            max_states: 20_000_000,
        }
    }
}

/// Checks `model` exhaustively with a single-threaded BFS (shortest paths) and reports every
/// property with its shortest counterexample or example.
pub(crate) fn run<M>(model: M, title: String, options: CheckOptions) -> CheckReport
where
    M: ProtocolModel + Send + Sync + 'static,
    M::State: Clone + Debug + Hash + PartialEq + Send + Sync + 'static,
    M::Action: Clone + Debug + PartialEq + Send + Sync + 'static,
{
    let started = Instant::now();
    let checker = Latched::new(model)
        .checker()
        .target_state_count(options.max_states)
        .spawn_bfs()
        .join();
    let elapsed = started.elapsed();
    let mut discoveries = checker.discoveries();
    let latched = checker.model();
    // stateright's `is_done` also reports true when the search stopped at its target state
    // count (its job market is closed then), so the bound is tested here: a search that
    // reached it is incomplete unless every property was already settled.
    let all_discovered = discoveries.len() == latched.properties.len();
    let complete = all_discovered || checker.state_count() < options.max_states;
    let properties = latched
        .properties
        .iter()
        .map(|property| {
            let path = discoveries
                .remove(property.name)
                .map(|path| steps_of(&latched.inner, path.into_vec()));
            PropertyReport {
                name: property.name,
                outcome: outcome_of(&property.expectation, path, complete),
            }
        })
        .collect();
    CheckReport {
        title,
        unique_states: checker.unique_state_count(),
        total_states: checker.state_count(),
        max_depth: checker.max_depth(),
        elapsed,
        complete,
        properties,
    }
}

fn outcome_of(expectation: &Expectation, path: Option<Vec<Step>>, complete: bool) -> Outcome {
    match (expectation, path) {
        (Expectation::Sometimes, Some(path)) => Outcome::Example(path),
        (_, Some(path)) => Outcome::Counterexample(path),
        (_, None) if !complete => Outcome::Unknown,
        (Expectation::Sometimes, None) => Outcome::NeverReached,
        (_, None) => Outcome::Holds,
    }
}

fn steps_of<M: ProtocolModel>(model: &M, path: Vec<(M::State, Option<M::Action>)>) -> Vec<Step>
where
    M::Action: Debug,
{
    let mut steps = Vec::with_capacity(path.len());
    let mut previous_action = None;
    for (state, next_action) in path {
        steps.push(Step {
            action: previous_action.take(),
            state: model.summarize(&state),
        });
        previous_action = next_action.map(|action| format!("{action:?}"));
    }
    steps
}

#[cfg(test)]
mod tests {
    //! Shows the stateright 0.31.0 discovery overwrite, and that [`Latched`] avoids it.

    use super::*;
    use stateright::HasDiscoveries;

    /// A counter that counts from 0 to 5. "below 2" fails at 2, 3, 4 and 5; the shortest
    /// counterexample is 0 -> 1 -> 2.
    struct Counter {
        with_second_property: bool,
    }

    impl Model for Counter {
        type State = u8;
        type Action = ();

        fn init_states(&self) -> Vec<u8> {
            vec![0]
        }

        fn actions(&self, state: &u8, actions: &mut Vec<()>) {
            if *state < 5 {
                actions.push(());
            }
        }

        fn next_state(&self, state: &u8, _: ()) -> Option<u8> {
            Some(state + 1)
        }

        fn properties(&self) -> Vec<Property<Self>> {
            let mut properties = vec![Property::always("below 2", |_: &Counter, s: &u8| *s < 2)];
            if self.with_second_property {
                properties.push(Property::always("below 9", |_: &Counter, s: &u8| *s < 9));
            }
            properties
        }
    }

    impl ProtocolModel for Counter {
        fn instance(_: Variant, _: u8) -> Self {
            Counter {
                with_second_property: true,
            }
        }

        fn summarize(&self, state: &u8) -> String {
            format!("count {state}")
        }
    }

    #[test]
    fn a_search_stopped_at_its_bound_answers_unknown() {
        let model = Counter {
            with_second_property: true,
        };
        let report = run(model, "counter".to_string(), CheckOptions { max_states: 2 });
        assert!(!report.complete);
        assert_eq!(report.outcome("below 9"), Some(&Outcome::Unknown));
        let path = report
            .outcome("below 2")
            .and_then(Outcome::path)
            .expect("found");
        assert_eq!(path.len(), 3);
        assert_eq!(path[2].action.as_deref(), Some("()"));
        assert_eq!(path[2].state, "count 2");
        let full = run(
            Counter {
                with_second_property: true,
            },
            "counter".to_string(),
            CheckOptions::default(),
        );
        assert!(full.complete);
        assert_eq!(full.outcome("below 9"), Some(&Outcome::Holds));
    }

    fn plain_bfs_path(model: Counter, finish_when: HasDiscoveries) -> Vec<u8> {
        let checker = model.checker().finish_when(finish_when).spawn_bfs().join();
        checker.discovery("below 2").expect("found").into_states()
    }

    #[test]
    fn stateright_0_31_bfs_overwrites_the_shortest_counterexample() {
        // All properties at once: the last violation (state 5) replaces the first.
        let all = plain_bfs_path(
            Counter {
                with_second_property: true,
            },
            HasDiscoveries::All,
        );
        assert_eq!(all, vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn one_property_at_a_time_keeps_the_shortest_counterexample() {
        // With nothing else to wait for, the search stops at the first violation.
        let alone = plain_bfs_path(
            Counter {
                with_second_property: false,
            },
            HasDiscoveries::All,
        );
        assert_eq!(alone, vec![0, 1, 2]);
    }

    #[test]
    fn latched_properties_keep_the_shortest_counterexample() {
        let checker = Latched::new(Counter {
            with_second_property: true,
        })
        .checker()
        .spawn_bfs()
        .join();
        let path = checker.discovery("below 2").expect("found").into_states();
        assert_eq!(path, vec![0, 1, 2]);
        assert!(checker.discovery("below 9").is_none());
        assert!(checker.is_done());
    }
}
