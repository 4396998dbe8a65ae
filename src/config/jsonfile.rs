//! Surgical edits of AI hosts' JSON/JSONC config files.
//!
//! Keybroker rewrites single server entries (e.g. `mcpServers.github`) inside files
//! that belong to someone else: Claude Desktop's `claude_desktop_config.json`, and
//! JSONC files of VS Code or Zed. Those files also hold the host's own settings and
//! whatever the person typed by hand, so an edit must not reformat, reorder or drop
//! anything it was not asked to touch. A parse-to-`serde_json`-and-write-back round
//! trip would lose comments, key order of unknown keys, the indentation style, the
//! UTF-8 BOM and CRLF line endings; this module keeps all of them.
//!
//! How: the file text is kept exactly as read (minus a leading BOM, which is
//! remembered and put back). Edits parse it with `jsonc_parser::parse_to_ast` only to
//! learn byte ranges, then splice new text into those ranges. Every byte outside the
//! edited entry's value (or, for an insertion, outside the inserted property and its
//! separating comma) stays identical. New values are pretty-printed in the file's own
//! indent unit (2 or 4 spaces, a tab, ...) at the depth of the entry, with the file's
//! newline kind; a container written on one line gets a compact value instead.
//!
//! Deliberately not done here:
//! - no normalization of anything (newlines, indentation, key order, trailing commas);
//! - no removal of entries and no edits deeper than `key.name`, or than one element of
//!   a list of named objects (`mcp.servers[id = "github"]`): a whole entry value is
//!   replaced; callers build that value;
//! - no reading or writing of files: callers own I/O, locking and the
//!   changed-on-disk check (`Error::ConfigChanged`);
//! - no JSON5 beyond what JSONC hosts write: comments and trailing commas are accepted,
//!   single quotes, unquoted keys, hex numbers and missing commas are syntax errors;
//! - comments inside a replaced value are not carried over (the value is new).

use std::path::{Path, PathBuf};

use jsonc_parser::ast;
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, ParseOptions};
use serde::Serialize;

use crate::base::error::{Error, Result};
use crate::config::text::{BOM, decode_text, line_column};

/// A host config file held as its original text, edited in place.
#[derive(Debug, Clone)]
pub struct JsonFile {
    /// Only for error messages.
    path: PathBuf,
    /// The file started with a UTF-8 byte order mark (not part of `text`).
    bom: bool,
    /// `"\n"` or `"\r\n"`: the first line break in the file decides.
    newline: &'static str,
    /// One level of indentation as the file writes it (e.g. `"  "`, `"    "`, `"\t"`).
    indent: String,
    /// The file's text after the BOM, byte-for-byte as read plus our edits.
    text: String,
}

/// Where a new last item goes: a container's byte range and, when it has items, the
/// start of the last one and the end of its value.
struct Container {
    start: usize,
    end: usize,
    last: Option<(usize, usize)>,
    is_root: bool,
}

/// One text replacement: bytes `start..end` of the text become `with`.
struct Edit {
    start: usize,
    end: usize,
    with: String,
}

