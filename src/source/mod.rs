//! Answering a request from a widget's (or route's) source.
//!
//! Each source is compiled at load time into an [`Answer`]: fixed bytes for static values and
//! files, or a compiled template that is rendered per request.

pub mod fixed;
pub mod templated;

use std::path::Path;

use bytes::Bytes;

use crate::args;
use crate::config::SourceDef;
use crate::config::params::ParamDef;
use crate::diag::Diagnostics;
use crate::error::ApiError;
use crate::openbb::types::{Encoding, WidgetType};
use crate::template::Templates;
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
#[derive(Debug)]
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
}

/// One served path of a snapshot.
#[derive(Debug)]
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
    pub fn respond(&self, templates: &Templates, query: Option<&str>) -> Result<Reply, ApiError> {
        match &self.answer {
            Answer::Fixed(reply) => Ok(reply.clone()),
            Answer::Template { name, params } => {
                let vars =
                    args::bind(params, &args::parse_query(query)).map_err(ApiError::bad_request)?;
                let text = templates.render(name, vars).map_err(|e| {
                    ApiError::internal(format!("{}: template failed: {}", self.owner, describe(&e)))
                })?;
                templated::encode(&self.owner, &self.kind, self.data_key.as_deref(), text)
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
