//! Templates that are only text and `{{ name }}` tags, rendered without the template engine.
//!
//! Most markdown and text widgets are of this kind (`# {{ symbol }}\n\nLast {{ days }} days`),
//! and the engine's machinery (a VM state, a context, fuel accounting) costs several times the
//! substitution itself on every request. [`Substitution::parse`] accepts a source only when
//! every tag is a plain variable name, and [`Substitution::render`] writes each value as
//! minijinja prints it without auto-escaping (its `Display`), after dropping one trailing
//! newline as minijinja's default syntax does: the output is the engine's, byte for byte (the
//! tests compare them). Anything else (blocks, comments, filters, attributes, whitespace
//! control, a name the context lacks, an output past [`MAX_OUTPUT`]) is left to the engine.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt::Write;

use minijinja::Value;
use minijinja::value::ValueKind;

// A plain variable name (our minijinja build takes ASCII identifiers only).
use crate::config::env::is_name;

/// The longest output rendered here. A longer one is left to the engine, whose fuel bounds
/// the bytes a render may write (a template that runs out of it fails there as before).
pub const MAX_OUTPUT: usize = 1 << 20;

/// A template of text and variable names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Substitution {
    parts: Vec<Part>,
    /// The length of the text parts together, to size the output.
    text_len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(String),
}

/// Names the engine reads as constants, not variables.
const LITERALS: &[&str] = &["true", "false", "none", "True", "False", "None"];

impl Substitution {
    /// `source` as a substitution, or `None` when any tag is more than `{{ name }}`.
    pub fn parse(source: &str) -> Option<Substitution> {
        let mut rest = source.strip_suffix('\n').unwrap_or(source);
        rest = rest.strip_suffix('\r').unwrap_or(rest);
        let mut parts = Vec::new();
        let mut text_len = 0;
        while let Some(open) = rest.find('{') {
            match rest.as_bytes().get(open + 1) {
                Some(b'%' | b'#') => return None,
                Some(b'{') => {}
                _ => {
                    // A lone brace is text; keep it with what precedes it.
                    let (text, after) = rest.split_at(open + 1);
                    push_text(&mut parts, &mut text_len, text);
                    rest = after;
                    continue;
                }
            }
            push_text(&mut parts, &mut text_len, &rest[..open]);
            let inner_start = open + 2;
            let close = rest[inner_start..].find("}}")? + inner_start;
            // The engine's lexer skips ASCII whitespace only inside a tag.
            let name = rest[inner_start..close].trim_ascii();
            if !is_name(name) || LITERALS.contains(&name) {
                return None;
            }
            parts.push(Part::Var(name.to_string()));
            rest = &rest[close + 2..];
        }
        push_text(&mut parts, &mut text_len, rest);
        Some(Substitution { parts, text_len })
    }

    /// The text with each name replaced by its value in `ctx` (a map); `None` when `ctx` has
    /// no value for a name (the engine then reports the error in its words).
    pub fn render(&self, ctx: &Value) -> Option<String> {
        self.render_with(|name| ctx.get_attr(name).ok())
    }

    /// [`Substitution::render`] with the variables of `vars`, without making them a template
    /// value first.
    pub fn render_vars(&self, vars: &BTreeMap<String, Value>) -> Option<String> {
        self.render_with(|name| vars.get(name))
    }

    fn render_with<V: Borrow<Value>>(
        &self,
        value_of: impl Fn(&str) -> Option<V>,
    ) -> Option<String> {
        let mut out = String::with_capacity(self.text_len + 16 * self.parts.len());
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Var(name) => {
                    let value = value_of(name)?;
                    let value = value.borrow();
                    if value.is_undefined() {
                        return None;
                    }
                    write_value(&mut out, value)?;
                    if out.len() > MAX_OUTPUT {
                        return None;
                    }
                }
            }
        }
        Some(out)
    }
}

/// Writes `value` as the engine prints it without auto-escaping: its `Display`. Strings and
/// integers, what params bind, are written directly (minijinja's `Display` formats them through
/// a second formatter).
fn write_value(out: &mut String, value: &Value) -> Option<()> {
    if value.kind() == ValueKind::String
        && let Some(text) = value.as_str()
    {
        out.push_str(text);
    } else if value.is_integer()
        && let Ok(n) = i64::try_from(value.clone())
    {
        write!(out, "{n}").ok()?;
    } else {
        write!(out, "{value}").ok()?;
    }
    Some(())
}

