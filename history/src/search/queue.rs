//! The order in which a check's workers take up its partitions: cheapest work first.
//!
//! Each partition goes through stages. Stage 0 applies the linear-time checks (see
//! `reduce`): a violation they find in any partition stops the check before any partition is
//! replayed or searched. Stage 1 is a greedy replay (see `replay`), which settles many
//! linearizable partitions. A partition it does not settle is searched at once
//! (by the same worker, as a violation is usually where a replay gets stuck) in stage 2,
//! with a small step budget, and each later stage multiplies the budget by
//! [`BUDGET_GROWTH`] until the last, which is unbounded. A search that runs out of its
//! budget puts its partition back for the next stage. Workers always take the lowest stage
//! waiting (the lowest partition index among equals), so every partition is replayed and
//! given its first small search before any larger search starts, and a partition whose
//! search needs few steps is settled before any search that needs many. With a stop at the first violation, a violation that is cheap
//! to find is found before the expensive searches of other partitions start; restarting a
//! search with a larger budget repeats at most a third of the work of a partition
//! (`1/(growth - 1)`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Condvar, Mutex, MutexGuard};

/// Each stage's step budget is this many times the previous one's.
pub(crate) const BUDGET_GROWTH: u64 = 4;
/// The first search stage's budget: this many steps, plus [`BUDGET_STEPS_PER_OPERATION`] per
/// operation of the partition.
const BUDGET_STEPS_BASE: u64 = 256;
/// See [`BUDGET_STEPS_BASE`].
const BUDGET_STEPS_PER_OPERATION: u64 = 8;
/// The last bounded search stage; the next is unbounded (the deadline and memory budget of
/// the check still apply).
const LAST_BOUNDED_STAGE: u32 = 7;
/// The stage that applies the linear-time checks and reductions (see `reduce`).
pub(crate) const PRECHECK_STAGE: u32 = 0;
/// The stage that replays.
pub(crate) const REPLAY_STAGE: u32 = 1;
/// The first search stage.
pub(crate) const FIRST_SEARCH_STAGE: u32 = 2;
/// The unbounded search stage.
pub(crate) const UNBOUNDED_STAGE: u32 = LAST_BOUNDED_STAGE + 1;

/// The step budget of a search in `stage` of a partition of `operations` operations
/// (`None`: unbounded; only search stages are asked).
pub(crate) fn steps_max(stage: u32, operations: usize) -> Option<u64> {
    (FIRST_SEARCH_STAGE..=LAST_BOUNDED_STAGE)
        .contains(&stage)
        .then(|| {
            let first = BUDGET_STEPS_BASE + BUDGET_STEPS_PER_OPERATION * operations as u64;
            first * BUDGET_GROWTH.pow(stage - FIRST_SEARCH_STAGE)
        })
}

/// A piece of work: a partition (by index) and its stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Task {
    pub(crate) partition: usize,
    pub(crate) stage: u32,
}

struct State {
    /// Waiting tasks, lowest (stage, partition) first.
    waiting: BinaryHeap<Reverse<(u32, usize)>>,
    /// Tasks taken and not finished: each may put its partition back.
    taken: usize,
    /// No more tasks are handed out (a violation was found).
    closed: bool,
}

/// The tasks of one check, shared by its workers.
///
/// Invariant: every partition is, at any time, in at most one task (waiting or taken), and a
/// partition leaves the queue only when its task is finished without being put back.
pub(crate) struct Queue {
    state: Mutex<State>,
    /// Signalled when a task is put back or finished, or the queue is closed.
    changed: Condvar,
}

