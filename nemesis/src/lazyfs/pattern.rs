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

/// Whole-path match: `**` is a star over components. Greedy two-pointer matching with one
/// backtrack point, O(pattern × path) at worst (no exponential blow-up).
fn match_components(pattern: &[String], path: &[&str]) -> bool {
    wildcard_match(
        pattern.len(),
        path.len(),
        |p| pattern[p] == "**",
        |p, i| match_component(pattern[p].as_bytes(), path[i].as_bytes()),
    )
}

/// One component: `*` any run of bytes, `?` one byte.
fn match_component(pattern: &[u8], name: &[u8]) -> bool {
    wildcard_match(
        pattern.len(),
        name.len(),
        |p| pattern[p] == b'*',
        |p, i| pattern[p] == b'?' || pattern[p] == name[i],
    )
}

/// Generic wildcard matching of a pattern of `pattern_len` items against `text_len` items,
/// where `is_star(p)` items match any run and `matches(p, i)` says whether pattern item `p`
/// matches text item `i`.
fn wildcard_match(
    pattern_len: usize,
    text_len: usize,
    is_star: impl Fn(usize) -> bool,
    matches: impl Fn(usize, usize) -> bool,
) -> bool {
    let (mut p, mut i) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while i < text_len {
        if p < pattern_len && is_star(p) {
            backtrack = Some((p, i));
            p += 1;
        } else if p < pattern_len && matches(p, i) {
            p += 1;
            i += 1;
        } else if let Some((star, start)) = backtrack {
            p = star + 1;
            i = start + 1;
            backtrack = Some((star, start + 1));
        } else {
            return false;
        }
    }
    while p < pattern_len && is_star(p) {
        p += 1;
    }
    p == pattern_len
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
    fn adversarial_patterns_stay_fast() {
        let name = "a".repeat(200);
        let pattern = format!("{}b", "*a".repeat(30));
        assert!(!matches(&pattern, &name));
        assert!(matches(&"*a".repeat(30), &name));
        assert!(!matches(
            &format!("{}x", "**/".repeat(20)),
            &"d/".repeat(40)
        ));
    }

    #[test]
    fn empty_patterns_are_refused() {
        assert!(PathPattern::new("").is_err());
        assert!(PathPattern::new("a//b").is_err());
    }
}
