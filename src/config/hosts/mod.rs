//! Host adapters: where each AI host keeps its MCP config, and how its server entries look.
//!
//! Every fact about a host is a row of `table::TABLE`; [`Host`] is a small handle into
//! it, and the methods here read the row. An adapter only locates and reads; planning
//! and writing edits is `rewrite`'s job, so every host goes through the same
//! conflict-checked, atomic path. A host whose entries look different from the common
//! `{command, args, env}` says so in its row's [`Shape`]; `config::doc` converts at the
//! file boundary, so [`Entry`] and everything after it see one shape.

pub mod locations;
pub mod shape;
mod table;

use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::base::error::{Error, Result};
use locations::{Dirs, UserFile};
pub use shape::Shape;

/// The hosts Keybroker can import from. The variants only index `table::TABLE` (a
/// new variant needs its row there, in the same position); ids, names and files come
/// from the row. Serialized as the row's id (`claude-desktop`, `vscode`, ...), which
/// state files store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Host {
    ClaudeDesktop,
    ClaudeCode,
    Cursor,
    VsCode,
    Windsurf,
    GeminiCli,
    Codex,
    Zed,
    Cline,
    CopilotCli,
    OpenCode,
    Kilo,
    Amp,
    Kiro,
    Junie,
    LmStudio,
    RooCode,
    KiloCode,
    AmazonQ,
    Augment,
    QwenCode,
    Crush,
    Warp,
    KimiCli,
    Factory,
    GrokCli,
    MistralVibe,
    Antigravity,
    DevinDesktop,
    DevinCli,
    GrokDev,
    Goose,
    Continue,
    FastAgent,
}

/// How a host's config file is written; each format has its document type, and
/// `config::doc` picks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JSON; comments and trailing commas are accepted and kept (JSONC).
    Json,
    Toml,
    /// YAML 1.2 (one document), edited in place like the others.
    Yaml,
}

/// Server maps a host keeps per project dir inside its user file: the map of project
/// dirs at `under`, each holding a server map at `servers`
/// (`projects.<dir>.mcpServers` in Claude Code's `~/.claude.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerDir {
    pub under: &'static [&'static str],
    pub servers: &'static [&'static str],
}

/// One host, as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostSpec {
    /// The variant this row belongs to (its position in the table).
    pub host: Host,
    /// The stable id: CLI argument, server id prefix, and what state files store.
    pub id: &'static str,
    /// Other names `Host::parse` accepts.
    pub aliases: &'static [&'static str],
    /// The name people know the host by.
    pub name: &'static str,
    pub format: Format,
    /// The key path of the servers, from the file's root (one literal key per step:
    /// Amp's `"amp.mcpServers"` is a single key with a dot in it).
    pub servers: &'static [&'static str],
    /// How the servers are collected there and how each entry is spelled.
    pub shape: Shape,
    pub per_dir: Option<PerDir>,
    /// User-scope files, most likely first; see [`locations::user_paths`]. Empty for a
    /// host that only reads a file in the project it runs in.
    pub user_files: &'static [UserFile],
    /// The project-scope files, `/`-separated, relative to the project dir, most likely
    /// first. A `*` in the last step matches every file it fits in that dir (Continue's
    /// `.continue/mcpServers/*.yaml`).
    pub project_files: &'static [&'static str],
    /// The entry keys that change what the host starts or connects to for an entry:
    /// the program, its arguments, environment (inline or from a file), working dir,
    /// and the keys that pick another transport. Anything else (timeouts, tool
    /// filters, trust flags) leaves the spawn as it is. Named as in the standard shape
    /// the row's [`Shape`] reads entries into (`env`, not opencode's `environment`).
    pub spawn_keys: &'static [&'static str],
}

/// The table as a static, so a row can be borrowed for the life of the program.
static HOSTS: [HostSpec; table::TABLE.len()] = table::TABLE;

// Each row sits at its variant's index, so `spec` is a plain index.
const _: () = {
    let mut i = 0;
    while i < table::TABLE.len() {
        assert!(
            table::TABLE[i].host as usize == i,
            "host table rows must follow the order of `Host`"
        );
        i += 1;
    }
};

