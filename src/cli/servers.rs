//! `keybroker servers`: every server and its status.

use std::path::PathBuf;

use keybroker::config::hosts::{self, Host};
use keybroker::ops::inventory;
use keybroker::store::state::State;
use keybroker::{Error, Result};

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// Also read this Claude Desktop config (default: its usual location).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Also read the project files in DIR (`.mcp.json`, `.cursor/mcp.json`, ...).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

pub(super) fn run(a: Args) -> Result<()> {
    let ctx = super::context()?;
    let state = State::load(&ctx.paths)?;
    let host = Host::ClaudeDesktop;
    let config = super::config_for(&ctx, host, a.config.as_deref())?;
    let config_exists = config.exists();
    // A missing keychain must not hide the list: statuses then skip the secret check.
    let vault = match ctx.vault() {
        Ok(v) => Some(v),
        Err(e) => {
            eprintln!(
                "keybroker: warning: {}\n  (statuses below do not check for missing secrets)",
                e.describe()
            );
            None
        }
    };
    let mut files = vec![(host, config.clone())];
    for f in hosts::discover(a.project.as_deref()) {
        if !files
            .iter()
            .any(|(h, p)| *h == f.host && keybroker::base::fsutil::same_file(p, &f.path))
        {
            files.push((f.host, f.path));
        }
    }
    let list = inventory::list(&state, vault.as_ref(), &files, ctx.launcher_path())?;
    if a.json {
        let out = serde_json::to_string_pretty(&list)
            .map_err(|e| Error::other(format!("cannot encode: {e}"), "report this bug"))?;
        println!("{out}");
        return Ok(());
    }
    if !config_exists && files.len() == 1 {
        println!(
            "No Claude Desktop config at {} (pass another with --config PATH).",
            config.display()
        );
    }
    if list.is_empty() {
        println!("No MCP servers found.");
        return Ok(());
    }
    println!(
        "{:<16} {:<32} {:<9} {:<22} CREDENTIALS",
        "HOST", "SERVER", "TRANSPORT", "STATUS"
    );
    for s in &list {
        println!(
            "{:<16} {:<32} {:<9} {:<22} {}",
            s.host,
            s.name,
            s.transport,
            s.status.text(),
            if s.credentials.is_empty() {
                "-".to_string()
            } else {
                s.credentials.join(", ")
            }
        );
        if let Some(d) = &s.detail {
            println!("{:<16} {:<32} {:<9} -> {}", "", "", "", d);
        }
    }
    let attention = list.iter().filter(|s| s.status.needs_attention()).count();
    if attention > 0 {
        println!("\n{attention} server(s) need attention.");
    }
    Ok(())
}
