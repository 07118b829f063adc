//! Diagnostics: every problem found in a configuration, with its place.
//!
//! Validation never stops at the first problem: it collects them all so `widgetgate check`
//! prints everything a user has to fix in one run.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::yaml::Mark;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The configuration cannot be served.
    Error,
    /// Served, but probably not what the user meant.
    Warning,
}

/// One problem at one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file the problem is in.
    pub file: PathBuf,
    /// Where in the file.
    pub mark: Mark,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}: {}: {}",
            self.file.display(),
            self.mark,
            level,
            self.message
        )
    }
}

/// The problems found while loading one configuration.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Records an error at `mark` in `file`.
    pub fn error(&mut self, file: &Path, mark: Mark, message: impl Into<String>) {
        self.push(file, mark, Severity::Error, message.into());
    }

    /// Records a warning at `mark` in `file`.
    pub fn warn(&mut self, file: &Path, mark: Mark, message: impl Into<String>) {
        self.push(file, mark, Severity::Warning, message.into());
    }

    fn push(&mut self, file: &Path, mark: Mark, severity: Severity, message: String) {
        self.items.push(Diagnostic {
            file: file.to_path_buf(),
            mark,
            severity,
            message,
        });
    }

    /// Whether any error (not only warnings) was recorded.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// All problems, sorted by file and position.
    pub fn sorted(&self) -> Vec<Diagnostic> {
        let mut items = self.items.clone();
        items.sort_by(|a, b| {
            (&a.file, a.mark.line, a.mark.col).cmp(&(&b.file, b.mark.line, b.mark.col))
        });
        items
    }

    /// Whether nothing at all was recorded.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in self.sorted() {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}
