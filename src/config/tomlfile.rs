//! Surgical edits of TOML host configs (Codex CLI's `config.toml`).
//!
//! The TOML counterpart of `jsonfile`: it reads server entries under a key path (e.g.
//! `mcp_servers`) as `serde_json` values, so the rest of Keybroker handles one entry
//! shape, and writes a changed entry back through `toml_edit`, which keeps comments,
//! whitespace, key order and table style of everything it was not asked to touch.
//! Within an edited entry only the keys whose value changed are replaced, so a comment
//! on an untouched key (`startup_timeout_sec = 20 # slow`) stays too.
//!
//! Deliberately not done here: no file I/O (callers own reading, the conflict check and
//! the atomic write), no normalization, no removal of whole entries.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, Value};

use crate::base::error::{Error, Result};
use crate::config::text::{BOM, decode_text, line_column};

/// A TOML config file held as a `toml_edit` document.
#[derive(Debug, Clone)]
pub struct TomlFile {
    path: PathBuf,
    bom: bool,
    doc: DocumentMut,
}

impl TomlFile {
    /// Parse bytes read from `path` (used only in error messages). Invalid UTF-8 or
    /// TOML -> [`Error::ConfigSyntax`] with 1-based line and column.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<TomlFile> {
        let (bom, text) = decode_text(path, bytes)?;
        let doc = text.parse::<DocumentMut>().map_err(|e| {
            let at = e.span().map(|s| s.start).unwrap_or(0);
            let (line, column) = line_column(text, at);
            Error::ConfigSyntax {
                path: path.to_path_buf(),
                line,
                column,
                message: format!(
                    "invalid TOML: {}",
                    e.message().lines().next().unwrap_or_default()
                ),
            }
        })?;
        Ok(TomlFile {
            path: path.to_path_buf(),
            bom,
            doc,
        })
    }

    /// The entries of the table at `path` (e.g. `["mcp_servers"]`) in file order, as
    /// JSON values. A missing step gives an empty list.
    pub fn entries_at(&self, path: &[&str]) -> Result<Vec<(String, Json)>> {
        let Some(table) = self.walk(path)? else {
            return Ok(Vec::new());
        };
        Ok(table
            .iter()
            .map(|(k, item)| (k.to_string(), item_to_json(item)))
            .collect())
    }

    /// Set `path.name` to `value`. An existing entry is updated key by key (only keys
    /// whose value differs are rewritten; keys absent from `value` are removed); a new
    /// entry becomes a `[path.name]` table at the end of the file.
    pub fn set_entry_at(&mut self, path: &[&str], name: &str, value: &Json) -> Result<()> {
        let Some(fields) = value.as_object() else {
            return Err(Error::other(
                "internal error: a TOML server entry must be a table",
                "nothing was written; please report this bug",
            ));
        };
        let file = self.path.clone();
        let mut item: &mut Item = self.doc.as_item_mut();
        for (i, key) in path.iter().enumerate() {
            let Some(table) = item.as_table_like_mut() else {
                return Err(not_a_table(&file, &path[..i].join(".")));
            };
            if table.get(key).is_none() {
                let mut t = Table::new();
                t.set_implicit(true);
                table.insert(key, Item::Table(t));
            }
            let Some(next) = table.get_mut(key) else {
                return Err(not_a_table(&file, &path[..=i].join(".")));
            };
            item = next;
        }
        let dotted = path.join(".");
        let Some(servers) = item.as_table_like_mut() else {
            return Err(not_a_table(&file, &dotted));
        };
        match servers.get_mut(name) {
            Some(existing) if existing.is_table_like() => {
                update_table(existing, fields);
            }
            _ => {
                let mut t = Table::new();
                for (k, v) in fields {
                    t.insert(k, json_to_item(v, None));
                }
                servers.insert(name, Item::Table(t));
            }
        }
        Ok(())
    }

    /// The document's text, BOM restored when the file had one.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.bom {
            out.extend_from_slice(BOM.as_bytes());
        }
        out.extend_from_slice(self.doc.to_string().as_bytes());
        out
    }

    fn walk(&self, path: &[&str]) -> Result<Option<&dyn toml_edit::TableLike>> {
        let mut table: &dyn toml_edit::TableLike = self.doc.as_table();
        for (i, key) in path.iter().enumerate() {
            let Some(item) = table.get(key) else {
                return Ok(None);
            };
            table = item
                .as_table_like()
                .ok_or_else(|| not_a_table(&self.path, &path[..=i].join(".")))?;
        }
        Ok(Some(table))
    }
}

fn not_a_table(path: &Path, field: &str) -> Error {
    Error::ConfigShape {
        path: path.to_path_buf(),
        field: field.to_owned(),
        message: "must be a table of server entries".into(),
        fix: format!(
            "write it as [{field}.<name>] tables (Keybroker left the file untouched), then run the command again"
        ),
    }
}

/// Change only what differs; keep the entry's own layout and comments elsewhere.
fn update_table(existing: &mut Item, fields: &serde_json::Map<String, Json>) {
    let Some(table) = existing.as_table_like_mut() else {
        return;
    };
    let stale: Vec<String> = table
        .iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| !fields.contains_key(k))
        .collect();
    for k in stale {
        table.remove(&k);
    }
    for (k, v) in fields {
        match table.get_mut(k) {
            Some(old) if item_to_json(old) == *v => {}
            Some(old) => {
                let new = json_to_item(v, Some(old));
                // Keep the comment/whitespace around a replaced inline value.
                if let (Some(old_v), Item::Value(mut nv)) = (old.as_value(), new.clone()) {
                    *nv.decor_mut() = old_v.decor().clone();
                    *old = Item::Value(nv);
                } else {
                    *old = new;
                }
            }
            None => {
                table.insert(k, json_to_item(v, None));
            }
        }
    }
}

