//! The versioned-keys model's client, store and crash transitions, and its state summary.

use super::*;

/// Client `c` sends the next operation of its script.
pub(super) fn send(next: &mut VersionedState, c: u8) {
    let client = &mut next.clients[usize::from(c)];
    let op = match VersionedModel::script(c)[usize::from(client.next_op)] {
        KeyOp::GetIfModified(_) => KeyOp::GetIfModified(client.last_seen_version),
        op => op,
    };
    client.awaiting = Some(op);
    client.next_op += 1;
    next.history
        .on_invoke(c, op)
        .expect("a client has one operation in flight at a time");
}

/// The store takes client `c`'s operation.
pub(super) fn serve(model: &VersionedModel, next: &mut VersionedState, c: u8) {
    let op = next.clients[usize::from(c)]
        .awaiting
        .expect("Serve is offered only to a waiting client");
    let remembered = next.memory;
    let entry = remembered.unwrap_or_else(|| next.load());
    next.memory = Some(entry);
    let value = match op {
        KeyOp::GetIfModified(seen) => return answer_read(next, c, entry, seen),
        KeyOp::Put(value) => Some(value),
        KeyOp::Patch(delta) => Some(entry.value.unwrap_or(0).wrapping_add(delta)),
        KeyOp::Delete => None,
    };
    let lsn = next.log.len() as u8 + 1;
    let version = match model.variant {
        Variant::Correct => lsn,
        // The bug: the version comes from memory, which eviction may have emptied.
        Variant::Buggy => remembered.map_or(0, |entry| entry.version) + 1,
    };
    let record = Record {
        lsn,
        version,
        value,
    };
    if value.is_some() || model.delete_updates_memory {
        next.memory = Some(Entry { value, version });
    }
    next.serving = Serving::Applied { client: c, record };
}

fn answer_read(next: &mut VersionedState, c: u8, entry: Entry, seen: Option<u8>) {
    let ret = match entry.value {
        None => KeyRet::Missing,
        Some(_) if seen == Some(entry.version) => {
            let durable = next.load();
            if durable.value.is_none() || Some(durable.version) != seen {
                next.stale_not_modified = true;
            }
            next.told_not_modified = true;
            KeyRet::NotModified
        }
        Some(value) => {
            next.clients[usize::from(c)].last_seen_version = Some(entry.version);
            KeyRet::Value {
                value,
                version: entry.version,
            }
        }
    };
    reply(next, c, ret);
}

/// The store answers the change it made durable.
pub(super) fn answer_change(next: &mut VersionedState) {
    let Serving::Synced { client, record } = next.serving else {
        unreachable!("Answer is offered only after Sync");
    };
    next.answered_versions.push(record.version);
    next.clients[usize::from(client)].last_seen_version = Some(record.version);
    next.serving = Serving::Nothing;
    reply(
        next,
        client,
        KeyRet::Changed {
            version: record.version,
        },
    );
}

fn reply(next: &mut VersionedState, c: u8, ret: KeyRet) {
    next.clients[usize::from(c)].awaiting = None;
    next.history
        .on_return(c, ret)
        .expect("the client was waiting for this answer");
}

/// The store crashes and restarts: unsynced record and memory lost, memory rebuilt from the
/// log; clients waiting for an answer never get one.
pub(super) fn crash(next: &mut VersionedState) {
    next.serving = Serving::Nothing;
    next.memory = Some(next.load());
    for client in &mut next.clients {
        if client.awaiting.is_some() {
            client.cut_off = true;
        }
    }
    next.crashes += 1;
}

impl ProtocolModel for VersionedModel {
    fn instance(variant: Variant, size: u8) -> Self {
        VersionedModel::new(variant, size)
    }

    fn summarize(&self, state: &VersionedState) -> String {
        let log: Vec<String> = state
            .log
            .iter()
            .map(|r| format!("lsn{}:v{}={:?}", r.lsn, r.version, r.value))
            .collect();
        let clients: Vec<String> = state
            .clients
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let status = match (c.cut_off, c.awaiting) {
                    (true, _) => "cut off".to_string(),
                    (false, Some(op)) => format!("awaits {op:?}"),
                    (false, None) => format!("{} done", c.next_op),
                };
                format!("c{i}:{status} seen {:?}", c.last_seen_version)
            })
            .collect();
        format!(
            "log [{}] | memory {:?} | store {:?} | {} | answered versions {:?} | linearizable {}",
            log.join(" "),
            state.memory,
            state.serving,
            clients.join(", "),
            state.answered_versions,
            state.history.is_consistent()
        )
    }
}
