//! Entry shapes: how a host lays out its servers and each server's entry, where that
//! differs from the common `"<name>": { "command": "x", "args": [...], "env": {...} }`.
//!
//! Everything past the document reads and builds that standard shape: `Entry::from_value`,
//! the entries an import writes, inventory, watch, restore and the launcher's approval
//! check. A row's [`Shape`] converts at the document boundary (`config::doc`): an entry
//! read from the file comes out standard ([`Shape::read`]), an entry written goes back in
//! the host's own form ([`Shape::write`]). So opencode's
//! `{ "type": "local", "command": ["npx", "-y", "x"], "environment": {...} }` is seen as
//! `{ "type": "local", "command": "npx", "args": ["-y", "x"], "env": {...} }` and written
//! back the way opencode reads it. Conversions are plain functions on `serde_json`
//! values, so they hold whatever the file format is: a YAML host is a row too (Goose's
//! `cmd`/`envs`/`uri` are renames, Continue's `mcpServers` list is a [`Collection::List`]).
//!
//! Keys keep their places: a converted key sits where the host wrote it, and keys no
//! conversion knows stay as they are. An entry that cannot be read without guessing
//! (opencode's `command` written as a plain string, Grok's `transport` next to a
//! top-level `command`) comes back marked, and `Entry::from_value` reports it as left
//! alone with the reason: Keybroker never rewrites what it may have read differently
//! from the host.
//!
//! Deliberately not here: where the servers sit in the file (the row's key path) and any
//! file I/O.

use serde_json::{Map, Value};

/// The key an unreadable entry carries, with the reason as its value (read by
/// `Entry::from_value`; never written to a file).
pub(crate) const UNSUPPORTED: &str = "$keybroker-unsupported";

/// `type` values that name a remote transport.
const REMOTE_TYPES: &[&str] = &[
    "http",
    "sse",
    "streamable-http",
    "streamable_http",
    "remote",
];

/// How the servers are collected at the row's key path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// A map from server name to entry (`"mcpServers": { "github": {...} }`).
    Map,
    /// An array of entries, each naming itself in `name_key` (Mistral Vibe's
    /// `[[mcp_servers]]` tables with `name = "github"`, Grok CLI 1.x's `mcp.servers`
    /// objects with `"id": "github"`).
    List { name_key: &'static str },
}

/// How an entry spells the program and its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Argv {
    /// `command` is the program, `args` its arguments.
    Split,
    /// `command` is one array: the program, then its arguments; there is no `args`
    /// (opencode, Kilo).
    Joined,
    /// `command` is the program, a string the host splits like a POSIX shell, or an
    /// array; `args` follow (Mistral Vibe's `command: str | list[str]`). Written back, a
    /// program whose path a shell would split becomes a one-item array.
    ShellOrJoined,
}

/// An object inside the entry that holds some of the standard keys (Grok CLI's
/// `transport: { type, command, args, env, url, headers }`, Mistral Vibe's
/// `auth: { type = "static", headers }`). Read, those keys move up to the entry where the
/// object was; written, they move back in. Its other keys stay in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nested {
    pub key: &'static str,
    pub keys: &'static [&'static str],
}

/// A host's entry shape, as data (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub collection: Collection,
    pub argv: Argv,
    /// Keys the host spells differently, as (host key, standard key): opencode's
    /// `("environment", "env")`, Mistral Vibe's `("transport", "type")`.
    pub renames: &'static [(&'static str, &'static str)],
    pub nested: Option<Nested>,
    /// The `type` a written stdio entry must carry (in standard terms, before renames),
    /// for hosts that require one: set when an entry with a `command` names no type or a
    /// remote one (an imported remote server becomes a stdio bridge entry).
    pub stdio_type: Option<&'static str>,
    /// Keys every written entry must have, and what to put there when the entry being
    /// replaced had none (Copilot CLI's `tools`, Grok CLI 1.x's `label` and `enabled`).
    pub required: &'static [(&'static str, Fill)],
}

/// The value a required key gets when the entry being replaced did not have one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// This value, as JSON text.
    Json(&'static str),
    /// The server's name.
    Name,
}

