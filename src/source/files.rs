//! `files:` sources of `multi_file_viewer` widgets: the files a selection names, read once at
//! load and sent as `{content, data_format}` (base64) or `{url, data_format}`.

use base64::Engine;
use minijinja::Value as Jv;
use serde_json::{Value, json};

use crate::config::source::{FileFrom, FileOffer};
use crate::diag::Diagnostics;
use crate::source::Target;

/// The compiled offers of one widget.
pub struct Files {
    /// The param whose values name the selected files.
    pub param: String,
    items: Vec<(String, Value)>,
}

/// Reads every offered file; the selector is the widget's `fileSelector` param (or its first).
pub fn compile(
    offers: &[FileOffer],
    target: &Target<'_>,
    selector: Option<String>,
    diags: &mut Diagnostics,
) -> Option<Files> {
    let Some(param) = selector.or_else(|| target.params.first().map(|p| p.name.clone())) else {
        diags.error(
            target.file,
            target.mark,
            format!(
                "{}: `files` needs a param naming the selection (roles: [fileSelector])",
                target.owner
            ),
        );
        return None;
    };
    let mut items = Vec::new();
    for offer in offers {
        let item = match &offer.from {
            FileFrom::Path(path) => match std::fs::read(path) {
                Ok(bytes) => {
                    let filename = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
                    json!({
                        "content": base64::engine::general_purpose::STANDARD.encode(bytes),
                        "data_format": {"data_type": data_type(filename), "filename": filename}
                    })
                }
                Err(e) => {
                    diags.error(
                        target.file,
                        target.mark,
                        format!("{}: cannot read {}: {e}", target.owner, path.display()),
                    );
                    return None;
                }
            },
            FileFrom::Url { url, filename } => json!({
                "url": url,
                "data_format": {"data_type": data_type(filename), "filename": filename}
            }),
        };
        items.push((offer.name.clone(), item));
    }
    Some(Files { param, items })
}

/// `pdf`, `csv`, `txt` … from a file name.
fn data_type(filename: &str) -> String {
    filename
        .rsplit_once('.')
        .map_or("pdf".to_string(), |(_, ext)| ext.to_ascii_lowercase())
}

impl Files {
    /// The answer for the selected names (a bound param value: a list or one name).
    pub fn answer(&self, selection: &Jv) -> Value {
        let names: Vec<String> = match selection.try_iter() {
            Ok(iter) if selection.kind() != minijinja::value::ValueKind::String => {
                iter.map(|v| v.to_string()).collect()
            }
            _ => vec![selection.to_string()],
        };
        Value::Array(
            names
                .iter()
                .filter(|n| !n.is_empty())
                .map(|name| match self.items.iter().find(|(n, _)| n == name) {
                    Some((_, item)) => item.clone(),
                    None => json!({"error_type": "not_found", "content": format!("no file named `{name}` is offered by this widget")}),
                })
                .collect(),
        )
    }
}
