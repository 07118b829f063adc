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
//! [`Substitution::render_json_vars`] writes the same output as the JSON string a markdown
//! widget answers, escaped as serde_json escapes it ([`crate::json_string`]).

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt::Write;

use minijinja::Value;
use minijinja::value::ValueKind;

// A plain variable name (our minijinja build takes ASCII identifiers only).
use crate::config::env::is_name;
use crate::json_string;

/// The longest output rendered here. A longer one is left to the engine, whose fuel bounds
/// the bytes a render may write (a template that runs out of it fails there as before).
pub const MAX_OUTPUT: usize = 1 << 20;

/// A template of text and variable names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Substitution {
    parts: Vec<Part>,
    /// The length of the text parts together, to size the output.
    text_len: usize,
    /// The same once escaped for a JSON string ([`Substitution::render_json_vars`]).
    json_len: usize,
    /// How many tags it has.
    tags: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Text, and the same escaped for a JSON string (filled in once parsing is done).
    Text {
        text: String,
        json: String,
    },
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
        let mut json_len = 0;
        for part in &mut parts {
            if let Part::Text { text, json } = part {
                let mut escaped = Vec::with_capacity(json_string::escaped_len(text));
                json_string::escape_into(&mut escaped, text);
                *json = String::from_utf8(escaped).ok()?;
                json_len += json.len();
            }
        }
        let tags = parts
            .iter()
            .filter(|part| matches!(part, Part::Var(_)))
            .count();
        Some(Substitution {
            parts,
            text_len,
            json_len,
            tags,
        })
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

    /// The text with each name replaced by its value in `vars`, written as one JSON string
    /// (quotes included, escaped as serde_json escapes it) into a buffer of exactly its size,
    /// so that `Bytes` takes it over without another allocation. `None` when a name has no
    /// value or a value other than a string or an integer that fits an `i64`, when the
    /// template has more than [`MAX_JSON_VALUES`] tags, or when the answer would pass
    /// [`MAX_OUTPUT`] (in each case [`Substitution::render_vars`] and an encoder give the same
    /// bytes, more slowly).
    pub fn render_json_vars(&self, vars: &BTreeMap<String, Value>) -> Option<Vec<u8>> {
        self.render_json_with(|_, name| Scalar::of(vars.get(name)?))
    }

    /// The names of its tags, in order (a name used twice comes twice).
    pub fn tag_names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Var(name) => Some(name.as_str()),
            Part::Text { .. } => None,
        })
    }

    /// [`Substitution::render_json_vars`] with the value of each tag from `value_of` (called
    /// once per tag, in order, with the tag's position among the tags and its name); `None`
    /// when it gives none, and in the cases `render_json_vars` names.
    pub fn render_json_with<'v>(
        &self,
        mut value_of: impl FnMut(usize, &str) -> Option<Scalar<'v>>,
    ) -> Option<Vec<u8>> {
        if self.tags > MAX_JSON_VALUES {
            return None;
        }
        // Each value is looked up once: the first pass sizes the buffer, the second writes.
        let mut values = [None; MAX_JSON_VALUES];
        let mut len = 2 + self.json_len;
        for (at, name) in self.tag_names().enumerate() {
            let value = value_of(at, name)?;
            len += value.json_len();
            *values.get_mut(at)? = Some(value);
        }
        if len > MAX_OUTPUT {
            return None;
        }
        let mut out = Vec::with_capacity(len);
        out.push(b'"');
        let mut values = values.iter().flatten();
        for part in &self.parts {
            match part {
                Part::Text { json, .. } => out.extend_from_slice(json.as_bytes()),
                Part::Var(_) => match values.next()? {
                    Scalar::Text(text) => json_string::escape_into(&mut out, text),
                    Scalar::Integer(n) => write_decimal(&mut out, *n),
                },
            }
        }
        out.push(b'"');
        Some(out)
    }

    fn render_with<V: Borrow<Value>>(
        &self,
        value_of: impl Fn(&str) -> Option<V>,
    ) -> Option<String> {
        let mut out = String::with_capacity(self.text_len + 16 * self.parts.len());
        for part in &self.parts {
            match part {
                Part::Text { text, .. } => out.push_str(text),
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

/// The most tags [`Substitution::render_json_vars`] renders (their values are held on the
/// stack between its two passes); a template with more goes the slower way.
pub const MAX_JSON_VALUES: usize = 16;

/// A value the JSON render writes itself: what params bind, strings and integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar<'a> {
    /// A string, written escaped.
    Text(&'a str),
    /// An integer, written in decimal.
    Integer(i64),
}

impl<'a> Scalar<'a> {
    /// `value` when it prints as a string or an `i64` does (as the text render writes them).
    pub fn of(value: &'a Value) -> Option<Scalar<'a>> {
        if value.kind() == ValueKind::String {
            return value.as_str().map(Scalar::Text);
        }
        if value.is_integer() {
            return i64::try_from(value.clone()).ok().map(Scalar::Integer);
        }
        None
    }

    /// Its length as the JSON render writes it.
    fn json_len(&self) -> usize {
        match self {
            Scalar::Text(text) => json_string::escaped_len(text),
            Scalar::Integer(n) => decimal_len(*n),
        }
    }
}

/// The length of `n` in decimal, its sign included.
fn decimal_len(n: i64) -> usize {
    let mut len = usize::from(n < 0) + 1;
    let mut rest = n.unsigned_abs();
    while rest >= 10 {
        rest /= 10;
        len += 1;
    }
    len
}

/// Appends `n` in decimal.
fn write_decimal(out: &mut Vec<u8>, n: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[at..]);
}

fn push_text(parts: &mut Vec<Part>, text_len: &mut usize, text: &str) {
    if text.is_empty() {
        return;
    }
    *text_len += text.len();
    if let Some(Part::Text { text: last, .. }) = parts.last_mut() {
        last.push_str(text);
    } else {
        parts.push(Part::Text {
            text: text.to_string(),
            json: String::new(),
        });
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
            check_json(&sub, &vars(), &slow, source);
        }
    }

    /// The names whose values the JSON render writes itself.
    const SCALARS: &[&str] = &[
        "text", "unicode", "quotes", "int", "negative", "safe", "empty", "padded",
    ];

    /// `sub`'s JSON render is serde_json's encoding of `text` (the plain render) in a full
    /// buffer, or `None` exactly when a name it uses has another kind of value.
    fn check_json(sub: &Substitution, vars: &BTreeMap<String, Value>, text: &str, source: &str) {
        let only_scalars = sub.parts.iter().all(|part| match part {
            Part::Var(name) => SCALARS.contains(&name.as_str()),
            Part::Text { .. } => true,
        });
        match sub.render_json_vars(vars) {
            Some(json) => {
                assert!(only_scalars, "{source:?}");
                assert_eq!(json, serde_json::to_vec(text).unwrap(), "{source:?}");
                assert_eq!(json.len(), json.capacity(), "{source:?}");
            }
            None => assert!(!only_scalars, "{source:?}"),
        }
    }

    #[test]
    fn the_json_render_escapes_text_and_values_and_writes_every_i64() {
        let sub = Substitution::parse("\"{{ a }}\"\t\\ {{ b }}\u{1}\n").expect("a substitution");
        for (a, b) in [
            (Value::from("x\"y\\z\n\u{7}€"), Value::from(0)),
            (Value::from(""), Value::from(i64::MIN)),
            (Value::from("plain"), Value::from(i64::MAX)),
            (Value::from("😀"), Value::from(-1)),
            (Value::from("\r\u{8}\u{c}"), Value::from(1_000_000)),
        ] {
            let vars = BTreeMap::from([("a".to_string(), a), ("b".to_string(), b)]);
            let text = sub.render_vars(&vars).expect("rendered");
            let json = sub.render_json_vars(&vars).expect("rendered as JSON");
            assert_eq!(json, serde_json::to_vec(&text).unwrap(), "{text:?}");
            assert_eq!(json.len(), json.capacity(), "{text:?}");
        }
        let vars = BTreeMap::from([
            ("a".to_string(), Value::from("x")),
            ("b".to_string(), Value::from(u64::MAX)),
        ]);
        assert_eq!(sub.render_json_vars(&vars), None);
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
        assert_eq!(sub.render_json_vars(&vars), None);
        vars.insert("big".to_string(), Value::from(half + "x"));
        assert_eq!(sub.render_vars(&vars), None);
        assert_eq!(sub.render_json_vars(&vars), None);
    }

    #[test]
    fn more_tags_than_the_json_render_holds_go_the_slower_way() {
        let at_most = "{{ int }}".repeat(MAX_JSON_VALUES);
        let sub = Substitution::parse(&at_most).expect("a substitution");
        assert_eq!(
            sub.render_json_vars(&vars()),
            Some(format!("\"{}\"", "30".repeat(MAX_JSON_VALUES)).into_bytes())
        );
        let sub = Substitution::parse(&format!("{at_most}{{{{ int }}}}")).expect("a substitution");
        assert_eq!(sub.render_json_vars(&vars()), None);
        assert!(sub.render_vars(&vars()).is_some());
    }

    #[test]
    fn a_name_the_context_lacks_goes_to_the_engine() {
        let sub = Substitution::parse("{{ text }} {{ missing }}").expect("a substitution");
        assert_eq!(sub.render(&context()), None);
        assert_eq!(sub.render_vars(&vars()), None);
        assert_eq!(sub.render_json_vars(&vars()), None);
        assert!(engine("{{ text }} {{ missing }}", &context()).is_err());
    }
}
