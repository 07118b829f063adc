//! Request arguments: the query string turned into typed template variables.
//!
//! Every declared param gets a value: the request's, or the declared default. Undeclared query
//! parameters (Workspace adds `theme` and `raw`) are ignored.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{Local, NaiveDate};
use minijinja::Value;

use crate::config::params::{ParamDef, ParamKind};
use crate::openbb::rules::parse_date_modifier;
use crate::template::MultiValue;

/// What a request brings for its params: a query string (GET) or a JSON object body (POST).
/// Not `Debug`: a query may carry the client's key (`auth.query_param`).
pub enum Input<'a> {
    /// Decoded query pairs, in order; borrowed from the request unless a pair had escapes.
    Query(Vec<(Cow<'a, str>, Cow<'a, str>)>),
    /// The members of a JSON object body.
    Body(serde_json::Map<String, serde_json::Value>),
}

impl<'a> Input<'a> {
    /// The input of a GET with `query`.
    pub fn from_query(query: Option<&'a str>) -> Input<'a> {
        Input::Query(
            query
                .map(|q| crate::query::pairs(q).collect())
                .unwrap_or_default(),
        )
    }

    /// The value a query gives `name`: the last one when it is given more than once. `None`
    /// for a body.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        match self {
            Input::Query(pairs) => pairs
                .iter()
                .rev()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_ref()),
            Input::Body(_) => None,
        }
    }

    /// The JSON member `name` of a body, when this is one.
    pub fn member(&self, name: &str) -> Option<&serde_json::Value> {
        match self {
            Input::Body(map) => map.get(name),
            Input::Query(_) => None,
        }
    }
}

/// Variables every template may read without declaring a param: what Workspace adds to a
/// widget's request by itself (contract §2.3). `theme` is `dark` or `light` (`dark` when
/// missing or anything else); `raw` is `true` when Workspace asks for the raw data view. A
/// declared param of the same name takes precedence.
pub const IMPLICIT: &[&str] = &["theme", "raw"];

/// The [`IMPLICIT`] variables no param of `params` takes the place of.
fn implicit_free(params: &[ParamDef]) -> impl Iterator<Item = &'static str> + '_ {
    IMPLICIT
        .iter()
        .copied()
        .filter(|n| !params.iter().any(|p| p.name == *n))
}

/// The names templates of a widget with `params` may read: its params, then [`IMPLICIT`].
pub fn template_names(params: &[ParamDef]) -> Vec<&str> {
    let mut names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
    for name in implicit_free(params) {
        names.push(name);
    }
    names
}

/// The [`IMPLICIT`] variables a widget with `params` must bind: those its templates read
/// (`read`, from [`crate::template::Templates::undeclared_with_parts`]) and no param declares.
/// Binding only these keeps an unused `theme` out of upstream cache keys, so dark and light
/// dashboards share cached answers.
pub fn implicit_used(params: &[ParamDef], read: &BTreeSet<String>) -> Vec<&'static str> {
    implicit_free(params)
        .filter(|n| read.contains(*n))
        .collect()
}

/// The value of the implicit variable `name` (one of [`IMPLICIT`]) in `input`.
fn implicit(name: &str, input: &Input) -> Value {
    let given = match input {
        Input::Query(_) => input.query_value(name),
        Input::Body(map) => match map.get(name) {
            Some(serde_json::Value::String(s)) => Some(s.as_str()),
            Some(serde_json::Value::Bool(true)) => Some("true"),
            _ => None,
        },
    };
    match name {
        "theme" => Value::from(if given == Some("light") {
            "light"
        } else {
            "dark"
        }),
        _ => Value::from(given == Some("true")),
    }
}

/// The template variables for `params` given the request's `input`, with the `implicit_names`
/// ones (see [`implicit_used`]).
pub fn bind(
    params: &[ParamDef],
    implicit_names: &[&str],
    input: &Input,
) -> Result<BTreeMap<String, Value>, String> {
    let mut vars = BTreeMap::new();
    for name in implicit_names {
        vars.insert((*name).to_string(), implicit(name, input));
    }
    for p in params {
        let value = match input {
            Input::Query(_) => match input.query_value(&p.name) {
                Some(text) => from_text(p, text)?,
                None => from_default(p)?,
            },
            Input::Body(map) => match map.get(&p.name) {
                None | Some(serde_json::Value::Null) => from_default(p)?,
                Some(serde_json::Value::String(text)) => from_text(p, text)?,
                Some(serde_json::Value::Array(items)) => MultiValue(
                    items
                        .iter()
                        .map(|v| match v {
                            serde_json::Value::String(s) => scalar(p, s),
                            other => Ok(Value::from(minijinja::value::Serde(other))),
                        })
                        .collect::<Result<_, _>>()?,
                )
                .into_value(),
                Some(other) => Value::from(minijinja::value::Serde(other)),
            },
        };
        vars.insert(p.name.clone(), value);
    }
    Ok(vars)
}

fn from_text(p: &ParamDef, text: &str) -> Result<Value, String> {
    if p.multi {
        let items: Result<Vec<Value>, String> = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| scalar(p, s))
            .collect();
        return Ok(MultiValue(items?).into_value());
    }
    scalar(p, text)
}

