//! JSON lines: streaming reader and writer of events (layout in `FORMAT.md`).

use crate::{Event, EventType, Process, Value};
use std::io::{BufRead, Write};

/// A line of a history file that is not a valid event. Malformed input, never a verdict.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The file could not be read.
    #[error("line {line}: cannot read: {source}")]
    Io {
        /// 1-based line number being read.
        line: usize,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The line is not one JSON object.
    #[error("line {line}: expected one JSON object per line: {message}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What the JSON parser said.
        message: String,
    },
    /// A field is missing or has the wrong type.
    #[error("line {line}: field `{field}`: expected {expected}, found {found}")]
    Field {
        /// 1-based line number.
        line: usize,
        /// The field's name.
        field: &'static str,
        /// What the field must hold.
        expected: &'static str,
        /// What the line holds instead.
        found: String,
    },
}

/// Reads events from JSON lines, one per line; blank lines and lines starting with `#` are
/// skipped. Yields `(line number, event)`; a malformed line is an error naming the line and
/// field, after which the reader stops.
pub struct HistoryReader<R> {
    input: R,
    line_number: usize,
    buffer: String,
    failed: bool,
}

impl<R: BufRead> HistoryReader<R> {
    /// Reads from `input`.
    pub fn new(input: R) -> Self {
        HistoryReader {
            input,
            line_number: 0,
            buffer: String::new(),
            failed: false,
        }
    }
}

impl<R: BufRead> Iterator for HistoryReader<R> {
    type Item = Result<(usize, Event), FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.failed {
            self.buffer.clear();
            self.line_number += 1;
            let line = self.line_number;
            match self.input.read_line(&mut self.buffer) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(source) => {
                    self.failed = true;
                    return Some(Err(FormatError::Io { line, source }));
                }
            }
            let text = self.buffer.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let parsed = parse_event(line, text);
            self.failed = parsed.is_err();
            return Some(parsed.map(|event| (line, event)));
        }
        None
    }
}

fn field_error(
    line: usize,
    field: &'static str,
    expected: &'static str,
    found: String,
) -> FormatError {
    FormatError::Field {
        line,
        field,
        expected,
        found,
    }
}

/// Parses one JSON line into an event.
pub(crate) fn parse_event(line: usize, text: &str) -> Result<Event, FormatError> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|error| FormatError::Syntax {
            line,
            message: error.to_string(),
        })?;
    let serde_json::Value::Object(object) = json else {
        return Err(FormatError::Syntax {
            line,
            message: "not an object".to_string(),
        });
    };
    let missing = || "nothing".to_string();
    let process = match object.get("process") {
        Some(serde_json::Value::Number(number)) if number.as_u64().is_some() => {
            Process::Client(number.as_u64().unwrap_or_default())
        }
        Some(serde_json::Value::String(name)) if name == "nemesis" => Process::Nemesis,
        other => {
            let found = other.map_or_else(missing, |json| json.to_string());
            return Err(field_error(
                line,
                "process",
                "a client id (integer >= 0) or \"nemesis\"",
                found,
            ));
        }
    };
    let kind = match object.get("type") {
        Some(serde_json::Value::String(name)) if EventType::from_name(name).is_some() => {
            EventType::from_name(name).unwrap_or(EventType::Info)
        }
        other => {
            let found = other.map_or_else(missing, |json| json.to_string());
            return Err(field_error(
                line,
                "type",
                "\"invoke\", \"ok\", \"fail\" or \"info\"",
                found,
            ));
        }
    };
    let f = match object.get("f") {
        Some(serde_json::Value::String(name)) if !name.is_empty() => name.clone(),
        other => {
            let found = other.map_or_else(missing, |json| json.to_string());
            return Err(field_error(
                line,
                "f",
                "a non-empty string naming the operation",
                found,
            ));
        }
    };
    let value_expected = "null, a boolean, an integer, a string or an array of those";
    let key = match object.get("key") {
        None | Some(serde_json::Value::Null) => None,
        Some(json) => Some(
            Value::from_json(json)
                .map_err(|found| field_error(line, "key", value_expected, found))?,
        ),
    };
    let value = match object.get("value") {
        None => Value::Nil,
        Some(json) => Value::from_json(json)
            .map_err(|found| field_error(line, "value", value_expected, found))?,
    };
    let time_ns = match object.get("time") {
        None => None,
        Some(serde_json::Value::Number(number)) if number.as_u64().is_some() => number.as_u64(),
        Some(other) => {
            return Err(field_error(
                line,
                "time",
                "nanoseconds as an integer >= 0",
                other.to_string(),
            ))
        }
    };
    for name in object.keys() {
        if !matches!(
            name.as_str(),
            "process" | "type" | "f" | "key" | "value" | "time"
        ) {
            return Err(field_error(
                line,
                "(unknown)",
                "only process, type, f, key, value, time",
                name.clone(),
            ));
        }
    }
    Ok(Event {
        process,
        kind,
        f,
        key,
        value,
        time_ns,
    })
}

