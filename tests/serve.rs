//! The server's behaviour over real TCP: params reach templates, sources answer in their
//! type's encoding, errors are JSON with CORS headers, preflights succeed.

mod common;

use chrono::Timelike;
use common::{Gateway, root};
use serde_json::{Value, json};

fn fixture(name: &str) -> std::path::PathBuf {
    root().join("tests/fixtures/valid").join(name)
}

async fn every_source() -> Gateway {
    Gateway::start(&fixture("every_source.yaml")).await
}

fn last_year() -> String {
    let today = chrono::Local::now().date_naive();
    today
        .checked_sub_months(chrono::Months::new(12))
        .expect("date")
        .format("%Y-%m-%d")
        .to_string()
}

#[tokio::test]
async fn defaults_fill_every_param_type() {
    let gw = every_source().await;
    let text = gw.json("/params_echo").await;
    let expected = format!(
        "name=World\ncount+1=4\nflag=on\nsince={}\ntickers=AAPL,MSFT (2) [AAPL] [MSFT]\npicked=",
        last_year()
    );
    assert_eq!(text, Value::String(expected));
}

#[tokio::test]
async fn request_values_are_typed_and_undeclared_ones_ignored() {
    let gw = every_source().await;
    let text = gw
        .json("/params_echo?name=Ada%20L&count=41&flag=false&since=2024-01-31&tickers=NVDA,AAPL,MSFT&picked=AAPL&theme=dark&raw=false")
        .await;
    let expected = "name=Ada L\ncount+1=42\nflag=off\nsince=2024-01-31\ntickers=NVDA,AAPL,MSFT (3) [NVDA] [AAPL] [MSFT]\npicked=AAPL";
    assert_eq!(text, Value::String(expected.into()));
}

#[tokio::test]
async fn a_bad_number_is_a_400_with_a_detail() {
    let gw = every_source().await;
    let resp = gw.get("/params_echo?count=lots").await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(
        body,
        json!({"detail": "param `count` must be a number, got `lots`"})
    );
    let resp = gw.get("/params_echo?flag=maybe").await;
    assert_eq!(resp.status(), 400);
    let resp = gw.get("/params_echo?since=2026-13-01").await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(
        body["detail"],
        "param `since` must be a date as YYYY-MM-DD, got `2026-13-01`"
    );
}

#[tokio::test]
async fn template_files_and_list_defaults() {
    let gw = every_source().await;
    assert_eq!(
        gw.json("/from_template_file").await,
        json!("# Report for AAPL\n\n- MSFT\n- GOOGL\n")
    );
    assert_eq!(
        gw.json("/from_template_file?symbol=TSLA&peers=F").await,
        json!("# Report for TSLA\n\n- F\n")
    );
}

#[tokio::test]
async fn files_are_served_in_their_widget_encoding() {
    let gw = every_source().await;
    let md = gw.json("/from_file_md").await;
    assert!(
        md.as_str()
            .is_some_and(|s| s.starts_with("# Notes from a file")),
        "{md}"
    );

    let resp = gw.get("/html_page").await;
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    assert!(
        resp.text()
            .await
            .expect("text")
            .contains("<h1>Fixture page</h1>")
    );

    let pdf = gw.json("/pdf_file").await;
    assert_eq!(
        pdf["data_format"],
        json!({"data_type": "pdf", "filename": "fixture.pdf"})
    );
    use base64::Engine;
    let raw = std::fs::read(fixture("widgets/fixture.pdf")).expect("pdf");
    assert_eq!(
        pdf["content"],
        json!(base64::engine::general_purpose::STANDARD.encode(raw))
    );

    assert_eq!(gw.json("/rows_file").await[1]["symbol"], "MSFT");

    let resp = gw.get("/video").await;
    assert_eq!(resp.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(
        resp.text().await.expect("text"),
        "https://www.youtube.com/watch?v=uYyhswnZkSw"
    );
}

#[tokio::test]
async fn html_templates_escape_param_values() {
    let gw = every_source().await;
    let resp = gw
        .get("/html_template?title=%3Cscript%3Ealert(1)%3C/script%3E")
        .await;
    assert_eq!(
        resp.text().await.expect("text"),
        "<h1>&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</h1>"
    );
}

#[tokio::test]
async fn json_templates_and_single_metrics_take_their_type_shape() {
    let gw = every_source().await;
    assert_eq!(
        gw.json("/table_template?rows=3").await,
        json!([{"n": 0}, {"n": 1}, {"n": 2}])
    );
    assert_eq!(
        gw.json("/single_metric").await,
        json!([{"label": "Price", "value": 190.1, "delta": 1.2}])
    );
}

#[tokio::test]
async fn routes_serve_dropdown_options_with_params() {
    let gw = every_source().await;
    assert_eq!(
        gw.json("/ticker_options").await.as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        gw.json("/ticker_options?prefix=MS").await,
        json!([{"label": "Microsoft", "value": "MSFT"}])
    );
}

#[tokio::test]
async fn gateway_paths_answer() {
    let gw = every_source().await;
    let info = gw.json("/").await;
    assert_eq!(info["name"], "widgetgate");
    assert_eq!(info["widgets"], 12);
    assert_eq!(gw.get("/healthz").await.status(), 200);
    let resp = gw.get("/no/such/widget").await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.expect("json");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("/no/such/widget")),
        "{body}"
    );
}

