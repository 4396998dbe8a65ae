//! Claude Desktop: one JSON file, `claude_desktop_config.json`, servers under
//! `mcpServers`. Claude Desktop only spawns stdio servers.

use std::path::PathBuf;

/// Where Claude Desktop keeps its config, most likely first.
pub fn default_paths() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let file = "claude_desktop_config.json";
    if cfg!(target_os = "macos") {
        if let Some(home) = directories::BaseDirs::new() {
            out.push(
                home.home_dir()
                    .join("Library/Application Support/Claude")
                    .join(file),
            );
        }
    } else if cfg!(windows) {
        if let Some(appdata) = std::env::var_os("APPDATA") {
            out.push(PathBuf::from(appdata).join("Claude").join(file));
        }
        // The Microsoft Store (MSIX) build virtualizes %APPDATA% under its package dir.
        if let Some(local) = std::env::var_os("LOCALAPPDATA") {
            out.push(
                PathBuf::from(local)
                    .join("Packages")
                    .join("Claude_pzs8sxrjxfjjc")
                    .join("LocalCache")
                    .join("Roaming")
                    .join("Claude")
                    .join(file),
            );
        }
    } else if let Some(base) = directories::BaseDirs::new() {
        // Linux builds (and community packages) follow XDG: ~/.config/Claude.
        out.push(base.config_dir().join("Claude").join(file));
    }
    out
}
