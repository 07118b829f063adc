//! `static:` and `file:` sources: answers computed once, at load.

use std::path::Path;

use base64::Engine;

use crate::diag::Diagnostics;
use crate::openbb::shape;
use crate::openbb::types::WidgetType;
use crate::source::{Reply, Target, json_reply, text_reply};
use crate::yaml::{self, Mark, Node};

/// Compiles an inline value.
pub fn from_static(node: &Node, target: &Target<'_>, diags: &mut Diagnostics) -> Option<Reply> {
    if target.kind.is_text() {
        return match node.as_str() {
            Some(text) => Some(text_reply(&target.kind, text.to_string())),
            None => {
                diags.error(
                    target.file,
                    node.mark,
                    format!(
                        "{}: a {} widget answers text; `static` must be a string, not {}",
                        target.owner,
                        type_name(&target.kind),
                        node.kind()
                    ),
                );
                None
            }
        };
    }
    checked_json(node.to_json(), target, target.file, node.mark, diags)
}

/// Compiles a file below the config folder.
pub fn from_file(
    path: &Path,
    mark: Mark,
    target: &Target<'_>,
    diags: &mut Diagnostics,
) -> Option<Reply> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let shown = path.display();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            diags.error(
                target.file,
                mark,
                format!("{}: cannot read {shown}: {e}", target.owner),
            );
            return None;
        }
    };
    match ext.as_str() {
        "pdf" if target.kind == WidgetType::Pdf => {
            let filename = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("document.pdf");
            let content = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let value = serde_json::json!({
                "data_format": {"data_type": "pdf", "filename": filename},
                "content": content
            });
            Some(json_reply(&value))
        }
        "json" => match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(value) if target.kind.is_text() => match value {
                serde_json::Value::String(s) => Some(text_reply(&target.kind, s)),
                other => {
                    diags.error(
                        path,
                        Mark { line: 1, col: 1 },
                        format!(
                            "{}: a {} widget answers text, but this file holds {}",
                            target.owner,
                            type_name(&target.kind),
                            shape::kind_of(&other)
                        ),
                    );
                    None
                }
            },
            Ok(value) => checked_json(value, target, path, Mark { line: 1, col: 1 }, diags),
            Err(e) => {
                let at = Mark {
                    line: e.line() as u64,
                    col: e.column() as u64,
                };
                diags.error(path, at, format!("{}: invalid JSON: {e}", target.owner));
                None
            }
        },
        "yaml" | "yml" => {
            let text = String::from_utf8_lossy(&bytes);
            match yaml::parse(&text) {
                Ok(node) => from_static(
                    &node,
                    &Target {
                        file: path,
                        ..target.clone()
                    },
                    diags,
                ),
                Err(e) => {
                    diags.error(
                        path,
                        e.mark,
                        format!("{}: YAML syntax: {}", target.owner, e.message),
                    );
                    None
                }
            }
        }
        "md" | "markdown" | "txt" | "html" | "htm" => match String::from_utf8(bytes) {
            Ok(text) if target.kind.is_text() => Some(text_reply(&target.kind, text)),
            Ok(_) => {
                diags.error(target.file, mark, format!("{}: a {} widget answers JSON; a .{ext} file can only serve text widgets (markdown, note, html, youtube)", target.owner, type_name(&target.kind)));
                None
            }
            Err(_) => {
                diags.error(
                    target.file,
                    mark,
                    format!("{}: {shown} is not UTF-8 text", target.owner),
                );
                None
            }
        },
        "pdf" => {
            diags.error(
                target.file,
                mark,
                format!(
                    "{}: a .pdf file can only serve a `pdf` widget",
                    target.owner
                ),
            );
            None
        }
        _ => {
            diags.error(target.file, mark, format!("{}: cannot serve {shown}: use .json, .yaml, .md, .txt, .html or (for pdf widgets) .pdf", target.owner));
            None
        }
    }
}

fn checked_json(
    value: serde_json::Value,
    target: &Target<'_>,
    file: &Path,
    mark: Mark,
    diags: &mut Diagnostics,
) -> Option<Reply> {
    let value = shape::normalize(&target.kind, value);
    match shape::check(&target.kind, target.data_key.as_deref(), &value) {
        Ok(()) => Some(json_reply(&value)),
        Err(why) => {
            diags.error(file, mark, format!("{}: {why}", target.owner));
            None
        }
    }
}

/// The `type` name for messages.
pub fn type_name(kind: &WidgetType) -> String {
    match kind {
        WidgetType::Other(s) => s.clone(),
        other => format!("{other:?}").to_lowercase(),
    }
}
