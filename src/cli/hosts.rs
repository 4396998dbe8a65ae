//! `keybroker hosts`: every detected host config file, with what it holds.

use std::path::PathBuf;

use keybroker::config::hosts::{self, Host};
use keybroker::ops::inventory::{self, Status};
use keybroker::store::state::State;
use keybroker::{Error, Result};
use serde::Serialize;

use super::Ctx;

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// Also look at the project files in DIR (`.mcp.json`, `.vscode/mcp.json`, ...).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Row {
    host: Host,
    name: &'static str,
    scope: &'static str,
    path: PathBuf,
    servers: usize,
    brokered: usize,
    plaintext_secrets: usize,
    drifted: usize,
    /// Set when the file cannot be read or parsed.
    error: Option<String>,
}

pub(super) fn run(a: Args) -> Result<()> {
    let ctx = Ctx::new()?;
    let state = State::load(&ctx.paths)?;
    let mut rows = Vec::new();
    for f in hosts::discover(a.project.as_deref()) {
        let mut row = Row {
            host: f.host,
            name: f.host.name(),
            scope: f.scope,
            path: f.path.clone(),
            servers: 0,
            brokered: 0,
            plaintext_secrets: 0,
            drifted: 0,
            error: None,
        };
        match inventory::list_file(&state, None, f.host, &f.path) {
            Ok(list) => {
                for s in &list {
                    if s.status != Status::MissingFromConfig {
                        row.servers += 1;
                    }
                    row.plaintext_secrets += s.plaintext;
                    match s.status {
                        Status::Brokered => row.brokered += 1,
                        Status::MissingFromConfig | Status::CommandChanged => row.drifted += 1,
                        _ => {}
                    }
                }
            }
            Err(e) => row.error = Some(e.to_string().lines().next().unwrap_or_default().into()),
        }
        rows.push(row);
    }
    if a.json {
        let out = serde_json::to_string_pretty(&rows)
            .map_err(|e| Error::other(format!("cannot encode: {e}"), "report this bug"))?;
        println!("{out}");
        return Ok(());
    }
    if rows.is_empty() {
        println!("No host config files found. Where each host keeps its file:");
        for h in Host::ALL {
            for p in h.user_paths() {
                println!("  {:<15} {}", h.id(), p.display());
            }
        }
        return Ok(());
    }
    println!(
        "{:<15} {:<8} {:>7} {:>8} {:>9} {:>7}  FILE",
        "HOST", "SCOPE", "SERVERS", "BROKERED", "PLAINTEXT", "DRIFTED"
    );
    for r in &rows {
        println!(
            "{:<15} {:<8} {:>7} {:>8} {:>9} {:>7}  {}",
            r.host.id(),
            r.scope,
            r.servers,
            r.brokered,
            r.plaintext_secrets,
            r.drifted,
            r.path.display()
        );
        if let Some(e) = &r.error {
            println!("{:<15} -> {e}", "");
        }
    }
    let plaintext: usize = rows.iter().map(|r| r.plaintext_secrets).sum();
    if plaintext > 0 {
        println!(
            "\n{plaintext} plaintext secret(s): `keybroker import --all --dry-run` shows the plan."
        );
    }
    Ok(())
}
