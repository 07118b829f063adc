//! `widgets:` and `routes:` entries: Workspace fields, endpoint, params and source.

use std::path::Path;
use std::time::Duration;

use crate::config::params::{self, ParamDef};
use crate::config::source::{self, SourceDef};
use crate::config::{keys, units};
use crate::diag::Diagnostics;
use crate::openbb::types::WidgetType;
use crate::yaml::{Key, Mark, Node};

/// One widget of gateway.yaml.
#[derive(Debug, Clone, PartialEq)]
pub struct WidgetDef {
    /// The widget id (its key in widgets.json).
    pub id: String,
    /// Where the id is written.
    pub mark: Mark,
    /// The widget's whole mapping, for validation with locations.
    pub node: Node,
    /// The path it is served at, always with a leading slash.
    pub endpoint: String,
    /// Its Workspace type.
    pub kind: WidgetType,
    /// Its parameters.
    pub params: Vec<ParamDef>,
    /// Where its answer comes from (`None` for iframe widgets, which Workspace loads itself).
    pub source: Option<SourceDef>,
    /// `cache:` how long an upstream answer is reused (`None`: the provider's default).
    pub cache: Option<Duration>,
    /// `poll:` how often a `live_grid` widget's source is evaluated for its WebSocket.
    pub poll: Option<Duration>,
}

impl WidgetDef {
    /// The Workspace fields in YAML order, with `endpoint` added when absent: the widget's entry
    /// in widgets.json. Gateway keys never appear in it.
    pub fn workspace_json(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for (key, value) in self.node.entries() {
            if !keys::is_widget_gateway(&key.name) {
                out.insert(key.name.clone(), value.to_json());
            }
        }
        if !out.contains_key("endpoint") {
            out.insert(
                "endpoint".into(),
                serde_json::Value::String(self.id.clone()),
            );
        }
        serde_json::Value::Object(out)
    }
}

/// One extra endpoint of `routes:` (e.g. the options of an endpoint dropdown).
#[derive(Debug, Clone, PartialEq)]
pub struct RouteDef {
    /// The path, with a leading slash.
    pub path: String,
    /// Where the path is written.
    pub mark: Mark,
    /// Template variables with defaults.
    pub params: Vec<ParamDef>,
    /// `method: POST`: it answers POSTed JSON bodies (a form's submit endpoint).
    pub post: bool,
    /// Where its answer comes from.
    pub source: SourceDef,
}

/// Reads one widget; `None` when it is too broken to serve (the reasons are in `diags`).
pub fn parse_widget(
    key: &Key,
    node: &Node,
    file: &Path,
    text: &str,
    diags: &mut Diagnostics,
) -> Option<WidgetDef> {
    let owner = format!("widget `{}`", key.name);
    if !node.is_map() {
        diags.error(
            file,
            node.mark,
            format!("{owner} must be a mapping, not {}", node.kind()),
        );
        return None;
    }
    check_widget_keys(node, &owner, file, diags);
    let type_name = node.get("type").and_then(Node::as_str);
    let kind = WidgetType::from_name(type_name);
    let endpoint_text = match node.get("endpoint") {
        Some(e) => e.as_str().map(str::to_string),
        None => Some(key.name.clone()),
    };
    let source = if kind == WidgetType::Iframe {
        None
    } else {
        Some(source::parse(
            node.entries(),
            key.mark,
            &owner,
            file,
            text,
            diags,
        )?)
    };
    let endpoint = match (&kind, endpoint_text) {
        (WidgetType::Iframe, Some(e)) => e,
        (_, Some(e)) => normalize_path(&e)
            .map_err(|why| {
                let mark = node.get("endpoint").map_or(key.mark, |n| n.mark);
                diags.error(file, mark, format!("{owner}: {why}"));
            })
            .ok()?,
        (_, None) => {
            let mark = node.get("endpoint").map_or(key.mark, |n| n.mark);
            diags.error(file, mark, format!("{owner}: `endpoint` must be a string"));
            return None;
        }
    };
    let duration = |key: &str, diags: &mut Diagnostics| {
        node.get(key)
            .and_then(|c| match c.as_str().map(units::duration) {
                Some(Ok(d)) if !d.is_zero() || key == "cache" => Some(d),
                Some(Ok(_)) => {
                    diags.error(
                        file,
                        c.mark,
                        format!("{owner}: `{key}` must be longer than 0s"),
                    );
                    None
                }
                Some(Err(e)) => {
                    diags.error(file, c.mark, format!("{owner}: `{key}`: {e}"));
                    None
                }
                None => {
                    diags.error(
                        file,
                        c.mark,
                        format!("{owner}: `{key}` must be a duration like 60s"),
                    );
                    None
                }
            })
    };
    let cache = duration("cache", diags);
    let poll = duration("poll", diags);
    if let Some(p) = node.get("poll")
        && kind != WidgetType::Other("live_grid".into())
    {
        diags.warn(
            file,
            p.mark,
            format!("{owner}: `poll` only applies to `live_grid` widgets"),
        );
    }
    if let (Some(c), Some(s)) = (node.get("cache"), &source)
        && !matches!(s, SourceDef::Upstream(_))
    {
        diags.warn(file, c.mark, format!("{owner}: `cache` only applies to `upstream` sources; other answers are computed once at load or rendered per request"));
    }
    Some(WidgetDef {
        id: key.name.clone(),
        cache,
        poll,
        mark: key.mark,
        node: node.clone(),
        endpoint,
        kind,
        params: params::parse(node.get("params")),
        source,
    })
}

