//! `keybroker restore <host>`: put the original entries back, so a user can always leave.

use std::path::{Path, PathBuf};

use keybroker::Result;
use keybroker::config::hosts::Host;
use keybroker::ops::Context;
use keybroker::ops::import;
use keybroker::store::state::State;

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The host, by id (`keybroker hosts --supported` lists them).
    host: String,
    /// The config file (default: the host's user file on this OS).
    #[arg(long, value_name = "PATH", conflicts_with = "project")]
    config: Option<PathBuf>,
    /// Restore the host's project file in DIR instead.
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
    /// Write the secret values back into the file in plaintext (default: left empty; the
    /// values stay in the keychain).
    #[arg(long)]
    reveal: bool,
    /// Apply without asking.
    #[arg(long, short = 'y')]
    yes: bool,
}

pub(super) fn run(a: Args) -> Result<()> {
    let ctx = super::context()?;
    let host = Host::parse(&a.host)?;
    let configs = match &a.project {
        Some(dir) => host.project_paths(dir),
        None => vec![super::config_for(&ctx, host, a.config.as_deref())?],
    };
    if configs.is_empty() {
        return Err(keybroker::Error::other(
            format!("{} has no project-scope config file", host.name()),
            format!("run `keybroker restore {}` without --project", host.id()),
        ));
    }
    for config in &configs {
        restore_file(&ctx, host, config, &a)?;
    }
    Ok(())
}

/// Plan, show, confirm and apply the restore of one file.
fn restore_file(ctx: &Context, host: Host, config: &Path, a: &Args) -> Result<()> {
    let state = State::load(&ctx.paths)?;
    let vault = ctx.vault()?;
    let plan = import::plan_restore(host, config, &state, &vault, a.reveal)?;
    for (name, why) in &plan.skipped {
        println!("  {name}: {why}");
    }
    if plan.servers.is_empty() {
        println!(
            "No brokered entries in {}; nothing to restore.",
            config.display()
        );
        return Ok(());
    }
    println!("Restore in {}:", config.display());
    for (id, name, notes) in &plan.servers {
        println!("  {name} ({id}): original command back");
        for n in notes {
            println!("    {n}");
        }
    }
    if a.reveal {
        println!("Warning: --reveal writes secret values into the file in plaintext.");
    }
    if !super::confirm("Restore these entries?", a.yes)? {
        println!("Not restored.");
        return Ok(());
    }
    import::apply_restore(&plan, &ctx.paths, &ctx.audit, &super::now())?;
    println!(
        "Restored {} entr{}. Restart the host to use them.",
        plan.servers.len(),
        if plan.servers.len() == 1 { "y" } else { "ies" }
    );
    Ok(())
}
