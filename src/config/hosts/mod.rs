//! Host adapters: where each AI host keeps its MCP config, and how its server entries look.
//!
//! An adapter only locates and reads; planning and writing edits is `rewrite`'s job, so
//! every host goes through the same conflict-checked, atomic path.

pub mod claude_desktop;
pub mod locations;

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::base::error::{Error, Result};

/// The hosts Keybroker can import from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Host {
    ClaudeDesktop,
    ClaudeCode,
    Cursor,
    #[serde(rename = "vscode")]
    VsCode,
    Windsurf,
    GeminiCli,
    Codex,
    Zed,
    Cline,
}

/// How a host's config file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON; comments and trailing commas are accepted and kept (JSONC).
    Json,
    Toml,
}

impl Host {
    pub const ALL: [Host; 9] = [
        Host::ClaudeDesktop,
        Host::ClaudeCode,
        Host::Cursor,
        Host::VsCode,
        Host::Windsurf,
        Host::GeminiCli,
        Host::Codex,
        Host::Zed,
        Host::Cline,
    ];

    pub fn parse(id: &str) -> Result<Host> {
        let alias = match id {
            "claude" => Some(Host::ClaudeDesktop),
            "code" | "vs-code" => Some(Host::VsCode),
            "gemini" => Some(Host::GeminiCli),
            "codex-cli" => Some(Host::Codex),
            _ => None,
        };
        alias
            .or_else(|| Host::ALL.into_iter().find(|h| h.id() == id))
            .ok_or_else(|| {
                Error::other(
                    format!("unknown host `{id}`"),
                    format!("supported hosts: {}", Host::ALL.map(Host::id).join(", ")),
                )
            })
    }

    pub fn id(self) -> &'static str {
        match self {
            Host::ClaudeDesktop => "claude-desktop",
            Host::ClaudeCode => "claude-code",
            Host::Cursor => "cursor",
            Host::VsCode => "vscode",
            Host::Windsurf => "windsurf",
            Host::GeminiCli => "gemini-cli",
            Host::Codex => "codex",
            Host::Zed => "zed",
            Host::Cline => "cline",
        }
    }

    /// The name people know the host by.
    pub fn name(self) -> &'static str {
        match self {
            Host::ClaudeDesktop => "Claude Desktop",
            Host::ClaudeCode => "Claude Code",
            Host::Cursor => "Cursor",
            Host::VsCode => "VS Code",
            Host::Windsurf => "Windsurf",
            Host::GeminiCli => "Gemini CLI",
            Host::Codex => "Codex CLI",
            Host::Zed => "Zed",
            Host::Cline => "Cline",
        }
    }

    pub fn format(self) -> Format {
        match self {
            Host::Codex => Format::Toml,
            _ => Format::Json,
        }
    }

    /// The key that holds the server map in this host's config (at the root; Claude
    /// Code also keeps per-project maps under `projects.<dir>.mcpServers`).
    pub fn servers_key(self) -> &'static str {
        match self {
            Host::VsCode => "servers",
            Host::Zed => "context_servers",
            Host::Codex => "mcp_servers",
            _ => "mcpServers",
        }
    }

    /// User-scope config files, most likely first (they may not exist).
    pub fn user_paths(self) -> Vec<PathBuf> {
        locations::user_paths(self)
    }

    /// The project-scope file inside project dir `dir`, if this host has one.
    pub fn project_path(self, dir: &Path) -> Option<PathBuf> {
        locations::project_file(self).map(|rel| dir.join(rel))
    }

    /// The config file to use: `explicit` if given, else the first default that exists,
    /// else the platform's primary default (which may not exist yet).
    pub fn locate(self, explicit: Option<&Path>) -> Result<PathBuf> {
        if let Some(p) = explicit {
            return Ok(p.to_path_buf());
        }
        let candidates = self.user_paths();
        candidates
            .iter()
            .find(|p| p.exists())
            .or(candidates.first())
            .cloned()
            .ok_or_else(|| {
                Error::other(
                    format!(
                        "cannot work out where {} keeps its config on this system",
                        self.name()
                    ),
                    "pass the file with --config PATH",
                )
            })
    }

    /// For a project-scope file (e.g. `<dir>/.cursor/mcp.json`, not the user's own
    /// `~/.cursor/mcp.json`), the project dir's name: it goes into server ids so the same
    /// server name in two projects gives two ids.
    pub fn project_of(self, file: &Path) -> Option<String> {
        if self.user_paths().iter().any(|u| u == file) {
            return None;
        }
        let rel = locations::project_file(self)?;
        if !file.ends_with(rel) {
            return None;
        }
        let mut dir = file;
        for _ in Path::new(rel).components() {
            dir = dir.parent()?;
        }
        let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        abs.file_name().map(|n| n.to_string_lossy().into_owned())
    }
}

