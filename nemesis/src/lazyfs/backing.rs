//! Mirroring what an fsync made durable into the backing directory, so that it always
//! holds the durable image and nothing newer.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::image::{remove_any, MAX_DEPTH};
use super::model::DiskModel;
use super::ops::{Ino, NodeKind, Op};
use super::LazyFsError;

/// Apply the file operations an fsync of `ino` made durable to its backing file, if the
/// durable namespace names it (otherwise its durable data lives in memory until a directory
/// fsync names it). With `sync`, the backing file is fsynced too.
pub(crate) fn mirror_file_ops(
    root: &Path,
    model: &DiskModel,
    ino: Ino,
    ops: &[Op],
    sync: bool,
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
        Err(_) => return write_file(&path, model, ino, sync),
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
    if sync {
        file.sync_data().map_err(error)?;
    }
    Ok(())
}

/// Bring the backing copies of the directories and names the directory operations `ops`
/// changed in line with the durable namespace (already updated by the model). With `sync`,
/// the files written and the directories changed are fsynced too.
pub(crate) fn mirror_dir_ops(
    root: &Path,
    model: &DiskModel,
    ops: &[Op],
    sync: bool,
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
                write_subtree(&path, model, ino, 0, sync)?;
            }
        }
        if sync {
            let sync_error = |source| LazyFsError::Backing {
                path: dir_path.clone(),
                source,
            };
            File::open(&dir_path)
                .and_then(|dir| dir.sync_all())
                .map_err(sync_error)?;
        }
    }
    Ok(())
}

fn write_subtree(
    path: &Path,
    model: &DiskModel,
    ino: Ino,
    depth: usize,
    sync: bool,
) -> Result<(), LazyFsError> {
    if model.durable_content(ino).is_ok() {
        return write_file(path, model, ino, sync);
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
        write_subtree(&path.join(name), model, child, depth + 1, sync)?;
    }
    Ok(())
}

/// Rewrite the backing file of `ino` with its whole durable content (after damage to data at
/// rest), if the durable namespace names it.
pub(crate) fn mirror_durable_file(
    root: &Path,
    model: &DiskModel,
    ino: Ino,
    sync: bool,
) -> Result<(), LazyFsError> {
    match model.durable_path(ino) {
        Some(relative) => write_file(&root.join(relative), model, ino, sync),
        None => Ok(()),
    }
}

fn write_file(path: &Path, model: &DiskModel, ino: Ino, sync: bool) -> Result<(), LazyFsError> {
    let content = model
        .durable_content(ino)
        .map_err(|source| LazyFsError::Operation {
            operation: format!("durable content of inode {ino}"),
            source,
        })?;
    let written = File::create(path).and_then(|mut file| {
        file.write_all(content)?;
        if sync {
            file.sync_data()?;
        }
        Ok(())
    });
    written.map_err(|source| LazyFsError::Backing {
        path: PathBuf::from(path),
        source,
    })
}
