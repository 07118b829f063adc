//! Answering a request from a widget's (or route's) source.
//!
//! Each source is compiled at load time into an [`Answer`]: fixed bytes for static values and
//! files, a compiled template rendered per request, or an upstream call.

pub mod fixed;
pub mod templated;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::args;
use crate::cache::{AnswerCache, CacheStatus};
use crate::config::SourceDef;
use crate::config::params::ParamDef;
use crate::diag::Diagnostics;
use crate::error::ApiError;
use crate::openbb::types::{Encoding, WidgetType};
use crate::template::Templates;
use crate::upstream::{self, ProviderMap, Upstream};
use crate::yaml::Mark;

/// A body with its content type.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The body bytes.
    pub body: Bytes,
    /// Its `Content-Type`.
    pub content_type: &'static str,
}

/// How an endpoint answers.
pub enum Answer {
    /// The same bytes every time.
    Fixed(Reply),
    /// A template rendered with the request's params.
    Template {
        /// The compiled template's name.
        name: String,
        /// The params it reads.
        params: Vec<ParamDef>,
    },
    /// A call to a provider.
    Upstream {
        /// The compiled call and shaping.
        call: Box<Upstream>,
        /// The params it reads.
        params: Vec<ParamDef>,
    },
}

/// Providers and the cache, for compiling `upstream:` sources.
pub struct UpstreamScope {
    /// Providers by name, with their default cache lifetime and a fingerprint of their settings;
    /// `None` for a provider whose own settings are invalid (already reported).
    pub providers: ProviderMap,
    /// The answer cache.
    pub cache: Arc<AnswerCache>,
}

/// One served path of a snapshot.
pub struct Endpoint {
    /// Names the widget or route in error messages, e.g. "widget `hello_world`".
    pub owner: String,
    /// The Workspace type, which decides encoding and shape.
    pub kind: WidgetType,
    /// `data.dataKey`: where the records sit inside the answer.
    pub data_key: Option<String>,
    /// How it answers.
    pub answer: Answer,
}

/// What is being compiled, for [`compile`].
#[derive(Clone)]
pub struct Target<'a> {
    /// "widget `x`" or "route `/y`".
    pub owner: String,
    /// A unique template name for it.
    pub name: String,
    /// Its type.
    pub kind: WidgetType,
    /// Its `data.dataKey`.
    pub data_key: Option<String>,
    /// Its params.
    pub params: &'a [ParamDef],
    /// Its `cache:` lifetime.
    pub cache_ttl: Option<Duration>,
    /// Providers and cache.
    pub scope: &'a UpstreamScope,
    /// The config file.
    pub file: &'a Path,
    /// Where it is declared.
    pub mark: Mark,
}

/// Compiles `source` for `target`; problems go to `diags`.
pub fn compile(
    source: &SourceDef,
    target: Target<'_>,
    templates: &mut Templates,
    diags: &mut Diagnostics,
) -> Option<Endpoint> {
    let answer = match source {
        SourceDef::Static(node) => fixed::from_static(node, &target, diags).map(Answer::Fixed),
        SourceDef::File { path, mark } => {
            fixed::from_file(path, *mark, &target, diags).map(Answer::Fixed)
        }
        SourceDef::Template { text, first_line } => templated::compile(
            text.clone(),
            target.file,
            *first_line,
            &target,
            templates,
            diags,
        ),
        SourceDef::Upstream(def) => {
            let cx = upstream::Context {
                owner: target.owner.clone(),
                name: target.name.clone(),
                kind: target.kind.clone(),
                data_key: target.data_key.clone(),
                params: target.params,
                cache_ttl: target.cache_ttl,
                providers: &target.scope.providers,
                cache: target.scope.cache.clone(),
                file: target.file,
            };
            upstream::compile(def, cx, templates, diags).map(|call| Answer::Upstream {
                call: Box::new(call),
                params: target.params.to_vec(),
            })
        }
        SourceDef::TemplateFile { path, mark } => match std::fs::read_to_string(path) {
            Ok(text) => templated::compile(text, path, 1, &target, templates, diags),
            Err(e) => {
                diags.error(
                    target.file,
                    *mark,
                    format!("{}: cannot read {}: {e}", target.owner, path.display()),
                );
                None
            }
        },
    }?;
    Some(Endpoint {
        owner: target.owner,
        kind: target.kind,
        data_key: target.data_key,
        answer,
    })
}

impl Endpoint {
    /// Answers a GET with the given query string.
    pub async fn respond(
        &self,
        templates: &Templates,
        query: Option<&str>,
    ) -> Result<(Reply, Option<CacheStatus>), ApiError> {
        match &self.answer {
            Answer::Fixed(reply) => Ok((reply.clone(), None)),
            Answer::Template { name, params } => {
                let vars =
                    args::bind(params, &args::parse_query(query)).map_err(ApiError::bad_request)?;
                let text = templates
                    .render(name, minijinja::Value::from(vars))
                    .map_err(|e| {
                        ApiError::internal(format!(
                            "{}: template failed: {}",
                            self.owner,
                            describe(&e)
                        ))
                    })?;
                let reply =
                    templated::encode(&self.owner, &self.kind, self.data_key.as_deref(), text)?;
                Ok((reply, None))
            }
            Answer::Upstream { call, params } => {
                let vars =
                    args::bind(params, &args::parse_query(query)).map_err(ApiError::bad_request)?;
                call.respond(templates, vars).await
            }
        }
    }
}

/// Encodes a text answer for a text widget type.
pub fn text_reply(kind: &WidgetType, text: String) -> Reply {
    match kind.encoding() {
        Encoding::Html => Reply {
            body: Bytes::from(text),
            content_type: "text/html; charset=utf-8",
        },
        Encoding::Text => Reply {
            body: Bytes::from(text),
            content_type: "text/plain; charset=utf-8",
        },
        Encoding::JsonString | Encoding::Json => json_reply(&serde_json::Value::String(text)),
    }
}

/// Encodes a JSON answer.
pub fn json_reply(value: &serde_json::Value) -> Reply {
    Reply {
        body: Bytes::from(serde_json::to_vec(value).unwrap_or_default()),
        content_type: "application/json",
    }
}

/// A minijinja error in one line, with its detail.
pub fn describe(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    }
}
