//! The frontier protocol of stream stores (Materialize persist's `upper`, timely dataflow's
//! frontiers): producers append batches covering times `[lower, upper)`, a reader of time `t`
//! waits until the frontier has passed `t`.
//!
//! **Modelled.** `producers` producers each cover the times `0..TIMES`. A producer at frontier
//! `f` stages a batch `[f, u)` (one or two times wide; written but not yet visible), then
//! commits it (visible; its frontier becomes `u`) with a compare-and-set: the commit fails if
//! the store's frontier for that producer is no longer the batch's lower. One producer may
//! crash at any point, leaving its staged batch invisible and its frontier where it was; one
//! may pause past its lease (it looks dead) and resume later. The store's frontier is the least
//! producer frontier. When a producer looks dead, the controller aborts it: it discards its
//! staged batch and closes its remaining times with an empty batch, so the frontier is no
//! longer held back; a paused producer that resumes finds its commit refused and stops. A
//! reader waits to read time `READ_TIME` until the frontier is past it, then reads every
//! visible batch covering that time.
//!
//! **Abstracted away.** Batch contents (a batch is its producer and time range), blob writes
//! (committing, compare-and-set included, is one atomic step), lease clocks (a crashed or
//! paused producer can be aborted at once; a running one never is), several readers.
//!
//! **Buggy variant** (reader waiting for equality, no abort of a dead producer): the reader
//! waits for the frontier to *equal* `READ_TIME + 1`, which a two-time batch jumps over, and
//! dead producers are never aborted, so the frontier stalls for good.

mod steps;

use crate::checking::{can_progress, ProtocolModel};
use crate::Variant;
use stateright::{Model, Property};

/// Times `0..TIMES` exist.
const TIMES: u8 = 3;
/// The time the reader reads.
const READ_TIME: u8 = 1;
/// Pauses one run may inject.
const MAX_PAUSES: u8 = 1;

/// The frontier model for a variant and a number of producers.
#[derive(Clone, Debug)]
pub struct FrontierModel {
    pub(crate) variant: Variant,
    pub(crate) producers: u8,
    /// The reader waits for the frontier to pass its time (not merely reach it). Switched off
    /// only by the test that shows the safety property catches an off-by-one wait.
    pub(crate) reader_waits_past_time: bool,
    /// How many producers may crash (one by default, the mid-iteration crash of the protocol).
    pub(crate) max_crashes: u8,
    /// A commit checks the producer's frontier is still where it left it. Switched off only
    /// by the test that shows the safety property catches an aborted producer that resumes.
    pub(crate) commit_checks_frontier: bool,
}

impl FrontierModel {
    /// A model with `producers` producers.
    pub fn new(variant: Variant, producers: u8) -> Self {
        FrontierModel {
            variant,
            producers,
            reader_waits_past_time: true,
            max_crashes: 1,
            commit_checks_frontier: true,
        }
    }
}

/// One producer, as the store records it and as the producer itself believes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Producer {
    /// The store's record of this producer's frontier.
    frontier: u8,
    /// Where the producer believes it is: the lower of its next batch.
    lower: u8,
    /// Upper of the batch written but not yet committed.
    staged_upper: Option<u8>,
    crashed: bool,
    /// Paused past its lease: it looks dead but will come back.
    paused: bool,
    /// The controller closed its times.
    aborted: bool,
    /// Its commit found its frontier moved (it was aborted): it stops.
    fenced: bool,
}

/// A committed (visible) batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Batch {
    producer: u8,
    lower: u8,
    upper: u8,
}

impl Batch {
    fn covers(&self, time: u8) -> bool {
        self.lower <= time && time < self.upper
    }
}

/// The reader of `READ_TIME`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reader {
    Waiting,
    /// Read; saw this many batches covering its time.
    Read {
        batches_seen: u8,
    },
}

/// Producers, visible batches and the reader.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FrontierState {
    producers: Vec<Producer>,
    pauses: u8,
    batches: Vec<Batch>,
    reader: Reader,
}

/// A step of a producer, the controller, the reader, or a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrontierAction {
    /// Producer writes the batch `[frontier, upper)` (not visible yet).
    Stage { producer: u8, upper: u8 },
    /// Producer commits its staged batch with a compare-and-set on its frontier.
    Commit(u8),
    /// Producer crashes.
    Crash(u8),
    /// Producer pauses past its lease (it looks dead).
    Pause(u8),
    /// Producer continues after a pause.
    Resume(u8),
    /// Controller aborts a producer that looks dead and closes its remaining times.
    Abort(u8),
    /// Reader reads its time.
    Read,
}

