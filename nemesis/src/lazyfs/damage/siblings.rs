//! Which file a misplaced write lands on, and whose content it brings: a write that went astray
//! lands on a file of the same kind as the one it was meant for (another blob, another
//! snapshot), so the two must be siblings.
//!
//! Two files are siblings when they sit in one directory and either their names share
//! [`SIBLING_PREFIX_CHARS`] leading characters or their names are of one kind
//! ([`name_kind`]): content-addressed names such as `v-<sha256>` share little more than their
//! kind, and they are where a store keeps most of its files of one kind.

/// Leading characters of their names (after the directory) two files share to be siblings.
pub const SIBLING_PREFIX_CHARS: usize = 4;

/// Characters that end a name's kind.
const KIND_SEPARATORS: [char; 3] = ['-', '_', '.'];

/// The kind a file's name says it is: the name up to its first `-`, `_` or `.`, or the whole
/// name when it has none. `v-<sha256>.blob` is of kind `v`, `snap-<ns>-<pid>-<n>.blob` of kind
/// `snap`.
pub fn name_kind(name: &str) -> &str {
    name.split(KIND_SEPARATORS).next().unwrap_or(name)
}

/// The part of `path` after its last `/`, and the directory before it.
fn split_path(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(at) => (&path[..at], &path[at + 1..]),
        None => ("", path),
    }
}

/// Whether the files at `a` and `b` (paths relative to one root) are siblings.
pub fn are_siblings(a: &str, b: &str) -> bool {
    let ((a_dir, a_name), (b_dir, b_name)) = (split_path(a), split_path(b));
    if a_dir != b_dir || a_name == b_name {
        return false;
    }
    common_prefix(a_name, b_name) >= SIBLING_PREFIX_CHARS
        || (!name_kind(a_name).is_empty() && name_kind(a_name) == name_kind(b_name))
}

/// Chooses where a misplaced write lands among `paths` (newest first), given whether two of
/// them hold different content: the target is the file with the most siblings of different
/// content (the newest among equals: data a system still needs), and the source the sibling
/// whose name shares the longest prefix with the target's, the newest among equals. Returns
/// their positions in `paths` (target, source), or `None` when no file has such a sibling.
pub fn choose_misplacement(
    paths: &[&str],
    differs: impl Fn(usize, usize) -> bool,
) -> Option<(usize, usize)> {
    let siblings = |target: usize| -> Vec<usize> {
        (0..paths.len())
            .filter(|&other| {
                other != target
                    && are_siblings(paths[target], paths[other])
                    && differs(target, other)
            })
            .collect()
    };
    let mut best: Option<(usize, usize)> = None;
    for target in 0..paths.len() {
        let count = siblings(target).len();
        if count > 0 && best.is_none_or(|(_, most)| count > most) {
            best = Some((target, count));
        }
    }
    let (target, _) = best?;
    let mut source: Option<(usize, usize)> = None;
    for other in siblings(target) {
        let shared = common_prefix(paths[target], paths[other]);
        if source.is_none_or(|(_, longest)| shared > longest) {
            source = Some((other, shared));
        }
    }
    source.map(|(source, _)| (target, source))
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_of_the_kind_before_its_first_separator() {
        assert_eq!(name_kind("v-0a1b.blob"), "v");
        assert_eq!(name_kind("snap-1763900000-7-1.blob"), "snap");
        assert_eq!(name_kind("MANIFEST"), "MANIFEST");
        assert_eq!(name_kind(".hidden"), "");
    }

    #[test]
    fn content_addressed_blobs_are_siblings_and_other_kinds_or_directories_are_not() {
        assert!(are_siblings("s/blobs/v-0a.blob", "s/blobs/v-ff.blob"));
        assert!(are_siblings(
            "s/blobs/snap-1763900000-7-1.blob",
            "s/blobs/snap-1763900001-7-2.blob"
        ));
        assert!(are_siblings("s/wal/00000001.seg", "s/wal/00000002.seg"));
        assert!(!are_siblings("s/blobs/v-0a.blob", "s/blobs/snap-1.blob"));
        assert!(!are_siblings("s/blobs/v-0a.blob", "t/blobs/v-ff.blob"));
        assert!(!are_siblings("s/blobs/v-0a.blob", "s/blobs/v-0a.blob"));
        assert!(
            !are_siblings("s/.a", "s/.b"),
            "no kind and no shared prefix"
        );
    }

    #[test]
    fn the_target_is_the_newest_of_the_most_numerous_kind() {
        // Newest first: a fresh snapshot beside an older one, and three value blobs.
        let paths = [
            "blobs/snap-2.blob",
            "blobs/v-c3.blob",
            "blobs/snap-1.blob",
            "blobs/v-a1.blob",
            "blobs/v-b2.blob",
        ];
        let (target, source) = choose_misplacement(&paths, |_, _| true).unwrap();
        assert_eq!(paths[target], "blobs/v-c3.blob");
        assert_eq!(
            paths[source], "blobs/v-a1.blob",
            "the newest of equal prefixes"
        );
        let only_snapshots = ["blobs/snap-2.blob", "blobs/v-c3.blob", "blobs/snap-1.blob"];
        let (target, source) = choose_misplacement(&only_snapshots, |_, _| true).unwrap();
        assert_eq!(
            (only_snapshots[target], only_snapshots[source]),
            ("blobs/snap-2.blob", "blobs/snap-1.blob")
        );
    }

    #[test]
    fn a_sibling_with_the_same_content_is_no_source() {
        let paths = ["blobs/v-c3.blob", "blobs/v-a1.blob", "blobs/snap-1.blob"];
        assert_eq!(choose_misplacement(&paths, |_, _| false), None);
        let same_as_newest = |a: usize, b: usize| a.min(b) != 0 || a.max(b) != 1;
        assert_eq!(choose_misplacement(&paths, same_as_newest), None);
        let paths = ["blobs/v-c3.blob", "blobs/v-a1.blob", "blobs/v-c30.blob"];
        let (target, source) = choose_misplacement(&paths, |a, b| a + b != 1).unwrap();
        assert_eq!(
            (paths[target], paths[source]),
            ("blobs/v-c30.blob", "blobs/v-c3.blob"),
            "the one with two siblings of other content, from the longest shared prefix"
        );
    }
}
