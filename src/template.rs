//! The template engine: minijinja, sandboxed, with bounded work per render.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use minijinja::value::{Enumerator, Object, ObjectRepr, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use crate::snapshot::PathMap;
use crate::substitution::Substitution;

/// Upper bound on the work one render may do (minijinja "fuel"), so a template with a runaway
/// loop answers an error instead of holding a core.
const FUEL_PER_RENDER: u64 = 1_000_000;

/// Every template of one snapshot, compiled once at load.
pub struct Templates {
    env: Environment<'static>,
    /// The names of the compiled templates, sorted: a widget's parts are found by prefix.
    names: BTreeSet<String>,
    /// The templates that only substitute variables (and escape nothing), by name: rendered
    /// without the engine ([`crate::substitution`]). Looked up on every render, so hashed
    /// like the snapshot's path maps.
    plain: PathMap<Substitution>,
}

impl Default for Templates {
    fn default() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL_PER_RENDER));
        // Param values land in HTML widgets unescaped only if the author asks (`|safe`).
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.add_function("now", |format: Option<String>, shift: Option<String>| {
            crate::clock::now(format.as_deref(), shift.as_deref())
        });
        Templates {
            env,
            names: BTreeSet::new(),
            plain: PathMap::default(),
        }
    }
}

impl Templates {
    /// Compiles `source` under `name`; a name ending in `.html` escapes values for HTML.
    pub fn add(&mut self, name: String, source: String) -> Result<(), minijinja::Error> {
        let plain = Substitution::parse(&source).filter(|_| !name.ends_with(".html"));
        // A name added again must not keep an earlier source's fast path.
        self.plain.remove(&name);
        self.env.add_template_owned(name.clone(), source)?;
        if let Some(plain) = plain {
            self.plain.insert(name.clone(), plain);
        }
        self.names.insert(name);
        Ok(())
    }

    /// Variables template `name` reads without defining them (functions such as `now` and
    /// `range` are defined).
    pub fn undeclared(&self, name: &str) -> Vec<String> {
        let mut vars: Vec<String> = self
            .env
            .get_template(name)
            .map(|t| t.undeclared_variables(false).into_iter().collect())
            .unwrap_or_default();
        vars.retain(|v| !self.env.globals().any(|(global, _)| global == v));
        vars.sort();
        vars
    }

    /// The variables template `name` and those named `name:…` (an upstream widget's parts)
    /// read without defining them.
    pub fn undeclared_with_parts(&self, name: &str) -> BTreeSet<String> {
        // `;` follows `:` in byte order, so the range holds exactly the `name:` prefix.
        let parts = self
            .names
            .range(format!("{name}:")..format!("{name};"))
            .map(String::as_str);
        std::iter::once(name)
            .chain(parts)
            .flat_map(|t| self.undeclared(t))
            .collect()
    }

    /// Renders template `name` with the variables `vars`.
    pub fn render_vars(
        &self,
        name: &str,
        vars: BTreeMap<String, Value>,
    ) -> Result<String, minijinja::Error> {
        if let Some(text) = self
            .plain
            .get(name)
            .and_then(|plain| plain.render_vars(&vars))
        {
            return Ok(text);
        }
        self.env.get_template(name)?.render(Value::from(vars))
    }

    /// Renders template `name` with `vars` straight into a JSON string literal (what markdown
    /// widgets answer), when the template is a plain substitution whose values are strings or
    /// integers; `None` otherwise, and then [`Templates::render_vars`] and an encoder give the
    /// same bytes.
    pub fn render_json_string(&self, name: &str, vars: &BTreeMap<String, Value>) -> Option<Bytes> {
        let json = self.plain.get(name)?.render_json_vars(vars)?;
        // The buffer is exactly full: `Bytes` takes it over without allocating.
        Some(Bytes::from(json))
    }

    /// Template `name` when it only substitutes variables.
    pub fn plain(&self, name: &str) -> Option<&Substitution> {
        self.plain.get(name)
    }

    /// Renders template `name` with `ctx`.
    pub fn render(&self, name: &str, ctx: Value) -> Result<String, minijinja::Error> {
        if let Some(text) = self.plain.get(name).and_then(|plain| plain.render(&ctx)) {
            return Ok(text);
        }
        self.env.get_template(name)?.render(ctx)
    }
}

/// A multi-select value: iterates as a list, prints as the comma-joined text Workspace sends.
#[derive(Debug)]
pub struct MultiValue(pub Vec<Value>);

impl MultiValue {
    /// Wraps the items as a template value.
    pub fn into_value(self) -> Value {
        Value::from_object(self)
    }
}

impl Object for MultiValue {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.0.get(key.as_usize()?).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.0.len())
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_value_prints_joined_and_iterates() {
        let mut t = Templates::default();
        t.add(
            "t".into(),
            "{{ s }}|{% for x in s %}[{{ x }}]{% endfor %}|{{ s | length }}".into(),
        )
        .expect("compiles");
        let s = MultiValue(vec![Value::from("AAPL"), Value::from("MSFT")]).into_value();
        let out = t.render("t", minijinja::context! { s }).expect("renders");
        assert_eq!(out, "AAPL,MSFT|[AAPL][MSFT]|2");
    }

    #[test]
    fn a_name_added_again_renders_its_new_source() {
        let mut t = Templates::default();
        t.add("t".into(), "{{ x }}".into()).expect("compiles");
        t.add("t".into(), "{{ x | upper }}".into())
            .expect("compiles");
        let out = t
            .render("t", minijinja::context! { x => "a" })
            .expect("renders");
        assert_eq!(out, "A");
        assert!(t.add("t".into(), "{% if %}".into()).is_err());
        assert!(!t.plain.contains_key("t"));
    }

    #[test]
    fn html_templates_escape_values() {
        let mut t = Templates::default();
        t.add("w.html".into(), "<p>{{ v }}</p>".into())
            .expect("compiles");
        let out = t
            .render("w.html", minijinja::context! { v => "<script>" })
            .expect("renders");
        assert_eq!(out, "<p>&lt;script&gt;</p>");
    }
}
