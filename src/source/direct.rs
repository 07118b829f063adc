//! Markdown answers bound straight from the query string.
//!
//! A markdown (or other JSON-string) widget whose template only substitutes `{{ name }}` tags
//! ([`crate::substitution`]) and whose params are all single-valued text or number params
//! needs nothing of [`args::bind`]'s template variables: every param's value in the query is
//! checked as `bind` checks it, each tag's value is read from the query (or is the param's
//! default, typed once at load) exactly as `bind` would type it, and written into the JSON
//! answer. Whatever this cannot read the way `bind` does (a number that is not an `i64`, a POST
//! body) makes [`DirectBinding::render`] answer `None`, and the request goes the general way,
//! which gives the same bytes or the error.

use crate::args::{self, Input};
use crate::config::params::{ParamDef, ParamKind};
use crate::substitution::{Scalar, Substitution};

/// A widget's params as the direct render reads them, and each tag's param.
#[derive(Debug)]
pub struct DirectBinding {
    /// Every param of the widget.
    params: Vec<Slot>,
    /// Each tag's param, as a position in `params`.
    tags: Vec<usize>,
}

/// One param.
#[derive(Debug)]
struct Slot {
    name: String,
    number: bool,
    default: Preset,
}

/// A param's default as `bind` types it.
#[derive(Debug)]
enum Preset {
    Text(String),
    Integer(i64),
}

impl DirectBinding {
    /// The binding of `template` for a widget with `params`, when every param is single-valued,
    /// of type text or number, declared once, with a default `bind` types as a string or an
    /// `i64`, and every tag names one of them. `None` otherwise (a boolean or date param, read
    /// or not, a multi-select, a tag naming an implicit variable such as `theme` …).
    pub fn new(params: &[ParamDef], template: &Substitution) -> Option<DirectBinding> {
        // `bind` types every param, read by the template or not, and its error is the answer:
        // so every param must be one this can check, and named once (`bind` keeps the last).
        let params = params
            .iter()
            .enumerate()
            .map(|(at, p)| {
                if params[..at].iter().any(|earlier| earlier.name == p.name) || p.multi {
                    return None;
                }
                let number = match p.kind {
                    ParamKind::Text => false,
                    ParamKind::Number => true,
                    ParamKind::Boolean | ParamKind::Date => return None,
                };
                let value = args::from_default(p).ok()?;
                let default = match Scalar::of(&value)? {
                    Scalar::Text(text) => Preset::Text(text.to_string()),
                    Scalar::Integer(n) => Preset::Integer(n),
                };
                Some(Slot {
                    name: p.name.clone(),
                    number,
                    default,
                })
            })
            .collect::<Option<Vec<Slot>>>()?;
        let tags = template
            .tag_names()
            .map(|tag| params.iter().position(|p| p.name == tag))
            .collect::<Option<Vec<usize>>>()?;
        Some(DirectBinding { params, tags })
    }

