//! Surgical edits of YAML host configs (Goose's `config.yaml`, Continue's
//! `config.yaml` and `.continue/mcpServers/*.yaml`, fast-agent's `fastagent.config.yaml`).
//!
//! The YAML counterpart of `jsonfile`: the file text is kept exactly as read (minus a
//! leading BOM, remembered and put back). `saphyr-parser`, a YAML 1.2 parser that
//! reports where every event starts and ends, is used only to learn the tree and its
//! byte ranges; an edit splices new text into the range of one entry's value (or
//! inserts one new entry after the last one). So every comment, blank line, quote
//! style, anchor, flow or block layout and line ending outside that range stays
//! byte for byte. The new entry is written in the style of the one it replaces: block
//! style at the same column with the file's indent step and sequence indentation, or
//! one flow line when the old value was a flow mapping.
//!
//! Every edit is checked before it is kept: the new text is parsed again, the edited
//! entry must read back as the value asked for and every other entry as it was. A
//! rendering that fails the check is retried once as a JSON flow value (JSON is YAML),
//! and if that fails too the edit is refused and the text stays as it was.
//!
//! Entries are read into `serde_json` values under the YAML 1.2 core schema (plain
//! `true`, `42`, `~` are a bool, a number and null; quoted scalars are strings),
//! aliases resolved. Deliberately not done here: no file I/O, no normalization, no
//! removal of whole entries, comments inside a replaced entry are not carried over,
//! one document per file (a second `---` document is refused).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};
use serde_json::{Map, Value as Json};

use crate::base::error::{Error, Result};
use crate::config::text::{BOM, decode_text, line_column};

/// Deeper nesting than this is refused (no host file comes near; it bounds recursion).
const MAX_DEPTH: usize = 128;
/// Nodes an alias expansion may produce while reading (bounds "billion laughs").
const MAX_EXPANDED: usize = 200_000;

/// A YAML config file held as its original text, edited in place.
#[derive(Debug, Clone)]
pub struct YamlFile {
    path: PathBuf,
    bom: bool,
    text: String,
}

/// One parsed node and the byte range of its text (anchor and tag not included).
#[derive(Debug, Clone)]
struct Node {
    kind: Kind,
    start: usize,
    end: usize,
    /// Written in flow style (`{...}` / `[...]`).
    flow: bool,
    anchor: usize,
}

#[derive(Debug, Clone)]
enum Kind {
    Scalar {
        value: String,
        plain: bool,
        tag: Option<String>,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
    Alias(usize),
}

/// A parsed document: the root node and every anchored node by anchor id.
struct Tree {
    root: Node,
    anchors: HashMap<usize, Node>,
}

/// How the file lays out block collections, learned from the file itself.
#[derive(Debug, Clone, Copy)]
struct Style {
    /// Spaces one nesting level adds (2 unless the file shows otherwise).
    step: usize,
    /// Block sequences under a key are indented (`args:\n  - x`), not flush (`args:\n- x`).
    seq_indent: bool,
    newline: &'static str,
}

/// One text replacement: bytes `start..end` become `with`.
struct Edit {
    start: usize,
    end: usize,
    with: String,
}

impl YamlFile {
    /// Parse bytes read from `path` (used only in error messages). Invalid UTF-8 or YAML
    /// -> [`Error::ConfigSyntax`] with 1-based line and column; a root that is not a
    /// mapping, or a second document -> [`Error::ConfigShape`].
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<YamlFile> {
        let (bom, text) = decode_text(path, bytes)?;
        let tree = parse_tree(path, text)?;
        if !matches!(tree.root.kind, Kind::Map(_)) && !is_null(&tree.root) {
            return Err(Error::ConfigShape {
                path: path.to_path_buf(),
                field: "(root)".into(),
                message: "the document must be a mapping of settings".into(),
                fix: "write the file as `key: value` lines (Keybroker left it untouched), then run the command again".into(),
            });
        }
        Ok(YamlFile {
            path: path.to_path_buf(),
            bom,
            text: text.to_owned(),
        })
    }

