//! `${VAR}` references in gateway.yaml values.
//!
//! A reference is resolved in one parsed value at a time, never by substituting text into the
//! file, so a variable's content can never change the YAML's structure. `VAR_FILE` (the
//! Docker/Kubernetes secrets convention) names a file holding the value instead, and
//! `${VAR:-default}` falls back to `default` when the variable is unset or empty.

use std::collections::HashMap;
use std::path::Path;

/// Looks up one variable.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Where variables come from: the process environment, or a fixed map (tests).
#[derive(Debug, Clone, Default)]
pub enum Env {
    /// The process environment.
    #[default]
    Process,
    /// A fixed set of variables.
    Map(HashMap<String, String>),
}

impl Env {
    /// The raw value of variable `name`.
    pub fn get(&self, name: &str) -> Option<String> {
        match self {
            Env::Process => std::env::var(name).ok(),
            Env::Map(m) => m.get(name).cloned(),
        }
    }
}

/// A value with its references resolved.
#[derive(Debug, Default)]
pub struct Resolved {
    /// The value. It may hold a secret: never print it.
    pub value: String,
    /// Whether the value contained a reference.
    pub referenced: bool,
    /// The referenced variables (without a default) that are unset or empty.
    pub empty: Vec<String>,
}

/// Resolves every `${NAME}` / `${NAME:-default}` in `text`. An error names the variable or the
/// file, never a value.
pub fn resolve(text: &str, env: Lookup<'_>) -> Result<Resolved, String> {
    let mut out = Resolved::default();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.value.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let inner = after.find('}').map(|end| &after[..end]).unwrap_or("");
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        if !is_name(name) {
            return Err(
                "`${` must start a variable reference written ${NAME} or ${NAME:-default} \
                        (letters, digits and _)"
                    .to_string(),
            );
        }
        out.referenced = true;
        let value = lookup(name, env)?;
        match (value.is_empty(), default) {
            (false, _) => out.value.push_str(&value),
            (true, Some(d)) => out.value.push_str(d),
            (true, None) => out.empty.push(name.to_string()),
        }
        rest = &after[inner.len() + 1..];
    }
    out.value.push_str(rest);
    Ok(out)
}

/// The value of `name`, from the variable or from the file `name_FILE` points to; empty when
/// neither is set.
fn lookup(name: &str, env: Lookup<'_>) -> Result<String, String> {
    let file_var = format!("{name}_FILE");
    match (
        env(name).filter(|v| !v.is_empty()),
        env(&file_var).filter(|v| !v.is_empty()),
    ) {
        (Some(_), Some(_)) => Err(format!(
            "both {name} and {file_var} are set; set only one of them"
        )),
        (Some(value), None) => Ok(value),
        (None, Some(file)) => std::fs::read_to_string(Path::new(&file))
            .map(|text| text.trim_end_matches(['\n', '\r']).to_string())
            .map_err(|e| format!("{file_var} names {file}, which cannot be read: {e}")),
        (None, None) => Ok(String::new()),
    }
}

/// Whether `name` is an ASCII identifier: a letter or `_`, then letters, digits and `_`. The
/// rule for the `NAME` of `${NAME}`, and for the `{{ name }}` tags [`crate::substitution`]
/// renders without the template engine.
pub fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn resolves_variables_files_and_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let secret = dir.path().join("key");
        std::fs::write(&secret, "from-file\n").expect("write");
        let path = secret.to_string_lossy().to_string();
        let e = env(&[("A", "one"), ("B_FILE", &path), ("EMPTY", "")]);
        let r = resolve("${A},${B}", &e).expect("resolves");
        assert_eq!(r.value, "one,from-file");
        assert!(r.referenced && r.empty.is_empty());
        let r = resolve("${EMPTY}${UNSET}", &e).expect("resolves");
        assert_eq!(
            (r.value.as_str(), r.empty),
            ("", vec!["EMPTY".into(), "UNSET".into()])
        );
        let r = resolve("${URL:-http://x}/v1", &e).expect("resolves");
        assert_eq!((r.value.as_str(), r.empty.len()), ("http://x/v1", 0));
        let r = resolve("plain", &e).expect("resolves");
        assert!(!r.referenced);
    }

    #[test]
    fn errors_name_variables_not_values() {
        let e = env(&[
            ("A", "s3cret"),
            ("A_FILE", "/nowhere"),
            ("C_FILE", "/nowhere/x"),
        ]);
        let err = resolve("${A}", &e).expect_err("both set");
        assert!(err.contains("A_FILE") && !err.contains("s3cret"), "{err}");
        let err = resolve("${C}", &e).expect_err("unreadable");
        assert!(err.contains("C_FILE names /nowhere/x"), "{err}");
        for bad in ["${", "${}", "${1A}", "${A-B}"] {
            assert!(resolve(bad, &e).is_err(), "{bad}");
        }
    }
}