fn push_text(parts: &mut Vec<Part>, text_len: &mut usize, text: &str) {
    if text.is_empty() {
        return;
    }
    *text_len += text.len();
    if let Some(Part::Text(last)) = parts.last_mut() {
        last.push_str(text);
    } else {
        parts.push(Part::Text(text.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::MultiValue;
    use minijinja::{Environment, UndefinedBehavior};

    /// What the engine renders, configured as [`crate::template::Templates`] for a non-HTML
    /// template.
    fn engine(source: &str, ctx: &Value) -> Result<String, minijinja::Error> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.render_str(source, ctx.clone())
    }

    fn values() -> Vec<(&'static str, Value)> {
        vec![
            ("text", Value::from("AAPL")),
            ("unicode", Value::from("Société Générale — 株式 ✓")),
            ("quotes", Value::from("<b>\"a\" & 'b'</b>")),
            ("int", Value::from(30)),
            ("negative", Value::from(-7)),
            ("huge", Value::from(u64::MAX)),
            ("wide", Value::from(i128::MIN)),
            ("float", Value::from(2.5)),
            ("whole_float", Value::from(2.0)),
            ("big_float", Value::from(1e21)),
            ("yes", Value::from(true)),
            ("nothing", Value::from(())),
            ("list", Value::from(vec![1, 2, 3])),
            (
                "multi",
                MultiValue(vec![Value::from("AAPL"), Value::from("MSFT")]).into_value(),
            ),
            ("safe", Value::from_safe_string("<i>x</i>".into())),
            ("empty", Value::from("")),
            ("padded", Value::from("  spaced\tout \n")),
        ]
    }

    /// The variables as the widgets bind them.
    fn vars() -> BTreeMap<String, Value> {
        values()
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect()
    }

    /// The same as a template value.
    fn context() -> Value {
        Value::from(vars())
    }

    #[test]
    fn renders_what_the_engine_renders() {
        let ctx = context();
        let mut sources: Vec<String> = vec![
            "".into(),
            "plain text, no tags".into(),
            "# {{ text }}\n\nLast {{ int }} days of data for **{{ text }}**.".into(),
            "{{text}}{{int}}".into(),
            "{{\ttext\n}}".into(),
            "a { b } c }} d {".into(),
            "{ {{ text }} }".into(),
            "ends with a newline {{ int }}\n".into(),
            "ends with two\n\n".into(),
            "windows line end {{ int }}\r\n".into(),
            "only a carriage return\r".into(),
            "\n".into(),
        ];
        for (name, _) in values() {
            sources.push(format!("[{{{{ {name} }}}}]"));
        }
        for source in &sources {
            let sub = Substitution::parse(source)
                .unwrap_or_else(|| panic!("{source:?} is a substitution"));
            let slow = engine(source, &ctx).expect("the engine renders it");
            assert_eq!(
                sub.render(&ctx).as_deref(),
                Some(slow.as_str()),
                "{source:?}"
            );
            assert_eq!(
                sub.render_vars(&vars()).as_deref(),
                Some(slow.as_str()),
                "{source:?}"
            );
        }
    }

    #[test]
    fn leaves_everything_else_to_the_engine() {
        for source in [
            "{% if text %}x{% endif %}",
            "{# a comment #}",
            "{{ text | upper }}",
            "{{ text.len }}",
            "{{ list[0] }}",
            "{{- text }}",
            "{{ text -}}",
            "{{ none }}",
            "{{ True }}",
            "{{ now() }}",
            "{{ 'literal' }}",
            "{{ 1 }}",
            "{{ }}",
            "{{ text",
            "{{ naïve }}",
            "{{\u{a0}text }}",
            "{{\x0btext }}",
        ] {
            assert_eq!(Substitution::parse(source), None, "{source:?}");
        }
    }

    #[test]
    fn an_output_past_the_bound_goes_to_the_engine() {
        let sub = Substitution::parse("{{ big }}{{ big }}").expect("a substitution");
        let half = "x".repeat(MAX_OUTPUT / 2);
        let mut vars = BTreeMap::new();
        vars.insert("big".to_string(), Value::from(half.clone()));
        assert_eq!(sub.render_vars(&vars).map(|s| s.len()), Some(MAX_OUTPUT));
        vars.insert("big".to_string(), Value::from(half + "x"));
        assert_eq!(sub.render_vars(&vars), None);
    }

    #[test]
    fn a_name_the_context_lacks_goes_to_the_engine() {
        let sub = Substitution::parse("{{ text }} {{ missing }}").expect("a substitution");
        assert_eq!(sub.render(&context()), None);
        assert_eq!(sub.render_vars(&vars()), None);
        assert!(engine("{{ text }} {{ missing }}", &context()).is_err());
    }
}
