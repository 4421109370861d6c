//! Turns the paths a user names into the list of `.edgeflow` files to check: files as
//! given, folders searched recursively, in a stable (sorted) order. Symbolic links are
//! followed (a file linked into a folder is checked like any other), and a link that
//! loops back is an error naming it, so nothing is skipped in silence.

use std::path::{Path, PathBuf};

#[derive(Debug)]
pub enum InputError {
    Missing(PathBuf),
    Unreadable { path: PathBuf, reason: String },
    NoSources(PathBuf),
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputError::Missing(path) => write!(f, "{}: no such file or folder", path.display()),
            InputError::Unreadable { path, reason } => write!(f, "{}: {reason}", path.display()),
            InputError::NoSources(path) => {
                write!(f, "{}: no .edgeflow files in this folder", path.display())
            }
        }
    }
}

pub fn source_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let found = folder_sources(path)?;
            if found.is_empty() {
                return Err(InputError::NoSources(path.clone()));
            }
            files.extend(found);
        } else if path.exists() {
            files.push(path.clone());
        } else {
            return Err(InputError::Missing(path.clone()));
        }
    }
    Ok(files)
}

fn folder_sources(folder: &Path) -> Result<Vec<PathBuf>, InputError> {
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(folder)
        .follow_links(true)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|error| InputError::Unreadable {
            path: error.path().unwrap_or(folder).to_path_buf(),
            reason: error.to_string(),
        })?;
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "edgeflow")
        {
            found.push(entry.into_path());
        }
    }
    Ok(found)
}
