//! What a system under test promises for each kind of fault (store/SERVE.md, "Stating
//! promises"): to `survive` it (keep every acknowledged write, stay linearizable) or to `detect`
//! it (it may lose data, but never return corrupt data as valid). A fault kind it makes no
//! promise about is not held against it: the runner does not inject it.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use super::schedule::FaultKind;

/// One promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Promise {
    /// Nothing acknowledged is lost and the history stays linearizable.
    Survive,
    /// Data may be lost, but no read returns a value that was never written.
    Detect,
}

/// Errors reading promises.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PromiseError {
    /// A promise that is neither `survive` nor `detect`.
    #[error("promise for {fault:?} is {found:?}; expected \"survive\" or \"detect\"")]
    UnknownPromise {
        /// The fault kind.
        fault: String,
        /// The promise found.
        found: String,
    },
    /// A fault kind faultline does not know.
    #[error("unknown fault kind {fault:?} in promises; expected one of {expected}")]
    UnknownFault {
        /// The fault kind found.
        fault: String,
        /// The kinds faultline knows.
        expected: String,
    },
    /// The `--promises` text is not `fault=promise,...`.
    #[error("promises {text:?}: expected comma-separated fault=survive|detect pairs")]
    Malformed {
        /// The text given.
        text: String,
    },
    /// The `hello` answer carries no `promises` object.
    #[error("the system under test's hello answer has no \"promises\" object")]
    Missing,
}

/// The promise keys of store/SERVE.md.
const FAULT_KEYS: [&str; 7] = [
    "kill",
    "pause",
    "power_cut",
    "fsync_error",
    "disk_full",
    "bit_flip",
    "misplaced_write",
];

/// A system's promises, by the fault keys of store/SERVE.md.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Promises {
    by_fault: BTreeMap<String, Promise>,
}

impl Promises {
    /// Reads the `promises` object of a `hello` answer.
    pub fn from_hello(answer: &Map<String, Json>) -> Result<Self, PromiseError> {
        let Some(Json::Object(promises)) = answer.get("promises") else {
            return Err(PromiseError::Missing);
        };
        let mut by_fault = BTreeMap::new();
        for (fault, promise) in promises {
            let found = promise.as_str().unwrap_or_default();
            by_fault.insert(check_fault(fault)?, parse_promise(fault, found)?);
        }
        Ok(Promises { by_fault })
    }

    /// Reads `kill=survive,bit_flip=detect,...` as given on the command line.
    pub fn parse(text: &str) -> Result<Self, PromiseError> {
        let mut by_fault = BTreeMap::new();
        for pair in text
            .split(',')
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
        {
            let Some((fault, promise)) = pair.split_once('=') else {
                return Err(PromiseError::Malformed {
                    text: text.to_owned(),
                });
            };
            by_fault.insert(
                check_fault(fault.trim())?,
                parse_promise(fault, promise.trim())?,
            );
        }
        Ok(Promises { by_fault })
    }

    /// The promise made for faults of `kind`, if any. Resume and heal end faults and need none.
    pub fn for_fault(&self, kind: FaultKind) -> Option<Promise> {
        let key = match kind {
            FaultKind::Resume | FaultKind::Heal => return Some(Promise::Survive),
            FaultKind::KillOne | FaultKind::KillAll => "kill",
            FaultKind::Pause => "pause",
            FaultKind::PowerCut => "power_cut",
            FaultKind::FsyncEio => "fsync_error",
            FaultKind::Enospc => "disk_full",
            FaultKind::BitFlip | FaultKind::BitRot => "bit_flip",
            FaultKind::MisdirectedWrite | FaultKind::MisplacedBlob => "misplaced_write",
        };
        self.by_fault.get(key).copied()
    }

    /// The weakest promise over `kinds`: `Survive` only if every one is survived.
    pub fn weakest(&self, kinds: impl IntoIterator<Item = FaultKind>) -> Option<Promise> {
        let mut weakest = Some(Promise::Survive);
        for kind in kinds {
            weakest = match (weakest, self.for_fault(kind)) {
                (None, _) | (_, None) => None,
                (Some(a), Some(b)) => Some(a.max(b)),
            };
        }
        weakest
    }
}

/// `fault=promise` pairs, comma-separated, as [`Promises::parse`] reads them.
impl std::fmt::Display for Promises {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pairs: Vec<String> = self
            .by_fault
            .iter()
            .map(|(fault, promise)| {
                let promise = match promise {
                    Promise::Survive => "survive",
                    Promise::Detect => "detect",
                };
                format!("{fault}={promise}")
            })
            .collect();
        formatter.write_str(&pairs.join(","))
    }
}

fn check_fault(fault: &str) -> Result<String, PromiseError> {
    if FAULT_KEYS.contains(&fault) {
        Ok(fault.to_owned())
    } else {
        Err(PromiseError::UnknownFault {
            fault: fault.to_owned(),
            expected: FAULT_KEYS.join(", "),
        })
    }
}

fn parse_promise(fault: &str, found: &str) -> Result<Promise, PromiseError> {
    match found {
        "survive" => Ok(Promise::Survive),
        "detect" => Ok(Promise::Detect),
        _ => Err(PromiseError::UnknownPromise {
            fault: fault.to_owned(),
            found: found.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_and_command_line_agree() {
        let hello =
            serde_json::json!({"protocol":1,"promises":{"kill":"survive","bit_flip":"detect"}});
        let from_hello = Promises::from_hello(hello.as_object().unwrap()).unwrap();
        let from_text = Promises::parse("kill=survive, bit_flip=detect").unwrap();
        assert_eq!(from_hello, from_text);
        assert_eq!(
            from_text.for_fault(FaultKind::KillAll),
            Some(Promise::Survive)
        );
        assert_eq!(
            from_text.for_fault(FaultKind::BitFlip),
            Some(Promise::Detect)
        );
        assert_eq!(from_text.for_fault(FaultKind::PowerCut), None);
        assert_eq!(
            from_text.weakest([FaultKind::KillOne, FaultKind::BitFlip]),
            Some(Promise::Detect)
        );
        assert_eq!(
            from_text.weakest([FaultKind::KillOne, FaultKind::PowerCut]),
            None
        );
    }

    #[test]
    fn bad_promises_are_named() {
        assert!(matches!(
            Promises::parse("kill=maybe"),
            Err(PromiseError::UnknownPromise { .. })
        ));
        assert!(matches!(
            Promises::parse("meteor=survive"),
            Err(PromiseError::UnknownFault { .. })
        ));
        assert!(matches!(
            Promises::parse("kill"),
            Err(PromiseError::Malformed { .. })
        ));
        assert_eq!(
            Promises::from_hello(&Map::new()),
            Err(PromiseError::Missing)
        );
    }
}
