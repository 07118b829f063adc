//! Answering a request from a widget's (or route's) source.
//!
//! Each source is compiled at load time into an [`Answer`]: fixed bytes for static values and
//! files, a compiled template rendered per request, or an upstream call.

pub mod direct;
pub mod files;
pub mod fixed;
pub mod templated;
pub mod udf;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::args::{self, Input};
use crate::cache::{AnswerCache, CacheStatus};
use crate::config::SourceDef;
use crate::config::params::ParamDef;
use crate::diag::Diagnostics;
use crate::error::ApiError;
use crate::metrics::OkHandles;
use crate::openbb::types::{Encoding, WidgetType};
use crate::source::direct::DirectBinding;
use crate::ssrm;
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
        /// The implicit variables it reads (`theme`, `raw`).
        implicit: Vec<&'static str>,
        /// How a query binds it straight into its JSON answer, when it can.
        direct: Option<DirectBinding>,
    },
    /// Files a multi-file viewer selects by name.
    Files {
        /// The compiled offers.
        files: files::Files,
        /// The params (the selector among them).
        params: Vec<ParamDef>,
    },
    /// A route of TradingView's UDF protocol.
    Udf {
        /// The symbols and bars.
        udf: Arc<udf::Udf>,
        /// Which route.
        part: udf::Part,
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
    /// Whether it answers POST (omni, server-side tables, file viewers, POST routes).
    pub post: bool,
    /// How it answers.
    pub answer: Answer,
    /// Its request metrics for `200` answers.
    pub ok_metrics: OkHandles,
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
    /// The param selecting files (`roles: [fileSelector]`), for `files:` sources.
    pub selector: Option<String>,
    /// Whether it answers POST.
    pub post: bool,
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
            upstream::compile(def, &target, templates, diags).map(|call| Answer::Upstream {
                call: Box::new(call),
                params: target.params.to_vec(),
            })
        }
        SourceDef::Files(offers) => files::compile(offers, &target, target.selector.clone(), diags)
            .map(|files| Answer::Files {
                files,
                params: target.params.to_vec(),
            }),
        SourceDef::Udf(def) => {
            udf::compile(def, &target, templates, diags).map(|udf| Answer::Udf {
                udf,
                part: udf::Part::Config,
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
        post: target.post,
        answer,
        ok_metrics: OkHandles::default(),
    })
}

impl Endpoint {
    /// Answers a request whose params arrive as `input` (a query string, or a POSTed body).
    pub async fn respond(
        &self,
        templates: &Templates,
        input: &Input<'_>,
    ) -> Result<(Reply, Option<CacheStatus>), ApiError> {
        let (reply, cache) = match &self.answer {
            Answer::Fixed(reply) => (reply.clone(), None),
            Answer::Template {
                name,
                params,
                implicit,
                direct,
            } => {
                let reply = match direct
                    .as_ref()
                    .and_then(|direct| templated::render_direct(templates, name, direct, input))
                {
                    Some(reply) => reply,
                    None => templated::render(
                        &self.owner,
                        &self.kind,
                        self.data_key.as_deref(),
                        templates,
                        name,
                        args::bind(params, implicit, input).map_err(ApiError::bad_request)?,
                    )?,
                };
                (reply, None)
            }
            Answer::Files { files, params } => {
                let vars = args::bind(params, &[], input).map_err(ApiError::bad_request)?;
                let selection = vars.get(&files.param).cloned().unwrap_or_default();
                (json_reply(&files.answer(&selection)), None)
            }
            // Boxed: a UDF route may call upstream, and its future would otherwise be part of
            // every request's future (see `AnswerCache::get_or_fetch`).
            Answer::Udf { udf, part } => {
                (Box::pin(udf.answer(*part, input, templates)).await?, None)
            }
            Answer::Upstream { call, params } => {
                let vars =
                    args::bind(params, call.implicit(), input).map_err(ApiError::bad_request)?;
                call.respond(templates, vars).await?
            }
        };
        if self.kind == WidgetType::TableSsrm {
            return Ok((self.page(reply, input)?, cache));
        }
        Ok((reply, cache))
    }

    /// Applies AG Grid's server-side request (the POSTed body) to the source's rows.
    fn page(&self, reply: Reply, input: &Input) -> Result<Reply, ApiError> {
        let rows: serde_json::Value = serde_json::from_slice(&reply.body)
            .map_err(|e| ApiError::internal(format!("{}: rows are not JSON ({e})", self.owner)))?;
        let rows = match rows {
            serde_json::Value::Array(rows) => rows,
            other => {
                return Err(ApiError::internal(format!(
                    "{}: rows must be a list, not {}",
                    self.owner,
                    crate::openbb::shape::kind_of(&other)
                )));
            }
        };
        let request = match input {
            Input::Body(map) => map.clone(),
            Input::Query(_) => serde_json::Map::new(),
        };
        let page = ssrm::apply(rows, &request)
            .map_err(|why| ApiError::bad_request(format!("{}: {why}", self.owner)))?;
        Ok(json_reply(&page))
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
        // A str serializes as a JSON string; no `Value` in between.
        Encoding::JsonString | Encoding::Json => {
            json_string_reply(Bytes::from(serde_json::to_vec(&text).unwrap_or_default()))
        }
    }
}

/// A text answer already encoded as a JSON string literal.
fn json_string_reply(body: Bytes) -> Reply {
    Reply {
        body,
        content_type: "application/json",
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

/// The UDF sub-routes (`config`, `symbols`, …) of an `advanced_charting` endpoint, to be served
/// below its path; empty for every other endpoint.
pub fn udf_routes(endpoint: &Endpoint) -> Vec<(&'static str, Endpoint)> {
    let Answer::Udf { udf, .. } = &endpoint.answer else {
        return Vec::new();
    };
    crate::config::udf::SUB_ROUTES
        .iter()
        .filter_map(|name| {
            let part = udf::Part::from_sub_route(name)?;
            let ep = Endpoint {
                owner: endpoint.owner.clone(),
                kind: endpoint.kind.clone(),
                data_key: None,
                post: false,
                answer: Answer::Udf {
                    udf: udf.clone(),
                    part,
                },
                ok_metrics: OkHandles::default(),
            };
            Some((*name, ep))
        })
        .collect()
}
