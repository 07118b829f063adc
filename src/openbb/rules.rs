//! Workspace's own rules for widgets.json and apps.json (contract §9), checked before Workspace
//! ever sees the files. Structural faults are errors; values Workspace merely warns about are
//! warnings.

use std::collections::HashSet;
use std::path::Path;

use crate::config::keys;
use crate::config::params;
use crate::diag::Diagnostics;
use crate::openbb::types::KNOWN_TYPES;
use crate::yaml::{Node, Value};

const PARAM_TYPES: &[&str] = &[
    "text", "number", "boolean", "date", "ticker", "endpoint", "form", "tabs",
];
const CELL_DATA_TYPES: &[&str] = &["text", "number", "boolean", "date", "dateString", "object"];
const CHART_DATA_TYPES: &[&str] = &["category", "series", "time", "excluded"];
const FORMATTER_FNS: &[&str] = &[
    "int",
    "none",
    "percent",
    "normalized",
    "normalizedPercent",
    "dateToYear",
];
const RENDER_FNS: &[&str] = &[
    "greenRed",
    "titleCase",
    "hoverCard",
    "cellOnClick",
    "columnColor",
    "showCellChange",
];
const SPARKLINE_TYPES: &[&str] = &["line", "area", "bar"];
const DATE_UNITS: &[char] = &['h', 'd', 'w', 'M', 'y'];

/// Width of Workspace's dashboard grid.
pub const GRID_COLUMNS: f64 = 40.0;

/// Checks the rules for one widget mapping; `served` holds every path the gateway answers.
pub struct WidgetRules<'a> {
    /// The file the widget is in.
    pub file: &'a Path,
    /// Paths served by this gateway (for `optionsEndpoint`).
    pub served: &'a HashSet<String>,
    /// Where problems go.
    pub diags: &'a mut Diagnostics,
}

