//! `keybroker secret set|rm`: a server's secrets by hand (the CLI's Connect, Rotate and
//! Disconnect).

use std::path::PathBuf;

use keybroker::config::hosts::Host;
use keybroker::ops::import::{self, ImportRequest};
use keybroker::store::audit::{Event, EventKind, Outcome, Target};
use keybroker::store::state::State;
use keybroker::{Error, Result};

use super::Ctx;

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
    if env.is_empty() || env.contains('=') || env.contains('\0') {
        return Err(Error::other(
            format!("`{env}` is not an environment variable name"),
            "pass a name like GITHUB_TOKEN",
        ));
    }
    let ctx = Ctx::new()?;
    let state = State::load(&ctx.paths)?;
    let now = super::now();
    if !state.servers.contains_key(server_id) {
        return connect(&ctx, &state, server_id, env, config, &now);
    }
    let value = super::read_secret(&format!("Value for {env} of {server_id} (input hidden): "))?;
    let vault = ctx.vault()?;
    let stored = keybroker::app_api::store_secret(
        &ctx.paths, &ctx.audit, &vault, server_id, env, &value, &now,
    )?;
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
fn connect(
    ctx: &Ctx,
    state: &State,
    server_id: &str,
    env: &str,
    config: Option<PathBuf>,
    now: &str,
) -> Result<()> {
    let (host, name) = server_id
        .split_once('/')
        .ok_or_else(|| Error::UnknownServer {
            id: server_id.to_string(),
        })?;
    let host = Host::parse(host)?;
    let config = host.locate(config.as_deref())?;
    let launcher = super::launcher_path()?;
    let vault = ctx.vault()?;
    // Check the entry exists before asking for a value nobody can use.
    let probe = ImportRequest {
        host,
        config_path: &config,
        exclude: &[],
        launcher: &launcher,
        only: Some(name),
        set_env: None,
        approve: &[],
    };
    let probe_plan = import::plan_import(&probe, state, &vault)?;
    if probe_plan.servers.is_empty() {
        return Err(Error::UnknownServer {
            id: server_id.to_string(),
        });
    }
    if probe_plan
        .servers
        .iter()
        .any(|s| s.action == import::Action::Remote)
    {
        return Err(Error::other(
            format!("`{server_id}` is a remote (HTTP) server"),
            format!("sign in with `keybroker connect {server_id}`"),
        ));
    }
    let value = super::read_secret(&format!("Value for {env} of {server_id} (input hidden): "))?;
    let req = ImportRequest {
        set_env: Some((env, &value)),
        approve: &[],
        ..probe
    };
    let plan = import::plan_import(&req, state, &vault)?;
    super::import::print_plan(&plan);
    import::apply_import(&plan, &vault, &ctx.paths, &ctx.audit, now)?;
    println!(
        "{server_id} now gets ${env} from the keychain. Restart the host for it to take effect."
    );
    Ok(())
}

fn rm(server_id: &str, target: &str) -> Result<()> {
    let ctx = Ctx::new()?;
    // A bare name is an environment variable.
    let typed = match Target::from(target) {
        t @ (Target::Env(_) | Target::Arg(_) | Target::NamedArg(_)) => t,
        Target::Header(_) | Target::Other(_) => Target::Env(target.to_string()),
    };
    let target = typed.to_string();
    let vault = ctx.vault()?;
    let now = super::now();
    let (cred, deleted) = State::update(&ctx.paths, |st| {
        let server = st
            .servers
            .get_mut(server_id)
            .ok_or_else(|| Error::UnknownServer {
                id: server_id.to_string(),
            })?;
        let pos = server
            .bindings
            .iter()
            .position(|b| b.target == target)
            .ok_or_else(|| {
                Error::other(
                    format!("`{server_id}` has no secret bound to {target}"),
                    "run `keybroker servers` to see its bindings",
                )
            })?;
        let cred = server.bindings.remove(pos).credential;
        let deleted = st.users_of(&cred).is_empty();
        if deleted {
            vault.delete(&cred)?;
            st.credentials.remove(&cred);
        }
        Ok((cred, deleted))
    })?;
    let mut event = Event::new(EventKind::Deleted, Outcome::Ok, now)
        .server(server_id)
        .credential(&cred)
        .target(typed)
        .process(std::process::id(), None, None)
        .detail(if deleted {
            "binding removed; keychain item deleted"
        } else {
            "binding removed; credential kept for its other servers"
        });
    if let Some((host, _)) = server_id.split_once('/') {
        event = event.host(host);
    }
    ctx.audit.append(vec![event])?;
    println!(
        "Removed {target} from {server_id}{}.",
        if deleted {
            format!("; deleted `{cred}` from the keychain")
        } else {
            format!("; `{cred}` stays for its other servers")
        }
    );
    Ok(())
}
