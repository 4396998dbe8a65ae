//! The Credentials view: each keychain item Keybroker holds (its name, never its value),
//! the servers bound to it, and when each last received it, from which host and process
//! (the audit log's `released` events); Rotate and Remove from there.
//!
//! "Which server received which credential" is answered from the audit log alone: a
//! launch that was not recorded did not happen (no audit, no release).

use std::collections::HashMap;

use serde::Serialize;

use crate::base::error::{Error, Result};
use crate::base::secret::Secret;
use crate::ops::context::Context;
use crate::store::audit::{Event, EventKind, Filter, Outcome};
use crate::store::state::State;

/// One hand-out of a credential: a `released` event, without anything secret in it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReleaseView {
    pub time: String,
    pub server: String,
    pub host: Option<String>,
    pub credential: Option<String>,
    /// `env:NAME`, `arg:N`, `header:NAME`.
    pub target: Option<String>,
    /// The launcher's (then the server's) pid, its parent's pid and name: the host
    /// process that started it.
    pub pid: Option<u32>,
    pub ppid: Option<u32>,
    pub parent: Option<String>,
    /// "node (pid 4242, parent 4200)": who received it, in words.
    pub by: String,
}

impl ReleaseView {
    fn of(e: &Event) -> Option<ReleaseView> {
        let server = e.server.clone()?;
        let mut by = e.parent.clone().unwrap_or_else(|| "a process".into());
        match (e.pid, e.ppid) {
            (Some(p), Some(pp)) => by.push_str(&format!(" (pid {p}, parent {pp})")),
            (Some(p), None) => by.push_str(&format!(" (pid {p})")),
            _ => {}
        }
        Some(ReleaseView {
            time: e.time.clone(),
            server,
            host: e.host.clone(),
            credential: e.credential.clone(),
            target: e.target.as_ref().map(ToString::to_string),
            pid: e.pid,
            ppid: e.ppid,
            parent: e.parent.clone(),
            by,
        })
    }
}

/// Every successful `released` event, oldest first.
fn releases(ctx: &Context) -> Result<Vec<ReleaseView>> {
    let filter = Filter {
        kind: Some(EventKind::Released),
        ..Filter::default()
    };
    Ok(ctx
        .audit
        .query(&filter)?
        .iter()
        .filter(|e| e.outcome == Outcome::Ok)
        .filter_map(ReleaseView::of)
        .collect())
}

