//! Reading an upstream body as JSON, CSV or text.

use serde_json::{Map, Value};

use crate::config::upstream::Format;

/// The format to read a body in: the configured one, else guessed from its Content-Type.
pub fn pick(configured: Option<Format>, content_type: Option<&str>) -> Format {
    if let Some(f) = configured {
        return f;
    }
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    if ct.contains("json") {
        Format::Json
    } else if ct.contains("csv") {
        Format::Csv
    } else if ct.starts_with("text/") {
        Format::Text
    } else {
        Format::Json
    }
}

/// Reads `body` in `format`; the error says what is wrong with it.
pub fn read(format: Format, body: &[u8]) -> Result<Value, String> {
    match format {
        Format::Json => serde_json::from_slice(body).map_err(|e| format!("invalid JSON ({e})")),
        Format::Text => String::from_utf8(body.to_vec())
            .map(Value::String)
            .map_err(|_| "text that is not UTF-8".into()),
        Format::Csv => read_csv(body),
    }
}

/// CSV with a header row becomes a list of records; numbers become numbers, empty cells null.
fn read_csv(body: &[u8]) -> Result<Value, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(body);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("invalid CSV ({e})"))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("invalid CSV ({e})"))?;
        let mut row = Map::new();
        for (name, cell) in headers.iter().zip(record.iter()) {
            row.insert(name.clone(), cell_value(cell));
        }
        rows.push(Value::Object(row));
    }
    Ok(Value::Array(rows))
}

fn cell_value(cell: &str) -> Value {
    let t = cell.trim();
    if t.is_empty() {
        return Value::Null;
    }
    if let Ok(i) = t.parse::<i64>() {
        return Value::from(i);
    }
    match t.parse::<f64>() {
        Ok(f) if f.is_finite() => Value::from(f),
        _ => Value::String(cell.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_becomes_typed_records() {
        let v = read(
            Format::Csv,
            b"symbol,price,note\nAAPL,190.5,\nMSFT,410,big\n",
        )
        .expect("csv");
        assert_eq!(
            v,
            json!([{"symbol": "AAPL", "price": 190.5, "note": null}, {"symbol": "MSFT", "price": 410, "note": "big"}])
        );
    }

    #[test]
    fn format_from_content_type() {
        assert_eq!(
            pick(None, Some("application/json; charset=utf-8")),
            Format::Json
        );
        assert_eq!(pick(None, Some("text/csv")), Format::Csv);
        assert_eq!(pick(None, Some("text/plain")), Format::Text);
        assert_eq!(
            pick(Some(Format::Csv), Some("application/json")),
            Format::Csv
        );
    }
}
