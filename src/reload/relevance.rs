//! Which file events can change the served config.
//!
//! The watcher sees everything in the watched folders: the config and its files, but also
//! editors' helper files (vim's `4913` probe, `.swp` swap files, `~` backups) and whatever else
//! lives there. Measured behaviour (notes/crates.md §4): an atomic save names the config file; a
//! Kubernetes ConfigMap update only names `..data` and other `..`-prefixed entries. So an event
//! counts when it names one of the config's files, one of their folders (or a folder on the way
//! to one, being created), or a `..` entry. After a failed reload any other non-helper file
//! counts too: the fix may be a file the config does not name yet.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

/// The files and folders one config version depends on, and how to filter events for them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Relevance {
    files: BTreeSet<PathBuf>,
    dirs: BTreeSet<PathBuf>,
    loose: bool,
}

impl Relevance {
    /// Tracks `files` (any spelling; they are made absolute) and their folders. `loose` also lets
    /// through events for unknown files that are not editor helpers.
    pub fn new<'a>(files: impl IntoIterator<Item = &'a Path>, loose: bool) -> Self {
        let files: BTreeSet<PathBuf> = files.into_iter().map(normalize).collect();
        let dirs = files
            .iter()
            .filter_map(|f| f.parent().map(Path::to_path_buf))
            .collect();
        Relevance { files, dirs, loose }
    }

    /// The folders to watch, absolute.
    pub fn dirs(&self) -> &BTreeSet<PathBuf> {
        &self.dirs
    }

    /// Whether an event for `path` may change what the config serves.
    pub fn matters(&self, path: &Path) -> bool {
        let path = normalize(path);
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        name.starts_with("..")
            || self.files.contains(&path)
            || self.dirs.iter().any(|dir| dir.starts_with(&path))
            || (self.loose && !is_editor_helper(name))
    }
}

/// Whether `name` is a file editors create beside the one being edited.
pub fn is_editor_helper(name: &str) -> bool {
    let vim_swap = name.starts_with('.')
        && name
            .rsplit_once('.')
            .is_some_and(|(_, ext)| ext.len() == 3 && ext.starts_with("sw"));
    // vim probes whether it may write a folder by creating `4913` (then 5036, 5159, …).
    let vim_probe = !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit());
    vim_swap
        || vim_probe
        || name.ends_with('~')
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#'))
        || name.ends_with("___jb_tmp___")
        || name.ends_with("___jb_old___")
        || name.ends_with(".tmp")
        || name.ends_with(".kate-swp")
}

/// `path` made absolute, with `.` and `..` resolved by text (symlinks are not followed, so the
/// result names the same entry the watcher reports).
pub fn normalize(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relevance(loose: bool) -> Relevance {
        Relevance::new(
            [
                Path::new("/cfg/gateway.yaml"),
                Path::new("/cfg/widgets/./rows.json"),
                Path::new("/cfg/widgets/../notes.md"),
            ],
            loose,
        )
    }

    #[test]
    fn watches_the_folders_of_the_files() {
        let dirs: Vec<_> = relevance(false).dirs().iter().cloned().collect();
        assert_eq!(
            dirs,
            vec![PathBuf::from("/cfg"), PathBuf::from("/cfg/widgets")]
        );
    }

    #[test]
    fn the_config_its_files_its_folders_and_kubernetes_swaps_matter() {
        let r = relevance(false);
        for path in [
            "/cfg/gateway.yaml",
            "/cfg/widgets/rows.json",
            "/cfg/notes.md",
            "/cfg/widgets",
            "/cfg/..data",
            "/cfg/..data_tmp",
            "/cfg/..2026_11_24_10_00_00.123",
        ] {
            assert!(r.matters(Path::new(path)), "{path}");
        }
    }

    #[test]
    fn editor_helpers_and_unrelated_files_do_not() {
        for loose in [false, true] {
            let r = relevance(loose);
            for path in [
                "/cfg/4913",
                "/cfg/5036",
                "/cfg/.gateway.yaml.swp",
                "/cfg/.gateway.yaml.swx",
                "/cfg/gateway.yaml~",
                "/cfg/.#gateway.yaml",
                "/cfg/#gateway.yaml#",
                "/cfg/gateway.yaml___jb_tmp___",
                "/cfg/gateway.yaml.tmp",
            ] {
                assert!(!r.matters(Path::new(path)), "{path} (loose: {loose})");
            }
        }
        assert!(!relevance(false).matters(Path::new("/cfg/widgets/new.json")));
    }

    #[test]
    fn after_a_failure_new_files_matter() {
        assert!(relevance(true).matters(Path::new("/cfg/widgets/new.json")));
    }
}