    /// The entries of the mapping at `path` (e.g. `["extensions"]`) in file order, as
    /// JSON values. A missing step or an empty (null) value gives an empty list; a name
    /// written twice is read at its first place.
    pub fn entries_at(&self, path: &[&str]) -> Result<Vec<(String, Json)>> {
        let tree = self.tree()?;
        let Some(node) = walk(&self.path, &tree.root, path)? else {
            return Ok(Vec::new());
        };
        let Kind::Map(pairs) = &node.kind else {
            return if is_null(node) {
                Ok(Vec::new())
            } else {
                Err(not_a_map(&self.path, &path.join(".")))
            };
        };
        let mut out: Vec<(String, Json)> = Vec::new();
        for (k, v) in pairs {
            let name = key_string(k);
            if out.iter().any(|(n, _)| *n == name) {
                continue;
            }
            out.push((name, to_json(&self.path, &tree, v)?));
        }
        Ok(out)
    }

    /// The elements of the sequence at `path` (e.g. `["mcpServers"]`) that are mappings
    /// naming themselves with a string `name_key`, in file order (name key included). An
    /// element without one is skipped; a name used twice is read at its first element.
    pub fn list_entries_at(&self, path: &[&str], name_key: &str) -> Result<Vec<(String, Json)>> {
        let tree = self.tree()?;
        let Some(node) = walk(&self.path, &tree.root, path)? else {
            return Ok(Vec::new());
        };
        let Kind::Seq(items) = &node.kind else {
            return if is_null(node) {
                Ok(Vec::new())
            } else {
                Err(not_a_list(&self.path, &path.join("."), name_key))
            };
        };
        let mut out: Vec<(String, Json)> = Vec::new();
        for item in items {
            let value = to_json(&self.path, &tree, item)?;
            let Some(name) = value.get(name_key).and_then(Json::as_str).map(String::from) else {
                continue;
            };
            if out.iter().any(|(n, _)| *n == name) {
                continue;
            }
            out.push((name, value));
        }
        Ok(out)
    }

    /// Set `path.name` to `value`: the existing entry's value is replaced in place, a new
    /// one goes after the last entry (the mapping, and any missing step, is created at
    /// the end of its parent). Every byte outside that range stays as it was.
    pub fn set_entry_at(&mut self, path: &[&str], name: &str, value: &Json) -> Result<()> {
        let before = self.entries_at(path)?;
        if before.iter().any(|(n, v)| n == name && v == value) {
            return Ok(());
        }
        let expected = expected_after(&before, name, value);
        self.apply_checked(
            |file, tree, style, flow_only| {
                file.plan_map_edit(tree, style, path, name, value, flow_only)
            },
            |file| file.entries_at(path),
            &expected,
        )
    }

    /// Set the element of the sequence at `path` whose `name_key` is `name` to `value`
    /// (replaced in place), or append it after the last element (the sequence is created
    /// at the end of its parent when missing).
    pub fn set_list_entry_at(
        &mut self,
        path: &[&str],
        name_key: &str,
        name: &str,
        value: &Json,
    ) -> Result<()> {
        let before = self.list_entries_at(path, name_key)?;
        if before.iter().any(|(n, v)| n == name && v == value) {
            return Ok(());
        }
        let expected = expected_after(&before, name, value);
        self.apply_checked(
            |file, tree, style, flow_only| {
                file.plan_list_edit(tree, style, path, name_key, name, value, flow_only)
            },
            |file| file.list_entries_at(path, name_key),
            &expected,
        )
    }

    /// The document's text, BOM restored when the file had one.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.text.len() + 3);
        if self.bom {
            out.extend_from_slice(BOM.as_bytes());
        }
        out.extend_from_slice(self.text.as_bytes());
        out
    }

    fn tree(&self) -> Result<Tree> {
        parse_tree(&self.path, &self.text)
    }

    /// Plan an edit (block style first, then JSON flow), apply it to a copy, and keep it
    /// only when the copy parses and `read` gives `expected`.
    fn apply_checked(
        &mut self,
        plan: impl Fn(&YamlFile, &Tree, Style, bool) -> Result<Edit>,
        read: impl Fn(&YamlFile) -> Result<Vec<(String, Json)>>,
        expected: &[(String, Json)],
    ) -> Result<()> {
        let tree = self.tree()?;
        let style = detect_style(&self.text, &tree.root);
        for flow_only in [false, true] {
            let edit = plan(self, &tree, style, flow_only)?;
            let mut text = self.text.clone();
            text.replace_range(edit.start..edit.end, &edit.with);
            let candidate = YamlFile {
                path: self.path.clone(),
                bom: self.bom,
                text,
            };
            let good = parse_tree(&candidate.path, &candidate.text).is_ok()
                && read(&candidate).is_ok_and(|got| got == expected);
            if good {
                *self = candidate;
                return Ok(());
            }
        }
        Err(Error::other(
            format!(
                "internal error: the edit of {} did not read back as written",
                self.path.display()
            ),
            "nothing was written; please report this bug",
        ))
    }