fn check_widget_keys(node: &Node, owner: &str, file: &Path, diags: &mut Diagnostics) {
    for (key, _) in node.entries() {
        let name = key.name.as_str();
        if keys::is_widget_gateway(name) || keys::WIDGET_WORKSPACE.contains(&name) {
            continue;
        }
        let gateway: Vec<&str> = keys::widget_gateway().collect();
        if let Some(s) = keys::suggest(name, &gateway) {
            diags.error(
                file,
                key.mark,
                format!("{owner}: unknown key `{name}`; did you mean `{s}`?"),
            );
        } else if let Some(s) = keys::suggest(name, keys::WIDGET_WORKSPACE) {
            diags.warn(
                file,
                key.mark,
                format!("{owner}: unknown Workspace key `{name}` is passed to widgets.json as is; did you mean `{s}`?"),
            );
        } else {
            diags.warn(
                file,
                key.mark,
                format!("{owner}: unknown Workspace key `{name}` is passed to widgets.json as is (Workspace reports it as an unrecognized parameter)"),
            );
        }
    }
}

/// Reads one entry of `routes:`.
pub fn parse_route(
    key: &Key,
    node: &Node,
    file: &Path,
    text: &str,
    diags: &mut Diagnostics,
) -> Option<RouteDef> {
    let owner = format!("route `{}`", key.name);
    if !node.is_map() {
        diags.error(
            file,
            node.mark,
            format!("{owner} must be a mapping, not {}", node.kind()),
        );
        return None;
    }
    for (k, _) in node.entries() {
        if !keys::ROUTE.contains(&k.name.as_str()) {
            diags.error(
                file,
                k.mark,
                format!(
                    "{owner}: unknown key `{}`{}",
                    k.name,
                    keys::did_you_mean(&k.name, keys::ROUTE)
                ),
            );
        }
    }
    let path = normalize_path(&key.name)
        .map_err(|why| diags.error(file, key.mark, format!("{owner}: {why}")))
        .ok()?;
    let post = match node.get("method") {
        None => false,
        Some(m) => match m.as_str().map(str::to_ascii_uppercase).as_deref() {
            Some("GET") => false,
            Some("POST") => true,
            _ => {
                diags.error(
                    file,
                    m.mark,
                    format!("{owner}: `method` must be GET or POST"),
                );
                false
            }
        },
    };
    let source = source::parse(node.entries(), key.mark, &owner, file, text, diags)?;
    Some(RouteDef {
        path,
        mark: key.mark,
        params: params::parse(node.get("params")),
        post,
        source,
    })
}

/// Turns `hello_world` or `/udf` into the path it is served at, refusing what cannot be one.
pub fn normalize_path(endpoint: &str) -> Result<String, String> {
    let trimmed = endpoint.trim_start_matches('/');
    if trimmed.is_empty() {
        return Err("the endpoint is empty".into());
    }
    if trimmed.contains(['?', '#', ' ', '\\', '%']) || trimmed.contains("://") {
        return Err(format!(
            "endpoint `{endpoint}` must be a plain path (no query, fragment, spaces or URL)"
        ));
    }
    if trimmed
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return Err(format!(
            "endpoint `{endpoint}` has an empty, `.` or `..` segment"
        ));
    }
    Ok(format!("/{trimmed}"))
}
