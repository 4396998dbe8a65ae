//! `keybroker doctor [--json]`: every check of `ops::doctor`, with the fix for each
//! problem. Exit 0 when nothing needs you (warnings included), 1 when a check is a
//! problem; the report is printed in full either way.

use std::io::Write;
use std::path::PathBuf;

use keybroker::config::hosts::{self, Host};
use keybroker::ops::doctor::{self, Level};
use keybroker::{Error, Result};

/// Exit code when at least one check needs the user.
const NEEDS_USER: i32 = 1;

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// Also read this Claude Desktop config (default: its usual location).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Also read the project files in DIR (`.mcp.json`, `.cursor/mcp.json`, ...).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
    /// The report as JSON (a stable shape, `version` 1; see README "keybroker doctor").
    #[arg(long)]
    json: bool,
}

pub(super) fn run(a: Args) -> Result<()> {
    let ctx = super::context()?;
    let mut files = ctx.configs().unwrap_or_default();
    if let Some(c) = &a.config {
        files.retain(|(h, _)| *h != Host::ClaudeDesktop);
        files.push((Host::ClaudeDesktop, c.clone()));
    }
    if let Some(dir) = &a.project {
        for f in hosts::discover(Some(dir)) {
            if !files
                .iter()
                .any(|(h, p)| *h == f.host && keybroker::base::fsutil::same_file(p, &f.path))
            {
                files.push((f.host, f.path));
            }
        }
    }
    let (keychain, vault) = doctor::probe_keychain(&ctx);
    let autostart = doctor::autostart_file();
    let report = doctor::report(&ctx, &files, keychain, vault.as_ref(), autostart.as_deref());
    let mut out = std::io::stdout().lock();
    if a.json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::other(format!("cannot encode: {e}"), "report this bug"))?;
        let _ = writeln!(out, "{text}");
    } else {
        let _ = writeln!(out, "keybroker doctor: {}", report.launcher.display());
        for c in &report.checks {
            let id = serde_json::to_value(c.id)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let _ = writeln!(out, "\n{:<8} {:<10} {}", c.status.text(), id, c.summary);
            for d in &c.details {
                let _ = writeln!(out, "{:<19} {d}", "");
            }
            if let Some(fix) = &c.fix {
                let _ = writeln!(out, "{:<19} fix: {}", "", fix.text);
                for cmd in &fix.commands {
                    let _ = writeln!(out, "{:<19}   $ {cmd}", "");
                }
            }
        }
        let count = |l: Level| report.checks.iter().filter(|c| c.status == l).count();
        let _ = writeln!(
            out,
            "\n{}",
            match (count(Level::Problem), count(Level::Warn)) {
                (0, 0) => "Everything is fine.".to_string(),
                (0, w) => format!("Nothing needs you; {w} warning(s) above."),
                (p, w) => format!("{p} problem(s) need you (fixes above); {w} warning(s)."),
            }
        );
    }
    let _ = out.flush();
    if report.needs_user {
        std::process::exit(NEEDS_USER);
    }
    Ok(())
}
