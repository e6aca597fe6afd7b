//! Versioned keys: put, patch, delete and get-if-modified on one key, with eviction from
//! memory and store restarts (`store/PROTOCOL.md`, the commit protocol: a key's version is the LSN of the
//! record that last changed it).
//!
//! **Modelled.** Clients each run a two-operation script against one store process, which
//! serves one operation at a time: a change is applied (record appended without fsync, memory
//! updated), made durable, then answered with its version; a get-if-modified reads the key
//! from memory, loading it from the log when it is not there. Memory may evict the key whenever
//! no change is in progress. The store may crash at any step (it restarts at once, losing
//! unsynced records and memory, and rebuilding memory from the log); clients whose operation
//! was cut off by the crash never learn its outcome (`info`) and stop. Every client history is
//! checked with stateright's `LinearizabilityTester` against [`spec::VersionedKey`]; only the
//! store crashes, never a client's record of what it asked, so an unanswered operation is
//! simply left open (it may or may not have happened).
//!
//! **Abstracted away.** Other keys (LSNs are consumed only by this key's changes), batches,
//! the WAL's framing, group commit (one change at a time), snapshots.
//!
//! **Buggy variant** (version computed from an in-memory map that eviction empties): a change
//! takes as version one more than the version memory holds for the key, or 1 if memory holds
//! none, instead of the LSN of its record.

pub mod spec;
mod steps;

use crate::checking::ProtocolModel;
use crate::Variant;
use spec::{KeyOp, KeyRet, VersionedKey};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use stateright::{Model, Property};

/// Store crashes the model may inject.
const MAX_CRASHES: u8 = 1;

/// The versioned-keys model for a variant and a number of clients.
#[derive(Clone, Debug)]
pub struct VersionedModel {
    pub(crate) variant: Variant,
    pub(crate) clients: u8,
    /// A delete updates the memory copy. Switched off only by the test that shows the
    /// "not modified" property catches a store answering from a stale copy.
    pub(crate) delete_updates_memory: bool,
}

impl VersionedModel {
    /// A model with `clients` clients (1 to 3).
    pub fn new(variant: Variant, clients: u8) -> Self {
        VersionedModel {
            variant,
            clients,
            delete_updates_memory: true,
        }
    }

    /// The two operations of client `client`; `GetIfModified` is sent with the version the
    /// client saw last.
    fn script(client: u8) -> [KeyOp; 2] {
        match client {
            0 => [KeyOp::Put(1), KeyOp::GetIfModified(None)],
            1 => [KeyOp::Delete, KeyOp::Patch(2)],
            _ => [KeyOp::Put(3), KeyOp::GetIfModified(None)],
        }
    }
}

/// A durable (or about to be) change of the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    lsn: u8,
    version: u8,
    /// The new value; `None` for a delete.
    value: Option<u8>,
}

/// The key as memory (or a load from the log) knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Entry {
    /// `None` when deleted or never written.
    value: Option<u8>,
    /// 0 when never written.
    version: u8,
}

/// One client's progress through its script.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Client {
    next_op: u8,
    /// The operation it sent and awaits an answer for.
    awaiting: Option<KeyOp>,
    last_seen_version: Option<u8>,
    /// Its operation was cut off by a crash; it stops.
    cut_off: bool,
}

/// Where the store is with the change it serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Serving {
    Nothing,
    /// Record appended without fsync and memory updated.
    Applied {
        client: u8,
        record: Record,
    },
    /// Record durable; answer not sent yet.
    Synced {
        client: u8,
        record: Record,
    },
}

/// Log, memory, clients and the recorded client history.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VersionedState {
    log: Vec<Record>,
    /// The key's copy in memory; `None` when evicted.
    memory: Option<Entry>,
    serving: Serving,
    clients: Vec<Client>,
    crashes: u8,
    history: LinearizabilityTester<u8, VersionedKey>,
    /// Ghost: versions answered to changes, in answer order.
    answered_versions: Vec<u8>,
    /// Ghost: "not modified" was answered for a version that is not the current one.
    stale_not_modified: bool,
    /// Ghost: some client was told "not modified".
    told_not_modified: bool,
}

