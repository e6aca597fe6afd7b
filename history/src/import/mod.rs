//! Importers: Jepsen/Knossos EDN histories and Jepsen's etcd-style text logs.
//!
//! Both produce the same [`History`] as a JSON-lines file. Keywords become strings without
//! the colon. With `keyed` (for models that partition by key) a `[key value]` tuple, as
//! Jepsen's `independent` checker writes them, becomes the event's key and value.

mod edn;

use crate::{pair_events, Event, EventType, History, PairingError, Process, Value};
use edn::{Edn, Reader};

/// Why a file could not be imported. Malformed input, never a verdict.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The text is not EDN.
    #[error("line {line}: expected {expected}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// What was expected there.
        expected: String,
    },
    /// A form is not an event, or a field is missing or wrong.
    #[error("line {line}: field `{field}`: expected {expected}, found {found}")]
    Field {
        /// 1-based line.
        line: usize,
        /// The field.
        field: &'static str,
        /// What it must hold.
        expected: &'static str,
        /// What it holds.
        found: String,
    },
    /// The events do not pair into operations.
    #[error(transparent)]
    Pairing(#[from] PairingError),
}

fn field(line: usize, field: &'static str, expected: &'static str, found: &Edn) -> ImportError {
    ImportError::Field {
        line,
        field,
        expected,
        found: format!("{found:?}"),
    }
}

/// Converts an EDN form to a value; `None` for floats and maps.
fn to_value(form: &Edn) -> Option<Value> {
    Some(match form {
        Edn::Nil => Value::Nil,
        Edn::Bool(flag) => Value::Bool(*flag),
        Edn::Int(int) => Value::Int(*int),
        Edn::Str(text) | Edn::Keyword(text) | Edn::Symbol(text) => Value::Str(text.clone()),
        Edn::Seq(items) => Value::List(items.iter().map(to_value).collect::<Option<_>>()?),
        Edn::Float(_) | Edn::Map(_) => return None,
    })
}

const VALUE_EXPECTED: &str = "nil, a boolean, an integer, a string, a keyword or a vector of those";

/// Builds an event from its parts; `value` is converted strictly for client operations that
/// may complete `ok` and leniently (as text) for nemesis events and `info` completions.
fn event(
    line: usize,
    process: Process,
    kind: EventType,
    f: String,
    value: &Edn,
    time_ns: Option<u64>,
    keyed: bool,
) -> Result<Event, ImportError> {
    let lenient = process == Process::Nemesis || kind == EventType::Info;
    let (key, value) = match (keyed && process != Process::Nemesis, value) {
        (true, Edn::Seq(pair)) if pair.len() == 2 => (Some(&pair[0]), &pair[1]),
        (true, Edn::Nil) if kind != EventType::Invoke => (None, &Edn::Nil),
        (true, other) => {
            return Err(field(
                line,
                "value",
                "a [key value] tuple (keyed model)",
                other,
            ))
        }
        (false, other) => (None, other),
    };
    let key = match key {
        Some(key) => {
            Some(to_value(key).ok_or_else(|| field(line, "value", "a key that is a value", key))?)
        }
        None => None,
    };
    let value = match to_value(value) {
        Some(value) => value,
        None if lenient => Value::Str(format!("{value:?}")),
        None => return Err(field(line, "value", VALUE_EXPECTED, value)),
    };
    Ok(Event {
        process,
        kind,
        f,
        key,
        value,
        time_ns,
    })
}

fn process_of(line: usize, form: &Edn) -> Result<Process, ImportError> {
    match form {
        Edn::Int(id) if *id >= 0 => Ok(Process::Client(*id as u64)),
        Edn::Keyword(name) if name == "nemesis" => Ok(Process::Nemesis),
        other => Err(field(
            line,
            "process",
            "a client id (integer >= 0) or :nemesis",
            other,
        )),
    }
}

