//! Client keys: who is calling, checked before any route.
//!
//! Workspace sends the key the user entered for the backend on every request, in a header
//! (`X-API-KEY` unless `auth.header` says otherwise) or as a query parameter. A missing key is a
//! 401 and a wrong one a 403, each with a `detail` that says what to do. Logs name the client,
//! never its key.

pub mod digest;
pub mod view;

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use http::header::{AUTHORIZATION, HeaderMap, HeaderName};
use serde_json::Value;

use crate::config::WidgetDef;
use crate::config::auth::AuthConfig;
use crate::config::rate::Rate;
use crate::diag::Diagnostics;
use crate::error::ApiError;
use crate::limit::ClientBucket;
use crate::snapshot::PathMap;
use digest::KeyDigest;
use view::View;

/// The client keys of one snapshot.
#[derive(Debug)]
pub struct Auth {
    header: HeaderName,
    header_label: String,
    query_param: Option<String>,
    /// Every configured key's digest, and the index of its client.
    digests: Vec<KeyDigest>,
    owners: Vec<usize>,
    clients: Vec<Client>,
    /// Widget endpoint path to widget id, to tell widgets from routes.
    widget_paths: PathMap<String>,
}

/// One client, as a request sees it.
#[derive(Debug)]
pub struct Client {
    /// Its name: what logs and rate limits use.
    pub name: Arc<str>,
    /// Its rate.
    pub rate: Rate,
    /// Its allow-list applied, or `None` when it may use every widget.
    pub view: Option<View>,
    /// Its rate-limit bucket, once a request has found it.
    pub bucket: ClientBucket,
}

/// Why a request has no client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No key was sent.
    Missing,
    /// A key was sent that no client has.
    Invalid,
}

impl Auth {
    /// Compiles `config` against the snapshot's widgets and documents.
    pub fn build(
        config: &AuthConfig,
        widgets: &[WidgetDef],
        widgets_doc: &Value,
        apps_doc: &Value,
        file: &Path,
        diags: &mut Diagnostics,
    ) -> Auth {
        let mut digests = Vec::new();
        let mut owners = Vec::new();
        let mut clients = Vec::new();
        for (index, c) in config.clients.iter().enumerate() {
            for d in &c.keys {
                digests.push(*d);
                owners.push(index);
            }
            clients.push(Client {
                name: Arc::from(c.name.as_str()),
                rate: c.rate_limit.unwrap_or(config.rate_limit),
                view: c
                    .widgets
                    .as_ref()
                    .map(|p| View::build(p, widgets, widgets_doc, apps_doc, file, diags)),
                bucket: ClientBucket::default(),
            });
        }
        Auth {
            header: config.header.clone(),
            header_label: config.header_label.clone(),
            query_param: config.query_param.clone(),
            digests,
            owners,
            clients,
            widget_paths: widgets
                .iter()
                .filter(|w| w.source.is_some())
                .map(|w| (w.endpoint.clone(), w.id.clone()))
                .collect(),
        }
    }

    /// The client whose key the request carries: the header first, then the query parameter.
    pub fn identify(&self, headers: &HeaderMap, query: Option<&str>) -> Result<&Client, Refusal> {
        let presented = self.presented(headers, query).ok_or(Refusal::Missing)?;
        let index =
            digest::find(&self.digests, &KeyDigest::of(&presented)).ok_or(Refusal::Invalid)?;
        self.owners
            .get(index)
            .and_then(|owner| self.clients.get(*owner))
            .ok_or(Refusal::Invalid)
    }

    /// The key a request carries, if any.
    fn presented<'a>(
        &self,
        headers: &'a HeaderMap,
        query: Option<&'a str>,
    ) -> Option<Cow<'a, [u8]>> {
        if let Some(value) = headers.get(&self.header) {
            let mut bytes = value.as_bytes();
            if self.header == AUTHORIZATION
                && bytes.len() > 7
                && bytes[..7].eq_ignore_ascii_case(b"bearer ")
            {
                bytes = &bytes[7..];
            }
            if !bytes.is_empty() {
                return Some(Cow::Borrowed(bytes));
            }
        }
        let name = self.query_param.as_deref()?;
        crate::query::pairs(query?)
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| match v {
                Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
                Cow::Owned(text) => Cow::Owned(text.into_bytes()),
            })
    }

    /// The error answer for `refusal`.
    pub fn refuse(&self, refusal: Refusal) -> ApiError {
        match refusal {
            Refusal::Missing => {
                let query = self
                    .query_param
                    .as_deref()
                    .map(|q| format!(" or the `{q}` query parameter"))
                    .unwrap_or_default();
                ApiError::unauthorized(format!(
                    "API key required: send it in the {} header{query}",
                    self.header_label
                ))
            }
            Refusal::Invalid => ApiError::forbidden(
                "API key not accepted: check the key entered for this backend in Workspace",
            ),
        }
    }

    /// The widget at `path` when `client` may not use it.
    pub fn forbidden_widget(&self, client: &Client, path: &str) -> Option<&str> {
        let view = client.view.as_ref()?;
        let id = self.widget_paths.get(path)?;
        (!view.widgets.contains(id)).then_some(id.as_str())
    }
}
