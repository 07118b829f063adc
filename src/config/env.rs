//! `${VAR}` references in config values, resolved per value after parsing (never by text
//! substitution, so a value can never inject YAML).
//!
//! `${VAR}` reads the environment variable `VAR`, or, when `VAR_FILE` is set, the contents of
//! that file (the Docker/Kubernetes secrets convention). `${VAR:-default}` falls back to
//! `default` when `VAR` is unset or empty.

use std::collections::HashMap;

/// Where variables come from: the process environment, or a fixed map in tests.
#[derive(Debug, Clone, Default)]
pub enum Env {
    /// The process environment.
    #[default]
    Process,
    /// A fixed set of variables.
    Map(HashMap<String, String>),
}

/// A value with `${…}` references, or why it cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// The value with every reference replaced.
    Value(String),
    /// A referenced variable has no value (its name).
    Missing(String),
}

impl Env {
    /// The value of `name`, or of the file named by `name_FILE`.
    pub fn var(&self, name: &str) -> Option<String> {
        let direct = match self {
            Env::Process => std::env::var(name).ok(),
            Env::Map(m) => m.get(name).cloned(),
        };
        if let Some(v) = direct.filter(|v| !v.is_empty()) {
            return Some(v);
        }
        let file_var = format!("{name}_FILE");
        let path = match self {
            Env::Process => std::env::var(&file_var).ok(),
            Env::Map(m) => m.get(&file_var).cloned(),
        }?;
        let text = std::fs::read_to_string(path).ok()?;
        let trimmed = text.trim_end_matches(['\n', '\r']).to_string();
        (!trimmed.is_empty()).then_some(trimmed)
    }

    /// Replaces every `${VAR}` / `${VAR:-default}` in `text`.
    pub fn resolve(&self, text: &str) -> Resolved {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return Resolved::Value(out);
            };
            let inner = &after[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            match (self.var(name), default) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => return Resolved::Missing(name.to_string()),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Resolved::Value(out)
    }
}

/// The names of the variables `text` references.
pub fn references(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        names.push(after[..end].split(":-").next().unwrap_or_default());
        rest = &after[end + 1..];
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn resolves_references_defaults_and_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let secret = dir.path().join("key");
        std::fs::write(&secret, "from-file\n").expect("write");
        let e = env(&[("A", "1"), ("B_FILE", secret.to_str().expect("utf8"))]);
        assert_eq!(e.resolve("x${A}y"), Resolved::Value("x1y".into()));
        assert_eq!(e.resolve("${B}"), Resolved::Value("from-file".into()));
        assert_eq!(
            e.resolve("${C:-http://d}"),
            Resolved::Value("http://d".into())
        );
        assert_eq!(e.resolve("${C}"), Resolved::Missing("C".into()));
        assert_eq!(references("${A}-${C:-x}"), ["A", "C"]);
    }
}
