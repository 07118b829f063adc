//! widgets.json and apps.json, built once per config load.

use serde_json::{Value, json};

use crate::config::{AppsDef, WidgetDef};
use crate::openbb::rules::GRID_COLUMNS;

/// Default size of a widget without `gridData` in the generated layout.
const DEFAULT_W: u64 = 20;
const DEFAULT_H: u64 = 12;

/// widgets.json: an object keyed by widget id, each holding the widget's Workspace fields.
pub fn widgets_json(widgets: &[WidgetDef]) -> Value {
    Value::Object(
        widgets
            .iter()
            .map(|w| (w.id.clone(), w.workspace_json()))
            .collect(),
    )
}

/// apps.json: the configured apps verbatim, or one generated app showing every widget.
pub fn apps_json(apps: &AppsDef, widgets: &[WidgetDef], title: &str) -> Value {
    match apps {
        AppsDef::Given { node, .. } => node.to_json(),
        AppsDef::Generated => json!([default_app(widgets, title)]),
    }
}

/// One app that lays every widget out left to right, wrapping rows on the 40-column grid.
fn default_app(widgets: &[WidgetDef], title: &str) -> Value {
    let (mut x, mut y, mut row_h) = (0u64, 0u64, 0u64);
    let mut layout = Vec::new();
    for w in widgets {
        let grid = w.node.get("gridData");
        let size = |k: &str, d: u64| {
            grid.and_then(|g| g.get(k))
                .and_then(|n| n.as_f64())
                .map_or(d, |v| v.max(1.0) as u64)
        };
        let width = size("w", DEFAULT_W).min(GRID_COLUMNS as u64);
        let height = size("h", DEFAULT_H);
        if x + width > GRID_COLUMNS as u64 {
            x = 0;
            y += row_h;
            row_h = 0;
        }
        layout.push(json!({"i": w.id, "x": x, "y": y, "w": width, "h": height}));
        x += width;
        row_h = row_h.max(height);
    }
    json!({
        "name": title,
        "description": "Every widget of this backend",
        "allowCustomization": true,
        "tabs": {"": {"id": "", "name": "", "layout": layout}},
        "groups": [],
        "prompts": []
    })
}