/// Renders one event as a JSON line (without the newline).
pub(crate) fn event_to_line(event: &Event) -> String {
    let mut object = serde_json::Map::new();
    let process = match event.process {
        Process::Client(id) => serde_json::Value::from(id),
        Process::Nemesis => serde_json::Value::from("nemesis"),
    };
    object.insert("process".into(), process);
    object.insert("type".into(), event.kind.name().into());
    object.insert("f".into(), event.f.clone().into());
    if let Some(key) = &event.key {
        object.insert("key".into(), key.to_json());
    }
    object.insert("value".into(), event.value.to_json());
    if let Some(time) = event.time_ns {
        object.insert("time".into(), time.into());
    }
    serde_json::Value::Object(object).to_string()
}

/// Writes events as JSON lines, one `write` per event, nothing buffered beyond `W`.
pub struct HistoryWriter<W> {
    output: W,
}

impl<W: Write> HistoryWriter<W> {
    /// Writes to `output`.
    pub fn new(output: W) -> Self {
        HistoryWriter { output }
    }

    /// Appends one event as a line.
    pub fn write(&mut self, event: &Event) -> std::io::Result<()> {
        writeln!(self.output, "{}", event_to_line(event))
    }

    /// Flushes and returns the output.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.output.flush()?;
        Ok(self.output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut event = Event::client(
            3,
            EventType::Ok,
            "cas",
            Value::List(vec![1.into(), 2.into()]),
        );
        event.key = Some("x".into());
        event.time_ns = Some(17);
        let nemesis = Event {
            process: Process::Nemesis,
            kind: EventType::Info,
            f: "kill".into(),
            key: None,
            value: "n1".into(),
            time_ns: Some(20),
        };
        let mut writer = HistoryWriter::new(Vec::new());
        writer.write(&event).unwrap();
        writer.write(&nemesis).unwrap();
        let bytes = writer.finish().unwrap();
        let text = format!("# a comment\n\n{}", String::from_utf8(bytes).unwrap());
        let events: Vec<_> = HistoryReader::new(text.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(events, vec![(3, event), (4, nemesis)]);
    }

    #[test]
    fn malformed_lines_name_line_and_field() {
        let cases = [
            ("{\"process\":0,\"type\":\"ok\",\"f\":\"read\"}\n{\"process\":-1,\"type\":\"ok\",\"f\":\"r\"}", 2, "process"),
            ("{\"process\":0,\"type\":\"done\",\"f\":\"read\"}", 1, "type"),
            ("{\"process\":0,\"type\":\"ok\"}", 1, "f"),
            ("{\"process\":0,\"type\":\"ok\",\"f\":\"r\",\"value\":1.5}", 1, "value"),
            ("{\"process\":0,\"type\":\"ok\",\"f\":\"r\",\"time\":\"x\"}", 1, "time"),
        ];
        for (text, want_line, want_field) in cases {
            let error = HistoryReader::new(text.as_bytes())
                .find_map(Result::err)
                .unwrap();
            match error {
                FormatError::Field { line, field, .. } => {
                    assert_eq!((line, field), (want_line, want_field), "{text}")
                }
                other => panic!("{other}"),
            }
        }
        let error = HistoryReader::new("{oops".as_bytes())
            .next()
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(error, FormatError::Syntax { line: 1, .. }),
            "{error}"
        );
    }
}
