//! Path patterns (globs) that aim a fault at some files: `*` matches within one path
//! component, `?` one character of a component, `**` any number of whole components.
//! Patterns and paths are relative to the mount point, `/`-separated (`wal/*.wal`, `**`).

use super::LazyFsError;

/// A compiled path pattern. Invariant: no component is empty.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PathPattern {
    text: String,
    components: Vec<String>,
}

impl PathPattern {
    /// Compile `text`. A leading `/` is ignored; empty components (`a//b`) are refused.
    pub fn new(text: &str) -> Result<Self, LazyFsError> {
        let trimmed = text.trim_start_matches('/');
        if trimmed.is_empty() {
            return Err(LazyFsError::Pattern {
                pattern: text.to_owned(),
                reason: "empty pattern (use ** for every file)",
            });
        }
        let components: Vec<String> = trimmed.split('/').map(str::to_owned).collect();
        if components.iter().any(String::is_empty) {
            return Err(LazyFsError::Pattern {
                pattern: text.to_owned(),
                reason: "empty path component",
            });
        }
        Ok(Self {
            text: text.to_owned(),
            components,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `path` (relative to the mount point) matches.
    pub fn matches(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
        match_components(&self.components, &parts)
    }
}

fn match_components(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skip| match_components(rest, &path[skip..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((head, tail)) => {
                match_component(first.as_bytes(), head.as_bytes()) && match_components(rest, tail)
            }
            None => false,
        },
    }
}

fn match_component(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| match_component(rest, &name[skip..])),
        Some((b'?', rest)) => !name.is_empty() && match_component(rest, &name[1..]),
        Some((byte, rest)) => name.first() == Some(byte) && match_component(rest, &name[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::PathPattern;

    fn matches(pattern: &str, path: &str) -> bool {
        PathPattern::new(pattern)
            .expect("valid pattern")
            .matches(path)
    }

    #[test]
    fn star_stays_within_a_component() {
        assert!(matches("wal/*.wal", "wal/0001-0002.wal"));
        assert!(!matches("wal/*.wal", "wal/sub/0001.wal"));
        assert!(!matches("wal/*.wal", "blobs/x.wal"));
        assert!(matches("*", "MANIFEST"));
        assert!(!matches("*", "wal/a"));
    }

    #[test]
    fn double_star_spans_components() {
        assert!(matches("**", "a/b/c"));
        assert!(matches("**/*.tmp", "blobs/x.tmp"));
        assert!(matches("**/*.tmp", "x.tmp"));
        assert!(!matches("**/*.tmp", "x.blob"));
    }

    #[test]
    fn question_mark_is_one_character() {
        assert!(matches("f?le", "file"));
        assert!(!matches("f?le", "fle"));
    }

    #[test]
    fn empty_patterns_are_refused() {
        assert!(PathPattern::new("").is_err());
        assert!(PathPattern::new("a//b").is_err());
    }
}
