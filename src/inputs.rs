//! The inputs of one config version: the config file and every file it references, and one
//! fingerprint over all of their contents.
//!
//! Hot reload watches the folders of these files and compares fingerprints, so a save that
//! changes nothing (same bytes written again, `touch`, an editor's backup dance) does not rebuild
//! the snapshot, while a change to a referenced file (a widget's JSON, a template) does.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::config::source::FileFrom;
use crate::config::udf::History;
use crate::config::{AppsDef, Config, SourceDef};
use crate::snapshot::hex;

/// The files one config version was read from, and their fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// The config file, as given to the gateway.
    pub config: PathBuf,
    /// Files the config references (`file:`, `template_file:`, `apps_file:`), in config order,
    /// each once; the config file itself is not among them.
    pub referenced: Vec<PathBuf>,
    /// SHA-256 (hex) over the config text and the contents of every referenced file.
    pub fingerprint: String,
}

impl Inputs {
    /// Reads the files `config` references and fingerprints them with the config's text.
    ///
    /// Call it before anything else reads those files for the same build: a file that changes
    /// after this read then differs from the fingerprint, and the next change event rebuilds
    /// instead of being taken for a no-op.
    pub fn read(config: &Config) -> Inputs {
        let referenced = referenced_files(config);
        let mut hasher = Sha256::new();
        feed(&mut hasher, &config.path, Some(config.text.as_bytes()));
        for file in &referenced {
            let bytes = std::fs::read(file).ok();
            feed(&mut hasher, file, bytes.as_deref());
        }
        Inputs {
            config: config.path.clone(),
            referenced,
            fingerprint: hex(&hasher.finalize()),
        }
    }

    /// The config file, then every referenced file.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        std::iter::once(self.config.as_path()).chain(self.referenced.iter().map(PathBuf::as_path))
    }
}

/// Adds one file to the fingerprint. Lengths delimit the fields, so no two different sets of
/// files hash alike by shifting bytes from one field into the next.
fn feed(hasher: &mut Sha256, path: &Path, contents: Option<&[u8]>) {
    let name = path.as_os_str().as_encoded_bytes();
    hasher.update((name.len() as u64).to_le_bytes());
    hasher.update(name);
    match contents {
        Some(bytes) => {
            hasher.update([1]);
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        }
        None => hasher.update([0]),
    }
}

/// Every file `config` reads besides itself, each once, in config order.
fn referenced_files(config: &Config) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut add = |path: &Path| {
        if path != config.path && !files.iter().any(|f| f == path) {
            files.push(path.to_path_buf());
        }
    };
    if let AppsDef::Given { file, .. } = &config.apps {
        add(file);
    }
    let sources = config
        .widgets
        .iter()
        .filter_map(|w| w.source.as_ref())
        .chain(config.routes.iter().map(|r| &r.source));
    for source in sources {
        for path in source_files(source) {
            add(path);
        }
    }
    files
}

/// The files a source reads. Every variant is named so that a new kind of source has to say
/// whether it reads files (and so whether hot reload watches them).
fn source_files(source: &SourceDef) -> Vec<&Path> {
    match source {
        SourceDef::File { path, .. } | SourceDef::TemplateFile { path, .. } => vec![path.as_path()],
        SourceDef::Files(offers) => offers
            .iter()
            .filter_map(|o| match &o.from {
                FileFrom::Path(p) => Some(p.as_path()),
                FileFrom::Url { .. } => None,
            })
            .collect(),
        SourceDef::Udf(def) => match &def.history {
            History::File(path) => vec![path.as_path()],
            History::Upstream(_) => Vec::new(),
        },
        SourceDef::Static(_) | SourceDef::Template { .. } | SourceDef::Upstream(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostics;

    fn parse(dir: &Path, text: &str) -> Config {
        let path = dir.join("gateway.yaml");
        let mut diags = Diagnostics::default();
        crate::config::parse_text(
            &path,
            text.to_string(),
            &crate::config::Env::Process,
            &mut diags,
        )
        .expect("parses")
    }

    const TEXT: &str = "widgets:\n  a:\n    name: A\n    file: rows.json\n  b:\n    name: B\n    type: markdown\n    template_file: note.md.j2\n  c:\n    name: C\n    file: rows.json\n";

    #[test]
    fn lists_referenced_files_once_and_tracks_their_contents() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("rows.json"), "[]").expect("write");
        std::fs::write(dir.path().join("note.md.j2"), "hi").expect("write");
        let config = parse(dir.path(), TEXT);
        let first = Inputs::read(&config);
        assert_eq!(
            first.referenced,
            vec![dir.path().join("rows.json"), dir.path().join("note.md.j2")]
        );
        assert_eq!(first.files().count(), 3);
        assert_eq!(Inputs::read(&config), first, "same bytes, same fingerprint");

        std::fs::write(dir.path().join("note.md.j2"), "hello").expect("write");
        let changed = Inputs::read(&config);
        assert_ne!(changed.fingerprint, first.fingerprint);

        std::fs::remove_file(dir.path().join("rows.json")).expect("remove");
        assert_ne!(Inputs::read(&config).fingerprint, changed.fingerprint);
    }

    #[test]
    fn the_config_text_is_part_of_the_fingerprint() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("rows.json"), "[]").expect("write");
        std::fs::write(dir.path().join("note.md.j2"), "hi").expect("write");
        let a = Inputs::read(&parse(dir.path(), TEXT));
        let b = Inputs::read(&parse(dir.path(), &format!("{TEXT}# a comment\n")));
        assert_ne!(a.fingerprint, b.fingerprint);
    }
}
