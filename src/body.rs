//! POSTed bodies: size-limited, and a JSON object (or a JSON string holding one, as some
//! Workspace widgets send it).

use bytes::Bytes;
use http_body::Body;
use http_body_util::{BodyExt, Limited};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Reads `body` (at most `limit` bytes) as a JSON object; an empty body is an empty object.
pub async fn json_object<B>(body: B, limit: u64) -> Result<Map<String, Value>, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let bytes = Limited::new(body, limit)
        .collect()
        .await
        .map_err(|_| ApiError::payload_too_large(limit as u64))?
        .to_bytes();
    parse(&bytes)
}

/// Parses a body already read.
pub fn parse(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let wrong = || {
        ApiError::bad_request(
            "the request body must be a JSON object (or a JSON string holding one)",
        )
    };
    match serde_json::from_slice::<Value>(bytes)
        .map_err(|e| ApiError::bad_request(format!("the request body is not JSON: {e}")))?
    {
        Value::Object(map) => Ok(map),
        Value::String(inner) => match serde_json::from_str::<Value>(&inner) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(wrong()),
        },
        _ => Err(wrong()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_and_encoded_objects_only() {
        assert_eq!(parse(br#"{"a": 1}"#).expect("object")["a"], 1);
        assert_eq!(parse(br#""{\"a\": 2}""#).expect("encoded object")["a"], 2);
        assert!(parse(b"").expect("empty").is_empty());
        assert_eq!(parse(b"[1]").expect_err("list").status, 400);
        assert_eq!(parse(b"\"text\"").expect_err("string").status, 400);
        assert!(
            parse(b"{nope")
                .expect_err("not json")
                .detail
                .contains("not JSON")
        );
    }
}
