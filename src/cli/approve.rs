//! `keybroker approve <server-id>`: accept a changed command after seeing both sides in
//! full: program (and where it resolved), args, env names and values, cwd, other keys.

use keybroker::Result;
use keybroker::ops::launch;
use keybroker::ops::spawn;
use keybroker::store::state::{Spawn, State};

use super::Context;

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// `<host>/<name>`, e.g. `claude-desktop/github`.
    server_id: String,
    /// Approve without asking (needed when there is no terminal).
    #[arg(long, short = 'y')]
    yes: bool,
}

pub(super) fn run(a: Args) -> Result<()> {
    let ctx = Context::discover()?;
    let state = State::load(&ctx.paths)?;
    let server = state.server(&a.server_id)?;
    let Some(approval) = launch::pending_approval(server)? else {
        println!(
            "{} runs its approved command; nothing to approve.",
            a.server_id
        );
        return Ok(());
    };
    println!("{} in {}", a.server_id, server.config_path.display());
    println!(
        "  approved command: {}",
        shell_words::join(&approval.old_command)
    );
    println!(
        "  new command:      {}",
        shell_words::join(&approval.new_command)
    );
    if approval.old_env_keys != approval.new_env_keys {
        println!("  approved env names: {}", approval.old_env_keys.join(", "));
        println!("  new env names:      {}", approval.new_env_keys.join(", "));
    }
    match &approval.old_spawn {
        Some(old) => {
            print_spawn("approved", old);
            print_spawn("new", &approval.new_spawn);
            println!("  what changed:");
            for line in spawn::differences(old, &approval.new_spawn) {
                println!("  {line}");
            }
        }
        None => {
            println!(
                "  approved: (by an earlier version, which kept only the command line and env names above)"
            );
            print_spawn("new", &approval.new_spawn);
        }
    }
    let creds: Vec<String> = server
        .bindings
        .iter()
        .map(|b| format!("{} ({})", b.credential, b.target))
        .collect();
    println!(
        "  it will receive: {}",
        if creds.is_empty() {
            "no secrets".to_string()
        } else {
            creds.join(", ")
        }
    );
    if !approval.plaintext.is_empty() {
        // Refused before asking: approving would copy the secret into the state.
        return launch::approve(&ctx.paths, &ctx.audit, &approval, &super::now());
    }
    if !super::confirm("Approve the new command?", a.yes)? {
        println!("Not approved; the server still gets no secrets.");
        return Ok(());
    }
    launch::approve(&ctx.paths, &ctx.audit, &approval, &super::now())?;
    println!(
        "Approved. {} gets its secrets again at its next start.",
        a.server_id
    );
    Ok(())
}

/// One side of an approval, every part of it.
fn print_spawn(side: &str, s: &Spawn) {
    println!("  {side} spawn:");
    let resolved = s.resolved.as_deref().unwrap_or("not found");
    println!("    program: {} ({resolved})", s.program);
    println!(
        "    args:    {}",
        if s.args.is_empty() {
            "(none)".to_string()
        } else {
            shell_words::join(&s.args)
        }
    );
    if s.env.is_empty() {
        println!("    env:     (none)");
    }
    for (k, v) in &s.env {
        println!("    env:     {k}={v}");
    }
    println!("    cwd:     {}", s.cwd.as_deref().unwrap_or("(not set)"));
    for (k, v) in &s.keys {
        println!("    key:     {k} = {v}");
    }
    let path = s.path_var.as_deref().unwrap_or("(no PATH)");
    println!("    resolved from {} with PATH={path}", s.resolved_cwd);
    if s.cwd_bound {
        println!("    relative names: runs only from {}", s.resolved_cwd);
    }
}
