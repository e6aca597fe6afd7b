//! The frontier model's transitions and its state summary.

use super::*;

pub(super) fn apply(next: &mut FrontierState, action: FrontierAction) {
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
            let lower = producer.frontier;
            producer.frontier = upper;
            next.batches.push(Batch {
                producer: p,
                lower,
                upper,
            });
        }
        FrontierAction::Crash(p) => next.producers[usize::from(p)].crashed = true,
        FrontierAction::Abort(p) => {
            let producer = &mut next.producers[usize::from(p)];
            producer.staged_upper = None;
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
                let status = match (p.crashed, p.aborted) {
                    (_, true) => " aborted",
                    (true, false) => " crashed",
                    _ => "",
                };
                let staged = p
                    .staged_upper
                    .map(|upper| format!(" staged [{},{upper})", p.frontier))
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