impl WidgetRules<'_> {
    /// Checks widget `id`.
    pub fn check(&mut self, id: &str, w: &Node) {
        let owner = format!("widget `{id}`");
        match w.get("name") {
            Some(n) if n.as_str().is_some() => {}
            Some(n) => self.diags.error(
                self.file,
                n.mark,
                format!("{owner}: `name` must be a string"),
            ),
            None => self.diags.error(
                self.file,
                w.mark,
                format!("{owner} has no `name` (Workspace requires one)"),
            ),
        }
        if w.get("description").is_none() {
            self.diags.warn(
                self.file,
                w.mark,
                format!(
                    "{owner} has no `description` (Workspace shows it in menus and Copilot uses it)"
                ),
            );
        }
        match w.get("type") {
            None => self.diags.warn(self.file, w.mark, format!("{owner} has no `type`: Workspace renders it as a table, but OpenBB's validator wants one")),
            Some(t) => match t.as_str() {
                Some(name) if KNOWN_TYPES.contains(&name) => {}
                Some(name) => self.diags.warn(
                    self.file,
                    t.mark,
                    format!("{owner}: type `{name}` is not one Workspace is known to render{}", keys::did_you_mean(name, KNOWN_TYPES)),
                ),
                None => self.diags.error(self.file, t.mark, format!("{owner}: `type` must be a string")),
            },
        }
        if let Some(g) = w.get("gridData") {
            self.grid_data(&owner, g);
        }
        if let Some(s) = w.get("source") {
            match &s.value {
                Value::Seq(items) if items.iter().all(|i| i.as_str().is_some()) => {}
                Value::Str(_) => self.diags.warn(self.file, s.mark, format!("{owner}: `source` should be a list of strings (OpenBB's validator rejects a bare string); write [{}]", s.as_str().unwrap_or_default())),
                _ => self.diags.error(self.file, s.mark, format!("{owner}: `source` must be a list of strings")),
            }
        }
        if let Some(r) = w.get("refetchInterval") {
            match &r.value {
                Value::Bool(false) | Value::Str(_) => {}
                Value::Int(_) | Value::Float(_) if r.as_f64().unwrap_or(0.0) < 1000.0 => {
                    self.diags.warn(self.file, r.mark, format!("{owner}: `refetchInterval` is in milliseconds; below 1000 Workspace refreshes constantly"))
                }
                Value::Int(_) | Value::Float(_) => {}
                _ => self.diags.error(self.file, r.mark, format!("{owner}: `refetchInterval` must be milliseconds, `false` or a cron string")),
            }
        }
        if let Some(m) = w.get("mcp_tool") {
            for k in ["mcp_server", "tool_id"] {
                if m.get(k).and_then(Node::as_str).is_none() {
                    self.diags.error(
                        self.file,
                        m.mark,
                        format!("{owner}: `mcp_tool` needs a string `{k}`"),
                    );
                }
            }
        }
        if let Some(p) = w.get("params") {
            self.params(&owner, p);
        }
        self.table(&owner, w);
        if w.get("type").and_then(Node::as_str) == Some("multi_file_viewer") {
            let has_selector = w
                .get("params")
                .map(params::flatten)
                .unwrap_or_default()
                .iter()
                .any(|p| {
                    p.get("type").and_then(Node::as_str) == Some("endpoint")
                        && p.get("roles").is_some_and(|r| {
                            r.items().iter().any(|x| x.as_str() == Some("fileSelector"))
                        })
                });
            if !has_selector {
                self.diags.error(self.file, w.mark, format!("{owner}: a multi_file_viewer needs an `endpoint` param with `roles: [fileSelector]`"));
            }
        }
    }

    fn grid_data(&mut self, owner: &str, g: &Node) {
        if !g.is_map() {
            self.diags.error(
                self.file,
                g.mark,
                format!("{owner}: `gridData` must be a mapping like {{w: 20, h: 10}}"),
            );
            return;
        }
        for (k, v) in g.entries() {
            let Some(n) = v.as_f64() else {
                self.diags.error(
                    self.file,
                    v.mark,
                    format!("{owner}: `gridData.{}` must be a number", k.name),
                );
                continue;
            };
            match k.name.as_str() {
                "w" if n > GRID_COLUMNS => self.diags.error(
                    self.file,
                    v.mark,
                    format!("{owner}: `gridData.w` is {n}, wider than Workspace's 40-column grid"),
                ),
                "w" if n < 10.0 => self.diags.warn(
                    self.file,
                    v.mark,
                    format!("{owner}: `gridData.w` is {n}; Workspace recommends 10 to 40"),
                ),
                "h" if !(4.0..=100.0).contains(&n) => self.diags.warn(
                    self.file,
                    v.mark,
                    format!("{owner}: `gridData.h` is {n}; Workspace recommends 4 to 100"),
                ),
                _ => {}
            }
        }
    }

    fn params(&mut self, owner: &str, p: &Node) {
        if !p.is_seq() {
            self.diags.error(
                self.file,
                p.mark,
                format!("{owner}: `params` must be a list"),
            );
            return;
        }
        let mut names = HashSet::new();
        for item in p.items() {
            if item.is_seq() {
                for inner in item.items() {
                    self.param(owner, inner, &mut names);
                }
            } else {
                self.param(owner, item, &mut names);
            }
        }
    }

    fn param(&mut self, owner: &str, p: &Node, names: &mut HashSet<String>) {
        if !p.is_map() {
            self.diags.error(
                self.file,
                p.mark,
                format!("{owner}: each param must be a mapping, not {}", p.kind()),
            );
            return;
        }
        let name = match p.get("paramName").and_then(Node::as_str) {
            Some(n) => n.to_string(),
            None => {
                self.diags.error(
                    self.file,
                    p.mark,
                    format!("{owner}: a param has no `paramName`"),
                );
                return;
            }
        };
        let at = format!("{owner}, param `{name}`");
        if !names.insert(name.clone()) {
            self.diags
                .warn(self.file, p.mark, format!("{at}: declared twice"));
        }
        let kind = p.get("type").and_then(Node::as_str);
        match (kind, p.get("type")) {
            (Some(t), _) if PARAM_TYPES.contains(&t) => {}
            (Some(t), Some(n)) => self.diags.error(
                self.file,
                n.mark,
                format!(
                    "{at}: type `{t}` is not one of {}{}",
                    PARAM_TYPES.join(", "),
                    keys::did_you_mean(t, PARAM_TYPES)
                ),
            ),
            (None, Some(n)) => {
                self.diags
                    .error(self.file, n.mark, format!("{at}: `type` must be a string"))
            }
            (None, None) => self.diags.warn(
                self.file,
                p.mark,
                format!("{at} has no `type` (Workspace treats it as text)"),
            ),
            (Some(_), None) => {}
        }
        if kind == Some("endpoint") && p.get("optionsEndpoint").is_none() {
            self.diags.error(
                self.file,
                p.mark,
                format!("{at}: an `endpoint` param needs `optionsEndpoint`"),
            );
        }
        if let Some(ep) = p.get("optionsEndpoint") {
            self.options_endpoint(&at, ep);
        }
        if let Some(opts) = p.get("options") {
            if !opts.is_seq() {
                self.diags.error(
                    self.file,
                    opts.mark,
                    format!("{at}: `options` must be a list of {{label, value}}"),
                );
            }
            for o in opts.items() {
                if o.get("value").is_none() {
                    self.diags.error(
                        self.file,
                        o.mark,
                        format!("{at}: each option needs a `value`"),
                    );
                }
            }
        }
        if let Some(v) = p.get("value").and_then(Node::as_str)
            && v.starts_with('$')
            && parse_date_modifier(v).is_none()
        {
            let mark = p.get("value").map_or(p.mark, |n| n.mark);
            self.diags.warn(
                self.file,
                mark,
                format!(
                    "{at}: `{v}` is not a date modifier like $currentDate-1y (units h, d, w, M, y)"
                ),
            );
        }
        if kind == Some("form") {
            match p.get("endpoint") {
                Some(ep) if ep.as_str().is_some_and(|e| self.served.contains(&format!("/{}", e.trim_start_matches('/')))) => {}
                Some(ep) => self.diags.error(self.file, ep.mark, format!("{at}: the form's `endpoint` is not served by this gateway; add it under `routes:` with `method: POST`")),
                None => self.diags.error(self.file, p.mark, format!("{at}: a `form` param needs the `endpoint` its submit is POSTed to")),
            }
            for input in p.get("inputParams").map(Node::items).unwrap_or_default() {
                if input.get("paramName").and_then(Node::as_str).is_none() {
                    self.diags.error(
                        self.file,
                        input.mark,
                        format!("{at}: each form input needs a `paramName`"),
                    );
                }
            }
        }
    }

    fn options_endpoint(&mut self, at: &str, ep: &Node) {
        let Some(path) = ep.as_str() else {
            self.diags.error(
                self.file,
                ep.mark,
                format!("{at}: `optionsEndpoint` must be a string"),
            );
            return;
        };
        if path.starts_with("http://") || path.starts_with("https://") {
            return;
        }
        let normalized = format!("/{}", path.trim_start_matches('/'));
        if !self.served.contains(&normalized) {
            self.diags.error(self.file, ep.mark, format!("{at}: `optionsEndpoint` {path} is not served by this gateway; add it under `routes:`"));
        }
    }

    fn table(&mut self, owner: &str, w: &Node) {
        if let Some(data) = w.get("data")
            && let Some(c) = data.get("columnsDefs")
        {
            self.diags.error(
                self.file,
                c.mark,
                format!("{owner}: `columnsDefs` belongs under `data.table`, not `data`"),
            );
        }
        if let Some(c) = w.get("columns") {
            self.diags.error(self.file, c.mark, format!("{owner}: top-level `columns` is not a Workspace field; use `data.table.columnsDefs`"));
        }
        let Some(defs) = w
            .get("data")
            .and_then(|d| d.get("table"))
            .and_then(|t| t.get("columnsDefs"))
        else {
            return;
        };
        if !defs.is_seq() {
            self.diags.error(
                self.file,
                defs.mark,
                format!("{owner}: `columnsDefs` must be a list"),
            );
            return;
        }
        let mut fields = HashSet::new();
        for col in defs.items() {
            self.column(owner, col, &mut fields);
        }
    }

    fn column(&mut self, owner: &str, col: &Node, fields: &mut HashSet<String>) {
        let Some(field) = col.get("field").and_then(Node::as_str) else {
            self.diags.error(
                self.file,
                col.mark,
                format!("{owner}: each column needs a string `field`"),
            );
            return;
        };
        let at = format!("{owner}, column `{field}`");
        if !fields.insert(field.to_string()) {
            self.diags
                .warn(self.file, col.mark, format!("{at}: defined twice"));
        }
        self.enumerated(&at, col, "cellDataType", CELL_DATA_TYPES, true);
        self.enumerated(&at, col, "chartDataType", CHART_DATA_TYPES, false);
        self.enumerated(&at, col, "formatterFn", FORMATTER_FNS, false);
        let render_fns: Vec<&Node> = match col.get("renderFn") {
            Some(n) if n.is_seq() => n.items().iter().collect(),
            Some(n) => vec![n],
            None => Vec::new(),
        };
        for r in &render_fns {
            match r.as_str() {
                Some(name) if RENDER_FNS.contains(&name) => {}
                Some(name) => self.diags.warn(
                    self.file,
                    r.mark,
                    format!(
                        "{at}: renderFn `{name}` is not one of {}",
                        RENDER_FNS.join(", ")
                    ),
                ),
                None => self.diags.error(
                    self.file,
                    r.mark,
                    format!("{at}: `renderFn` must be a string or a list of strings"),
                ),
            }
        }
        let params = col.get("renderFnParams");
        if let Some(g) = params.and_then(|p| p.get("groupByParamName")) {
            self.diags.error(self.file, g.mark, format!("{at}: `groupByParamName` is deprecated; use `actionType: groupBy` with `groupBy: {{paramName}}`"));
        }
        if render_fns.iter().any(|r| r.as_str() == Some("cellOnClick")) {
            match params {
                Some(p) if p.is_map() => {
                    if p.get("actionType").and_then(Node::as_str) == Some("groupBy")
                        && p.get("groupBy")
                            .and_then(|g| g.get("paramName"))
                            .and_then(Node::as_str)
                            .is_none()
                    {
                        self.diags.error(
                            self.file,
                            p.mark,
                            format!("{at}: `actionType: groupBy` needs `groupBy.paramName`"),
                        );
                    }
                }
                _ => self.diags.error(
                    self.file,
                    col.mark,
                    format!("{at}: `cellOnClick` needs a `renderFnParams` mapping"),
                ),
            }
        }
        if let Some(t) = col.get("sparkline").and_then(|s| s.get("type"))
            && !t.as_str().is_some_and(|s| SPARKLINE_TYPES.contains(&s))
        {
            self.diags.warn(
                self.file,
                t.mark,
                format!("{at}: sparkline type should be line, area or bar"),
            );
        }
    }

    fn enumerated(&mut self, at: &str, col: &Node, key: &str, allowed: &[&str], is_error: bool) {
        let Some(v) = col.get(key) else { return };
        if v.as_str().is_some_and(|s| allowed.contains(&s)) {
            return;
        }
        let shown = v
            .as_str()
            .map_or_else(|| v.kind().to_string(), |s| format!("`{s}`"));
        let msg = format!("{at}: {key} {shown} is not one of {}", allowed.join(", "));
        if is_error {
            self.diags.error(self.file, v.mark, msg);
        } else {
            self.diags.warn(self.file, v.mark, msg);
        }
    }
}

