//! `keybroker import <host>`: plan, show, confirm, apply.

use std::path::PathBuf;

use keybroker::Result;
use keybroker::hosts::Host;
use keybroker::rewrite::{self, Action, ImportRequest, Plan};
use keybroker::state::State;

use super::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The host whose config to import: `claude-desktop`.
    host: String,
    /// The config file (default: the host's usual location on this OS).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Show the plan and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Apply without asking (needed when there is no terminal).
    #[arg(long, short = 'y')]
    yes: bool,
    /// Leave a server, or one finding, as it is: `NAME`, `NAME:env:VAR` or `NAME:arg:N`
    /// (the plan prints each finding's selector). Repeatable.
    #[arg(long, value_name = "SELECTOR")]
    exclude: Vec<String>,
}

pub fn run(a: Args) -> Result<()> {
    let ctx = Ctx::new()?;
    let host = Host::parse(&a.host)?;
    let config = host.locate(a.config.as_deref())?;
    let launcher = super::launcher_path()?;
    let vault = ctx.vault()?;
    let state = State::load(&ctx.paths)?;
    let req = ImportRequest {
        host,
        config_path: &config,
        exclude: &a.exclude,
        launcher: &launcher,
        only: None,
        set_env: None,
    };
    let plan = rewrite::plan_import(&req, &state, &vault)?;
    print_plan(&plan);
    if !plan.changes() {
        println!("Nothing to change.");
        return Ok(());
    }
    if a.dry_run {
        println!(
            "Dry run: nothing was changed. Apply with: keybroker import {} --config {}",
            host.id(),
            config.display()
        );
        return Ok(());
    }
    if !super::confirm("Apply these changes?", a.yes)? {
        println!("Not applied.");
        return Ok(());
    }
    let applied = rewrite::apply_import(&plan, &vault, &ctx.paths, &ctx.audit, &super::now())?;
    println!(
        "Done: {} server(s) rewritten, {} secret(s) stored in the keychain. Restart {} to use the new entries.",
        applied.servers.len(),
        applied.credentials_stored,
        host_name(host)
    );
    Ok(())
}

fn host_name(h: Host) -> &'static str {
    match h {
        Host::ClaudeDesktop => "Claude Desktop",
    }
}

/// The plan, values masked: what moves where, and each new entry.
pub fn print_plan(plan: &Plan) {
    println!(
        "{} config: {}",
        host_name(plan.host),
        plan.config_path.display()
    );
    println!();
    let (mut changing, mut moves, mut reused) = (0, 0, 0);
    for sp in &plan.servers {
        let label = match &sp.action {
            Action::Broker => "move secrets to the keychain".to_string(),
            Action::UpdateLauncher => "update launcher path".to_string(),
            Action::AlreadyBrokered => "already brokered: unchanged".to_string(),
            Action::NothingToDo => "no secrets: unchanged".to_string(),
            Action::Excluded => "excluded: unchanged".to_string(),
            Action::Remote => "remote: unchanged".to_string(),
            Action::Unsupported(_) => "unsupported: unchanged".to_string(),
        };
        println!("  {}  [{}]", sp.id, label);
        for m in &sp.moves {
            if m.excluded {
                println!(
                    "    {:<36} {}  ({})  kept in the file (excluded)",
                    m.target, m.masked, m.rule
                );
                continue;
            }
            moves += 1;
            if m.reused {
                reused += 1;
            }
            println!(
                "    {:<36} {}  ({})  -> keychain `{}`{}",
                m.target,
                m.masked,
                m.rule,
                m.credential,
                if m.reused {
                    " (same value, shared)"
                } else {
                    ""
                }
            );
            println!("    {:<36} exclude with --exclude {}", "", m.selector);
        }
        for n in &sp.notes {
            println!("    {n}");
        }
        if let Some(e) = &sp.new_entry {
            changing += 1;
            println!(
                "    new entry: {}",
                serde_json::to_string(e).unwrap_or_default()
            );
        }
    }
    println!();
    println!(
        "Summary: {changing} entr{} change, {moves} secret(s) move to the keychain ({reused} shared with another server), {} left as is.",
        if changing == 1 { "y" } else { "ies" },
        plan.servers.len() - changing
    );
}