/// The last hand-out to each server (by server id).
pub fn last_received(ctx: &Context) -> Result<HashMap<String, ReleaseView>> {
    let mut out = HashMap::new();
    for r in releases(ctx)? {
        out.insert(r.server.clone(), r);
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BoundServerView {
    pub server: String,
    pub target: String,
    /// When this server last received this credential.
    pub last: Option<ReleaseView>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CredentialView {
    /// The keychain item's name (service `keybroker`); never its value.
    pub id: String,
    /// `secret` or `oauth` (a token set from a sign-in).
    pub kind: String,
    pub label: String,
    pub created: String,
    pub rotated: Option<String>,
    /// Whether the keychain holds a value for it (`null`: the keychain is unavailable).
    pub in_keychain: Option<bool>,
    pub servers: Vec<BoundServerView>,
    /// The last hand-out to any of its servers.
    pub last: Option<ReleaseView>,
    /// Rotate is offered for typed secrets bound to an env var; sign-ins are renewed
    /// by signing in again.
    pub can_rotate: bool,
    pub can_remove: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CredentialsView {
    pub credentials: Vec<CredentialView>,
    /// Hand-outs recorded in the audit log, all credentials together.
    pub releases: u32,
}

/// Every credential in the state, with its servers and their last hand-outs.
pub fn credentials(ctx: &Context) -> Result<CredentialsView> {
    let state = State::load(&ctx.paths)?;
    let vault = ctx.vault().ok();
    let all = releases(ctx)?;
    let mut last: HashMap<(String, String), ReleaseView> = HashMap::new();
    for r in &all {
        if let Some(c) = &r.credential {
            last.insert((r.server.clone(), c.clone()), r.clone());
        }
    }
    let mut out = Vec::new();
    for c in state.credentials.values() {
        let mut servers = Vec::new();
        for s in state.servers.values() {
            for b in s.bindings.iter().filter(|b| b.credential == c.id) {
                servers.push(BoundServerView {
                    server: s.id.clone(),
                    target: b.target.clone(),
                    last: last.get(&(s.id.clone(), c.id.clone())).cloned(),
                });
            }
        }
        let newest = servers
            .iter()
            .filter_map(|b| b.last.as_ref())
            .max_by(|a, b| a.time.cmp(&b.time))
            .cloned();
        let in_keychain = match &vault {
            Some(v) => Some(v.get(&c.id)?.is_some()),
            None => None,
        };
        let typed = c.kind == "secret";
        out.push(CredentialView {
            can_rotate: typed && servers.iter().any(|b| b.target.starts_with("env:")),
            can_remove: typed
                && !servers.is_empty()
                && servers
                    .iter()
                    .all(|b| b.target.starts_with("env:") || b.target.starts_with("arg:")),
            id: c.id.clone(),
            kind: c.kind.clone(),
            label: c.label.clone(),
            created: c.created.clone(),
            rotated: c.rotated.clone(),
            in_keychain,
            servers,
            last: newest,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(CredentialsView {
        credentials: out,
        releases: u32::try_from(all.len()).unwrap_or(u32::MAX),
    })
}

fn unknown(credential: &str) -> Error {
    Error::other(
        format!("no credential named `{credential}`"),
        "reload the Credentials view; it may have been removed",
    )
}

/// Rotate: a new value for `credential` (every server bound to it gets it).
pub fn rotate(ctx: &Context, credential: &str, value: &Secret, now: &str) -> Result<String> {
    let state = State::load(&ctx.paths)?;
    if !state.credentials.contains_key(credential) {
        return Err(unknown(credential));
    }
    let (server, env) = state
        .servers
        .values()
        .find_map(|s| {
            s.bindings
                .iter()
                .filter(|b| b.credential == credential)
                .find_map(|b| b.target.strip_prefix("env:"))
                .map(|env| (s.id.clone(), env.to_string()))
        })
        .ok_or_else(|| {
            Error::other(
                format!("`{credential}` is not bound to an environment variable"),
                "sign in again to renew a sign-in; rotate argument secrets with `keybroker secret set`",
            )
        })?;
    crate::ops::secrets::rotate(ctx, &server, &env, value, now)?;
    let users = state.users_of(credential).len();
    Ok(format!(
        "Rotated {credential}; {users} server{} get{} the new value at their next start.",
        if users == 1 { "" } else { "s" },
        if users == 1 { "s" } else { "" }
    ))
}

/// Remove: unbind `credential` from every server and delete its keychain item.
pub fn remove(ctx: &Context, credential: &str, now: &str) -> Result<String> {
    let state = State::load(&ctx.paths)?;
    let c = state
        .credentials
        .get(credential)
        .ok_or_else(|| unknown(credential))?;
    if c.kind != "secret" {
        return Err(Error::other(
            format!("`{credential}` is a sign-in, not a typed secret"),
            "remove the server from its host config instead",
        ));
    }
    let bound: Vec<(String, String)> = state
        .servers
        .values()
        .flat_map(|s| {
            s.bindings
                .iter()
                .filter(|b| b.credential == credential)
                .map(|b| (s.id.clone(), b.target.clone()))
        })
        .collect();
    if bound.is_empty() {
        return Err(Error::other(
            format!("`{credential}` is bound to no server"),
            "nothing to remove",
        ));
    }
    for (server, target) in &bound {
        crate::ops::secrets::remove(ctx, server, target, now)?;
    }
    Ok(format!(
        "Removed {credential} from the keychain and from {} server binding{}; those servers start without it until you connect them again.",
        bound.len(),
        if bound.len() == 1 { "" } else { "s" }
    ))
}
