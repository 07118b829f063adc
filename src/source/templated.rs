//! `template:` and `template_file:` sources: compiled at load, rendered per request.

use std::collections::BTreeMap;
use std::path::Path;

use bytes::Bytes;
use minijinja::Value;

use crate::args::{self, Input};
use crate::diag::Diagnostics;
use crate::error::ApiError;
use crate::openbb::shape;
use crate::openbb::types::{Encoding, WidgetType};
use crate::source::direct::DirectBinding;
use crate::source::{Answer, Reply, Target, describe, json_reply, json_string_reply, text_reply};
use crate::template::Templates;
use crate::yaml::Mark;

/// Compiles template `text` (which starts at `first_line` of `file`) for `target`.
pub fn compile(
    text: String,
    file: &Path,
    first_line: u64,
    target: &Target<'_>,
    templates: &mut Templates,
    diags: &mut Diagnostics,
) -> Option<Answer> {
    let name = if target.kind.encoding() == Encoding::Html {
        format!("{}.html", target.name)
    } else {
        target.name.clone()
    };
    if let Err(e) = templates.add(name.clone(), text) {
        let line = first_line + e.line().unwrap_or(1).saturating_sub(1) as u64;
        diags.error(
            file,
            Mark { line, col: 1 },
            format!("{}: template syntax: {}", target.owner, describe(&e)),
        );
        return None;
    }
    let unknown: Vec<String> = templates
        .undeclared(&name)
        .into_iter()
        .filter(|v| !args::template_names(target.params).contains(&v.as_str()) && !is_builtin(v))
        .collect();
    if !unknown.is_empty() {
        let declared: Vec<&str> = target.params.iter().map(|p| p.name.as_str()).collect();
        diags.error(
            file,
            Mark {
                line: first_line,
                col: 1,
            },
            format!(
                "{}: the template uses {} that no param declares (declared: {})",
                target.owner,
                unknown
                    .iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if declared.is_empty() {
                    "none".to_string()
                } else {
                    declared.join(", ")
                }
            ),
        );
        return None;
    }
    let direct = match target.kind.encoding() {
        Encoding::JsonString => templates
            .plain(&name)
            .and_then(|plain| DirectBinding::new(target.params, plain)),
        _ => None,
    };
    Some(Answer::Template {
        implicit: args::implicit_used(target.params, &templates.undeclared_with_parts(&name)),
        name,
        params: target.params.to_vec(),
        direct,
    })
}

/// Names minijinja provides without a declaration.
fn is_builtin(name: &str) -> bool {
    matches!(
        name,
        "range" | "dict" | "namespace" | "debug" | "loop" | "true" | "false" | "none"
    )
}

/// Renders template `name` with `vars` into the widget's answer. A markdown (or note) widget
/// whose template only substitutes strings and integers is written straight into its JSON
/// answer; everything else is rendered to text and then [`encode`]d (the same bytes).
pub fn render(
    owner: &str,
    kind: &WidgetType,
    data_key: Option<&str>,
    templates: &Templates,
    name: &str,
    vars: BTreeMap<String, Value>,
) -> Result<Reply, ApiError> {
    if kind.encoding() == Encoding::JsonString
        && let Some(body) = templates.render_json_string(name, &vars)
    {
        return Ok(json_string_reply(body));
    }
    let text = templates
        .render_vars(name, vars)
        .map_err(|e| ApiError::internal(format!("{owner}: template failed: {}", describe(&e))))?;
    encode(owner, kind, data_key, text)
}

/// The answer of template `name` bound by `direct` (made for it at load) from `input`; `None`
/// when [`render`] must answer (it gives the same bytes, or the error).
pub fn render_direct(
    templates: &Templates,
    name: &str,
    direct: &DirectBinding,
    input: &Input<'_>,
) -> Option<Reply> {
    let body = direct.render(templates.plain(name)?, input)?;
    // The buffer is exactly full: `Bytes` takes it over without allocating.
    Some(json_string_reply(Bytes::from(body)))
}

/// Turns rendered text into the widget's answer, checking the shape of JSON answers.
pub fn encode(
    owner: &str,
    kind: &WidgetType,
    data_key: Option<&str>,
    text: String,
) -> Result<Reply, ApiError> {
    if kind.is_text() {
        return Ok(text_reply(kind, text));
    }
    if *kind == WidgetType::Omni && serde_json::from_str::<serde_json::Value>(&text).is_err() {
        return Ok(json_reply(&shape::normalize(
            kind,
            serde_json::Value::String(text),
        )));
    }
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        ApiError::internal(format!(
            "{owner}: the template did not render valid JSON ({e})"
        ))
    })?;
    let value = shape::normalize(kind, value);
    shape::check(kind, data_key, &value)
        .map_err(|why| ApiError::internal(format!("{owner}: {why}")))?;
    Ok(json_reply(&value))
}
