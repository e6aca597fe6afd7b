//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod gen;
pub mod random;

use history::{pair_events, Event, EventType, History, Process, Value};

/// Parses a compact history, one event per line: `PROCESS TYPE F [k=KEY] [VALUE-JSON]`,
/// e.g. `0 invoke cas [1,2]`, `1 ok get k="x" 3`, `nemesis info kill "n1"`. The event order is
/// the real-time order. Lines starting with `#` are comments.
pub fn history(text: &str) -> History {
    let mut events = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(4, ' ');
        let process = match parts.next().unwrap() {
            "nemesis" => Process::Nemesis,
            id => Process::Client(id.parse().unwrap()),
        };
        let kind = EventType::from_name(parts.next().unwrap()).unwrap();
        let f = parts.next().unwrap().to_string();
        let mut rest = parts.next().unwrap_or("").trim();
        let mut key = None;
        if let Some(keyed) = rest.strip_prefix("k=") {
            let (key_text, tail) = keyed.split_once(' ').unwrap_or((keyed, ""));
            key = Some(json(key_text));
            rest = tail.trim();
        }
        let value = if rest.is_empty() {
            Value::Nil
        } else {
            json(rest)
        };
        events.push((
            index + 1,
            Event {
                process,
                kind,
                f,
                key,
                value,
                time_ns: None,
            },
        ));
    }
    pair_events(events).unwrap()
}

/// A value written as JSON.
pub fn json(text: &str) -> Value {
    fn convert(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(flag) => Value::Bool(*flag),
            serde_json::Value::Number(number) => Value::Int(number.as_i64().unwrap()),
            serde_json::Value::String(text) => Value::Str(text.clone()),
            serde_json::Value::Array(items) => Value::List(items.iter().map(convert).collect()),
            serde_json::Value::Object(_) => panic!("no objects"),
        }
    }
    convert(&serde_json::from_str(text).unwrap_or_else(|error| panic!("{text}: {error}")))
}
