//! OpenBB's reference backend rebuilt from YAML (examples/reference/): every widget is called the
//! way Workspace calls it and checked against its type's shape and the reference's data; the
//! catalogue (../shared, never copied) is covered, apps.json is OpenBB's, and the README's lists
//! of reproduced and left-out widgets add up.

mod common;
#[path = "common/upstream.rs"]
mod stand_in;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::Command;

use base64::Engine;
use common::{Gateway, check_answer, reference_data, root};
use serde_json::{Value, json};
use stand_in::{Canned, Upstream};
use widgetgate::config::Env;

fn config() -> PathBuf {
    root().join("examples/reference/gateway.yaml")
}

fn read_json(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn catalogue() -> Value {
    read_json(reference_data().join("reference-backend-2026/catalogue.json"))
}

/// A stand-in for DeFi Llama serving recorded chains, so no test reaches the internet.
async fn llama() -> Upstream {
    let chains = std::fs::read_to_string(root().join("tests/fixtures/upstream/llama_chains.json"))
        .expect("fixture");
    Upstream::start(move |seen| match seen.path.as_str() {
        "/llama/v2/chains" => Canned::text(200, "application/json", chains.clone()),
        _ => Canned::text(404, "text/plain", "not found"),
    })
    .await
}

async fn serve(apis: &Upstream) -> Gateway {
    let env: HashMap<String, String> =
        [("LLAMA_BASE_URL".to_string(), format!("{}/llama", apis.base))].into();
    // These tests ask for all 79 widgets at once, well above the per-address budget (50/s):
    // a release build gets 429s. Workspace opens at most 14 of them at a time (a tab).
    Gateway::start_adjusted(&config(), Env::Map(env), |snap| {
        snap.server.limits.per_ip = None;
    })
    .await
}

/// POSTs `body` as JSON; returns the status, Content-Type and body.
async fn post(gw: &Gateway, path: &str, body: &Value) -> (u16, String, Vec<u8>) {
    let resp = reqwest::Client::new()
        .post(gw.url(path))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("post");
    let status = resp.status().as_u16();
    let ct = content_type(&resp);
    (status, ct, resp.bytes().await.expect("body").to_vec())
}

async fn post_json(gw: &Gateway, path: &str, body: Value) -> Value {
    let (status, _, bytes) = post(gw, path, &body).await;
    assert_eq!(status, 200, "POST {path} {body}");
    serde_json::from_slice(&bytes).expect("JSON")
}

async fn text(gw: &Gateway, path: &str) -> String {
    let resp = gw.get(path).await;
    assert_eq!(resp.status(), 200, "GET {path}");
    resp.text().await.expect("text")
}

fn content_type(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// The params of a widget, rows flattened.
fn params(widget: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for p in widget["params"].as_array().into_iter().flatten() {
        match p {
            Value::Array(row) => out.extend(row.iter().cloned()),
            other => out.push(other.clone()),
        }
    }
    out
}

/// The query Workspace sends for a widget's default values (a `$currentDate` default is left to
/// the gateway, lists are comma-joined).
fn default_query(widget: &Value) -> String {
    let mut pairs = form_urlencoded::Serializer::new(String::new());
    for p in params(widget) {
        let name = p["paramName"].as_str().expect("paramName");
        let value = match &p["value"] {
            Value::Null => continue,
            Value::String(s) if s.starts_with('$') => continue,
            Value::String(s) => s.clone(),
            Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        };
        if p["type"] != "form" {
            pairs.append_pair(name, &value);
        }
    }
    pairs.finish()
}

/// The JSON body Workspace POSTs for a widget's default values.
fn default_body(widget: &Value) -> Value {
    let mut body = serde_json::Map::new();
    for p in params(widget) {
        if !p["value"].is_null() {
            body.insert(
                p["paramName"].as_str().expect("paramName").to_string(),
                p["value"].clone(),
            );
        }
    }
    Value::Object(body)
}

fn check_omni(answer: &Value) -> Result<(), String> {
    let parse_as = answer["data_format"]["parse_as"].as_str().unwrap_or("");
    if answer["data_format"]["data_type"] != "object" {
        return Err(format!("data_format.data_type is not object: {answer}"));
    }
    match parse_as {
        "text" if answer["content"].is_string() => Ok(()),
        "table" if answer["content"].is_array() => Ok(()),
        "chart" if answer["content"]["data"].is_array() => Ok(()),
        _ => Err(format!("not an omni answer: {answer}")),
    }
}

fn assert_pdf_item(item: &Value, filename: &str) {
    assert_eq!(
        item["data_format"],
        json!({"data_type": "pdf", "filename": filename})
    );
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(item["content"].as_str().expect("content"))
        .expect("base64");
    assert!(bytes.starts_with(b"%PDF"), "{filename} is a PDF");
}

/// The widget ids of the README's three lists: as the reference, with a difference, left out.
fn readme_lists() -> [BTreeSet<String>; 3] {
    let text =
        std::fs::read_to_string(root().join("examples/reference/README.md")).expect("README");
    let section = |title: &str| -> String {
        let start = text
            .find(&format!("\n## {title}\n"))
            .unwrap_or_else(|| panic!("README has no section {title}"));
        let rest = &text[start + 4..];
        rest[..rest.find("\n## ").unwrap_or(rest.len())].to_string()
    };
    let ticked = |s: &str| -> BTreeSet<String> {
        s.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let first_column = |s: String| -> BTreeSet<String> {
        s.lines()
            .filter(|l| l.starts_with("| `"))
            .flat_map(|l| ticked(l.split('|').nth(1).unwrap_or("")))
            .collect()
    };
    let same = section("Reproduced as the reference");
    // The ids follow the sentence introducing them.
    let same_ids = ticked(same.split_once("\n\n").map_or("", |(_, r)| r));
    [
        same_ids,
        first_column(section("Reproduced, with a difference")),
        first_column(section("Left out")),
    ]
}

#[test]
fn check_reports_no_errors_and_only_the_warnings_the_readme_lists() {
    let out = Command::new(env!("CARGO_BIN_EXE_widgetgate"))
        .current_dir(root())
        .args(["check", "examples/reference/gateway.yaml"])
        .output()
        .expect("run check");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains(": error:"), "{stdout}");
    assert!(stdout.ends_with("ok, 79 widgets\n"), "{stdout}");
    let warnings: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(": warning: "))
        .collect();
    assert_eq!(warnings.len(), 7, "{stdout}");
    assert!(warnings[0].contains("widget `metric_widget`: `gridData.w` is 5"));
    for (w, id) in warnings[1..].iter().zip([
        "sparkline",
        "sparkline-line",
        "sparkline-area",
        "sparkline-custom",
        "sparkline-bar",
        "sparkline-column",
    ]) {
        assert!(w.contains(&format!("widget `{id}` has no `type`")), "{w}");
    }
}

#[test]
fn the_readme_accounts_for_every_catalogue_widget_and_at_least_70_are_reproduced() {
    let catalogue: BTreeSet<String> = catalogue()["widgets"]
        .as_array()
        .expect("widgets")
        .iter()
        .map(|w| w["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(catalogue.len(), 79);
    let [same, different, left_out] = readme_lists();
    assert!(
        same.is_disjoint(&different),
        "{:?}",
        same.intersection(&different)
    );
    assert!(same.is_disjoint(&left_out) && different.is_disjoint(&left_out));
    let all: BTreeSet<String> = same
        .iter()
        .chain(&different)
        .chain(&left_out)
        .cloned()
        .collect();
    assert_eq!(
        all, catalogue,
        "every catalogue id is in exactly one README list"
    );
    let reproduced = same.len() + different.len();
    assert!(reproduced >= 70, "only {reproduced} reproduced");
    assert_eq!((same.len(), different.len(), left_out.len()), (52, 22, 5));
    let text =
        std::fs::read_to_string(root().join("examples/reference/README.md")).expect("README");
    assert!(text.contains(&format!(
        "So {reproduced} of the 79 widgets are reproduced in behaviour ({} as the reference, {} with a stated\ndifference), and {} are left out.",
        same.len(),
        different.len(),
        left_out.len()
    )));
    assert!(
        left_out.contains("omni-python-widget"),
        "running posted code stays out"
    );
}

#[tokio::test]
async fn widgets_json_has_the_catalogue_definitions() {
    let apis = llama().await;
    let gw = serve(&apis).await;
    let widgets = gw.json("/widgets.json").await;
    let widgets = widgets.as_object().expect("object");
    let catalogue = catalogue();
    let ids: Vec<&str> = catalogue["widgets"]
        .as_array()
        .expect("widgets")
        .iter()
        .map(|w| w["id"].as_str().expect("id"))
        .collect();
    let served: Vec<&str> = widgets.keys().map(String::as_str).collect();
    assert_eq!(served, ids, "every widget, in the reference's order");
    for c in catalogue["widgets"].as_array().expect("widgets") {
        let id = c["id"].as_str().expect("id");
        let w = &widgets[id];
        assert_eq!(w["widgetId"], id, "{id}: widgetId");
        if c["type_declared"] == false {
            assert!(
                w.get("type").is_none(),
                "{id} leaves out type, as OpenBB does"
            );
            assert_eq!(c["type"], "table");
        } else {
            assert_eq!(w["type"], c["type"], "{id}: type");
        }
        if c["method"] == "GET" && id != "/udf" {
            assert_eq!(
                format!(
                    "/{}",
                    w["endpoint"]
                        .as_str()
                        .expect("endpoint")
                        .trim_start_matches('/')
                ),
                c["path"],
                "{id}: endpoint"
            );
        }
        if let Some(source) = w.get("source") {
            assert!(
                source
                    .as_array()
                    .is_some_and(|s| s.iter().all(Value::is_string)),
                "{id}: source is a list of strings"
            );
        }
        for (field, value) in c["widget_settings"].as_object().into_iter().flatten() {
            assert_eq!(&w[field], value, "{id}: {field}");
        }
        if c["raw"] == true {
            assert_eq!(w["raw"], true, "{id}: raw");
        }
        if let Some(ws) = c.get("wsEndpoint") {
            assert_eq!(&w["wsEndpoint"], ws);
            assert_eq!(w["data"]["wsRowIdColumn"], c["wsRowIdColumn"]);
        }
        for (field, value) in c["data"].as_object().into_iter().flatten() {
            assert_eq!(&w["data"][field], value, "{id}: data.{field}");
        }
        // Params: the catalogue's explicit ones, with their types, defaults and options.
        let declared = params(w);
        let explicit: Vec<&Value> = c["params"]
            .as_array()
            .expect("params")
            .iter()
            .filter(|p| p["implicit"] != true)
            .collect();
        assert_eq!(declared.len(), explicit.len(), "{id}: params");
        for (p, cp) in declared.iter().zip(&explicit) {
            let at = format!("{id}: param {}", cp["name"]);
            assert_eq!(p["paramName"], cp["name"], "{at}");
            assert_eq!(p["type"], cp["type"], "{at}: type");
            match cp["default"].as_str() {
                Some(d) if d.starts_with("<yesterday") => assert_eq!(p["value"], "$currentDate-1d"),
                Some("<plotly sample code>") => {
                    assert!(
                        p["value"]
                            .as_str()
                            .is_some_and(|v| v.contains("fig = go.Figure()"))
                    )
                }
                _ if cp["type"] == "form" => assert!(p.get("value").is_none()),
                _ => assert_eq!(
                    p.get("value").unwrap_or(&Value::Null),
                    &cp["default"],
                    "{at}: value"
                ),
            }
            for key in [
                "optionsEndpoint",
                "multiSelect",
                "multiple",
                "show",
                "roles",
                "optionsParams",
                "style",
                "language",
                "min",
                "max",
                "endpoint",
            ] {
                if let Some(v) = cp.get(key) {
                    assert_eq!(&p[key], v, "{at}: {key}");
                }
            }
            if let Some(options) = cp["options"].as_array() {
                let values: Vec<&Value> = p["options"]
                    .as_array()
                    .expect("options")
                    .iter()
                    .map(|o| &o["value"])
                    .collect();
                assert_eq!(values, options.iter().collect::<Vec<_>>(), "{at}: options");
            }
            if let Some(inputs) = cp["inputParams"].as_array() {
                let got: Vec<String> = p["inputParams"]
                    .as_array()
                    .expect("inputParams")
                    .iter()
                    .map(|i| {
                        let kind = i["type"].as_str().unwrap_or("");
                        let multi = if i["multiSelect"] == true {
                            "(multiSelect)"
                        } else {
                            ""
                        };
                        format!("{}:{kind}{multi}", i["paramName"].as_str().unwrap_or(""))
                    })
                    .collect();
                let want: Vec<&str> = inputs.iter().filter_map(Value::as_str).collect();
                assert_eq!(got, want, "{at}: inputParams");
            }
        }
        // Cell clicks.
        if let Some(click) = c.get("cell_click") {
            let column = w["data"]["table"]["columnsDefs"]
                .as_array()
                .expect("columnsDefs")
                .iter()
                .find(|col| col["field"] == click["field"])
                .expect("the clicked column");
            assert_eq!(column["renderFn"], "cellOnClick");
            assert_eq!(column["renderFnParams"]["actionType"], "groupBy");
            assert_eq!(column["renderFnParams"]["groupBy"], click["groupBy"]);
        }
    }
}

/// Which fields OpenBB changed between its 2025-07 widgets.json and the 2026 modules this
/// config follows. Every other field of the 42 widgets both versions have is identical.
const CHANGED_SINCE_2025_07: &[(&str, &[&str])] = &[
    (
        "markdown_widget_with_run_button",
        &["description", "gridData"],
    ),
    (
        "markdown_widget_with_short_refetch_interval",
        &["description", "gridData", "refetchInterval"],
    ),
    (
        "markdown_widget_with_short_refetch_interval_and_run_button",
        &["description", "gridData", "name", "refetchInterval"],
    ),
    (
        "markdown_widget_with_stale_time",
        &["description", "gridData", "staleTime"],
    ),
    (
        "markdown_widget_with_refetch_interval_and_shorter_stale_time",
        &["description", "gridData"],
    ),
    (
        "table_widget_with_column_definitions",
        &["data", "description"],
    ),
    (
        "table_widget_with_render_functions",
        &["data", "description", "gridData"],
    ),
    ("table_widget_with_hover_card", &["description"]),
    ("table_to_chart_widget", &["data", "description"]),
    ("table_to_time_series_widget", &["data", "description"]),
    ("multi_pdf_base64", &["endpoint", "widgetId"]),
    ("multi_pdf_url", &["endpoint", "widgetId"]),
    ("markdown_widget_with_date_picker", &["gridData", "params"]),
    ("markdown_widget_with_text_input", &["gridData", "params"]),
    (
        "markdown_widget_with_boolean",
        &["description", "gridData", "name", "params"],
    ),
    ("markdown_widget_with_number_input", &["gridData", "params"]),
    ("markdown_widget_with_dropdown", &["gridData", "params"]),
    ("table_widget_with_grouping_by_cell_click", &["data"]),
    ("plotly_chart", &["description"]),
    ("plotly_chart_with_theme", &["description"]),
    ("all_forms", &["searchCategory", "subcategory"]),
    ("omni-widget", &["params"]),
    (
        "markdown_widget_with_organized_params",
        &["gridData", "params"],
    ),
];

/// 2025-07 widgets the 2026 reference no longer has.
const GONE_SINCE_2025_07: &[&str] = &[
    "/vendor1/markdown_widget_with_better_structured_api",
    "markdown_widget_with_editable_text_input",
    "same_markdown_widget_2",
    "same_markdown_widget",
    "omni-widget-with-citations",
];

#[tokio::test]
async fn definitions_match_openbbs_2025_07_widgets_json_except_what_openbb_changed() {
    let apis = llama().await;
    let gw = serve(&apis).await;
    let ours = gw.json("/widgets.json").await;
    let old = read_json(reference_data().join("reference-backend-2025-07/widgets.json"));
    let changed: HashMap<&str, &[&str]> = CHANGED_SINCE_2025_07.iter().copied().collect();
    let mut identical = 0;
    for (id, def) in old.as_object().expect("object") {
        if GONE_SINCE_2025_07.contains(&id.as_str()) {
            assert!(ours.get(id).is_none(), "{id}");
            continue;
        }
        // 2026 gave the multi-file viewers ids with a leading slash.
        let ours_def = ours
            .get(id)
            .or_else(|| ours.get(format!("/{id}")))
            .expect(id);
        let fields: BTreeSet<&String> = def
            .as_object()
            .expect("object")
            .keys()
            .chain(ours_def.as_object().expect("object").keys())
            .collect();
        let differing: Vec<&str> = fields
            .into_iter()
            .filter(|f| def.get(f.as_str()) != ours_def.get(f.as_str()))
            .map(String::as_str)
            .collect();
        let expected = changed.get(id.as_str()).copied().unwrap_or(&[]);
        let mut differing_sorted = differing.clone();
        differing_sorted.sort_unstable();
        assert_eq!(
            differing_sorted, expected,
            "{id}: fields that differ from 2025-07"
        );
        if differing.is_empty() {
            identical += 1;
        }
    }
    assert_eq!(identical, 19);
}

#[tokio::test]
async fn every_widget_answers_like_workspace_expects() {
    let apis = llama().await;
    let gw = serve(&apis).await;
    let widgets = gw.json("/widgets.json").await;
    for (id, w) in widgets.as_object().expect("object") {
        let wtype = w["type"].as_str().unwrap_or("table");
        let endpoint = format!(
            "/{}",
            w["endpoint"]
                .as_str()
                .expect("endpoint")
                .trim_start_matches('/')
        );
        match wtype {
            "omni" | "multi_file_viewer" => {
                let (status, ct, body) = post(&gw, &endpoint, &default_body(w)).await;
                assert_eq!(status, 200, "POST {id}");
                let answer: Value = serde_json::from_slice(&body).expect("JSON");
                if wtype == "omni" {
                    check_omni(&answer).unwrap_or_else(|why| panic!("{id}: {why}"));
                } else {
                    check_answer(wtype, "", &ct, &body).unwrap_or_else(|why| panic!("{id}: {why}"));
                    assert!(!answer.as_array().expect("list").is_empty(), "{id}");
                }
            }
            _ => {
                let query = default_query(w);
                let path = if query.is_empty() {
                    endpoint.clone()
                } else {
                    format!("{endpoint}?{query}")
                };
                let resp = gw.get(&path).await;
                assert_eq!(resp.status(), 200, "GET {path}");
                let ct = content_type(&resp);
                let body = resp.bytes().await.expect("body");
                let data_key = w
                    .pointer("/data/dataKey")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                check_answer(wtype, data_key, &ct, &body)
                    .unwrap_or_else(|why| panic!("{id}: {why}"));
                if ct.starts_with("application/json") && wtype != "advanced_charting" {
                    let v: Value = serde_json::from_slice(&body).expect("JSON");
                    assert!(
                        !(v.is_null() || v == json!([]) || v == json!("")),
                        "{id} answers something"
                    );
                }
            }
        }
    }
    // The reference's helper routes.
    for route in catalogue()["auxiliary_routes"].as_array().expect("routes") {
        let path = route["path"].as_str().expect("path");
        match (route["method"].as_str(), path) {
            (_, "/" | "/widgets.json" | "/apps.json") => {}
            (Some("GET"), _) => {
                let resp = gw.get(path).await;
                // `/udf/symbols` needs `?symbol=`: without it, 400 (the reference: 422).
                let want = if path == "/udf/symbols" { 400 } else { 200 };
                assert_eq!(resp.status(), want, "GET {path}");
            }
            (Some("POST"), _) => {
                let (status, _, _) = post(&gw, path, &json!({})).await;
                assert_eq!(status, 200, "POST {path}");
            }
            (Some("WS"), "/live_grid_ws") => {}
            other => panic!("unexpected route {other:?}"),
        }
    }
}

#[tokio::test]
async fn basic_types_answer_the_references_data() {
    let apis = llama().await;
    let gw = serve(&apis).await;
    assert_eq!(
        gw.json("/markdown_widget").await,
        json!("# Markdown Widget")
    );
    assert_eq!(
        gw.json("/table_widget").await,
        json!([
            {"name": "Ethereum", "tvl": 45000000000u64, "change_1d": 2.5, "change_7d": 5.2},
            {"name": "Bitcoin", "tvl": 35000000000u64, "change_1d": 1.2, "change_7d": 4.8},
            {"name": "Solana", "tvl": 8000000000u64, "change_1d": -0.5, "change_7d": 2.1}
        ])
    );
    let metrics = gw.json("/metric_widget").await;
    assert_eq!(metrics.as_array().map(Vec::len), Some(5));
    assert_eq!(
        metrics[0],
        json!({"label": "Total Users", "value": "1,234,567", "delta": "12.5"})
    );
    // DeFi Llama's answer, passed through.
    let chains = gw.json("/table_widget_from_api_endpoint").await;
    let fixture = read_json(root().join("tests/fixtures/upstream/llama_chains.json"));
    assert_eq!(chains, fixture);
    let image = gw.json("/markdown_widget_with_local_image").await;
    let b64 = image
        .as_str()
        .and_then(|s| s.strip_prefix("![Local Image](data:image/png;base64,"))
        .and_then(|s| s.trim_end().strip_suffix(')'))
        .expect("a markdown image with a PNG data URI");
    let png = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64");
    assert!(png.starts_with(b"\x89PNG"));
    let html = gw.get("/html_widget?raw=false&theme=dark").await;
    assert!(content_type(&html).starts_with("text/html"));
    assert!(
        html.text()
            .await
            .expect("text")
            .contains("<h1>Portfolio Dashboard</h1>")
    );
    let pdf = gw.json("/pdf_widget_base64").await;
    assert_pdf_item(&pdf, "sample.pdf");
    assert_eq!(
        gw.json("/pdf_widget_url").await,
        json!({"data_format": {"data_type": "pdf", "filename": "Sample.pdf"}, "url": "https://openbb-assets.s3.us-east-1.amazonaws.com/testing/sample.pdf"})
    );
    // Multi-file viewers: Workspace POSTs the selection.
    let files = post_json(
        &gw,
        "/multi_pdf_base64",
        json!({"pdf_name": ["Sample", "Bitcoin Whitepaper"]}),
    )
    .await;
    assert_pdf_item(&files[0], "Sample.pdf");
    assert_pdf_item(&files[1], "Bitcoin Whitepaper.pdf");
    let missing = post_json(&gw, "/multi_pdf_base64", json!({"pdf_name": ["Nope"]})).await;
    assert_eq!(missing[0]["error_type"], "not_found");
    assert_eq!(
        post_json(
            &gw,
            "/multi_pdf_url",
            json!({"pdf_name": ["Bitcoin Whitepaper"]})
        )
        .await,
        json!([{"url": "https://openbb-assets.s3.us-east-1.amazonaws.com/testing/bitcoin.pdf", "data_format": {"data_type": "pdf", "filename": "Bitcoin Whitepaper.pdf"}}])
    );
    assert_eq!(
        gw.json("/get_pdf_options").await,
        json!([{"label": "Sample", "value": "Sample"}, {"label": "Bitcoin Whitepaper", "value": "Bitcoin Whitepaper"}])
    );
    // The news feed: newest first, filtered, cut to the limit.
    let news = gw.json("/sample_newsfeed").await;
    let titles: Vec<&str> = news
        .as_array()
        .expect("list")
        .iter()
        .map(|a| a["title"].as_str().expect("title"))
        .collect();
    assert_eq!(titles.len(), 5);
    assert_eq!(titles[0], "Global Markets Rally on Positive Economic Data");
    let dates: Vec<&str> = news
        .as_array()
        .expect("list")
        .iter()
        .map(|a| a["date"].as_str().expect("date"))
        .collect();
    assert!(
        dates.windows(2).all(|d| d[0] > d[1]),
        "newest first: {dates:?}"
    );
    // Dated an hour apart back from now, in ISO 8601 with microseconds.
    let now = chrono::Local::now().naive_local();
    for (hours, date) in (1..).zip(&dates) {
        let at = chrono::NaiveDateTime::parse_from_str(date, "%Y-%m-%dT%H:%M:%S%.6f")
            .unwrap_or_else(|e| panic!("`{date}`: {e}"));
        let ago = now - at;
        assert!(
            ago >= chrono::Duration::hours(hours)
                && ago <= chrono::Duration::hours(hours) + chrono::Duration::seconds(5),
            "`{date}` is {hours} h before {now}"
        );
    }
    let science = gw.json("/sample_newsfeed?category=science&limit=10").await;
    assert_eq!(
        science
            .as_array()
            .expect("list")
            .iter()
            .map(|a| a["title"].as_str().expect("title"))
            .collect::<Vec<_>>(),
        [
            "Scientists Discover New Earth-like Exoplanet in Habitable Zone",
            "Breakthrough in Cancer Treatment: New Immunotherapy Shows Promise"
        ]
    );
    for article in science.as_array().expect("list") {
        let keys: Vec<&String> = article.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["title", "date", "author", "excerpt", "body"]);
    }
    assert_eq!(
        gw.json("/sample_newsfeed?category=tech&limit=1")
            .await
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

/// Fetches the markdown at `path` and asserts it reads `head`, a local time
/// (`%Y-%m-%d %H:%M:%S`), then `tail`, the time lying between just before and just after the
/// request once both are rounded down with `floor`.
async fn assert_stamped(
    gw: &Gateway,
    path: &str,
    head: &str,
    tail: &str,
    floor: impl Fn(chrono::NaiveDateTime) -> chrono::NaiveDateTime,
) {
    let from = chrono::Local::now().naive_local();
    let md = gw.json(path).await;
    let to = chrono::Local::now().naive_local();
    let md = md.as_str().expect("markdown");
    let text = md
        .strip_prefix(head)
        .and_then(|rest| rest.strip_suffix(tail))
        .unwrap_or_else(|| panic!("{path}: {md}"));
    let at = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("{path}: `{text}` is not a time: {e}"));
    assert!(
        floor(from) <= at && at <= floor(to),
        "{path}: {at} not in {from}..{to}"
    );
}

#[tokio::test]
async fn settings_widgets_answer_the_references_titles_and_clock() {
    use chrono::Timelike;

    let apis = llama().await;
    let gw = serve(&apis).await;
    let seconds = |t: chrono::NaiveDateTime| t.with_nanosecond(0).expect("time");
    let minutes = |t: chrono::NaiveDateTime| seconds(t).with_second(0).expect("time");
    let tail = "\n\nBackend data schedule: Every minute\n\nThis timestamp is controlled by the backend data schedule, not request time.";
    for (path, title) in [
        ("/markdown_widget_with_stale_time", "# Stale 10s Time"),
        (
            "/markdown_widget_with_short_refetch_interval",
            "# Short 5s Refetch Interval",
        ),
        (
            "/markdown_widget_with_refetch_interval_and_shorter_stale_time",
            "# Refetch 10s Interval and Shorter 5s Stale Time",
        ),
        ("/markdown_widget_with_run_button", "# Run Button"),
        (
            "/markdown_widget_with_short_refetch_interval_and_run_button",
            "# Short 5s Refetch Interval and Run Button",
        ),
    ] {
        assert_stamped(&gw, path, &format!("{title}\n\n"), "", seconds).await;
    }
    for (path, title) in [
        (
            "/markdown_widget_with_cron_refetch_interval",
            "# Cron Refetch Interval",
        ),
        (
            "/markdown_widget_with_cron_refetch_only",
            "# Cron Refetch Only",
        ),
    ] {
        let head = format!("{title}\n\nData updated at: ");
        assert_stamped(&gw, path, &head, tail, minutes).await;
    }
    // The last 10:00: today's from ten o'clock on, else yesterday's.
    let ten = |t: chrono::NaiveDateTime| {
        let day = if t.hour() >= 10 {
            t.date()
        } else {
            t.date() - chrono::Days::new(1)
        };
        day.and_hms_opt(10, 0, 0).expect("time")
    };
    assert_stamped(
        &gw,
        "/markdown_widget_with_data_update_display_only",
        "# Data Update Display Only\n\nData updated at: ",
        &tail.replace("Every minute", "Every day at 10:00"),
        ten,
    )
    .await;
}

#[tokio::test]
async fn input_params_are_echoed_as_the_reference_does() {
    let apis = llama().await;
    let gw = serve(&apis).await;
    let cases = [
        ("/markdown_widget_with_text_input", "**Text:** OpenBB"),
        ("/markdown_widget_with_text_input?name=Ada", "**Text:** Ada"),
        ("/markdown_widget_with_number_input", "**Number:** 100"),
        (
            "/markdown_widget_with_number_input?value=7",
            "**Number:** 7",
        ),
        ("/markdown_widget_with_boolean", "**Toggle:** enabled"),
        (
            "/markdown_widget_with_boolean?condition=false",
            "**Toggle:** disabled",
        ),
        (
            "/markdown_widget_with_date_picker?date=2026-02-20",
            "**Date:** 2026-02-20",
        ),
        (
            "/markdown_widget_with_dropdown?days_picker=30",
            "**Selection of Days:** 30",
        ),
        (
            "/markdown_widget_with_multi_select_dropdown?stock_picker=AAPL%2CMSFT",
            "**Selected tickers:** AAPL,MSFT",
        ),
        (
            "/markdown_widget_with_multi_text_input",
            "**Vars:** var1,var2,var3",
        ),
        (
            "/markdown_widget_with_multi_select_advanced_dropdown?stock_picker=AAPL%2CMSFT",
            "**Selected stocks:** AAPL,MSFT",
        ),
        (
            "/markdown_widget_with_str_and_int",
            "- Text: Hello\n- Number: 42",
        ),
        (
            "/dropdown_dependent_widget?category=presentations&document_type=Investor%20Presentation",
            "\n- Selected category: **presentations**\n- Selected document: **Investor Presentation**\n",
        ),
        (
            "/dropdown_dependent_widget",
            "\n- Selected category: **all**\n- Selected document: **all**\n",
        ),
        (
            "/markdown_widget_with_organized_params?enable_feature=true&selected_date=2026-02-05&analysis_type=risk&lookback_period=32&analysis_notes=",
            "\n- **Feature Enabled:** Yes\n\n\n- **Selected Date:** February 05, 2026\n- **Analysis Type:** Risk Analysis\n- **Lookback Period:** 32 days\n\n\n- **Notes:** *No additional notes provided*\n",
        ),
        (
            "/markdown_widget_with_organized_params?enable_feature=false&selected_date=2025-12-31&analysis_type=other&lookback_period=5&analysis_notes=check",
            "\n- **Feature Enabled:** No\n\n\n- **Selected Date:** December 31, 2025\n- **Analysis Type:** other\n- **Lookback Period:** 5 days\n\n\n- **Notes:** check\n",
        ),
    ];
    for (path, want) in cases {
        assert_eq!(gw.json(path).await, json!(want), "{path}");
    }
    // The date default is yesterday, whatever day the test runs.
    let yesterday = (chrono::Local::now().date_naive() - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(
        gw.json("/markdown_widget_with_date_picker").await,
        json!(format!("**Date:** {yesterday}"))
    );
    let filtered = gw
        .json("/table_widget_with_str_filter_param?filter_text=a")
        .await;
    assert_eq!(
        filtered,
        json!([{"name": "Alpha", "value": 100, "category": "A"}, {"name": "Delta", "value": 300, "category": "A"}])
    );
    assert_eq!(
        gw.json("/table_widget_with_str_filter_param")
            .await
            .as_array()
            .map(Vec::len),
        Some(4)
    );
    assert_eq!(
        gw.json("/table_widget_with_str_filter_param?filter_text=z")
            .await,
        json!([])
    );
    assert_eq!(
        gw.json("/advanced_dropdown_options")
            .await
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    assert_eq!(
        gw.json("/advanced_dropdown_options").await[0],
        json!({"label": "Apple Inc.", "value": "AAPL", "extraInfo": {"description": "Technology Company", "rightOfDescription": "NASDAQ"}})
    );
    assert_eq!(
        gw.json("/document_options?category=reports").await,
        json!([{"label": "Q1 Report", "value": "Q1 Report"}, {"label": "Q2 Report", "value": "Q2 Report"}])
    );
    assert_eq!(
        gw.json("/document_options").await.as_array().map(Vec::len),
        Some(4)
    );
    assert_eq!(
        gw.json("/document_options?category=all")
            .await
            .as_array()
            .map(Vec::len),
        Some(4)
    );
}

#[tokio::test]
async fn grouped_widgets_follow_company_year_and_symbol() {
    let apis = llama().await;
    let gw = serve(&apis).await;
    assert_eq!(
        gw.json("/company_options").await,
        json!([
            {"label": "Toyota Motor Corporation", "value": "TM"},
            {"label": "Volkswagen Group", "value": "VWAGY"},
            {"label": "General Motors", "value": "GM"},
            {"label": "Ford Motor Company", "value": "F"},
            {"label": "Tesla Inc.", "value": "TSLA"}
        ])
    );
    assert_eq!(
        gw.json("/get_tickers_list").await,
        json!([
            {"label": "Apple Inc.", "value": "AAPL"},
            {"label": "Microsoft Corporation", "value": "MSFT"},
            {"label": "Google", "value": "GOOGL"},
            {"label": "Amazon", "value": "AMZN"},
            {"label": "Tesla", "value": "TSLA"}
        ])
    );
    assert_eq!(
        gw.json("/company_performance?company=TM&year=2024").await,
        json!([
            {"metric": "Global Sales", "value": "10.5M", "change": 5.2},
            {"metric": "EV Sales", "value": "1.2M", "change": 45.8},
            {"metric": "Operating Margin", "value": "8.5%", "change": 1.2},
            {"metric": "R&D Investment", "value": "$12.5B", "change": 15.3}
        ])
    );
    assert_eq!(
        gw.json("/company_performance?company=GM&year=2022").await[2],
        json!({"metric": "Operating Margin", "value": "5.2%", "change": -0.5})
    );
    assert_eq!(
        gw.json("/company_performance?company=BMW&year=2024").await,
        json!([{"metric": "No Data", "value": "N/A", "change": 0}])
    );
    assert_eq!(
        gw.json("/company_details?company=TSLA&year=2023").await,
        json!(
            "# Tesla Inc. (TSLA) - 2023 Models\n**Sector:** Automotive\n**Market Cap:** $800B\n**P/E Ratio:** 65.3\n**Dividend Yield:** 0.0%\n\nTesla Inc. designs, develops, manufactures, leases, and sells electric vehicles, and energy generation and storage systems in the United States, China, and internationally.\n\n## 2023 Model Lineup\nModel 3, Model Y, Model S, Model X\n"
        )
    );
    let unknown = gw.json("/company_details?company=BMW&year=2024").await;
    assert!(
        unknown
            .as_str()
            .expect("text")
            .starts_with("# Unknown (BMW) - 2024 Models\n")
    );
    let rows = gw
        .json("/table_widget_with_grouping_by_cell_click?symbol=MSFT")
        .await;
    assert_eq!(
        rows.as_array().map(Vec::len),
        Some(5),
        "every row, whatever the symbol"
    );
    assert_eq!(
        rows[4],
        json!({"symbol": "TSLA", "price": 245.8, "change": -1.2, "volume": 52000000})
    );
    assert_eq!(
        gw.json("/widget_managed_by_parameter_from_cell_click_on_table_widget?symbol=MSFT")
            .await,
        json!(
            "# Microsoft Corporation (MSFT)\n\n**Sector:** Technology\n**Market Cap:** $2.9T\n\nMicrosoft Corporation develops, licenses, and supports software, services, devices, and solutions worldwide.\n"
        )
    );
    let fallback = gw
        .json("/widget_managed_by_parameter_from_cell_click_on_table_widget?symbol=NFLX")
        .await;
    assert!(
        fallback
            .as_str()
            .expect("text")
            .starts_with("# Apple Inc. (NFLX)\n")
    );
    assert_eq!(
        gw.json("/company_list?companyId=AAPL").await,
        json!([
            {"companyName": "Apple Inc.", "companyId": "AAPL", "price": 150.25},
            {"companyName": "Microsoft Corporation", "companyId": "MSFT", "price": 350.5}
        ])
    );
}

#[tokio::test]
async fn tables_charts_and_sparklines_answer_the_references_data() {
    let apis = llama().await;
    let gw = serve(&apis).await;
    let widgets = gw.json("/widgets.json").await;
    // Every column a table defines is in its rows (table to chart, time series, sparklines).
    for (id, w) in widgets.as_object().expect("object") {
        let Some(columns) = w
            .pointer("/data/table/columnsDefs")
            .and_then(Value::as_array)
        else {
            continue;
        };
        if w["type"] == "live_grid" {
            continue;
        }
        let rows = gw
            .json(&format!(
                "/{}?{}",
                w["endpoint"]
                    .as_str()
                    .expect("endpoint")
                    .trim_start_matches('/'),
                default_query(w)
            ))
            .await;
        for row in rows.as_array().expect("rows") {
            for col in columns {
                let field = col["field"].as_str().expect("field");
                assert!(row.get(field).is_some(), "{id}: a row has no `{field}`");
                if col.get("sparkline").is_some() {
                    assert!(row[field].is_array(), "{id}: sparkline cells are lists");
                }
            }
        }
    }
    assert_eq!(
        gw.json("/table_to_chart_widget").await[3],
        json!({"category": "Q4", "value": 195000, "target": 180000})
    );
    assert_eq!(
        gw.json("/table_to_time_series_widget")
            .await
            .as_array()
            .map(Vec::len),
        Some(6)
    );
    assert_eq!(
        gw.json("/table_widget_with_hover_card").await[1]["name"],
        json!({"value": "Bitcoin", "description": "The first decentralized cryptocurrency", "foundedDate": "2009-01-03"})
    );
    assert_eq!(
        gw.json("/sparkline-bar").await[0]["monthlyReturns"][1],
        json!({"x": "Feb", "y": -1.5})
    );
    assert_eq!(
        gw.json("/sparkline").await.as_array().map(Vec::len),
        Some(8)
    );
    // Plotly: the dark figures, the toolbar config, the heatmap's colour scales.
    let chart = gw.json("/plotly_chart").await;
    assert_eq!(
        chart["data"][0]["y"],
        json!([2.5, -1.2, 3.1, 0.8, -2.3, 1.5, 2.8, -0.9, 1.2, 3.5])
    );
    assert_eq!(chart["data"][1]["yaxis"], "y2");
    assert_eq!(chart["layout"]["paper_bgcolor"], "#151518");
    let toolbar = gw.json("/plotly_chart_with_theme_and_toolbar").await;
    assert_eq!(toolbar["config"]["displaylogo"], false);
    assert_eq!(
        gw.json("/plotly_chart_with_raw_data?raw=true").await,
        toolbar,
        "raw is not seen"
    );
    let heatmap = gw
        .json("/plotly_heatmap?color_scale=Viridis&theme=dark")
        .await;
    assert_eq!(heatmap["data"][0]["type"], "heatmap");
    assert_eq!(heatmap["data"][0]["colorscale"][0], json!([0.0, "#440154"]));
    assert_eq!(heatmap["config"]["scrollZoom"], false);
    assert_eq!(heatmap["layout"]["title"]["text"], "Correlation Matrix");
    let default = gw.json("/plotly_heatmap_with_raw_data").await;
    assert_eq!(
        default["data"][0]["colorscale"][0],
        json!([0.0, "rgb(5,48,97)"])
    );
    assert_eq!(
        default["data"][0]["z"][0],
        json!([1.0, 0.65, 0.45, 0.3, 0.2])
    );
    // Vega-Lite and Highcharts.
    let line = gw.json("/vega_line").await;
    assert_eq!(line["data"]["values"].as_array().map(Vec::len), Some(120));
    assert_eq!(line["data"]["values"][0]["date"], "2024-01-01");
    let scatter = gw.json("/vega_scatter").await;
    assert_eq!(
        scatter["data"]["values"].as_array().map(Vec::len),
        Some(200)
    );
    assert_eq!(
        gw.json("/vega_bar").await["data"]["values"][0],
        json!({"chain": "Ethereum", "tvl": 68.4})
    );
    let highchart = gw.json("/chains_highchart").await;
    assert_eq!(
        highchart["userOptions"]["xAxis"]["categories"],
        json!(["Ethereum", "Solana", "BSC", "Tron", "Retired Chain"])
    );
    assert_eq!(
        highchart["userOptions"]["series"][0]["data"],
        json!([61.23, 9.88, 6.12, 5.43, 0.0])
    );
    assert_eq!(highchart["userOptions"]["chart"]["type"], "column");
}

#[tokio::test]
async fn omni_widgets_answer_the_apps_prompts() {
    let apis = llama().await;
    let gw = serve(&apis).await;
    let text = post_json(
        &gw,
        "/omni-widget",
        json!({"prompt": "Hello World", "type": "markdown"}),
    )
    .await;
    assert_eq!(
        text,
        json!({"content": "Hello World", "data_format": {"data_type": "object", "parse_as": "text"}, "extra_citations": [], "citable": false})
    );
    let table = post_json(
        &gw,
        "/omni-widget",
        json!({"prompt": "Hello World", "type": "table"}),
    )
    .await;
    assert_eq!(
        table["content"],
        json!([{"col1": "Hello World", "col2": "Hello World"}, {"col1": "Hello World", "col2": "Hello World"}])
    );
    let chart = post_json(
        &gw,
        "/omni-widget",
        json!({"prompt": "Hello World", "type": "chart"}),
    )
    .await;
    assert_eq!(chart["data_format"]["parse_as"], "chart");
    assert_eq!(chart["content"]["layout"]["title"]["text"], "Hello World");
    assert_eq!(chart["content"]["data"][0]["y"], json!([1, 3, 2]));
    // Some clients send the body as a JSON string holding the object.
    let encoded = json!(json!({"prompt": "Hi", "type": "table"}).to_string());
    let table = post_json(&gw, "/omni-widget", encoded).await;
    assert_eq!(table["content"][0]["col1"], "Hi");

    // SQL: the app's query, the default one, filters, order, and what is not supported.
    let apps = read_json(reference_data().join("reference-backend-2026/apps.json"));
    let app_query =
        apps[0]["tabs"]["omni-sql-python"]["layout"][1]["state"]["params"]["prompt"].clone();
    let result = post_json(&gw, "/omni-sql-widget", json!({"prompt": app_query})).await;
    assert_eq!(result["data_format"]["parse_as"], "table");
    assert_eq!(result["content"].as_array().map(Vec::len), Some(5));
    assert_eq!(
        result["content"][0],
        json!({"Symbol": "AAPL", "Name": "Apple Inc.", "Price": 150.25})
    );
    let default = post_json(
        &gw,
        "/omni-sql-widget",
        json!({"prompt": "SELECT * FROM DATA LIMIT 5"}),
    )
    .await;
    assert_eq!(
        default["content"][4],
        json!({"id": 5, "symbol": "TSLA", "name": "Tesla Inc.", "price": 245.8, "volume": 52000000, "sector": "Automotive"})
    );
    let tech = post_json(
        &gw,
        "/omni-sql-widget",
        json!({"prompt": "SELECT symbol, price FROM DATA WHERE sector = 'Technology'"}),
    )
    .await;
    assert_eq!(
        tech["content"],
        json!([{"symbol": "AAPL", "price": 150.25}, {"symbol": "MSFT", "price": 350.5}, {"symbol": "GOOGL", "price": 140.75}])
    );
    let ordered = post_json(&gw, "/omni-sql-widget", json!({"prompt": "select symbol as s from data where sector='Consumer Defensive' and price >= 160 order by price desc;"})).await;
    assert_eq!(ordered["content"], json!([{"s": "WMT"}]));
    let top = post_json(
        &gw,
        "/omni-sql-widget",
        json!({"prompt": "SELECT symbol FROM DATA ORDER BY volume DESC LIMIT 2"}),
    )
    .await;
    assert_eq!(
        top["content"],
        json!([{"symbol": "TSLA"}, {"symbol": "AAPL"}])
    );
    let none = post_json(
        &gw,
        "/omni-sql-widget",
        json!({"prompt": "SELECT * FROM DATA WHERE price > 1000"}),
    )
    .await;
    assert_eq!(none["content"], "No results found for the query.");
    for (query, why) in [
        (
            "SELECT sector, AVG(price) as avg_price FROM DATA GROUP BY sector",
            "`GROUP`",
        ),
        ("SELECT nope FROM DATA", "no such column: nope"),
        ("SELECT * FROM other", "no such table: other"),
        ("DELETE FROM DATA", "only SELECT"),
    ] {
        let error = post_json(&gw, "/omni-sql-widget", json!({"prompt": query})).await;
        assert_eq!(error["data_format"]["parse_as"], "text", "{query}");
        let content = error["content"].as_str().expect("text");
        assert!(
            content.starts_with("### SQL Query Error\n\n"),
            "{query}: {content}"
        );
        assert!(content.contains(why), "{query}: {content}");
    }

    // Python is never run: the code comes back as text.
    let python = post_json(
        &gw,
        "/omni-python-widget",
        json!({"prompt": "fig = go.Figure()\nimport os"}),
    )
    .await;
    assert_eq!(python["data_format"]["parse_as"], "text");
    let content = python["content"].as_str().expect("text");
    assert!(content.contains("never executes code"), "{content}");
    assert!(content.contains("import os"));
}

#[tokio::test]
async fn youtube_forms_live_grid_and_tradingview() {
    let apis = llama().await;
    let gw = serve(&apis).await;
    assert_eq!(
        text(&gw, "/get_video").await,
        "https://www.youtube.com/watch?v=uYyhswnZkSw"
    );
    assert_eq!(
        text(
            &gw,
            "/get_video_with_transcript?video_name=Open%20Data%20Platform%20Demo"
        )
        .await,
        "https://www.youtube.com/watch?v=MSlhOFxEdxg"
    );
    assert_eq!(text(&gw, "/get_video?video_name=Other").await, "");
    assert_eq!(
        gw.json("/get_video_options").await.as_array().map(Vec::len),
        Some(2)
    );

    // The form: the reference's placeholder row, and a submit answering success.
    assert_eq!(
        gw.json("/all_forms").await,
        json!([{"client_first_name": null, "client_last_name": null, "investment_types": null, "risk_profile": null}])
    );
    let submitted = post_json(
        &gw,
        "/form_submit",
        json!({"client_first_name": "Ada", "client_last_name": "Lovelace", "investment_types": ["stocks", "etfs"], "risk_profile": "low", "add_record": true}),
    )
    .await;
    assert_eq!(submitted, json!({"success": true}));

    // The live grid's initial rows, one per selected symbol.
    let rows = gw.json("/live_grid_data?symbol=AAPL,TSLA").await;
    assert_eq!(rows.as_array().map(Vec::len), Some(2));
    assert_eq!(rows[0]["symbol"], "AAPL");
    assert_eq!(rows[1]["price"], 245.0);

    // TradingView's UDF routes.
    let config = gw.json("/udf/config").await;
    assert_eq!(config["supports_search"], true);
    assert_eq!(gw.json("/udf").await, config);
    let info = gw.json("/udf/symbols?symbol=NASDAQ:MSFT").await;
    assert_eq!(
        (info["name"].as_str(), info["exchange"].as_str()),
        (Some("MSFT"), Some("NASDAQ"))
    );
    assert_eq!(gw.get("/udf/symbols?symbol=TSLA").await.status(), 404);
    let found = gw.json("/udf/search?query=alph&limit=10").await;
    assert_eq!(found.as_array().map(Vec::len), Some(1));
    assert_eq!(found[0]["symbol"], "GOOGL");
    // 2024-01-01 (a Monday) to 2024-01-07: five daily bars.
    let bars = gw
        .json("/udf/history?symbol=AAPL&resolution=D&from=1704067200&to=1704585600")
        .await;
    assert_eq!(bars["s"], "ok");
    assert_eq!(bars["t"].as_array().map(Vec::len), Some(5));
    for i in 0..5 {
        let (o, h, l, c) = (&bars["o"][i], &bars["h"][i], &bars["l"][i], &bars["c"][i]);
        let (o, h, l, c) = (
            o.as_f64().expect("o"),
            h.as_f64().expect("h"),
            l.as_f64().expect("l"),
            c.as_f64().expect("c"),
        );
        assert!(l <= o.min(c) && h >= o.max(c), "bar {i} is a candle");
    }
    assert_eq!(
        gw.json("/udf/history?symbol=AAPL&resolution=D&from=0&to=100")
            .await["s"],
        "no_data"
    );
    assert_eq!(
        gw.json("/udf/history?symbol=ZZZ&resolution=D&from=0&to=100")
            .await["s"],
        "error"
    );
    let now = chrono::Utc::now().timestamp();
    let time = gw.json("/udf/time").await.as_i64().expect("unix seconds");
    assert!((time - now).abs() < 60);
    let recent = gw
        .json(&format!(
            "/udf/history?symbol=GOOGL&resolution=D&from={}&to={now}",
            now - 30 * 86400
        ))
        .await;
    assert_eq!(recent["s"], "ok", "the bars reach today");
}

#[tokio::test]
async fn apps_json_is_openbbs_and_every_layout_item_is_served() {
    let apis = llama().await;
    let gw = serve(&apis).await;
    let expected = read_json(reference_data().join("reference-backend-2026/apps.json"));
    let apps = gw.json("/apps.json").await;
    assert_eq!(apps, expected);
    let widgets = gw.json("/widgets.json").await;
    let mut items = 0;
    for app in apps.as_array().expect("apps") {
        for tab in app["tabs"].as_object().expect("tabs").values() {
            for item in tab["layout"].as_array().expect("layout") {
                let id = item["i"].as_str().expect("i");
                let w = widgets
                    .get(id)
                    .unwrap_or_else(|| panic!("layout item {id} is not served"));
                items += 1;
                // The state's params are the widget's.
                for name in item
                    .pointer("/state/params")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k)
                {
                    assert!(
                        params(w).iter().any(|p| p["paramName"] == name.as_str()),
                        "{id}: state param {name}"
                    );
                }
            }
        }
        for group in app["groups"].as_array().expect("groups") {
            let name = group["paramName"].as_str().expect("paramName");
            let members: Vec<&str> = app["tabs"]
                .as_object()
                .expect("tabs")
                .values()
                .flat_map(|t| t["layout"].as_array().expect("layout"))
                .filter(|i| {
                    i["groups"]
                        .as_array()
                        .is_some_and(|g| g.contains(&group["name"]))
                })
                .map(|i| i["i"].as_str().expect("i"))
                .collect();
            assert!(!members.is_empty());
            for id in members {
                assert!(
                    params(&widgets[id]).iter().any(|p| p["paramName"] == name),
                    "{id} has the group's param {name}"
                );
            }
        }
    }
    assert_eq!(items, 62);
}