/// Splits `$currentDate-1y` into its signed amount and unit; `$currentDate` alone is 0 days.
pub fn parse_date_modifier(v: &str) -> Option<(i64, char)> {
    let rest = v.strip_prefix("$currentDate")?;
    if rest.is_empty() {
        return Some((0, 'd'));
    }
    let sign = match rest.chars().next()? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let unit = rest.chars().last()?;
    if !DATE_UNITS.contains(&unit) {
        return None;
    }
    let digits = &rest[1..rest.len() - unit.len_utf8()];
    let n: i64 = digits.parse().ok()?;
    Some((sign * n, unit))
}

/// Checks the rules for apps.json; `widgets` holds every widget id.
pub fn check_apps(apps: &Node, file: &Path, widgets: &HashSet<String>, diags: &mut Diagnostics) {
    for app in apps.items() {
        let name = app.get("name").and_then(Node::as_str).map(str::to_string);
        let owner = format!("app `{}`", name.as_deref().unwrap_or("?"));
        if !app.is_map() {
            diags.error(file, app.mark, "each app must be a mapping");
            continue;
        }
        if name.is_none() {
            diags.error(file, app.mark, "an app needs a string `name`");
        }
        if app
            .get("allowCustomization")
            .and_then(Node::as_bool)
            .is_none()
        {
            diags.error(
                file,
                app.mark,
                format!("{owner} needs `allowCustomization: true|false`"),
            );
        }
        match app.get("tabs") {
            Some(t) if t.is_map() && !t.entries().is_empty() => {
                for (_, tab) in t.entries() {
                    for item in tab.get("layout").map(Node::items).unwrap_or_default() {
                        check_layout_item(&owner, item, file, widgets, diags);
                    }
                }
            }
            Some(t) => diags.error(
                file,
                t.mark,
                format!("{owner}: `tabs` must be a non-empty mapping"),
            ),
            None => diags.error(file, app.mark, format!("{owner} needs `tabs`")),
        }
        if let Some(p) = app.get("prompts")
            && !(p.is_seq() && p.items().iter().all(|x| x.as_str().is_some()))
        {
            diags.error(
                file,
                p.mark,
                format!("{owner}: `prompts` must be a list of strings"),
            );
        }
        for key in ["img", "img_dark", "img_light"] {
            if let Some(v) = app.get(key)
                && v.as_str().is_none()
            {
                diags.error(file, v.mark, format!("{owner}: `{key}` must be a string"));
            }
        }
        match app.get("groups") {
            Some(g) if g.is_seq() => {
                for group in g.items() {
                    check_group(&owner, group, file, widgets, diags);
                }
            }
            Some(g) => diags.error(file, g.mark, format!("{owner}: `groups` must be a list")),
            None => {}
        }
    }
}

