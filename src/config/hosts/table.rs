//! The supported hosts, one row each: the single place that says what a host is called,
//! how its file is written, where its servers sit, where its files are and which entry
//! keys change what it starts.
//!
//! A new host is a row here (plus its variant in [`Host`], which only indexes this table)
//! and a fixture in `tests/fixtures/hosts/`. Each row cites where its facts come from.
//! Logic over the rows lives in `mod.rs` and `locations.rs`, never here.

use super::locations::{ANY_OS, Base, Os, UserFile};
use super::{Format, Host, HostSpec, PerDir};

/// Every row, in the order of [`Host`]'s variants (checked when compiling).
pub(super) const TABLE: [HostSpec; 9] = [
    // https://modelcontextprotocol.io/docs/develop/connect-local-servers (file places,
    // stdio only); the Windows Store build is an MSIX package that reads a virtualized
    // copy under its package dir, so that comes before the plain %APPDATA% file.
    HostSpec {
        host: Host::ClaudeDesktop,
        id: "claude-desktop",
        aliases: &["claude"],
        name: "Claude Desktop",
        format: Format::Json,
        servers: &["mcpServers"],
        per_dir: None,
        user_files: &[
            UserFile {
                os: &[Os::MacOs],
                base: Base::Home,
                rel: "Library/Application Support/Claude/claude_desktop_config.json",
            },
            UserFile {
                os: &[Os::Windows],
                base: Base::MsixRoaming {
                    package_prefix: "Claude_",
                },
                rel: "Claude/claude_desktop_config.json",
            },
            UserFile {
                os: &[Os::Windows],
                base: Base::Config,
                rel: "Claude/claude_desktop_config.json",
            },
            // Linux builds (and community packages) follow XDG: ~/.config/Claude.
            UserFile {
                os: &[Os::Linux],
                base: Base::Config,
                rel: "Claude/claude_desktop_config.json",
            },
        ],
        project_file: None,
        spawn_keys: &["command", "args", "env"],
    },
    // https://docs.claude.com/en/docs/claude-code/mcp (scopes, `.mcp.json`, `type`,
    // `headersHelper`) and https://docs.claude.com/en/docs/claude-code/settings
    // (CLAUDE_CONFIG_DIR); local-scope servers sit under `projects.<dir>.mcpServers`.
    HostSpec {
        host: Host::ClaudeCode,
        id: "claude-code",
        aliases: &[],
        name: "Claude Code",
        format: Format::Json,
        servers: &["mcpServers"],
        per_dir: Some(PerDir {
            under: &["projects"],
            servers: &["mcpServers"],
        }),
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::EnvOrHome {
                var: "CLAUDE_CONFIG_DIR",
                fallback: "",
            },
            rel: ".claude.json",
        }],
        project_file: Some(".mcp.json"),
        spawn_keys: &["type", "command", "args", "env", "url", "headersHelper"],
    },
    // https://cursor.com/docs/context/mcp (global and project `mcp.json`, `envFile`).
    HostSpec {
        host: Host::Cursor,
        id: "cursor",
        aliases: &[],
        name: "Cursor",
        format: Format::Json,
        servers: &["mcpServers"],
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::Home,
            rel: ".cursor/mcp.json",
        }],
        project_file: Some(".cursor/mcp.json"),
        spawn_keys: &["type", "command", "args", "env", "envFile", "url"],
    },
    // https://code.visualstudio.com/docs/copilot/reference/mcp-configuration and
    // microsoft/vscode src/vs/platform/mcp/common/mcpPlatformTypes.ts (stdio `cwd`,
    // `envFile`, `dev`, which can start the server under a debugger).
    HostSpec {
        host: Host::VsCode,
        id: "vscode",
        aliases: &["code", "vs-code"],
        name: "VS Code",
        format: Format::Json,
        servers: &["servers"],
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::Config,
            rel: "Code/User/mcp.json",
        }],
        project_file: Some(".vscode/mcp.json"),
        spawn_keys: &[
            "type", "command", "args", "env", "envFile", "cwd", "dev", "url",
        ],
    },
    // https://docs.windsurf.com/windsurf/cascade/mcp (`mcp_config.json`, `serverUrl`).
    HostSpec {
        host: Host::Windsurf,
        id: "windsurf",
        aliases: &[],
        name: "Windsurf",
        format: Format::Json,
        servers: &["mcpServers"],
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::Home,
            rel: ".codeium/windsurf/mcp_config.json",
        }],
        project_file: None,
        spawn_keys: &["command", "args", "env", "serverUrl", "url"],
    },
    // google-gemini/gemini-cli docs/tools/mcp-server.md and docs/cli/configuration.md
    // (user and project `settings.json`, `cwd`, `httpUrl`).
    HostSpec {
        host: Host::GeminiCli,
        id: "gemini-cli",
        aliases: &["gemini"],
        name: "Gemini CLI",
        format: Format::Json,
        servers: &["mcpServers"],
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::Home,
            rel: ".gemini/settings.json",
        }],
        project_file: Some(".gemini/settings.json"),
        spawn_keys: &["command", "args", "env", "cwd", "url", "httpUrl"],
    },
    // https://developers.openai.com/codex/mcp and openai/codex docs/config.md
    // (CODEX_HOME, `[mcp_servers.<name>]`, `env_vars` forwarded from Codex's own env).
    HostSpec {
        host: Host::Codex,
        id: "codex",
        aliases: &["codex-cli"],
        name: "Codex CLI",
        format: Format::Toml,
        servers: &["mcp_servers"],
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::EnvOrHome {
                var: "CODEX_HOME",
                fallback: ".codex",
            },
            rel: "config.toml",
        }],
        project_file: Some(".codex/config.toml"),
        spawn_keys: &["command", "args", "env", "env_vars", "cwd", "url"],
    },
    // https://zed.dev/docs/ai/mcp and https://zed.dev/docs/configuring-zed (settings
    // file per OS: XDG on Linux, ~/.config/zed on macOS, %APPDATA%\Zed on Windows).
    HostSpec {
        host: Host::Zed,
        id: "zed",
        aliases: &[],
        name: "Zed",
        format: Format::Json,
        servers: &["context_servers"],
        per_dir: None,
        user_files: &[
            UserFile {
                os: &[Os::Linux],
                base: Base::Config,
                rel: "zed/settings.json",
            },
            UserFile {
                os: &[Os::MacOs],
                base: Base::Home,
                rel: ".config/zed/settings.json",
            },
            UserFile {
                os: &[Os::Windows],
                base: Base::Config,
                rel: "Zed/settings.json",
            },
        ],
        project_file: Some(".zed/settings.json"),
        spawn_keys: &["command", "args", "env", "url"],
    },
    // https://docs.cline.bot/mcp/configuring-mcp-servers (file in VS Code's
    // globalStorage) and cline/cline src/services/mcp/schemas.ts (entry keys, with the
    // legacy `transportType`).
    HostSpec {
        host: Host::Cline,
        id: "cline",
        aliases: &[],
        name: "Cline",
        format: Format::Json,
        servers: &["mcpServers"],
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::Config,
            rel: "Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
        }],
        project_file: None,
        spawn_keys: &[
            "type",
            "transportType",
            "command",
            "args",
            "env",
            "cwd",
            "url",
        ],
    },
];
