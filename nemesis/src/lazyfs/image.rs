//! [`DiskImage`]: a whole tree as plain data (path to directory or file content). A durable
//! image is loaded from and written to the backing directory; crash states are images.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use super::ops::{Entries, Ino, NodeKind, ROOT_INO};
use super::LazyFsError;

/// Deepest directory nesting an image may have (a bound on every tree walk).
pub const MAX_DEPTH: usize = 64;

/// One node of an image.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ImageNode {
    /// A directory (its entries are the paths below it).
    Dir,
    /// A regular file and its content.
    File(Vec<u8>),
}

/// A tree: `/`-separated path relative to the root (never empty) to node. Invariant: every
/// path's parent is present as a [`ImageNode::Dir`] (or is the root).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DiskImage {
    /// The nodes, parents sorted before their children.
    pub nodes: BTreeMap<String, ImageNode>,
}

impl DiskImage {
    /// The content of the file at `path`, if there is one.
    pub fn file(&self, path: &str) -> Option<&[u8]> {
        match self.nodes.get(path) {
            Some(ImageNode::File(content)) => Some(content),
            _ => None,
        }
    }

    /// Total file bytes.
    pub fn content_bytes(&self) -> u64 {
        self.nodes
            .values()
            .map(|node| match node {
                ImageNode::File(content) => content.len() as u64,
                ImageNode::Dir => 0,
            })
            .sum()
    }

    /// Panics unless every path's parent is a directory of the image (for tests).
    pub fn check_invariants(&self) {
        for path in self.nodes.keys() {
            assert!(
                !path.is_empty() && !path.split('/').any(str::is_empty),
                "malformed path {path:?}"
            );
            if let Some((parent, _)) = path.rsplit_once('/') {
                assert_eq!(
                    self.nodes.get(parent),
                    Some(&ImageNode::Dir),
                    "parent of {path:?}"
                );
            }
        }
    }

    /// Build the image reachable from the root of a namespace.
    pub(crate) fn from_namespace(
        entries: &Entries,
        kinds: &HashMap<Ino, NodeKind>,
        content: impl Fn(Ino) -> Vec<u8>,
    ) -> Self {
        let mut image = DiskImage::default();
        let mut stack = vec![(ROOT_INO, String::new(), 0usize)];
        let mut visited = HashSet::from([ROOT_INO]);
        while let Some((dir, prefix, depth)) = stack.pop() {
            let Some(children) = entries.get(&dir) else {
                continue;
            };
            for (name, &ino) in children {
                let path = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}/{name}")
                };
                match kinds.get(&ino) {
                    Some(NodeKind::File) => {
                        image.nodes.insert(path, ImageNode::File(content(ino)));
                    }
                    Some(NodeKind::Dir) if depth < MAX_DEPTH && visited.insert(ino) => {
                        image.nodes.insert(path.clone(), ImageNode::Dir);
                        stack.push((ino, path, depth + 1));
                    }
                    _ => {}
                }
            }
        }
        image
    }

    /// Load the tree under `dir` (regular files and directories only).
    pub fn load(dir: &Path) -> Result<Self, LazyFsError> {
        let mut image = DiskImage::default();
        let mut stack = vec![(dir.to_path_buf(), String::new(), 0usize)];
        while let Some((path, prefix, depth)) = stack.pop() {
            let listing = fs::read_dir(&path).map_err(|source| backing(&path, source))?;
            for entry in listing {
                let entry = entry.map_err(|source| backing(&path, source))?;
                let child = entry.path();
                let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                    return Err(unsupported(&child, "a name that is not UTF-8"));
                };
                let relative = if prefix.is_empty() {
                    name
                } else {
                    format!("{prefix}/{name}")
                };
                let kind = entry
                    .file_type()
                    .map_err(|source| backing(&child, source))?;
                if kind.is_dir() {
                    if depth + 1 >= MAX_DEPTH {
                        return Err(unsupported(&child, "nesting deeper than 64 directories"));
                    }
                    image.nodes.insert(relative.clone(), ImageNode::Dir);
                    stack.push((child, relative, depth + 1));
                } else if kind.is_file() {
                    let content = fs::read(&child).map_err(|source| backing(&child, source))?;
                    image.nodes.insert(relative, ImageNode::File(content));
                } else {
                    return Err(unsupported(&child, "only regular files and directories"));
                }
            }
        }
        Ok(image)
    }

    /// Replace everything under `dir` with this image (the directory itself stays).
    pub fn store(&self, dir: &Path) -> Result<(), LazyFsError> {
        let listing = fs::read_dir(dir).map_err(|source| backing(dir, source))?;
        for entry in listing {
            let entry = entry.map_err(|source| backing(dir, source))?;
            remove_any(&entry.path())?;
        }
        for (relative, node) in &self.nodes {
            let path = dir.join(relative);
            match node {
                ImageNode::Dir => fs::create_dir(&path).map_err(|source| backing(&path, source))?,
                ImageNode::File(content) => {
                    fs::write(&path, content).map_err(|source| backing(&path, source))?
                }
            }
        }
        Ok(())
    }
}

/// Remove a file or a whole directory tree at `path`; absent is fine.
pub(crate) fn remove_any(path: &Path) -> Result<(), LazyFsError> {
    let result = match fs::symlink_metadata(path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => Err(error),
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
    };
    result.map_err(|source| backing(path, source))
}

fn backing(path: &Path, source: std::io::Error) -> LazyFsError {
    LazyFsError::Backing {
        path: path.to_path_buf(),
        source,
    }
}

fn unsupported(path: &Path, reason: &str) -> LazyFsError {
    LazyFsError::Unsupported {
        path: PathBuf::from(path),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_then_load_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut image = DiskImage::default();
        image.nodes.insert("a".into(), ImageNode::Dir);
        image
            .nodes
            .insert("a/f".into(), ImageNode::File(b"hello".to_vec()));
        image.nodes.insert("g".into(), ImageNode::File(Vec::new()));
        fs::write(dir.path().join("stale"), b"x").expect("write");
        image.store(dir.path()).expect("store");
        assert_eq!(DiskImage::load(dir.path()).expect("load"), image);
    }
}
