//! The frontier model's transitions and its state summary.

use super::*;

pub(super) fn apply(model: &FrontierModel, next: &mut FrontierState, action: FrontierAction) {
    match action {
        FrontierAction::Stage { producer, upper } => {
            next.producers[usize::from(producer)].staged_upper = Some(upper);
        }
        FrontierAction::Commit(p) => {
            let producer = &mut next.producers[usize::from(p)];
            let upper = producer
                .staged_upper
                .take()
                .expect("Commit is offered only with a staged batch");
            let lower = producer.lower;
            if model.commit_checks_frontier && producer.frontier != lower {
                // Compare-and-set failed: the controller closed this producer's times.
                producer.fenced = true;
                return;
            }
            producer.frontier = upper;
            producer.lower = upper;
            next.batches.push(Batch {
                producer: p,
                lower,
                upper,
            });
        }
        FrontierAction::Crash(p) => next.producers[usize::from(p)].crashed = true,
        FrontierAction::Pause(p) => {
            next.producers[usize::from(p)].paused = true;
            next.pauses += 1;
        }
        FrontierAction::Resume(p) => next.producers[usize::from(p)].paused = false,
        FrontierAction::Abort(p) => {
            // The controller deletes the staged batch; a paused producer still believes it
            // has one and will try to commit it.
            let producer = &mut next.producers[usize::from(p)];
            producer.aborted = true;
            // The empty batch [frontier, TIMES) that closes the dead producer's times.
            producer.frontier = TIMES;
        }
        FrontierAction::Read => {
            next.reader = Reader::Read {
                batches_seen: next.batches_covering(READ_TIME),
            };
        }
    }
}

impl ProtocolModel for FrontierModel {
    fn instance(variant: Variant, size: u8) -> Self {
        FrontierModel::new(variant, size)
    }

    fn summarize(&self, state: &FrontierState) -> String {
        let producers: Vec<String> = state
            .producers
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let status = match (p.crashed, p.paused, p.aborted, p.fenced) {
                    (_, _, _, true) => " fenced",
                    (true, _, true, _) => " crashed, aborted",
                    (_, true, true, _) => " paused, aborted",
                    (false, false, true, _) => " aborted",
                    (true, _, false, _) => " crashed",
                    (_, true, false, _) => " paused",
                    _ => "",
                };
                let staged = p
                    .staged_upper
                    .map(|upper| format!(" staged [{},{upper})", p.lower))
                    .unwrap_or_default();
                format!("p{i}: frontier {}{staged}{status}", p.frontier)
            })
            .collect();
        let batches: Vec<String> = state
            .batches
            .iter()
            .map(|b| format!("p{}[{},{})", b.producer, b.lower, b.upper))
            .collect();
        format!(
            "{} | store frontier {} | visible [{}] | reader of time {READ_TIME}: {:?}",
            producers.join(", "),
            state.frontier(),
            batches.join(" "),
            state.reader
        )
    }
}