    fn plan_map_edit(
        &self,
        tree: &Tree,
        style: Style,
        path: &[&str],
        name: &str,
        value: &Json,
        flow_only: bool,
    ) -> Result<Edit> {
        match walk(&self.path, &tree.root, path)? {
            Some(node) if matches!(node.kind, Kind::Map(_)) => {
                let Kind::Map(pairs) = &node.kind else {
                    return Err(not_a_map(&self.path, &path.join(".")));
                };
                if let Some((_, old)) = pairs.iter().find(|(k, _)| key_string(k) == name) {
                    return Ok(self.replace_value(old, value, style, flow_only));
                }
                Ok(self.insert_pair(node, name, value, style, flow_only))
            }
            Some(node) if !is_null(node) => Err(not_a_map(&self.path, &path.join("."))),
            _ => {
                let mut entry = Map::new();
                entry.insert(name.to_string(), value.clone());
                self.create_path(tree, style, path, Json::Object(entry), flow_only)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn plan_list_edit(
        &self,
        tree: &Tree,
        style: Style,
        path: &[&str],
        name_key: &str,
        name: &str,
        value: &Json,
        flow_only: bool,
    ) -> Result<Edit> {
        match walk(&self.path, &tree.root, path)? {
            Some(node) if matches!(node.kind, Kind::Seq(_)) => {
                let Kind::Seq(items) = &node.kind else {
                    return Err(not_a_list(&self.path, &path.join("."), name_key));
                };
                for item in items {
                    let v = to_json(&self.path, tree, item)?;
                    if v.get(name_key).and_then(Json::as_str) == Some(name) {
                        return Ok(self.replace_value(item, value, style, flow_only));
                    }
                }
                Ok(self.append_item(node, value, style, flow_only))
            }
            Some(node) if !is_null(node) => Err(not_a_list(&self.path, &path.join("."), name_key)),
            _ => self.create_path(
                tree,
                style,
                path,
                Json::Array(vec![value.clone()]),
                flow_only,
            ),
        }
    }

    /// Replace the text of `old` with `value`, in block style at its column when it is
    /// a block mapping, else as one flow value.
    fn replace_value(&self, old: &Node, value: &Json, style: Style, flow_only: bool) -> Edit {
        let first_key = match &old.kind {
            Kind::Map(pairs) if !old.flow => pairs.first().map(|(k, _)| k.start),
            _ => None,
        };
        // A block mapping is replaced from its first key, so an anchor or tag before it
        // stays where it is.
        let block = !flow_only && first_key.is_some();
        let start = first_key.unwrap_or(old.start);
        let end = trimmed_end(&self.text, start, old.end);
        let with = if block && is_nonempty_map(value) {
            render_block(value, column(&self.text, start), style)
        } else if flow_only {
            json_flow(value)
        } else {
            render_flow(value)
        };
        if start == end {
            // An empty value (`github:`): write after the `:`.
            let at = self.after_colon(start);
            return Edit {
                start: at,
                end: at,
                with: format!(
                    " {}",
                    if flow_only {
                        json_flow(value)
                    } else {
                        render_flow(value)
                    }
                ),
            };
        }
        Edit { start, end, with }
    }

    /// A new `name: value` pair after the last pair of mapping `map`.
    fn insert_pair(
        &self,
        map: &Node,
        name: &str,
        value: &Json,
        style: Style,
        flow_only: bool,
    ) -> Edit {
        let Kind::Map(pairs) = &map.kind else {
            return self.append_to_root(name, value, style, flow_only);
        };
        if map.flow {
            let close = self.flow_close(map);
            let sep = if pairs.is_empty() { "" } else { ", " };
            let v = if flow_only {
                json_flow(value)
            } else {
                render_flow(value)
            };
            return Edit {
                start: close,
                end: close,
                with: format!("{sep}{}: {v}", render_key(name, true)),
            };
        }
        let Some((first_key, _)) = pairs.first() else {
            return self.append_to_root(name, value, style, flow_only);
        };
        let Some((_, last_value)) = pairs.last() else {
            return self.append_to_root(name, value, style, flow_only);
        };
        let col = column(&self.text, first_key.start);
        let at = self.line_end(trimmed_end(&self.text, last_value.start, last_value.end));
        let pair = render_pair(name, value, col, style, flow_only);
        Edit {
            start: at,
            end: at,
            with: format!("{}{}{pair}", style.newline, " ".repeat(col)),
        }
    }

    /// A new item after the last item of sequence `seq`.
    fn append_item(&self, seq: &Node, value: &Json, style: Style, flow_only: bool) -> Edit {
        let Kind::Seq(items) = &seq.kind else {
            return Edit {
                start: seq.end,
                end: seq.end,
                with: String::new(),
            };
        };
        let v_flow = if flow_only {
            json_flow(value)
        } else {
            render_flow(value)
        };
        if seq.flow {
            let close = self.flow_close(seq);
            let sep = if items.is_empty() { "" } else { ", " };
            return Edit {
                start: close,
                end: close,
                with: format!("{sep}{v_flow}"),
            };
        }
        let Some(last) = items.last() else {
            return Edit {
                start: seq.end,
                end: seq.end,
                with: String::new(),
            };
        };
        let dash = self.dash_before(items.first().map_or(last.start, |f| f.start));
        let col = column(&self.text, dash);
        let at = self.line_end(trimmed_end(&self.text, last.start, last.end));
        let item = if !flow_only && is_nonempty_map(value) {
            render_block(value, col + 2, style)
        } else {
            v_flow
        };
        Edit {
            start: at,
            end: at,
            with: format!("{}{}- {item}", style.newline, " ".repeat(col)),
        }
    }

    /// Create the missing tail of `path` in its deepest existing mapping, holding `leaf`.
    fn create_path(
        &self,
        tree: &Tree,
        style: Style,
        path: &[&str],
        leaf: Json,
        flow_only: bool,
    ) -> Result<Edit> {
        // The deepest existing mapping along the path, and the steps after it.
        let mut node = &tree.root;
        let mut depth = 0;
        while depth < path.len() {
            let Kind::Map(pairs) = &node.kind else { break };
            match pairs.iter().find(|(k, _)| key_string(k) == path[depth]) {
                Some((_, v)) if matches!(v.kind, Kind::Map(_)) => {
                    node = v;
                    depth += 1;
                }
                Some((k, v)) if is_null(v) => {
                    // `step:` with no value: write the rest there.
                    let value = nest(&path[depth + 1..], leaf);
                    let at_start = k.start;
                    let end = if v.start >= v.end {
                        self.after_colon(k.end)
                    } else {
                        trimmed_end(&self.text, v.start, v.end)
                    };
                    let col = column(&self.text, at_start);
                    return Ok(Edit {
                        start: at_start,
                        end,
                        with: render_pair(path[depth], &value, col, style, flow_only),
                    });
                }
                Some(_) => return Err(not_a_map(&self.path, &path[..=depth].join("."))),
                None => break,
            }
        }
        let Some((step, rest)) = path[depth..].split_first() else {
            return Err(not_a_map(&self.path, &path.join(".")));
        };
        let value = nest(rest, leaf);
        if is_null(node) {
            return Ok(self.append_to_root(step, &value, style, flow_only));
        }
        Ok(self.insert_pair(node, step, &value, style, flow_only))
    }

    /// `name: value` as new last lines of a document whose root has no pairs yet.
    fn append_to_root(&self, name: &str, value: &Json, style: Style, flow_only: bool) -> Edit {
        let end = self.text.len();
        let lead = if self.text.is_empty() || self.text.ends_with('\n') {
            ""
        } else {
            style.newline
        };
        let pair = render_pair(name, value, 0, style, flow_only);
        Edit {
            start: end,
            end,
            with: format!("{lead}{pair}{}", style.newline),
        }
    }

    /// The byte after the `:` that follows a key ending at `pos` (or `pos` itself).
    fn after_colon(&self, pos: usize) -> usize {
        let rest = &self.text[pos..];
        let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        if rest[skipped..].starts_with(':') {
            pos + skipped + 1
        } else {
            pos
        }
    }

    /// Where a new line goes after byte `pos`: before the line break that ends its line.
    fn line_end(&self, pos: usize) -> usize {
        match self.text[pos..].find('\n') {
            Some(i) if i > 0 && self.text.as_bytes()[pos + i - 1] == b'\r' => pos + i - 1,
            Some(i) => pos + i,
            None => self.text.len(),
        }
    }

    /// The `}` or `]` that closes flow collection `node`.
    fn flow_close(&self, node: &Node) -> usize {
        let end = trimmed_end(&self.text, node.start, node.end);
        end.saturating_sub(1).max(node.start)
    }

    /// The `-` of the block sequence item whose node starts at `pos`.
    fn dash_before(&self, pos: usize) -> usize {
        let head = &self.text[..pos];
        let trimmed = head.trim_end_matches([' ', '\t']);
        if trimmed.ends_with('-') {
            trimmed.len() - 1
        } else {
            pos.saturating_sub(2)
        }
    }
}

/// `before` with `name` set to `value` (in place, or appended).
fn expected_after(before: &[(String, Json)], name: &str, value: &Json) -> Vec<(String, Json)> {
    let mut out = before.to_vec();
    match out.iter_mut().find(|(n, _)| n == name) {
        Some((_, v)) => *v = value.clone(),
        None => out.push((name.to_string(), value.clone())),
    }
    out
}

/// `{steps[0]: {steps[1]: ... leaf}}`.
fn nest(steps: &[&str], leaf: Json) -> Json {
    steps.iter().rev().fold(leaf, |v, k| {
        let mut m = Map::new();
        m.insert((*k).to_string(), v);
        Json::Object(m)
    })
}

fn not_a_map(path: &Path, field: &str) -> Error {
    Error::ConfigShape {
        path: path.to_path_buf(),
        field: field.to_owned(),
        message: "must be a mapping of server entries".into(),
        fix: format!(
            "write it as `{field}:` followed by indented `<name>:` entries (Keybroker left the file untouched), then run the command again"
        ),
    }
}

fn not_a_list(path: &Path, field: &str, name_key: &str) -> Error {
    Error::ConfigShape {
        path: path.to_path_buf(),
        field: field.to_owned(),
        message: "must be a list of server entries".into(),
        fix: format!(
            "write each server as a `- {name_key}: ...` item under `{field}:` (Keybroker left the file untouched), then run the command again"
        ),
    }
}

fn syntax_error(path: &Path, text: &str, byte: usize, message: String) -> Error {
    let (line, column) = line_column(text, byte.min(text.len()));
    Error::ConfigSyntax {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

// ---------------------------------------------------------------------------------------
// Parsing: saphyr events into a tree with byte ranges.
// ---------------------------------------------------------------------------------------

/// A collection being built.
struct Frame {
    is_map: bool,
    start: usize,
    anchor: usize,
    flow: bool,
    items: Vec<Node>,
}

fn parse_tree(path: &Path, text: &str) -> Result<Tree> {
    // saphyr reports positions in characters; edits need bytes.
    let mut byte_at: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    byte_at.push(text.len());
    let to_byte = |chars: usize| byte_at.get(chars).copied().unwrap_or(text.len());
    let scan_error = |e: ScanError| {
        let m = e.marker();
        syntax_error(
            path,
            text,
            to_byte(m.index()),
            format!("invalid YAML: {}", e.info()),
        )
    };

    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut documents = 0;
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(scan_error)?;
        let (start, end) = (to_byte(span.start.index()), to_byte(span.end.index()));
        let node = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => None,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(Error::ConfigShape {
                        path: path.to_path_buf(),
                        field: "(root)".into(),
                        message: "the file holds more than one YAML document".into(),
                        fix: "keep one document (one `---` at most) in the file (Keybroker left it untouched), then run the command again".into(),
                    });
                }
                None
            }
            Event::Alias(id) => Some(Node {
                kind: Kind::Alias(id),
                start,
                end,
                flow: false,
                anchor: 0,
            }),
            Event::Scalar(value, style, anchor, tag) => Some(Node {
                kind: Kind::Scalar {
                    value: value.into_owned(),
                    plain: style == ScalarStyle::Plain,
                    tag: tag.map(|t| format!("{}{}", t.handle, t.suffix)),
                },
                start,
                end,
                flow: false,
                anchor,
            }),
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(syntax_error(
                        path,
                        text,
                        start,
                        format!("nested more than {MAX_DEPTH} levels deep"),
                    ));
                }
                let is_map = matches!(event, Event::MappingStart(..));
                let open = if is_map { '{' } else { '[' };
                stack.push(Frame {
                    is_map,
                    start,
                    anchor,
                    // A flow collection's span ends with its bracket (after any anchor
                    // or tag); a block one's is empty or ends with whitespace.
                    flow: text[start..end.max(start)].trim_end().ends_with(open),
                    items: Vec::new(),
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = stack.pop() else {
                    return Err(syntax_error(
                        path,
                        text,
                        start,
                        "unbalanced collection".into(),
                    ));
                };
                let first = frame.items.first().map_or(frame.start, |n| n.start);
                let last = frame
                    .items
                    .iter()
                    .map(|n| n.end)
                    .max()
                    .unwrap_or(frame.start);
                // A flow end's span may run on over a comment after the bracket.
                let close = if text[start..].starts_with([']', '}']) {
                    start + 1
                } else {
                    end
                };
                let (node_start, node_end) = if frame.flow {
                    (frame.start, close.max(last))
                } else {
                    (frame.start.min(first), last)
                };
                let kind = if frame.is_map {
                    let mut pairs = Vec::new();
                    let mut it = frame.items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        pairs.push((k, v));
                    }
                    Kind::Map(pairs)
                } else {
                    Kind::Seq(frame.items)
                };
                Some(Node {
                    kind,
                    start: node_start,
                    end: node_end,
                    flow: frame.flow,
                    anchor: frame.anchor,
                })
            }
        };
        if let Some(node) = node {
            if node.anchor != 0 {
                anchors.insert(node.anchor, node.clone());
            }
            match stack.last_mut() {
                Some(frame) => frame.items.push(node),
                None if root.is_none() => root = Some(node),
                None => {}
            }
        }
    }
    let root = root.unwrap_or(Node {
        kind: Kind::Scalar {
            value: String::new(),
            plain: true,
            tag: None,
        },
        start: 0,
        end: 0,
        flow: false,
        anchor: 0,
    });
    Ok(Tree { root, anchors })
}

