//! AG Grid's server-side row model (`table_ssrm` / `ssrm_table` widgets): the gateway filters,
//! sorts and pages rows from any source per the grid's request, answering `{rowData, rowCount}`.

use std::cmp::Ordering;

use serde_json::{Map, Value, json};

/// Rows answered when the request gives no `endRow`.
const DEFAULT_BLOCK: usize = 100;

/// Applies the grid request `req` (`startRow`, `endRow`, `sortModel`, `filterModel`) to `rows`.
pub fn apply(rows: Vec<Value>, req: &Map<String, Value>) -> Result<Value, String> {
    let filters = match req.get("filterModel") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err("`filterModel` must be an object".into()),
    };
    let mut kept: Vec<Value> = Vec::with_capacity(rows.len());
    for row in rows {
        let mut ok = true;
        for (col, f) in &filters {
            if !matches(row.get(col).unwrap_or(&Value::Null), f)? {
                ok = false;
                break;
            }
        }
        if ok {
            kept.push(row);
        }
    }
    if let Some(sorts) = req.get("sortModel").and_then(Value::as_array) {
        let keys: Vec<(String, bool)> = sorts
            .iter()
            .filter_map(|s| {
                Some((
                    s.get("colId")?.as_str()?.to_string(),
                    s.get("sort").and_then(Value::as_str) == Some("desc"),
                ))
            })
            .collect();
        kept.sort_by(|a, b| {
            keys.iter()
                .map(|(col, desc)| {
                    let o = compare(
                        a.get(col).unwrap_or(&Value::Null),
                        b.get(col).unwrap_or(&Value::Null),
                    );
                    if *desc { o.reverse() } else { o }
                })
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        });
    }
    let count = kept.len();
    let index = |k: &str| req.get(k).and_then(Value::as_u64).map(|n| n as usize);
    let start = index("startRow").unwrap_or(0).min(count);
    let end = index("endRow")
        .unwrap_or(start + DEFAULT_BLOCK)
        .clamp(start, count);
    Ok(json!({"rowData": &kept[start..end], "rowCount": count}))
}

fn matches(cell: &Value, filter: &Value) -> Result<bool, String> {
    if let Some(conditions) = filter.get("conditions").and_then(Value::as_array) {
        let or = filter.get("operator").and_then(Value::as_str) == Some("OR");
        let mut results = conditions.iter().map(|c| matches(cell, c));
        return if or {
            results.try_fold(false, |acc, r| r.map(|b| acc || b))
        } else {
            results.try_fold(true, |acc, r| r.map(|b| acc && b))
        };
    }
    let kind = filter
        .get("filterType")
        .and_then(Value::as_str)
        .unwrap_or("text");
    let op = filter
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("contains");
    let blank = cell.is_null() || cell.as_str().is_some_and(str::is_empty);
    match (kind, op) {
        (_, "blank") => return Ok(blank),
        (_, "notBlank") => return Ok(!blank),
        ("set", _) => {
            let values = filter
                .get("values")
                .and_then(Value::as_array)
                .ok_or("a set filter needs `values`")?;
            let text = text_of(cell);
            return Ok(values.iter().any(|v| text_of(v) == text));
        }
        _ => {}
    }
    if kind == "number" || kind == "date" {
        let key = if kind == "date" { "dateFrom" } else { "filter" };
        let to_key = if kind == "date" { "dateTo" } else { "filterTo" };
        let a = filter.get(key).unwrap_or(&Value::Null);
        let o = compare(cell, a);
        return Ok(match op {
            "equals" => o == Ordering::Equal,
            "notEqual" => o != Ordering::Equal,
            "lessThan" => o == Ordering::Less,
            "lessThanOrEqual" => o != Ordering::Greater,
            "greaterThan" => o == Ordering::Greater,
            "greaterThanOrEqual" => o != Ordering::Less,
            "inRange" => {
                o != Ordering::Less
                    && compare(cell, filter.get(to_key).unwrap_or(&Value::Null))
                        != Ordering::Greater
            }
            other => return Err(format!("unknown {kind} filter `{other}`")),
        });
    }
    let cell = text_of(cell).to_lowercase();
    let want = filter
        .get("filter")
        .map(text_of)
        .unwrap_or_default()
        .to_lowercase();
    Ok(match op {
        "contains" => cell.contains(&want),
        "notContains" => !cell.contains(&want),
        "equals" => cell == want,
        "notEqual" => cell != want,
        "startsWith" => cell.starts_with(&want),
        "endsWith" => cell.ends_with(&want),
        other => return Err(format!("unknown text filter `{other}`")),
    })
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Numbers compare as numbers, everything else as text; nulls sort first.
fn compare(a: &Value, b: &Value) -> Ordering {
    let num = |v: &Value| {
        v.as_f64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    };
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => text_of(a).cmp(&text_of(b)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Value> {
        (0..10).map(|i| json!({"id": i, "sym": if i % 2 == 0 { "AAPL" } else { "MSFT" }, "px": 100 - i})).collect()
    }

    #[test]
    fn filters_sorts_and_pages() {
        let req = json!({"startRow": 1, "endRow": 3, "sortModel": [{"colId": "px", "sort": "asc"}],
                         "filterModel": {"sym": {"filterType": "text", "type": "equals", "filter": "aapl"}}});
        let out = apply(rows(), req.as_object().expect("object")).expect("applies");
        assert_eq!(out["rowCount"], 5);
        assert_eq!(
            out["rowData"],
            json!([{"id": 6, "sym": "AAPL", "px": 94}, {"id": 4, "sym": "AAPL", "px": 96}])
        );
    }

    #[test]
    fn number_ranges_sets_and_combined_conditions() {
        let req = json!({"filterModel": {"px": {"filterType": "number", "type": "inRange", "filter": 93, "filterTo": 95}}});
        assert_eq!(
            apply(rows(), req.as_object().expect("o")).expect("ok")["rowCount"],
            3
        );
        let req = json!({"filterModel": {"id": {"filterType": "set", "values": ["1", "2"]}}});
        assert_eq!(
            apply(rows(), req.as_object().expect("o")).expect("ok")["rowCount"],
            2
        );
        let req = json!({"filterModel": {"id": {"filterType": "number", "operator": "OR", "conditions": [
            {"filterType": "number", "type": "lessThan", "filter": 1}, {"filterType": "number", "type": "greaterThan", "filter": 8}]}}});
        assert_eq!(
            apply(rows(), req.as_object().expect("o")).expect("ok")["rowCount"],
            2
        );
        let bad =
            json!({"filterModel": {"id": {"filterType": "text", "type": "fuzzy", "filter": "x"}}});
        assert!(apply(rows(), bad.as_object().expect("o")).is_err());
    }
}
