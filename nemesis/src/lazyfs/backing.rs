//! Mirroring what an fsync made durable into the backing directory, so that it always
//! holds the durable image and nothing newer.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::image::{remove_any, MAX_DEPTH};
use super::model::DiskModel;
use super::ops::{Ino, NodeKind, Op};
use super::LazyFsError;

/// Apply the file operations an fsync of `ino` made durable to its backing file, if the
/// durable namespace names it (otherwise its durable data lives in memory until a directory
/// fsync names it).
pub(crate) fn mirror_file_ops(
    root: &Path,
    model: &DiskModel,
    ino: Ino,
    ops: &[Op],
) -> Result<(), LazyFsError> {
    let Some(relative) = model.durable_path(ino) else {
        return Ok(());
    };
    let path = root.join(relative);
    let error = |source| LazyFsError::Backing {
        path: path.clone(),
        source,
    };
    let file = match OpenOptions::new().write(true).open(&path) {
        Ok(file) => file,
        Err(_) => return write_file(&path, model, ino),
    };
    for op in ops {
        match op {
            Op::Write {
                offset,
                data,
                misdirect_to,
                ..
            } => file
                .write_all_at(data, misdirect_to.unwrap_or(*offset))
                .map_err(error)?,
            Op::Truncate { len, .. } => file.set_len(*len).map_err(error)?,
            _ => {}
        }
    }
    Ok(())
}

/// Bring the backing copies of the directories and names the directory operations `ops`
/// changed in line with the durable namespace (already updated by the model).
pub(crate) fn mirror_dir_ops(
    root: &Path,
    model: &DiskModel,
    ops: &[Op],
) -> Result<(), LazyFsError> {
    let mut changed: BTreeMap<Ino, BTreeSet<String>> = BTreeMap::new();
    for op in ops {
        match op {
            Op::Link { dir, name, .. } | Op::Unlink { dir, name } => {
                changed.entry(*dir).or_default().insert(name.clone());
            }
            Op::Rename {
                from_dir,
                from_name,
                to_dir,
                to_name,
                ..
            } => {
                changed
                    .entry(*from_dir)
                    .or_default()
                    .insert(from_name.clone());
                changed.entry(*to_dir).or_default().insert(to_name.clone());
            }
            Op::Write { .. } | Op::Truncate { .. } => {}
        }
    }
    for (dir, names) in changed {
        let Some(relative) = model.durable_path(dir) else {
            continue;
        };
        let dir_path = root.join(relative);
        let entries: BTreeMap<String, (Ino, NodeKind)> = model
            .durable_entries(dir)
            .into_iter()
            .map(|(name, ino, kind)| (name, (ino, kind)))
            .collect();
        for name in names {
            let path = dir_path.join(&name);
            remove_any(&path)?;
            if let Some(&(ino, _)) = entries.get(&name) {
                write_subtree(&path, model, ino, 0)?;
            }
        }
    }
    Ok(())
}

fn write_subtree(
    path: &Path,
    model: &DiskModel,
    ino: Ino,
    depth: usize,
) -> Result<(), LazyFsError> {
    if model.durable_content(ino).is_ok() {
        return write_file(path, model, ino);
    }
    if depth >= MAX_DEPTH {
        return Err(LazyFsError::Unsupported {
            path: path.to_path_buf(),
            reason: "nesting deeper than 64 directories".into(),
        });
    }
    fs::create_dir(path).map_err(|source| LazyFsError::Backing {
        path: path.to_path_buf(),
        source,
    })?;
    for (name, child, _) in model.durable_entries(ino) {
        write_subtree(&path.join(name), model, child, depth + 1)?;
    }
    Ok(())
}

fn write_file(path: &Path, model: &DiskModel, ino: Ino) -> Result<(), LazyFsError> {
    let content = model
        .durable_content(ino)
        .map_err(|source| LazyFsError::Operation {
            operation: format!("durable content of inode {ino}"),
            source,
        })?;
    fs::write(path, content).map_err(|source| LazyFsError::Backing {
        path: PathBuf::from(path),
        source,
    })
}
