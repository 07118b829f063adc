//! Building the upstream request from templates, so that no param value can change the host,
//! add path segments or inject query parameters.

use std::collections::BTreeMap;

use http::{HeaderMap, HeaderName, HeaderValue};
use minijinja::Value as Jv;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use crate::config::provider::ProviderParts;
use crate::error::ApiError;
use crate::shaping::tree::Tree;
use crate::template::Templates;
use crate::upstream::provider::Prepared;

/// Everything but RFC 3986 unreserved characters is encoded in a path segment value, so `/`,
/// `?`, `#`, `%` and `@` in a param value stay data.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The compiled request parts of one upstream widget.
#[derive(Debug, Clone)]
pub struct RequestPlan {
    /// The path template.
    pub path: Tree,
    /// Query parameter templates.
    pub query: Vec<(String, Tree)>,
    /// Header templates.
    pub headers: Vec<(HeaderName, Tree)>,
    /// The JSON body template (POST).
    pub body: Option<Tree>,
}

impl RequestPlan {
    /// The request for `vars` against `parts` (the provider's base URL, headers and query).
    pub fn build(
        &self,
        parts: &ProviderParts,
        templates: &Templates,
        vars: &BTreeMap<String, Jv>,
    ) -> Result<Prepared, ApiError> {
        let bad = |e: String| ApiError::bad_request(e);
        let mut encoded = BTreeMap::new();
        for (name, value) in vars {
            let text = value.to_string();
            if text == "." || text == ".." {
                return Err(bad(format!("param `{name}` cannot be `{text}`")));
            }
            encoded.insert(
                name.clone(),
                Jv::from(utf8_percent_encode(&text, SEGMENT).to_string()),
            );
        }
        let rendered = match self
            .path
            .eval(templates, &encoded)
            .map_err(ApiError::internal)?
        {
            Value::String(s) => s,
            other => other.to_string(),
        };
        let mut url = parts.base_url.clone();
        let base_path = url.path().trim_end_matches('/').to_string();
        let tail = rendered.trim_start_matches('/');
        let joined = if tail.is_empty() {
            base_path.clone()
        } else {
            format!("{base_path}/{tail}")
        };
        url.set_path(&joined);
        if !url.path().starts_with(&base_path)
            || url.host() != parts.base_url.host()
            || url.port() != parts.base_url.port()
        {
            return Err(bad("the upstream path left the provider's base URL".into()));
        }
        {
            let mut pairs = url.query_pairs_mut();
            for (name, tree) in &self.query {
                let value = tree.eval(templates, vars).map_err(ApiError::internal)?;
                if let Some(text) = query_text(&value) {
                    pairs.append_pair(name, &text);
                }
            }
            for (name, value) in &parts.query {
                pairs.append_pair(name, value);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let mut headers = HeaderMap::new();
        for (name, tree) in &self.headers {
            let value = tree.eval(templates, vars).map_err(ApiError::internal)?;
            let text = query_text(&value).unwrap_or_default();
            let hv = HeaderValue::from_str(&text)
                .map_err(|_| bad(format!("header {name} would carry an invalid value")))?;
            headers.insert(name.clone(), hv);
        }
        for (name, value) in &parts.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ApiError::internal("invalid provider header name"))?;
            let mut hv = HeaderValue::from_str(value).map_err(|_| {
                ApiError::internal(format!("provider header {name} has an invalid value"))
            })?;
            hv.set_sensitive(true);
            headers.insert(name, hv);
        }
        let body = match &self.body {
            Some(tree) => Some(
                serde_json::to_vec(&tree.eval(templates, vars).map_err(ApiError::internal)?)
                    .unwrap_or_default(),
            ),
            None => None,
        };
        Ok(Prepared { url, headers, body })
    }
}

/// The text of a query value; `None` (omitted) for null and empty values. Lists are joined with
/// commas, as Workspace sends multi-select values.
fn query_text(value: &Value) -> Option<String> {
    let text = match value {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(query_text)
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    };
    (!text.is_empty()).then_some(text)
}
