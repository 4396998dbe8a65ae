//! Sign-in to one remote server from start to finish, for both front ends: the CLI's
//! `keybroker connect` and the app's Sign in button call [`connect`] with their own
//! browser choice, timeout and cancel flag.
//!
//! The steps: open the server's record (URL, network policy, token store), ask the server
//! how to sign in with an unauthenticated `initialize` (its 401 challenge), discover the
//! protected resource and authorization server, run the browser flow ([`crate::oauth::flow`]),
//! then save the token set to the keychain, mark the credential in the state file and
//! audit `authorized`. The returned sentence names the issuer, never a token.
//!
//! A machine credential (client credentials, workload JWT, enterprise IdP) signs in the
//! same way without a browser: [`machine_sign_in`], which the bridge uses too.
//!
//! Not here: the checks on metadata and callbacks ([`crate::oauth::discovery`],
//! [`crate::oauth::flow`]), refresh ([`crate::oauth::Store::fresh`]), and carrying MCP traffic
//! (`bridge`).

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use url::Url;

use crate::base::clock::unix_now;
use crate::base::error::{Error, Result};
use crate::base::paths::Paths;
use crate::base::report::Reporter;
use crate::net::parse_server_url;
use crate::net::{Http, Policy};
use crate::oauth::flow::{self, Browser};
use crate::oauth::grants::{self, Target};
use crate::oauth::{Store, TokenSet, discovery};
use crate::ops::launch::placeholders;
use crate::ops::remote::URL_TARGET;
use crate::store::audit::{AuditLog, EventKind, Outcome};
use crate::store::state::Remote;
use crate::store::state::{self, Binding, Credential, Server, State};
use crate::store::vault::Vault;

/// A remote server ready to be reached: its HTTP client (with the server's network
/// policy), its OAuth token store (when it signs in with OAuth), URL and record.
pub struct Opened {
    pub http: Http,
    pub store: Option<Store>,
    pub url: Url,
    pub remote: Remote,
}

/// Open remote server `id`, its URL filled in when the URL carries a key. `vault` is only
/// called when the server uses OAuth or its URL holds a key; the token store tells
/// `report` what the user should know but that does not stop the work.
pub fn open(
    paths: &Paths,
    audit: &AuditLog,
    id: &str,
    vault: impl FnOnce() -> Result<Vault>,
    report: &Reporter,
) -> Result<Opened> {
    let state = State::load(paths)?;
    let server = state.server(id)?;
    let remote = server.remote.clone().ok_or_else(|| {
        Error::other(
            format!("{id} is not a remote server"),
            "`keybroker connect` and `keybroker bridge` are for servers added with --url",
        )
    })?;
    let keyed = !placeholders(&remote.url).is_empty();
    let vault = if keyed || remote.oauth_credential.is_some() {
        Some(vault()?)
    } else {
        None
    };
    let url = match (&vault, keyed) {
        (Some(v), true) => {
            parse_server_url(&filled_url(server, &remote.url, v)?, remote.allow_http)?
        }
        _ => parse_server_url(&remote.url, remote.allow_http)?,
    };
    // The bridge and sign-in both come through here: the server's own proxy or none.
    let http = Http::with_proxy(
        Policy::for_server(&url, remote.allow_http)?,
        remote.proxy.as_deref(),
    )?;
    let store = match (remote.oauth_credential.clone(), vault) {
        (Some(credential), Some(vault)) => Some(Store {
            paths: paths.clone(),
            vault,
            audit: audit.clone(),
            server_id: id.to_string(),
            credential,
            report: report.clone(),
        }),
        _ => None,
    };
    Ok(Opened {
        http,
        store,
        url,
        remote,
    })
}

