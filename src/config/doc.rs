//! One document type over every host's config format, so import, restore, the
//! launcher's approval check, inventory and watch read and edit JSON, JSONC, TOML and
//! YAML files the same way, and see every host's entries in one shape.
//!
//! A server's place in a file is a key path plus a name: `mcpServers.github`,
//! `servers.github` (VS Code), `context_servers.github` (Zed), `mcp_servers.github`
//! (Codex), `projects."/home/me/app".mcpServers.github` (Claude Code's per-project
//! servers in `~/.claude.json`), the `[[mcp_servers]]` table whose `name` is `github`
//! (Mistral Vibe) or the element of the `mcp.servers` list whose `id` is `github` (Grok
//! CLI 1.x). This module finds those places, turns each into a server
//! id, and converts each entry between the host's shape and the standard one at this
//! boundary (the row's `Shape`: read on the way out, written back on the way in). It
//! does not decide what to change (that is `rewrite`) and does no I/O.

use std::path::Path;

use serde_json::Value;

use crate::base::error::Result;
use crate::config::hosts::shape::Collection;
use crate::config::hosts::{Format, Host};
use crate::config::jsonfile::JsonFile;
use crate::config::tomlfile::TomlFile;
use crate::config::yamlfile::YamlFile;

/// A parsed host config, edited in place.
#[derive(Debug, Clone)]
pub struct ConfigDoc {
    host: Host,
    file: File,
}