impl Shape {
    /// `mcpServers`-style maps of `{command, args, env}` entries: nothing to convert.
    pub const STANDARD: Shape = Shape {
        collection: Collection::Map,
        argv: Argv::Split,
        renames: &[],
        nested: None,
        stdio_type: None,
        required: &[],
    };

    /// True when reading and writing change nothing.
    pub fn is_standard(&self) -> bool {
        *self == Shape::STANDARD
    }

    /// The host entry `entry` (as the file holds it) in the standard shape. An entry
    /// that cannot be converted without guessing is returned as it is, plus the
    /// [`UNSUPPORTED`] key with the reason.
    pub fn read(&self, entry: &Value) -> Value {
        let Some(obj) = entry.as_object() else {
            return entry.clone();
        };
        let mut obj = obj.clone();
        if let Collection::List { name_key } = self.collection {
            obj.shift_remove(name_key);
        }
        match self.read_object(obj.clone()) {
            Ok(converted) => Value::Object(converted),
            Err(why) => {
                obj.insert(UNSUPPORTED.into(), Value::String(why));
                Value::Object(obj)
            }
        }
    }

    /// The standard entry `entry` in the host's shape, to be stored as server `name`.
    /// `existing` is the host entry it replaces (as the file holds it), if any.
    pub fn write(&self, name: &str, entry: &Value, existing: Option<&Value>) -> Value {
        let Some(obj) = entry.as_object() else {
            return entry.clone();
        };
        let mut obj = obj.clone();
        obj.shift_remove(UNSUPPORTED);
        if let Some(ty) = self.stdio_type {
            let runs_command = obj.get("command").is_some_and(Value::is_string);
            let ty_now = obj.get("type").and_then(Value::as_str);
            if runs_command && ty_now.is_none_or(|t| REMOTE_TYPES.contains(&t)) {
                if obj.contains_key("type") {
                    obj.insert("type".into(), Value::String(ty.into()));
                } else {
                    obj = insert_at(obj, 0, "type", Value::String(ty.into()));
                }
            }
        }
        for (key, fill) in self.required {
            if obj.contains_key(*key) {
                continue;
            }
            let value = existing
                .and_then(|e| e.get(*key))
                .cloned()
                .or_else(|| match fill {
                    Fill::Json(text) => serde_json::from_str(text).ok(),
                    Fill::Name => Some(Value::String(name.into())),
                });
            if let Some(v) = value {
                obj.insert((*key).into(), v);
            }
        }
        obj = match self.argv {
            Argv::Split => obj,
            Argv::Joined => join_argv(obj),
            Argv::ShellOrJoined => guard_shell_split(obj),
        };
        for (host_key, std_key) in self.renames {
            obj = rename(obj, std_key, host_key);
        }
        if let Some(n) = self.nested {
            obj = nest(obj, n);
        }
        if let Collection::List { name_key } = self.collection {
            obj.shift_remove(name_key);
            obj = insert_at(obj, 0, name_key, Value::String(name.into()));
        }
        Value::Object(obj)
    }

    fn read_object(&self, mut obj: Map<String, Value>) -> Result<Map<String, Value>, String> {
        if let Some(n) = self.nested {
            obj = hoist(obj, n)?;
        }
        for (host_key, std_key) in self.renames {
            if obj.contains_key(*host_key) && obj.contains_key(*std_key) {
                return Err(format!(
                    "it has both `{host_key}` and `{std_key}`; keep one to import it"
                ));
            }
            obj = rename(obj, host_key, std_key);
        }
        match self.argv {
            Argv::Split => Ok(obj),
            Argv::Joined => split_joined(obj),
            Argv::ShellOrJoined => split_shell_or_joined(obj),
        }
    }
}

/// `obj` with `key` renamed to `to`, in place.
fn rename(obj: Map<String, Value>, key: &str, to: &str) -> Map<String, Value> {
    if !obj.contains_key(key) {
        return obj;
    }
    obj.into_iter()
        .map(|(k, v)| {
            if k == key {
                (to.to_string(), v)
            } else {
                (k, v)
            }
        })
        .collect()
}

