//! One simulated file: what reads see (the page cache) beside what survives a power cut.

use super::SECTOR_BYTES;

/// A file's contents, volatile and durable.
///
/// Invariant: every range in `marked_clean` lies within `volatile` as it was when a sync
/// failed; those bytes read back but no later sync writes them until they are written again.
#[derive(Debug, Default, Clone)]
pub(super) struct Inode {
    pub(super) volatile: Vec<u8>,
    pub(super) durable: Vec<u8>,
    /// Byte ranges a failed sync marked clean: readable, never written by a later sync until
    /// they are written again.
    pub(super) marked_clean: Vec<(usize, usize)>,
}

/// xorshift64: a small deterministic generator for the power-cut choices.
pub(super) fn next_random(state: &mut u64, bound: u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state % bound.max(1)
}

impl Inode {
    /// Forgets `start..end` from the clean-marked ranges (those bytes are dirty again).
    pub(super) fn dirty(&mut self, start: usize, end: usize) {
        let mut kept = Vec::new();
        for (a, b) in self.marked_clean.drain(..) {
            if a < start.min(b) {
                kept.push((a, start.min(b)));
            }
            if b > end.max(a) {
                kept.push((end.max(a), b));
            }
        }
        self.marked_clean = kept;
    }

    /// A successful sync: the volatile contents become durable, except clean-marked bytes,
    /// which keep what the disk held (zeros past its old end).
    pub(super) fn sync(&mut self) {
        let old = std::mem::replace(&mut self.durable, self.volatile.clone());
        for &(start, end) in &self.marked_clean {
            for offset in start..end.min(self.durable.len()) {
                self.durable[offset] = old.get(offset).copied().unwrap_or(0);
            }
        }
    }

    /// A failed sync: every byte not yet durable is marked clean.
    pub(super) fn fail_sync(&mut self) {
        let same = self
            .durable
            .iter()
            .zip(&self.volatile)
            .take_while(|(a, b)| a == b)
            .count();
        if same < self.volatile.len() {
            self.marked_clean.push((same, self.volatile.len()));
        }
    }

    /// A power cut: the durable contents plus, if the file only grew since its last sync, a
    /// random prefix of the unsynced tail in which some whole sectors did not land (zeros).
    /// `random` is the cut's generator state.
    pub(super) fn power_cut(&mut self, random: &mut u64) {
        let mut kept = self.durable.clone();
        let start = kept.len();
        if self.volatile.len() > start && self.volatile.starts_with(&kept) {
            let extra = (self.volatile.len() - start) as u64;
            let landed = start + next_random(random, extra + 1) as usize;
            kept.extend_from_slice(self.volatile.get(start..landed).unwrap_or_default());
            let first_whole_sector = start.div_ceil(SECTOR_BYTES) * SECTOR_BYTES;
            for sector in (first_whole_sector..landed).step_by(SECTOR_BYTES) {
                if next_random(random, 4) == 0 {
                    let end = (sector + SECTOR_BYTES).min(landed);
                    if let Some(bytes) = kept.get_mut(sector..end) {
                        bytes.fill(0);
                    }
                }
            }
        }
        self.volatile = kept.clone();
        self.durable = kept;
        self.marked_clean.clear();
    }
}
