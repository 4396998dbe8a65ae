//! The supported hosts, one row each: the single place that says what a host is called,
//! how its file is written, where its servers sit, where its files are and which entry
//! keys change what it starts.
//!
//! A new host is a row here (plus its variant in [`Host`], which only indexes this table)
//! and a fixture in `tests/fixtures/hosts/`. Each row cites where its facts come from.
//! Logic over the rows lives in `mod.rs`, `locations.rs` and `shape.rs`, never here.

use super::locations::{ANY_OS, Base, Os, UserFile};
use super::shape::{Argv, Collection, Fill, Nested, Shape};
use super::{Format, Host, HostSpec, PerDir};

/// `$XDG_CONFIG_HOME`, else `~/.config`, on every OS (hosts built on `xdg-basedir` or
/// Go's `cmp.Or(XDG_CONFIG_HOME, ~/.config)`, which ignore the platform's own dirs).
const XDG_CONFIG: Base = Base::EnvOrHome {
    var: "XDG_CONFIG_HOME",
    fallback: ".config",
};

/// opencode and Kilo: `command` is one array (program, then arguments), the environment
/// is `environment`, and `type` (`local` or `remote`) is required.
const OPENCODE_SHAPE: Shape = Shape {
    argv: Argv::Joined,
    renames: &[("environment", "env")],
    stdio_type: Some("local"),
    ..Shape::STANDARD
};

/// The standard entry, with a `type` every entry must name (`stdio` for a command).
const TYPED_STDIO: Shape = Shape {
    stdio_type: Some("stdio"),
    ..Shape::STANDARD
};

/// The standard entry; the rows that use it are the common case.
const STANDARD: Shape = Shape::STANDARD;

/// Hosts that start a stdio server with only its entry's `env` (plus a few basics such
/// as `PATH` and `HOME`), not with their own environment, so `KEYBROKER_HOME` must be in
/// the entry: Gemini CLI drops every inherited name containing KEY, TOKEN, SECRET, ...
/// (its fork Qwen Code does not); Codex passes a fixed list (codex-rs rmcp-client's
/// default env vars); Kimi CLI and Mistral Vibe use the Python MCP SDK's
/// `get_default_environment()`. Checked live (tests/it/live_hosts.rs).
pub(super) const ENTRY_ENV_ONLY: &[Host] = &[
    Host::GeminiCli,
    Host::Codex,
    Host::KimiCli,
    Host::MistralVibe,
    // fast-agent starts stdio servers with the entry's `env` only (verified live).
    Host::FastAgent,
];

