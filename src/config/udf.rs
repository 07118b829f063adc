//! `udf:` sources of `advanced_charting` widgets: the symbols a TradingView chart offers and
//! their price history, served through the UDF protocol's sub-routes.

use std::path::{Path, PathBuf};

use crate::config::keys;
use crate::config::source::resolve_below;
use crate::config::upstream::{self, UpstreamDef};
use crate::diag::Diagnostics;
use crate::yaml::{Mark, Node};

/// The UDF sub-routes below a widget's endpoint.
pub const SUB_ROUTES: &[&str] = &["config", "symbols", "search", "history", "time"];

/// Resolutions offered when `resolutions` is not set.
pub const DEFAULT_RESOLUTIONS: &[&str] = &["1", "5", "15", "30", "60", "D", "W", "M"];

const UDF_KEYS: &[&str] = &["symbols", "history", "resolutions"];
const SYMBOL_KEYS: &[&str] = &[
    "symbol",
    "description",
    "exchange",
    "type",
    "pricescale",
    "timezone",
    "session",
];

/// One symbol of the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolDef {
    /// The ticker.
    pub symbol: String,
    /// A description.
    pub description: String,
    /// The exchange.
    pub exchange: String,
    /// `stock`, `crypto`, `index`…
    pub kind: String,
    /// 10^decimals of prices (100: cents).
    pub pricescale: u64,
    /// IANA time zone of the session.
    pub timezone: String,
    /// Trading session, e.g. `0930-1600` or `24x7`.
    pub session: String,
}

/// Where a chart's bars come from.
#[derive(Debug, Clone, PartialEq)]
pub enum History {
    /// A JSON file mapping each symbol to its bars.
    File(PathBuf),
    /// A provider call per request, with `symbol`, `resolution`, `from` and `to` as params,
    /// shaped into a list of bars.
    Upstream(Box<UpstreamDef>),
}

/// A parsed `udf:`.
#[derive(Debug, Clone, PartialEq)]
pub struct UdfDef {
    /// The symbols.
    pub symbols: Vec<SymbolDef>,
    /// Where bars come from.
    pub history: History,
    /// Where `history` is written.
    pub history_mark: Mark,
    /// Supported resolutions.
    pub resolutions: Vec<String>,
}

/// Reads `udf:`.
pub fn parse(
    node: &Node,
    owner: &str,
    base: &Path,
    file: &Path,
    diags: &mut Diagnostics,
) -> Option<UdfDef> {
    if !node.is_map() {
        diags.error(
            file,
            node.mark,
            format!("{owner}: `udf` must be a mapping with `symbols` and `history`"),
        );
        return None;
    }
    for (k, _) in node.entries() {
        if !UDF_KEYS.contains(&k.name.as_str()) {
            diags.error(
                file,
                k.mark,
                format!(
                    "{owner}: unknown key `udf.{}`{}",
                    k.name,
                    keys::did_you_mean(&k.name, UDF_KEYS)
                ),
            );
        }
    }
    let mut symbols = Vec::new();
    for item in node.get("symbols").map(Node::items).unwrap_or_default() {
        for (k, _) in item.entries() {
            if !SYMBOL_KEYS.contains(&k.name.as_str()) {
                diags.error(
                    file,
                    k.mark,
                    format!(
                        "{owner}: unknown symbol key `{}`{}",
                        k.name,
                        keys::did_you_mean(&k.name, SYMBOL_KEYS)
                    ),
                );
            }
        }
        let text = |k: &str, d: &str| item.get(k).and_then(Node::as_str).unwrap_or(d).to_string();
        let Some(symbol) = item.get("symbol").and_then(Node::as_str) else {
            diags.error(
                file,
                item.mark,
                format!("{owner}: each udf symbol needs a `symbol`"),
            );
            continue;
        };
        symbols.push(SymbolDef {
            symbol: symbol.to_string(),
            description: text("description", symbol),
            exchange: text("exchange", ""),
            kind: text("type", "stock"),
            pricescale: item
                .get("pricescale")
                .and_then(Node::as_f64)
                .map_or(100, |p| p.max(1.0) as u64),
            timezone: text("timezone", "America/New_York"),
            session: text("session", "0930-1600"),
        });
    }
    if symbols.is_empty() {
        diags.error(
            file,
            node.mark,
            format!("{owner}: `udf.symbols` must list at least one symbol"),
        );
    }
    let resolutions = match node.get("resolutions") {
        Some(r) => r
            .items()
            .iter()
            .filter_map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .or_else(|| i.as_f64().map(|f| f.to_string()))
            })
            .collect(),
        None => DEFAULT_RESOLUTIONS.iter().map(|s| s.to_string()).collect(),
    };
    let Some(h) = node.get("history") else {
        diags.error(
            file,
            node.mark,
            format!("{owner}: `udf.history` must name a JSON file of bars per symbol, or hold an `upstream:`"),
        );
        return None;
    };
    let history = if let Some(up) = h.get("upstream") {
        History::Upstream(Box::new(upstream::parse(
            up,
            owner,
            file,
            |m| m.line,
            diags,
        )?))
    } else {
        let rel = h.as_str().unwrap_or_default();
        match resolve_below(base, rel) {
            Ok(p) if p.is_file() => History::File(p),
            Ok(_) => {
                diags.error(
                    file,
                    h.mark,
                    format!(
                        "{owner}: `udf.history` {rel} does not exist (paths are relative to {})",
                        base.display()
                    ),
                );
                return None;
            }
            Err(why) => {
                diags.error(file, h.mark, format!("{owner}: {why}"));
                return None;
            }
        }
    };
    Some(UdfDef {
        symbols,
        history,
        history_mark: h.mark,
        resolutions,
    })
}
