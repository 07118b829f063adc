//! `upstream:` widgets: call a provider with the widget's params, shape the answer for the
//! widget type, cache it.

pub mod provider;
pub mod registry;
pub mod request;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;
use minijinja::Value as Jv;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::cache::{AnswerCache, CacheStatus};
use crate::config::provider::ProviderStatus;
use crate::config::upstream::{Format, Method, UpstreamDef};
use crate::diag::Diagnostics;
use crate::error::ApiError;
use crate::openbb::shape;
use crate::openbb::types::WidgetType;
use crate::shaping::fields::{self, Field, Select};
use crate::shaping::{format, rows, tree};
use crate::source::{Reply, Target, describe, json_reply, text_reply};
use crate::template::Templates;
use crate::upstream::provider::Provider;
use crate::upstream::request::RequestPlan;
use crate::yaml::Mark;

/// A provider as one snapshot sees it.
pub struct ScopedProvider {
    /// The provider.
    pub provider: Arc<Provider>,
    /// Its default cache lifetime.
    pub cache: Option<Duration>,
    /// A fingerprint of its settings (part of cache keys).
    pub fingerprint: String,
}

/// Providers by name; `None` for a declared provider whose settings are invalid.
pub type ProviderMap = BTreeMap<String, Option<ScopedProvider>>;

/// A compiled upstream widget.
pub struct Upstream {
    owner: String,
    kind: WidgetType,
    data_key: Option<String>,
    provider: Arc<Provider>,
    method: Method,
    plan: RequestPlan,
    format: Option<Format>,
    select: Option<Select>,
    fields: Vec<(String, Field)>,
    output: Option<tree::Tree>,
    template: Option<String>,
    ttl: Option<Duration>,
    cache: Arc<AnswerCache>,
    key_prefix: String,
    implicit: Vec<&'static str>,
}