/// One config file of one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigFile {
    pub host: Host,
    pub path: PathBuf,
    /// `user` or `project`.
    pub scope: &'static str,
}

/// Every existing config file of every host: user scope, plus the project files in
/// `project` when given.
pub fn discover(project: Option<&Path>) -> Vec<ConfigFile> {
    let mut out = Vec::new();
    for host in Host::ALL {
        if let Some(p) = host.user_paths().into_iter().find(|p| p.exists()) {
            out.push(ConfigFile {
                host,
                path: p,
                scope: "user",
            });
        }
        if let Some(p) = project
            .and_then(|d| host.project_path(d))
            .filter(|p| p.exists())
        {
            out.push(ConfigFile {
                host,
                path: p,
                scope: "project",
            });
        }
    }
    out
}

/// One server entry, as far as Keybroker needs to understand it.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Stdio {
        command: String,
        args: Vec<String>,
        env: Vec<(String, String)>,
    },
    Remote {
        url: String,
    },
    /// Something Keybroker leaves alone, with the reason.
    Unsupported(String),
}

impl Entry {
    pub fn from_value(v: &Value) -> Entry {
        let Some(obj) = v.as_object() else {
            return Entry::Unsupported("entry is not an object".into());
        };
        if obj.get("command").is_some_and(Value::is_object) {
            return Entry::Unsupported(
                "Zed's older `command: { path, args, env }` form; write it as `command`, `args`, `env` to import it".into(),
            );
        }
        let transport = obj.get("type").and_then(Value::as_str).unwrap_or("stdio");
        for key in ["url", "serverUrl", "httpUrl"] {
            if let Some(url) = obj.get(key).and_then(Value::as_str) {
                return Entry::Remote {
                    url: url.to_string(),
                };
            }
        }
        if matches!(transport, "http" | "sse" | "streamable-http") {
            return Entry::Unsupported(format!("`type: {transport}` entry without a url"));
        }
        let Some(command) = obj.get("command").and_then(Value::as_str) else {
            return Entry::Unsupported("no `command` string".into());
        };
        let mut args = Vec::new();
        if let Some(a) = obj.get("args") {
            let Some(list) = a.as_array() else {
                return Entry::Unsupported("`args` is not an array".into());
            };
            for item in list {
                let Some(s) = item.as_str() else {
                    return Entry::Unsupported("`args` holds a value that is not a string".into());
                };
                args.push(s.to_string());
            }
        }
        let mut env = Vec::new();
        if let Some(e) = obj.get("env") {
            let Some(map) = e.as_object() else {
                return Entry::Unsupported("`env` is not an object".into());
            };
            for (k, val) in map {
                let Some(s) = val.as_str() else {
                    return Entry::Unsupported(format!("`env.{k}` is not a string"));
                };
                env.push((k.clone(), s.to_string()));
            }
        }
        Entry::Stdio {
            command: command.to_string(),
            args,
            env,
        }
    }
}

/// A stdio entry that already goes through `keybroker run <id> [--binding <b>] -- ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Brokered {
    pub launcher: String,
    pub server_id: String,
    /// The entry's binding id; `None` in entries written before binding ids existed.
    pub binding: Option<String>,
    /// The server's own command line (placeholders included).
    pub inner: Vec<String>,
}

/// The launcher arguments `run <id> --binding <b> -- <inner...>` (the form import writes;
/// the older `run <id> -- <inner...>` and `--binding` before the id parse too).
pub fn as_brokered(command: &str, args: &[String]) -> Option<Brokered> {
    let file = Path::new(command).file_name()?.to_str()?;
    let is_launcher = file == "keybroker" || file == "keybroker.exe";
    if !is_launcher || args.first().map(String::as_str) != Some("run") {
        return None;
    }
    let sep = args.iter().position(|a| a == "--")?;
    let (server_id, binding) = launcher_operands(&args[1..sep])?;
    let inner = args[sep + 1..].to_vec();
    if inner.is_empty() {
        return None;
    }
    Some(Brokered {
        launcher: command.to_string(),
        server_id,
        binding,
        inner,
    })
}

