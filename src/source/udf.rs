//! TradingView's UDF protocol for `advanced_charting` widgets: `<endpoint>/config`, `/symbols`,
//! `/search`, `/history` and `/time`, answered from a `udf:` source's symbols and bars.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::args::Input;
use crate::config::params::{ParamDef, ParamKind};
use crate::config::udf::{History, SymbolDef, UdfDef};
use crate::diag::Diagnostics;
use crate::error::ApiError;
use crate::openbb::types::WidgetType;
use crate::source::{Reply, Target, json_reply};
use crate::template::Templates;
use crate::upstream::{self, Upstream};
use crate::yaml::Mark;

/// Most results `/search` answers when the request gives no `limit`.
const DEFAULT_SEARCH_LIMIT: usize = 30;

/// One OHLCV bar.
#[derive(Debug, Clone, Deserialize)]
pub struct Bar {
    /// Unix seconds.
    pub time: i64,
    /// Open.
    pub open: f64,
    /// High.
    pub high: f64,
    /// Low.
    pub low: f64,
    /// Close.
    pub close: f64,
    /// Volume.
    #[serde(default)]
    pub volume: f64,
}

/// A compiled UDF source.
pub struct Udf {
    symbols: Vec<SymbolDef>,
    history: Bars,
    config: Value,
}

/// Where bars come from at request time.
enum Bars {
    /// Read at load, per symbol, sorted by time.
    File(HashMap<String, Vec<Bar>>),
    /// A provider call per request.
    Upstream {
        /// The compiled call.
        call: Box<Upstream>,
        /// `symbol`, `resolution`, `from`, `to`.
        params: Vec<ParamDef>,
    },
}

/// The params an upstream history call gets.
fn history_params() -> Vec<ParamDef> {
    let p = |name: &str, kind| ParamDef {
        name: name.into(),
        kind,
        multi: false,
        default: Value::String(String::new()),
    };
    vec![
        p("symbol", ParamKind::Text),
        p("resolution", ParamKind::Text),
        p("from", ParamKind::Number),
        p("to", ParamKind::Number),
    ]
}

/// Reads a history file: a JSON object mapping each symbol to its bars.
fn read_bars(
    path: &std::path::Path,
    def: &UdfDef,
    target: &Target<'_>,
    diags: &mut Diagnostics,
) -> Option<HashMap<String, Vec<Bar>>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            diags.error(
                target.file,
                def.history_mark,
                format!("{}: cannot read {}: {e}", target.owner, path.display()),
            );
            return None;
        }
    };
    let mut bars: HashMap<String, Vec<Bar>> = match serde_json::from_str(&text) {
        Ok(b) => b,
        Err(e) => {
            let at = Mark {
                line: e.line() as u64,
                col: e.column() as u64,
            };
            diags.error(path, at, format!("{}: history must map each symbol to a list of {{time, open, high, low, close, volume}} ({e})", target.owner));
            return None;
        }
    };
    for (symbol, list) in &mut bars {
        list.sort_by_key(|b| b.time);
        if !def.symbols.iter().any(|s| &s.symbol == symbol) {
            diags.warn(
                target.file,
                def.history_mark,
                format!(
                    "{}: history has bars for `{symbol}`, which `udf.symbols` does not list",
                    target.owner
                ),
            );
        }
    }
    Some(bars)
}

/// Which UDF route an endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The widget's endpoint itself and `/config`.
    Config,
    /// `/symbols?symbol=`.
    Symbols,
    /// `/search?query=&limit=`.
    Search,
    /// `/history?symbol=&resolution=&from=&to=`.
    History,
    /// `/time`.
    Time,
}

impl Part {
    /// The part served at sub-route `name`.
    pub fn from_sub_route(name: &str) -> Option<Part> {
        Some(match name {
            "config" => Part::Config,
            "symbols" => Part::Symbols,
            "search" => Part::Search,
            "history" => Part::History,
            "time" => Part::Time,
            _ => return None,
        })
    }
}

/// Reads the history file and builds the config answer.
pub fn compile(
    def: &UdfDef,
    target: &Target<'_>,
    templates: &mut Templates,
    diags: &mut Diagnostics,
) -> Option<Arc<Udf>> {
    let history = match &def.history {
        History::File(path) => Bars::File(read_bars(path, def, target, diags)?),
        History::Upstream(up) => {
            let params = history_params();
            let scoped = Target {
                params: &params,
                kind: WidgetType::Other("udf history".into()),
                data_key: None,
                name: format!("{}:history", target.name),
                ..target.clone()
            };
            let call = upstream::compile(up, &scoped, templates, diags)?;
            Bars::Upstream {
                call: Box::new(call),
                params,
            }
        }
    };
    let exchanges: BTreeSet<&str> = def
        .symbols
        .iter()
        .map(|s| s.exchange.as_str())
        .filter(|e| !e.is_empty())
        .collect();
    let types: BTreeSet<&str> = def.symbols.iter().map(|s| s.kind.as_str()).collect();
    let config = json!({
        "supported_resolutions": def.resolutions,
        "supports_group_request": false,
        "supports_marks": false,
        "supports_search": true,
        "supports_timescale_marks": false,
        "supports_time": true,
        "exchanges": std::iter::once(json!({"value": "", "name": "All Exchanges", "desc": ""}))
            .chain(exchanges.iter().map(|e| json!({"value": e, "name": e, "desc": e})))
            .collect::<Vec<_>>(),
        "symbols_types": std::iter::once(json!({"name": "All types", "value": ""}))
            .chain(types.iter().map(|t| json!({"name": t, "value": t})))
            .collect::<Vec<_>>(),
    });
    Some(Arc::new(Udf {
        symbols: def.symbols.clone(),
        history,
        config,
    }))
}

