//! A YAML value whose strings are templates, evaluated to JSON per request.
//!
//! A string that is exactly one `{{ expr }}` keeps the expression's type (number, list,
//! object); any other string with template syntax renders to text; everything else is kept as
//! written. This is how `output:`, `body:` and expression `fields:` are built.

use std::collections::BTreeMap;

use minijinja::Value as Jv;
use serde_json::Value;

use crate::source::describe;
use crate::template::Templates;
use crate::yaml::{self, Mark, Node};

/// A compiled value tree.
#[derive(Debug, Clone)]
pub enum Tree {
    /// A value without templates.
    Literal(Value),
    /// `{{ expr }}`: the expression's value, with its type.
    Typed(String),
    /// A string template rendered to text.
    Text(String),
    /// A list.
    List(Vec<Tree>),
    /// A mapping, in order.
    Map(Vec<(String, Tree)>),
}

/// A template problem at a place in the config.
#[derive(Debug)]
pub struct CompileError {
    /// Where.
    pub mark: Mark,
    /// What.
    pub message: String,
}

/// Compiles `node` into templates named `name…`; `allowed` are the variables it may read.
pub fn compile(
    node: &Node,
    name: &str,
    allowed: &[&str],
    templates: &mut Templates,
) -> Result<Tree, CompileError> {
    Ok(match &node.value {
        yaml::Value::Str(s) => compile_str(s, node.mark, name, allowed, templates)?,
        yaml::Value::Seq(items) => Tree::List(
            items
                .iter()
                .enumerate()
                .map(|(i, n)| compile(n, &format!("{name}[{i}]"), allowed, templates))
                .collect::<Result<_, _>>()?,
        ),
        yaml::Value::Map(entries) => Tree::Map(
            entries
                .iter()
                .map(|(k, n)| {
                    Ok((
                        k.name.clone(),
                        compile(n, &format!("{name}.{}", k.name), allowed, templates)?,
                    ))
                })
                .collect::<Result<_, CompileError>>()?,
        ),
        _ => Tree::Literal(node.to_json()),
    })
}

/// Compiles one string.
pub fn compile_str(
    s: &str,
    mark: Mark,
    name: &str,
    allowed: &[&str],
    templates: &mut Templates,
) -> Result<Tree, CompileError> {
    if !s.contains("{{") && !s.contains("{%") {
        return Ok(Tree::Literal(Value::String(s.to_string())));
    }
    let (source, typed) = match single_expression(s) {
        Some(expr) => (format!("{{{{ ({expr}) | tojson }}}}"), true),
        None => (s.to_string(), false),
    };
    templates
        .add(name.to_string(), source)
        .map_err(|e| CompileError {
            mark,
            message: format!("template syntax: {}", describe(&e)),
        })?;
    let unknown: Vec<String> = templates
        .undeclared(name)
        .into_iter()
        .filter(|v| !allowed.contains(&v.as_str()))
        .collect();
    if !unknown.is_empty() {
        return Err(CompileError {
            mark,
            message: format!(
                "the template uses {} (available: {})",
                unknown.join(", "),
                allowed.join(", ")
            ),
        });
    }
    Ok(if typed {
        Tree::Typed(name.to_string())
    } else {
        Tree::Text(name.to_string())
    })
}

/// The expression inside a string that is exactly one `{{ … }}`.
fn single_expression(s: &str) -> Option<&str> {
    let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%"))
        .then_some(inner.trim())
}

impl Tree {
    /// Evaluates the tree with `vars`.
    pub fn eval(
        &self,
        templates: &Templates,
        vars: &BTreeMap<String, Jv>,
    ) -> Result<Value, String> {
        Ok(match self {
            Tree::Literal(v) => v.clone(),
            Tree::Typed(name) => {
                let text = templates
                    .render(name, Jv::from(vars.clone()))
                    .map_err(|e| describe(&e))?;
                serde_json::from_str(&text)
                    .map_err(|e| format!("expression result is not JSON ({e})"))?
            }
            Tree::Text(name) => Value::String(
                templates
                    .render(name, Jv::from(vars.clone()))
                    .map_err(|e| describe(&e))?,
            ),
            Tree::List(items) => Value::Array(
                items
                    .iter()
                    .map(|t| t.eval(templates, vars))
                    .collect::<Result<_, _>>()?,
            ),
            Tree::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, t)| Ok((k.clone(), t.eval(templates, vars)?)))
                    .collect::<Result<_, String>>()?,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn single_expressions_keep_their_type() {
        let node = yaml::parse("a: '{{ n * 2 }}'\nb: 'n is {{ n }}'\nc: [1, '{{ xs }}']\nd: plain")
            .expect("yaml");
        let mut t = Templates::default();
        let tree = compile(&node, "t", &["n", "xs"], &mut t).expect("compiles");
        let mut vars = BTreeMap::new();
        vars.insert("n".to_string(), Jv::from(21));
        vars.insert("xs".to_string(), Jv::from(vec![1, 2]));
        assert_eq!(
            tree.eval(&t, &vars).expect("eval"),
            json!({"a": 42, "b": "n is 21", "c": [1, [1, 2]], "d": "plain"})
        );
    }

    #[test]
    fn unknown_variables_are_compile_errors() {
        let node = yaml::parse("a: '{{ nope }}'").expect("yaml");
        let err =
            compile(&node, "t", &["data"], &mut Templates::default()).expect_err("unknown var");
        assert!(err.message.contains("nope"), "{}", err.message);
    }
}
