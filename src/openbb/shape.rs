//! The shape each widget type's JSON answer must have (contract §4 and §9's endpoint checks).
//!
//! Static answers are checked once at load time; rendered answers on every request, so a
//! template that produces the wrong shape answers with a clear error instead of a widget that
//! silently stays empty.

use serde_json::Value;

use crate::openbb::types::WidgetType;

/// Brings a JSON answer into the form Workspace wants: a single metric object becomes a
/// one-element array (OpenBB's validator only accepts arrays).
pub fn normalize(kind: &WidgetType, value: Value) -> Value {
    match (kind, value) {
        (WidgetType::Metric, Value::Object(o)) => Value::Array(vec![Value::Object(o)]),
        (WidgetType::Omni, v) => omni(v),
        (_, v) => v,
    }
}

/// An omni answer: `{content, data_format}` kept as is; anything else wrapped, parsed as a table
/// (a list), a chart (a Plotly figure) or text, as OpenBB's own omni helpers decide.
fn omni(value: Value) -> Value {
    if value.get("content").is_some() && value.get("data_format").is_some() {
        return value;
    }
    let parse_as = match &value {
        Value::Array(_) => "table",
        Value::Object(o) if o.contains_key("data") || o.contains_key("layout") => "chart",
        _ => "text",
    };
    let content = match value {
        Value::String(s) => Value::String(s),
        other if parse_as == "text" => Value::String(other.to_string()),
        other => other,
    };
    serde_json::json!({"content": content, "data_format": {"data_type": "object", "parse_as": parse_as}, "citable": false})
}

/// Checks a (normalized) JSON answer; the error says what is wrong in a sentence. With a
/// `data.dataKey` (dot notation, contract §3.3) the records are looked for at that path.
pub fn check(kind: &WidgetType, data_key: Option<&str>, value: &Value) -> Result<(), String> {
    let value = match data_key.filter(|k| !k.is_empty()) {
        None => value,
        Some(key) => key
            .split('.')
            .try_fold(value, |v, part| v.get(part))
            .ok_or_else(|| format!("the answer has nothing at `data.dataKey` {key}"))?,
    };
    match kind {
        WidgetType::Table => array_of_objects(value, "a table", &[]),
        WidgetType::Newsfeed => array_of_objects(value, "a newsfeed", &["title"]),
        WidgetType::Metric => array_of_objects(value, "a metric", &["label", "value"]),
        WidgetType::Chart => match value.as_object() {
            Some(o) if o.contains_key("data") || o.contains_key("layout") => Ok(()),
            Some(_) => Err("a Plotly chart must be an object with `data` or `layout`".into()),
            None => Err(format!(
                "a Plotly chart must be an object, not {}",
                kind_of(value)
            )),
        },
        WidgetType::ChartHighcharts | WidgetType::ChartVegalite => match value {
            Value::Object(_) => Ok(()),
            other => Err(format!(
                "this chart must be an object, not {}",
                kind_of(other)
            )),
        },
        WidgetType::Pdf => check_pdf(value),
        WidgetType::Markdown | WidgetType::Note | WidgetType::Html | WidgetType::Youtube => {
            match value {
                Value::String(_) => Ok(()),
                other => Err(format!(
                    "this widget type answers text, not {}",
                    kind_of(other)
                )),
            }
        }
        WidgetType::TableSsrm => array_of_objects(value, "a server-side table's source", &[]),
        WidgetType::MultiFileViewer => array_of_objects(value, "a multi-file viewer", &[]),
        WidgetType::Omni => match value
            .get("data_format")
            .and_then(|d| d.get("parse_as"))
            .and_then(Value::as_str)
        {
            Some("text" | "table" | "chart") if value.get("content").is_some() => Ok(()),
            _ => Err(
                "an omni answer needs `content` and `data_format.parse_as` text, table or chart"
                    .into(),
            ),
        },
        WidgetType::Iframe | WidgetType::Other(_) => Ok(()),
    }
}

fn array_of_objects(value: &Value, what: &str, required: &[&str]) -> Result<(), String> {
    let Some(items) = value.as_array() else {
        return Err(format!(
            "{what} must be a list of records, not {}",
            kind_of(value)
        ));
    };
    for (i, item) in items.iter().enumerate() {
        let Some(record) = item.as_object() else {
            return Err(format!(
                "{what}: item {i} must be an object, not {}",
                kind_of(item)
            ));
        };
        if let Some(missing) = required.iter().find(|k| !record.contains_key(**k)) {
            return Err(format!("{what}: item {i} has no `{missing}`"));
        }
    }
    Ok(())
}

fn check_pdf(value: &Value) -> Result<(), String> {
    let Some(o) = value.as_object() else {
        return Err(format!(
            "a pdf answer must be an object, not {}",
            kind_of(value)
        ));
    };
    if !o.get("data_format").is_some_and(Value::is_object) {
        return Err("a pdf answer needs `data_format: {data_type: pdf, filename}`".into());
    }
    if !o.contains_key("content") && !o.contains_key("url") {
        return Err("a pdf answer needs `content` (base64) or `url`".into());
    }
    Ok(())
}

/// A short name of a JSON value's kind, for messages.
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metric_object_is_wrapped_and_checked() {
        let v = normalize(&WidgetType::Metric, json!({"label": "A", "value": 1}));
        assert_eq!(v, json!([{"label": "A", "value": 1}]));
        assert!(check(&WidgetType::Metric, None, &v).is_ok());
        assert!(check(&WidgetType::Metric, None, &json!([{"label": "A"}])).is_err());
    }

    #[test]
    fn shapes_per_type() {
        assert!(check(&WidgetType::Table, None, &json!({"a": 1})).is_err());
        assert!(check(&WidgetType::Chart, None, &json!({"data": []})).is_ok());
        assert!(check(&WidgetType::Newsfeed, None, &json!([{"body": "x"}])).is_err());
        let pdf = json!({"data_format": {"data_type": "pdf", "filename": "a.pdf"}, "url": "u"});
        assert!(check(&WidgetType::Pdf, None, &pdf).is_ok());
        let nested = json!({"stocks": {"rows": [{"a": 1}]}});
        assert!(check(&WidgetType::Table, Some("stocks.rows"), &nested).is_ok());
        assert!(check(&WidgetType::Table, Some("stocks.nope"), &nested).is_err());
    }
}
