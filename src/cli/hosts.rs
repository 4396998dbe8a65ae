//! `keybroker hosts`: every detected host config file, with what it holds; with
//! `--supported`, every host Keybroker knows and where it looks for each one's files.

use std::path::PathBuf;

use keybroker::config::hosts::{self, Format, Host};
use keybroker::ops::inventory::{self, Status};
use keybroker::store::state::State;
use keybroker::{Error, Result};
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// Also look at the project files in DIR (`.mcp.json`, `.vscode/mcp.json`, ...).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
    /// List every supported host with its user and project files on this system,
    /// found or not (project files in DIR from --project, else the current dir).
    #[arg(long)]
    supported: bool,
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

/// One file a supported host may use.
#[derive(Debug, Serialize)]
struct SupportedRow {
    host: Host,
    name: &'static str,
    format: Format,
    scope: &'static str,
    path: PathBuf,
    exists: bool,
}

pub(super) fn run(a: Args) -> Result<()> {
    if a.supported {
        return supported(a);
    }
    let ctx = super::context()?;
    let state = State::load(&ctx.paths)?;
    let launcher = ctx.launcher_path().to_path_buf();
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
        match inventory::list_file(&state, None, f.host, &f.path, &launcher) {
            Ok(list) => {
                for s in &list {
                    if s.status != Status::MissingFromConfig {
                        row.servers += 1;
                    }
                    row.plaintext_secrets += s.plaintext;
                    match s.status {
                        Status::Brokered => row.brokered += 1,
                        Status::MissingFromConfig
                        | Status::CommandChanged
                        | Status::LauncherDrift => row.drifted += 1,
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

/// Every supported host's user files on this OS and its project file, found or not.
fn supported(a: Args) -> Result<()> {
    let project = match a.project {
        Some(dir) => dir,
        None => std::env::current_dir().map_err(|e| {
            Error::other(
                format!("cannot read the current dir: {e}"),
                "pass the project dir with --project DIR",
            )
        })?,
    };
    let project = std::path::absolute(&project).unwrap_or(project);
    let mut rows = Vec::new();
    for host in Host::ALL {
        let user = host.user_paths().into_iter().map(|p| ("user", p));
        let proj = host
            .project_candidates(&project)
            .into_iter()
            .map(|p| ("project", p));
        for (scope, path) in user.chain(proj) {
            rows.push(SupportedRow {
                host,
                name: host.name(),
                format: host.format(),
                scope,
                exists: path.exists(),
                path,
            });
        }
    }
    if a.json {
        let out = serde_json::to_string_pretty(&rows)
            .map_err(|e| Error::other(format!("cannot encode: {e}"), "report this bug"))?;
        println!("{out}");
        return Ok(());
    }
    println!(
        "{:<15} {:<15} {:<8} {:<8} FILE",
        "HOST", "NAME", "SCOPE", "STATE"
    );
    for r in &rows {
        println!(
            "{:<15} {:<15} {:<8} {:<8} {}",
            r.host.id(),
            r.name,
            r.scope,
            if r.exists { "exists" } else { "missing" },
            r.path.display()
        );
    }
    Ok(())
}