impl JsonFile {
    /// Parse bytes read from `path` (path is used only in error messages).
    ///
    /// Errors: invalid UTF-8 or invalid JSON/JSONC -> [`Error::ConfigSyntax`] (line and
    /// column 1-based, column counted in characters, BOM not counted); a root that is
    /// not an object (or an empty file) -> [`Error::ConfigShape`] with field `(root)`.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<JsonFile> {
        let (bom, text) = decode_text(path, bytes)?;
        root_object(path, text)?;
        Ok(JsonFile {
            path: path.to_path_buf(),
            bom,
            newline: detect_newline(text),
            indent: detect_indent(text),
            text: text.to_owned(),
        })
    }

    /// The entries of the object at `key` (e.g. `"mcpServers"`) in file order.
    ///
    /// A missing `key` gives an empty list. A name written twice appears once, at its
    /// first position with its last value (what `JSON.parse` in the hosts does).
    /// `key` present but not an object -> [`Error::ConfigShape`] naming `key`.
    pub fn entries(&self, key: &str) -> Result<Vec<(String, serde_json::Value)>> {
        self.entries_at(&[key])
    }

    /// [`JsonFile::entries`] of the object at a key path, e.g.
    /// `["projects", "/home/me/app", "mcpServers"]`. A missing step gives an empty list.
    pub fn entries_at(&self, path: &[&str]) -> Result<Vec<(String, serde_json::Value)>> {
        let root = root_object(&self.path, &self.text)?;
        let Some(object) = self.walk(&root, path)? else {
            return Ok(Vec::new());
        };
        let mut map = serde_json::Map::new();
        for entry in &object.properties {
            let value = self.to_serde(&entry.value)?;
            map.insert(prop_name(entry).to_owned(), value);
        }
        Ok(map.into_iter().collect())
    }

    /// The property names of the object at a key path (empty when absent), in file order.
    pub fn keys_at(&self, path: &[&str]) -> Result<Vec<String>> {
        let root = root_object(&self.path, &self.text)?;
        let Some(object) = self.walk(&root, path)? else {
            return Ok(Vec::new());
        };
        let mut out: Vec<String> = Vec::new();
        for p in &object.properties {
            let name = prop_name(p).to_owned();
            if !out.contains(&name) {
                out.push(name);
            }
        }
        Ok(out)
    }

    /// The object at `path` (`None` when a step is missing); a step that is present but
    /// not an object is a shape error naming the dotted path so far.
    fn walk<'b, 'a>(
        &self,
        root: &'b ast::Object<'a>,
        path: &[&str],
    ) -> Result<Option<&'b ast::Object<'a>>> {
        let mut object = root;
        for (i, key) in path.iter().enumerate() {
            let Some(prop) = last_prop(object, key) else {
                return Ok(None);
            };
            object = self.expect_object(&path[..=i].join("."), &prop.value)?;
        }
        Ok(Some(object))
    }

    /// Replace the value of `key.name` with `value`, inserting `name` at the end of
    /// `key` if absent, and `key` at the end of the root object if absent.
    ///
    /// The new value is pretty-printed in the file's indentation style at the entry's
    /// depth, with the file's newline kind (compact if the surrounding object is on
    /// one line). Everything outside the entry's value stays byte-identical; an
    /// insertion adds only the new property and the comma before it. Setting a value
    /// equal to the current one leaves the text untouched.
    pub fn set_entry(&mut self, key: &str, name: &str, value: &serde_json::Value) -> Result<()> {
        self.set_entry_at(&[key], name, value)
    }

    /// [`JsonFile::set_entry`] under a key path. Only the last step of `path` may be
    /// missing (it is then inserted); a missing earlier step is an error.
    pub fn set_entry_at(
        &mut self,
        path: &[&str],
        name: &str,
        value: &serde_json::Value,
    ) -> Result<()> {
        let Some((key, parents)) = path.split_last() else {
            return Err(Error::other(
                "internal error: empty key path",
                "nothing was written; please report this bug",
            ));
        };
        let key = *key;
        let root_ast = root_object(&self.path, &self.text)?;
        let root_on_one_line =
            !has_line_break(&self.text[root_ast.range.start..root_ast.range.end]);
        let Some(root) = self.walk(&root_ast, parents)? else {
            return Err(Error::ConfigShape {
                path: self.path.clone(),
                field: parents.join("."),
                message: "is missing".into(),
                fix: "the host no longer lists this section; re-run the command to re-plan".into(),
            });
        };
        let edits = match last_prop(root, key) {
            None => {
                let mut servers = serde_json::Map::new();
                servers.insert(name.to_owned(), value.clone());
                let servers = serde_json::Value::Object(servers);
                self.insert_prop(root, key, &servers, root_on_one_line, parents.is_empty())?
            }
            Some(prop) => {
                let object = self.expect_object(key, &prop.value)?;
                match last_prop(object, name) {
                    None => self.insert_prop(object, name, value, root_on_one_line, false)?,
                    Some(entry) => {
                        if self.to_serde(&entry.value)? == *value {
                            return Ok(());
                        }
                        let object_text = &self.text[object.range.start..object.range.end];
                        let with = if has_line_break(object_text) {
                            let base = leading_ws(&self.text, entry.range.start);
                            self.render_pretty(value, base)?
                        } else {
                            render_compact(value)?
                        };
                        vec![Edit {
                            start: entry.value.start(),
                            end: entry.value.end(),
                            with,
                        }]
                    }
                }
            }
        };

        self.apply(edits, &format!("{key}.{name}"))
    }

    /// The elements of the array at `path` (e.g. `["mcp", "servers"]`) that are objects
    /// with a string `name_key`, in file order, as `(name, object)` (name key included).
    /// A missing step gives an empty list; an element without a name is skipped and a
    /// name used twice is read, and edited, at its first element.
    pub fn list_entries_at(
        &self,
        path: &[&str],
        name_key: &str,
    ) -> Result<Vec<(String, serde_json::Value)>> {
        let root = root_object(&self.path, &self.text)?;
        let Some(array) = self.array_at(&root, path, name_key)? else {
            return Ok(Vec::new());
        };
        let mut out: Vec<(String, serde_json::Value)> = Vec::new();
        for element in &array.elements {
            let value = self.to_serde(element)?;
            let Some(name) = value.get(name_key).and_then(serde_json::Value::as_str) else {
                continue;
            };
            if !out.iter().any(|(n, _)| n == name) {
                out.push((name.to_string(), value));
            }
        }
        Ok(out)
    }

    /// Replace the element of the array at `path` whose `name_key` is `name` with
    /// `value` (rendered as [`JsonFile::set_entry_at`] renders an entry), or append it;
    /// the array is inserted when missing. Only the last step of `path` may be missing.
    pub fn set_list_entry_at(
        &mut self,
        path: &[&str],
        name_key: &str,
        name: &str,
        value: &serde_json::Value,
    ) -> Result<()> {
        let Some((key, parents)) = path.split_last() else {
            return Err(Error::other(
                "internal error: empty key path",
                "nothing was written; please report this bug",
            ));
        };
        let root_ast = root_object(&self.path, &self.text)?;
        let root_on_one_line =
            !has_line_break(&self.text[root_ast.range.start..root_ast.range.end]);
        let edits = match self.array_at(&root_ast, path, name_key)? {
            Some(array) => {
                let mut found = None;
                for element in &array.elements {
                    let v = self.to_serde(element)?;
                    if v.get(name_key).and_then(serde_json::Value::as_str) == Some(name) {
                        found = Some((element, v));
                        break;
                    }
                }
                match found {
                    Some((_, v)) if v == *value => return Ok(()),
                    Some((element, _)) => {
                        let array_text = &self.text[array.range.start..array.range.end];
                        let with = if has_line_break(array_text) {
                            let base = leading_ws(&self.text, element.start());
                            self.render_pretty(value, base)?
                        } else {
                            render_compact(value)?
                        };
                        vec![Edit {
                            start: element.start(),
                            end: element.end(),
                            with,
                        }]
                    }
                    None => self.insert_element(array, value, root_on_one_line)?,
                }
            }
            None => {
                let Some(parent) = self.walk(&root_ast, parents)? else {
                    return Err(Error::ConfigShape {
                        path: self.path.clone(),
                        field: parents.join("."),
                        message: "is missing".into(),
                        fix: "the host no longer lists this section; re-run the command to re-plan"
                            .into(),
                    });
                };
                let list = serde_json::Value::Array(vec![value.clone()]);
                self.insert_prop(parent, key, &list, root_on_one_line, parents.is_empty())?
            }
        };
        self.apply(edits, &format!("{}[{name}]", path.join(".")))
    }

    /// The array at `path`: `None` when a step is missing, a shape error when it is not
    /// an array.
    fn array_at<'b, 'a>(
        &self,
        root: &'b ast::Object<'a>,
        path: &[&str],
        name_key: &str,
    ) -> Result<Option<&'b ast::Array<'a>>> {
        let Some((key, parents)) = path.split_last() else {
            return Ok(None);
        };
        let Some(parent) = self.walk(root, parents)? else {
            return Ok(None);
        };
        let Some(prop) = last_prop(parent, key) else {
            return Ok(None);
        };
        match &prop.value {
            ast::Value::Array(array) => Ok(Some(array)),
            other => {
                let field = path.join(".");
                Err(Error::ConfigShape {
                    path: self.path.clone(),
                    message: format!(
                        "must be a list of server objects, but is {}",
                        kind_name(other)
                    ),
                    fix: format!(
                        "change `{field}` to the form [ {{ \"{name_key}\": \"server-name\", \"command\": ... }} ] \
                         (Keybroker left the file untouched), then run the command again"
                    ),
                    field,
                })
            }
        }
    }

    /// Apply `edits` (sorted here) if the result still parses; `what` names the edited
    /// place for the error a failure would be.
    fn apply(&mut self, mut edits: Vec<Edit>, what: &str) -> Result<()> {
        let mut text = self.text.clone();
        edits.sort_by_key(|e| std::cmp::Reverse(e.start));
        for edit in edits {
            text.replace_range(edit.start..edit.end, &edit.with);
        }
        // Our own output must parse; if it does not, that is a bug here, and the
        // file must not be written.
        if let Err(e) = root_object(&self.path, &text) {
            return Err(Error::other(
                format!("internal error: editing {what} produced invalid JSON ({e})"),
                "nothing was written; please report this bug with the (redacted) config file",
            ));
        }
        self.text = text;
        Ok(())
    }

    /// Serialize: the BOM is restored if the file had one; line endings are the
    /// file's own (nothing was normalized).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.text.len() + BOM.len());
        if self.bom {
            out.extend_from_slice(BOM.as_bytes());
        }
        out.extend_from_slice(self.text.as_bytes());
        out
    }

    /// Edits that add `"name": value` as the last property of `object`.
    fn insert_prop(
        &self,
        object: &ast::Object<'_>,
        name: &str,
        value: &serde_json::Value,
        root_on_one_line: bool,
        object_is_root: bool,
    ) -> Result<Vec<Edit>> {
        let quoted = to_json_string(name)?;
        let last = object
            .properties
            .last()
            .map(|p| (p.range.start, p.value.end()));
        let container = Container {
            start: object.range.start,
            end: object.range.end,
            last,
            is_root: object_is_root,
        };
        self.insert_last(&container, &format!("{quoted}:"), value, root_on_one_line)
    }

    /// Edits that add `value` as the last element of `array`.
    fn insert_element(
        &self,
        array: &ast::Array<'_>,
        value: &serde_json::Value,
        root_on_one_line: bool,
    ) -> Result<Vec<Edit>> {
        let last = array.elements.last().map(|e| (e.start(), e.end()));
        let container = Container {
            start: array.range.start,
            end: array.range.end,
            last,
            is_root: false,
        };
        self.insert_last(&container, "", value, root_on_one_line)
    }

    /// Edits that add `prefix value` (`prefix` is `"name":` in an object, empty in an
    /// array) after the last item of `c`.
    fn insert_last(
        &self,
        c: &Container,
        prefix: &str,
        value: &serde_json::Value,
        root_on_one_line: bool,
    ) -> Result<Vec<Edit>> {
        let text = self.text.as_str();
        // `"name": value` when pretty, `"name":value` when compact; a bare value in arrays.
        let spaced = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix} ")
        };
        let Some((last_start, last_end)) = c.last else {
            // Empty container: write between the brackets, replacing only the
            // whitespace before the closing one (comments inside stay).
            let close = c.end - 1;
            let open_end = c.start + 1;
            let at = text[open_end..close].trim_end().len() + open_end;
            let compact = root_on_one_line && !c.is_root;
            let with = if compact {
                format!("{prefix}{}", render_compact(value)?)
            } else {
                let base = leading_ws(text, c.start);
                let inner = format!("{base}{}", self.indent);
                let nl = self.newline;
                let rendered = self.render_pretty(value, &inner)?;
                format!("{nl}{inner}{spaced}{rendered}{nl}{base}")
            };
            return Ok(vec![Edit {
                start: at,
                end: close,
                with,
            }]);
        };

        let value_end = last_end;
        let next = skip_trivia(text, value_end);
        let trailing_comma = text[next..].starts_with(',');
        let after_last = if trailing_comma { next + 1 } else { value_end };

        if !has_line_break(&text[c.start..c.end]) {
            let prop = format!("{prefix}{}", render_compact(value)?);
            let with = if trailing_comma {
                format!("{prop},")
            } else {
                format!(",{prop}")
            };
            return Ok(vec![Edit {
                start: after_last,
                end: after_last,
                with,
            }]);
        }

        let indent = if starts_line(text, last_start) {
            leading_ws(text, last_start).to_owned()
        } else {
            format!("{}{}", leading_ws(text, c.start), self.indent)
        };
        let rendered = self.render_pretty(value, &indent)?;
        let comma = if trailing_comma { "," } else { "" };
        let prop = format!("{}{indent}{spaced}{rendered}{comma}", self.newline);
        // After a comment that ends the last property's line, so the comment stays
        // with the property it was written for.
        let at = end_of_line_comments(text, after_last);
        let mut edits = Vec::new();
        if trailing_comma {
            edits.push(Edit {
                start: at,
                end: at,
                with: prop,
            });
        } else if at == value_end {
            edits.push(Edit {
                start: at,
                end: at,
                with: format!(",{prop}"),
            });
        } else {
            edits.push(Edit {
                start: value_end,
                end: value_end,
                with: ",".to_owned(),
            });
            edits.push(Edit {
                start: at,
                end: at,
                with: prop,
            });
        }
        Ok(edits)
    }

    /// `value` pretty-printed with the file's indent unit; continuation lines start
    /// with `base` (the indentation of the line the value starts on).
    fn render_pretty(&self, value: &serde_json::Value, base: &str) -> Result<String> {
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(self.indent.as_bytes());
        let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
        value.serialize(&mut serializer).map_err(render_error)?;
        let pretty = String::from_utf8(out).map_err(render_error)?;
        // serde_json escapes line breaks inside strings, so every '\n' here is layout.
        Ok(pretty.replace('\n', &format!("{}{base}", self.newline)))
    }

    fn expect_object<'b, 'a>(
        &self,
        key: &str,
        value: &'b ast::Value<'a>,
    ) -> Result<&'b ast::Object<'a>> {
        match value {
            ast::Value::Object(object) => Ok(object),
            other => Err(Error::ConfigShape {
                path: self.path.clone(),
                field: key.to_owned(),
                message: format!(
                    "must be an object mapping server names to their settings, but is {}",
                    kind_name(other)
                ),
                fix: format!(
                    "change `{key}` to the form \"{key}\": {{ \"server-name\": {{ \"command\": ... }} }} \
                     (Keybroker left the file untouched), then run the command again"
                ),
            }),
        }
    }

    fn to_serde(&self, value: &ast::Value<'_>) -> Result<serde_json::Value> {
        Ok(match value {
            ast::Value::StringLit(s) => serde_json::Value::String(s.value.clone().into_owned()),
            ast::Value::BooleanLit(b) => serde_json::Value::Bool(b.value),
            ast::Value::NullKeyword(_) => serde_json::Value::Null,
            ast::Value::NumberLit(n) => match serde_json::from_str::<serde_json::Value>(n.value) {
                Ok(number @ serde_json::Value::Number(_)) => number,
                _ => {
                    let (line, column) = line_column(&self.text, n.range.start);
                    return Err(Error::ConfigSyntax {
                        path: self.path.clone(),
                        line,
                        column,
                        message: format!("number {} is out of range", n.value),
                    });
                }
            },
            ast::Value::Array(array) => serde_json::Value::Array(
                array
                    .elements
                    .iter()
                    .map(|e| self.to_serde(e))
                    .collect::<Result<_>>()?,
            ),
            ast::Value::Object(object) => {
                let mut map = serde_json::Map::new();
                for prop in &object.properties {
                    map.insert(prop_name(prop).to_owned(), self.to_serde(&prop.value)?);
                }
                serde_json::Value::Object(map)
            }
        })
    }
}

