//! `keybroker import <host>`: plan, show, confirm, apply.

use std::path::PathBuf;

use keybroker::config::doc::ConfigDoc;
use keybroker::config::hosts::{self, Host};
use keybroker::ops::import::{self, Action, ImportRequest, Plan};
use keybroker::store::state::State;
use keybroker::{Error, Result};

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The host whose config to import, by id (`keybroker hosts --supported` lists
    /// them: claude-code, cursor, vscode, codex, opencode, ...). Omit it with --all.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    host: Option<String>,
    /// Every detected host's files, in one plan (with --project DIR, that project's too).
    #[arg(long)]
    all: bool,
    /// The config file (default: the host's user file on this OS).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["all", "project"])]
    config: Option<PathBuf>,
    /// Import the host's project file in DIR (e.g. DIR/.cursor/mcp.json) instead.
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
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
    /// Approve the changed command of this brokered server (its entry also holds a new
    /// plaintext secret), as the plan shows it: its secret moves and the new command is
    /// approved. Without it such an entry is left as is. Repeatable.
    #[arg(long, value_name = "SERVER-ID")]
    approve: Vec<String>,
    /// Start the servers this import adds without the tool guard (exec'd as before; no
    /// tool policy, no pins). Servers Keybroker already knows keep their setting.
    #[arg(long)]
    no_guard: bool,
}

pub(super) fn run(a: Args) -> Result<()> {
    let ctx = super::context()?;
    let files: Vec<(Host, PathBuf)> = match (&a.host, a.all) {
        (_, true) => hosts::discover(a.project.as_deref())
            .into_iter()
            .map(|f| (f.host, f.path))
            .collect(),
        (Some(id), false) => {
            let host = Host::parse(id)?;
            match &a.project {
                Some(dir) => {
                    let paths = host.project_paths(dir);
                    if paths.is_empty() {
                        return Err(Error::other(
                            format!("{} has no project-scope config file", host.name()),
                            format!("run `keybroker import {}` without --project", host.id()),
                        ));
                    }
                    paths.into_iter().map(|p| (host, p)).collect()
                }
                None => vec![(host, super::config_for(&ctx, host, a.config.as_deref())?)],
            }
        }
        (None, false) => {
            return Err(Error::other(
                "no host given",
                "name a host (`keybroker import cursor`) or use --all",
            ));
        }
    };
    // With --all, a file Keybroker cannot parse is left untouched and reported; the
    // others are still imported.
    let mut skipped = 0;
    let files: Vec<(Host, PathBuf)> = if a.all {
        files
            .into_iter()
            .filter(|(host, path)| {
                let readable = std::fs::read(path)
                    .map_err(|e| Error::io(path.clone(), e))
                    .and_then(|b| ConfigDoc::parse(*host, path, &b).map(|_| ()));
                match readable {
                    Ok(()) => true,
                    Err(e) => {
                        eprintln!("keybroker: skipped: {}", e.describe());
                        skipped += 1;
                        false
                    }
                }
            })
            .collect()
    } else {
        files
    };
    if files.is_empty() {
        println!(
            "No host config files found (`keybroker hosts` lists where each host keeps its file)."
        );
        return Ok(());
    }
    let launcher = ctx.launcher()?.to_path_buf();
    let state = State::load(&ctx.paths)?;
    // The plan needs no keychain (a dry run on a machine without one still shows it, and
    // an invalid file is reported before anything else); applying it does.
    let vault = ctx.vault();
    let reqs: Vec<ImportRequest<'_>> = files
        .iter()
        .map(|(host, path)| ImportRequest {
            host: *host,
            config_path: path,
            exclude: &a.exclude,
            launcher: &launcher,
            only: None,
            set_env: None,
            approve: &a.approve,
            keybroker_home: ctx.paths.home.as_deref(),
        })
        .collect();
    let plans = import::plan_import_all_with(&reqs, &state, vault.as_ref().ok())?;
    for (i, plan) in plans.iter().enumerate() {
        if i > 0 {
            println!();
        }
        print_plan(plan);
    }
    let planned = |id: &String| {
        plans
            .iter()
            .flat_map(|p| &p.servers)
            .any(|sp| sp.approved && sp.id == *id)
    };
    for id in a.approve.iter().filter(|id| !planned(id)) {
        eprintln!("keybroker: warning: --approve {id}: no entry of that server waits for approval");
    }
    if !plans.iter().any(Plan::changes) {
        println!("Nothing to change.");
        return Ok(());
    }
    if let Err(e) = &vault {
        println!(
            "Applying this plan needs the keychain, which is not available: {}",
            e.describe()
        );
        println!(
            "(Without it, a value already stored for another server shows above as a new credential.)"
        );
    }
    if a.dry_run {
        println!("Dry run: nothing was changed. Run the same command without --dry-run to apply.");
        return Ok(());
    }
    let vault = vault?;
    if !super::confirm("Apply these changes?", a.yes)? {
        println!("Not applied.");
        return Ok(());
    }
    let now = super::now();
    let (mut servers, mut stored) = (0, 0);
    let mut restart = Vec::new();
    for plan in plans.iter().filter(|p| p.changes()) {
        let applied = import::apply_import(plan, &vault, &ctx.paths, &ctx.audit, &now)?;
        if a.no_guard {
            for id in applied
                .servers
                .iter()
                .filter(|id| !state.servers.contains_key(*id))
            {
                keybroker::ops::tools::change(
                    &ctx,
                    id,
                    &keybroker::ops::tools::Change::Guarded(false),
                    &now,
                )?;
            }
        }
        servers += applied.servers.len();
        stored += applied.credentials_stored;
        if !restart.contains(&plan.host.name()) {
            restart.push(plan.host.name());
        }
    }
    println!(
        "Done: {servers} server(s) rewritten, {stored} secret(s) stored in the keychain. Restart {} to use the new entries.",
        restart.join(", ")
    );
    if skipped > 0 {
        println!("{skipped} file(s) skipped (see above): fix them, then run the import again.");
    }
    Ok(())
}