/// `<id>` and an optional `--binding <b>` (or `--binding=<b>`), in either order; nothing else.
pub fn launcher_operands(words: &[String]) -> Option<(String, Option<String>)> {
    let mut id = None;
    let mut binding = None;
    let mut it = words.iter();
    while let Some(w) = it.next() {
        let value = if w == "--binding" {
            it.next()?.clone()
        } else if let Some(b) = w.strip_prefix("--binding=") {
            b.to_string()
        } else if w.starts_with('-') || id.is_some() {
            return None;
        } else {
            id = Some(w.clone());
            continue;
        };
        if value.is_empty() || value.starts_with('-') || binding.replace(value).is_some() {
            return None;
        }
    }
    Some((id?, binding))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_host_id_parses_back_to_its_host() {
        for h in Host::ALL {
            assert_eq!(Host::parse(h.id()).expect("parses"), h);
        }
        assert_eq!(Host::parse("gemini").expect("alias"), Host::GeminiCli);
        let err = Host::parse("notepad").expect_err("unknown");
        assert!(err.to_string().contains("codex"), "{err}");
    }

    #[test]
    fn a_project_file_names_its_project_and_a_foreign_path_does_not() {
        let p = Path::new("/work/my-app/.cursor/mcp.json");
        assert_eq!(Host::Cursor.project_of(p).as_deref(), Some("my-app"));
        assert_eq!(
            Host::ClaudeCode
                .project_of(Path::new("/work/my-app/.mcp.json"))
                .as_deref(),
            Some("my-app")
        );
        assert_eq!(Host::Cursor.project_of(Path::new("/tmp/x/mcp.json")), None);
        assert_eq!(Host::Windsurf.project_of(p), None);
    }

    #[test]
    fn only_codex_is_toml_and_each_host_names_its_server_key() {
        for h in Host::ALL {
            assert_eq!(h.format() == Format::Toml, h == Host::Codex);
        }
        assert_eq!(Host::VsCode.servers_key(), "servers");
        assert_eq!(Host::Zed.servers_key(), "context_servers");
        assert_eq!(Host::Codex.servers_key(), "mcp_servers");
    }

    #[test]
    fn brokered_entries_parse_with_and_without_a_binding_id() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let b = as_brokered(
            "/opt/kb/keybroker",
            &w(&[
                "run",
                "cursor/gh",
                "--binding",
                "ab12",
                "--",
                "npx",
                "-y",
                "s",
            ]),
        )
        .expect("new form");
        assert_eq!(
            (b.server_id.as_str(), b.binding.as_deref()),
            ("cursor/gh", Some("ab12"))
        );
        assert_eq!(b.inner, w(&["npx", "-y", "s"]));
        let before = as_brokered(
            "keybroker",
            &w(&["run", "--binding=ab12", "cursor/gh", "--", "npx"]),
        )
        .expect("binding first");
        assert_eq!(before.binding.as_deref(), Some("ab12"));
        let old = as_brokered("keybroker", &w(&["run", "cursor/gh", "--", "npx"])).expect("old");
        assert_eq!((old.server_id.as_str(), old.binding), ("cursor/gh", None));
        for bad in [
            &["run", "cursor/gh", "--"][..],
            &["run", "--", "npx"],
            &["run", "a", "b", "--", "npx"],
            &["run", "a", "--binding", "--", "npx"],
            &["run", "a", "--binding", "x", "--binding", "y", "--", "npx"],
            &["run", "a", "--other", "--", "npx"],
            &["bridge", "a"],
        ] {
            assert_eq!(as_brokered("keybroker", &w(bad)), None, "{bad:?}");
        }
        assert_eq!(as_brokered("npx", &w(&["run", "a", "--", "x"])), None);
    }

    #[test]
    fn zeds_older_nested_command_form_is_listed_but_not_rewritten() {
        let v = serde_json::json!({"command": {"path": "npx", "args": []}, "settings": {}});
        assert!(matches!(Entry::from_value(&v), Entry::Unsupported(_)));
    }
}