/// `obj` with `key: value` at position `at` (or where `key` already is).
fn insert_at(obj: Map<String, Value>, at: usize, key: &str, value: Value) -> Map<String, Value> {
    let mut out = Map::new();
    let mut value = Some(value);
    for (i, (k, v)) in obj.into_iter().enumerate() {
        if i == at
            && let Some(v) = value.take()
        {
            out.insert(key.to_string(), v);
        }
        if k != key {
            out.insert(k, v);
        }
    }
    if let Some(v) = value {
        out.insert(key.to_string(), v);
    }
    out
}

/// The strings of `v` if it is a non-empty array of strings.
fn strings(v: &Value) -> Option<Vec<String>> {
    let items = v.as_array()?;
    let out: Option<Vec<String>> = items.iter().map(|x| x.as_str().map(String::from)).collect();
    out.filter(|o| !o.is_empty())
}

/// `obj` with `command` replaced by the program and `args` by `rest` + the old args,
/// `args` placed right after `command` when it was not there.
fn with_argv(
    obj: Map<String, Value>,
    program: String,
    rest: Vec<String>,
    always_args: bool,
) -> Result<Map<String, Value>, String> {
    let mut args: Vec<Value> = rest.into_iter().map(Value::String).collect();
    let had_args = obj.contains_key("args");
    if let Some(old) = obj.get("args") {
        let Some(old) = old.as_array() else {
            return Err("`args` is not an array".into());
        };
        args.extend(old.iter().cloned());
    }
    let mut out = Map::new();
    for (k, v) in obj {
        match k.as_str() {
            "command" => {
                out.insert(k, Value::String(program.clone()));
                if !had_args && (always_args || !args.is_empty()) {
                    out.insert("args".into(), Value::Array(args.clone()));
                }
            }
            "args" => {
                out.insert(k, Value::Array(args.clone()));
            }
            _ => {
                out.insert(k, v);
            }
        }
    }
    Ok(out)
}

/// opencode's `command: [program, args...]` as `command` + `args`.
fn split_joined(obj: Map<String, Value>) -> Result<Map<String, Value>, String> {
    let Some(command) = obj.get("command") else {
        return Ok(obj);
    };
    if command.is_string() {
        return Err(
            "`command` is a string, but this host reads it as an array: the program, then its arguments".into(),
        );
    }
    let Some(argv) = strings(command) else {
        return Err("`command` must list the program and its arguments as strings".into());
    };
    if obj.contains_key("args") {
        return Err(
            "it has `args`, which this host does not read: its arguments go in the `command` array"
                .into(),
        );
    }
    let mut argv = argv.into_iter();
    let program = argv.next().unwrap_or_default();
    with_argv(obj, program, argv.collect(), true)
}

/// `command` + `args` as opencode's single `command` array.
fn join_argv(obj: Map<String, Value>) -> Map<String, Value> {
    let Some(program) = obj.get("command").and_then(Value::as_str).map(String::from) else {
        return obj;
    };
    let mut argv = vec![Value::String(program)];
    if let Some(args) = obj.get("args").and_then(Value::as_array) {
        argv.extend(args.iter().cloned());
    }
    obj.into_iter()
        .filter(|(k, _)| k != "args")
        .map(|(k, v)| {
            if k == "command" {
                (k, Value::Array(argv.clone()))
            } else {
                (k, v)
            }
        })
        .collect()
}

/// Mistral Vibe's `command` (a string it splits like a shell, or an array) + `args` as
/// one program and its arguments.
fn split_shell_or_joined(obj: Map<String, Value>) -> Result<Map<String, Value>, String> {
    let words = match obj.get("command") {
        None => return Ok(obj),
        Some(Value::String(s)) if !needs_shell_split(s) => return Ok(obj),
        Some(Value::String(s)) => shell_split(s)?,
        Some(v @ Value::Array(_)) => {
            strings(v).ok_or("`command` must list the program and its arguments as strings")?
        }
        Some(_) => return Err("`command` is neither a string nor a list of strings".into()),
    };
    let mut words = words.into_iter();
    let Some(program) = words.next() else {
        return Err("`command` is empty".into());
    };
    with_argv(obj, program, words.collect(), false)
}