/// The node at `path` under mapping `root`; `None` when a step is missing or null.
fn walk<'t>(file: &Path, root: &'t Node, path: &[&str]) -> Result<Option<&'t Node>> {
    let mut node = root;
    for (i, key) in path.iter().enumerate() {
        let Kind::Map(pairs) = &node.kind else {
            if is_null(node) {
                return Ok(None);
            }
            return Err(not_a_map(file, &path[..i].join(".")));
        };
        match pairs.iter().find(|(k, _)| key_string(k) == *key) {
            Some((_, v)) => node = v,
            None => return Ok(None),
        }
    }
    Ok(Some(node))
}

fn is_null(node: &Node) -> bool {
    matches!(&node.kind, Kind::Scalar { value, plain: true, tag: None } if matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL"))
}

fn is_nonempty_map(v: &Json) -> bool {
    v.as_object().is_some_and(|m| !m.is_empty())
}

/// A mapping key as the string hosts index by.
fn key_string(key: &Node) -> String {
    match &key.kind {
        Kind::Scalar { value, .. } => value.clone(),
        _ => String::from("?"),
    }
}

/// A node as a JSON value under the YAML 1.2 core schema, aliases resolved.
fn to_json(path: &Path, tree: &Tree, node: &Node) -> Result<Json> {
    let mut budget = MAX_EXPANDED;
    to_json_in(path, tree, node, 0, &mut budget)
}

fn to_json_in(
    path: &Path,
    tree: &Tree,
    node: &Node,
    depth: usize,
    budget: &mut usize,
) -> Result<Json> {
    if depth > MAX_DEPTH || *budget == 0 {
        return Err(Error::ConfigShape {
            path: path.to_path_buf(),
            field: "(aliases)".into(),
            message: "its aliases expand too far".into(),
            fix: "write the values out instead of through YAML aliases (Keybroker left the file untouched), then run the command again".into(),
        });
    }
    *budget -= 1;
    Ok(match &node.kind {
        Kind::Scalar { value, plain, tag } => scalar_json(value, *plain, tag.as_deref()),
        Kind::Seq(items) => Json::Array(
            items
                .iter()
                .map(|n| to_json_in(path, tree, n, depth + 1, budget))
                .collect::<Result<_>>()?,
        ),
        Kind::Map(pairs) => {
            let mut m = Map::new();
            for (k, v) in pairs {
                let key = key_string(k);
                if m.contains_key(&key) {
                    continue;
                }
                m.insert(key, to_json_in(path, tree, v, depth + 1, budget)?);
            }
            Json::Object(m)
        }
        Kind::Alias(id) => match tree.anchors.get(id) {
            Some(target) => to_json_in(path, tree, target, depth + 1, budget)?,
            None => Json::Null,
        },
    })
}

fn scalar_json(value: &str, plain: bool, tag: Option<&str>) -> Json {
    match tag {
        Some("tag:yaml.org,2002:str") | Some("!!str") => return Json::String(value.into()),
        Some(_) | None if !plain => return Json::String(value.into()),
        _ => {}
    }
    resolve_plain(value).unwrap_or_else(|| Json::String(value.into()))
}

/// What a plain scalar means under the core schema, when it is not a string.
fn resolve_plain(s: &str) -> Option<Json> {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Json::Null),
        "true" | "True" | "TRUE" => return Some(Json::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Json::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => return Some(Json::String(s.into())),
        _ => {}
    }
    let digits = |t: &str, radix: u32| !t.is_empty() && t.chars().all(|c| c.is_digit(radix));
    if let Some(hex) = s.strip_prefix("0x") {
        return digits(hex, 16)
            .then(|| i64::from_str_radix(hex, 16).ok().map(Json::from))
            .map(|n| n.unwrap_or_else(|| Json::String(s.into())));
    }
    if let Some(oct) = s.strip_prefix("0o") {
        return digits(oct, 8)
            .then(|| i64::from_str_radix(oct, 8).ok().map(Json::from))
            .map(|n| n.unwrap_or_else(|| Json::String(s.into())));
    }
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits(unsigned, 10) {
        return Some(
            s.parse::<i64>()
                .map(Json::from)
                .unwrap_or_else(|_| float_json(s)),
        );
    }
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            (digits(a, 10) || a.is_empty())
                && (digits(b, 10) || b.is_empty())
                && !(a.is_empty() && b.is_empty())
        }
        None => digits(mantissa, 10),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e), 10));
    (mantissa_ok && exponent_ok && (mantissa.contains('.') || exponent.is_some()))
        .then(|| float_json(s))
}

