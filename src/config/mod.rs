//! gateway.yaml: reading it, with every problem located at `file:line:column`.
//!
//! Parsing keeps going after a problem so that one run reports all of them; the caller decides
//! from [`Diagnostics::has_errors`] whether the result may be served.

pub mod auth;
pub mod cache;
pub mod env;
pub mod keys;
pub mod limits;
pub mod params;
pub mod provider;
pub mod rate;
pub mod server;
pub mod source;
pub mod tls;
pub mod udf;
pub mod units;
pub mod upstream;
pub mod widget;

use std::path::{Path, PathBuf};

use crate::diag::Diagnostics;
use crate::yaml::{self, Mark, Node};

pub use auth::AuthConfig;
pub use cache::CacheSettings;
pub use env::Env;
pub use provider::ProviderDef;
pub use server::ServerConfig;
pub use source::SourceDef;
pub use widget::{RouteDef, WidgetDef};

/// Where apps.json comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum AppsDef {
    /// No `apps` key: a default app laying out every widget.
    Generated,
    /// `apps:` (or the contents of `apps_file:`) verbatim.
    Given {
        /// The list, with locations.
        node: Node,
        /// The file it was read from.
        file: PathBuf,
    },
}

/// A parsed gateway.yaml.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The config file.
    pub path: PathBuf,
    /// The file's text, for locating template lines.
    pub text: String,
    /// `server:`.
    pub server: ServerConfig,
    /// `providers:` that are valid, in order.
    pub providers: Vec<ProviderDef>,
    /// Every name under `providers:`, valid or not (so widgets naming a broken provider are
    /// still checked, without a misleading "no such provider").
    pub provider_names: Vec<String>,
    /// `cache:`.
    pub cache: CacheSettings,
    /// `auth:`; `None` serves without client keys.
    pub auth: Option<AuthConfig>,
    /// `widgets:`, in order.
    pub widgets: Vec<WidgetDef>,
    /// `routes:`, in order.
    pub routes: Vec<RouteDef>,
    /// `apps:` / `apps_file:`.
    pub apps: AppsDef,
}

/// Reads and parses `path`. Returns the config (possibly partial) and everything found wrong;
/// `None` when the file cannot be read or is not YAML.
pub fn load(path: &Path, env: &Env) -> (Option<Config>, Diagnostics) {
    let mut diags = Diagnostics::default();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            diags.error(
                path,
                Mark { line: 1, col: 1 },
                format!("cannot read the config file: {e}"),
            );
            return (None, diags);
        }
    };
    let config = parse_text(path, text, env, &mut diags);
    (config, diags)
}

/// Parses config `text` as if read from `path`.
pub fn parse_text(path: &Path, text: String, env: &Env, diags: &mut Diagnostics) -> Option<Config> {
    let root = match yaml::parse(&text) {
        Ok(root) => root,
        Err(e) => {
            diags.error(path, e.mark, format!("YAML syntax: {}", e.message));
            return None;
        }
    };
    if !root.is_map() {
        diags.error(
            path,
            root.mark,
            format!(
                "gateway.yaml must be a mapping with `widgets:`, not {}",
                root.kind()
            ),
        );
        return None;
    }
    let mut config = Config {
        path: path.to_path_buf(),
        text: String::new(),
        server: ServerConfig::default(),
        providers: Vec::new(),
        provider_names: Vec::new(),
        cache: CacheSettings::default(),
        auth: None,
        widgets: Vec::new(),
        routes: Vec::new(),
        apps: AppsDef::Generated,
    };
    for (key, value) in root.entries() {
        match key.name.as_str() {
            "server" => config.server = server::parse(value, path, diags),
            "providers" => {
                config.provider_names = value
                    .entries()
                    .iter()
                    .map(|(k, _)| k.name.clone())
                    .collect();
                config.providers = provider::parse_all(value, path, env, diags);
            }
            "cache" => config.cache = cache::parse(value, path, diags),
            "auth" => config.auth = auth::parse(value, path, &|name| env.get(name), diags),
            "widgets" => config.widgets = parse_widgets(value, path, &text, diags),
            "routes" => {
                for (k, v) in value.entries() {
                    config
                        .routes
                        .extend(widget::parse_route(k, v, path, &text, diags));
                }
                if !value.is_map() {
                    diags.error(
                        path,
                        value.mark,
                        "`routes` must be a mapping of path to source",
                    );
                }
            }
            "apps" => config.apps = parse_apps(value, path, diags),
            "apps_file" => config.apps = parse_apps_file(value, path, diags),
            other => diags.error(
                path,
                key.mark,
                format!(
                    "unknown top-level key `{other}`{}",
                    keys::did_you_mean(other, keys::TOP_LEVEL)
                ),
            ),
        }
    }
    if root.get("apps").is_some() && root.get("apps_file").is_some() {
        let mark = root
            .entries()
            .iter()
            .find(|(k, _)| k.name == "apps_file")
            .map_or(root.mark, |(k, _)| k.mark);
        diags.error(path, mark, "use either `apps` or `apps_file`, not both");
    }
    if root.get("widgets").is_none() {
        diags.error(path, root.mark, "gateway.yaml has no `widgets:` section");
    }
    config.text = text;
    Some(config)
}

fn parse_widgets(node: &Node, path: &Path, text: &str, diags: &mut Diagnostics) -> Vec<WidgetDef> {
    if !node.is_map() {
        diags.error(
            path,
            node.mark,
            format!(
                "`widgets` must be a mapping of widget id to widget, not {}",
                node.kind()
            ),
        );
        return Vec::new();
    }
    node.entries()
        .iter()
        .filter_map(|(k, v)| widget::parse_widget(k, v, path, text, diags))
        .collect()
}

fn parse_apps(node: &Node, path: &Path, diags: &mut Diagnostics) -> AppsDef {
    if !node.is_seq() {
        diags.error(
            path,
            node.mark,
            format!(
                "`apps` must be a list of apps (apps.json is an array), not {}",
                node.kind()
            ),
        );
    }
    AppsDef::Given {
        node: node.clone(),
        file: path.to_path_buf(),
    }
}

fn parse_apps_file(node: &Node, path: &Path, diags: &mut Diagnostics) -> AppsDef {
    let Some(rel) = node.as_str() else {
        diags.error(path, node.mark, "`apps_file` must be a path");
        return AppsDef::Generated;
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let file = match source::resolve_below(base, rel) {
        Ok(f) => f,
        Err(why) => {
            diags.error(path, node.mark, why);
            return AppsDef::Generated;
        }
    };
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) => {
            diags.error(path, node.mark, format!("cannot read apps_file {rel}: {e}"));
            return AppsDef::Generated;
        }
    };
    match yaml::parse(&text) {
        Ok(apps) => parse_apps(&apps, &file, diags),
        Err(e) => {
            diags.error(&file, e.mark, format!("syntax: {}", e.message));
            AppsDef::Generated
        }
    }
}
