//! A server's secrets: Connect (typed values straight into the keychain), Rotate,
//! Disconnect and Remove, shared by the CLI (`keybroker secret ...`) and the app.
//!
//! One function per action, so "Disconnect" means the same in the tray and the terminal.
//! Values only come in (as [`Secret`]) and go to the keychain; nothing here returns one.
//! A server not brokered yet is rewritten through the import planner, never by hand.

use crate::base::error::{Error, Result};
use crate::base::secret::Secret;
use crate::config::hosts::Host;
use crate::ops::context::Context;
use crate::ops::import::{self, Action, ImportRequest};
use crate::store::audit::{Event, EventKind, Outcome, Target};
use crate::store::state::{Binding, Credential, State};
use crate::store::vault::Vault;

/// An environment variable name a server can read: letters, digits and `_`, not
/// starting with a digit (what every shell and every host accepts).
pub fn check_env_name(env: &str) -> Result<()> {
    let ok = !env.is_empty()
        && env.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !env.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::other(
            format!("`{env}` is not an environment variable name"),
            "use letters, digits and _ (for example GITHUB_TOKEN)",
        ))
    }
}

/// Connect: store typed secrets for a server's env vars (straight into the keychain).
/// A server not brokered yet is rewritten to go through the launcher with the first one.
/// Returns a sentence for the user.
pub fn connect(
    ctx: &Context,
    server_id: &str,
    values: Vec<(String, Secret)>,
    now: &str,
) -> Result<String> {
    if values.is_empty() {
        return Err(Error::other(
            "no secret given",
            "type the secret's value in the field",
        ));
    }
    for (env, value) in &values {
        check_env_name(env)?;
        if value.is_empty() {
            return Err(Error::other(
                format!("the value for {env} is empty"),
                "paste or type the secret's value",
            ));
        }
    }
    let state = State::load(&ctx.paths)?;
    let mut rest = values.as_slice();
    if !state.servers.contains_key(server_id) {
        let (env, value) = &values[0];
        connect_unbrokered(ctx, &state, server_id, env, value, now)?;
        rest = &values[1..];
    }
    if !rest.is_empty() {
        let vault = ctx.vault()?;
        for (env, value) in rest {
            store_secret(ctx, &vault, server_id, env, value, now)?;
        }
    }
    let names: Vec<&str> = values.iter().map(|(e, _)| e.as_str()).collect();
    Ok(format!(
        "{server_id} now gets {} from the keychain. Restart the host's server for it to take effect.",
        names.join(", ")
    ))
}

/// Rotate: replace the value of one bound secret (every server sharing it gets it).
pub fn rotate(
    ctx: &Context,
    server_id: &str,
    env: &str,
    value: &Secret,
    now: &str,
) -> Result<String> {
    check_env_name(env)?;
    let state = State::load(&ctx.paths)?;
    let server = state.server(server_id)?;
    if !server
        .bindings
        .iter()
        .any(|b| b.target == format!("env:{env}"))
    {
        return Err(Error::other(
            format!("`{server_id}` has no secret bound to {env}"),
            "use Connect to add one",
        ));
    }
    if value.is_empty() {
        return Err(Error::other(
            format!("the value for {env} is empty"),
            "paste or type the new value",
        ));
    }
    store_secret(ctx, &ctx.vault()?, server_id, env, value, now)?;
    Ok(format!(
        "Rotated {env} of {server_id}. Restart the host's server for it to take effect."
    ))
}

/// What [`store_secret`] did.
#[derive(Debug, Clone)]
pub struct Stored {
    pub credential: String,
    /// An existing value was replaced.
    pub rotated: bool,
    /// Other servers bound to the same credential (they get the new value too).
    pub shared: Vec<String>,
}

/// Store (or rotate) the secret a brokered server reads from `env`, and audit it.
pub fn store_secret(
    ctx: &Context,
    vault: &Vault,
    server_id: &str,
    env: &str,
    value: &Secret,
    now: &str,
) -> Result<Stored> {
    let target = Target::Env(env.to_string()).to_string();
    let (cred, rotated, shared) = State::update(&ctx.paths, |st| {
        let server = st.server(server_id)?.clone();
        if let Some(b) = server.bindings.iter().find(|b| b.target == target) {
            let cred = b.credential.clone();
            let existed = vault.get(&cred)?.is_some();
            vault.set(&cred, value)?;
            if existed && let Some(c) = st.credentials.get_mut(&cred) {
                c.rotated = Some(now.to_string());
            }
            let shared: Vec<String> = st
                .users_of(&cred)
                .into_iter()
                .filter(|s| *s != server_id)
                .map(String::from)
                .collect();
            return Ok((cred, existed, shared));
        }
        let cred = st.fresh_credential_id(env);
        vault.set(&cred, value)?;
        st.credentials.insert(
            cred.clone(),
            Credential {
                id: cred.clone(),
                kind: "secret".into(),
                label: format!("{env} ({server_id})"),
                created: now.to_string(),
                rotated: None,
            },
        );
        if let Some(s) = st.servers.get_mut(server_id) {
            s.bindings.push(Binding {
                target: target.clone(),
                credential: cred.clone(),
            });
        }
        Ok((cred, false, Vec::new()))
    })?;
    let kind = if rotated {
        EventKind::Rotated
    } else {
        EventKind::Stored
    };
    let mut e = secret_event(now, kind, server_id, &cred, &target);
    if !shared.is_empty() {
        e = e.detail(format!("also used by {}", shared.join(", ")));
    }
    ctx.audit.append(vec![e])?;
    Ok(Stored {
        credential: cred,
        rotated,
        shared,
    })
}