fn parse_options() -> ParseOptions {
    // What JSONC hosts (VS Code, Zed) accept: comments and trailing commas, nothing
    // else beyond plain JSON.
    ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// Parse `text` and return its root object, or the error a person should see.
fn root_object<'a>(path: &Path, text: &'a str) -> Result<ast::Object<'a>> {
    let parsed = jsonc_parser::parse_to_ast(text, &CollectOptions::default(), &parse_options())
        .map_err(|e| Error::ConfigSyntax {
            path: path.to_path_buf(),
            line: e.line_display(),
            column: e.column_display(),
            message: e.kind().to_string(),
        })?;
    let shape = |message: String| Error::ConfigShape {
        path: path.to_path_buf(),
        field: "(root)".to_owned(),
        message,
        fix: "the file must hold one JSON object, like { \"mcpServers\": { ... } }; \
              correct it by hand (Keybroker left it untouched), then run the command again"
            .to_owned(),
    };
    match parsed.value {
        Some(ast::Value::Object(object)) => Ok(object),
        Some(other) => Err(shape(format!(
            "must be a JSON object, but is {}",
            kind_name(&other)
        ))),
        None => Err(shape(
            "the file holds no JSON value; it must be a JSON object".to_owned(),
        )),
    }
}

fn kind_name(value: &ast::Value<'_>) -> &'static str {
    match value {
        ast::Value::StringLit(_) => "a string",
        ast::Value::NumberLit(_) => "a number",
        ast::Value::BooleanLit(_) => "a boolean",
        ast::Value::Object(_) => "an object",
        ast::Value::Array(_) => "an array",
        ast::Value::NullKeyword(_) => "null",
    }
}

fn prop_name<'b>(prop: &'b ast::ObjectProp<'_>) -> &'b str {
    match &prop.name {
        ast::ObjectPropName::String(lit) => lit.value.as_ref(),
        ast::ObjectPropName::Word(lit) => lit.value,
    }
}

/// The property hosts actually use when a name repeats: the last one.
fn last_prop<'b, 'a>(object: &'b ast::Object<'a>, name: &str) -> Option<&'b ast::ObjectProp<'a>> {
    object
        .properties
        .iter()
        .rev()
        .find(|p| prop_name(p) == name)
}

fn render_compact(value: &serde_json::Value) -> Result<String> {
    serde_json::to_string(value).map_err(render_error)
}

fn to_json_string(s: &str) -> Result<String> {
    serde_json::to_string(s).map_err(render_error)
}

fn render_error(e: impl std::fmt::Display) -> Error {
    Error::other(
        format!("internal error: could not render a JSON value ({e})"),
        "nothing was written; please report this bug",
    )
}

fn has_line_break(s: &str) -> bool {
    s.contains(['\n', '\r'])
}

fn detect_newline(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// One indentation level: a tab if the first indented line uses tabs, otherwise the
/// smallest indentation (in spaces) of any line holding a key, element or bracket.
/// Two spaces when nothing is indented (e.g. a one-line file).
fn detect_indent(text: &str) -> String {
    let mut smallest: Option<usize> = None;
    for line in text.split(['\n', '\r']) {
        let rest = line.trim_start_matches([' ', '\t']);
        let ws = &line[..line.len() - rest.len()];
        if ws.is_empty() || !rest.starts_with(['"', '{', '[', '}', ']']) {
            continue;
        }
        if ws.starts_with('\t') {
            if smallest.is_none() {
                return "\t".to_owned();
            }
            continue;
        }
        let spaces = ws.len() - ws.trim_start_matches(' ').len();
        if spaces > 0 {
            smallest = Some(smallest.map_or(spaces, |s| s.min(spaces)));
        }
    }
    " ".repeat(smallest.unwrap_or(2).min(8))
}

fn line_start(text: &str, pos: usize) -> usize {
    text[..pos].rfind(['\n', '\r']).map_or(0, |i| i + 1)
}

/// The spaces and tabs that begin the line holding byte `pos`.
fn leading_ws(text: &str, pos: usize) -> &str {
    let line = &text[line_start(text, pos)..];
    let rest = line.trim_start_matches([' ', '\t']);
    &line[..line.len() - rest.len()]
}

/// Only spaces and tabs precede byte `pos` on its line.
fn starts_line(text: &str, pos: usize) -> bool {
    text[line_start(text, pos)..pos]
        .chars()
        .all(|c| c == ' ' || c == '\t')
}

/// The position of the first byte at or after `pos` that is not whitespace or a
/// comment (the text is known to parse, so comments are closed).
fn skip_trivia(text: &str, mut pos: usize) -> usize {
    loop {
        let rest = &text[pos..];
        let trimmed = rest.trim_start();
        pos += rest.len() - trimmed.len();
        if trimmed.starts_with("//") {
            pos += trimmed.find(['\n', '\r']).unwrap_or(trimmed.len());
        } else if let Some(body) = trimmed.strip_prefix("/*") {
            pos += body.find("*/").map_or(trimmed.len(), |i| i + 4);
        } else {
            return pos;
        }
    }
}

/// Past the comments that follow `pos` on the same line; `pos` itself if none.
fn end_of_line_comments(text: &str, pos: usize) -> usize {
    let mut at = pos;
    let mut cursor = pos;
    loop {
        let rest = &text[cursor..];
        let trimmed = rest.trim_start_matches([' ', '\t']);
        cursor += rest.len() - trimmed.len();
        if trimmed.starts_with("//") {
            return cursor + trimmed.find(['\n', '\r']).unwrap_or(trimmed.len());
        } else if let Some(body) = trimmed.strip_prefix("/*") {
            cursor += body.find("*/").map_or(trimmed.len(), |i| i + 4);
            at = cursor;
        } else {
            return at;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path() -> &'static Path {
        Path::new("/home/me/.config/Claude/claude_desktop_config.json")
    }

    fn parse(text: &str) -> JsonFile {
        JsonFile::parse(path(), text.as_bytes()).unwrap()
    }

    fn out(file: &JsonFile) -> String {
        String::from_utf8(file.to_bytes()).unwrap()
    }

    /// Parse output back as plain JSON (no comments), keeping key order.
    fn value_of(text: &str) -> serde_json::Value {
        serde_json::from_str(text.trim_start_matches(BOM)).unwrap()
    }

    const CLAUDE: &str = r#"{
  "preferences": {
    "quickEntryShortcut": "double-tap-option",
    "menuBarEnabled": false
  },
  "globalShortcut": "Alt+Space",
  "someFutureKey": { "nested": [1, 2.5, null, true] },
  "mcpServers": {
    "filesystem": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop"]
    },
    "github": {
      "command": "npx",
      "args": [
        "-y",
        "@modelcontextprotocol/server-github"
      ],
      "env": {
        "GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_example"
      }
    },
    "brave-search": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-brave-search"],
      "env": { "BRAVE_API_KEY": "BSA_example" }
    }
  },
  "zzzLast": 1
}
"#;

    fn brokered_github() -> serde_json::Value {
        json!({
            "command": "/usr/local/bin/keybroker",
            "args": ["run", "github", "--", "npx", "-y", "@modelcontextprotocol/server-github"],
            "env": {}
        })
    }

    #[test]
    fn unchanged_files_round_trip_byte_identical() {
        let cases: &[&[u8]] = &[
            b"{\n  \"mcpServers\": {\n    \"a\": { \"command\": \"x\" }\n  }\n}\n",
            b"{\n    \"mcpServers\": {\n        \"a\": {\n            \"command\": \"x\"\n        }\n    }\n}\n",
            b"{\n\t\"mcpServers\": {\n\t\t\"a\": {\n\t\t\t\"command\": \"x\"\n\t\t}\n\t}\n}\n",
            b"\xef\xbb\xbf{\r\n  \"mcpServers\": {\r\n    \"a\": { \"command\": \"x\" }\r\n  }\r\n}\r\n",
            b"// servers for Zed\n{\n  /* block\n     comment */\n  \"mcpServers\": {\n    \"a\": { \"command\": \"x\", }, // trailing\n  },\n}\n",
            b"{\"mcpServers\":{\"a\":{\"command\":\"x\",\"args\":[]}},\"globalShortcut\":\"\"}",
            b"{\n  \"mcpServers\": {}\n}",
            b"  \n{ }  \n\n",
            CLAUDE.as_bytes(),
        ];
        for &bytes in cases {
            let file = JsonFile::parse(path(), bytes).unwrap();
            assert_eq!(file.to_bytes(), bytes, "{}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn entries_come_back_in_file_order_as_serde_values() {
        let file = parse(CLAUDE);
        let entries = file.entries("mcpServers").unwrap();
        let names: Vec<_> = entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["filesystem", "github", "brave-search"]);
        assert_eq!(
            entries[1].1,
            json!({
                "command": "npx",
                "args": ["-y", "@modelcontextprotocol/server-github"],
                "env": { "GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_example" }
            })
        );
        let keys: Vec<_> = entries[1].1.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["command", "args", "env"]);
    }

    #[test]
    fn entries_of_a_missing_key_are_empty() {
        assert!(parse("{}").entries("mcpServers").unwrap().is_empty());
        assert!(
            parse("{\"mcpServers\": {}}")
                .entries("mcpServers")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn entries_with_a_repeated_name_use_the_last_value_at_the_first_position() {
        let file = parse(r#"{"mcpServers": {"a": 1, "b": 2, "a": 3}}"#);
        assert_eq!(
            file.entries("mcpServers").unwrap(),
            vec![("a".to_owned(), json!(3)), ("b".to_owned(), json!(2))]
        );
    }

    #[test]
    fn set_entry_changes_only_that_entrys_bytes() {
        let mut file = parse(CLAUDE);
        file.set_entry("mcpServers", "github", &brokered_github())
            .unwrap();
        let after = out(&file);

        let head = CLAUDE.find("\"github\": ").unwrap() + "\"github\": ".len();
        let tail = CLAUDE.find(",\n    \"brave-search\"").unwrap();
        assert_eq!(after[..head], CLAUDE[..head]);
        assert!(after.ends_with(&CLAUDE[tail..]));
        assert_eq!(
            &after[head..after.len() - (CLAUDE.len() - tail)],
            "{\n      \"command\": \"/usr/local/bin/keybroker\",\n      \"args\": [\n        \"run\",\n        \"github\",\n        \"--\",\n        \"npx\",\n        \"-y\",\n        \"@modelcontextprotocol/server-github\"\n      ],\n      \"env\": {}\n    }"
        );

        let mut expected = value_of(CLAUDE);
        expected["mcpServers"]["github"] = brokered_github();
        let got = value_of(&after);
        assert_eq!(got, expected);
        let top: Vec<_> = got.as_object().unwrap().keys().collect();
        assert_eq!(
            top,
            [
                "preferences",
                "globalShortcut",
                "someFutureKey",
                "mcpServers",
                "zzzLast"
            ]
        );
        let servers: Vec<_> = got["mcpServers"].as_object().unwrap().keys().collect();
        assert_eq!(servers, ["filesystem", "github", "brave-search"]);
        assert_eq!(file.entries("mcpServers").unwrap()[1].1, brokered_github());
    }

    #[test]
    fn set_entry_uses_the_files_indent_unit_at_the_entrys_depth() {
        let four = "{\n    \"mcpServers\": {\n        \"a\": 1\n    }\n}\n";
        let mut file = parse(four);
        file.set_entry("mcpServers", "a", &json!({"k": [1]}))
            .unwrap();
        assert_eq!(
            out(&file),
            "{\n    \"mcpServers\": {\n        \"a\": {\n            \"k\": [\n                1\n            ]\n        }\n    }\n}\n"
        );

        let tabs = "{\n\t\"mcpServers\": {\n\t\t\"a\": 1\n\t}\n}";
        let mut file = parse(tabs);
        file.set_entry("mcpServers", "a", &json!({"k": "v"}))
            .unwrap();
        assert_eq!(
            out(&file),
            "{\n\t\"mcpServers\": {\n\t\t\"a\": {\n\t\t\t\"k\": \"v\"\n\t\t}\n\t}\n}"
        );
    }

    #[test]
    fn set_entry_with_an_equal_value_keeps_the_file_valid_and_unchanged() {
        let mut file = parse(CLAUDE);
        let current = file.entries("mcpServers").unwrap()[0].1.clone();
        file.set_entry("mcpServers", "filesystem", &current)
            .unwrap();
        assert_eq!(out(&file), CLAUDE);
        assert_eq!(value_of(&out(&file)), value_of(CLAUDE));
    }

    #[test]
    fn bom_and_crlf_survive_an_edit() {
        let original = format!("{BOM}{}", CLAUDE.replace('\n', "\r\n"));
        let mut file = JsonFile::parse(path(), original.as_bytes()).unwrap();
        file.set_entry("mcpServers", "github", &brokered_github())
            .unwrap();
        file.set_entry(
            "mcpServers",
            "new-one",
            &json!({"command": "x", "args": ["a"]}),
        )
        .unwrap();
        file.set_entry("otherHostKey", "s", &json!({"command": "y"}))
            .unwrap();
        let bytes = file.to_bytes();
        assert!(bytes.starts_with(BOM.as_bytes()));
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' {
                assert_eq!(bytes[i - 1], b'\r', "bare \\n at byte {i}");
            }
        }
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(value_of(&text)["mcpServers"]["github"], brokered_github());
        assert_eq!(
            value_of(&text)["otherHostKey"]["s"],
            json!({"command": "y"})
        );
    }

    #[test]
    fn inserting_into_an_absent_mcp_servers_appends_it_to_the_root() {
        let original = "{\n  \"preferences\": {\n    \"menuBarEnabled\": false\n  }\n}\n";
        let mut file = parse(original);
        file.set_entry("mcpServers", "a", &json!({"command": "x"}))
            .unwrap();
        assert_eq!(
            out(&file),
            "{\n  \"preferences\": {\n    \"menuBarEnabled\": false\n  },\n  \"mcpServers\": {\n    \"a\": {\n      \"command\": \"x\"\n    }\n  }\n}\n"
        );
    }

    #[test]
    fn inserting_into_an_empty_root_object() {
        let mut file = parse("{}\n");
        file.set_entry("mcpServers", "a", &json!({"command": "x"}))
            .unwrap();
        assert_eq!(
            out(&file),
            "{\n  \"mcpServers\": {\n    \"a\": {\n      \"command\": \"x\"\n    }\n  }\n}\n"
        );
    }

    #[test]
    fn inserting_into_an_empty_mcp_servers_object() {
        for original in [
            "{\n    \"x\": 1,\n    \"mcpServers\": {}\n}\n",
            "{\n    \"x\": 1,\n    \"mcpServers\": {\n    }\n}\n",
        ] {
            let mut file = parse(original);
            file.set_entry("mcpServers", "a", &json!({"command": "x"}))
                .unwrap();
            assert_eq!(
                out(&file),
                "{\n    \"x\": 1,\n    \"mcpServers\": {\n        \"a\": {\n            \"command\": \"x\"\n        }\n    }\n}\n"
            );
        }
    }

    #[test]
    fn inserting_a_new_server_after_the_last_one() {
        let mut file = parse(CLAUDE);
        file.set_entry("mcpServers", "new", &json!({"command": "x"}))
            .unwrap();
        let after = out(&file);
        let brave_end = CLAUDE.find("\n  },\n  \"zzzLast\"").unwrap();
        assert_eq!(after[..brave_end], CLAUDE[..brave_end]);
        assert!(after.ends_with(&CLAUDE[brave_end..]));
        assert_eq!(
            &after[brave_end..after.len() - (CLAUDE.len() - brave_end)],
            ",\n    \"new\": {\n      \"command\": \"x\"\n    }"
        );
        let servers: Vec<_> = file
            .entries("mcpServers")
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(servers, ["filesystem", "github", "brave-search", "new"]);
    }

    #[test]
    fn inserting_keeps_trailing_commas_and_line_comments_in_place() {
        let original = "{\n  \"mcpServers\": {\n    \"a\": 1, // first\n  },\n}\n";
        let mut file = parse(original);
        file.set_entry("mcpServers", "b", &json!(2)).unwrap();
        assert_eq!(
            out(&file),
            "{\n  \"mcpServers\": {\n    \"a\": 1, // first\n    \"b\": 2,\n  },\n}\n"
        );

        let original = "{\n  \"mcpServers\": {\n    \"a\": 1 // first\n  }\n}\n";
        let mut file = parse(original);
        file.set_entry("mcpServers", "b", &json!(2)).unwrap();
        assert_eq!(
            out(&file),
            "{\n  \"mcpServers\": {\n    \"a\": 1, // first\n    \"b\": 2\n  }\n}\n"
        );
    }

    #[test]
    fn inserting_after_a_crlf_line_comment_keeps_crlf() {
        let original = "{\r\n  \"mcpServers\": {\r\n    \"a\": 1 /* x */ // first\r\n  }\r\n}\r\n";
        let mut file = parse(original);
        file.set_entry("mcpServers", "b", &json!({"c": [true]}))
            .unwrap();
        assert_eq!(
            out(&file),
            "{\r\n  \"mcpServers\": {\r\n    \"a\": 1, /* x */ // first\r\n    \"b\": {\r\n      \"c\": [\r\n        true\r\n      ]\r\n    }\r\n  }\r\n}\r\n"
        );
    }

    #[test]
    fn comments_elsewhere_survive_an_edit() {
        let original = "// my servers\n{\n  /* keep */\n  \"mcpServers\": {\n    // the first\n    \"a\": { \"command\": \"x\" }, /* why */\n    \"b\": 2,\n  },\n}\n";
        let mut file = parse(original);
        file.set_entry("mcpServers", "a", &json!({"command": "y"}))
            .unwrap();
        assert_eq!(
            out(&file),
            "// my servers\n{\n  /* keep */\n  \"mcpServers\": {\n    // the first\n    \"a\": {\n      \"command\": \"y\"\n    }, /* why */\n    \"b\": 2,\n  },\n}\n"
        );
    }

    #[test]
    fn a_minified_file_stays_on_one_line() {
        let original = r#"{"mcpServers":{"a":{"command":"x"}},"globalShortcut":""}"#;
        let mut file = parse(original);
        file.set_entry("mcpServers", "a", &json!({"command": "y"}))
            .unwrap();
        file.set_entry("mcpServers", "b", &json!({"args": [1, 2]}))
            .unwrap();
        assert_eq!(
            out(&file),
            r#"{"mcpServers":{"a":{"command":"y"},"b":{"args":[1,2]}},"globalShortcut":""}"#
        );

        let mut file = parse(r#"{"mcpServers":{}}"#);
        file.set_entry("mcpServers", "a", &json!(1)).unwrap();
        assert_eq!(out(&file), r#"{"mcpServers":{"a":1}}"#);
    }

    #[test]
    fn a_file_without_trailing_newline_gets_none_after_an_edit() {
        let mut file = parse("{\n  \"mcpServers\": {\n    \"a\": 1\n  }\n}");
        file.set_entry("mcpServers", "a", &json!(2)).unwrap();
        assert_eq!(out(&file), "{\n  \"mcpServers\": {\n    \"a\": 2\n  }\n}");
    }

    #[test]
    fn tricky_strings_survive_set_entry_and_parse() {
        let value = json!({
            "command": "C:\\Program Files\\node\\npx.cmd",
            "args": ["say \"hi\"", "line1\nline2\r\n", "tab\there", "\u{1}\u{1f}", "emoji 🔑 ünïcödé", "/* not a comment */", "// nor this"],
            "env": { "KEY \"quoted\"": "back\\slash" }
        });
        let mut file = parse(CLAUDE);
        file.set_entry("mcpServers", "weird \"name\" 🔑", &value)
            .unwrap();
        let text = out(&file);
        assert!(text.contains("emoji 🔑 ünïcödé"), "non-ASCII kept as UTF-8");
        let reparsed = JsonFile::parse(path(), text.as_bytes()).unwrap();
        let entries = reparsed.entries("mcpServers").unwrap();
        let (name, got) = entries.last().unwrap();
        assert_eq!(name, "weird \"name\" 🔑");
        assert_eq!(got, &value);
        // And once more, over the value just written.
        let mut again = reparsed;
        again
            .set_entry("mcpServers", "weird \"name\" 🔑", &json!({"ok": "✓"}))
            .unwrap();
        assert_eq!(
            again.entries("mcpServers").unwrap().last().unwrap().1,
            json!({"ok": "✓"})
        );
    }

    #[test]
    fn a_missing_comma_is_a_syntax_error_with_line_and_column() {
        let text = "{\n  \"a\": 1,\n  \"b\": 2\n  \"c\": 3\n}\n";
        match JsonFile::parse(path(), text.as_bytes()) {
            Err(Error::ConfigSyntax {
                path: p,
                line,
                column,
                message,
            }) => {
                assert_eq!(p, path());
                // Reported where the comma belongs: right after `2` on line 3.
                assert_eq!((line, column), (3, 9), "{message}");
                assert!(message.contains("comma"), "{message}");
            }
            other => panic!("expected ConfigSyntax, got {other:?}"),
        }

        let text = "{\n  \"mcpServers\": {\n    \"a\": 1\n    \"b\": 2\n  }\n}\n";
        match JsonFile::parse(path(), text.as_bytes()) {
            Err(Error::ConfigSyntax { line, column, .. }) => {
                assert_eq!((line, column), (3, 11));
            }
            other => panic!("expected ConfigSyntax, got {other:?}"),
        }
    }

    #[test]
    fn syntax_error_columns_count_characters_and_ignore_the_bom() {
        // The comma belongs after `1`: the 9th character, the 13th byte after the BOM.
        let text = format!("{BOM}{{\"é🔑\": 1 \"x\": 2}}");
        match JsonFile::parse(path(), text.as_bytes()) {
            Err(Error::ConfigSyntax { line, column, .. }) => assert_eq!((line, column), (1, 9)),
            other => panic!("expected ConfigSyntax, got {other:?}"),
        }
    }

    #[test]
    fn invalid_utf8_is_a_syntax_error_at_the_bad_byte() {
        let bytes = b"{\n  \"a\": \"caf\xe9\"\n}\n";
        match JsonFile::parse(path(), bytes) {
            Err(Error::ConfigSyntax { line, column, .. }) => assert_eq!((line, column), (2, 12)),
            other => panic!("expected ConfigSyntax, got {other:?}"),
        }
    }

    #[test]
    fn non_jsonc_extensions_are_rejected() {
        for text in [
            "{'a': 1}",
            "{a: 1}",
            "{\"a\": 0x10}",
            "{\"a\": 1} {}",
            "{\"a\": 1",
            "{\"a\": \"\\x41\"}",
        ] {
            assert!(
                matches!(
                    JsonFile::parse(path(), text.as_bytes()),
                    Err(Error::ConfigSyntax { .. })
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn a_root_that_is_not_an_object_is_a_shape_error() {
        for text in ["[]", "\"x\"", "null", "", "  // nothing\n"] {
            match JsonFile::parse(path(), text.as_bytes()) {
                Err(Error::ConfigShape { field, .. }) => assert_eq!(field, "(root)"),
                other => panic!("expected ConfigShape for {text:?}, got {other:?}"),
            }
        }
    }

    #[test]
    fn mcp_servers_that_is_not_an_object_is_a_shape_error_naming_it() {
        let original = "{\"mcpServers\": []}";
        let mut file = parse(original);
        match file.entries("mcpServers") {
            Err(Error::ConfigShape { field, message, .. }) => {
                assert_eq!(field, "mcpServers");
                assert!(message.contains("must be an object"), "{message}");
            }
            other => panic!("expected ConfigShape, got {other:?}"),
        }
        match file.set_entry("mcpServers", "a", &json!(1)) {
            Err(Error::ConfigShape { field, .. }) => assert_eq!(field, "mcpServers"),
            other => panic!("expected ConfigShape, got {other:?}"),
        }
        assert_eq!(out(&file), original);
    }

    #[test]
    fn a_repeated_name_is_edited_where_hosts_read_it() {
        let mut file = parse("{\"mcpServers\": {\"a\": 1, \"a\": 2}}");
        file.set_entry("mcpServers", "a", &json!(3)).unwrap();
        assert_eq!(out(&file), "{\"mcpServers\": {\"a\": 1, \"a\": 3}}");
        assert_eq!(
            file.entries("mcpServers").unwrap(),
            vec![("a".to_owned(), json!(3))]
        );
    }

    #[test]
    fn indent_detection_recognizes_common_styles() {
        assert_eq!(detect_indent("{\n  \"a\": 1\n}"), "  ");
        assert_eq!(
            detect_indent("{\n    \"a\": {\n        \"b\": 1\n    }\n}"),
            "    "
        );
        assert_eq!(detect_indent("{\n\t\"a\": 1\n}"), "\t");
        assert_eq!(detect_indent("{\"a\":1}"), "  ");
        assert_eq!(detect_indent("/*\n * doc\n */\n{\n    \"a\": 1\n}"), "    ");
    }

    const CLAUDE_CODE: &str = "{\n  \"projects\": {\n    \"/home/me/app\": {\n      \"allowedTools\": [], // kept\n      \"mcpServers\": {\n        \"db\": {\"command\": \"pg\"}\n      }\n    }\n  },\n  \"mcpServers\": {}\n}\n";

    #[test]
    fn entries_at_a_key_path_reach_nested_server_maps() {
        let f = parse(CLAUDE_CODE);
        let e = f
            .entries_at(&["projects", "/home/me/app", "mcpServers"])
            .expect("entries");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].0, "db");
        assert!(
            f.entries_at(&["projects", "/nope", "mcpServers"])
                .expect("e")
                .is_empty()
        );
        assert_eq!(
            f.keys_at(&["projects"]).expect("keys"),
            vec!["/home/me/app"]
        );
    }

    #[test]
    fn set_entry_at_a_key_path_changes_only_that_entry() {
        let mut f = parse(CLAUDE_CODE);
        let v = serde_json::json!({"command": "/bin/keybroker", "args": ["run"]});
        f.set_entry_at(&["projects", "/home/me/app", "mcpServers"], "db", &v)
            .expect("set");
        let text = out(&f);
        assert!(text.contains("\"allowedTools\": [], // kept"), "{text}");
        assert!(text.ends_with("  \"mcpServers\": {}\n}\n"), "{text}");
        assert_eq!(
            parse(&text)
                .entries_at(&["projects", "/home/me/app", "mcpServers"])
                .expect("entries")[0]
                .1,
            v
        );
    }

    #[test]
    fn set_entry_under_a_missing_parent_is_refused() {
        let mut f = parse(CLAUDE_CODE);
        let err = f
            .set_entry_at(
                &["projects", "/nope", "mcpServers"],
                "db",
                &serde_json::json!({}),
            )
            .expect_err("missing parent");
        assert!(matches!(err, Error::ConfigShape { .. }), "{err}");
        assert_eq!(out(&f), CLAUDE_CODE);
    }

    #[test]
    fn a_step_that_is_not_an_object_is_a_shape_error_naming_the_path() {
        let f = parse("{\"projects\": {\"/a\": 3}}");
        match f.entries_at(&["projects", "/a", "mcpServers"]) {
            Err(Error::ConfigShape { field, .. }) => assert_eq!(field, "projects./a"),
            other => panic!("unexpected {other:?}"),
        }
    }

    const GROK: &str = r#"{
  "apiKey": "xai-not-a-real-key",
  // servers, a list
  "mcp": {
    "servers": [
      { "id": "github", "label": "GitHub", "enabled": true, "transport": "stdio", "command": "npx" },
      { "label": "no id" },
      {
        "id": "fetch",
        "transport": "stdio",
        "command": "uvx",
        "args": ["mcp-server-fetch"]
      }
    ]
  },
  "defaultModel": "grok-4"
}
"#;

    const SERVERS: &[&str] = &["mcp", "servers"];

    #[test]
    fn list_entries_are_the_named_objects_of_an_array() {
        let f = parse(GROK);
        let e = f.list_entries_at(SERVERS, "id").expect("entries");
        let names: Vec<&str> = e.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["github", "fetch"]);
        assert_eq!(e[1].1["args"][0], "mcp-server-fetch");
        assert!(
            f.list_entries_at(&["nothing", "here"], "id")
                .expect("none")
                .is_empty()
        );
        let err = parse(r#"{"mcp": {"servers": {}}}"#)
            .list_entries_at(SERVERS, "id")
            .expect_err("not a list");
        assert!(matches!(err, Error::ConfigShape { .. }), "{err}");
    }

    #[test]
    fn set_list_entry_replaces_one_element_and_keeps_every_other_byte() {
        let mut f = parse(GROK);
        let v = serde_json::json!({"id": "fetch", "transport": "stdio", "command": "/kb", "args": ["run"]});
        f.set_list_entry_at(SERVERS, "id", "fetch", &v)
            .expect("set");
        let text = out(&f);
        let start = GROK.find("{\n        \"id\": \"fetch\"").expect("fetch");
        let end = start + GROK[start..].find("}\n    ]").expect("end") + 1;
        assert!(text.starts_with(&GROK[..start]), "{text}");
        assert!(text.ends_with(&GROK[end..]), "{text}");
        assert_eq!(
            parse(&text).list_entries_at(SERVERS, "id").expect("e")[1].1,
            v
        );
        // The same value again changes nothing.
        let mut same = parse(&text);
        same.set_list_entry_at(SERVERS, "id", "fetch", &v)
            .expect("same");
        assert_eq!(out(&same), text);
    }

    #[test]
    fn set_list_entry_appends_and_creates_the_array_in_the_files_style() {
        let v = serde_json::json!({"id": "new", "command": "x"});
        let mut f = parse(GROK);
        f.set_list_entry_at(SERVERS, "id", "new", &v)
            .expect("append");
        let text = out(&f);
        assert!(
            text.contains("]\n      },\n      {\n        \"id\": \"new\",\n        \"command\": \"x\"\n      }\n    ]"),
            "{text}"
        );
        let names: Vec<String> = parse(&text)
            .list_entries_at(SERVERS, "id")
            .expect("e")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["github", "fetch", "new"]);

        for (before, after) in [
            (
                r#"{"mcp": {"servers": []}}"#,
                r#"{"mcp": {"servers": [{"id":"new","command":"x"}]}}"#,
            ),
            (
                r#"{"mcp": {"servers": [{"id": "a"}]}}"#,
                r#"{"mcp": {"servers": [{"id": "a"},{"id":"new","command":"x"}]}}"#,
            ),
            (
                r#"{"mcp": {}}"#,
                r#"{"mcp": {"servers":[{"id":"new","command":"x"}]}}"#,
            ),
        ] {
            let mut f = parse(before);
            f.set_list_entry_at(SERVERS, "id", "new", &v).expect("set");
            assert_eq!(out(&f), after);
        }
        let mut missing = parse("{}");
        assert!(missing.set_list_entry_at(SERVERS, "id", "new", &v).is_err());
        assert_eq!(out(&missing), "{}");
    }

    #[test]
    fn random_list_edits_keep_every_other_element_byte_for_byte() {
        let n = 5;
        let mut text = String::from("{\n  // list\n  \"mcp\": {\n    \"servers\": [\n");
        for i in 0..n {
            let comma = if i + 1 < n { "," } else { "" };
            text.push_str(&format!(
                "      // server {i}\n      {{ \"id\": \"s{i}\", \"command\": \"c{i}\", \"args\": [\"{i}\"] }}{comma}\n"
            ));
        }
        text.push_str("    ]\n  }\n}\n");
        let line = |t: &str, i: usize| -> String {
            let start = t.find(&format!("// server {i}\n")).expect("start");
            let end = t[start + 1..]
                .find("// server ")
                .map(|e| start + 1 + e)
                .unwrap_or_else(|| t.find("    ]\n  }\n}").expect("end"));
            t[start..end].to_string()
        };
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % m) as usize
        };
        for round in 0..30 {
            let mut f = parse(&text);
            let i = next(n as u64);
            let mut v = f.list_entries_at(SERVERS, "id").expect("e")[i].1.clone();
            match next(3) {
                0 => v["command"] = format!("/bin/r{round}").into(),
                1 => v["args"] = serde_json::json!(["run", round]),
                _ => v["env"] = serde_json::json!({"K": round.to_string()}),
            }
            f.set_list_entry_at(SERVERS, "id", &format!("s{i}"), &v)
                .expect("set");
            let after = out(&f);
            for j in (0..n).filter(|&j| j != i) {
                assert_eq!(
                    line(&after, j),
                    line(&text, j),
                    "round {round}, element {j}"
                );
            }
            assert!(after.starts_with("{\n  // list\n"), "{after}");
            assert_eq!(
                parse(&after).list_entries_at(SERVERS, "id").expect("e")[i].1,
                v
            );
            text = after;
        }
    }
}