/// A program path the host would split (spaces, quotes, backslashes) written as a
/// one-item array, which it takes as is.
fn guard_shell_split(mut obj: Map<String, Value>) -> Map<String, Value> {
    if let Some(program) = obj.get("command").and_then(Value::as_str)
        && (needs_shell_split(program) || program.is_empty())
    {
        let argv = Value::Array(vec![Value::String(program.to_string())]);
        obj.insert("command".into(), argv);
    }
    obj
}

fn needs_shell_split(s: &str) -> bool {
    s.chars()
        .any(|c| c.is_whitespace() || matches!(c, '\'' | '"' | '\\'))
}

/// `s` split into words the way POSIX shells (and Python's `shlex.split`) do: blanks
/// separate words, single quotes are literal, double quotes allow `\"` and `\\`, and a
/// backslash outside quotes escapes the next character.
fn shell_split(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => w.push(x),
                        None => return Err("`command` has an unclosed quote".into()),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\')) => w.push(x),
                            Some(x) => {
                                w.push('\\');
                                w.push(x);
                            }
                            None => return Err("`command` has an unclosed quote".into()),
                        },
                        Some(x) => w.push(x),
                        None => return Err("`command` has an unclosed quote".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(x) => word.get_or_insert_with(String::new).push(x),
                None => return Err("`command` ends in a lone backslash".into()),
            },
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

/// The keys `n.keys` of the object at `n.key`, moved up to where that object is.
fn hoist(obj: Map<String, Value>, n: Nested) -> Result<Map<String, Value>, String> {
    let Some(Value::Object(inner)) = obj.get(n.key) else {
        return Ok(obj);
    };
    let inner = inner.clone();
    for k in inner.keys() {
        if n.keys.contains(&k.as_str()) && obj.contains_key(k) {
            return Err(format!(
                "it has both `{}.{k}` and a top-level `{k}`; keep one to import it",
                n.key
            ));
        }
    }
    let mut out = Map::new();
    for (k, v) in obj {
        if k != n.key {
            out.insert(k, v);
            continue;
        }
        let mut rest = Map::new();
        for (ik, iv) in &inner {
            if n.keys.contains(&ik.as_str()) {
                out.insert(ik.clone(), iv.clone());
            } else {
                rest.insert(ik.clone(), iv.clone());
            }
        }
        if !rest.is_empty() {
            out.insert(k, Value::Object(rest));
        }
    }
    Ok(out)
}