#[tokio::test]
async fn other_methods_are_refused_with_a_detail() {
    let gw = every_source().await;
    let client = reqwest::Client::new();
    let resp = client
        .post(gw.url("/params_echo"))
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 405);
    let body: Value = resp.json().await.expect("json");
    assert!(
        body["detail"].as_str().is_some_and(|d| d.contains("POST")),
        "{body}"
    );
    let resp = client
        .head(gw.url("/widgets.json"))
        .send()
        .await
        .expect("head");
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn empty_and_file_apps() {
    let gw = Gateway::start(&fixture("empty_apps.yaml")).await;
    assert_eq!(gw.json("/apps.json").await, json!([]));
    assert_eq!(gw.json("/note").await, json!("Remember to rebalance."));
    let gw = Gateway::start(&fixture("apps_file.yaml")).await;
    let apps = gw.json("/apps.json").await;
    assert_eq!(apps[0]["name"], "From a file");
}

#[tokio::test]
async fn without_apps_a_default_app_lays_out_every_widget() {
    let gw = every_source().await;
    let apps = gw.json("/apps.json").await;
    let layout = apps[0]["tabs"][""]["layout"]
        .as_array()
        .expect("layout")
        .clone();
    assert_eq!(layout.len(), 12);
    assert_eq!(
        layout[0],
        json!({"i": "params_echo", "x": 0, "y": 0, "w": 20, "h": 10})
    );
    assert_eq!(layout[1]["x"], 20);
    // html_page is 40 wide: it starts a new row below the tallest of the first row.
    let html = layout
        .iter()
        .find(|i| i["i"] == "html_page")
        .expect("html_page");
    assert_eq!(html["x"], 0);
    assert_eq!(apps[0]["allowCustomization"], true);
}

#[tokio::test]
async fn cors_preflight_from_workspace_with_an_api_key_header() {
    let gw = every_source().await;
    let client = reqwest::Client::new();
    let resp = client
        .request(reqwest::Method::OPTIONS, gw.url("/params_echo"))
        .header("Origin", "https://pro.openbb.co")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "x-api-key")
        .header("Access-Control-Request-Private-Network", "true")
        .send()
        .await
        .expect("preflight");
    assert_eq!(resp.status(), 204);
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], "https://pro.openbb.co");
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert_eq!(h["access-control-allow-headers"], "x-api-key");
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .expect("ascii")
            .contains("GET")
    );
    assert_eq!(h["access-control-allow-private-network"], "true");

    let resp = client
        .request(reqwest::Method::OPTIONS, gw.url("/widgets.json"))
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .expect("preflight");
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn cors_headers_are_on_answers_and_errors() {
    let gw = every_source().await;
    let client = reqwest::Client::new();
    for (path, status) in [
        ("/widgets.json", 200),
        ("/missing", 404),
        ("/params_echo?count=x", 400),
    ] {
        let resp = client
            .get(gw.url(path))
            .header("Origin", "https://pro.openbb.co")
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status(), status, "{path}");
        assert_eq!(
            resp.headers()["access-control-allow-origin"],
            "https://pro.openbb.co",
            "{path}"
        );
        assert_eq!(
            resp.headers()["access-control-allow-credentials"],
            "true",
            "{path}"
        );
    }
}

