//! The Snapshot: everything one config version serves, computed once at load.
//!
//! A request only looks things up in a Snapshot. A new config builds a whole new Snapshot and
//! swaps it in atomically ([`Store`]); a request that started on the old one finishes on it.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::HeaderValue;
use sha2::{Digest, Sha256};

use crate::auth::Auth;
use crate::config::{self, AppsDef, Config, ServerConfig, SourceDef};
use crate::cors::Cors;
use crate::diag::Diagnostics;
use crate::etag;
use crate::inputs::Inputs;
use crate::live::{DEFAULT_POLL, LiveRoute};
use crate::openbb::rules::{self, WidgetRules};
use crate::openbb::{catalog, types::WidgetType};
use crate::shared::Shared;
use crate::source::{self, Endpoint, Target, UpstreamScope};
use crate::template::Templates;
use crate::tls;
use crate::upstream::ScopedProvider;

/// Paths the gateway answers itself; no widget or route may take them.
pub const RESERVED_PATHS: &[&str] = &[
    "/",
    "/widgets.json",
    "/apps.json",
    "/healthz",
    "/readyz",
    "/metrics",
];

/// The current snapshot, swappable while requests read it.
pub type Store = Arc<ArcSwap<Snapshot>>;

/// A map keyed by names from the config (request paths, template names) and looked up on every
/// request. foldhash instead of SipHash: the keys come from the config, not from clients, and a
/// lookup's cost is mostly the hash of the name.
pub type PathMap<V> = HashMap<String, V, foldhash::fast::RandomState>;

/// One loaded, validated config version.
pub struct Snapshot {
    /// `server:` settings.
    pub server: ServerConfig,
    /// widgets.json, serialized.
    pub widgets_json: Bytes,
    /// widgets.json gzip-compressed, made on first demand ([`crate::encoding`]).
    pub widgets_json_gzip: std::sync::OnceLock<Bytes>,
    /// apps.json, serialized.
    pub apps_json: Bytes,
    /// The answer of `GET /`.
    pub info_json: Bytes,
    /// Served paths.
    pub endpoints: PathMap<Endpoint>,
    /// Compiled templates.
    pub templates: Templates,
    /// Allowed browser origins.
    pub cors: Cors,
    /// Client keys; `None` serves everyone.
    pub auth: Option<Auth>,
    /// The HTTPS acceptor of `server.tls`; `None` serves plain HTTP.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// `live_grid` WebSocket paths and the widgets they stream.
    pub live: PathMap<LiveRoute>,
    /// Number of widgets.
    pub widget_count: usize,
    /// SHA-256 of the config file's text, hex.
    pub config_hash: String,
    /// When this snapshot was built.
    pub loaded_at: SystemTime,
    /// The files this version was read from and their fingerprint (what hot reload watches).
    pub inputs: Inputs,
    /// The strong ETag of `widgets_json`.
    pub widgets_etag: HeaderValue,
    /// The strong ETag of its gzip form (another representation, so another tag).
    pub widgets_etag_gzip: HeaderValue,
    /// The strong ETag of `apps_json`.
    pub apps_etag: HeaderValue,
    /// State that outlives this snapshot, shared with the snapshots before and after it.
    pub shared: Arc<Shared>,
}

/// Loads `path` into a snapshot, or returns every problem that prevents serving it.
/// Warnings come back with the snapshot. For one-off loads (`check`, `render`): the snapshot
/// shares state with nothing and reads the process environment.
pub fn load(path: &Path) -> Result<(Snapshot, Diagnostics), Diagnostics> {
    load_with(path, &Arc::default())
}

/// Loads `path` into a snapshot that uses the long-lived state in `shared`.
pub fn load_with(
    path: &Path,
    shared: &Arc<Shared>,
) -> Result<(Snapshot, Diagnostics), Diagnostics> {
    let (config, diags) = config::load(path, &shared.env);
    let Some(config) = config else {
        return Err(diags);
    };
    from_parsed(config, diags, shared)
}

/// Finishes a load: builds the snapshot of a parsed `config`, given what parsing found.
pub fn from_parsed(
    config: Config,
    mut diags: Diagnostics,
    shared: &Arc<Shared>,
) -> Result<(Snapshot, Diagnostics), Diagnostics> {
    match build(config, shared, &mut diags) {
        Some(snapshot) if !diags.has_errors() => Ok((snapshot, diags)),
        _ => Err(diags),
    }
}

