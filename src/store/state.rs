//! Keybroker's own state: which servers it brokers, what each was approved to run, and
//! which credential goes where. Metadata only; values live in the keychain.
//!
//! One JSON file, replaced atomically, and changed only under a cross-process lock so
//! the CLI, the launcher and the app can all write it. It deliberately keeps no hash,
//! length or prefix of any secret: nothing here helps guess a value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::base::error::{Error, Result};
use crate::base::fsutil;
use crate::base::paths::Paths;

/// 2: approvals cover the whole spawn ([`Spawn`], fingerprint v2) and entries carry a
/// binding id. A version-1 file loads as is; its records are upgraded one by one (see
/// `ops::launch`). 3: servers may carry a tool guard ([`ToolGuard`]); a record without
/// one (every record of a version-2 file) stays unguarded.
pub const STATE_VERSION: u32 = 3;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct State {
    pub version: u32,
    #[serde(default)]
    pub servers: BTreeMap<String, Server>,
    #[serde(default)]
    pub credentials: BTreeMap<String, Credential>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Server {
    /// `<host>/<name>`, e.g. `claude-desktop/github`.
    pub id: String,
    pub host: String,
    pub name: String,
    /// The host config file the entry lives in.
    pub config_path: PathBuf,
    pub transport: Transport,
    /// The approved command and arguments (secret parts as `${keybroker:<credential>}`).
    pub command: Vec<String>,
    /// The approved set of env var names the config itself sets for this server.
    pub env_keys: Vec<String>,
    /// `fingerprint_v2(spawn)`, or for a record approved before version 2 (no `spawn`)
    /// `fingerprint_v1(command, env_keys)`; the launcher releases nothing on a mismatch.
    pub fingerprint: String,
    /// Everything the approval covers. `None`: approved by a version that only knew the
    /// command line and env names (upgraded at the next launch while that still matches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spawn: Option<Spawn>,
    /// The random id written into this server's entry (`--binding <id>`): the launcher
    /// releases secrets only to the one entry in `config_path` that carries it. Not a
    /// secret (it sits in the host's file); only unguessable by another file's author.
    /// `None` for entries written before binding ids existed, until they are re-imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding_id: Option<String>,
    pub bindings: Vec<Binding>,
    /// The entry as it was before Keybroker rewrote it, with every secret replaced by its
    /// placeholder: what `restore` writes back.
    pub original: serde_json::Value,
    /// For remote (HTTP) servers: where the bridge connects and how.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<Remote>,
    /// The tool guard: `Some` when the launcher (or the bridge) relays this server's
    /// messages and applies its tool policy and pins; `None`: unguarded (the launcher
    /// execs the server). Records written before the guard existed have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<ToolGuard>,
}

/// A server's tool policy and the tool definitions the user approved (pinned). Tool
/// descriptions and schemas are not secrets; arguments and results are never kept.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ToolGuard {
    #[serde(default)]
    pub policy: ToolPolicy,
    /// A tool that appears after the first listing is held until approved (`true`, the
    /// default) or allowed and pinned as it is (`false`).
    #[serde(default = "yes")]
    pub hold_new: bool,
    /// Every tool the guard has seen, by name.
    #[serde(default)]
    pub tools: BTreeMap<String, ToolRecord>,
    /// When the guard first saw the server's tools (and pinned them all); `None`: not yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
}

fn yes() -> bool {
    true
}

impl Default for ToolGuard {
    fn default() -> Self {
        ToolGuard {
            policy: ToolPolicy::AllowAll,
            hold_new: true,
            tools: BTreeMap::new(),
            first_seen: None,
        }
    }
}

/// Which tools a guarded server may use.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum ToolPolicy {
    /// Every tool (pinned and not held).
    #[default]
    AllowAll,
    /// Only these tools.
    Allow { names: Vec<String> },
    /// Every tool but these.
    Deny { names: Vec<String> },
    /// Only tools whose annotations say `readOnlyHint: true`.
    ReadOnly,
}

/// What the guard knows of one tool.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ToolRecord {
    /// The canonical hash of the approved definition; `None`: never approved (new, held).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<String>,
    /// The approved definition (name, title, description, schemas, annotations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<serde_json::Value>,
    /// A definition the server offered that differs from the pin (or a new tool's),
    /// waiting for `keybroker tools <id> --approve`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<HeldTool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HeldTool {
    pub hash: String,
    pub definition: serde_json::Value,
    /// When it was first held.
    pub since: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Stdio,
    Http,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Binding {
    /// `env:NAME` or `arg:N` (N counts the server's own args from 0); for a remote
    /// server `header:NAME`, `url` (a key inside its URL), or where else its entry held
    /// a secret (`key:/json/pointer`, kept for `restore`). Several credentials may share a
    /// target when it is a template (a JSON env value, a URL) with several placeholders.
    pub target: String,
    pub credential: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Credential {
    pub id: String,
    pub kind: String,
    pub label: String,
    pub created: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated: Option<String>,
}

/// A fresh binding id: 128 random bits from the OS, as 32 hex digits. Not a secret (it
/// is written into the host's file); it only has to be unguessable.
pub fn new_binding_id() -> Result<String> {
    let mut buf = [0u8; 16];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::other(format!("no randomness available: {e}"), "report this bug"))?;
    Ok(hex::encode(buf))
}