fn float_json(s: &str) -> Json {
    s.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(Json::Number)
        .unwrap_or_else(|| Json::String(s.into()))
}

// ---------------------------------------------------------------------------------------
// Layout of the file and rendering of new values.
// ---------------------------------------------------------------------------------------

/// Byte `end` moved back over trailing whitespace (a block scalar's span ends past its
/// line breaks; those stay in the file).
fn trimmed_end(text: &str, start: usize, end: usize) -> usize {
    let end = end.min(text.len()).max(start);
    start + text[start..end].trim_end().len()
}

/// The column (in bytes from the line start) of byte `pos`; indentation is ASCII.
fn column(text: &str, pos: usize) -> usize {
    pos - text[..pos].rfind('\n').map_or(0, |i| i + 1)
}

fn detect_style(text: &str, root: &Node) -> Style {
    let newline = match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    };
    let mut step = None;
    let mut seq_indent = None;
    learn_style(text, root, &mut step, &mut seq_indent, 0);
    Style {
        step: step.filter(|s| (1..=8).contains(s)).unwrap_or(2),
        seq_indent: seq_indent.unwrap_or(true),
        newline,
    }
}

/// The first nested block mapping gives the step, the first block sequence under a
/// key whether sequences are indented.
fn learn_style(
    text: &str,
    node: &Node,
    step: &mut Option<usize>,
    seq: &mut Option<bool>,
    depth: usize,
) {
    if depth > MAX_DEPTH || (step.is_some() && seq.is_some()) {
        return;
    }
    match &node.kind {
        Kind::Map(pairs) if !node.flow => {
            for (k, v) in pairs {
                if v.flow || v.start >= v.end {
                    continue;
                }
                let key_col = column(text, k.start);
                match &v.kind {
                    Kind::Map(_)
                        if step.is_none() && line_of(text, v.start) > line_of(text, k.start) =>
                    {
                        *step = column(text, v.start)
                            .checked_sub(key_col)
                            .filter(|s| *s > 0);
                    }
                    Kind::Seq(items) if seq.is_none() => {
                        if let Some(first) = items.first() {
                            let dash = {
                                let head = text[..first.start].trim_end_matches([' ', '\t']);
                                if head.ends_with('-') {
                                    head.len() - 1
                                } else {
                                    first.start
                                }
                            };
                            *seq = Some(column(text, dash) > key_col);
                        }
                    }
                    _ => {}
                }
                learn_style(text, v, step, seq, depth + 1);
            }
        }
        Kind::Seq(items) if !node.flow => {
            for item in items {
                learn_style(text, item, step, seq, depth + 1);
            }
        }
        _ => {}
    }
}

