//! What one client key may see: its `widgets:` allow-list applied to widgets.json and apps.json
//! once per snapshot, so a request only picks the precomputed bytes.

use std::collections::HashSet;
use std::path::Path;

use bytes::Bytes;
use serde_json::Value;

use crate::config::WidgetDef;
use crate::config::auth::Pattern;
use crate::diag::Diagnostics;

/// A client's share of the snapshot.
#[derive(Debug)]
pub struct View {
    /// widgets.json with only its widgets.
    pub widgets_json: Bytes,
    /// apps.json with only its widgets (apps, tabs and groups left empty are dropped).
    pub apps_json: Bytes,
    /// The ids of the widgets it may call.
    pub widgets: HashSet<String>,
}

impl View {
    /// Applies `patterns` to the snapshot's documents. A pattern that matches no widget is a
    /// warning, since it is probably a typo.
    pub fn build(
        patterns: &[Pattern],
        widgets: &[WidgetDef],
        widgets_doc: &Value,
        apps_doc: &Value,
        file: &Path,
        diags: &mut Diagnostics,
    ) -> View {
        for p in patterns {
            if !widgets.iter().any(|w| glob_match(&p.glob, &w.id)) {
                diags.warn(file, p.mark, format!("`{}` matches no widget id", p.glob));
            }
        }
        let allowed: HashSet<String> = widgets
            .iter()
            .filter(|w| patterns.iter().any(|p| glob_match(&p.glob, &w.id)))
            .map(|w| w.id.clone())
            .collect();
        let only = |id: &str| allowed.contains(id);
        let widgets_json = match widgets_doc {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(id, _)| only(id))
                    .map(|(id, w)| (id.clone(), w.clone()))
                    .collect(),
            ),
            other => other.clone(),
        };
        let apps_json = filter_apps(apps_doc, &only);
        View {
            widgets_json: Bytes::from(serde_json::to_vec(&widgets_json).unwrap_or_default()),
            apps_json: Bytes::from(serde_json::to_vec(&apps_json).unwrap_or_default()),
            widgets: allowed,
        }
    }
}

/// apps.json keeping only layout items and group members `allowed` accepts.
fn filter_apps(apps: &Value, allowed: &dyn Fn(&str) -> bool) -> Value {
    let Value::Array(list) = apps else {
        return apps.clone();
    };
    let visible = |v: &Value| v.as_str().is_some_and(allowed);
    let kept = list.iter().filter_map(|app| {
        let mut app = app.clone();
        if let Some(Value::Object(tabs)) = app.get_mut("tabs") {
            for tab in tabs.values_mut() {
                if let Some(Value::Array(layout)) = tab.get_mut("layout") {
                    layout.retain(|item| item.get("i").is_some_and(visible));
                }
            }
            tabs.retain(|_, tab| {
                tab.get("layout")
                    .and_then(Value::as_array)
                    .is_some_and(|l| !l.is_empty())
            });
            if tabs.is_empty() {
                return None;
            }
        }
        if let Some(Value::Array(groups)) = app.get_mut("groups") {
            for group in groups.iter_mut() {
                if let Some(Value::Array(ids)) = group.get_mut("widgetIds") {
                    ids.retain(visible);
                }
            }
            groups.retain(|g| {
                g.get("widgetIds")
                    .and_then(Value::as_array)
                    .is_none_or(|ids| !ids.is_empty())
            });
        }
        Some(app)
    });
    Value::Array(kept.collect())
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters and `?` for
/// one character.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn globs() {
        for (p, t) in [
            ("equity_*", "equity_quote"),
            ("*", "x"),
            ("e?uity", "equity"),
            ("*_q*e", "equity_quote"),
            ("a", "a"),
        ] {
            assert!(glob_match(p, t), "{p} {t}");
        }
        for (p, t) in [
            ("equity_*", "crypto_equity_x"),
            ("a", "ab"),
            ("?", ""),
            ("a*b", "ac"),
        ] {
            assert!(!glob_match(p, t), "{p} {t}");
        }
    }

    #[test]
    fn apps_lose_hidden_widgets_and_empty_parts() {
        let apps = json!([
            {"name": "Mixed", "tabs": {"a": {"layout": [{"i": "equity_x"}, {"i": "crypto_y"}]},
                                       "b": {"layout": [{"i": "crypto_y"}]}},
             "groups": [{"name": "Group 1", "widgetIds": ["crypto_y"]},
                        {"name": "Group 2", "widgetIds": ["equity_x", "crypto_y"]},
                        {"name": "Group 3"}]},
            {"name": "Crypto only", "tabs": {"": {"layout": [{"i": "crypto_y"}]}}}
        ]);
        let out = filter_apps(&apps, &|id: &str| id.starts_with("equity_"));
        assert_eq!(
            out,
            json!([{"name": "Mixed", "tabs": {"a": {"layout": [{"i": "equity_x"}]}},
                    "groups": [{"name": "Group 2", "widgetIds": ["equity_x"]}, {"name": "Group 3"}]}])
        );
    }
}