/// The server's URL with the secret parts its template holds read from the keychain.
/// Each placeholder must name a credential bound to the server's URL; the URL this
/// returns is for the request only (messages show it through `net::redact`).
fn filled_url(server: &Server, template: &str, vault: &Vault) -> Result<String> {
    let mut url = template.to_string();
    for cred in placeholders(template) {
        let bound = server
            .bindings
            .iter()
            .any(|b| b.credential == cred && b.target == URL_TARGET);
        if !bound {
            return Err(Error::Denied {
                message: format!(
                    "the URL of `{}` asks for credential `{cred}`, which is not bound to its URL",
                    server.id
                ),
                fix: format!(
                    "import the server's entry again (`keybroker import {}`)",
                    server.host
                ),
            });
        }
        let value = vault.get(&cred)?.ok_or_else(|| {
            Error::other(
                format!(
                    "the keychain has no value for credential `{cred}` (the URL of `{}`)",
                    server.id
                ),
                format!(
                    "restore the entry (`keybroker restore {}`) and import it again",
                    server.host
                ),
            )
        })?;
        url = state::fill(&url, &cred, value.expose());
    }
    Ok(url)
}

/// How one sign-in reaches the user and when it gives up.
pub struct Options<'a> {
    pub browser: Browser,
    /// How long to wait for the browser's callback.
    pub timeout: Duration,
    /// Set from elsewhere (the app's Cancel button) to abandon the wait.
    pub cancel: Option<&'a AtomicBool>,
    /// Where the sign-in URL and warnings go (the CLI: stderr; the app: its log).
    pub report: &'a Reporter,
}

/// Sign in to remote server `server_id` in the browser and keep the tokens in the
/// keychain. `now` (RFC 3339) stamps the credential record. Returns a sentence for the
/// user.
pub fn connect(
    paths: &Paths,
    audit: &AuditLog,
    vault: impl FnOnce() -> Result<Vault>,
    server_id: &str,
    opts: &Options<'_>,
    now: &str,
) -> Result<String> {
    let vault = vault()?;
    let Opened {
        http,
        store,
        url,
        remote,
    } = open(paths, audit, server_id, || Ok(vault.clone()), opts.report)?;
    // A server keyed by its URL that asks for a sign-in anyway (an OAuth challenge) gets
    // a token set of its own, recorded once the sign-in succeeds.
    let (store, new_credential) = match store {
        Some(store) => (store, false),
        None => {
            let state = State::load(paths)?;
            let server = state.server(server_id)?;
            if server
                .bindings
                .iter()
                .any(|b| b.target.eq_ignore_ascii_case("header:authorization"))
            {
                return Err(Error::other(
                    format!("{server_id} uses a static header, not sign-in"),
                    "change it with `keybroker add --replace`",
                ));
            }
            let store = Store {
                paths: paths.clone(),
                vault,
                audit: audit.clone(),
                server_id: server_id.to_string(),
                credential: format!("{}-oauth", state::slug(server_id)),
                report: opts.report.clone(),
            };
            (store, true)
        }
    };
    let challenge = probe(&http, &url)?;
    let previous = store.load()?;
    if let Some(machine) = previous.as_ref().filter(|t| t.machine.is_some()) {
        let ts = machine_sign_in(&http, &store, &url, challenge.as_ref(), machine, None)?;
        mark_signed_in(paths, &store, server_id, now, new_credential)?;
        return Ok(format!(
            "signed in: {server_id} can now use {}, with {}",
            ts.issuer.as_deref().unwrap_or("its authorization server"),
            machine
                .machine
                .as_ref()
                .map(grants::MachineGrant::describe)
                .unwrap_or_default()
        ));
    }
    let disc = discovery::discover(&http, &url, challenge.as_ref())?;
    let pre = previous
        .as_ref()
        .and_then(|t| t.client.as_ref())
        .filter(|c| c.source == "pre-registered")
        .cloned();
    let req = flow::SignIn {
        server_id,
        discovery: &disc,
        challenged_scope: challenge.as_ref().and_then(|c| c.scope.as_deref()),
        previous_scope: None,
        previous: previous.as_ref(),
        pre_registered: pre.as_ref(),
        client_metadata_url: remote.client_metadata_url.as_deref(),
        browser: opts.browser.clone(),
        timeout: opts.timeout,
        cancel: opts.cancel,
        report: opts.report,
    };
    let ts = flow::sign_in(&http, &req, unix_now)?;
    store.save(&ts)?;
    mark_signed_in(paths, &store, server_id, now, new_credential)?;
    store.audit_event(
        EventKind::Authorized,
        Outcome::Ok,
        &format!("signed in with {}", disc.auth_server.issuer),
    )?;
    Ok(format!(
        "signed in: {server_id} can now use {}",
        disc.auth_server.issuer
    ))
}