fn type_of(line: usize, form: &Edn) -> Result<EventType, ImportError> {
    match form {
        Edn::Keyword(name) | Edn::Str(name) => EventType::from_name(name),
        _ => None,
    }
    .ok_or_else(|| field(line, "type", ":invoke, :ok, :fail or :info", form))
}

fn name_of(line: usize, form: &Edn) -> Result<String, ImportError> {
    match form {
        Edn::Keyword(name) | Edn::Str(name) | Edn::Symbol(name) => Ok(name.clone()),
        other => Err(field(line, "f", "a keyword naming the operation", other)),
    }
}

fn map_event(line: usize, form: &Edn, keyed: bool) -> Result<Event, ImportError> {
    let Edn::Map(pairs) = form else {
        return Err(field(
            line,
            "(event)",
            "a map {:process .. :type .. :f .. :value ..}",
            form,
        ));
    };
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| *key == Edn::Keyword(name.to_string()))
            .map(|(_, value)| value)
    };
    let missing = Edn::Symbol("nothing".to_string());
    let process = process_of(line, get("process").unwrap_or(&missing))?;
    let kind = type_of(line, get("type").unwrap_or(&missing))?;
    let f = name_of(line, get("f").unwrap_or(&missing))?;
    let time_ns = match get("time") {
        None => None,
        Some(Edn::Int(time)) if *time >= 0 => Some(*time as u64),
        Some(other) => return Err(field(line, "time", "nanoseconds as an integer >= 0", other)),
    };
    event(
        line,
        process,
        kind,
        f,
        get("value").unwrap_or(&Edn::Nil),
        time_ns,
        keyed,
    )
}

fn syntax(error: edn::SyntaxError) -> ImportError {
    ImportError::Syntax {
        line: error.line,
        expected: error.expected,
    }
}

/// Reads a Jepsen/Knossos EDN history: maps one after the other, or one vector of maps.
pub fn read_edn(text: &str, keyed: bool) -> Result<History, ImportError> {
    let mut reader = Reader::new(text, 1);
    reader.enter_top_level_seq();
    let mut forms = Vec::new();
    while let Some(form) = reader.next_form().map_err(syntax)? {
        forms.push(form);
    }
    let events = forms
        .iter()
        .map(|(line, form)| map_event(*line, form, keyed).map(|event| (*line, event)));
    Ok(pair_events(events.collect::<Result<Vec<_>, _>>()?)?)
}

/// Reads a Jepsen text log: lines `... jepsen.util - PROCESS<TAB>:TYPE<TAB>:F<TAB>VALUE`;
/// other lines are skipped.
pub fn read_etcd_log(text: &str, keyed: bool) -> Result<History, ImportError> {
    let mut events = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let Some((_, record)) = raw.split_once("jepsen.util - ") else {
            continue;
        };
        let fields: Vec<&str> = record.splitn(4, '\t').collect();
        if fields.len() < 3 {
            return Err(ImportError::Syntax {
                line,
                expected: "PROCESS, TYPE, F and VALUE separated by tabs".to_string(),
            });
        }
        let form = |text: &str| -> Result<Edn, ImportError> {
            Reader::new(text, line)
                .next_form()
                .map_err(syntax)
                .map(|form| form.map_or(Edn::Nil, |(_, form)| form))
        };
        let process = process_of(line, &form(fields[0])?)?;
        let kind = type_of(line, &form(fields[1])?)?;
        let f = name_of(line, &form(fields[2])?)?;
        let value_text = fields.get(3).copied().unwrap_or("nil");
        let value = match Reader::new(value_text, line).next_form() {
            Ok(parsed) => parsed.map_or(Edn::Nil, |(_, form)| form),
            Err(_) if process == Process::Nemesis || kind == EventType::Info => {
                Edn::Str(value_text.to_string())
            }
            Err(error) => return Err(syntax(error)),
        };
        events.push((line, event(line, process, kind, f, &value, None, keyed)?));
    }
    Ok(pair_events(events)?)
}