impl FrontierState {
    /// The least frontier of the producers: every time below it is complete.
    fn frontier(&self) -> u8 {
        self.producers
            .iter()
            .map(|p| p.frontier)
            .min()
            .unwrap_or(TIMES)
    }

    fn batches_covering(&self, time: u8) -> u8 {
        self.batches.iter().filter(|b| b.covers(time)).count() as u8
    }
}

impl Model for FrontierModel {
    type State = FrontierState;
    type Action = FrontierAction;

    fn init_states(&self) -> Vec<FrontierState> {
        let producer = Producer {
            frontier: 0,
            lower: 0,
            staged_upper: None,
            crashed: false,
            paused: false,
            aborted: false,
            fenced: false,
        };
        vec![FrontierState {
            producers: vec![producer; usize::from(self.producers)],
            pauses: 0,
            batches: Vec::new(),
            reader: Reader::Waiting,
        }]
    }

    fn actions(&self, state: &FrontierState, actions: &mut Vec<FrontierAction>) {
        let crashes = state.producers.iter().filter(|p| p.crashed).count();
        let may_crash = crashes < usize::from(self.max_crashes);
        let may_pause = state.producers.iter().all(|p| !p.paused) && state.pauses < MAX_PAUSES;
        for (index, producer) in state.producers.iter().enumerate() {
            let p = index as u8;
            let looks_dead = producer.crashed || producer.paused;
            if looks_dead && !producer.aborted && self.variant == Variant::Correct {
                actions.push(FrontierAction::Abort(p));
            }
            if producer.crashed || producer.fenced || producer.lower == TIMES {
                continue;
            }
            if producer.paused {
                actions.push(FrontierAction::Resume(p));
                continue;
            }
            match producer.staged_upper {
                None => {
                    for upper in producer.lower + 1..=(producer.lower + 2).min(TIMES) {
                        actions.push(FrontierAction::Stage { producer: p, upper });
                    }
                }
                Some(_) => actions.push(FrontierAction::Commit(p)),
            }
            if may_crash {
                actions.push(FrontierAction::Crash(p));
            }
            if may_pause {
                actions.push(FrontierAction::Pause(p));
            }
        }
        if state.reader == Reader::Waiting && self.reader_may_read(state.frontier()) {
            actions.push(FrontierAction::Read);
        }
    }

    fn next_state(&self, state: &FrontierState, action: FrontierAction) -> Option<FrontierState> {
        let mut next = state.clone();
        steps::apply(self, &mut next, action);
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(
                "a reader never sees an incomplete time",
                |_: &FrontierModel, state: &FrontierState| match state.reader {
                    Reader::Waiting => true,
                    Reader::Read { batches_seen } => {
                        batches_seen == state.batches_covering(READ_TIME)
                    }
                },
            ),
            Property::always(
                "staged batches stay invisible",
                |_: &FrontierModel, state: &FrontierState| {
                    state.batches.iter().all(|b| {
                        let producer = &state.producers[usize::from(b.producer)];
                        b.upper <= producer.frontier
                    })
                },
            ),
            Property::always(
                "a crashed producer cannot stall the reader forever",
                |model: &FrontierModel, state: &FrontierState| {
                    state.reader != Reader::Waiting
                        || can_progress(model, state, |action| {
                            matches!(action, FrontierAction::Crash(_) | FrontierAction::Pause(_))
                        })
                },
            ),
            Property::sometimes(
                "a reader reads after a producer crashed",
                |_: &FrontierModel, state: &FrontierState| {
                    matches!(state.reader, Reader::Read { .. })
                        && state.producers.iter().any(|p| p.crashed)
                },
            ),
        ]
    }
}

impl FrontierModel {
    fn reader_may_read(&self, frontier: u8) -> bool {
        match (self.variant, self.reader_waits_past_time) {
            (Variant::Buggy, _) => frontier == READ_TIME + 1,
            (Variant::Correct, true) => frontier > READ_TIME,
            (Variant::Correct, false) => frontier >= READ_TIME,
        }
    }
}

#[cfg(test)]
mod tests;