/// The credential record says when the server was last signed in to.
/// `new_credential`: the server had no OAuth credential (a URL-keyed server that asked
/// for a sign-in anyway): record it and bind it to the `Authorization` header.
fn mark_signed_in(
    paths: &Paths,
    store: &Store,
    server_id: &str,
    now: &str,
    new_credential: bool,
) -> Result<()> {
    let cred = store.credential.clone();
    State::update(paths, |s| {
        let c = s.credentials.entry(cred.clone()).or_insert(Credential {
            id: cred.clone(),
            kind: "oauth".into(),
            label: format!("{server_id} sign-in"),
            created: now.to_string(),
            rotated: None,
        });
        c.kind = "oauth".into();
        c.rotated = Some(now.to_string());
        if new_credential && let Some(server) = s.servers.get_mut(server_id) {
            if let Some(r) = server.remote.as_mut() {
                r.oauth_credential = Some(cred.clone());
            }
            server.bindings.push(Binding {
                target: "header:Authorization".into(),
                credential: cred.clone(),
            });
        }
        Ok(())
    })
}

/// Tokens for a machine credential (`current` names its client and grant): discovery
/// for a machine grant, the scope chosen as for a browser sign-in, then the grant; the
/// result is saved and audited (a refusal too). No browser, no prompt.
pub fn machine_sign_in(
    http: &Http,
    store: &Store,
    url: &Url,
    challenge: Option<&discovery::Challenge>,
    current: &TokenSet,
    previous_scope: Option<&str>,
) -> Result<TokenSet> {
    let how = current
        .machine
        .as_ref()
        .map(grants::MachineGrant::describe)
        .unwrap_or_default();
    let disc = discovery::discover_for(http, url, challenge, discovery::Use::Machine)?;
    let scope = flow::select_scope(
        challenge.and_then(|c| c.scope.as_deref()),
        disc.resource.scopes_supported.as_deref(),
        previous_scope,
        None,
    );
    let target = Target {
        server_id: &store.server_id,
        issuer: &disc.auth_server.issuer,
        token_endpoint: &disc.auth_server.token_endpoint,
        resource: &disc.resource.resource,
        scope,
        dpop: disc.auth_server.dpop(),
    };
    match grants::machine_tokens(
        http,
        &store.vault,
        &store.paths.config_dir.join("locks"),
        current,
        &target,
        unix_now(),
    ) {
        Ok(ts) => {
            store.save(&ts)?;
            store.audit_event(
                EventKind::Authorized,
                Outcome::Ok,
                &format!("tokens from {} with {how}", disc.auth_server.issuer),
            )?;
            Ok(ts)
        }
        Err(e) => {
            store.remember_refusal(current, &e)?;
            let refused = store.event(
                EventKind::Authorized,
                Outcome::Error,
                &format!("{how} refused"),
            );
            Err(store.audit.append_refusal(vec![refused], e))
        }
    }
}

/// Ask the server how to sign in: an unauthenticated `initialize` gets the 401 and its
/// `WWW-Authenticate` challenge. A session the server opened anyway is ended.
fn probe(http: &Http, url: &Url) -> Result<Option<discovery::Challenge>> {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": crate::mcp::PROTOCOL_VERSION, "capabilities": {},
        "clientInfo": {"name": "keybroker", "version": env!("CARGO_PKG_VERSION")}}});
    let resp = http.send(
        "POST",
        url,
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ],
        Some(body.to_string().as_bytes()),
        false,
        "sign-in probe",
    )?;
    let challenge = resp
        .header("www-authenticate")
        .and_then(discovery::parse_challenge);
    if let Some(sid) = resp
        .header("mcp-session-id")
        .filter(|s| crate::mcp::valid_session_id(s))
    {
        let sid = sid.to_string();
        let _ = http.send(
            "DELETE",
            url,
            &[("Mcp-Session-Id", &sid)],
            None,
            false,
            "sign-in probe end",
        );
    }
    Ok(challenge)
}