#[tokio::test]
async fn http2_prior_knowledge_is_served() {
    let gw = every_source().await;
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .expect("client");
    let resp = client
        .get(gw.url("/widgets.json"))
        .send()
        .await
        .expect("h2 request");
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
}

/// `GET path` with the given request headers, by a client that never decompresses.
async fn raw_get(gw: &Gateway, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .no_gzip()
        .build()
        .expect("client");
    let mut req = client.get(gw.url(path));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.expect("request reaches the gateway")
}

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> &'a str {
    resp.headers()
        .get(name)
        .map_or("", |v| v.to_str().expect("ascii header"))
}

#[tokio::test]
async fn widgets_json_is_gzipped_for_browsers_with_a_tag_of_its_own() {
    use std::io::Read;

    let gw = every_source().await;
    let plain = raw_get(&gw, "/widgets.json", &[]).await;
    assert_eq!(plain.status(), 200);
    assert_eq!(header(&plain, "content-encoding"), "");
    let plain_tag = header(&plain, "etag").to_string();
    let plain_body = plain.bytes().await.expect("body");

    let browser = [("Accept-Encoding", "gzip, deflate, br, zstd")];
    let zipped = raw_get(&gw, "/widgets.json", &browser).await;
    assert_eq!(zipped.status(), 200);
    assert_eq!(header(&zipped, "content-encoding"), "gzip");
    let vary: Vec<_> = zipped.headers().get_all("vary").iter().collect();
    assert!(
        vary.iter().any(|v| v.as_bytes() == b"Accept-Encoding"),
        "{vary:?}"
    );
    let zipped_tag = header(&zipped, "etag").to_string();
    assert_ne!(
        zipped_tag, plain_tag,
        "two representations, two strong tags"
    );
    let compressed = zipped.bytes().await.expect("body");
    assert!(
        compressed.len() < plain_body.len(),
        "{} bytes",
        compressed.len()
    );
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_end(&mut unzipped)
        .expect("a gzip stream");
    assert_eq!(unzipped, plain_body, "the same document");

    // Each representation revalidates against its own tag.
    let again = raw_get(
        &gw,
        "/widgets.json",
        &[browser[0], ("If-None-Match", &zipped_tag)],
    )
    .await;
    assert_eq!(again.status(), 304);
    assert_eq!(header(&again, "etag"), zipped_tag);
    assert!(again.bytes().await.expect("body").is_empty());
    let other = raw_get(&gw, "/widgets.json", &[("If-None-Match", &zipped_tag)]).await;
    assert_eq!(
        other.status(),
        200,
        "the gzip tag does not name the plain bytes"
    );
    let refused = raw_get(&gw, "/widgets.json", &[("Accept-Encoding", "gzip;q=0")]).await;
    assert_eq!(header(&refused, "content-encoding"), "");
}

/// A widgets.json of about 2 MB: far larger than a socket's buffer, so it is sent in many
/// partial writes, and large enough to be sent from memory without a copy (src/zerocopy.rs).
fn big_catalog() -> String {
    let mut yaml = String::from("widgets:\n");
    for i in 0..200 {
        let words = format!("widget {i} says ").repeat(700);
        yaml.push_str(&format!(
            "  w{i}:\n    name: W{i}\n    description: \"{words}\"\n    type: markdown\n    static: hi\n"
        ));
    }
    yaml
}

