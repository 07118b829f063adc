//! `select:` and `fields:`: picking records and, per record, the fields to keep.

use std::collections::BTreeMap;

use minijinja::Value as Jv;
use serde_json::{Map, Value};
use serde_json_path::JsonPath;

use crate::shaping::tree::{self, CompileError, Tree};
use crate::template::Templates;
use crate::yaml::{Mark, Node};

/// A compiled `select:`.
#[derive(Debug, Clone)]
pub struct Select {
    path: JsonPath,
    singular: bool,
}

impl Select {
    /// Parses an RFC 9535 JSONPath.
    pub fn parse(text: &str) -> Result<Select, String> {
        let path =
            JsonPath::parse(text).map_err(|e| format!("`{text}` is not a JSONPath ({e})"))?;
        let singular = !text.contains(['*', '?', ':', ',']) && !text.contains("..");
        Ok(Select { path, singular })
    }

    /// The matched value: the one node of a singular path (null when absent), else the list of
    /// matches.
    pub fn apply(&self, data: &Value) -> Value {
        let nodes = self.path.query(data);
        if self.singular {
            nodes.first().cloned().unwrap_or(Value::Null)
        } else {
            Value::Array(nodes.all().into_iter().cloned().collect())
        }
    }
}

/// How one output field is computed from a record.
#[derive(Debug, Clone)]
pub enum Field {
    /// A dotted path into the record (`quote.price`, `items.0.name`).
    Path(Vec<String>),
    /// A JSONPath relative to the record (its first match).
    JsonPath(JsonPath),
    /// A template over `row` and the params.
    Expr(Tree),
}

/// Compiles `fields:`; expressions become templates named after `name`.
pub fn compile(
    fields: &[(String, Node)],
    name: &str,
    params: &[&str],
    templates: &mut Templates,
) -> Result<Vec<(String, Field)>, CompileError> {
    let mut allowed: Vec<&str> = params.to_vec();
    allowed.push("row");
    fields
        .iter()
        .map(|(out, node)| {
            let field = match node.as_str() {
                Some(s) if s.contains("{{") || s.contains("{%") => Field::Expr(tree::compile(
                    node,
                    &format!("{name}.{out}"),
                    &allowed,
                    templates,
                )?),
                Some(s) if s.starts_with('$') => {
                    Field::JsonPath(JsonPath::parse(s).map_err(|e| CompileError {
                        mark: node.mark,
                        message: format!("`{s}` is not a JSONPath ({e})"),
                    })?)
                }
                Some(s) => Field::Path(s.split('.').map(str::to_string).collect()),
                None => return Err(not_a_path(node.mark, out)),
            };
            Ok((out.clone(), field))
        })
        .collect()
}

fn not_a_path(mark: Mark, out: &str) -> CompileError {
    CompileError {
        mark,
        message: format!(
            "field `{out}` must be a path like `quote.price`, a JSONPath, or a `{{{{ row.x }}}}` expression"
        ),
    }
}

/// Applies `fields` to every record of `data` (or to `data` itself when it is one object).
pub fn apply(
    fields: &[(String, Field)],
    data: Value,
    templates: &Templates,
    params: &BTreeMap<String, Jv>,
) -> Result<Value, String> {
    match data {
        Value::Array(rows) => Ok(Value::Array(
            rows.iter()
                .map(|r| record(fields, r, templates, params))
                .collect::<Result<_, _>>()?,
        )),
        Value::Object(_) => record(fields, &data, templates, params),
        other => Err(format!(
            "`fields` needs records, but the data is {}",
            crate::openbb::shape::kind_of(&other)
        )),
    }
}

fn record(
    fields: &[(String, Field)],
    row: &Value,
    templates: &Templates,
    params: &BTreeMap<String, Jv>,
) -> Result<Value, String> {
    let mut out = Map::with_capacity(fields.len());
    for (name, field) in fields {
        let value = match field {
            Field::Path(parts) => parts.iter().try_fold(row, |v, p| match v {
                Value::Array(items) => p.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => v.get(p),
            }),
            Field::JsonPath(path) => path.query(row).first(),
            Field::Expr(tree) => {
                let mut vars = params.clone();
                vars.insert("row".into(), Jv::from(minijinja::value::Serde(row)));
                out.insert(
                    name.clone(),
                    tree.eval(templates, &vars)
                        .map_err(|e| format!("field `{name}`: {e}"))?,
                );
                continue;
            }
        };
        out.insert(name.clone(), value.cloned().unwrap_or(Value::Null));
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;
    use serde_json::json;

    #[test]
    fn select_and_fields_pick_rename_and_flatten() {
        let data = json!({"data": {"rows": [{"n": "A", "q": {"p": 1.5}, "tags": ["x"]}, {"n": "B", "q": {"p": 2}}]}});
        let rows = Select::parse("$.data.rows").expect("path").apply(&data);
        assert_eq!(rows.as_array().map(Vec::len), Some(2));
        let each = Select::parse("$.data.rows[*].n")
            .expect("path")
            .apply(&data);
        assert_eq!(each, json!(["A", "B"]));
        let node =
            yaml::parse("name: n\nprice: q.p\ntag: $.tags[0]\nlabel: '{{ row.n | lower }}!'\n")
                .expect("yaml");
        let defs: Vec<(String, Node)> = node
            .entries()
            .iter()
            .map(|(k, v)| (k.name.clone(), v.clone()))
            .collect();
        let mut t = Templates::default();
        let fields = compile(&defs, "f", &[], &mut t).expect("compiles");
        let out = apply(&fields, rows, &t, &BTreeMap::new()).expect("applies");
        assert_eq!(
            out,
            json!([{"name": "A", "price": 1.5, "tag": "x", "label": "a!"}, {"name": "B", "price": 2, "tag": null, "label": "b!"}])
        );
    }
}
