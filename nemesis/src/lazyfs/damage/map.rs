//! Where damage placed at rest still is, and whether anyone has read it: a damaged byte range
//! per path, forgotten when it is rewritten or its name goes away, moved when its file is
//! renamed. A read of a damaged range is reported once (`damage-read` in the fault log), so
//! a checker can hold a system that read damaged data to having detected it.

/// One damaged byte range of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DamagedRange {
    /// The file's path relative to the mount point.
    pub(crate) path: String,
    /// First damaged byte.
    pub(crate) start: u64,
    /// One past the last damaged byte.
    pub(crate) end: u64,
    /// What damaged it (`bit-rot`, `misplaced-file`).
    pub(crate) cause: &'static str,
    /// Whether a read has touched it since.
    pub(crate) read: bool,
}

/// The damaged ranges of a mount.
#[derive(Debug, Default)]
pub(crate) struct DamageMap {
    ranges: Vec<DamagedRange>,
}

fn overlaps(range: &DamagedRange, start: u64, end: u64) -> bool {
    range.start < end && start < range.end
}

impl DamageMap {
    /// Whether no damage is tracked (the common case: every hook returns at once).
    pub(crate) fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Tracks `[start, end)` of `path` as damaged by `cause`.
    pub(crate) fn add(&mut self, path: &str, start: u64, end: u64, cause: &'static str) {
        self.ranges.push(DamagedRange {
            path: path.to_owned(),
            start,
            end,
            cause,
            read: false,
        });
    }

    /// A read of `[start, end)` of `path`: the ranges it touches for the first time.
    pub(crate) fn read(&mut self, path: &str, start: u64, end: u64) -> Vec<DamagedRange> {
        let mut first = Vec::new();
        for range in &mut self.ranges {
            if !range.read && range.path == path && overlaps(range, start, end) {
                range.read = true;
                first.push(range.clone());
            }
        }
        first
    }

    /// A write of `[start, end)` of `path`: ranges it touches are no longer (only) damage.
    pub(crate) fn written(&mut self, path: &str, start: u64, end: u64) {
        self.ranges
            .retain(|range| !(range.path == path && overlaps(range, start, end)));
    }

    /// `path` was truncated to `len`: ranges past it are gone.
    pub(crate) fn truncated(&mut self, path: &str, len: u64) {
        self.ranges
            .retain(|range| !(range.path == path && range.end > len));
    }

    /// `path` was removed or replaced: its damage went with it.
    pub(crate) fn forget(&mut self, path: &str) {
        self.ranges.retain(|range| range.path != path);
    }

    /// `from` was renamed to `to` (replacing whatever `to` was).
    pub(crate) fn renamed(&mut self, from: &str, to: &str) {
        self.forget(to);
        for range in &mut self.ranges {
            if range.path == from {
                to.clone_into(&mut range.path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_range_is_reported_once_and_forgotten_when_rewritten_or_gone() {
        let mut map = DamageMap::default();
        map.add("wal/1", 100, 101, "bit-rot");
        assert!(
            map.read("wal/1", 0, 100).is_empty(),
            "ends before the damage"
        );
        assert!(map.read("wal/2", 0, 4096).is_empty(), "another file");
        assert_eq!(map.read("wal/1", 64, 128).len(), 1);
        assert!(map.read("wal/1", 64, 128).is_empty(), "reported once");
        map.add("blobs/a", 0, 10, "misplaced-file");
        map.renamed("blobs/a", "blobs/b");
        assert_eq!(map.read("blobs/b", 0, 10).len(), 1, "moved with its file");
        map.written("wal/1", 90, 110);
        map.forget("blobs/b");
        assert!(map.is_empty());
        map.add("x", 10, 20, "bit-rot");
        map.truncated("x", 5);
        assert!(map.is_empty());
    }
}