    /// `template` (the one this binding was made for) rendered as its JSON string answer with
    /// the values of `input`; `None` when the general way must answer.
    pub fn render<'a>(&'a self, template: &Substitution, input: &'a Input<'a>) -> Option<Vec<u8>> {
        if !matches!(input, Input::Query(_)) {
            return None;
        }
        // A number `bind` would refuse (or type as a float) is left to it.
        let typed = |slot: &Slot, text: &'a str| match text {
            "" => Some(Scalar::Text("")),
            _ if slot.number => text.parse().ok().map(Scalar::Integer),
            _ => Some(Scalar::Text(text)),
        };
        for slot in &self.params {
            if let Some(text) = input.query_value(&slot.name) {
                typed(slot, text)?;
            }
        }
        template.render_json_with(|at, _| {
            let slot = &self.params[*self.tags.get(at)?];
            match input.query_value(&slot.name) {
                None => Some(match &slot.default {
                    Preset::Text(text) => Scalar::Text(text),
                    Preset::Integer(n) => Scalar::Integer(*n),
                }),
                Some(text) => typed(slot, text),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json_string;
    use serde_json::json;

    fn param(name: &str, kind: ParamKind, multi: bool, default: serde_json::Value) -> ParamDef {
        ParamDef::new(name, kind, multi, default)
    }

    fn params() -> Vec<ParamDef> {
        vec![
            param("symbol", ParamKind::Text, false, json!("AAPL")),
            param("days", ParamKind::Number, false, json!(30)),
            param("label", ParamKind::Text, false, json!(null)),
            param("limit", ParamKind::Number, false, json!("25")),
            param("count", ParamKind::Text, false, json!(12)),
        ]
    }

    /// What the general way answers: `bind`, then the text render, then a JSON string.
    fn general(params: &[ParamDef], template: &Substitution, query: &str) -> Option<Vec<u8>> {
        let vars = args::bind(params, &[], &Input::from_query(Some(query))).ok()?;
        let text = template.render_vars(&vars)?;
        let mut out = b"\"".to_vec();
        json_string::escape_into(&mut out, &text);
        out.push(b'"');
        Some(out)
    }

    #[test]
    fn answers_what_binding_and_rendering_answer() {
        let params = params();
        let source =
            "# {{ symbol }} {{label}}\n\n{{ days }}/{{ limit }}/{{ count }} \"{{ symbol }}\"";
        let template = Substitution::parse(source).expect("plain");
        let binding = DirectBinding::new(&params, &template).expect("direct");
        let queries = [
            "",
            "symbol=MSFT&days=7",
            "days=7&days=-12&symbol=A&symbol=B",
            "symbol=&days=&label=&limit=",
            "symbol=%22q%22%5C%0A%09%E2%82%AC&label=a+b",
            "days=%2B5&limit=007&count=x",
            "days=9223372036854775807&limit=-9223372036854775808",
            "theme=light&raw=true&other=1",
            "symbol",
        ];
        for query in queries {
            let direct = binding.render(&template, &Input::from_query(Some(query)));
            assert_eq!(
                direct,
                general(&params, &template, query),
                "query `{query}`"
            );
            assert!(direct.is_some(), "query `{query}` is read directly");
        }
        assert_eq!(
            binding.render(&template, &Input::from_query(None)),
            general(&params, &template, "")
        );
    }

    #[test]
    fn leaves_what_it_cannot_type_to_the_general_way() {
        let params = params();
        let template = Substitution::parse("{{ days }}").expect("plain");
        let binding = DirectBinding::new(&params, &template).expect("direct");
        for query in [
            "days=1.5",
            "days=abc",
            "days=99999999999999999999",
            "days=1e3",
        ] {
            assert_eq!(
                binding.render(&template, &Input::from_query(Some(query))),
                None,
                "`{query}`"
            );
        }
        let body = json!({"days": 3});
        let body = Input::Body(body.as_object().expect("object").clone());
        assert_eq!(binding.render(&template, &body), None, "a POST body");
    }

    #[test]
    fn takes_only_templates_whose_every_tag_it_can_type() {
        let mut params = params();
        params.extend([
            param("on", ParamKind::Boolean, false, json!(true)),
            param("start", ParamKind::Date, false, json!("$currentDate-1d")),
            param("tickers", ParamKind::Text, true, json!("A,B")),
            param("ratio", ParamKind::Number, false, json!(1.5)),
            param("bad", ParamKind::Number, false, json!("abc")),
        ]);
        for tag in [
            "on",
            "start",
            "tickers",
            "ratio",
            "bad",
            "theme",
            "undeclared",
        ] {
            let template =
                Substitution::parse(&format!("{{{{ symbol }}}} {{{{ {tag} }}}}")).expect("plain");
            assert!(DirectBinding::new(&params, &template).is_none(), "`{tag}`");
        }
        let template = Substitution::parse("no tags at all").expect("plain");
        assert!(
            DirectBinding::new(&params, &template).is_none(),
            "unread params it cannot check"
        );
        let params = self::params();
        let binding = DirectBinding::new(&params, &template).expect("direct");
        assert_eq!(
            binding.render(&template, &Input::from_query(Some("x=1"))),
            Some(b"\"no tags at all\"".to_vec())
        );
    }

    /// `bind` checks every param, read by the template or not, and keeps the last of two
    /// params of one name.
    #[test]
    fn params_the_template_does_not_read_are_checked_as_bind_checks_them() {
        let params = params();
        let template = Substitution::parse("# {{ symbol }}").expect("plain");
        let binding = DirectBinding::new(&params, &template).expect("direct");
        for query in ["days=abc", "limit=1.5", "days=%2B"] {
            assert!(
                binding
                    .render(&template, &Input::from_query(Some(query)))
                    .is_none(),
                "`{query}`"
            );
        }
        for query in ["days=5&limit=", "count=x&label=y"] {
            let direct = binding.render(&template, &Input::from_query(Some(query)));
            assert_eq!(direct, general(&params, &template, query), "`{query}`");
        }
        let mut twice = params.clone();
        twice.push(param("symbol", ParamKind::Number, false, json!(5)));
        assert!(
            DirectBinding::new(&twice, &template).is_none(),
            "a name declared twice"
        );
    }
}