/// Every row, in the order of [`Host`]'s variants (checked when compiling).
pub(super) const TABLE: [HostSpec; 34] = [
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
        shape: STANDARD,
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
        project_files: &[],
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
        shape: STANDARD,
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
        project_files: &[".mcp.json"],
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
        shape: STANDARD,
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::Home,
            rel: ".cursor/mcp.json",
        }],
        project_files: &[".cursor/mcp.json"],
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
        shape: STANDARD,
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::Config,
            rel: "Code/User/mcp.json",
        }],
        project_files: &[".vscode/mcp.json"],
        spawn_keys: &[
            "type", "command", "args", "env", "envFile", "cwd", "dev", "url",
        ],
    },
    // https://docs.windsurf.com/windsurf/cascade/mcp (`mcp_config.json`, `serverUrl`):
    // Windsurf as released before its rename to Devin Desktop (2026-06-02), which reads
    // another file (its own row, below).
    HostSpec {
        host: Host::Windsurf,
        id: "windsurf",
        aliases: &[],
        name: "Windsurf",
        format: Format::Json,
        servers: &["mcpServers"],
        shape: STANDARD,
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::Home,
            rel: ".codeium/windsurf/mcp_config.json",
        }],
        project_files: &[],
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
        shape: STANDARD,
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::Home,
            rel: ".gemini/settings.json",
        }],
        project_files: &[".gemini/settings.json"],
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
        shape: STANDARD,
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::EnvOrHome {
                var: "CODEX_HOME",
                fallback: ".codex",
            },
            rel: "config.toml",
        }],
        project_files: &[".codex/config.toml"],
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
        shape: STANDARD,
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
        project_files: &[".zed/settings.json"],
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
        shape: STANDARD,
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::Config,
            rel: "Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
        }],
        project_files: &[],
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
    // https://docs.github.com/en/copilot/how-tos/copilot-cli/customize-copilot/add-mcp-servers
    // (`~/.copilot/mcp-config.json`, `type: local`, `tools`) and
    // https://docs.github.com/en/copilot/reference/copilot-cli-reference/cli-command-reference
    // (COPILOT_HOME moves `~/.copilot`; project `.mcp.json`, which is Claude Code's row,
    // and `.github/mcp.json`). An entry without `tools` fails the whole file
    // (github/copilot-cli#1047), so a written entry keeps the one it replaces.
    HostSpec {
        host: Host::CopilotCli,
        id: "copilot-cli",
        aliases: &["copilot"],
        name: "Copilot CLI",
        format: Format::Json,
        servers: &["mcpServers"],
        shape: Shape {
            stdio_type: Some("local"),
            required: &[("tools", Fill::Json("[\"*\"]"))],
            ..Shape::STANDARD
        },
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::EnvOrHome {
                var: "COPILOT_HOME",
                fallback: ".copilot",
            },
            rel: "mcp-config.json",
        }],
        project_files: &[".github/mcp.json"],
        spawn_keys: &["type", "command", "args", "env", "cwd", "url"],
    },
    // anomalyco/opencode packages/opencode/src/config/mcp.ts (`Local`: `type: "local"`,
    // `command` array, `environment`; `Remote`: `type: "remote"`, `url`, `headers`),
    // src/config/paths.ts and src/global/index.ts (`xdg-basedir` config dir,
    // `opencode.json`/`.jsonc`, project `opencode.json`); https://opencode.ai/docs/mcp-servers.
    HostSpec {
        host: Host::OpenCode,
        id: "opencode",
        aliases: &[],
        name: "opencode",
        format: Format::Json,
        servers: &["mcp"],
        shape: OPENCODE_SHAPE,
        per_dir: None,
        user_files: &[
            UserFile {
                os: ANY_OS,
                base: XDG_CONFIG,
                rel: "opencode/opencode.json",
            },
            UserFile {
                os: ANY_OS,
                base: XDG_CONFIG,
                rel: "opencode/opencode.jsonc",
            },
            UserFile {
                os: ANY_OS,
                base: XDG_CONFIG,
                rel: "opencode/config.json",
            },
        ],
        project_files: &["opencode.json"],
        spawn_keys: &["type", "command", "args", "env", "url"],
    },
    // Kilo-Org/kilocode packages/kilo-docs/pages/automate/mcp/using-in-kilo-code.md (the
    // Kilo CLI and the current VS Code extension: `mcp` in `~/.config/kilo/kilo.json`, also
    // `kilo.jsonc`, `opencode.json(c)`, `config.json`; project `kilo.json`; opencode's entry
    // shape).
    HostSpec {
        host: Host::Kilo,
        id: "kilo",
        aliases: &["kilo-cli"],
        name: "Kilo",
        format: Format::Json,
        servers: &["mcp"],
        shape: OPENCODE_SHAPE,
        per_dir: None,
        user_files: &[
            UserFile {
                os: ANY_OS,
                base: XDG_CONFIG,
                rel: "kilo/kilo.json",
            },
            UserFile {
                os: ANY_OS,
                base: XDG_CONFIG,
                rel: "kilo/kilo.jsonc",
            },
            UserFile {
                os: ANY_OS,
                base: XDG_CONFIG,
                rel: "kilo/opencode.json",
            },
            UserFile {
                os: ANY_OS,
                base: XDG_CONFIG,
                rel: "kilo/opencode.jsonc",
            },
            UserFile {
                os: ANY_OS,
                base: XDG_CONFIG,
                rel: "kilo/config.json",
            },
        ],
        project_files: &["kilo.json"],
        spawn_keys: &["type", "command", "args", "env", "url"],
    },
    // https://ampcode.com/manual (settings in `~/.config/amp/settings.json`, also on
    // Windows under %USERPROFILE%; servers under the literal key `amp.mcpServers`;
    // workspace `.amp/settings.json`).
    HostSpec {
        host: Host::Amp,
        id: "amp",
        aliases: &[],
        name: "Amp",
        format: Format::Json,
        servers: &["amp.mcpServers"],
        shape: STANDARD,
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::Home,
            rel: ".config/amp/settings.json",
        }],
        project_files: &[".amp/settings.json"],
        spawn_keys: &["command", "args", "env", "url"],
    },
    // https://kiro.dev/docs/mcp/configuration (user and workspace
    // `.kiro/settings/mcp.json`, `mcpServers`).
    HostSpec {
        host: Host::Kiro,
        id: "kiro",
        aliases: &[],
        name: "Kiro",
        format: Format::Json,
        servers: &["mcpServers"],
        shape: STANDARD,
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::Home,
            rel: ".kiro/settings/mcp.json",
        }],
        project_files: &[".kiro/settings/mcp.json"],
        spawn_keys: &["command", "args", "env", "url"],
    },
    // https://www.jetbrains.com/help/junie/model-context-protocol-mcp.html (stdio servers;
    // `~/.junie/mcp/mcp.json` and the project's `.junie/mcp/mcp.json`, `mcpServers`).
    HostSpec {
        host: Host::Junie,
        id: "junie",
        aliases: &[],
        name: "Junie",
        format: Format::Json,
        servers: &["mcpServers"],
        shape: STANDARD,
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::Home,
            rel: ".junie/mcp/mcp.json",
        }],
        project_files: &[".junie/mcp/mcp.json"],
        spawn_keys: &["command", "args", "env", "workingDirectory"],
    },
    // https://lmstudio.ai/docs/app/mcp (`~/.lmstudio/mcp.json`, Cursor's `mcpServers`
    // notation).
    HostSpec {
        host: Host::LmStudio,
        id: "lm-studio",
        aliases: &["lmstudio"],
        name: "LM Studio",
        format: Format::Json,
        servers: &["mcpServers"],
        shape: STANDARD,
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::Home,
            rel: ".lmstudio/mcp.json",
        }],
        project_files: &[],
        spawn_keys: &["command", "args", "env", "url"],
    },
    // RooCodeInc/Roo-Code src/shared/globalFileNames.ts (`mcp_settings.json` in the
    // extension's globalStorage settings dir) and src/services/mcp/McpHub.ts (project
    // `.roo/mcp.json`; entry keys as Cline's).
    HostSpec {
        host: Host::RooCode,
        id: "roo-code",
        aliases: &["roo"],
        name: "Roo Code",
        format: Format::Json,
        servers: &["mcpServers"],
        shape: STANDARD,
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::Config,
            rel: "Code/User/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json",
        }],
        project_files: &[".roo/mcp.json"],
        spawn_keys: &["type", "command", "args", "env", "cwd", "url"],
    },
    // Kilo-Org/kilocode packages/kilo-docs/pages/automate/mcp/using-in-kilo-code.md, tab
    // "VSCode (Legacy)": the extension before it moved to Kilo's config (the `kilo` row)
    // keeps `mcp_settings.json` in its globalStorage and reads `.kilocode/mcp.json`.
    HostSpec {
        host: Host::KiloCode,
        id: "kilo-code",
        aliases: &[],
        name: "Kilo Code",
        format: Format::Json,
        servers: &["mcpServers"],
        shape: STANDARD,
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::Config,
            rel: "Code/User/globalStorage/kilocode.kilo-code/settings/mcp_settings.json",
        }],
        project_files: &[".kilocode/mcp.json"],
        spawn_keys: &["type", "command", "args", "env", "cwd", "url"],
    },
    // https://docs.aws.amazon.com/amazonq/latest/qdeveloper-ug/command-line-mcp-configuration.html
    // (global `~/.aws/amazonq/mcp.json`, workspace `.amazonq/mcp.json`). Agent files
    // (`cli-agents/*.json`, one per agent) are not rows: a row names files, not a dir.
    HostSpec {
        host: Host::AmazonQ,
        id: "amazon-q",
        aliases: &["amazonq"],
        name: "Amazon Q Developer",
        format: Format::Json,
        servers: &["mcpServers"],
        shape: STANDARD,
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::Home,
            rel: ".aws/amazonq/mcp.json",
        }],
        project_files: &[".amazonq/mcp.json"],
        spawn_keys: &["command", "args", "env", "url"],
    },
    // https://docs.augmentcode.com/cli/integrations (Auggie keeps MCP servers in
    // `~/.augment/settings.json`, `mcpServers`). The VS Code extension's list inside VS
    // Code's own settings is not a row.
    HostSpec {
        host: Host::Augment,
        id: "augment",
        aliases: &["auggie"],
        name: "Auggie (Augment CLI)",
        format: Format::Json,
        servers: &["mcpServers"],
        shape: STANDARD,
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::Home,
            rel: ".augment/settings.json",
        }],
        project_files: &[],
        spawn_keys: &["type", "command", "args", "env", "cwd", "url"],
    },
    // QwenLM/qwen-code docs/cli/configuration.md (a Gemini CLI fork: user and project
    // `.qwen/settings.json`, `mcpServers` with `cwd`, `httpUrl`).
    HostSpec {
        host: Host::QwenCode,
        id: "qwen-code",
        aliases: &["qwen"],
        name: "Qwen Code",
        format: Format::Json,
        servers: &["mcpServers"],
        shape: STANDARD,
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::Home,
            rel: ".qwen/settings.json",
        }],
        project_files: &[".qwen/settings.json"],
        spawn_keys: &["command", "args", "env", "cwd", "url", "httpUrl"],
    },
    // charmbracelet/crush internal/config/load.go (`GlobalConfig`: CRUSH_GLOBAL_CONFIG,
    // else `crush/crush.json` in internal/home's config dir, which is XDG_CONFIG_HOME or
    // ~/.config on every OS; project `crush.json`/`.crush.json`) and
    // internal/config/config.go (`MCPConfig`: `type` required, `command`, `args`, `env`,
    // `url`, `headers`).
    HostSpec {
        host: Host::Crush,
        id: "crush",
        aliases: &[],
        name: "Crush",
        format: Format::Json,
        servers: &["mcp"],
        shape: TYPED_STDIO,
        per_dir: None,
        user_files: &[
            UserFile {
                os: ANY_OS,
                base: Base::Env {
                    var: "CRUSH_GLOBAL_CONFIG",
                },
                rel: "crush.json",
            },
            UserFile {
                os: ANY_OS,
                base: XDG_CONFIG,
                rel: "crush/crush.json",
            },
        ],
        project_files: &["crush.json"],
        spawn_keys: &["type", "command", "args", "env", "url"],
    },
    // https://docs.warp.dev/agents/capabilities/mcp and warpdotdev/warp's `agent-add-mcp`
    // skill (file-based servers: `~/.warp/.mcp.json` on every OS, project
    // `.warp/.mcp.json`, standard `mcpServers`).
    HostSpec {
        host: Host::Warp,
        id: "warp",
        aliases: &[],
        name: "Warp",
        format: Format::Json,
        servers: &["mcpServers"],
        shape: STANDARD,
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::Home,
            rel: ".warp/.mcp.json",
        }],
        project_files: &[".warp/.mcp.json"],
        spawn_keys: &["command", "args", "env", "working_directory", "url"],
    },
    // MoonshotAI/kimi-cli src/kimi_cli/share.py (KIMI_SHARE_DIR, else ~/.kimi) and
    // src/kimi_cli/cli/mcp.py (`mcp.json` there, validated as fastmcp's `MCPConfig`).
    HostSpec {
        host: Host::KimiCli,
        id: "kimi-cli",
        aliases: &["kimi"],
        name: "Kimi CLI",
        format: Format::Json,
        servers: &["mcpServers"],
        shape: STANDARD,
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::EnvOrHome {
                var: "KIMI_SHARE_DIR",
                fallback: ".kimi",
            },
            rel: "mcp.json",
        }],
        project_files: &[],
        spawn_keys: &["transport", "command", "args", "env", "cwd", "url"],
    },
    // https://docs.factory.ai/cli/configuration/mcp (`~/.factory/mcp.json`, `mcpServers`,
    // each with `type: "stdio"` or `"http"`).
    HostSpec {
        host: Host::Factory,
        id: "factory",
        aliases: &["droid"],
        name: "Factory Droid",
        format: Format::Json,
        servers: &["mcpServers"],
        shape: TYPED_STDIO,
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::Home,
            rel: ".factory/mcp.json",
        }],
        project_files: &[],
        spawn_keys: &["type", "command", "args", "env", "url"],
    },
    // superagent-ai/grok-cli at e763e2f (0.0.34, `@vibe-kit/grok-cli`):
    // src/utils/settings-manager.ts (servers only in `<cwd>/.grok/settings.json`),
    // src/mcp/client.ts and src/mcp/transports.ts (`mcpServers.<name>.transport = {type,
    // command, args, env, url, headers}`, which wins over legacy top-level keys).
    HostSpec {
        host: Host::GrokCli,
        id: "grok-cli",
        aliases: &["grok"],
        name: "Grok CLI",
        format: Format::Json,
        servers: &["mcpServers"],
        shape: Shape {
            nested: Some(Nested {
                key: "transport",
                keys: &["type", "command", "args", "env", "url", "headers"],
            }),
            stdio_type: Some("stdio"),
            ..Shape::STANDARD
        },
        per_dir: None,
        user_files: &[],
        project_files: &[".grok/settings.json"],
        spawn_keys: &["type", "command", "args", "env", "url"],
    },
    // mistralai/mistral-vibe vibe/core/paths/_vibe_home.py (VIBE_HOME, else ~/.vibe),
    // vibe/core/config/layers/{user,project}.py (`config.toml`, project
    // `.vibe/config.toml`), vibe/core/config/_settings.py (`mcp_servers` is a list) and
    // vibe/core/config/models.py (`transport` picks the kind; stdio `command: str |
    // list[str]`, a string split with shlex, then `args`; static `auth.headers`).
    HostSpec {
        host: Host::MistralVibe,
        id: "mistral-vibe",
        aliases: &["vibe"],
        name: "Mistral Vibe",
        format: Format::Toml,
        servers: &["mcp_servers"],
        shape: Shape {
            collection: Collection::List { name_key: "name" },
            argv: Argv::ShellOrJoined,
            renames: &[("transport", "type")],
            nested: Some(Nested {
                key: "auth",
                keys: &["headers"],
            }),
            stdio_type: Some("stdio"),
            required: &[],
        },
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::EnvOrHome {
                var: "VIBE_HOME",
                fallback: ".vibe",
            },
            rel: "config.toml",
        }],
        project_files: &[".vibe/config.toml"],
        spawn_keys: &["type", "command", "args", "env", "cwd", "url"],
    },
    // https://antigravity.google/docs/mcp (`mcp_config.json`, `mcpServers`, `serverUrl`);
    // Antigravity 2.0's IDE and CLI share `~/.gemini/config/mcp_config.json` and read the
    // workspace's `.agents/mcp_config.json`
    // (https://antigravity.google/docs/cli/gcli-migration); 1.x kept
    // `~/.gemini/antigravity/mcp_config.json`.
    HostSpec {
        host: Host::Antigravity,
        id: "antigravity",
        aliases: &[],
        name: "Antigravity",
        format: Format::Json,
        servers: &["mcpServers"],
        shape: STANDARD,
        per_dir: None,
        user_files: &[
            UserFile {
                os: ANY_OS,
                base: Base::Home,
                rel: ".gemini/config/mcp_config.json",
            },
            UserFile {
                os: ANY_OS,
                base: Base::Home,
                rel: ".gemini/antigravity/mcp_config.json",
            },
        ],
        project_files: &[".agents/mcp_config.json"],
        spawn_keys: &["command", "args", "env", "serverUrl", "url"],
    },
    // https://docs.devin.ai/desktop/cascade/mcp: Windsurf renamed (2026-06-02); both its
    // agents read `~/.config/devin/mcp_config.json` (%APPDATA%\devin on Windows), Devin
    // Local also the project's `.devin/mcp_config.json`. Files from before the rename
    // stay with the `windsurf` row.
    HostSpec {
        host: Host::DevinDesktop,
        id: "devin-desktop",
        aliases: &["devin"],
        name: "Devin Desktop",
        format: Format::Json,
        servers: &["mcpServers"],
        shape: STANDARD,
        per_dir: None,
        user_files: &[
            UserFile {
                os: &[Os::Linux, Os::MacOs],
                base: XDG_CONFIG,
                rel: "devin/mcp_config.json",
            },
            UserFile {
                os: &[Os::Windows],
                base: Base::Config,
                rel: "devin/mcp_config.json",
            },
        ],
        project_files: &[".devin/mcp_config.json"],
        spawn_keys: &["command", "args", "env", "serverUrl", "url"],
    },
    // https://docs.devin.ai/cli/extensibility/mcp/configuration (Devin for Terminal:
    // `mcpServers` in `~/.config/devin/config.json`, %APPDATA%\devin on Windows, and the
    // project's `.devin/config.json`; JSON with comments).
    HostSpec {
        host: Host::DevinCli,
        id: "devin-cli",
        aliases: &[],
        name: "Devin CLI",
        format: Format::Json,
        servers: &["mcpServers"],
        shape: STANDARD,
        per_dir: None,
        user_files: &[
            UserFile {
                os: &[Os::Linux, Os::MacOs],
                base: XDG_CONFIG,
                rel: "devin/config.json",
            },
            UserFile {
                os: &[Os::Windows],
                base: Base::Config,
                rel: "devin/config.json",
            },
        ],
        project_files: &[".devin/config.json"],
        spawn_keys: &["transport", "command", "args", "env", "url"],
    },
    // superagent-ai/grok-cli at fb97af8 (1.x, npm `grok-dev`): src/utils/settings.ts
    // (`~/.grok/user-settings.json`, `mcp.servers`: a list of `{id, label, enabled,
    // transport, command, args, env, cwd, url, headers}`), src/mcp/runtime.ts (servers
    // without `enabled` are skipped) and src/mcp/validate.ts (`label` required).
    HostSpec {
        host: Host::GrokDev,
        id: "grok-dev",
        aliases: &[],
        name: "Grok CLI 1.x (grok-dev)",
        format: Format::Json,
        servers: &["mcp", "servers"],
        shape: Shape {
            collection: Collection::List { name_key: "id" },
            renames: &[("transport", "type")],
            stdio_type: Some("stdio"),
            required: &[("label", Fill::Name), ("enabled", Fill::Json("true"))],
            ..Shape::STANDARD
        },
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::Home,
            rel: ".grok/user-settings.json",
        }],
        project_files: &[],
        spawn_keys: &["type", "command", "args", "env", "cwd", "url"],
    },
    // block/goose crates/goose/src/config/paths.rs (etcetera's `choose_app_strategy`: XDG
    // `~/.config/goose` on Linux and macOS, `%APPDATA%\Block\goose\config` on Windows;
    // an absolute GOOSE_PATH_ROOT moves it to `<root>/config`),
    // crates/goose/src/config/extensions.rs (`extensions.<key>`: `enabled` plus the
    // extension) and crates/goose/src/agents/extension.rs (`ExtensionConfig`, tagged by
    // `type`: `stdio` with `name`, `cmd`, `args` (required), `envs`, `env_keys` (values
    // from Goose's own keyring), `timeout`; `streamable_http` and `sse` with `uri`,
    // `headers`).
    HostSpec {
        host: Host::Goose,
        id: "goose",
        aliases: &["goose-cli"],
        name: "Goose",
        format: Format::Yaml,
        servers: &["extensions"],
        shape: Shape {
            renames: &[("cmd", "command"), ("envs", "env"), ("uri", "url")],
            stdio_type: Some("stdio"),
            required: &[("name", Fill::Name), ("enabled", Fill::Json("true"))],
            ..Shape::STANDARD
        },
        per_dir: None,
        user_files: &[
            UserFile {
                os: ANY_OS,
                base: Base::Env {
                    var: "GOOSE_PATH_ROOT",
                },
                rel: "config/config.yaml",
            },
            UserFile {
                os: &[Os::Linux, Os::MacOs],
                base: XDG_CONFIG,
                rel: "goose/config.yaml",
            },
            UserFile {
                os: &[Os::Windows],
                base: Base::Config,
                rel: "Block/goose/config/config.yaml",
            },
        ],
        project_files: &[],
        spawn_keys: &["type", "command", "args", "env", "env_keys", "url"],
    },
    // continuedev/continue core/util/paths.ts (CONTINUE_GLOBAL_DIR, else `~/.continue`, on
    // every OS; `config.yaml`), packages/config-yaml/src/schemas/mcp/index.ts
    // (`mcpServers` is a list of `{name, command, args, env, cwd, type: stdio}` or
    // `{name, url, type: sse | streamable-http, requestOptions}`) and
    // https://docs.continue.dev/customize/deep-dives/mcp (workspace blocks in
    // `.continue/mcpServers/*.yaml`, each with its own `mcpServers` list).
    HostSpec {
        host: Host::Continue,
        id: "continue",
        aliases: &["continue-cli", "cn"],
        name: "Continue",
        format: Format::Yaml,
        servers: &["mcpServers"],
        shape: Shape {
            collection: Collection::List { name_key: "name" },
            ..Shape::STANDARD
        },
        per_dir: None,
        user_files: &[UserFile {
            os: ANY_OS,
            base: Base::EnvOrHome {
                var: "CONTINUE_GLOBAL_DIR",
                fallback: ".continue",
            },
            rel: "config.yaml",
        }],
        project_files: &[".continue/mcpServers/*.yaml"],
        spawn_keys: &["type", "command", "args", "env", "cwd", "url"],
    },
    // evalstate/fast-agent src/fast_agent/home.py (the config is read from the
    // `.fast-agent` home, else the dir it runs in, as `fast-agent.yaml`, then the older
    // `fast-agent.config.yaml` and `fastagent.config.yaml`) and src/fast_agent/config.py
    // (`mcp.servers.<name>`: `transport` = `stdio`, `sse` or `http`, `command`, `args`,
    // `env`, `cwd`, `url`, `headers`).
    HostSpec {
        host: Host::FastAgent,
        id: "fast-agent",
        aliases: &["fastagent"],
        name: "fast-agent",
        format: Format::Yaml,
        servers: &["mcp", "servers"],
        shape: Shape {
            renames: &[("transport", "type")],
            ..Shape::STANDARD
        },
        per_dir: None,
        user_files: &[],
        project_files: &[
            ".fast-agent/fast-agent.yaml",
            ".fast-agent/fast-agent.config.yaml",
            ".fast-agent/fastagent.config.yaml",
            "fast-agent.yaml",
            "fast-agent.config.yaml",
            "fastagent.config.yaml",
        ],
        spawn_keys: &["type", "command", "args", "env", "cwd", "url"],
    },
];
