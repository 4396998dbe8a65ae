//! One document type over every host's config format, so import, restore, the
//! launcher's approval check, inventory and watch read and edit JSON, JSONC and TOML
//! files the same way.
//!
//! A server's place in a file is a key path plus a name: `mcpServers.github`,
//! `servers.github` (VS Code), `context_servers.github` (Zed), `mcp_servers.github`
//! (Codex) or `projects."/home/me/app".mcpServers.github` (Claude Code's per-project
//! servers in `~/.claude.json`). This module finds those places and turns each into a
//! server id; it does not decide what to change (that is `rewrite`) and does no I/O.

use std::path::Path;

use serde_json::Value;

use crate::base::error::Result;
use crate::config::hosts::{Format, Host};
use crate::config::jsonfile::JsonFile;
use crate::config::tomlfile::TomlFile;

/// A parsed host config, edited in place.
#[derive(Debug, Clone)]
pub enum ConfigDoc {
    Json(JsonFile),
    Toml(TomlFile),
}

/// One server entry found in a file.
#[derive(Debug, Clone)]
pub struct Found {
    /// Where the server map is, e.g. `["mcpServers"]`.
    pub key_path: Vec<String>,
    /// The entry's name in that map.
    pub name: String,
    /// The id Keybroker gives it: `<host>/<name>`, with `@<project>` for project scope.
    pub id: String,
    pub value: Value,
}

impl ConfigDoc {
    /// Parse `bytes` read from `path` in `host`'s format.
    pub fn parse(host: Host, path: &Path, bytes: &[u8]) -> Result<ConfigDoc> {
        Ok(match host.format() {
            Format::Json => ConfigDoc::Json(JsonFile::parse(path, bytes)?),
            Format::Toml => ConfigDoc::Toml(TomlFile::parse(path, bytes)?),
        })
    }

    pub fn entries_at(&self, key_path: &[String]) -> Result<Vec<(String, Value)>> {
        let p: Vec<&str> = key_path.iter().map(String::as_str).collect();
        match self {
            ConfigDoc::Json(f) => f.entries_at(&p),
            ConfigDoc::Toml(f) => f.entries_at(&p),
        }
    }

    pub fn set_entry_at(&mut self, key_path: &[String], name: &str, value: &Value) -> Result<()> {
        let p: Vec<&str> = key_path.iter().map(String::as_str).collect();
        match self {
            ConfigDoc::Json(f) => f.set_entry_at(&p, name, value),
            ConfigDoc::Toml(f) => f.set_entry_at(&p, name, value),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            ConfigDoc::Json(f) => f.to_bytes(),
            ConfigDoc::Toml(f) => f.to_bytes(),
        }
    }

    /// Every server map of `host` in this file (`file` is its path, for project scope).
    pub fn server_maps(&self, host: Host, file: &Path) -> Result<Vec<(Vec<String>, String)>> {
        let base = host
            .project_of(file)
            .map(|p| format!("@{p}"))
            .unwrap_or_default();
        let mut maps = vec![(host.servers_path(), base)];
        if let Some(per_dir) = host.per_dir()
            && let ConfigDoc::Json(f) = self
        {
            for project in f.keys_at(per_dir.under)? {
                let mut path: Vec<String> = per_dir.under.iter().map(|k| k.to_string()).collect();
                path.push(project.clone());
                path.extend(per_dir.servers.iter().map(|k| k.to_string()));
                if !self.entries_at(&path)?.is_empty() {
                    let dir = Path::new(&project)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or(project);
                    maps.push((path, format!("@{dir}")));
                }
            }
        }
        Ok(maps)
    }

    /// Every server entry of `host` in this file, in file order, map by map.
    pub fn servers(&self, host: Host, file: &Path) -> Result<Vec<Found>> {
        let mut out = Vec::new();
        for (key_path, suffix) in self.server_maps(host, file)? {
            for (name, value) in self.entries_at(&key_path)? {
                out.push(Found {
                    id: format!("{}/{name}{suffix}", host.id()),
                    key_path: key_path.clone(),
                    name,
                    value,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_codes_project_servers_are_found_with_project_ids() {
        let text = br#"{"mcpServers": {"a": {"command": "x"}},
            "projects": {"/home/me/app": {"mcpServers": {"b": {"command": "y"}}},
                         "/home/me/empty": {"mcpServers": {}}}}"#;
        let path = Path::new("/nowhere/.claude.json");
        let doc = ConfigDoc::parse(Host::ClaudeCode, path, text).expect("parses");
        let found = doc.servers(Host::ClaudeCode, path).expect("servers");
        let ids: Vec<&str> = found.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, vec!["claude-code/a", "claude-code/b@app"]);
        assert_eq!(
            found[1].key_path,
            vec!["projects", "/home/me/app", "mcpServers"]
        );
    }

    #[test]
    fn other_hosts_ignore_a_projects_key() {
        let text = br#"{"mcpServers": {}, "projects": {"/p": {"mcpServers": {"b": {}}}}}"#;
        let path = Path::new("/nowhere/mcp.json");
        let doc = ConfigDoc::parse(Host::Cursor, path, text).expect("parses");
        assert!(doc.servers(Host::Cursor, path).expect("servers").is_empty());
    }

    #[test]
    fn codex_entries_come_from_toml_tables() {
        let text = b"[mcp_servers.gh]\ncommand = \"npx\"\nargs = [\"-y\"]\n";
        let path = Path::new("/nowhere/config.toml");
        let doc = ConfigDoc::parse(Host::Codex, path, text).expect("parses");
        let found = doc.servers(Host::Codex, path).expect("servers");
        assert_eq!(found[0].id, "codex/gh");
        assert_eq!(found[0].value["args"][0], "-y");
    }
}
