//! Where each host keeps its MCP config, per OS and scope.
//!
//! Only paths: nothing here reads a file. Home and the platform config dir come from
//! `directories` (`$HOME`, `$XDG_CONFIG_HOME`, `%APPDATA%`), so a test with a temporary
//! `HOME` never sees the real files.

use std::path::PathBuf;

use super::{Host, claude_desktop};

/// User-scope config files of `host`, most likely first.
pub fn user_paths(host: Host) -> Vec<PathBuf> {
    let Some(base) = directories::BaseDirs::new() else {
        return Vec::new();
    };
    let home = base.home_dir().to_path_buf();
    // VS Code's (and so Cline's) `User` dir: ~/.config/Code, ~/Library/Application
    // Support/Code, %APPDATA%\Code.
    let code_user = base.config_dir().join("Code").join("User");
    match host {
        Host::ClaudeDesktop => claude_desktop::default_paths(),
        Host::ClaudeCode => {
            let dir = std::env::var_os("CLAUDE_CONFIG_DIR")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
                .unwrap_or(home);
            vec![dir.join(".claude.json")]
        }
        Host::Cursor => vec![home.join(".cursor").join("mcp.json")],
        Host::VsCode => vec![code_user.join("mcp.json")],
        Host::Windsurf => vec![
            home.join(".codeium")
                .join("windsurf")
                .join("mcp_config.json"),
        ],
        Host::GeminiCli => vec![home.join(".gemini").join("settings.json")],
        Host::Codex => {
            let dir = std::env::var_os("CODEX_HOME")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| home.join(".codex"));
            vec![dir.join("config.toml")]
        }
        Host::Zed => {
            if cfg!(windows) {
                vec![base.config_dir().join("Zed").join("settings.json")]
            } else if cfg!(target_os = "macos") {
                vec![home.join(".config").join("zed").join("settings.json")]
            } else {
                vec![base.config_dir().join("zed").join("settings.json")]
            }
        }
        Host::Cline => vec![
            code_user
                .join("globalStorage")
                .join("saoudrizwan.claude-dev")
                .join("settings")
                .join("cline_mcp_settings.json"),
        ],
    }
}

/// The project-scope file, relative to the project dir.
pub fn project_file(host: Host) -> Option<&'static str> {
    match host {
        Host::ClaudeCode => Some(".mcp.json"),
        Host::Cursor => Some(".cursor/mcp.json"),
        Host::VsCode => Some(".vscode/mcp.json"),
        Host::GeminiCli => Some(".gemini/settings.json"),
        Host::Codex => Some(".codex/config.toml"),
        Host::Zed => Some(".zed/settings.json"),
        Host::ClaudeDesktop | Host::Windsurf | Host::Cline => None,
    }
}
