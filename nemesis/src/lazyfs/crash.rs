//! Crash states: what the disk holds after a power cut. A [`DurableSnapshot`] plus a
//! [`Fate`] for each pending operation gives a [`DiskImage`]; [`random_crash`] draws the
//! fates from a seed under a [`CrashPolicy`] and reports them in a [`CrashReport`].

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::image::DiskImage;
use super::model::DiskModel;
use super::ops::{
    apply_dir_op, apply_file_op, sector_chunks, write_torn, Entries, Ino, NodeKind, Op, TornFill,
    TornSide, TornWrite,
};
use super::options::CrashPolicy;

/// The durable state as plain data.
#[derive(Debug, Clone)]
pub(crate) struct DurableSnapshot {
    pub(crate) entries: Entries,
    pub(crate) kinds: HashMap<Ino, NodeKind>,
    pub(crate) contents: HashMap<Ino, Vec<u8>>,
}

impl DurableSnapshot {
    /// Apply one pending operation under its fate.
    pub(crate) fn apply(&mut self, op: &Op, fate: &Fate) {
        match (op, fate) {
            (_, Fate::Lost) => {}
            (
                Op::Write {
                    ino,
                    offset,
                    data,
                    misdirect_to,
                },
                Fate::Torn(torn),
            ) => {
                let content = self.contents.entry(*ino).or_default();
                write_torn(content, misdirect_to.unwrap_or(*offset), data, torn);
            }
            (op, _) => match op.file_ino() {
                Some(ino) => apply_file_op(self.contents.entry(ino).or_default(), op),
                None => apply_dir_op(&mut self.entries, op),
            },
        }
    }

    /// The tree reachable from the root.
    pub(crate) fn image(&self) -> DiskImage {
        DiskImage::from_namespace(&self.entries, &self.kinds, |ino| {
            self.contents.get(&ino).cloned().unwrap_or_default()
        })
    }
}

/// What became of one pending operation at a power cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fate {
    /// It reached the disk whole.
    Kept,
    /// It never reached the disk.
    Lost,
    /// Part of it reached the disk (writes only).
    Torn(TornWrite),
}

/// The image the disk holds if each pending operation of `model` meets `fates[i]`, the file
/// operations landing in `file_order` (indices into the pending list; `None`: issue order).
/// Directory operations always land in issue order; they commute with file operations.
pub fn crash_image(model: &DiskModel, fates: &[Fate], file_order: Option<&[usize]>) -> DiskImage {
    let pending = model.pending();
    debug_assert_eq!(fates.len(), pending.len());
    let mut snapshot = model.durable_snapshot();
    for (pending, fate) in pending.iter().zip(fates).filter(|(p, _)| p.op.is_dir_op()) {
        snapshot.apply(&pending.op, fate);
    }
    let issue_order: Vec<usize> = (0..pending.len())
        .filter(|&i| !pending[i].op.is_dir_op())
        .collect();
    for &index in file_order.unwrap_or(&issue_order) {
        if let (Some(pending), Some(fate)) = (pending.get(index), fates.get(index)) {
            snapshot.apply(&pending.op, fate);
        }
    }
    snapshot.image()
}

/// What a power cut did, for the fault log and the caller.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CrashReport {
    /// The seed the fates were drawn from.
    pub seed: u64,
    /// Pending operations at the cut.
    pub pending_ops: usize,
    /// Writes and truncates that reached the disk whole.
    pub file_ops_kept: usize,
    /// Writes and truncates that were lost.
    pub file_ops_lost: usize,
    /// Writes that were torn.
    pub writes_torn: usize,
    /// Directory operations that reached the disk.
    pub dir_ops_kept: usize,
    /// Directory operations that were lost.
    pub dir_ops_lost: usize,
    /// Whether the kept file operations landed out of issue order.
    pub reordered: bool,
    /// One line per pending operation: what it was and what became of it.
    pub fates: Vec<String>,
}

