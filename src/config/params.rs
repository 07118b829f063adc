//! A widget's declared parameters, as far as the gateway fills them.

use crate::yaml::Node;

/// How a parameter's text value is typed before it reaches a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// Text, tickers, tabs, dropdowns, endpoint dropdowns: kept as strings.
    Text,
    /// `number`: parsed as a number.
    Number,
    /// `boolean`: `true` / `false`.
    Boolean,
    /// `date`: `YYYY-MM-DD`; `$currentDate…` defaults are resolved per request.
    Date,
}

/// One declared parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamDef {
    /// `paramName`.
    pub name: String,
    /// How its value is typed.
    pub kind: ParamKind,
    /// `multiSelect` or `multiple`: the value is a list (comma-joined on the wire).
    pub multi: bool,
    /// The default `value`, as JSON.
    pub default: serde_json::Value,
}

#[cfg(test)]
impl ParamDef {
    /// A param for unit tests.
    pub fn new(name: &str, kind: ParamKind, multi: bool, default: serde_json::Value) -> ParamDef {
        ParamDef {
            name: name.into(),
            kind,
            multi,
            default,
        }
    }
}

/// The param objects of a `params` node, flattened (a list of rows is allowed, contract §5.1).
pub fn flatten(params: &Node) -> Vec<&Node> {
    let mut out = Vec::new();
    for item in params.items() {
        if item.is_seq() {
            out.extend(item.items().iter().filter(|p| p.is_map()));
        } else if item.is_map() {
            out.push(item);
        }
    }
    out
}

/// Reads the parameters a template can use; `form` params (submitted elsewhere) are skipped.
pub fn parse(params: Option<&Node>) -> Vec<ParamDef> {
    let Some(params) = params else {
        return Vec::new();
    };
    flatten(params)
        .into_iter()
        .filter_map(|p| {
            let name = p.get("paramName")?.as_str()?.to_string();
            let type_name = p.get("type").and_then(Node::as_str).unwrap_or("text");
            let kind = match type_name {
                "form" => return None,
                "number" => ParamKind::Number,
                "boolean" => ParamKind::Boolean,
                "date" => ParamKind::Date,
                _ => ParamKind::Text,
            };
            let flag = |k: &str| p.get(k).and_then(Node::as_bool).unwrap_or(false);
            let default = p
                .get("value")
                .map(Node::to_json)
                .unwrap_or(serde_json::Value::Null);
            Some(ParamDef {
                name,
                kind,
                multi: flag("multiSelect") || flag("multiple"),
                default,
            })
        })
        .collect()
}