/// The file, in its format. Each has the same map and list operations
/// (`entries_at`/`set_entry_at`, `list_entries_at`/`set_list_entry_at`); the shapes are
/// format-independent.
#[derive(Debug, Clone)]
enum File {
    Json(JsonFile),
    Toml(TomlFile),
    Yaml(YamlFile),
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
        let file = match host.format() {
            Format::Json => File::Json(JsonFile::parse(path, bytes)?),
            Format::Toml => File::Toml(TomlFile::parse(path, bytes)?),
            Format::Yaml => File::Yaml(YamlFile::parse(path, bytes)?),
        };
        Ok(ConfigDoc { host, file })
    }

    /// The servers at `key_path` in file order, each in the standard entry shape.
    pub fn entries_at(&self, key_path: &[String]) -> Result<Vec<(String, Value)>> {
        let shape = self.host.shape();
        Ok(self
            .host_entries_at(key_path)?
            .into_iter()
            .map(|(name, v)| (name, shape.read(&v)))
            .collect())
    }

    /// Set server `name` at `key_path` to the standard entry `value`, written in the
    /// host's shape; every byte outside that entry stays as it is.
    pub fn set_entry_at(&mut self, key_path: &[String], name: &str, value: &Value) -> Result<()> {
        let shape = self.host.shape();
        let existing = self
            .host_entries_at(key_path)?
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v);
        let value = shape.write(name, value, existing.as_ref());
        let p: Vec<&str> = key_path.iter().map(String::as_str).collect();
        match (shape.collection, &mut self.file) {
            (Collection::Map, File::Json(f)) => f.set_entry_at(&p, name, &value),
            (Collection::Map, File::Toml(f)) => f.set_entry_at(&p, name, &value),
            (Collection::Map, File::Yaml(f)) => f.set_entry_at(&p, name, &value),
            (Collection::List { name_key }, File::Json(f)) => {
                f.set_list_entry_at(&p, name_key, name, &value)
            }
            (Collection::List { name_key }, File::Toml(f)) => {
                f.set_list_entry_at(&p, name_key, name, &value)
            }
            (Collection::List { name_key }, File::Yaml(f)) => {
                f.set_list_entry_at(&p, name_key, name, &value)
            }
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        match &self.file {
            File::Json(f) => f.to_bytes(),
            File::Toml(f) => f.to_bytes(),
            File::Yaml(f) => f.to_bytes(),
        }
    }

    /// The entries at `key_path` as the file holds them.
    fn host_entries_at(&self, key_path: &[String]) -> Result<Vec<(String, Value)>> {
        let p: Vec<&str> = key_path.iter().map(String::as_str).collect();
        match (self.host.shape().collection, &self.file) {
            (Collection::Map, File::Json(f)) => f.entries_at(&p),
            (Collection::Map, File::Toml(f)) => f.entries_at(&p),
            (Collection::Map, File::Yaml(f)) => f.entries_at(&p),
            (Collection::List { name_key }, File::Json(f)) => f.list_entries_at(&p, name_key),
            (Collection::List { name_key }, File::Toml(f)) => f.list_entries_at(&p, name_key),
            (Collection::List { name_key }, File::Yaml(f)) => f.list_entries_at(&p, name_key),
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
            && let File::Json(f) = &self.file
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

    #[test]
    fn opencode_entries_read_standard_and_are_written_back_as_opencode_reads_them() {
        let text = br#"{
  "$schema": "https://opencode.ai/config.json",
  // local and remote servers
  "mcp": {
    "github": { "type": "local", "command": ["npx", "-y", "srv"], "environment": { "T": "x" }, "enabled": true },
    "api": { "type": "remote", "url": "https://api.example.com/mcp" }
  }
}
"#;
        let path = Path::new("/nowhere/oc.json");
        let mut doc = ConfigDoc::parse(Host::OpenCode, path, text).expect("parses");
        let found = doc.servers(Host::OpenCode, path).expect("servers");
        assert_eq!(found[0].id, "opencode/github");
        assert_eq!(found[0].value["command"], "npx");
        assert_eq!(found[0].value["args"], serde_json::json!(["-y", "srv"]));
        assert_eq!(found[0].value["env"]["T"], "x");
        assert_eq!(found[1].value["url"], "https://api.example.com/mcp");
        // Writing the standard value it read back changes no byte.
        doc.set_entry_at(&found[0].key_path, "github", &found[0].value)
            .expect("same");
        assert_eq!(doc.to_bytes(), text);

        let mut v = found[0].value.clone();
        v["command"] = "/opt/kb/keybroker".into();
        v["args"] = serde_json::json!(["run", "opencode/github", "--", "npx", "-y", "srv"]);
        v["env"] = serde_json::json!({});
        doc.set_entry_at(&found[0].key_path, "github", &v)
            .expect("set");
        let out = String::from_utf8(doc.to_bytes()).expect("utf8");
        assert!(out.contains("// local and remote servers"), "{out}");
        let host = JsonFile::parse(path, out.as_bytes())
            .expect("parses")
            .entries_at(&["mcp"])
            .expect("entries");
        assert_eq!(
            host[0].1,
            serde_json::json!({"type": "local", "command": ["/opt/kb/keybroker", "run", "opencode/github", "--", "npx", "-y", "srv"], "environment": {}, "enabled": true})
        );
        assert!(
            out.contains(r#""api": { "type": "remote", "url": "https://api.example.com/mcp" }"#),
            "{out}"
        );
        let again = ConfigDoc::parse(Host::OpenCode, path, out.as_bytes()).expect("parses");
        assert_eq!(again.servers(Host::OpenCode, path).expect("s")[0].value, v);
    }

    #[test]
    fn mistral_vibe_servers_are_named_tables_in_an_array() {
        let text = b"# vibe\n[[mcp_servers]]\nname = \"gh\"\ntransport = \"stdio\"\ncommand = \"npx\"\nargs = [\"-y\"]\n\n[[mcp_servers]]\nname = \"api\"\ntransport = \"http\"\nurl = \"https://x.example/mcp\"\n";
        let path = Path::new("/nowhere/config.toml");
        let mut doc = ConfigDoc::parse(Host::MistralVibe, path, text).expect("parses");
        let found = doc.servers(Host::MistralVibe, path).expect("servers");
        let ids: Vec<&str> = found.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["mistral-vibe/gh", "mistral-vibe/api"]);
        assert_eq!(
            found[0].value,
            serde_json::json!({"type": "stdio", "command": "npx", "args": ["-y"]})
        );
        assert_eq!(found[1].value["url"], "https://x.example/mcp");
        // The bridge entry an import writes for the remote one.
        let bridge = serde_json::json!({"command": "/opt/kb/keybroker", "args": ["bridge", "mistral-vibe/api"]});
        doc.set_entry_at(&found[1].key_path, "api", &bridge)
            .expect("set");
        let out = String::from_utf8(doc.to_bytes()).expect("utf8");
        let first = "# vibe\n[[mcp_servers]]\nname = \"gh\"\ntransport = \"stdio\"\ncommand = \"npx\"\nargs = [\"-y\"]\n";
        assert!(out.starts_with(first), "{out}");
        assert!(
            out.contains("name = \"api\"\ntransport = \"stdio\"\n"),
            "{out}"
        );
        assert!(!out.contains("url"), "{out}");
        let again = ConfigDoc::parse(Host::MistralVibe, path, out.as_bytes()).expect("parses");
        let found = again.servers(Host::MistralVibe, path).expect("servers");
        assert_eq!(
            found[1].value["args"],
            serde_json::json!(["bridge", "mistral-vibe/api"])
        );
        assert_eq!(found[1].value["type"], "stdio");
    }
}