impl Serialize for Host {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

impl Host {
    /// Every host, in table order.
    pub const ALL: [Host; table::TABLE.len()] = {
        let mut out = [Host::ClaudeDesktop; table::TABLE.len()];
        let mut i = 0;
        while i < out.len() {
            out[i] = table::TABLE[i].host;
            i += 1;
        }
        out
    };

    /// The host's row.
    pub fn spec(self) -> &'static HostSpec {
        &HOSTS[self as usize]
    }

    /// The host with id or alias `id`.
    pub fn parse(id: &str) -> Result<Host> {
        HOSTS
            .iter()
            .find(|s| s.id == id || s.aliases.contains(&id))
            .map(|s| s.host)
            .ok_or_else(|| {
                Error::other(
                    format!("unknown host `{id}`"),
                    format!("supported hosts: {}", Host::ALL.map(Host::id).join(", ")),
                )
            })
    }

    pub fn id(self) -> &'static str {
        self.spec().id
    }

    /// The name people know the host by.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn format(self) -> Format {
        self.spec().format
    }

    /// Whether this host starts stdio servers with only the entry's `env` (and a few
    /// basics such as `PATH` and `HOME`) rather than its own environment, so a written
    /// entry must carry what the launcher needs ([`table::ENTRY_ENV_ONLY`]).
    pub fn entry_env_only(self) -> bool {
        table::ENTRY_ENV_ONLY.contains(&self)
    }

    /// How this host collects and spells its entries.
    pub fn shape(self) -> &'static Shape {
        &self.spec().shape
    }

    /// The environment variables that move this host's user files (`CODEX_HOME`, ...).
    pub fn path_vars(self) -> Vec<&'static str> {
        locations::path_vars(self.spec())
    }

    /// The key path of the server map, from the file's root (`["mcpServers"]`,
    /// `["servers"]`, ...). Claude Code also keeps per-project maps: [`Host::per_dir`].
    pub fn servers_path(self) -> Vec<String> {
        self.spec().servers.iter().map(|k| k.to_string()).collect()
    }

    /// Where this host keeps server maps per project dir inside its user file, if it does.
    pub fn per_dir(self) -> Option<PerDir> {
        self.spec().per_dir
    }

    /// The entry keys that change what the host starts for an entry (see
    /// [`HostSpec::spawn_keys`]).
    pub fn spawn_keys(self) -> &'static [&'static str] {
        self.spec().spawn_keys
    }

    /// User-scope config files on this system, most likely first (they may not exist).
    pub fn user_paths(self) -> Vec<PathBuf> {
        Dirs::system()
            .map(|d| self.user_paths_in(&d))
            .unwrap_or_default()
    }

    /// User-scope config files under the given base dirs, for the OS they name.
    pub fn user_paths_in(self, dirs: &Dirs) -> Vec<PathBuf> {
        locations::user_paths(self.spec(), dirs)
    }

    /// The project-scope files of project dir `dir` to read or edit: those that exist
    /// (every match of a pattern), else the first plain one, which may be created. Empty
    /// for a host without project files.
    pub fn project_paths(self, dir: &Path) -> Vec<PathBuf> {
        let found: Vec<PathBuf> = self
            .project_candidates(dir)
            .into_iter()
            .filter(|p| p.is_file())
            .collect();
        if !found.is_empty() {
            return found;
        }
        self.spec()
            .project_files
            .iter()
            .find(|rel| !rel.contains('*'))
            .map(|rel| locations::join_rel(dir, rel))
            .into_iter()
            .collect()
    }

    /// Every project-scope file this host may read in `dir`, found or not: each plain
    /// path, and each pattern's matches (the pattern itself when nothing matches).
    pub fn project_candidates(self, dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for rel in self.spec().project_files {
            let path = locations::join_rel(dir, rel);
            if !rel.contains('*') {
                out.push(path);
                continue;
            }
            let matches = locations::glob_files(&path);
            if matches.is_empty() {
                out.push(path);
            }
            out.extend(matches);
        }
        out
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
            .ok_or_else(|| match self.spec().project_files.first() {
                Some(rel) if self.spec().user_files.is_empty() => Error::other(
                    format!(
                        "{} keeps its config only in the project it runs in ({rel})",
                        self.name()
                    ),
                    "pass the project dir with --project DIR, or the file with --config PATH",
                ),
                _ => Error::other(
                    format!(
                        "cannot work out where {} keeps its config on this system",
                        self.name()
                    ),
                    "pass the file with --config PATH",
                ),
            })
    }

    /// For a project-scope file (e.g. `<dir>/.cursor/mcp.json`, not the user's own
    /// `~/.cursor/mcp.json`), the project dir's name: it goes into server ids so the same
    /// server name in two projects gives two ids.
    pub fn project_of(self, file: &Path) -> Option<String> {
        if self.user_paths().iter().any(|u| u == file) {
            return None;
        }
        let rel = self
            .spec()
            .project_files
            .iter()
            .find(|rel| locations::rel_matches(file, rel))?;
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
        let files = project.map(|d| host.project_paths(d)).unwrap_or_default();
        for p in files.into_iter().filter(|p| p.exists()) {
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
        if let Some(why) = obj.get(shape::UNSUPPORTED).and_then(Value::as_str) {
            return Entry::Unsupported(why.to_string());
        }
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
    use super::locations::Os;
    use super::*;

    #[test]
    fn every_host_id_parses_back_to_its_host() {
        for h in Host::ALL {
            assert_eq!(Host::parse(h.id()).expect("parses"), h);
        }
        assert_eq!(Host::parse("gemini").expect("alias"), Host::GeminiCli);
        let err = Host::parse("notepad").expect_err("unknown");
        assert!(err.describe().contains("codex"), "{err}");
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
    fn only_codex_and_mistral_vibe_are_toml_and_each_host_names_its_server_key() {
        for h in Host::ALL {
            assert_eq!(
                h.format() == Format::Toml,
                matches!(h, Host::Codex | Host::MistralVibe),
                "{}",
                h.id()
            );
            assert_eq!(
                h.format() == Format::Yaml,
                matches!(h, Host::Goose | Host::Continue | Host::FastAgent),
                "{}",
                h.id()
            );
        }
        assert_eq!(Host::Goose.servers_path(), ["extensions"]);
        assert_eq!(Host::FastAgent.servers_path(), ["mcp", "servers"]);
        assert_eq!(Host::VsCode.servers_path(), ["servers"]);
        assert_eq!(Host::Zed.servers_path(), ["context_servers"]);
        assert_eq!(Host::Codex.servers_path(), ["mcp_servers"]);
        assert_eq!(Host::Cursor.servers_path(), ["mcpServers"]);
        assert_eq!(Host::OpenCode.servers_path(), ["mcp"]);
        assert_eq!(Host::Crush.servers_path(), ["mcp"]);
        // One key with a dot in it, not `amp` then `mcpServers`.
        assert_eq!(Host::Amp.servers_path(), ["amp.mcpServers"]);
        assert_eq!(Host::MistralVibe.servers_path(), ["mcp_servers"]);
    }

    #[test]
    fn there_are_thirty_four_hosts_and_the_shapes_that_differ_are_the_documented_ones() {
        assert_eq!(Host::ALL.len(), 34);
        let differ: Vec<&str> = Host::ALL
            .iter()
            .filter(|h| !h.shape().is_standard())
            .map(|h| h.id())
            .collect();
        assert_eq!(
            differ,
            [
                "copilot-cli",
                "opencode",
                "kilo",
                "crush",
                "factory",
                "grok-cli",
                "mistral-vibe",
                "grok-dev",
                "goose",
                "continue",
                "fast-agent"
            ]
        );
        assert_eq!(Host::Kilo.shape(), Host::OpenCode.shape());
        assert_eq!(Host::parse("windsurf").expect("id"), Host::Windsurf);
        assert_eq!(Host::parse("devin").expect("alias"), Host::DevinDesktop);
    }

    #[test]
    fn ids_and_aliases_are_unique_and_every_alias_resolves_to_its_row() {
        let mut names: Vec<&str> = Vec::new();
        for (i, spec) in HOSTS.iter().enumerate() {
            assert_eq!(spec.host as usize, i, "{} is out of place", spec.id);
            assert_eq!(spec.host.spec().id, spec.id);
            for name in std::iter::once(&spec.id).chain(spec.aliases) {
                assert!(!names.contains(name), "`{name}` names two hosts");
                names.push(name);
                assert_eq!(Host::parse(name).expect("parses"), spec.host, "{name}");
            }
        }
        assert_eq!(Host::parse("claude").expect("alias"), Host::ClaudeDesktop);
        assert_eq!(Host::parse("vs-code").expect("alias"), Host::VsCode);
        assert_eq!(Host::parse("codex-cli").expect("alias"), Host::Codex);
    }

    #[test]
    fn a_host_serializes_as_the_id_state_files_store() {
        for h in Host::ALL {
            assert_eq!(serde_json::to_value(h).expect("json"), h.id());
        }
        assert_eq!(
            serde_json::to_string(&[Host::VsCode, Host::ClaudeDesktop, Host::GeminiCli])
                .expect("json"),
            r#"["vscode","claude-desktop","gemini-cli"]"#
        );
    }

    fn no_var(_: &str) -> Option<std::ffi::OsString> {
        None
    }

    fn dirs(os: Os, var: fn(&str) -> Option<std::ffi::OsString>) -> Dirs {
        Dirs {
            os,
            home: PathBuf::from("/h"),
            config: PathBuf::from("/cfg"),
            local_data: PathBuf::from("/nonexistent-local-data"),
            var,
        }
    }

    #[test]
    fn every_host_has_a_user_path_on_each_os_built_from_the_given_dirs() {
        // Grok CLI reads only the file in the project it runs in.
        let project_only: Vec<Host> = Host::ALL
            .into_iter()
            .filter(|h| h.spec().user_files.is_empty())
            .collect();
        assert_eq!(project_only, [Host::GrokCli, Host::FastAgent]);
        for h in project_only.iter() {
            assert!(!h.spec().project_files.is_empty(), "{}", h.id());
        }
        for os in Os::ALL {
            for h in Host::ALL.into_iter().filter(|h| !project_only.contains(h)) {
                let paths = h.user_paths_in(&dirs(os, no_var));
                assert!(!paths.is_empty(), "{} has no user file on {os:?}", h.id());
                for p in &paths {
                    assert!(
                        p.starts_with("/h") || p.starts_with("/cfg"),
                        "{} on {os:?}: {}",
                        h.id(),
                        p.display()
                    );
                }
            }
        }
    }

    #[test]
    fn user_paths_follow_each_oss_layout() {
        let first = |h: Host, os: Os| h.user_paths_in(&dirs(os, no_var)).remove(0);
        let p = |s: &str| locations::join_rel(Path::new("/"), s);
        assert_eq!(first(Host::Zed, Os::Linux), p("cfg/zed/settings.json"));
        assert_eq!(
            first(Host::Zed, Os::MacOs),
            p("h/.config/zed/settings.json")
        );
        assert_eq!(first(Host::Zed, Os::Windows), p("cfg/Zed/settings.json"));
        assert_eq!(
            first(Host::ClaudeDesktop, Os::MacOs),
            p("h/Library/Application Support/Claude/claude_desktop_config.json")
        );
        assert_eq!(
            Host::ClaudeDesktop.user_paths_in(&dirs(Os::Windows, no_var)),
            [p("cfg/Claude/claude_desktop_config.json")]
        );
        assert_eq!(
            first(Host::ClaudeDesktop, Os::Linux),
            p("cfg/Claude/claude_desktop_config.json")
        );
        assert_eq!(first(Host::VsCode, Os::MacOs), p("cfg/Code/User/mcp.json"));
        assert_eq!(first(Host::Codex, Os::Linux), p("h/.codex/config.toml"));
        assert_eq!(first(Host::ClaudeCode, Os::Windows), p("h/.claude.json"));
        assert_eq!(first(Host::Cursor, Os::Linux), p("h/.cursor/mcp.json"));
        // XDG-style hosts use ~/.config on every OS, not the platform config dir.
        for os in Os::ALL {
            assert_eq!(
                first(Host::OpenCode, os),
                p("h/.config/opencode/opencode.json")
            );
            assert_eq!(first(Host::Crush, os), p("h/.config/crush/crush.json"));
            assert_eq!(first(Host::Amp, os), p("h/.config/amp/settings.json"));
            assert_eq!(first(Host::Warp, os), p("h/.warp/.mcp.json"));
        }
        assert_eq!(
            first(Host::DevinDesktop, Os::MacOs),
            p("h/.config/devin/mcp_config.json")
        );
        assert_eq!(
            first(Host::DevinDesktop, Os::Windows),
            p("cfg/devin/mcp_config.json")
        );
        assert_eq!(
            first(Host::RooCode, Os::Linux),
            p("cfg/Code/User/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json")
        );
        assert_eq!(
            first(Host::MistralVibe, Os::Linux),
            p("h/.vibe/config.toml")
        );
        assert_eq!(
            first(Host::CopilotCli, Os::Windows),
            p("h/.copilot/mcp-config.json")
        );
        assert_eq!(
            first(Host::Antigravity, Os::Linux),
            p("h/.gemini/config/mcp_config.json")
        );
    }

    #[test]
    fn host_home_variables_move_their_files_and_an_unset_override_adds_none() {
        fn var(name: &str) -> Option<std::ffi::OsString> {
            match name {
                "COPILOT_HOME" => Some("/copilot".into()),
                "KIMI_SHARE_DIR" => Some("/kimi".into()),
                "VIBE_HOME" => Some("/vibe".into()),
                "CRUSH_GLOBAL_CONFIG" => Some("/crush".into()),
                "XDG_CONFIG_HOME" => Some("/xdg".into()),
                _ => None,
            }
        }
        let d = dirs(Os::Linux, var);
        let p = |s: &str| locations::join_rel(Path::new("/"), s);
        assert_eq!(
            Host::CopilotCli.user_paths_in(&d),
            [p("copilot/mcp-config.json")]
        );
        assert_eq!(Host::KimiCli.user_paths_in(&d), [p("kimi/mcp.json")]);
        assert_eq!(Host::MistralVibe.user_paths_in(&d), [p("vibe/config.toml")]);
        assert_eq!(
            Host::Crush.user_paths_in(&d),
            [p("crush/crush.json"), p("xdg/crush/crush.json")]
        );
        // Without CRUSH_GLOBAL_CONFIG its candidate is simply absent.
        assert_eq!(
            Host::Crush.user_paths_in(&dirs(Os::Linux, no_var)),
            [p("h/.config/crush/crush.json")]
        );
        assert_eq!(
            Host::Crush.path_vars(),
            ["CRUSH_GLOBAL_CONFIG", "XDG_CONFIG_HOME"]
        );
        assert_eq!(Host::Codex.path_vars(), ["CODEX_HOME"]);
        assert!(Host::Cursor.path_vars().is_empty());
    }

    #[test]
    fn a_project_only_host_without_a_project_says_to_pass_one() {
        let err = Host::GrokCli.locate(None).expect_err("no user file");
        assert!(err.to_string().contains(".grok/settings.json"), "{err}");
        assert_eq!(
            Host::GrokCli
                .locate(Some(Path::new("/p/.grok/settings.json")))
                .expect("explicit"),
            Path::new("/p/.grok/settings.json")
        );
    }

    #[test]
    fn an_entry_a_shape_could_not_read_is_unsupported_with_its_reason() {
        let host = serde_json::json!({"type": "local", "command": "npx"});
        let std = Host::OpenCode.shape().read(&host);
        match Entry::from_value(&std) {
            Entry::Unsupported(why) => assert!(why.contains("array"), "{why}"),
            other => panic!("{other:?}"),
        }
        let ok = serde_json::json!({"type": "local", "command": ["npx", "-y", "x"], "environment": {"A": "b"}});
        assert_eq!(
            Entry::from_value(&Host::OpenCode.shape().read(&ok)),
            Entry::Stdio {
                command: "npx".into(),
                args: vec!["-y".into(), "x".into()],
                env: vec![("A".into(), "b".into())],
            }
        );
    }

    #[test]
    fn codex_home_and_claude_config_dir_move_the_user_file_unless_empty() {
        fn var(name: &str) -> Option<std::ffi::OsString> {
            match name {
                "CODEX_HOME" => Some("/codex-home".into()),
                "CLAUDE_CONFIG_DIR" => Some("".into()),
                _ => None,
            }
        }
        let d = dirs(Os::Linux, var);
        assert_eq!(
            Host::Codex.user_paths_in(&d),
            [Path::new("/codex-home").join("config.toml")]
        );
        // An empty CLAUDE_CONFIG_DIR counts as unset.
        assert_eq!(
            Host::ClaudeCode.user_paths_in(&d),
            [Path::new("/h").join(".claude.json")]
        );
    }

    #[test]
    fn claude_desktops_msix_package_copy_comes_before_the_plain_appdata_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let packages = tmp.path().join("Packages");
        for name in ["Claude_pzs8sxrjxfjjc", "Other_123"] {
            std::fs::create_dir_all(packages.join(name)).expect("package dir");
        }
        let mut d = dirs(Os::Windows, no_var);
        d.local_data = tmp.path().to_path_buf();
        let file = |base: &Path| base.join("Claude").join("claude_desktop_config.json");
        let msix = packages
            .join("Claude_pzs8sxrjxfjjc")
            .join("LocalCache")
            .join("Roaming");
        assert_eq!(
            Host::ClaudeDesktop.user_paths_in(&d),
            [file(&msix), file(Path::new("/cfg"))]
        );
        // Other OSes never look for packages.
        d.os = Os::Linux;
        assert_eq!(
            Host::ClaudeDesktop.user_paths_in(&d),
            [file(Path::new("/cfg"))]
        );
    }

    #[test]
    fn project_files_join_under_the_project_dir_and_name_it() {
        let dir = Path::new("/work/my-app");
        for h in Host::ALL {
            for file in h.project_candidates(dir) {
                assert!(file.starts_with(dir), "{}", file.display());
                assert_eq!(h.project_of(&file).as_deref(), Some("my-app"), "{}", h.id());
            }
        }
        assert_eq!(
            Host::VsCode.project_paths(dir),
            [dir.join(".vscode").join("mcp.json")]
        );
        assert!(Host::Windsurf.project_paths(dir).is_empty());
        // fast-agent's newest name is the one a new file would get.
        assert_eq!(
            Host::FastAgent.project_paths(dir),
            [dir.join(".fast-agent").join("fast-agent.yaml")]
        );
    }

    #[test]
    fn continue_blocks_are_the_yaml_files_in_the_projects_mcp_servers_dir() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("my-app");
        let blocks = dir.join(".continue").join("mcpServers");
        std::fs::create_dir_all(&blocks).expect("dirs");
        for name in ["b.yaml", "a.yaml", "notes.txt"] {
            std::fs::write(blocks.join(name), "mcpServers: []\n").expect("write");
        }
        assert_eq!(
            Host::Continue.project_paths(&dir),
            [blocks.join("a.yaml"), blocks.join("b.yaml")]
        );
        assert_eq!(
            Host::Continue.project_of(&blocks.join("a.yaml")).as_deref(),
            Some("my-app")
        );
        assert_eq!(Host::Continue.project_of(&blocks.join("notes.txt")), None);
        // With no block there is nothing to edit, but the place is still a candidate.
        let empty = tmp.path().join("other");
        assert!(Host::Continue.project_paths(&empty).is_empty());
        assert_eq!(
            Host::Continue.project_candidates(&empty),
            [locations::join_rel(&empty, ".continue/mcpServers/*.yaml")]
        );
        // fast-agent: the file that exists, of the names it reads.
        std::fs::write(dir.join("fastagent.config.yaml"), "mcp: {}\n").expect("write");
        assert_eq!(
            Host::FastAgent.project_paths(&dir),
            [dir.join("fastagent.config.yaml")]
        );
    }

    #[test]
    fn every_host_names_the_keys_of_a_stdio_spawn() {
        for h in Host::ALL {
            for key in ["command", "args", "env"] {
                assert!(h.spawn_keys().contains(&key), "{} lacks {key}", h.id());
            }
        }
        assert!(Host::VsCode.spawn_keys().contains(&"envFile"));
        assert!(Host::Codex.spawn_keys().contains(&"env_vars"));
        assert!(Host::GeminiCli.spawn_keys().contains(&"cwd"));
        assert!(!Host::ClaudeDesktop.spawn_keys().contains(&"url"));
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