fn check_layout_item(
    owner: &str,
    item: &Node,
    file: &Path,
    widgets: &HashSet<String>,
    diags: &mut Diagnostics,
) {
    match item.get("i").and_then(Node::as_str) {
        Some(id) if widgets.contains(id) => {}
        Some(id) => diags.error(
            file,
            item.get("i").map_or(item.mark, |n| n.mark),
            format!(
                "{owner}: layout item names widget `{id}`, which is not defined{}",
                {
                    let ids: Vec<&str> = widgets.iter().map(String::as_str).collect();
                    keys::did_you_mean(id, &ids)
                }
            ),
        ),
        None => diags.error(
            file,
            item.mark,
            format!("{owner}: a layout item needs `i` (a widget id)"),
        ),
    }
    let num = |k: &str| item.get(k).and_then(Node::as_f64);
    for k in ["x", "y"] {
        if !num(k).is_some_and(|v| v >= 0.0) {
            diags.error(
                file,
                item.mark,
                format!("{owner}: layout `{k}` must be a number >= 0"),
            );
        }
    }
    for k in ["w", "h"] {
        if !num(k).is_some_and(|v| v > 0.0) {
            diags.error(
                file,
                item.mark,
                format!("{owner}: layout `{k}` must be a number > 0"),
            );
        }
    }
    if let (Some(x), Some(w)) = (num("x"), num("w"))
        && x + w > GRID_COLUMNS
    {
        diags.error(
            file,
            item.mark,
            format!(
                "{owner}: layout item ends at column {}, past the 40-column grid",
                x + w
            ),
        );
    }
}