impl Queue {
    /// One task per partition, all in `first_stage`.
    pub(crate) fn new(partitions: usize, first_stage: u32) -> Queue {
        Queue {
            state: Mutex::new(State {
                waiting: (0..partitions)
                    .map(|partition| Reverse((first_stage, partition)))
                    .collect(),
                taken: 0,
                closed: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next task, waiting while none is waiting but some taken one may be put back;
    /// `None` when the queue is closed or all work is finished. Every task returned must be
    /// given back to [`Queue::finish`] or [`Queue::put_back`].
    pub(crate) fn take(&self) -> Option<Task> {
        let mut state = self.lock();
        loop {
            if state.closed {
                return None;
            }
            if let Some(Reverse((stage, partition))) = state.waiting.pop() {
                state.taken += 1;
                return Some(Task { partition, stage });
            }
            if state.taken == 0 {
                return None;
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// The task is done with its partition.
    pub(crate) fn finish(&self, _task: Task) {
        let mut state = self.lock();
        state.taken -= 1;
        drop(state);
        self.changed.notify_all();
    }

    /// The task's partition needs a later stage, `stage`.
    pub(crate) fn put_back(&self, task: Task, stage: u32) {
        debug_assert!(task.stage < stage, "stages only advance");
        debug_assert!(task.stage < UNBOUNDED_STAGE, "the unbounded stage is final");
        let mut state = self.lock();
        state.taken -= 1;
        state.waiting.push(Reverse((stage, task.partition)));
        drop(state);
        self.changed.notify_all();
    }

    /// Hands out no more tasks (those taken still report back, harmlessly).
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_come_before_searches_and_cheap_stages_before_expensive_ones() {
        let queue = Queue::new(3, REPLAY_STAGE);
        let first = queue.take().unwrap();
        assert_eq!(
            first,
            Task {
                partition: 0,
                stage: REPLAY_STAGE
            }
        );
        queue.put_back(first, FIRST_SEARCH_STAGE);
        // Partitions 1 and 2 are replayed before partition 0 is searched.
        let second = queue.take().unwrap();
        assert_eq!((second.partition, second.stage), (1, REPLAY_STAGE));
        queue.finish(second);
        let third = queue.take().unwrap();
        assert_eq!((third.partition, third.stage), (2, REPLAY_STAGE));
        queue.put_back(third, FIRST_SEARCH_STAGE);
        let mut seen = Vec::new();
        while let Some(task) = queue.take() {
            seen.push((task.partition, task.stage));
            if task.partition == 0 && task.stage < FIRST_SEARCH_STAGE + 1 {
                queue.put_back(task, task.stage + 1);
            } else {
                queue.finish(task);
            }
        }
        assert_eq!(
            seen,
            vec![
                (0, FIRST_SEARCH_STAGE),
                (2, FIRST_SEARCH_STAGE),
                (0, FIRST_SEARCH_STAGE + 1)
            ]
        );
    }

    #[test]
    fn closing_stops_handing_out_tasks() {
        let queue = Queue::new(2, FIRST_SEARCH_STAGE);
        let task = queue.take().unwrap();
        queue.close();
        assert_eq!(queue.take(), None);
        queue.finish(task);
        assert_eq!(queue.take(), None);
    }

    #[test]
    fn a_waiting_worker_gets_a_task_put_back_by_another() {
        let queue = Queue::new(1, FIRST_SEARCH_STAGE);
        let task = queue.take().unwrap();
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| queue.take());
            std::thread::sleep(std::time::Duration::from_millis(20));
            queue.put_back(task, task.stage + 1);
            let again = waiter.join().unwrap().unwrap();
            assert_eq!((again.partition, again.stage), (0, FIRST_SEARCH_STAGE + 1));
            queue.finish(again);
        });
        assert_eq!(queue.take(), None);
    }

    #[test]
    fn budgets_grow_and_end_unbounded() {
        assert_eq!(steps_max(REPLAY_STAGE, 10), None);
        let first = steps_max(FIRST_SEARCH_STAGE, 10).unwrap();
        assert_eq!(
            steps_max(FIRST_SEARCH_STAGE + 1, 10),
            Some(first * BUDGET_GROWTH)
        );
        assert!(steps_max(LAST_BOUNDED_STAGE, 10).is_some());
        assert_eq!(steps_max(UNBOUNDED_STAGE, 10), None);
    }
}
