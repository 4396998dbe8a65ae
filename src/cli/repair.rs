//! `keybroker repair [<host>]`: point the entries Keybroker wrote back at this
//! installation's launcher (after Keybroker moved), changing nothing else.

use std::path::PathBuf;

use keybroker::config::hosts::Host;
use keybroker::ops::repair;
use keybroker::store::state::State;
use keybroker::{Error, Result};

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// Only this host's files (default: every file Keybroker brokers servers in).
    host: Option<String>,
    /// Only this config file (with a host).
    #[arg(
        long,
        value_name = "PATH",
        requires = "host",
        conflicts_with = "project"
    )]
    config: Option<PathBuf>,
    /// Only the host's project file in DIR (with a host).
    #[arg(long, value_name = "DIR", requires = "host")]
    project: Option<PathBuf>,
    /// Show what would change and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Apply without asking (needed when there is no terminal).
    #[arg(long, short = 'y')]
    yes: bool,
}

pub(super) fn run(a: Args) -> Result<()> {
    let ctx = super::context()?;
    let state = State::load(&ctx.paths)?;
    let host = a.host.as_deref().map(Host::parse).transpose()?;
    let files = match (host, &a.config, &a.project) {
        (Some(h), Some(path), _) => vec![(h, path.clone())],
        (Some(h), None, Some(dir)) => {
            let paths = h.project_paths(dir);
            if paths.is_empty() {
                return Err(Error::other(
                    format!("{} has no project-scope config file", h.name()),
                    format!("run `keybroker repair {}` without --project", h.id()),
                ));
            }
            paths.into_iter().map(|p| (h, p)).collect()
        }
        _ => repair::recorded_files(&state, host),
    };
    let launcher = ctx.launcher_path().to_path_buf();
    let mut plans = Vec::new();
    for (h, path) in &files {
        let plan = repair::plan_repair(&state, *h, path, &launcher, None)?;
        if !plan.entries.is_empty() {
            plans.push(plan);
        }
    }
    if plans.is_empty() {
        println!(
            "Every entry Keybroker wrote starts {}; nothing to repair.",
            launcher.display()
        );
        return Ok(());
    }
    for plan in &plans {
        println!(
            "{} config: {}",
            plan.host.name(),
            plan.config_path.display()
        );
        for r in &plan.entries {
            println!(
                "  {} ({}): launcher {} -> {}",
                r.server_id,
                r.name,
                r.from,
                launcher.display()
            );
        }
    }
    println!("Only the launcher path changes: approvals and everything else stay as they are.");
    if a.dry_run {
        println!("Dry run: nothing was changed.");
        return Ok(());
    }
    if !super::confirm("Repair these entries?", a.yes)? {
        println!("Not repaired.");
        return Ok(());
    }
    let now = super::now();
    let mut n = 0;
    for plan in &plans {
        repair::apply_repair(plan, &ctx.audit, &now)?;
        n += plan.entries.len();
    }
    println!(
        "Repaired {n} entr{}. Restart the host to use them.",
        if n == 1 { "y" } else { "ies" }
    );
    Ok(())
}