/// Builds a snapshot from a parsed config, adding problems to `diags`.
pub fn build(config: Config, shared: &Arc<Shared>, diags: &mut Diagnostics) -> Option<Snapshot> {
    // Fingerprint the files before compiling reads them (see `Inputs::read`).
    let inputs = Inputs::read(&config);
    let file = config.path.as_path();
    let served = served_paths(&config, diags);
    for w in &config.widgets {
        WidgetRules {
            file,
            served: &served,
            diags,
        }
        .check(&w.id, &w.node);
    }
    let ids: HashSet<String> = config.widgets.iter().map(|w| w.id.clone()).collect();
    if let AppsDef::Given {
        node,
        file: apps_file,
    } = &config.apps
    {
        rules::check_apps(node, apps_file, &ids, diags);
    }

    let scope = upstream_scope(&config, shared, diags);
    let mut templates = Templates::default();
    let mut endpoints = PathMap::default();
    for w in &config.widgets {
        let Some(src) = &w.source else { continue };
        let target = Target {
            owner: format!("widget `{}`", w.id),
            name: format!("widget:{}", w.id),
            kind: w.kind.clone(),
            data_key: w
                .node
                .get("data")
                .and_then(|d| d.get("dataKey"))
                .and_then(|k| k.as_str())
                .map(str::to_string),
            params: &w.params,
            cache_ttl: w.cache,
            selector: file_selector(&w.node),
            post: w.kind.is_post(),
            scope: &scope,
            file,
            mark: w.mark,
        };
        if let Some(ep) = source::compile(src, target, &mut templates, diags) {
            for (name, sub) in source::udf_routes(&ep) {
                endpoints
                    .entry(format!("{}/{name}", w.endpoint))
                    .or_insert(sub);
            }
            endpoints.entry(w.endpoint.clone()).or_insert(ep);
        }
    }
    for r in &config.routes {
        let target = Target {
            owner: format!("route `{}`", r.path),
            name: format!("route:{}", r.path),
            kind: WidgetType::Other("route".into()),
            data_key: None,
            params: &r.params,
            cache_ttl: None,
            selector: None,
            post: r.post,
            scope: &scope,
            file,
            mark: r.mark,
        };
        if let Some(ep) = source::compile(&r.source, target, &mut templates, diags) {
            endpoints.entry(r.path.clone()).or_insert(ep);
        }
    }
    if diags.has_errors() {
        return None;
    }

    let title = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("widgetgate");
    let widgets = catalog::widgets_json(&config.widgets);
    let apps = catalog::apps_json(&config.apps, &config.widgets, title);
    let info = serde_json::json!({
        "name": "widgetgate",
        "version": env!("CARGO_PKG_VERSION"),
        "widgets": config.widgets.len(),
    });
    let auth = config
        .auth
        .as_ref()
        .map(|a| Auth::build(a, &config.widgets, &widgets, &apps, file, diags));
    let tls = config
        .server
        .tls
        .as_ref()
        .and_then(|files| match tls::acceptor(files) {
            Ok(acceptor) => Some(acceptor),
            Err(why) => {
                diags.error(file, files.mark, why);
                None
            }
        });
    if diags.has_errors() {
        return None;
    }
    let widgets_json = document(serde_json::to_vec(&widgets).ok()?);
    let apps_json = document(serde_json::to_vec(&apps).ok()?);
    let widgets_etag = etag::strong(&widgets_json);
    Some(Snapshot {
        live: live_routes(&config, diags),
        cors: Cors::new(&config.server.cors_origins),
        auth,
        tls,
        server: config.server.clone(),
        widgets_etag_gzip: etag::gzip_variant(&widgets_etag),
        widgets_etag,
        apps_etag: etag::strong(&apps_json),
        widgets_json,
        apps_json,
        widgets_json_gzip: std::sync::OnceLock::new(),
        info_json: Bytes::from(serde_json::to_vec(&info).ok()?),
        endpoints,
        templates,
        widget_count: config.widgets.len(),
        config_hash: hex(&Sha256::digest(config.text.as_bytes())),
        loaded_at: SystemTime::now(),
        inputs,
        shared: shared.clone(),
    })
}