/// Draw a crash state of `model` from `seed`.
pub fn random_crash(
    model: &DiskModel,
    policy: &CrashPolicy,
    seed: u64,
) -> (DiskImage, CrashReport) {
    let mut rng = StdRng::seed_from_u64(seed);
    let pending = model.pending();
    let fates: Vec<Fate> = pending
        .iter()
        .map(|p| draw_fate(&p.op, policy, &mut rng))
        .collect();
    let mut order: Vec<usize> = (0..pending.len())
        .filter(|&i| !pending[i].op.is_dir_op())
        .collect();
    let reordered = order.len() > 1 && rng.random_bool(clamp(policy.reorder_probability));
    if reordered {
        order.shuffle(&mut rng);
    }
    let image = crash_image(model, &fates, Some(&order));
    let mut report = CrashReport {
        seed,
        pending_ops: pending.len(),
        file_ops_kept: 0,
        file_ops_lost: 0,
        writes_torn: 0,
        dir_ops_kept: 0,
        dir_ops_lost: 0,
        reordered,
        fates: Vec::with_capacity(pending.len()),
    };
    for (pending, fate) in pending.iter().zip(&fates) {
        let counter = match (pending.op.is_dir_op(), fate) {
            (true, Fate::Lost) => &mut report.dir_ops_lost,
            (true, _) => &mut report.dir_ops_kept,
            (false, Fate::Kept) => &mut report.file_ops_kept,
            (false, Fate::Lost) => &mut report.file_ops_lost,
            (false, Fate::Torn(_)) => &mut report.writes_torn,
        };
        *counter += 1;
        report.fates.push(format!(
            "#{} {}: {}",
            pending.seq,
            pending.op.describe(),
            describe_fate(fate)
        ));
    }
    (image, report)
}

fn draw_fate(op: &Op, policy: &CrashPolicy, rng: &mut StdRng) -> Fate {
    match op {
        Op::Write { offset, data, .. } => {
            let roll: f64 = rng.random();
            let kept = clamp(policy.write_kept_probability);
            if roll < kept {
                return Fate::Kept;
            }
            if roll >= kept + clamp(policy.write_torn_probability) {
                return Fate::Lost;
            }
            let sector_bytes = if rng.random_bool(clamp(policy.torn_4k_probability)) {
                4096
            } else {
                512
            };
            let sectors = sector_chunks(*offset, data.len() as u64, sector_bytes).len();
            if sectors < 2 {
                return Fate::Lost;
            }
            let fill_roll: f64 = rng.random();
            let zeros = clamp(policy.torn_zeros_probability);
            let fill = if fill_roll < zeros {
                TornFill::Zeros
            } else if fill_roll < zeros + clamp(policy.torn_garbage_probability) {
                TornFill::Garbage(rng.random())
            } else {
                TornFill::Old
            };
            let side = if rng.random_bool(0.5) {
                TornSide::Head
            } else {
                TornSide::Tail
            };
            let persisted_sectors = rng.random_range(1..sectors);
            Fate::Torn(TornWrite {
                sector_bytes,
                persisted_sectors,
                side,
                fill,
            })
        }
        Op::Truncate { .. } => keep_if(rng.random_bool(clamp(policy.truncate_kept_probability))),
        _ => keep_if(!rng.random_bool(clamp(policy.dir_op_lost_probability))),
    }
}

fn keep_if(kept: bool) -> Fate {
    if kept {
        Fate::Kept
    } else {
        Fate::Lost
    }
}

fn clamp(probability: f64) -> f64 {
    if probability.is_nan() {
        0.0
    } else {
        probability.clamp(0.0, 1.0)
    }
}

/// A one-line description of a fate.
pub fn describe_fate(fate: &Fate) -> String {
    match fate {
        Fate::Kept => "kept".to_owned(),
        Fate::Lost => "lost".to_owned(),
        Fate::Torn(torn) => format!(
            "torn: {} of its {}-byte sectors persisted at the {:?}, rest {:?}",
            torn.persisted_sectors, torn.sector_bytes, torn.side, torn.fill
        ),
    }
}