/// `${keybroker:<credential-id>}`: how a secret inside an argument is written in a config.
pub fn placeholder(credential: &str) -> String {
    format!("${{keybroker:{credential}}}")
}

/// `template` (an argument, an env value, a URL, as an entry or the state keeps it) with
/// every placeholder of `credential` replaced by `value`. A template that is a JSON
/// document (Notion's `OPENAPI_MCP_HEADERS`, a `--config '{…}'` argument) holds its
/// placeholders inside string literals, so there the value goes in JSON-escaped and the
/// program reads exactly the value.
pub fn fill(template: &str, credential: &str, value: &str) -> String {
    let ph = placeholder(credential);
    if !template.contains(&ph) {
        return template.to_string();
    }
    let t = template.trim_start();
    let json = (t.starts_with('{') || t.starts_with('['))
        && serde_json::from_str::<serde::de::IgnoredAny>(template).is_ok();
    if json && let Ok(quoted) = serde_json::to_string(value) {
        let escaped = &quoted[1..quoted.len() - 1];
        return template.replace(&ph, escaped);
    }
    template.replace(&ph, value)
}

/// What an approval (fingerprint v2) covers: the whole spawn as the entry describes it,
/// and the program as it resolved when it was approved. No secret value is in here: a
/// secret env var is a binding, not an entry of `env`, and an env value that looks like a
/// secret (one the user chose to leave in the file) is kept as [`UNRECORDED`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Spawn {
    /// `command` as the entry writes it (`npx`, `./server`, `/usr/bin/node`).
    pub program: String,
    /// The absolute path `program` resolved to at approval; `None`: it was not found.
    pub resolved: Option<String>,
    /// The server's arguments (secret parts as placeholders).
    pub args: Vec<String>,
    /// The env names and values the entry itself sets.
    pub env: BTreeMap<String, String>,
    /// The entry's `cwd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Every other key of the entry that can change what runs (`envFile`, `type`, ...).
    #[serde(default)]
    pub keys: BTreeMap<String, serde_json::Value>,
    /// The PATH `program` was looked up in (the entry's own `PATH`, else the approver's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_var: Option<String>,
    /// The working directory relative names were resolved against (the entry's `cwd`,
    /// else the approver's).
    pub resolved_cwd: String,
    /// The program or an argument is relative: the launcher must run in `resolved_cwd`.
    #[serde(default)]
    pub cwd_bound: bool,
}

/// Stands for an env value that looks like a secret, so no state file holds it.
pub const UNRECORDED: &str = "<secret-looking value, not recorded>";

/// Approval fingerprint v2 over the whole [`Spawn`]. The PATH it was resolved in is not
/// part of it (the resolved path is); the cwd is, when the spawn depends on it.
pub fn fingerprint_v2(spawn: &Spawn) -> String {
    let canonical = serde_json::json!({
        "v": 2,
        "program": spawn.program,
        "resolved": spawn.resolved,
        "args": spawn.args,
        "env": spawn.env,
        "cwd": spawn.cwd,
        "keys": spawn.keys.iter().map(|(k, v)| (k.clone(), sorted(v))).collect::<BTreeMap<_, _>>(),
        "cwd_bound": spawn.cwd_bound,
        "resolved_cwd": spawn.cwd_bound.then_some(&spawn.resolved_cwd),
    });
    let mut h = Sha256::new();
    h.update(canonical.to_string().as_bytes());
    format!("v2:sha256:{}", hex::encode(h.finalize()))
}