/// The plan, values masked: what moves where, and each new entry.
pub(super) fn print_plan(plan: &Plan) {
    println!(
        "{} config: {}",
        plan.host.name(),
        plan.config_path.display()
    );
    println!();
    let (mut changing, mut moves, mut reused) = (0, 0, 0);
    for sp in &plan.servers {
        let label = match &sp.action {
            Action::Broker if sp.moves.is_empty() => {
                "reach it through keybroker bridge".to_string()
            }
            Action::Broker if sp.approved => {
                "approve the new command, move secrets to the keychain".to_string()
            }
            Action::Broker => "move secrets to the keychain".to_string(),
            Action::UpdateLauncher => "update launcher path".to_string(),
            Action::Bind => "bind the entry to this file".to_string(),
            Action::AlreadyBrokered => "already brokered: unchanged".to_string(),
            Action::NothingToDo => "no secrets: unchanged".to_string(),
            Action::Excluded => "excluded: unchanged".to_string(),
            Action::NeedsApproval => {
                "command changed: needs your approval, unchanged until then".to_string()
            }
            Action::Remote => "remote: unchanged".to_string(),
            Action::Unsupported(_) => "unsupported: unchanged".to_string(),
        };
        println!("  {}  [{}]", sp.id, label);
        let mut shown: Option<&str> = None;
        for m in &sp.moves {
            if sp.action == Action::NeedsApproval {
                println!(
                    "    {:<36} {}  ({})  stays in the file until you approve",
                    m.target, m.masked, m.rule
                );
                continue;
            }
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
            // Several secrets of one string share its new shape: shown once.
            if let Some(b) = m.becomes.as_deref()
                && shown != Some(b)
            {
                println!("    {:<36} becomes: {b}", "");
                shown = Some(b);
            }
        }
        if let Some(approval) = &sp.approval {
            super::approve::print_approval("    ", approval);
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