/// The value `p` binds when a request does not give it: its declared default, typed as a
/// given value would be.
pub fn from_default(p: &ParamDef) -> Result<Value, String> {
    use serde_json::Value as J;
    match &p.default {
        J::Null => Ok(if p.multi {
            MultiValue(Vec::new()).into_value()
        } else {
            Value::from("")
        }),
        J::String(s) => from_text(p, s),
        J::Array(items) if p.multi => {
            let values: Result<Vec<Value>, String> = items
                .iter()
                .map(|v| match v {
                    J::String(s) => scalar(p, s),
                    other => Ok(Value::from(minijinja::value::Serde(other))),
                })
                .collect();
            Ok(MultiValue(values?).into_value())
        }
        other => Ok(Value::from(minijinja::value::Serde(other))),
    }
}

fn scalar(p: &ParamDef, text: &str) -> Result<Value, String> {
    match p.kind {
        ParamKind::Text => Ok(Value::from(text)),
        ParamKind::Number if text.is_empty() => Ok(Value::from("")),
        ParamKind::Number => {
            if let Ok(i) = text.parse::<i64>() {
                Ok(Value::from(i))
            } else {
                match text.parse::<f64>() {
                    Ok(f) if f.is_finite() => Ok(Value::from(f)),
                    _ => Err(format!(
                        "param `{}` must be a number, got `{}`",
                        p.name,
                        shorten(text)
                    )),
                }
            }
        }
        ParamKind::Boolean => match text.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::from(true)),
            "false" => Ok(Value::from(false)),
            _ => Err(format!(
                "param `{}` must be true or false, got `{}`",
                p.name,
                shorten(text)
            )),
        },
        ParamKind::Date if text.is_empty() => Ok(Value::from("")),
        ParamKind::Date => match resolve_date(text) {
            Some(date) => Ok(Value::from(date)),
            None if NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok() => Ok(Value::from(text)),
            None => Err(format!(
                "param `{}` must be a date as YYYY-MM-DD, got `{}`",
                p.name,
                shorten(text)
            )),
        },
    }
}

/// Resolves a `$currentDate±N<unit>` modifier to `YYYY-MM-DD` (today in the server's zone).
pub fn resolve_date(text: &str) -> Option<String> {
    let (n, unit) = parse_date_modifier(text)?;
    let date = crate::clock::shifted(Local::now(), n, unit)?.date_naive();
    Some(date.format("%Y-%m-%d").to_string())
}

/// The first characters of a user value, for error messages.
fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        text.chars().take(MAX).collect::<String>() + "…"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Months;

    fn param(name: &str, kind: ParamKind, multi: bool, default: serde_json::Value) -> ParamDef {
        ParamDef::new(name, kind, multi, default)
    }

    #[test]
    fn binds_types_and_defaults() {
        let params = [
            param("n", ParamKind::Number, false, serde_json::json!(5)),
            param("b", ParamKind::Boolean, false, serde_json::json!(true)),
            param("s", ParamKind::Text, true, serde_json::json!("AAPL")),
        ];
        let q = Input::from_query(Some("n=1&n=7&s=AAPL%2CMSFT&theme=light"));
        let v = Value::from(bind(&params, IMPLICIT, &q).expect("binds"));
        assert_eq!(v.get_attr("n").expect("n").as_i64(), Some(7), "the last n");
        assert!(v.get_attr("b").expect("b").is_true());
        assert_eq!(v.get_attr("s").expect("s").to_string(), "AAPL,MSFT");
        assert_eq!(v.get_attr("theme").expect("theme").to_string(), "light");
        assert!(!v.get_attr("raw").expect("raw").is_true());
        // Escaped keys and values, `+` as a space.
        let q = Input::from_query(Some("s=A+B%2CC&the%6De=light&%72aw=tru%65"));
        let v = Value::from(bind(&params, IMPLICIT, &q).expect("binds"));
        assert_eq!(v.get_attr("s").expect("s").to_string(), "A B,C");
        assert_eq!(v.get_attr("theme").expect("theme").to_string(), "light");
        assert!(v.get_attr("raw").expect("raw").is_true());
        assert!(bind(&params, &[], &Input::from_query(Some("n=abc"))).is_err());
        let body = serde_json::json!({"n": 3, "s": ["A", "B"], "b": "false"});
        let v = Value::from(
            bind(
                &params,
                &[],
                &Input::Body(body.as_object().expect("object").clone()),
            )
            .expect("binds"),
        );
        assert_eq!(v.get_attr("n").expect("n").as_i64(), Some(3));
        assert_eq!(v.get_attr("s").expect("s").to_string(), "A,B");
        assert!(!v.get_attr("b").expect("b").is_true());
    }

    #[test]
    fn date_modifiers_resolve() {
        let today = Local::now().date_naive();
        assert_eq!(
            resolve_date("$currentDate"),
            Some(today.format("%Y-%m-%d").to_string())
        );
        let last_year = today.checked_sub_months(Months::new(12)).expect("date");
        assert_eq!(
            resolve_date("$currentDate-1y"),
            Some(last_year.format("%Y-%m-%d").to_string())
        );
    }
}
