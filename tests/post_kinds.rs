//! The widget kinds Workspace calls with POST, over real HTTP: omni, multi-file viewer,
//! server-side row model tables and form submits; bodies are size-limited JSON objects.

mod common;

use common::{Gateway, root};
use serde_json::{Value, json};

async fn gateway() -> Gateway {
    Gateway::start(&root().join("tests/fixtures/valid/post_kinds.yaml")).await
}

async fn post(gw: &Gateway, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(gw.url(path))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("post");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json"))
}

#[tokio::test]
async fn omni_answers_text_tables_and_charts_from_the_posted_params() {
    let gw = gateway().await;
    let (status, text) = post(
        &gw,
        "/ask",
        json!({"prompt": "What is TVL?", "type": "markdown"}).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        text,
        json!({"content": "You asked: **What is TVL?**", "data_format": {"data_type": "object", "parse_as": "text"}, "citable": false})
    );
    let (_, table) = post(
        &gw,
        "/ask",
        json!({"prompt": "two words", "type": "table"}).to_string(),
    )
    .await;
    assert_eq!(table["data_format"]["parse_as"], "table");
    assert_eq!(
        table["content"],
        json!([{"prompt": "two words", "words": 2}])
    );
    let (_, chart) = post(
        &gw,
        "/ask",
        json!({"prompt": "a bb", "type": "chart"}).to_string(),
    )
    .await;
    assert_eq!(chart["data_format"]["parse_as"], "chart");
    assert_eq!(chart["content"]["data"][0]["y"], json!([1, 2]));
    // Some clients send the body as a JSON-encoded string of the object.
    let encoded = serde_json::to_string(&json!({"prompt": "hi"}).to_string()).expect("string");
    let (status, text) = post(&gw, "/ask", encoded).await;
    assert_eq!(
        (status, &text["content"]),
        (200, &json!("You asked: **hi**"))
    );
}

#[tokio::test]
async fn multi_file_viewer_answers_each_selected_file() {
    let gw = gateway().await;
    let (status, files) = post(
        &gw,
        "/documents",
        json!({"doc": ["Fixture", "Sample", "Missing"]}).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let files = files.as_array().expect("list").clone();
    assert_eq!(files.len(), 3);
    assert_eq!(
        files[0]["data_format"],
        json!({"data_type": "pdf", "filename": "fixture.pdf"})
    );
    use base64::Engine;
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(files[0]["content"].as_str().expect("base64"))
        .expect("decodes");
    assert!(pdf.starts_with(b"%PDF"));
    assert_eq!(
        files[1],
        json!({"url": "https://example.com/sample.pdf", "data_format": {"data_type": "pdf", "filename": "sample.pdf"}})
    );
    assert_eq!(files[2]["error_type"], "not_found");
    // The legacy GET form with one name in the query still works.
    let one = gw.json("/documents?doc=Sample").await;
    assert_eq!(one.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn server_side_tables_page_sort_and_filter_any_source() {
    let gw = gateway().await;
    let request = json!({
        "startRow": 0, "endRow": 3,
        "sortModel": [{"colId": "price", "sort": "desc"}],
        "filterModel": {"symbol": {"filterType": "text", "type": "equals", "filter": "NVDA"}},
        "rowGroupCols": [], "groupKeys": [], "valueCols": []
    });
    let (status, page) = post(&gw, "/big_table", request.to_string()).await;
    assert_eq!(status, 200);
    assert_eq!(page["rowCount"], 83);
    let ids: Vec<i64> = page["rowData"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, [248, 245, 242]);
    let (_, last) = post(
        &gw,
        "/big_table",
        json!({"startRow": 240, "endRow": 300}).to_string(),
    )
    .await;
    assert_eq!(
        (
            last["rowCount"].as_u64(),
            last["rowData"].as_array().map(Vec::len)
        ),
        (Some(250), Some(10))
    );
    let (status, bad) = post(
        &gw,
        "/big_table",
        json!({"filterModel": {"id": {"filterType": "text", "type": "fuzzy"}}}).to_string(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(bad["detail"].as_str().is_some_and(|d| d.contains("fuzzy")));
}

#[tokio::test]
async fn form_submits_reach_a_post_route() {
    let gw = gateway().await;
    let (status, reply) = post(
        &gw,
        "/client_submit",
        json!({"first_name": "Grace", "add": true}).to_string(),
    )
    .await;
    assert_eq!(
        (status, reply),
        (200, json!({"success": true, "received": "Grace"}))
    );
    let resp = gw.get("/client_submit").await;
    assert_eq!(
        resp.status(),
        200,
        "a POST route also answers GET with its defaults"
    );
}

#[tokio::test]
async fn bodies_must_be_json_objects_within_the_limit() {
    let gw = gateway().await;
    for bad in ["[1, 2]", "\"just text\"", "{not json", "42"] {
        let (status, err) = post(&gw, "/ask", bad).await;
        assert_eq!(status, 400, "{bad}");
        assert!(
            err["detail"].as_str().is_some_and(|d| d.contains("JSON")),
            "{bad}: {err}"
        );
    }
    let huge = format!("{{\"prompt\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let (status, _) = post(&gw, "/ask", huge).await;
    assert_eq!(status, 413);
    let (status, err) = post(&gw, "/clients", "{}").await;
    assert_eq!(status, 405, "GET widgets refuse POST");
    assert!(
        err["detail"]
            .as_str()
            .is_some_and(|d| d.contains("use GET"))
    );
}