/// The keys `n.keys` found at the top of `obj`, moved into the object at `n.key` (first
/// there, the object's other keys after them), placed where the first of them was.
fn nest(obj: Map<String, Value>, n: Nested) -> Map<String, Value> {
    if !obj.keys().any(|k| n.keys.contains(&k.as_str())) {
        return obj;
    }
    let mut inner = Map::new();
    for (k, v) in &obj {
        if n.keys.contains(&k.as_str()) {
            inner.insert(k.clone(), v.clone());
        }
    }
    if let Some(Value::Object(rest)) = obj.get(n.key) {
        for (k, v) in rest {
            inner.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    let mut out = Map::new();
    let mut inner = Some(inner);
    for (k, v) in obj {
        let moved = n.keys.contains(&k.as_str()) || k == n.key;
        if moved {
            if let Some(i) = inner.take() {
                out.insert(n.key.to_string(), Value::Object(i));
            }
        } else {
            out.insert(k, v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const OPENCODE: Shape = Shape {
        collection: Collection::Map,
        argv: Argv::Joined,
        renames: &[("environment", "env")],
        nested: None,
        stdio_type: Some("local"),
        required: &[],
    };

    const GROK: Shape = Shape {
        collection: Collection::Map,
        argv: Argv::Split,
        renames: &[],
        nested: Some(Nested {
            key: "transport",
            keys: &["type", "command", "args", "env", "url", "headers"],
        }),
        stdio_type: Some("stdio"),
        required: &[],
    };

    const VIBE: Shape = Shape {
        collection: Collection::List { name_key: "name" },
        argv: Argv::ShellOrJoined,
        renames: &[("transport", "type")],
        nested: Some(Nested {
            key: "auth",
            keys: &["headers"],
        }),
        stdio_type: Some("stdio"),
        required: &[],
    };

    const COPILOT: Shape = Shape {
        collection: Collection::Map,
        argv: Argv::Split,
        renames: &[],
        nested: None,
        stdio_type: Some("local"),
        required: &[("tools", Fill::Json("[\"*\"]"))],
    };

    /// Grok CLI 1.x: `mcp.servers` is a list of `{id, label, enabled, transport, ...}`.
    const GROK_DEV: Shape = Shape {
        collection: Collection::List { name_key: "id" },
        argv: Argv::Split,
        renames: &[("transport", "type")],
        nested: None,
        stdio_type: Some("stdio"),
        required: &[("label", Fill::Name), ("enabled", Fill::Json("true"))],
    };

    /// The keys of an object, in order.
    fn keys(v: &Value) -> Vec<&str> {
        v.as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect()
    }

    fn round_trip(shape: &Shape, name: &str, host: Value) -> Value {
        let std = shape.read(&host);
        assert!(std.get(UNSUPPORTED).is_none(), "{std}");
        let back = shape.write(name, &std, Some(&host));
        assert_eq!(back, host);
        assert_eq!(keys(&back), keys(&host), "key order");
        std
    }

    #[test]
    fn opencode_command_array_reads_as_command_and_args_and_writes_back_in_place() {
        let host = json!({
            "type": "local",
            "command": ["npx", "-y", "@modelcontextprotocol/server-github"],
            "environment": {"GITHUB_TOKEN": "x"},
            "enabled": true,
            "timeout": 5000
        });
        let std = round_trip(&OPENCODE, "github", host);
        assert_eq!(
            std,
            json!({
                "type": "local",
                "command": "npx",
                "args": ["-y", "@modelcontextprotocol/server-github"],
                "env": {"GITHUB_TOKEN": "x"},
                "enabled": true,
                "timeout": 5000
            })
        );
        assert_eq!(
            keys(&std),
            ["type", "command", "args", "env", "enabled", "timeout"]
        );
        // A program alone still gets (empty) args, and comes back as a one-item array.
        round_trip(&OPENCODE, "x", json!({"type": "local", "command": ["srv"]}));
    }

    #[test]
    fn an_opencode_entry_rewritten_by_an_import_goes_back_as_the_host_reads_it() {
        let std = json!({
            "type": "local",
            "command": "/opt/kb/keybroker",
            "args": ["run", "opencode/github", "--", "npx", "-y", "srv"],
            "env": {},
            "enabled": true,
            "x-unknown": [1, 2]
        });
        let host = OPENCODE.write("github", &std, None);
        assert_eq!(
            host,
            json!({
                "type": "local",
                "command": ["/opt/kb/keybroker", "run", "opencode/github", "--", "npx", "-y", "srv"],
                "environment": {},
                "enabled": true,
                "x-unknown": [1, 2]
            })
        );
        assert_eq!(
            keys(&host),
            ["type", "command", "environment", "enabled", "x-unknown"]
        );
    }

    #[test]
    fn a_remote_opencode_entry_reads_with_its_url_and_its_bridge_entry_is_local() {
        let host = json!({"type": "remote", "url": "https://mcp.example.com", "headers": {"A": "b"}, "enabled": true});
        let std = round_trip(&OPENCODE, "api", host);
        assert_eq!(std["url"], "https://mcp.example.com");
        // The bridge entry the import writes for it: a fresh stdio entry.
        let bridge = json!({"command": "/opt/kb/keybroker", "args": ["bridge", "opencode/api"]});
        assert_eq!(
            OPENCODE.write("api", &bridge, Some(&json!({"type": "remote"}))),
            json!({"type": "local", "command": ["/opt/kb/keybroker", "bridge", "opencode/api"]})
        );
        // A remote type left on an entry that now runs a command becomes the stdio one.
        let kept = json!({"type": "remote", "command": "kb", "args": []});
        assert_eq!(OPENCODE.write("api", &kept, None)["type"], "local");
    }

    #[test]
    fn opencode_entries_the_host_would_not_read_are_marked_unsupported() {
        for bad in [
            json!({"type": "local", "command": "npx", "args": ["-y"]}),
            json!({"type": "local", "command": []}),
            json!({"type": "local", "command": ["npx", 1]}),
            json!({"type": "local", "command": ["npx"], "args": ["-y"]}),
            json!({"environment": {}, "env": {}, "command": ["x"]}),
        ] {
            let std = OPENCODE.read(&bad);
            assert!(std[UNSUPPORTED].is_string(), "{bad} -> {std}");
            // The rest of the entry is untouched.
            for (k, v) in bad.as_object().expect("object") {
                assert_eq!(&std[k], v);
            }
        }
    }

    #[test]
    fn grok_transport_object_is_flattened_and_nested_back_with_its_other_keys() {
        let host = json!({
            "name": "github",
            "transport": {
                "type": "stdio",
                "command": "npx",
                "args": ["-y", "srv"],
                "env": {"T": "x"},
                "x-extra": 1
            },
            "enabled": true
        });
        let std = round_trip(&GROK, "github", host);
        assert_eq!(
            keys(&std),
            [
                "name",
                "type",
                "command",
                "args",
                "env",
                "transport",
                "enabled"
            ]
        );
        assert_eq!(std["transport"], json!({"x-extra": 1}));
        // Remote: the url comes up so the import can bridge it.
        let remote = json!({"name": "api", "transport": {"type": "http", "url": "https://x.example/mcp", "headers": {"Authorization": "Bearer y"}}});
        let std = round_trip(&GROK, "api", remote);
        assert_eq!(std["url"], "https://x.example/mcp");
        assert_eq!(std["headers"]["Authorization"], "Bearer y");
        let bridge = json!({"command": "kb", "args": ["bridge", "grok-cli/api"]});
        assert_eq!(
            GROK.write("api", &bridge, None),
            json!({"transport": {"type": "stdio", "command": "kb", "args": ["bridge", "grok-cli/api"]}})
        );
    }

    #[test]
    fn grok_legacy_top_level_command_reads_as_is_but_not_next_to_a_transport() {
        let legacy = json!({"name": "a", "command": "npx", "args": []});
        assert_eq!(GROK.read(&legacy), legacy);
        let both = json!({"name": "a", "command": "old", "transport": {"type": "stdio", "command": "new"}});
        assert!(GROK.read(&both)[UNSUPPORTED].is_string());
    }

    #[test]
    fn vibe_tables_drop_their_name_split_shell_commands_and_rename_transport() {
        let host = json!({
            "name": "github",
            "transport": "stdio",
            "command": "npx",
            "args": ["-y", "srv"],
            "env": {"T": "x"},
            "startup_timeout_sec": 20
        });
        let std = round_trip(&VIBE, "github", host);
        assert_eq!(
            keys(&std),
            ["type", "command", "args", "env", "startup_timeout_sec"]
        );
        assert_eq!(std["type"], "stdio");

        // A command string the host shell-splits, or an argv list, becomes program + args.
        for command in [
            json!("uvx --from 'my pkg' srv"),
            json!(["uvx", "--from", "my pkg", "srv"]),
        ] {
            let v = json!({"name": "f", "transport": "stdio", "command": command, "args": ["--x"]});
            let std = VIBE.read(&v);
            assert_eq!(std["command"], "uvx");
            assert_eq!(std["args"], json!(["--from", "my pkg", "srv", "--x"]));
        }
        let std = VIBE.read(&json!({"name": "f", "transport": "stdio", "command": "a b"}));
        assert_eq!(keys(&std), ["type", "command", "args"]);
        assert!(VIBE.read(&json!({"command": "a 'b"}))[UNSUPPORTED].is_string());

        // Static auth headers come up for the import, and go back under `auth`.
        let http = json!({"name": "api", "transport": "http", "url": "https://x.example", "auth": {"type": "static", "headers": {"K": "v"}}});
        let std = round_trip(&VIBE, "api", http);
        assert_eq!(std["headers"]["K"], "v");
        assert_eq!(std["auth"], json!({"type": "static"}));
    }

    #[test]
    fn vibe_written_entries_lead_with_their_name_and_keep_a_spaced_program_whole() {
        let std = json!({"command": "/home/me/My Tools/keybroker", "args": ["bridge", "mistral-vibe/api"]});
        let host = VIBE.write("api", &std, None);
        assert_eq!(
            host,
            json!({"name": "api", "transport": "stdio", "command": ["/home/me/My Tools/keybroker"], "args": ["bridge", "mistral-vibe/api"]})
        );
        assert_eq!(keys(&host), ["name", "transport", "command", "args"]);
        // What the host runs: the list as is, then the args.
        assert_eq!(VIBE.read(&host)["command"], "/home/me/My Tools/keybroker");
    }

    #[test]
    fn copilot_entries_keep_their_tools_and_a_fresh_one_gets_all_tools() {
        let host =
            json!({"type": "local", "command": "npx", "args": [], "tools": ["*"], "env": {}});
        round_trip(&COPILOT, "gh", host);
        let bridge = json!({"command": "kb", "args": ["bridge", "copilot-cli/api"]});
        let was = json!({"type": "http", "url": "https://x.example", "tools": ["search"]});
        assert_eq!(
            COPILOT.write("api", &bridge, Some(&was)),
            json!({"type": "local", "command": "kb", "args": ["bridge", "copilot-cli/api"], "tools": ["search"]})
        );
        assert_eq!(COPILOT.write("api", &bridge, None)["tools"], json!(["*"]));
        // A `stdio` type the user wrote is left as it is.
        let stdio = json!({"type": "stdio", "command": "x", "tools": []});
        assert_eq!(COPILOT.write("x", &stdio, None)["type"], "stdio");
    }

    #[test]
    fn grok_dev_list_entries_keep_their_label_and_a_new_one_is_labelled_and_enabled() {
        let host = json!({"id": "github", "label": "GitHub", "enabled": true, "transport": "stdio", "command": "npx", "args": ["-y"], "env": {"T": "x"}});
        let std = round_trip(&GROK_DEV, "github", host);
        assert_eq!(
            keys(&std),
            ["label", "enabled", "type", "command", "args", "env"]
        );
        let bridge = json!({"command": "kb", "args": ["bridge", "grok-dev/api"]});
        let was = json!({"id": "api", "label": "My API", "enabled": false, "transport": "http", "url": "https://x.example"});
        assert_eq!(
            GROK_DEV.write("api", &bridge, Some(&was)),
            json!({"id": "api", "transport": "stdio", "command": "kb", "args": ["bridge", "grok-dev/api"], "label": "My API", "enabled": false})
        );
        let fresh = GROK_DEV.write("api", &bridge, None);
        assert_eq!(fresh["label"], "api");
        assert_eq!(fresh["enabled"], true);
    }

    #[test]
    fn the_standard_shape_changes_nothing_either_way() {
        let v = json!({"env": {}, "command": "x", "args": ["a"], "type": "http", "zzz": 1});
        assert_eq!(Shape::STANDARD.read(&v), v);
        assert_eq!(Shape::STANDARD.write("n", &v, None), v);
        assert_eq!(keys(&Shape::STANDARD.write("n", &v, None)), keys(&v));
        assert!(Shape::STANDARD.is_standard());
        assert!(!OPENCODE.is_standard());
    }

    #[test]
    fn shell_split_follows_posix_quoting() {
        let ok = |s: &str| shell_split(s).expect(s);
        assert_eq!(ok("a  b\tc"), ["a", "b", "c"]);
        assert_eq!(
            ok(r#"'a b' "c \"d\" \\ \e" f\ g"#),
            ["a b", r#"c "d" \ \e"#, "f g"]
        );
        assert_eq!(ok("''"), [""]);
        assert_eq!(ok("a'b'c"), ["abc"]);
        assert!(ok("").is_empty());
        for bad in ["'a", "\"a", "a\\"] {
            assert!(shell_split(bad).is_err(), "{bad}");
        }
    }
}
