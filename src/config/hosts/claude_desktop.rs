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
        // Since 2026 the Windows build is an MSIX package that reads a virtualized copy
        // under its package dir and never the plain %APPDATA% file, so look there first.
        if let Some(local) = std::env::var_os("LOCALAPPDATA") {
            let packages = PathBuf::from(local).join("Packages");
            let mut found: Vec<PathBuf> = std::fs::read_dir(&packages)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("Claude_"))
                .map(|e| {
                    e.path()
                        .join("LocalCache")
                        .join("Roaming")
                        .join("Claude")
                        .join(file)
                })
                .collect();
            found.sort();
            out.extend(found);
        }
        if let Some(appdata) = std::env::var_os("APPDATA") {
            out.push(PathBuf::from(appdata).join("Claude").join(file));
        }
    } else if let Some(base) = directories::BaseDirs::new() {
        // Linux builds (and community packages) follow XDG: ~/.config/Claude.
        out.push(base.config_dir().join("Claude").join(file));
    }
    out
}