/// Compiles `def`; problems go to `diags`.
pub fn compile(
    def: &UpstreamDef,
    cx: &Target<'_>,
    templates: &mut Templates,
    diags: &mut Diagnostics,
) -> Option<Upstream> {
    let file = cx.file;
    let owner = &cx.owner;
    let Some(declared) = cx.scope.providers.get(&def.provider) else {
        let names: Vec<&str> = cx.scope.providers.keys().map(String::as_str).collect();
        diags.error(
            file,
            def.provider_mark,
            format!(
                "{owner}: no provider `{}` under `providers:`{}",
                def.provider,
                crate::config::keys::did_you_mean(&def.provider, &names)
            ),
        );
        return None;
    };
    let params = crate::args::template_names(cx.params);
    let mut with_data = params.clone();
    with_data.push("data");
    let mut ok = true;
    let mut fail = |mark: Mark, message: String| {
        diags.error(file, mark, format!("{owner}: {message}"));
        ok = false;
    };
    let text_tree = |text: &str,
                     name: String,
                     mark: Mark,
                     templates: &mut Templates,
                     fail: &mut dyn FnMut(Mark, String)| {
        tree::compile_str(text, mark, &name, &params, templates)
            .map_err(|e| fail(e.mark, e.message))
            .ok()
    };
    let path = text_tree(
        &def.path,
        format!("{}:path", cx.name),
        def.mark,
        templates,
        &mut fail,
    );
    let query: Vec<(String, tree::Tree)> = def
        .query
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.clone(),
                text_tree(
                    v,
                    format!("{}:query:{k}", cx.name),
                    def.mark,
                    templates,
                    &mut fail,
                )?,
            ))
        })
        .collect();
    let mut headers = Vec::new();
    for (k, v) in &def.headers {
        match HeaderName::from_bytes(k.as_bytes()) {
            Ok(name) => {
                if let Some(t) = text_tree(
                    v,
                    format!("{}:header:{k}", cx.name),
                    def.mark,
                    templates,
                    &mut fail,
                ) {
                    headers.push((name, t));
                }
            }
            Err(_) => fail(def.mark, format!("`{k}` is not a valid header name")),
        }
    }
    let body = def.body.as_ref().and_then(|b| {
        tree::compile(b, &format!("{}:body", cx.name), &params, templates)
            .map_err(|e| fail(e.mark, e.message))
            .ok()
    });
    let select = def
        .select
        .as_ref()
        .and_then(|(s, mark)| Select::parse(s).map_err(|e| fail(*mark, e)).ok());
    let fields = fields::compile(
        &def.fields,
        &format!("{}:fields", cx.name),
        &params,
        templates,
    )
    .map_err(|e| fail(e.mark, e.message))
    .unwrap_or_default();
    let output = def.output.as_ref().and_then(|o| {
        tree::compile(o, &format!("{}:output", cx.name), &with_data, templates)
            .map_err(|e| fail(e.mark, e.message))
            .ok()
    });
    let template = def.template.as_ref().and_then(|(text, first_line)| {
        let name = if cx.kind == WidgetType::Html {
            format!("{}:template.html", cx.name)
        } else {
            format!("{}:template", cx.name)
        };
        if let Err(e) = templates.add(name.clone(), text.clone()) {
            let line = first_line + e.line().unwrap_or(1).saturating_sub(1) as u64;
            fail(
                Mark { line, col: 1 },
                format!("template syntax: {}", describe(&e)),
            );
            return None;
        }
        let unknown: Vec<String> = templates
            .undeclared(&name)
            .into_iter()
            .filter(|v| !with_data.contains(&v.as_str()))
            .collect();
        if !unknown.is_empty() {
            fail(
                Mark {
                    line: *first_line,
                    col: 1,
                },
                format!(
                    "the template uses {} (available: {})",
                    unknown.join(", "),
                    with_data.join(", ")
                ),
            );
            return None;
        }
        Some(name)
    });
    if cx.kind.is_text() && def.output.is_some() {
        fail(
            def.mark,
            "text widgets take `upstream.template`, not `upstream.output`".into(),
        );
    }
    if !cx.kind.is_text() && def.template.is_some() {
        fail(
            def.mark,
            "JSON widgets take `upstream.output`, not `upstream.template`".into(),
        );
    }
    let Some(ScopedProvider {
        provider,
        cache: provider_ttl,
        fingerprint: provider_print,
    }) = declared
    else {
        return None; // the provider's own errors are already reported
    };
    if !ok {
        return None;
    }
    let ttl = cx.cache_ttl.or(*provider_ttl);
    let fingerprint = format!(
        "{def:?}|{:?}|{:?}|{:?}|{provider_print}|{ttl:?}",
        cx.kind, cx.data_key, cx.params
    );
    let key_prefix = crate::snapshot::hex(&Sha256::digest(fingerprint.as_bytes())[..12]);
    Some(Upstream {
        owner: cx.owner.clone(),
        kind: cx.kind.clone(),
        data_key: cx.data_key.clone(),
        provider: provider.clone(),
        method: def.method,
        plan: RequestPlan {
            path: path?,
            query,
            headers,
            body,
        },
        format: def.format,
        select,
        fields,
        output,
        template,
        ttl,
        cache: cx.scope.cache.clone(),
        key_prefix,
        implicit: crate::args::implicit_used(cx.params, &templates.undeclared_with_parts(&cx.name)),
    })
}

impl Upstream {
    /// The implicit variables (`theme`, `raw`) this widget's templates read.
    pub fn implicit(&self) -> &[&'static str] {
        &self.implicit
    }

    /// Answers a request with bound `vars`.
    pub async fn respond(
        &self,
        templates: &Templates,
        vars: BTreeMap<String, Jv>,
    ) -> Result<(Reply, Option<CacheStatus>), ApiError> {
        let parts = match &self.provider.status {
            ProviderStatus::Ready(parts) => parts,
            ProviderStatus::Unconfigured { missing } => {
                return Err(ApiError::unavailable(
                    format!(
                        "provider {} is not configured: {missing} is not set",
                        self.provider.name
                    ),
                    60,
                ));
            }
        };
        let key = self.cache_key(&vars);
        // Made only on a miss (the cache boxes it: see `AnswerCache`).
        let fetch = || async {
            let prepared = self.plan.build(parts, templates, &vars)?;
            let method = match self.method {
                Method::Get => reqwest::Method::GET,
                Method::Post => reqwest::Method::POST,
            };
            let fetched = self.provider.call(method, prepared).await?;
            self.shape(fetched, templates, &vars)
        };
        match self.ttl {
            Some(ttl) if !ttl.is_zero() => {
                let (reply, status) = self.cache.get_or_fetch(&key, ttl, fetch).await?;
                Ok((reply, Some(status)))
            }
            _ => Ok((self.cache.coalesce(&key, fetch).await?, None)),
        }
    }

