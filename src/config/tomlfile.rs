//! Surgical edits of TOML host configs (Codex CLI's `config.toml`, Mistral Vibe's).
//!
//! The TOML counterpart of `jsonfile`: it reads server entries under a key path (e.g.
//! `mcp_servers`) as `serde_json` values, so the rest of Keybroker handles one entry
//! shape, and writes a changed entry back through `toml_edit`, which keeps comments,
//! whitespace, key order and table style of everything it was not asked to touch.
//! Within an edited entry only the keys whose value changed are replaced, so a comment
//! on an untouched key (`startup_timeout_sec = 20 # slow`) stays too.
//!
//! Servers come as a table of tables (`[mcp_servers.github]`, Codex) or as an array of
//! tables that name themselves (`[[mcp_servers]]` with `name = "github"`, Mistral Vibe;
//! an inline array of inline tables reads the same): the `list_*` functions address an
//! element by its name.
//!
//! Deliberately not done here: no file I/O (callers own reading, the conflict check and
//! the atomic write), no normalization, no removal of whole entries.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, TableLike, Value};

use crate::base::error::{Error, Result};
use crate::config::text::{BOM, decode_text, line_column};

/// A TOML config file held as a `toml_edit` document.
#[derive(Debug, Clone)]
pub struct TomlFile {
    path: PathBuf,
    bom: bool,
    /// Every line ends in CRLF: `toml_edit` prints LF, so CRs are put back.
    crlf: bool,
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
        let crlf = text.contains("\r\n") && !text.replace("\r\n", "").contains('\n');
        Ok(TomlFile {
            path: path.to_path_buf(),
            bom,
            crlf,
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
        match servers.get_mut(name).and_then(Item::as_table_like_mut) {
            Some(existing) => {
                update_table(existing, fields);
            }
            None => {
                servers.insert(name, Item::Table(new_table(fields)));
            }
        }
        Ok(())
    }

    /// The elements of the array of tables at `path` (e.g. `["mcp_servers"]`), each named
    /// by its `name_key` string, in file order, as JSON values (name key included). A
    /// missing step gives an empty list. An element without a string name is skipped
    /// (nothing can address it); a name used twice is read, and edited, at its first
    /// element.
    pub fn list_entries_at(&self, path: &[&str], name_key: &str) -> Result<Vec<(String, Json)>> {
        let Some((last, parents)) = path.split_last() else {
            return Ok(Vec::new());
        };
        let Some(parent) = self.walk(parents)? else {
            return Ok(Vec::new());
        };
        let Some(item) = parent.get(last) else {
            return Ok(Vec::new());
        };
        let elements: Vec<&dyn TableLike> = match item {
            Item::ArrayOfTables(a) => a.iter().map(|t| t as &dyn TableLike).collect(),
            Item::Value(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_inline_table().map(|t| t as &dyn TableLike))
                .collect(),
            _ => return Err(not_a_list(&self.path, &path.join("."), name_key)),
        };
        let mut out: Vec<(String, Json)> = Vec::new();
        for t in elements {
            let Some(name) = t.get(name_key).and_then(Item::as_str) else {
                continue;
            };
            if out.iter().any(|(n, _)| n == name) {
                continue;
            }
            let value = Json::Object(
                t.iter()
                    .map(|(k, i)| (k.to_string(), item_to_json(i)))
                    .collect(),
            );
            out.push((name.to_string(), value));
        }
        Ok(out)
    }

    /// Set the element of the array of tables at `path` whose `name_key` is `name` to
    /// `value`, updated key by key as [`TomlFile::set_entry_at`] does; an absent name is
    /// appended as a new `[[path]]` table after the last one (the array is created at the
    /// end of the file when missing).
    pub fn set_list_entry_at(
        &mut self,
        path: &[&str],
        name_key: &str,
        name: &str,
        value: &Json,
    ) -> Result<()> {
        let Some(fields) = value.as_object() else {
            return Err(Error::other(
                "internal error: a TOML server entry must be a table",
                "nothing was written; please report this bug",
            ));
        };
        let Some((last, parents)) = path.split_last() else {
            return Err(Error::other(
                "internal error: empty key path",
                "nothing was written; please report this bug",
            ));
        };
        let file = self.path.clone();
        let dotted = path.join(".");
        let parent = self.table_at_mut(parents)?;
        let names = |t: &dyn TableLike| t.get(name_key).and_then(Item::as_str) == Some(name);
        match parent.get_mut(last) {
            None => {
                let mut aot = ArrayOfTables::new();
                aot.push(new_table(fields));
                parent.insert(last, Item::ArrayOfTables(aot));
            }
            Some(Item::ArrayOfTables(aot)) => {
                let found = aot.iter().position(|t| names(t));
                match found.and_then(|i| aot.get_mut(i)) {
                    Some(t) => update_table(t, fields),
                    None => aot.push(new_table(fields)),
                }
            }
            Some(Item::Value(Value::Array(arr))) => {
                let found = arr
                    .iter_mut()
                    .filter_map(Value::as_inline_table_mut)
                    .find(|t| names(&**t));
                match found {
                    Some(t) => update_table(t, fields),
                    None => arr.push(json_to_value(value)),
                }
            }
            Some(_) => return Err(not_a_list(&file, &dotted, name_key)),
        }
        Ok(())
    }

    /// The table at `path`, with missing steps created as implicit tables.
    fn table_at_mut(&mut self, path: &[&str]) -> Result<&mut dyn TableLike> {
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
        item.as_table_like_mut()
            .ok_or_else(|| not_a_table(&file, &path.join(".")))
    }

    /// The document's text, BOM restored when the file had one.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.bom {
            out.extend_from_slice(BOM.as_bytes());
        }
        let text = self.doc.to_string();
        if self.crlf {
            let mut prev = '\0';
            let mut restored = String::with_capacity(text.len() + text.len() / 16);
            for c in text.chars() {
                if c == '\n' && prev != '\r' {
                    restored.push('\r');
                }
                restored.push(c);
                prev = c;
            }
            out.extend_from_slice(restored.as_bytes());
        } else {
            out.extend_from_slice(text.as_bytes());
        }
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

fn not_a_list(path: &Path, field: &str, name_key: &str) -> Error {
    Error::ConfigShape {
        path: path.to_path_buf(),
        field: field.to_owned(),
        message: "must be an array of server tables".into(),
        fix: format!(
            "write each server as a [[{field}]] table with {name_key} = \"...\" (Keybroker left the file untouched), then run the command again"
        ),
    }
}

/// A new `[table]` holding `fields`, in order.
fn new_table(fields: &serde_json::Map<String, Json>) -> Table {
    let mut t = Table::new();
    for (k, v) in fields {
        t.insert(k, json_to_item(v, None));
    }
    t
}

/// Change only what differs; keep the entry's own layout and comments elsewhere.
fn update_table(table: &mut dyn TableLike, fields: &serde_json::Map<String, Json>) {
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

    /// Regression (found by the document property tests): `toml_edit` prints LF line
    /// ends, so a CRLF file came back with every line changed.
    #[test]
    fn a_crlf_toml_file_keeps_its_line_endings_through_an_edit() {
        let text = CODEX.replace('\n', "\r\n");
        let mut f = file(&text);
        assert_eq!(f.to_bytes(), text.as_bytes());
        let v = serde_json::json!({"command": "/bin/kb", "args": ["run"]});
        f.set_entry_at(&["mcp_servers"], "new", &v).expect("set");
        let out = String::from_utf8(f.to_bytes()).expect("utf8");
        let at = text.find("[profiles.fast]").expect("profiles");
        assert!(out.starts_with(&text[..at]), "{out:?}");
        assert!(out.ends_with(&text[at..]), "{out:?}");
        assert!(!out.replace("\r\n", "").contains('\n'), "{out:?}");
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

    const VIBE: &str = r#"# Mistral Vibe
active_model = "devstral"   # keep

# the servers, one table each
[[mcp_servers]]
name = "github"   # GitHub's own server
transport = "stdio"
command = "npx"
args = ["-y", "@modelcontextprotocol/server-github"]
env = { GITHUB_PERSONAL_ACCESS_TOKEN = "ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" }
startup_timeout_sec = 20 # slow start

[[mcp_servers]]
transport = "stdio"
command = "nameless"

[[mcp_servers]]
name = "fetch"
transport = "stdio"
command = "uvx"
args = ["mcp-server-fetch"]

[[mcp_servers]]
name = "github"
command = "shadowed"

[tools.bash]
permission = "ask"
"#;

    const SERVERS: &[&str] = &["mcp_servers"];

    #[test]
    fn array_of_tables_elements_come_back_by_name_in_file_order() {
        let f = file(VIBE);
        assert_eq!(f.to_bytes(), VIBE.as_bytes());
        let e = f.list_entries_at(SERVERS, "name").expect("entries");
        let names: Vec<&str> = e.iter().map(|(n, _)| n.as_str()).collect();
        // The nameless element is skipped; a repeated name is its first element.
        assert_eq!(names, ["github", "fetch"]);
        assert_eq!(e[0].1["command"], "npx");
        assert_eq!(e[0].1["name"], "github");
        assert_eq!(e[1].1["args"][0], "mcp-server-fetch");
        assert!(
            f.list_entries_at(&["nothing"], "name")
                .expect("none")
                .is_empty()
        );
    }

    #[test]
    fn editing_one_element_keeps_every_byte_of_the_others_and_its_untouched_keys() {
        let mut f = file(VIBE);
        let mut v = f.list_entries_at(SERVERS, "name").expect("entries")[0]
            .1
            .clone();
        v["command"] = Json::from("/opt/kb/keybroker");
        v["args"] = serde_json::json!(["run", "mistral-vibe/github", "--", "npx", "-y", "s"]);
        v["env"] = serde_json::json!({});
        f.set_list_entry_at(SERVERS, "name", "github", &v)
            .expect("set");
        let out = String::from_utf8(f.to_bytes()).expect("utf8");
        let start = VIBE.find("[[mcp_servers]]").expect("first");
        let second = start + 1 + VIBE[start + 1..].find("[[mcp_servers]]").expect("second");
        assert!(out.starts_with(&VIBE[..start]), "{out}");
        assert!(out.ends_with(&VIBE[second..]), "{out}");
        assert!(
            out.contains("name = \"github\"   # GitHub's own server"),
            "{out}"
        );
        assert!(
            out.contains("startup_timeout_sec = 20 # slow start"),
            "{out}"
        );
        assert!(!out.contains("ghp_"), "{out}");
        let again = file(&out);
        assert_eq!(again.list_entries_at(SERVERS, "name").expect("e")[0].1, v);
        // Setting the same value again changes nothing.
        let mut same = file(&out);
        same.set_list_entry_at(SERVERS, "name", "github", &v)
            .expect("set");
        assert_eq!(same.to_bytes(), out.as_bytes());
    }

    #[test]
    fn a_new_element_goes_after_the_last_one_and_a_missing_array_is_created() {
        let mut f = file(VIBE);
        let v = serde_json::json!({"name": "new", "transport": "stdio", "command": "x", "env": {"A": ""}});
        f.set_list_entry_at(SERVERS, "name", "new", &v)
            .expect("add");
        let out = String::from_utf8(f.to_bytes()).expect("utf8");
        let at = VIBE.find("[tools.bash]").expect("tools");
        assert!(out.starts_with(&VIBE[..at]), "{out}");
        assert!(out.ends_with(&VIBE[at..]), "{out}");
        let names: Vec<String> = file(&out)
            .list_entries_at(SERVERS, "name")
            .expect("e")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["github", "fetch", "new"]);

        let mut empty = file("active_model = \"x\" # keep\n");
        empty
            .set_list_entry_at(SERVERS, "name", "new", &v)
            .expect("add");
        let out = String::from_utf8(empty.to_bytes()).expect("utf8");
        assert!(out.starts_with("active_model = \"x\" # keep\n"), "{out}");
        assert_eq!(
            file(&out).list_entries_at(SERVERS, "name").expect("e")[0].1,
            v
        );
    }

    #[test]
    fn an_inline_array_of_tables_is_read_and_edited_in_place() {
        let text = "mcp_servers = [ { name = \"a\", command = \"x\" }, { name = \"b\", command = \"y\" } ] # two\n";
        let mut f = file(text);
        let e = f.list_entries_at(SERVERS, "name").expect("e");
        assert_eq!(e.len(), 2);
        let mut v = e[1].1.clone();
        v["command"] = Json::from("z");
        f.set_list_entry_at(SERVERS, "name", "b", &v).expect("set");
        let out = String::from_utf8(f.to_bytes()).expect("utf8");
        assert!(
            out.starts_with("mcp_servers = [ { name = \"a\", command = \"x\" }, "),
            "{out}"
        );
        assert!(out.ends_with("] # two\n"), "{out}");
        assert_eq!(
            file(&out).list_entries_at(SERVERS, "name").expect("e")[1].1,
            v
        );
    }

    #[test]
    fn servers_written_as_named_tables_are_a_shape_error_for_a_list_host() {
        let f = file("[mcp_servers.github]\ncommand = \"x\"\n");
        let err = f.list_entries_at(SERVERS, "name").expect_err("not a list");
        assert!(matches!(err, Error::ConfigShape { .. }), "{err}");
        let mut f = file("mcp_servers = 3\n");
        let v = serde_json::json!({"name": "a"});
        assert!(f.set_list_entry_at(SERVERS, "name", "a", &v).is_err());
        assert_eq!(f.to_bytes(), b"mcp_servers = 3\n");
    }

    /// A small deterministic generator, so the edits below are varied but repeatable.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    #[test]
    fn random_edits_of_array_elements_keep_every_other_element_byte_for_byte() {
        let n = 6;
        let mut text = String::from("# servers\nactive_model = \"m\"\n");
        for i in 0..n {
            text.push_str(&format!(
                "\n# server {i}\n[[mcp_servers]]\nname = \"s{i}\"  # s{i}\ntransport = \"stdio\"\ncommand = \"cmd{i}\"\nargs = [\"--n\", \"{i}\"]   # args {i}\nenv = {{ K{i} = \"v{i}\" }}\n"
            ));
        }
        text.push_str("\n[tools.bash]\npermission = \"ask\"  # last\n");
        // The text of element i: from its comment line to the next one.
        let segment = |t: &str, i: usize| -> String {
            let start = t.find(&format!("# server {i}\n")).expect("segment start");
            let end = t[start + 1..]
                .find("# server ")
                .map(|e| start + 1 + e)
                .or_else(|| t.find("\n[tools.bash]"))
                .expect("segment end");
            t[start..end].to_string()
        };
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..40 {
            let mut f = file(&text);
            let entries = f.list_entries_at(SERVERS, "name").expect("entries");
            let i = rng.next(n);
            let mut v = entries[i].1.clone();
            let obj = v.as_object_mut().expect("object");
            match rng.next(5) {
                0 => {
                    obj.insert("command".into(), Json::from(format!("/bin/c{round}")));
                }
                1 => {
                    obj.insert(
                        "args".into(),
                        serde_json::json!(["run", format!("r{round}")]),
                    );
                }
                2 => {
                    obj.insert("env".into(), serde_json::json!({}));
                }
                3 => {
                    obj.insert(format!("extra{round}"), Json::from(round as i64));
                }
                _ => {
                    obj.shift_remove("env");
                }
            }
            f.set_list_entry_at(SERVERS, "name", &format!("s{i}"), &v)
                .expect("set");
            let out = String::from_utf8(f.to_bytes()).expect("utf8");
            for j in (0..n).filter(|&j| j != i) {
                assert_eq!(
                    segment(&out, j),
                    segment(&text, j),
                    "round {round}, element {j}"
                );
            }
            assert!(
                out.starts_with("# servers\nactive_model = \"m\"\n"),
                "{out}"
            );
            assert!(
                out.ends_with("\n[tools.bash]\npermission = \"ask\"  # last\n"),
                "{out}"
            );
            assert!(
                segment(&out, i).contains(&format!("name = \"s{i}\"  # s{i}")),
                "{out}"
            );
            let again = file(&out)
                .list_entries_at(SERVERS, "name")
                .expect("re-read");
            assert_eq!(again[i].1, v, "round {round}");
            assert_eq!(again.len(), n);
            text = out;
        }
    }
}