fn line_of(text: &str, pos: usize) -> usize {
    text[..pos].matches('\n').count()
}

/// `key: value` at column `col` (the key is at `col`; later lines are indented).
fn render_pair(key: &str, value: &Json, col: usize, style: Style, flow_only: bool) -> String {
    let k = render_key(key, false);
    if flow_only {
        return format!("{k}: {}", json_flow(value));
    }
    match value {
        Json::Object(m) if !m.is_empty() => {
            let inner = col + style.step;
            format!(
                "{k}:{}{}{}",
                style.newline,
                " ".repeat(inner),
                render_block(value, inner, style)
            )
        }
        Json::Array(a) if !a.is_empty() => {
            let inner = if style.seq_indent {
                col + style.step
            } else {
                col
            };
            format!(
                "{k}:{}{}{}",
                style.newline,
                " ".repeat(inner),
                render_block(value, inner, style)
            )
        }
        other => format!("{k}: {}", render_flow(other)),
    }
}

/// `value` in block style, its first line starting at column `col` (no indentation
/// before it), later lines indented to their depth.
fn render_block(value: &Json, col: usize, style: Style) -> String {
    let pad = " ".repeat(col);
    match value {
        Json::Object(m) if !m.is_empty() => m
            .iter()
            .map(|(k, v)| render_pair(k, v, col, style, false))
            .collect::<Vec<_>>()
            .join(&format!("{}{pad}", style.newline)),
        Json::Array(a) if !a.is_empty() => a
            .iter()
            .map(|v| match v {
                Json::Object(m) if !m.is_empty() => {
                    format!("- {}", render_block(v, col + 2, style))
                }
                Json::Array(x) if !x.is_empty() => format!("- {}", render_block(v, col + 2, style)),
                other => format!("- {}", render_flow(other)),
            })
            .collect::<Vec<_>>()
            .join(&format!("{}{pad}", style.newline)),
        other => render_flow(other),
    }
}

