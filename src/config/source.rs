//! Where an answer comes from: `static`, `file`, `template` or `template_file`.

use std::path::{Component, Path, PathBuf};

use crate::config::udf::{self, UdfDef};
use crate::config::upstream::{self, UpstreamDef};
use crate::diag::Diagnostics;
use crate::yaml::{Key, Mark, Node};

/// One source of a widget or route, as written in gateway.yaml.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceDef {
    /// `static:` an inline value.
    Static(Node),
    /// `file:` a file below the config folder.
    File {
        /// The resolved path.
        path: PathBuf,
        /// Where the key's value is.
        mark: Mark,
    },
    /// `template:` inline Jinja text.
    Template {
        /// The template source.
        text: String,
        /// Where the template text starts in the config file (first content line).
        first_line: u64,
    },
    /// `files:` named files a `multi_file_viewer` offers.
    Files(Vec<FileOffer>),
    /// `udf:` symbols and bars an `advanced_charting` widget serves over TradingView's UDF.
    Udf(Box<UdfDef>),
    /// `upstream:` a call to a provider, shaped for the widget.
    Upstream(Box<UpstreamDef>),
    /// `template_file:` Jinja text in a file below the config folder.
    TemplateFile {
        /// The resolved path.
        path: PathBuf,
        /// Where the key's value is.
        mark: Mark,
    },
}

/// One file of a `files:` source.
#[derive(Debug, Clone, PartialEq)]
pub struct FileOffer {
    /// The name Workspace selects it by.
    pub name: String,
    /// Where it comes from.
    pub from: FileFrom,
}

/// Where an offered file comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum FileFrom {
    /// A file below the config folder, sent base64-encoded.
    Path(PathBuf),
    /// A URL the browser fetches itself, with the file name to show.
    Url {
        /// The URL.
        url: String,
        /// The file name.
        filename: String,
    },
}

/// The keys that name a source.
pub const SOURCE_KEYS: &[&str] = &[
    "static",
    "file",
    "template",
    "template_file",
    "upstream",
    "files",
    "udf",
];

/// Reads the one source among `entries`; `owner` names the widget or route in messages.
pub fn parse(
    entries: &[(Key, Node)],
    owner_mark: Mark,
    owner: &str,
    file: &Path,
    text: &str,
    diags: &mut Diagnostics,
) -> Option<SourceDef> {
    let found: Vec<&(Key, Node)> = entries
        .iter()
        .filter(|(k, _)| SOURCE_KEYS.contains(&k.name.as_str()))
        .collect();
    match found.as_slice() {
        [] => {
            diags.error(
                file,
                owner_mark,
                format!("{owner} has no source: add one of `static`, `file`, `template`, `template_file`, `upstream`"),
            );
            None
        }
        [(key, value)] => parse_one(key, value, owner, file, text, diags),
        [_, (second, _), ..] => {
            let names: Vec<&str> = found.iter().map(|(k, _)| k.name.as_str()).collect();
            diags.error(
                file,
                second.mark,
                format!(
                    "{owner} has {} sources ({}); keep exactly one",
                    names.len(),
                    names.join(", ")
                ),
            );
            None
        }
    }
}

fn parse_one(
    key: &Key,
    value: &Node,
    owner: &str,
    file: &Path,
    text: &str,
    diags: &mut Diagnostics,
) -> Option<SourceDef> {
    let base = file.parent().unwrap_or(Path::new("."));
    match key.name.as_str() {
        "static" => Some(SourceDef::Static(value.clone())),
        "udf" => udf::parse(value, owner, base, file, diags).map(|u| SourceDef::Udf(Box::new(u))),
        "files" => parse_files(value, owner, base, file, diags).map(SourceDef::Files),
        "upstream" => upstream::parse(value, owner, file, |m| first_content_line(text, m), diags)
            .map(|u| SourceDef::Upstream(Box::new(u))),
        "template" => match value.as_str() {
            Some(t) => Some(SourceDef::Template {
                text: t.to_string(),
                first_line: first_content_line(text, value.mark),
            }),
            None => {
                diags.error(
                    file,
                    value.mark,
                    format!("{owner}: `template` must be text, not {}", value.kind()),
                );
                None
            }
        },
        name => {
            let rel = value.as_str().or_else(|| {
                diags.error(
                    file,
                    value.mark,
                    format!("{owner}: `{name}` must be a path, not {}", value.kind()),
                );
                None
            })?;
            let path = resolve_below(base, rel)
                .map_err(|why| diags.error(file, value.mark, format!("{owner}: {why}")))
                .ok()?;
            if !path.is_file() {
                diags.error(
                    file,
                    value.mark,
                    format!(
                        "{owner}: `{name}` {rel} does not exist (paths are relative to {})",
                        base.display()
                    ),
                );
                return None;
            }
            Some(if name == "file" {
                SourceDef::File {
                    path,
                    mark: value.mark,
                }
            } else {
                SourceDef::TemplateFile {
                    path,
                    mark: value.mark,
                }
            })
        }
    }
}

