//! Every config the repository ships loads, and every widget in it answers like Workspace
//! expects: documentation cannot rot.

mod common;

use std::collections::HashSet;

use common::{Gateway, check_answer, shipped_configs};
use serde_json::Value;

#[tokio::test]
async fn every_widget_of_every_shipped_config_answers_with_its_shape() {
    let configs = shipped_configs();
    assert!(
        configs.len() >= 2,
        "expected gateway.yaml and more, found {configs:?}"
    );
    for config in configs {
        let gw = Gateway::start(&config).await;
        let widgets = gw.json("/widgets.json").await;
        let widgets = widgets
            .as_object()
            .unwrap_or_else(|| panic!("{}: widgets.json is not an object", config.display()));
        assert!(!widgets.is_empty(), "{}: no widgets", config.display());
        for (id, w) in widgets {
            let wtype = w.get("type").and_then(Value::as_str).unwrap_or("table");
            if wtype == "iframe" {
                continue;
            }
            let endpoint = w["endpoint"].as_str().expect("endpoint is a string");
            let path = format!("/{}", endpoint.trim_start_matches('/'));
            let resp = gw.get(&path).await;
            assert_eq!(
                resp.status(),
                200,
                "{}: widget {id} at {path}",
                config.display()
            );
            let ct = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let body = resp.bytes().await.expect("body");
            let data_key = w
                .pointer("/data/dataKey")
                .and_then(Value::as_str)
                .unwrap_or("");
            if let Err(why) = check_answer(wtype, data_key, &ct, &body) {
                panic!("{}: widget {id} ({wtype}): {why}", config.display());
            }
        }
    }
}

#[tokio::test]
async fn widgets_json_mirrors_the_yaml_without_gateway_keys() {
    for config in shipped_configs() {
        let text = std::fs::read_to_string(&config).expect("read config");
        let yaml = widgetgate::yaml::parse(&text).expect("valid YAML");
        let gw = Gateway::start(&config).await;
        let widgets = gw.json("/widgets.json").await;
        let declared = yaml.get("widgets").expect("widgets section");
        let ids: Vec<&str> = declared
            .entries()
            .iter()
            .map(|(k, _)| k.name.as_str())
            .collect();
        let served: Vec<&str> = widgets
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(ids, served, "{}: widget ids and order", config.display());
        for (key, node) in declared.entries() {
            let served = &widgets[&key.name];
            for gateway_key in ["static", "file", "template", "template_file"] {
                assert!(
                    served.get(gateway_key).is_none(),
                    "{}: {gateway_key} leaked into widgets.json",
                    key.name
                );
            }
            for (field, value) in node.entries() {
                if ["static", "file", "template", "template_file"].contains(&field.name.as_str()) {
                    continue;
                }
                assert_eq!(
                    served[&field.name],
                    value.to_json(),
                    "{}: field {}",
                    key.name,
                    field.name
                );
            }
            let endpoint = node
                .get("endpoint")
                .and_then(|n| n.as_str())
                .unwrap_or(&key.name);
            assert_eq!(served["endpoint"], endpoint, "{}: endpoint", key.name);
        }
    }
}

#[tokio::test]
async fn apps_json_is_an_array_whose_layouts_name_served_widgets() {
    for config in shipped_configs() {
        let gw = Gateway::start(&config).await;
        let widgets = gw.json("/widgets.json").await;
        let ids: HashSet<&str> = widgets
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        let apps = gw.json("/apps.json").await;
        for app in apps
            .as_array()
            .unwrap_or_else(|| panic!("{}: apps.json is not an array", config.display()))
        {
            for tab in app["tabs"].as_object().expect("tabs").values() {
                for item in tab["layout"].as_array().expect("layout") {
                    let i = item["i"].as_str().expect("i");
                    assert!(
                        ids.contains(i),
                        "{}: layout names unknown widget {i}",
                        config.display()
                    );
                    let x = item["x"].as_f64().expect("x");
                    let w = item["w"].as_f64().expect("w");
                    assert!(
                        x + w <= 40.0,
                        "{}: {i} overflows the grid",
                        config.display()
                    );
                }
            }
        }
    }
}