/// A JSON value as a TOML item; `like` (the item it replaces) decides table vs inline.
fn json_to_item(v: &Json, like: Option<&Item>) -> Item {
    match v {
        Json::Object(map) if like.is_some_and(|l| l.is_table()) => {
            let mut t = Table::new();
            for (k, x) in map {
                t.insert(k, json_to_item(x, None));
            }
            Item::Table(t)
        }
        other => Item::Value(json_to_value(other)),
    }
}

fn json_to_value(v: &Json) -> Value {
    match v {
        Json::Null => Value::from(""),
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::from(i),
            None => Value::from(n.as_f64().unwrap_or_default()),
        },
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(a) => {
            let mut arr = Array::new();
            for x in a {
                arr.push(json_to_value(x));
            }
            Value::Array(arr)
        }
        Json::Object(map) => {
            let mut t = InlineTable::new();
            for (k, x) in map {
                t.insert(k, json_to_value(x));
            }
            Value::InlineTable(t)
        }
    }
}

fn item_to_json(item: &Item) -> Json {
    match item {
        Item::None => Json::Null,
        Item::Value(v) => value_to_json(v),
        Item::Table(t) => Json::Object(
            t.iter()
                .map(|(k, i)| (k.to_string(), item_to_json(i)))
                .collect(),
        ),
        Item::ArrayOfTables(a) => Json::Array(
            a.iter()
                .map(|t| {
                    Json::Object(
                        t.iter()
                            .map(|(k, i)| (k.to_string(), item_to_json(i)))
                            .collect(),
                    )
                })
                .collect(),
        ),
    }
}

fn value_to_json(v: &Value) -> Json {
    match v {
        Value::String(s) => Json::String(s.value().clone()),
        Value::Integer(i) => Json::from(*i.value()),
        Value::Float(f) => serde_json::Number::from_f64(*f.value())
            .map(Json::Number)
            .unwrap_or(Json::Null),
        Value::Boolean(b) => Json::Bool(*b.value()),
        Value::Datetime(d) => Json::String(d.value().to_string()),
        Value::Array(a) => Json::Array(a.iter().map(value_to_json).collect()),
        Value::InlineTable(t) => Json::Object(
            t.iter()
                .map(|(k, x)| (k.to_string(), value_to_json(x)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODEX: &str = r#"# Codex settings
model = "o4-mini"   # keep

[mcp_servers.github]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-github"] # the server
env = { GITHUB_PERSONAL_ACCESS_TOKEN = "ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", LOG = "debug" }
startup_timeout_sec = 20 # slow start

[mcp_servers.docs]
url = "https://example.com/mcp"

[profiles.fast]
model = "gpt-5"
"#;

    fn file(text: &str) -> TomlFile {
        TomlFile::parse(Path::new("/x/config.toml"), text.as_bytes()).expect("parses")
    }

    #[test]
    fn an_unchanged_toml_file_round_trips_byte_identical() {
        assert_eq!(file(CODEX).to_bytes(), CODEX.as_bytes());
    }

    #[test]
    fn entries_come_back_as_json_values_in_file_order() {
        let f = file(CODEX);
        let e = f.entries_at(&["mcp_servers"]).expect("entries");
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].0, "github");
        assert_eq!(e[0].1["env"]["LOG"], "debug");
        assert_eq!(e[1].1["url"], "https://example.com/mcp");
    }

    #[test]
    fn set_entry_rewrites_only_the_changed_keys() {
        let mut f = file(CODEX);
        let mut v = f.entries_at(&["mcp_servers"]).expect("entries")[0]
            .1
            .clone();
        v["command"] = Json::from("/bin/keybroker");
        v["args"] = serde_json::json!(["run", "codex/github", "--", "npx", "-y", "s"]);
        v["env"] = serde_json::json!({"LOG": "debug"});
        f.set_entry_at(&["mcp_servers"], "github", &v).expect("set");
        let out = String::from_utf8(f.to_bytes()).expect("utf8");
        assert!(
            out.contains("startup_timeout_sec = 20 # slow start"),
            "{out}"
        );
        assert!(out.contains("model = \"o4-mini\"   # keep"), "{out}");
        assert!(out.contains("# the server"), "{out}");
        assert!(!out.contains("ghp_"), "{out}");
        assert!(out.contains("command = \"/bin/keybroker\""), "{out}");
        let again = file(&out);
        assert_eq!(again.entries_at(&["mcp_servers"]).expect("e")[0].1, v);
        // Everything after the edited entry is unchanged.
        let tail = &CODEX[CODEX.find("[mcp_servers.docs]").expect("docs")..];
        assert!(out.ends_with(tail));
    }

    #[test]
    fn invalid_toml_is_a_syntax_error_with_its_line() {
        let err =
            TomlFile::parse(Path::new("/x/config.toml"), b"a = 1\nb = = 2\n").expect_err("invalid");
        match err {
            Error::ConfigSyntax { line, .. } => assert_eq!(line, 2),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn mcp_servers_that_is_not_a_table_is_a_shape_error() {
        let f = file("mcp_servers = 3\n");
        assert!(matches!(
            f.entries_at(&["mcp_servers"]),
            Err(Error::ConfigShape { .. })
        ));
    }
}
