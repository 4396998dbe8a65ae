//! `keybroker watch`: report drift in every host config file as it happens.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use keybroker::config::hosts::{self, Host};
use keybroker::ops::watch::{self, Drift, Event};
use keybroker::{Error, Result};

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// Also watch the project files in DIR.
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
    /// Also watch this file (`HOST=PATH`, e.g. `cursor=/path/mcp.json`). Repeatable.
    #[arg(long, value_name = "HOST=PATH")]
    file: Vec<String>,
    /// One JSON object per line instead of text.
    #[arg(long)]
    json: bool,
    /// Quiet time after a change before the file is read again.
    #[arg(long, value_name = "MS", default_value_t = 200)]
    debounce_ms: u64,
}

pub(super) fn run(a: Args) -> Result<()> {
    let ctx = super::context()?;
    let mut files: Vec<(Host, PathBuf)> = Vec::new();
    for spec in &a.file {
        let (h, p) = spec.split_once('=').ok_or_else(|| {
            Error::other(
                format!("`--file {spec}` is not HOST=PATH"),
                "e.g. --file cursor=/home/me/.cursor/mcp.json",
            )
        })?;
        files.push((Host::parse(h)?, PathBuf::from(p)));
    }
    // Every host's user file, existing or not (a host may create it later), plus
    // project files.
    for h in Host::ALL {
        files.extend(h.user_paths().into_iter().map(|p| (h, p)));
        if let Some(dir) = a.project.as_deref() {
            files.extend(h.project_paths(dir).into_iter().map(|p| (h, p)));
        }
    }
    for f in hosts::discover(None) {
        if !files.iter().any(|(h, p)| *h == f.host && *p == f.path) {
            files.push((f.host, f.path));
        }
    }
    let json = a.json;
    // Runs until the process is interrupted.
    let never = AtomicBool::new(false);
    let launcher = ctx.launcher_path().to_path_buf();
    watch::run(
        &ctx.paths,
        &files,
        &launcher,
        Duration::from_millis(a.debounce_ms),
        Duration::from_millis(1000),
        &never,
        |ev| {
            match ev {
                Event::Started { files, problems } => {
                    if json {
                        println!(
                            "{}",
                            serde_json::json!({"event": "started", "files": files.iter().map(|(h, p)| serde_json::json!({"host": h, "path": p})).collect::<Vec<_>>()})
                        );
                    } else {
                        println!("watching {} file(s); Ctrl-C to stop", files.len());
                    }
                    print_drifts(&problems, json);
                }
                Event::Drift(d) => print_drifts(d, json),
            }
            true
        },
    )
}

fn print_drifts(drifts: &[Drift], json: bool) {
    for d in drifts {
        if json {
            println!(
                "{}",
                serde_json::to_string(d).unwrap_or_else(|_| "{}".into())
            );
        } else {
            let what = if d.server.is_empty() {
                d.host.clone()
            } else {
                d.server.clone()
            };
            println!(
                "drift: {} {what} in {}: {}",
                d.kind.text(),
                d.config.display(),
                d.detail
            );
        }
    }
}