/// A change to one of `server_id`'s secrets, made by this process.
fn secret_event(now: &str, kind: EventKind, server_id: &str, cred: &str, target: &str) -> Event {
    let mut e = Event::new(kind, Outcome::Ok, now)
        .server(server_id)
        .credential(cred)
        .target(Target::from(target))
        .process(std::process::id(), None, None);
    if let Some((host, _)) = server_id.split_once('/') {
        e = e.host(host);
    }
    e
}

pub fn split_id(server_id: &str) -> Result<(Host, &str)> {
    let (host, name) = server_id
        .split_once('/')
        .ok_or_else(|| Error::UnknownServer {
            id: server_id.to_string(),
        })?;
    Ok((Host::parse(host)?, name))
}

fn connect_unbrokered(
    ctx: &Context,
    state: &State,
    server_id: &str,
    env: &str,
    value: &Secret,
    now: &str,
) -> Result<()> {
    let (plan, vault) = plan_connect(ctx, state, server_id, Some((env, value)))?;
    import::apply_import(&plan, &vault, &ctx.paths, &ctx.audit, now)?;
    Ok(())
}

/// The import plan that makes a server not brokered yet go through the launcher, with
/// `set` (an env name and its typed value) as its secret. Without `set` it only checks
/// that the entry exists and is a stdio server (ask for a value nobody can use after).
pub fn plan_connect(
    ctx: &Context,
    state: &State,
    server_id: &str,
    set: Option<(&str, &Secret)>,
) -> Result<(import::Plan, Vault)> {
    let (host, name) = split_id(server_id)?;
    let config = ctx.config_for(host)?;
    let launcher = ctx.launcher()?;
    let vault = ctx.vault()?;
    let req = ImportRequest {
        host,
        config_path: &config,
        exclude: &[],
        launcher,
        only: Some(name),
        set_env: set,
        approve: &[],
        keybroker_home: ctx.paths.home.as_deref(),
    };
    let plan = import::plan_import(&req, state, &vault)?;
    if plan.servers.is_empty() {
        return Err(Error::UnknownServer {
            id: server_id.to_string(),
        });
    }
    if plan.servers.iter().any(|s| s.action == Action::Remote) {
        return Err(Error::other(
            format!("`{server_id}` is a remote (HTTP) server"),
            "remote servers sign in with OAuth (Sign in, or `keybroker connect`) instead of a typed secret",
        ));
    }
    Ok((plan, vault))
}

/// What [`remove`] did.
#[derive(Debug, Clone)]
pub struct Removed {
    pub credential: String,
    /// The keychain item was deleted (no other server uses it).
    pub deleted: bool,
}

/// Remove one secret from a server: `target` is an env name, `env:NAME` or `arg:N`. The
/// binding goes; the keychain item goes with it when no other server uses it.
pub fn remove(ctx: &Context, server_id: &str, target: &str, now: &str) -> Result<Removed> {
    let target = if target.starts_with("env:") || target.starts_with("arg:") {
        target.to_string()
    } else {
        check_env_name(target)?;
        Target::Env(target.to_string()).to_string()
    };
    let vault = ctx.vault()?;
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
    let e = secret_event(now, EventKind::Deleted, server_id, &cred, &target).detail(if deleted {
        "binding removed; keychain item deleted"
    } else {
        "binding removed; credential kept for its other servers"
    });
    ctx.audit.append(vec![e])?;
    Ok(Removed {
        credential: cred,
        deleted,
    })
}

/// Disconnect: forget this server's env secrets. A credential only this server uses is
/// deleted from the keychain (the binding stays, so the server shows "needs a secret"
/// and Connect asks for it again); a shared one is unbound from this server only.
pub fn disconnect(ctx: &Context, server_id: &str, now: &str) -> Result<String> {
    let vault = ctx.vault()?;
    let outcome = State::update(&ctx.paths, |st| {
        let server = st.server(server_id)?.clone();
        let mut out = Vec::new();
        // Argument bindings stay: their placeholders are part of the approved command.
        for b in server
            .bindings
            .iter()
            .filter(|b| b.target.starts_with("env:"))
        {
            let shared = st.users_of(&b.credential).len() > 1;
            if shared {
                if let Some(s) = st.servers.get_mut(server_id) {
                    s.bindings.retain(|x| x.target != b.target);
                }
            } else {
                vault.delete(&b.credential)?;
            }
            out.push((b.credential.clone(), b.target.clone(), shared));
        }
        Ok(out)
    })?;
    let events = outcome
        .iter()
        .map(|(cred, target, shared)| {
            secret_event(now, EventKind::Deleted, server_id, cred, target).detail(if *shared {
                "unbound from this server; the credential stays for its other servers"
            } else {
                "keychain item deleted (Disconnect)"
            })
        })
        .collect();
    ctx.audit.append(events)?;
    Ok(format!(
        "Disconnected {server_id}: {} secret(s) removed.",
        outcome.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_must_be_identifiers() {
        for ok in ["GITHUB_TOKEN", "_X", "a1"] {
            assert!(check_env_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1ABC", "A=B", "A B", "A\0", "É"] {
            assert!(check_env_name(bad).is_err(), "{bad:?}");
        }
    }
}
