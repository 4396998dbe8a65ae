//! `keybroker approve <server-id>`: accept a changed command after seeing both sides in
//! full: program (and where it resolved), args, env names and values, cwd, other keys.

use keybroker::Result;
use keybroker::ops::launch::{self, Approval};
use keybroker::ops::spawn;
use keybroker::store::state::{Spawn, State};

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// `<host>/<name>`, e.g. `claude-desktop/github`.
    server_id: String,
    /// Approve without asking (needed when there is no terminal).
    #[arg(long, short = 'y')]
    yes: bool,
}

pub(super) fn run(a: Args) -> Result<()> {
    let ctx = super::context()?;
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
    print_approval("  ", &approval);
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

/// Both sides of an approval in full (each line starting with `pad`): the command lines,
/// then every part of each spawn, then what differs. `import` shows the same.
pub(super) fn print_approval(pad: &str, approval: &Approval) {
    println!(
        "{pad}approved command: {}",
        shell_words::join(&approval.old_command)
    );
    println!(
        "{pad}new command:      {}",
        shell_words::join(&approval.new_command)
    );
    if approval.old_env_keys != approval.new_env_keys {
        println!(
            "{pad}approved env names: {}",
            approval.old_env_keys.join(", ")
        );
        println!(
            "{pad}new env names:      {}",
            approval.new_env_keys.join(", ")
        );
    }
    match &approval.old_spawn {
        Some(old) => {
            print_spawn(pad, "approved", old);
            print_spawn(pad, "new", &approval.new_spawn);
            println!("{pad}what changed:");
            for line in spawn::differences(old, &approval.new_spawn) {
                println!("{pad}{line}");
            }
        }
        None => {
            println!(
                "{pad}approved: (by an earlier version, which kept only the command line and env names above)"
            );
            print_spawn(pad, "new", &approval.new_spawn);
        }
    }
}

/// One side of an approval, every part of it.
fn print_spawn(pad: &str, side: &str, s: &Spawn) {
    println!("{pad}{side} spawn:");
    let resolved = s.resolved.as_deref().unwrap_or("not found");
    println!("{pad}  program: {} ({resolved})", s.program);
    println!(
        "{pad}  args:    {}",
        if s.args.is_empty() {
            "(none)".to_string()
        } else {
            shell_words::join(&s.args)
        }
    );
    if s.env.is_empty() {
        println!("{pad}  env:     (none)");
    }
    for (k, v) in &s.env {
        println!("{pad}  env:     {k}={v}");
    }
    println!(
        "{pad}  cwd:     {}",
        s.cwd.as_deref().unwrap_or("(not set)")
    );
    for (k, v) in &s.keys {
        println!("{pad}  key:     {k} = {v}");
    }
    let path = s.path_var.as_deref().unwrap_or("(no PATH)");
    println!("{pad}  resolved from {} with PATH={path}", s.resolved_cwd);
    if s.cwd_bound {
        println!("{pad}  relative names: runs only from {}", s.resolved_cwd);
    }
}
