//! A widget's `upstream:`: which provider to call, how, and how to shape the answer.

use std::path::Path;

use crate::config::keys;
use crate::diag::Diagnostics;
use crate::yaml::{Mark, Node};

/// GET or POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET` (the default).
    Get,
    /// `POST` with a JSON `body`.
    Post,
}

/// How to read the upstream body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON.
    Json,
    /// CSV with a header row: a list of records.
    Csv,
    /// Text: a string.
    Text,
}

/// One `upstream:` as written.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamDef {
    /// The provider's name.
    pub provider: String,
    /// Where `provider` is written.
    pub provider_mark: Mark,
    /// GET or POST.
    pub method: Method,
    /// The path template, appended to the provider's base URL.
    pub path: String,
    /// Query parameter templates.
    pub query: Vec<(String, String)>,
    /// Header templates.
    pub headers: Vec<(String, String)>,
    /// The POST body, a value whose strings are templates.
    pub body: Option<Node>,
    /// How to read the answer (`None`: from its Content-Type).
    pub format: Option<Format>,
    /// A JSONPath to the records.
    pub select: Option<(String, Mark)>,
    /// Output field -> path or expression, per record.
    pub fields: Vec<(String, Node)>,
    /// A value whose strings are templates over `data` and the params.
    pub output: Option<Node>,
    /// Text template over `data` (text widgets).
    pub template: Option<(String, u64)>,
    /// Where `upstream:` is.
    pub mark: Mark,
}

const UPSTREAM_KEYS: &[&str] = &[
    "provider", "path", "method", "query", "headers", "body", "format", "select", "fields",
    "output", "template",
];

/// Reads a widget's `upstream:` mapping; `first_line` gives where a block `template` starts.
pub fn parse(
    node: &Node,
    owner: &str,
    file: &Path,
    first_line: impl Fn(Mark) -> u64,
    diags: &mut Diagnostics,
) -> Option<UpstreamDef> {
    if !node.is_map() {
        diags.error(
            file,
            node.mark,
            format!("{owner}: `upstream` must be a mapping with `provider` and `path`"),
        );
        return None;
    }
    for (k, _) in node.entries() {
        if !UPSTREAM_KEYS.contains(&k.name.as_str()) {
            diags.error(
                file,
                k.mark,
                format!(
                    "{owner}: unknown key `upstream.{}`{}",
                    k.name,
                    keys::did_you_mean(&k.name, UPSTREAM_KEYS)
                ),
            );
        }
    }
    let string = |k: &str, diags: &mut Diagnostics| -> Option<(String, Mark)> {
        let n = node.get(k)?;
        match n.as_str() {
            Some(s) => Some((s.to_string(), n.mark)),
            None => {
                diags.error(
                    file,
                    n.mark,
                    format!("{owner}: `upstream.{k}` must be a string"),
                );
                None
            }
        }
    };
    let Some((provider, provider_mark)) = string("provider", diags) else {
        diags.error(
            file,
            node.mark,
            format!("{owner}: `upstream` needs a `provider`"),
        );
        return None;
    };
    let path = string("path", diags).map(|(p, _)| p).unwrap_or_default();
    if path.contains(['?', '#']) {
        diags.error(file, node.mark, format!("{owner}: `upstream.path` must not contain `?` or `#`; put parameters under `upstream.query`"));
    }
    let method = match string("method", diags) {
        None => Method::Get,
        Some((m, mark)) => match m.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            _ => {
                diags.error(
                    file,
                    mark,
                    format!("{owner}: `upstream.method` must be GET or POST, not {m}"),
                );
                Method::Get
            }
        },
    };
    let format = string("format", diags).and_then(|(f, mark)| match f.as_str() {
        "json" => Some(Format::Json),
        "csv" => Some(Format::Csv),
        "text" => Some(Format::Text),
        _ => {
            diags.error(
                file,
                mark,
                format!("{owner}: `upstream.format` must be json, csv or text"),
            );
            None
        }
    });
    let pairs = |k: &str, diags: &mut Diagnostics| -> Vec<(String, String)> {
        let Some(map) = node.get(k) else {
            return Vec::new();
        };
        map.entries()
            .iter()
            .filter_map(|(name, v)| {
                let text = v.as_str().map(str::to_string).or_else(|| scalar_text(v));
                if text.is_none() {
                    diags.error(
                        file,
                        v.mark,
                        format!("{owner}: `upstream.{k}.{}` must be a string", name.name),
                    );
                }
                text.map(|t| (name.name.clone(), t))
            })
            .collect()
    };
    let query = pairs("query", diags);
    let headers = pairs("headers", diags);
    let body = node.get("body").cloned();
    if body.is_some() && method == Method::Get {
        diags.error(
            file,
            node.mark,
            format!("{owner}: `upstream.body` needs `method: POST`"),
        );
    }
    let fields = match node.get("fields") {
        Some(f) if f.is_map() => f
            .entries()
            .iter()
            .map(|(k, v)| (k.name.clone(), v.clone()))
            .collect(),
        Some(f) => {
            diags.error(
                file,
                f.mark,
                format!("{owner}: `upstream.fields` must map output field to path"),
            );
            Vec::new()
        }
        None => Vec::new(),
    };
    let template = node.get("template").and_then(|t| match t.as_str() {
        Some(s) => Some((s.to_string(), first_line(t.mark))),
        None => {
            diags.error(
                file,
                t.mark,
                format!("{owner}: `upstream.template` must be text"),
            );
            None
        }
    });
    if template.is_some() && node.get("output").is_some() {
        diags.error(file, node.mark, format!("{owner}: use `upstream.output` (JSON widgets) or `upstream.template` (text widgets), not both"));
    }
    Some(UpstreamDef {
        provider,
        provider_mark,
        method,
        path,
        query,
        headers,
        body,
        format,
        select: string("select", diags),
        fields,
        output: node.get("output").cloned(),
        template,
        mark: node.mark,
    })
}

/// Numbers and booleans written unquoted in `query:` are sent as their text.
fn scalar_text(n: &Node) -> Option<String> {
    match &n.value {
        crate::yaml::Value::Int(i) => Some(i.to_string()),
        crate::yaml::Value::Float(f) => Some(f.to_string()),
        crate::yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