/// A step of a client, the store, memory, or a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VersionedAction {
    /// The client sends its next operation.
    Send(u8),
    /// The store takes the client's operation: a read is answered at once, a change applied.
    Serve(u8),
    /// The store fsyncs the applied record.
    Sync,
    /// The store answers the change.
    Answer,
    /// Memory drops the key.
    Evict,
    /// The store crashes and restarts.
    Crash,
}

impl VersionedState {
    /// The key as the durable log says: what a load from the log finds.
    fn load(&self) -> Entry {
        self.log.last().map_or(
            Entry {
                value: None,
                version: 0,
            },
            |last| Entry {
                value: last.value,
                version: last.version,
            },
        )
    }
}

impl Model for VersionedModel {
    type State = VersionedState;
    type Action = VersionedAction;

    fn init_states(&self) -> Vec<VersionedState> {
        let client = Client {
            next_op: 0,
            awaiting: None,
            last_seen_version: None,
            cut_off: false,
        };
        vec![VersionedState {
            log: Vec::new(),
            memory: Some(Entry {
                value: None,
                version: 0,
            }),
            serving: Serving::Nothing,
            clients: vec![client; usize::from(self.clients)],
            crashes: 0,
            history: LinearizabilityTester::new(VersionedKey::default()),
            answered_versions: Vec::new(),
            stale_not_modified: false,
            told_not_modified: false,
        }]
    }

    fn actions(&self, state: &VersionedState, actions: &mut Vec<VersionedAction>) {
        for (index, client) in state.clients.iter().enumerate() {
            let c = index as u8;
            if client.cut_off {
                continue;
            }
            if client.awaiting.is_none() && client.next_op < 2 {
                actions.push(VersionedAction::Send(c));
            }
            if client.awaiting.is_some() && state.serving == Serving::Nothing {
                actions.push(VersionedAction::Serve(c));
            }
        }
        match state.serving {
            Serving::Nothing if state.memory.is_some() => actions.push(VersionedAction::Evict),
            Serving::Nothing => {}
            Serving::Applied { .. } => actions.push(VersionedAction::Sync),
            Serving::Synced { .. } => actions.push(VersionedAction::Answer),
        }
        if state.crashes < MAX_CRASHES {
            actions.push(VersionedAction::Crash);
        }
    }

    fn next_state(
        &self,
        state: &VersionedState,
        action: VersionedAction,
    ) -> Option<VersionedState> {
        let mut next = state.clone();
        match action {
            VersionedAction::Send(c) => steps::send(&mut next, c),
            VersionedAction::Serve(c) => steps::serve(self, &mut next, c),
            VersionedAction::Sync => {
                let Serving::Applied { client, record } = state.serving else {
                    unreachable!("Sync is offered only after Serve applied a change");
                };
                next.log.push(record);
                next.serving = Serving::Synced { client, record };
            }
            VersionedAction::Answer => steps::answer_change(&mut next),
            VersionedAction::Evict => next.memory = None,
            VersionedAction::Crash => steps::crash(&mut next),
        }
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(
                "versions strictly increase and are never reused",
                |_: &VersionedModel, state: &VersionedState| {
                    let increasing = |v: &[u8]| v.windows(2).all(|pair| pair[0] < pair[1]);
                    let logged: Vec<u8> = state.log.iter().map(|r| r.version).collect();
                    increasing(&logged) && increasing(&state.answered_versions)
                },
            ),
            Property::always(
                "not modified is answered only for the current version",
                |_: &VersionedModel, state: &VersionedState| !state.stale_not_modified,
            ),
            Property::always(
                "client histories are linearizable",
                |_: &VersionedModel, state: &VersionedState| state.history.is_consistent(),
            ),
            Property::sometimes(
                "a client is told not modified",
                |_: &VersionedModel, state: &VersionedState| state.told_not_modified,
            ),
        ]
    }
}

#[cfg(test)]
mod tests;
