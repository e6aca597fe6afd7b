//! How recovery reads the lock model's log: which records it accepts.

use super::*;

impl LockState {
    /// The records recovery accepts, in log order (see the module doc for the rule), or the
    /// first LSN it cannot find.
    pub(super) fn accepted(&self, model: &LockModel) -> Result<Vec<Record>, LogGap> {
        match (model.variant, model.recovery_follows_chain) {
            (Variant::Buggy, _) => Ok(self
                .segments
                .iter()
                .flat_map(|s| s.records.clone())
                .collect()),
            (Variant::Correct, true) => self.accepted_by_chain(),
            (Variant::Correct, false) => self.accepted_by_first_lsn(),
        }
    }

    /// Follows the chain back from the highest-epoch segment: each segment names the epoch of
    /// the segment it continues, which contributes its records below the later one's start.
    fn accepted_by_chain(&self) -> Result<Vec<Record>, LogGap> {
        let Some(mut current) = self.segments.iter().max_by_key(|s| s.epoch) else {
            return Ok(Vec::new());
        };
        let mut parts = vec![current.records.as_slice()];
        while current.first_lsn > 1 {
            let missing = LogGap {
                lsn: current.first_lsn - 1,
            };
            let previous = self
                .segments
                .iter()
                .find(|s| s.epoch == current.prev_epoch)
                .ok_or(missing)?;
            let count = usize::from(current.first_lsn - previous.first_lsn);
            parts.push(previous.records.get(..count).ok_or(missing)?);
            current = previous;
        }
        Ok(parts.into_iter().rev().flatten().copied().collect())
    }

    /// The rule as first written: segments in `first_lsn` order (ties by epoch), a segment of
    /// a lower epoch than one already taken is skipped, each segment ends where the next
    /// taken one starts. A stale holder that opens its segment late breaks it (see the tests).
    fn accepted_by_first_lsn(&self) -> Result<Vec<Record>, LogGap> {
        let mut order: Vec<&Segment> = self.segments.iter().collect();
        order.sort_by_key(|s| (s.first_lsn, s.epoch));
        let mut accepted: Vec<Record> = Vec::new();
        let mut max_epoch = 0;
        for segment in order.into_iter().filter(|s| {
            let taken = s.epoch >= max_epoch;
            max_epoch = max_epoch.max(s.epoch);
            taken
        }) {
            let start = usize::from(segment.first_lsn - 1);
            if accepted.len() < start {
                return Err(LogGap {
                    lsn: accepted.len() as u8 + 1,
                });
            }
            accepted.truncate(start);
            accepted.extend_from_slice(&segment.records);
        }
        Ok(accepted)
    }
}
