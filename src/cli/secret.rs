//! `keybroker secret set|rm`: a server's secrets by hand (the CLI's Connect, Rotate and
//! Disconnect).

use std::path::PathBuf;

use keybroker::ops::import;
use keybroker::ops::secrets;
use keybroker::store::state::State;
use keybroker::{Error, Result};

use super::Context;

#[derive(Debug, clap::Subcommand)]
pub(super) enum Command {
    /// Store a secret for a server's env var; setting it again rotates it. The value is
    /// read from a hidden prompt, or from stdin when stdin is not a terminal. A server that
    /// does not go through Keybroker yet is rewritten to do so.
    Set {
        /// `<host>/<name>`, e.g. `claude-desktop/github`.
        server_id: String,
        /// The environment variable the server reads, e.g. `GITHUB_PERSONAL_ACCESS_TOKEN`.
        env: String,
        /// The host config holding the server (default: the host's usual location).
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
    },
    /// Remove a secret from a server; the keychain item goes when no server uses it.
    Rm {
        server_id: String,
        /// `NAME` (an env var) or `arg:N`.
        target: String,
    },
}

pub(super) fn run(c: Command) -> Result<()> {
    match c {
        Command::Set {
            server_id,
            env,
            config,
        } => set(&server_id, &env, config),
        Command::Rm { server_id, target } => rm(&server_id, &target),
    }
}

fn set(server_id: &str, env: &str, config: Option<PathBuf>) -> Result<()> {
    secrets::check_env_name(env)?;
    let mut ctx = super::context()?;
    if let Some(path) = config {
        let (host, _) = secrets::split_id(server_id)?;
        ctx = ctx.with_config(host, path);
    }
    let state = State::load(&ctx.paths)?;
    let now = super::now();
    if !state.servers.contains_key(server_id) {
        return connect(&ctx, &state, server_id, env, &now);
    }
    let value = super::read_secret(&format!("Value for {env} of {server_id} (input hidden): "))?;
    let vault = ctx.vault()?;
    let stored = secrets::store_secret(&ctx, &vault, server_id, env, &value, &now)?;
    let (cred, rotated, shared) = (stored.credential, stored.rotated, stored.shared);
    if rotated {
        println!("Rotated `{cred}` in the keychain.");
        if !shared.is_empty() {
            println!(
                "It is shared: {} get(s) the new value too.",
                shared.join(", ")
            );
        }
    } else {
        println!("Stored `{cred}` in the keychain for {server_id} as ${env}.");
    }
    println!("Restart the host's server (or the host) for it to take effect.");
    Ok(())
}

/// The server is in a host config but not brokered yet: rewrite its entry with this secret.
fn connect(ctx: &Context, state: &State, server_id: &str, env: &str, now: &str) -> Result<()> {
    // Check the entry exists before asking for a value nobody can use.
    secrets::plan_connect(ctx, state, server_id, None).map_err(|e| match e {
        Error::Other { message, .. } if message.contains("remote (HTTP) server") => Error::other(
            message,
            format!("sign in with `keybroker connect {server_id}`"),
        ),
        other => other,
    })?;
    let value = super::read_secret(&format!("Value for {env} of {server_id} (input hidden): "))?;
    let (plan, vault) = secrets::plan_connect(ctx, state, server_id, Some((env, &value)))?;
    super::import::print_plan(&plan);
    import::apply_import(&plan, &vault, &ctx.paths, &ctx.audit, now)?;
    println!(
        "{server_id} now gets ${env} from the keychain. Restart the host for it to take effect."
    );
    Ok(())
}

fn rm(server_id: &str, target: &str) -> Result<()> {
    let ctx = super::context()?;
    let removed = secrets::remove(&ctx, server_id, target, &super::now())?;
    let target = if target.contains(':') {
        target.to_string()
    } else {
        format!("env:{target}")
    };
    let cred = removed.credential;
    println!(
        "Removed {target} from {server_id}{}.",
        if removed.deleted {
            format!("; deleted `{cred}` from the keychain")
        } else {
            format!("; `{cred}` stays for its other servers")
        }
    );
    Ok(())
}