    /// The cache key of a call with `vars`: the widget's prefix (a hash of its definition),
    /// `|`, then the variables as JSON (a `BTreeMap`, so in a fixed order). Written into one
    /// buffer: this runs for every request, hits included.
    fn cache_key(&self, vars: &BTreeMap<String, Jv>) -> String {
        let mut key = Vec::with_capacity(self.key_prefix.len() + 1 + 16 * (vars.len() + 1));
        key.extend_from_slice(self.key_prefix.as_bytes());
        key.push(b'|');
        // Writing to a Vec cannot fail, and template values always serialize.
        let _ = serde_json::to_writer(&mut key, vars);
        String::from_utf8(key).expect("a str and JSON are UTF-8")
    }

    /// Whether a JSON answer goes out as the upstream sent it once it is a list of records:
    /// a table with nothing to shape (anything else, or a body that is no list of records,
    /// takes the full path, which also words the error).
    fn passes_through(&self, fmt: Format) -> bool {
        fmt == Format::Json
            && self.kind == WidgetType::Table
            && self.data_key.as_deref().is_none_or(str::is_empty)
            && self.select.is_none()
            && self.fields.is_empty()
            && self.output.is_none()
            && self.template.is_none()
    }

    fn shape(
        &self,
        fetched: provider::Fetched,
        templates: &Templates,
        vars: &BTreeMap<String, Jv>,
    ) -> Result<Reply, ApiError> {
        let provider = &self.provider.name;
        let fmt = format::pick(self.format, fetched.content_type.as_deref());
        if self.passes_through(fmt) && rows::is_list_of_objects(&fetched.body) {
            return Ok(Reply {
                body: fetched.body,
                content_type: "application/json",
            });
        }
        let mut data = format::read(fmt, &fetched.body).map_err(|e| {
            ApiError::bad_gateway(format!(
                "provider {provider} answered {}",
                self.provider.redact(&e)
            ))
        })?;
        if let Some(select) = &self.select {
            data = select.apply(&data);
        }
        let bad = |why: String| ApiError::bad_gateway(format!("{}: {why}", self.owner));
        if !self.fields.is_empty() {
            data = fields::apply(&self.fields, data, templates, vars).map_err(bad)?;
        }
        if self.kind.is_text() {
            let text = match (&self.template, data) {
                (Some(name), data) => {
                    let mut ctx = vars.clone();
                    ctx.insert("data".into(), Jv::from(minijinja::value::Serde(&data)));
                    templates
                        .render(name, Jv::from(ctx))
                        .map_err(|e| bad(format!("template failed: {}", describe(&e))))?
                }
                (None, Value::String(s)) => s,
                (None, other) => {
                    return Err(bad(format!(
                        "the upstream answer is {}, but this widget shows text; add `upstream.template`",
                        shape::kind_of(&other)
                    )));
                }
            };
            return Ok(text_reply(&self.kind, text));
        }
        if let Some(output) = &self.output {
            let mut ctx = vars.clone();
            ctx.insert("data".into(), Jv::from(minijinja::value::Serde(&data)));
            data = output
                .eval(templates, &ctx)
                .map_err(|e| bad(format!("output failed: {e}")))?;
        }
        let data = shape::normalize(&self.kind, data);
        shape::check(&self.kind, self.data_key.as_deref(), &data)
            .map_err(|why| bad(format!("the shaped answer does not fit: {why}")))?;
        Ok(json_reply(&data))
    }
}