impl Udf {
    /// Answers the UDF route `part`.
    pub async fn answer(
        &self,
        part: Part,
        input: &Input<'_>,
        templates: &Templates,
    ) -> Result<Reply, ApiError> {
        let arg = |name: &str| match input {
            Input::Query(_) => input.query_value(name).map(str::to_string),
            Input::Body(map) => map.get(name).and_then(Value::as_str).map(str::to_string),
        };
        let value = match part {
            Part::Config => self.config.clone(),
            Part::Time => json!(chrono::Utc::now().timestamp()),
            Part::Symbols => {
                let wanted =
                    arg("symbol").ok_or_else(|| ApiError::bad_request("`symbol` is required"))?;
                let s = self.find(&wanted).ok_or_else(|| {
                    ApiError::new(
                        http::StatusCode::NOT_FOUND,
                        format!("unknown symbol `{wanted}`"),
                    )
                })?;
                self.info(s)
            }
            Part::Search => {
                let query = arg("query").unwrap_or_default().to_lowercase();
                let limit = arg("limit")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(DEFAULT_SEARCH_LIMIT);
                let kind = arg("type").unwrap_or_default();
                let exchange = arg("exchange").unwrap_or_default();
                Value::Array(
                    self.symbols
                        .iter()
                        .filter(|s| s.symbol.to_lowercase().contains(&query) || s.description.to_lowercase().contains(&query))
                        .filter(|s| kind.is_empty() || s.kind == kind)
                        .filter(|s| exchange.is_empty() || s.exchange == exchange)
                        .take(limit)
                        .map(|s| json!({"symbol": s.symbol, "full_name": full_name(s), "description": s.description, "exchange": s.exchange, "ticker": s.symbol, "type": s.kind}))
                        .collect(),
                )
            }
            Part::History => {
                let wanted = arg("symbol").unwrap_or_default();
                let Some(s) = self.find(&wanted) else {
                    return Ok(json_reply(
                        &json!({"s": "error", "errmsg": format!("unknown symbol `{wanted}`")}),
                    ));
                };
                let bound = |k: &str| arg(k).and_then(|v| v.parse::<i64>().ok());
                let (from, to) = (
                    bound("from").unwrap_or(i64::MIN),
                    bound("to").unwrap_or(i64::MAX),
                );
                let fetched;
                let all: &[Bar] = match &self.history {
                    Bars::File(map) => map.get(&s.symbol).map(Vec::as_slice).unwrap_or_default(),
                    Bars::Upstream { call, params } => {
                        let mut request = serde_json::Map::new();
                        request.insert("symbol".into(), Value::String(s.symbol.clone()));
                        request.insert(
                            "resolution".into(),
                            Value::String(arg("resolution").unwrap_or_default()),
                        );
                        request.insert("from".into(), json!(bound("from").unwrap_or(0)));
                        request.insert(
                            "to".into(),
                            json!(bound("to").unwrap_or_else(|| chrono::Utc::now().timestamp())),
                        );
                        let vars = crate::args::bind(params, &[], &Input::Body(request))
                            .map_err(ApiError::bad_request)?;
                        let (reply, _) = call.respond(templates, vars).await?;
                        let mut list: Vec<Bar> = serde_json::from_slice(&reply.body).map_err(|e| {
                            ApiError::bad_gateway(format!("the history upstream must be shaped into a list of {{time, open, high, low, close, volume}} ({e})"))
                        })?;
                        list.sort_by_key(|b| b.time);
                        fetched = list;
                        &fetched
                    }
                };
                let bars: Vec<&Bar> = all
                    .iter()
                    .filter(|b| b.time >= from && b.time <= to)
                    .collect();
                if bars.is_empty() {
                    json!({"s": "no_data"})
                } else {
                    json!({
                        "s": "ok",
                        "t": bars.iter().map(|b| b.time).collect::<Vec<_>>(),
                        "o": bars.iter().map(|b| b.open).collect::<Vec<_>>(),
                        "h": bars.iter().map(|b| b.high).collect::<Vec<_>>(),
                        "l": bars.iter().map(|b| b.low).collect::<Vec<_>>(),
                        "c": bars.iter().map(|b| b.close).collect::<Vec<_>>(),
                        "v": bars.iter().map(|b| b.volume).collect::<Vec<_>>(),
                    })
                }
            }
        };
        Ok(json_reply(&value))
    }

    /// The symbol named `AAPL` or `NASDAQ:AAPL`.
    fn find(&self, wanted: &str) -> Option<&SymbolDef> {
        let ticker = wanted.rsplit(':').next().unwrap_or(wanted);
        self.symbols
            .iter()
            .find(|s| s.symbol.eq_ignore_ascii_case(ticker))
    }

    fn info(&self, s: &SymbolDef) -> Value {
        let resolutions = &self.config["supported_resolutions"];
        json!({
            "name": s.symbol,
            "ticker": s.symbol,
            "full_name": full_name(s),
            "description": s.description,
            "type": s.kind,
            "exchange": s.exchange,
            "listed_exchange": s.exchange,
            "session": s.session,
            "session-regular": s.session,
            "timezone": s.timezone,
            "pricescale": s.pricescale,
            "minmov": 1,
            "volume_precision": 0,
            "has_volume": true,
            "has_intraday": true,
            "has_daily": true,
            "has_weekly_and_monthly": true,
            "supported_resolutions": resolutions,
        })
    }
}

fn full_name(s: &SymbolDef) -> String {
    if s.exchange.is_empty() {
        s.symbol.clone()
    } else {
        format!("{}:{}", s.exchange, s.symbol)
    }
}