#[tokio::test]
async fn a_large_widgets_json_arrives_whole_to_slow_and_concurrent_readers() {
    use std::io::Read;

    let gw = Gateway::from_yaml(&big_catalog(), &[]).await;
    let zipped = raw_get(&gw, "/widgets.json", &[("Accept-Encoding", "gzip")]).await;
    let mut expected = Vec::new();
    flate2::read::GzDecoder::new(&zipped.bytes().await.expect("body")[..])
        .read_to_end(&mut expected)
        .expect("a gzip stream");
    let doc: Value = serde_json::from_slice(&expected).expect("JSON");
    assert_eq!(doc.as_object().expect("object").len(), 200);
    assert!(expected.len() > 2_000_000, "{} bytes", expected.len());

    // Eight at once over HTTP/1.1, one of them reading slowly, and one over HTTP/2.
    let mut readers = Vec::new();
    for n in 0..8 {
        let url = gw.url("/widgets.json");
        readers.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .no_gzip()
                .build()
                .expect("client");
            let mut resp = client.get(url).send().await.expect("request");
            assert_eq!(resp.status(), 200);
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.expect("chunk") {
                body.extend_from_slice(&chunk);
                if n == 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
            }
            body
        }));
    }
    for reader in readers {
        assert!(reader.await.expect("reader") == expected, "the same bytes");
    }
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .no_gzip()
        .build()
        .expect("client");
    let resp = h2.get(gw.url("/widgets.json")).send().await.expect("h2");
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert!(
        resp.bytes().await.expect("body") == expected,
        "the same bytes over h2"
    );
}

#[tokio::test]
async fn templates_read_workspaces_theme_and_raw_unless_a_param_takes_the_name() {
    let gw = Gateway::from_yaml(
        "widgets:
  looks:
    name: Looks
    description: Theme and raw view
    type: markdown
    template: '{{ theme }}/{% if raw %}raw{% else %}view{% endif %}'
  declared:
    name: Declared
    description: A param named theme
    type: markdown
    params: [{ paramName: theme, value: sepia, type: text }]
    template: '{{ theme }}'
",
        &[],
    )
    .await;
    for (query, expected) in [
        ("", "dark/view"),
        ("?theme=light&raw=true", "light/raw"),
        ("?theme=<b>&raw=yes", "dark/view"),
    ] {
        assert_eq!(
            gw.json(&format!("/looks{query}")).await,
            json!(expected),
            "{query}"
        );
    }
    assert_eq!(gw.json("/declared").await, json!("sepia"));
    assert_eq!(gw.json("/declared?theme=light").await, json!("light"));
}

#[tokio::test]
async fn templates_read_the_clock_with_now() {
    let gw = Gateway::from_yaml(
        "widgets:
  clock:
    name: Clock
    description: The server's time
    type: markdown
    template: '{{ now() }}|{{ now(\"%Y-%m-%d\") }}|{{ now(\"%Y-%m-%d\", \"-1d\") }}'
  broken:
    name: Broken
    description: A format strftime does not know
    type: markdown
    template: '{{ now(\"%Q\") }}'
",
        &[],
    )
    .await;
    let before = chrono::Local::now();
    let text = gw.json("/clock").await;
    let after = chrono::Local::now();
    let parts: Vec<&str> = text.as_str().expect("a string").split('|').collect();
    let at = chrono::NaiveDateTime::parse_from_str(parts[0], "%Y-%m-%d %H:%M:%S").expect("a time");
    assert!(
        at >= before.naive_local().with_nanosecond(0).expect("time") && at <= after.naive_local(),
        "{at} between {before} and {after}"
    );
    assert_eq!(parts[1], at.format("%Y-%m-%d").to_string());
    let yesterday = at.date() - chrono::Days::new(1);
    assert_eq!(parts[2], yesterday.format("%Y-%m-%d").to_string());

    let resp = gw.get("/broken").await;
    assert_eq!(resp.status(), 500);
    let body: Value = resp.json().await.expect("JSON");
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("now(): `%Q` is not a strftime format"),
        "{body}"
    );
}

