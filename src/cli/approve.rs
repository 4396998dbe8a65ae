//! `keybroker approve <server-id>`: accept a changed command after seeing it in full.

use keybroker::Result;
use keybroker::ops::launch;
use keybroker::store::state::State;

use super::Ctx;

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// `<host>/<name>`, e.g. `claude-desktop/github`.
    server_id: String,
    /// Approve without asking (needed when there is no terminal).
    #[arg(long, short = 'y')]
    yes: bool,
}

pub(super) fn run(a: Args) -> Result<()> {
    let ctx = Ctx::new()?;
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
