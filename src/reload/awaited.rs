//! Files a failing config names, whether or not they exist yet.
//!
//! A config that references a file that is not there yet fails, and the parsed config forgets
//! the reference with the widget. Yet the file is exactly what the user will create next, maybe
//! in a folder that does not exist yet either: hot reload has to watch for it.

use std::path::{Path, PathBuf};

use crate::config::source::resolve_below;
use crate::yaml::{self, Node};

/// Source keys that name a file (see [`crate::config::SourceDef`]).
const FILE_KEYS: &[&str] = &["file", "template_file"];

/// Every file the config text at `config` names (widget and route sources, `apps_file`),
/// resolved below its folder; names that would leave the folder are left out.
pub fn named_files(config: &Path, text: &str) -> Vec<PathBuf> {
    let Ok(root) = yaml::parse(text) else {
        return Vec::new();
    };
    let base = config.parent().unwrap_or(Path::new("."));
    let sources = ["widgets", "routes"]
        .iter()
        .filter_map(|section| root.get(section))
        .flat_map(|section| section.entries().iter().map(|(_, entry)| entry));
    let mut names: Vec<&str> = sources
        .flat_map(|entry| FILE_KEYS.iter().filter_map(|k| entry.get(k)))
        .chain(root.get("apps_file"))
        .filter_map(Node::as_str)
        .collect();
    names.dedup();
    names
        .into_iter()
        .filter_map(|rel| resolve_below(base, rel).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sources_and_apps_files_that_do_not_exist() {
        let text = "apps_file: apps/apps.json\nwidgets:\n  a:\n    file: widgets/rows.json\n  \
                    b:\n    template_file: t/b.md.j2\n  c:\n    static: 1\n  \
                    d:\n    file: ../outside.json\nroutes:\n  /r:\n    file: r.json\n";
        let found = named_files(Path::new("/cfg/gateway.yaml"), text);
        let expected: Vec<PathBuf> = [
            "/cfg/widgets/rows.json",
            "/cfg/t/b.md.j2",
            "/cfg/r.json",
            "/cfg/apps/apps.json",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn broken_yaml_names_nothing() {
        assert!(named_files(Path::new("/cfg/gateway.yaml"), "widgets: [").is_empty());
    }
}