/// Reads `files: {name: {file: path} | {url: URL, filename: name.pdf}}`.
fn parse_files(
    node: &Node,
    owner: &str,
    base: &Path,
    file: &Path,
    diags: &mut Diagnostics,
) -> Option<Vec<FileOffer>> {
    if !node.is_map() || node.entries().is_empty() {
        diags.error(
            file,
            node.mark,
            format!(
                "{owner}: `files` must map each file's name to {{file: path}} or {{url, filename}}"
            ),
        );
        return None;
    }
    let mut offers = Vec::new();
    for (key, spec) in node.entries() {
        let at = format!("{owner}: file `{}`", key.name);
        let from = match (
            spec.get("file").and_then(Node::as_str),
            spec.get("url").and_then(Node::as_str),
        ) {
            (Some(rel), None) => match resolve_below(base, rel) {
                Ok(path) if path.is_file() => FileFrom::Path(path),
                Ok(_) => {
                    diags.error(
                        file,
                        spec.mark,
                        format!(
                            "{at}: {rel} does not exist (paths are relative to {})",
                            base.display()
                        ),
                    );
                    continue;
                }
                Err(why) => {
                    diags.error(file, spec.mark, format!("{at}: {why}"));
                    continue;
                }
            },
            (None, Some(url)) if url.starts_with("https://") || url.starts_with("http://") => {
                let filename = spec
                    .get("filename")
                    .and_then(Node::as_str)
                    .map(str::to_string)
                    .or_else(|| {
                        url.rsplit('/')
                            .next()
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                    })
                    .unwrap_or_else(|| key.name.clone());
                FileFrom::Url {
                    url: url.to_string(),
                    filename,
                }
            }
            _ => {
                diags.error(
                    file,
                    spec.mark,
                    format!("{at} needs either `file: path` or `url: https://…`"),
                );
                continue;
            }
        };
        offers.push(FileOffer {
            name: key.name.clone(),
            from,
        });
    }
    Some(offers)
}

/// Resolves `rel` against `base` and refuses anything that would leave `base`.
pub fn resolve_below(base: &Path, rel: &str) -> Result<PathBuf, String> {
    let rel_path = Path::new(rel);
    if rel.is_empty() || rel_path.is_absolute() {
        return Err(format!(
            "path `{rel}` must be relative to the config file's folder"
        ));
    }
    let mut depth = 0usize;
    for c in rel_path.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir if depth > 0 => depth -= 1,
            _ => return Err(format!("path `{rel}` escapes the config file's folder")),
        }
    }
    let joined = base.join(rel_path);
    // A symlink may still point outside: compare real paths when the file exists.
    if let (Ok(real), Ok(real_base)) = (joined.canonicalize(), base.canonicalize())
        && !real.starts_with(&real_base)
    {
        return Err(format!(
            "path `{rel}` leads outside the config file's folder"
        ));
    }
    Ok(joined)
}

/// The line where a scalar's text starts: the next line for block scalars (`|`, `>`).
fn first_content_line(text: &str, mark: Mark) -> u64 {
    let line = nth_line(text, mark.line);
    let rest: String = line
        .chars()
        .skip(mark.col.saturating_sub(1) as usize)
        .collect();
    if rest.starts_with('|') || rest.starts_with('>') {
        mark.line + 1
    } else {
        mark.line
    }
}

/// Line `n` (1-based) of `text`, without its line break; empty past the end. Every template
/// looks up its line, so walking the text line by line made loading a config with many
/// templates quadratic; counting newlines a block at a time keeps it cheap.
fn nth_line(text: &str, n: u64) -> &str {
    const BLOCK: usize = 4096;
    let bytes = text.as_bytes();
    let mut breaks_to_pass = n.saturating_sub(1) as usize;
    let mut start = 0;
    if breaks_to_pass > 0 {
        let mut block_start = 0;
        for block in bytes.chunks(BLOCK) {
            let breaks = block.iter().filter(|&&b| b == b'\n').count();
            if breaks < breaks_to_pass {
                breaks_to_pass -= breaks;
                block_start += block.len();
                continue;
            }
            let Some(at) = block
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .nth(breaks_to_pass - 1)
                .map(|(i, _)| i)
            else {
                return "";
            };
            start = block_start + at + 1;
            break;
        }
        if start == 0 {
            return "";
        }
    }
    // `start` follows a `\n`, so it is a character boundary, as is the next `\n`.
    let rest = &text[start..];
    let line = rest.split('\n').next().unwrap_or("");
    line.strip_suffix('\r').unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_line_matches_lines() {
        let mut text = String::new();
        for i in 0..3000 {
            text.push_str(&"é".repeat(i % 7));
            text.push_str(if i % 5 == 0 { "line\r\n" } else { "line\n" });
        }
        text.push_str("last");
        for n in [1, 2, 3, 700, 1365, 1366, 2999, 3000, 3001, 3002, 5000] {
            let expected = text.lines().nth(n as usize - 1).unwrap_or("");
            assert_eq!(nth_line(&text, n), expected, "line {n}");
        }
        assert_eq!(nth_line("", 1), "");
        assert_eq!(nth_line("a\n", 2), "");
    }

    #[test]
    fn refuses_escapes() {
        let base = Path::new("/tmp");
        assert!(resolve_below(base, "../etc/passwd").is_err());
        assert!(resolve_below(base, "a/../../b").is_err());
        assert!(resolve_below(base, "/etc/passwd").is_err());
        assert!(resolve_below(base, "a/../b.md").is_ok());
    }
}
