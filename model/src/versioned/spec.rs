//! The sequential specification clients expect of one versioned key: every change gets the
//! next LSN as its version; "not modified" means "your version is the current one".

use stateright::semantics::SequentialSpec;

/// A client operation on the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyOp {
    /// Set the value.
    Put(u8),
    /// Add to the value (a missing key counts as 0).
    Patch(u8),
    /// Remove the key.
    Delete,
    /// Read the value unless the caller's version (if any) is the current one.
    GetIfModified(Option<u8>),
}

/// The answer to a [`KeyOp`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyRet {
    /// A change was made durable with this version.
    Changed { version: u8 },
    /// The caller's version is the current one.
    NotModified,
    /// The current value and version.
    Value { value: u8, version: u8 },
    /// The key does not exist (never written, or deleted).
    Missing,
}

/// The key as a linearizable store must behave: value, version, and the next LSN.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct VersionedKey {
    current: Option<(u8, u8)>,
    last_lsn: u8,
}

impl SequentialSpec for VersionedKey {
    type Op = KeyOp;
    type Ret = KeyRet;

    fn invoke(&mut self, op: &KeyOp) -> KeyRet {
        let value = self.current.map(|(value, _)| value);
        let changed = match *op {
            KeyOp::Put(new) => Some(Some(new)),
            KeyOp::Patch(delta) => Some(Some(value.unwrap_or(0).wrapping_add(delta))),
            KeyOp::Delete => Some(None),
            KeyOp::GetIfModified(_) => None,
        };
        if let Some(new_value) = changed {
            self.last_lsn += 1;
            let version = self.last_lsn;
            self.current = new_value.map(|value| (value, version));
            return KeyRet::Changed { version };
        }
        match (self.current, op) {
            (None, _) => KeyRet::Missing,
            (Some((_, version)), KeyOp::GetIfModified(Some(seen))) if *seen == version => {
                KeyRet::NotModified
            }
            (Some((value, version)), _) => KeyRet::Value { value, version },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::semantics::{ConsistencyTester, LinearizabilityTester};

    fn tester() -> LinearizabilityTester<u8, VersionedKey> {
        LinearizabilityTester::new(VersionedKey::default())
    }

    #[test]
    fn versions_are_consecutive_lsns() {
        let mut history = tester();
        history
            .on_invret(0, KeyOp::Put(1), KeyRet::Changed { version: 1 })
            .and_then(|h| h.on_invret(1, KeyOp::Delete, KeyRet::Changed { version: 2 }))
            .and_then(|h| h.on_invret(0, KeyOp::GetIfModified(Some(1)), KeyRet::Missing))
            .expect("well formed");
        assert!(history.is_consistent());
        let mut reused = tester();
        reused
            .on_invret(0, KeyOp::Put(1), KeyRet::Changed { version: 1 })
            .and_then(|h| h.on_invret(1, KeyOp::Patch(2), KeyRet::Changed { version: 1 }))
            .expect("well formed");
        assert!(!reused.is_consistent());
    }

    #[test]
    fn an_unanswered_change_may_or_may_not_have_happened() {
        // The put was cut off by a crash; a later read may see it or not.
        for seen in [
            KeyRet::Missing,
            KeyRet::Value {
                value: 1,
                version: 1,
            },
        ] {
            let mut history = tester();
            history
                .on_invoke(0, KeyOp::Put(1))
                .and_then(|h| h.on_invret(1, KeyOp::GetIfModified(None), seen))
                .expect("well formed");
            assert!(history.is_consistent(), "{seen:?}");
        }
    }

    #[test]
    fn not_modified_only_for_the_current_version() {
        let mut history = tester();
        history
            .on_invret(0, KeyOp::Put(1), KeyRet::Changed { version: 1 })
            .and_then(|h| h.on_invret(0, KeyOp::Put(2), KeyRet::Changed { version: 2 }))
            .and_then(|h| h.on_invret(1, KeyOp::GetIfModified(Some(1)), KeyRet::NotModified))
            .expect("well formed");
        assert!(!history.is_consistent());
    }
}