fn check_group(
    owner: &str,
    group: &Node,
    file: &Path,
    widgets: &HashSet<String>,
    diags: &mut Diagnostics,
) {
    let name = group.get("name").and_then(Node::as_str).unwrap_or("");
    let valid_name = name
        .strip_prefix("Group ")
        .is_some_and(|n| n.parse::<u32>().is_ok());
    if !valid_name {
        diags.warn(file, group.mark, format!("{owner}: group name `{name}` should be `Group 1`, `Group 2`, … (other names fail silently)"));
    }
    if let Some(t) = group.get("type")
        && !matches!(t.as_str(), Some("param" | "endpointParam"))
    {
        diags.error(
            file,
            t.mark,
            format!("{owner}: group type must be `param` or `endpointParam`"),
        );
    }
    if let Some(ids) = group.get("widgetIds") {
        if ids.items().is_empty() {
            diags.error(
                file,
                ids.mark,
                format!("{owner}: `widgetIds` must list at least one widget"),
            );
        }
        for id in ids.items() {
            if !id.as_str().is_some_and(|s| widgets.contains(s)) {
                diags.error(
                    file,
                    id.mark,
                    format!(
                        "{owner}: group names widget `{}`, which is not defined",
                        id.as_str().unwrap_or("?")
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_modifiers() {
        assert_eq!(parse_date_modifier("$currentDate"), Some((0, 'd')));
        assert_eq!(parse_date_modifier("$currentDate-1y"), Some((-1, 'y')));
        assert_eq!(parse_date_modifier("$currentDate+30d"), Some((30, 'd')));
        assert_eq!(parse_date_modifier("$currentDate-1q"), None);
        assert_eq!(parse_date_modifier("$today"), None);
    }
}