/// `v` with every object's keys in sorted order (the JSON maps keep file order), so
/// reordering keys inside a value does not count as a change.
fn sorted(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            serde_json::Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Approval fingerprint v1 (state version 1): the command line and the set of env names
/// the config sets. Kept to recognise an old approval while it is upgraded.
pub fn fingerprint_v1(command: &[String], env_keys: &[String]) -> String {
    let mut keys: Vec<&String> = env_keys.iter().collect();
    keys.sort();
    keys.dedup();
    let canonical = serde_json::json!({ "command": command, "env_keys": keys });
    let mut h = Sha256::new();
    h.update(canonical.to_string().as_bytes());
    format!("sha256:{}", hex::encode(h.finalize()))
}

impl State {
    /// Read the state; a missing file is an empty state.
    pub fn load(paths: &Paths) -> Result<State> {
        let file = paths.state_file();
        // A link planted at the state's name is refused, never read or written through.
        fsutil::refuse_link(&file)?;
        match fsutil::read_optional(&file)? {
            None => Ok(State {
                version: STATE_VERSION,
                ..State::default()
            }),
            Some(bytes) => parse(&file, &bytes),
        }
    }

    /// Load, change and save under the state lock; returns what `f` returned.
    pub fn update<T>(paths: &Paths, f: impl FnOnce(&mut State) -> Result<T>) -> Result<T> {
        let _lock = fsutil::lock_exclusive(&paths.config_dir.join("state.lock"))?;
        let mut state = State::load(paths)?;
        let out = f(&mut state)?;
        state.version = STATE_VERSION;
        let mut bytes = serde_json::to_vec_pretty(&state)
            .map_err(|e| Error::other(format!("cannot encode state: {e}"), "report this bug"))?;
        bytes.push(b'\n');
        fsutil::replace_own_file(&paths.state_file(), &bytes)?;
        Ok(out)
    }

    pub fn server(&self, id: &str) -> Result<&Server> {
        self.servers
            .get(id)
            .ok_or_else(|| Error::UnknownServer { id: id.to_string() })
    }

    /// The servers bound to `credential`.
    pub fn users_of(&self, credential: &str) -> Vec<&str> {
        self.servers
            .values()
            .filter(|s| s.bindings.iter().any(|b| b.credential == credential))
            .map(|s| s.id.as_str())
            .collect()
    }

    /// A new credential id from a readable base, unique in this state.
    pub fn fresh_credential_id(&self, base: &str) -> String {
        let base = slug(base);
        if !self.credentials.contains_key(&base) {
            return base;
        }
        (2..)
            .map(|n| format!("{base}-{n}"))
            .find(|c| !self.credentials.contains_key(c))
            .unwrap_or(base)
    }
}

fn parse(file: &Path, bytes: &[u8]) -> Result<State> {
    let state: State = serde_json::from_slice(bytes).map_err(|e| Error::ConfigSyntax {
        path: file.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    if state.version > STATE_VERSION {
        return Err(Error::other(
            format!(
                "{} was written by a newer Keybroker (state version {})",
                file.display(),
                state.version
            ),
            "update Keybroker to the newest version",
        ));
    }
    Ok(state)
}

/// Lowercase ASCII letters, digits and single dashes.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() { "secret".into() } else { out }
}

/// What the state keeps about a remote server (no secret).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Remote {
    /// The MCP endpoint (Streamable HTTP).
    pub url: String,
    /// The user allowed plain http:// for this non-loopback server.
    #[serde(default)]
    pub allow_http: bool,
    /// The OAuth credential (keychain item holding registration and tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_credential: Option<String>,
    /// A client ID metadata document URL to use where the server supports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_metadata_url: Option<String>,
    /// The HTTP proxy the user chose for this server (`add --proxy`, no credentials in
    /// it). `None`: connect directly; proxies named in the environment are never used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_ignores_env_key_order_but_not_command_changes() {
        let cmd = vec!["npx".to_string(), "-y".into(), "server-github".into()];
        let a = fingerprint_v1(&cmd, &["B".into(), "A".into()]);
        assert_eq!(a, fingerprint_v1(&cmd, &["A".into(), "B".into()]));
        let evil = vec!["npx".to_string(), "-y".into(), "evil".into()];
        assert_ne!(a, fingerprint_v1(&evil, &["A".into(), "B".into()]));
        assert_ne!(
            a,
            fingerprint_v1(&cmd, &["A".into(), "B".into(), "NODE_OPTIONS".into()])
        );
    }

    #[test]
    fn fingerprint_v2_covers_env_values_cwd_and_other_keys_but_not_key_order() {
        let base = Spawn {
            program: "node".into(),
            resolved: Some("/usr/bin/node".into()),
            args: vec!["server.js".into()],
            env: BTreeMap::from([("API_URL".to_string(), "https://a.example".to_string())]),
            keys: BTreeMap::from([("settings".to_string(), serde_json::json!({"a": 1, "b": 2}))]),
            resolved_cwd: "/work".into(),
            ..Spawn::default()
        };
        let fp = fingerprint_v2(&base);
        assert!(fp.starts_with("v2:sha256:"));
        let mut reordered = base.clone();
        reordered
            .keys
            .insert("settings".into(), serde_json::json!({"b": 2, "a": 1}));
        assert_eq!(fp, fingerprint_v2(&reordered));
        // The approver's cwd only counts when the spawn depends on it.
        let mut elsewhere = base.clone();
        elsewhere.resolved_cwd = "/elsewhere".into();
        assert_eq!(fp, fingerprint_v2(&elsewhere));
        let changes: [fn(&mut Spawn); 6] = [
            |s| {
                s.env
                    .insert("API_URL".into(), "https://evil.example".into());
            },
            |s| s.cwd = Some("/tmp".into()),
            |s| {
                s.keys.insert("envFile".into(), serde_json::json!(".env"));
            },
            |s| s.resolved = Some("/tmp/node".into()),
            |s| s.args.push("--inspect".into()),
            |s| s.cwd_bound = true,
        ];
        for change in changes {
            let mut s = base.clone();
            change(&mut s);
            assert_ne!(fp, fingerprint_v2(&s), "{s:?}");
        }
    }

    #[test]
    fn fill_puts_the_value_in_and_json_escapes_it_inside_a_json_template() {
        let ph = placeholder("c");
        assert_eq!(
            fill(&format!("u:{ph}@h/{ph}"), "c", "p\"w"),
            "u:p\"w@h/p\"w"
        );
        assert_eq!(fill("no placeholder", "c", "v"), "no placeholder");
        assert_eq!(fill(&format!("x{ph}"), "other", "v"), format!("x{ph}"));
        let json = format!(r#"{{"Authorization": "Bearer {ph}", "v": 1}}"#);
        let filled = fill(&json, "c", "a\"b\\c");
        assert_eq!(filled, r#"{"Authorization": "Bearer a\"b\\c", "v": 1}"#);
        let v: serde_json::Value = serde_json::from_str(&filled).expect("still JSON");
        assert_eq!(v["Authorization"], "Bearer a\"b\\c");
    }

    #[test]
    fn fresh_credential_ids_are_slugs_and_unique() {
        let mut s = State::default();
        assert_eq!(
            s.fresh_credential_id("GITHUB_PERSONAL_ACCESS_TOKEN"),
            "github-personal-access-token"
        );
        s.credentials.insert(
            "github-personal-access-token".into(),
            Credential {
                id: "x".into(),
                kind: "secret".into(),
                label: "l".into(),
                created: "t".into(),
                rotated: None,
            },
        );
        assert_eq!(
            s.fresh_credential_id("GITHUB_PERSONAL_ACCESS_TOKEN"),
            "github-personal-access-token-2"
        );
        assert_eq!(slug("--"), "secret");
    }

    #[test]
    fn update_persists_and_a_newer_version_is_refused() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let paths = Paths::under(dir.path());
        State::update(&paths, |s| {
            s.credentials.insert(
                "c".into(),
                Credential {
                    id: "c".into(),
                    kind: "secret".into(),
                    label: "C".into(),
                    created: "t".into(),
                    rotated: None,
                },
            );
            Ok(())
        })?;
        assert!(State::load(&paths)?.credentials.contains_key("c"));
        std::fs::write(paths.state_file(), br#"{"version": 99}"#).map_err(|e| Error::io("s", e))?;
        assert!(State::load(&paths).is_err());
        Ok(())
    }

    #[test]
    fn a_version_2_record_loads_unguarded_and_a_guard_round_trips() -> Result<()> {
        let v2 = br#"{"version": 2, "servers": {"h/s": {"id": "h/s", "host": "claude-desktop",
            "name": "s", "config_path": "/c.json", "transport": "stdio", "command": ["x"],
            "env_keys": [], "fingerprint": "f", "bindings": [], "original": {}}}}"#;
        let state = parse(Path::new("state.json"), v2)?;
        let s = &state.servers["h/s"];
        assert!(s.guard.is_none(), "no silent change for an existing entry");
        let text = serde_json::to_string(s).map_err(|e| Error::other(e.to_string(), ""))?;
        assert!(!text.contains("guard"), "{text}");
        let mut g = s.clone();
        g.guard = Some(ToolGuard {
            policy: ToolPolicy::Deny {
                names: vec!["rm".into()],
            },
            ..ToolGuard::default()
        });
        let text = serde_json::to_string(&g).map_err(|e| Error::other(e.to_string(), ""))?;
        assert!(
            text.contains(r#""policy":{"mode":"deny","names":["rm"]}"#),
            "{text}"
        );
        let back: Server =
            serde_json::from_str(&text).map_err(|e| Error::other(e.to_string(), ""))?;
        assert_eq!(back, g);
        // A guard written with only some keys gets the defaults (hold new tools).
        let partial: ToolGuard =
            serde_json::from_str("{}").map_err(|e| Error::other(e.to_string(), ""))?;
        assert!(partial.hold_new && partial.policy == ToolPolicy::AllowAll);
        Ok(())
    }
}