/// Providers for this load, reusing long-lived clients and limiters from `shared`.
fn upstream_scope(config: &Config, shared: &Shared, diags: &mut Diagnostics) -> UpstreamScope {
    let mut providers = std::collections::BTreeMap::new();
    for def in &config.providers {
        match shared.providers.provider(def) {
            Ok(p) => {
                let print = hex(&Sha256::digest(format!("{def:?}").as_bytes())[..12]);
                providers.insert(
                    def.name.clone(),
                    Some(ScopedProvider {
                        provider: std::sync::Arc::new(p),
                        cache: def.cache,
                        fingerprint: print,
                    }),
                );
            }
            Err(why) => diags.error(&config.path, def.mark, why),
        }
    }
    for name in &config.provider_names {
        providers.entry(name.clone()).or_insert(None);
    }
    UpstreamScope {
        providers,
        cache: shared.cache(config.cache),
    }
}

/// The WebSocket routes of `live_grid` widgets (`wsEndpoint`, keyed rows by `data.wsRowIdColumn`).
fn live_routes(config: &Config, diags: &mut Diagnostics) -> PathMap<LiveRoute> {
    let mut out = PathMap::default();
    for w in config
        .widgets
        .iter()
        .filter(|w| w.kind == WidgetType::Other("live_grid".into()))
    {
        let Some(ws) = w.node.get("wsEndpoint").and_then(|n| n.as_str()) else {
            continue;
        };
        let Ok(path) = crate::config::widget::normalize_path(ws) else {
            diags.error(
                &config.path,
                w.mark,
                format!("widget `{}`: `wsEndpoint` {ws} is not a plain path", w.id),
            );
            continue;
        };
        let Some(id_column) = w
            .node
            .get("data")
            .and_then(|d| d.get("wsRowIdColumn"))
            .and_then(|n| n.as_str())
        else {
            diags.error(&config.path, w.mark, format!("widget `{}`: a live_grid with `wsEndpoint` needs `data.wsRowIdColumn` to key its rows", w.id));
            continue;
        };
        out.insert(
            path,
            LiveRoute {
                endpoint: w.endpoint.clone(),
                id_column: id_column.to_string(),
                poll: w.poll.unwrap_or(DEFAULT_POLL),
            },
        );
    }
    out
}

/// The paramName of a widget's `roles: [fileSelector]` param.
fn file_selector(widget: &crate::yaml::Node) -> Option<String> {
    let params = widget.get("params")?;
    crate::config::params::flatten(params)
        .into_iter()
        .find(|p| {
            p.get("roles")
                .is_some_and(|r| r.items().iter().any(|x| x.as_str() == Some("fileSelector")))
        })
        .and_then(|p| {
            p.get("paramName")
                .and_then(|n| n.as_str())
                .map(str::to_string)
        })
}

/// Every path widgets and routes claim; reports reserved and duplicate paths.
fn served_paths(config: &Config, diags: &mut Diagnostics) -> HashSet<String> {
    let file = config.path.as_path();
    let mut owners: HashMap<String, String> = HashMap::new();
    let claims = config
        .widgets
        .iter()
        .filter(|w| w.source.is_some())
        .flat_map(|w| {
            let mark = w.node.get("endpoint").map_or(w.mark, |n| n.mark);
            let owner = format!("widget `{}`", w.id);
            let subs: &[&str] = if matches!(w.source, Some(SourceDef::Udf(_))) {
                crate::config::udf::SUB_ROUTES
            } else {
                &[]
            };
            std::iter::once((w.endpoint.clone(), owner.clone(), mark))
                .chain(
                    subs.iter()
                        .map(move |s| (format!("{}/{s}", w.endpoint), owner.clone(), mark)),
                )
                .collect::<Vec<_>>()
        })
        .chain(
            config
                .routes
                .iter()
                .map(|r| (r.path.clone(), format!("route `{}`", r.path), r.mark)),
        );
    for (path, owner, mark) in claims {
        if RESERVED_PATHS.contains(&path.as_str()) {
            diags.error(
                file,
                mark,
                format!("{owner}: {path} is reserved by the gateway; choose another endpoint"),
            );
        } else if let Some(first) = owners.get(&path) {
            diags.error(file, mark, format!("{owner}: endpoint {path} is already served by {first}; give it its own endpoint"));
        } else {
            owners.insert(path, owner);
        }
    }
    owners.into_keys().collect()
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// widgets.json or apps.json as served: on Linux kept where plain TCP connections send it
/// without copying ([`crate::zerocopy`]).
fn document(bytes: Vec<u8>) -> Bytes {
    #[cfg(target_os = "linux")]
    return crate::zerocopy::share(bytes);
    #[cfg(not(target_os = "linux"))]
    return Bytes::from(bytes);
}