/// `value` on one line in flow style (`{command: npx, args: [-y, srv]}`).
fn render_flow(value: &Json) -> String {
    match value {
        Json::Null => "null".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => render_string(s, true),
        Json::Array(a) => format!(
            "[{}]",
            a.iter().map(render_flow).collect::<Vec<_>>().join(", ")
        ),
        Json::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", render_key(k, true), render_flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `value` as compact JSON, which YAML reads as the same flow value.
fn json_flow(value: &Json) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

fn render_key(key: &str, in_flow: bool) -> String {
    render_string(key, in_flow)
}

/// A string plain when YAML reads it back as the same string, else double-quoted (a
/// JSON string literal is a valid YAML double-quoted scalar).
fn render_string(s: &str, in_flow: bool) -> String {
    if is_plain_safe(s, in_flow) {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
    }
}

fn is_plain_safe(s: &str, in_flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.trim() != s || resolve_plain(s).is_some() {
        return false;
    }
    if matches!(
        first,
        '?' | ':'
            | ','
            | '['
            | ']'
            | '{'
            | '}'
            | '#'
            | '&'
            | '*'
            | '!'
            | '|'
            | '>'
            | '\''
            | '"'
            | '%'
            | '@'
            | '`'
    ) {
        return false;
    }
    if first == '-'
        && (s.len() == 1 || s[1..].starts_with(char::is_whitespace) || s.starts_with("---"))
    {
        return false;
    }
    if s.starts_with("...") || s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    if in_flow && s.contains([',', '[', ']', '{', '}']) {
        return false;
    }
    // Printable, no line breaks or tabs, no BOM or other invisible format characters.
    s.chars().all(|c| {
        !c.is_control()
            && c != '\u{feff}'
            && !('\u{2028}'..='\u{2029}').contains(&c)
            && !('\u{200b}'..='\u{200f}').contains(&c)
    }) && !s.contains(":\t")
}

#[cfg(test)]
#[path = "yamlfile_tests.rs"]
mod tests;
