//! Host adapters: where each AI host keeps its MCP config, and how its server entries look.
//!
//! An adapter only locates and reads; planning and writing edits is `rewrite`'s job, so
//! every host goes through the same conflict-checked, atomic path.

pub mod claude_desktop;

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};

/// The hosts Keybroker can import from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    ClaudeDesktop,
}

impl Host {
    pub fn parse(id: &str) -> Result<Host> {
        match id {
            "claude-desktop" | "claude" => Ok(Host::ClaudeDesktop),
            other => Err(Error::other(
                format!("unknown host `{other}`"),
                "supported hosts: claude-desktop",
            )),
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            Host::ClaudeDesktop => "claude-desktop",
        }
    }

    /// The key that holds the server map in this host's config.
    pub fn servers_key(self) -> &'static str {
        match self {
            Host::ClaudeDesktop => "mcpServers",
        }
    }

    /// The config file to use: `explicit` if given, else the first default that exists,
    /// else the platform's primary default (which may not exist yet).
    pub fn locate(self, explicit: Option<&Path>) -> Result<PathBuf> {
        if let Some(p) = explicit {
            return Ok(p.to_path_buf());
        }
        let candidates = match self {
            Host::ClaudeDesktop => claude_desktop::default_paths(),
        };
        candidates
            .iter()
            .find(|p| p.exists())
            .or(candidates.first())
            .cloned()
            .ok_or_else(|| {
                Error::other(
                    "cannot work out where Claude Desktop keeps its config on this system",
                    "pass the file with --config PATH",
                )
            })
    }
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

/// A stdio entry that already goes through `keybroker run <id> -- ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Brokered {
    pub launcher: String,
    pub server_id: String,
    /// The server's own command line (placeholders included).
    pub inner: Vec<String>,
}

pub fn as_brokered(command: &str, args: &[String]) -> Option<Brokered> {
    let file = Path::new(command).file_name()?.to_str()?;
    let is_launcher = file == "keybroker" || file == "keybroker.exe";
    if !is_launcher || args.len() < 4 || args[0] != "run" || args[2] != "--" {
        return None;
    }
    Some(Brokered {
        launcher: command.to_string(),
        server_id: args[1].clone(),
        inner: args[3..].to_vec(),
    })
}