#[tokio::test]
async fn the_default_configs_chart_follows_the_theme_and_its_profile_the_clock() {
    let gw = Gateway::start(&root().join("gateway.yaml")).await;
    let ink = |figure: Value| figure["layout"]["font"]["color"].clone();
    assert_eq!(ink(gw.json("/price_history").await), json!("#8a8f98"));
    assert_eq!(
        ink(gw.json("/price_history?theme=light").await),
        json!("#4b5563")
    );
    let profile = gw.json("/company_profile").await;
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    assert!(
        profile
            .as_str()
            .expect("markdown")
            .contains(&format!("shown {today}")),
        "{profile}"
    );
}

/// Text-and-names templates are rendered without the engine (src/substitution.rs); over HTTP
/// they must answer what the engine answers: values as it prints them, one trailing newline of
/// a block template dropped, braces that are not tags kept, a multi-select joined by commas.
#[tokio::test]
async fn plain_substitution_templates_answer_as_the_engine_does() {
    let gw = Gateway::from_yaml(
        "widgets:
  plain:
    name: Plain
    description: Only text and names
    type: markdown
    params:
      - { paramName: symbol, value: AAPL, type: text }
      - { paramName: days, value: 30, type: number }
      - { paramName: picks, value: [AAPL, MSFT], type: text, multiSelect: true, options: [{ label: A, value: AAPL }, { label: M, value: MSFT }, { label: T, value: TSLA }] }
    template: |
      # {{ symbol }} {a} }}
      Last {{days}} days of {{ picks }} for **{{ symbol }}**.
",
        &[],
    )
    .await;
    assert_eq!(
        gw.json("/plain").await,
        json!("# AAPL {a} }}\nLast 30 days of AAPL,MSFT for **AAPL**.")
    );
    assert_eq!(
        gw.json("/plain?symbol=Soci%C3%A9t%C3%A9%20G%C3%A9n%C3%A9rale&days=7&picks=TSLA")
            .await,
        json!("# Société Générale {a} }}\nLast 7 days of TSLA for **Société Générale**.")
    );
}

/// A markdown substitution whose values are strings and integers is written straight into its
/// JSON answer (src/substitution.rs, src/json_string.rs): over HTTP the body must be, byte for
/// byte, serde_json's encoding of the text, escapes included.
#[tokio::test]
async fn a_markdown_substitution_answers_serde_jsons_bytes() {
    let gw = Gateway::from_yaml(
        r#"widgets:
  note:
    name: Note
    description: Text and names whose values need escaping
    type: markdown
    params:
      - { paramName: symbol, value: AAPL, type: text }
      - { paramName: days, value: 30, type: number }
      - { paramName: limit, value: 10, type: number }
    template: |
      "{{ symbol }}" \ {{ days }}	tab
      next line
"#,
        &[],
    )
    .await;
    for (query, text) in [
        ("", "\"AAPL\" \\ 30\ttab\nnext line"),
        (
            "?symbol=a%22b%5Cc%0D%09%01%7F%E2%82%AC&days=-7",
            "\"a\"b\\c\r\t\u{1}\u{7f}€\" \\ -7\ttab\nnext line",
        ),
        // Typed as a number: `+5` and `007` print as integers, a float as the engine prints it.
        ("?days=%2B5&symbol=", "\"\" \\ 5\ttab\nnext line"),
        ("?days=007", "\"AAPL\" \\ 7\ttab\nnext line"),
        ("?days=1.5", "\"AAPL\" \\ 1.5\ttab\nnext line"),
    ] {
        let resp = gw.get(&format!("/note{query}")).await;
        assert_eq!(resp.status(), 200, "{query}");
        assert_eq!(
            resp.headers()["content-type"],
            "application/json",
            "{query}"
        );
        let body = resp.bytes().await.expect("body");
        assert_eq!(
            body.as_ref(),
            serde_json::to_vec(text).expect("json").as_slice(),
            "{query}"
        );
    }
    let resp = gw.get("/note?days=lots").await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<serde_json::Value>().await.expect("json"),
        json!({"detail": "param `days` must be a number, got `lots`"})
    );
    // A param the template does not read is checked all the same.
    let resp = gw.get("/note?limit=lots").await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<serde_json::Value>().await.expect("json"),
        json!({"detail": "param `limit` must be a number, got `lots`"})
    );
}
