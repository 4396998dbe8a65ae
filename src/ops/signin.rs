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
use crate::store::audit::{AuditLog, EventKind, Outcome};
use crate::store::state::Remote;
use crate::store::state::{Credential, State};
use crate::store::vault::Vault;

/// A remote server ready to be reached: its HTTP client (with the server's network
/// policy), its OAuth token store (when it signs in with OAuth), URL and record.
pub struct Opened {
    pub http: Http,
    pub store: Option<Store>,
    pub url: Url,
    pub remote: Remote,
}

/// Open remote server `id`. `vault` is only called when the server uses OAuth; the token
/// store tells `report` what the user should know but that does not stop the work.
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
    let url = parse_server_url(&remote.url, remote.allow_http)?;
    // The bridge and sign-in both come through here: the server's own proxy or none.
    let http = Http::with_proxy(
        Policy::for_server(&url, remote.allow_http)?,
        remote.proxy.as_deref(),
    )?;
    let store = match remote.oauth_credential.clone() {
        Some(credential) => Some(Store {
            paths: paths.clone(),
            vault: vault()?,
            audit: audit.clone(),
            server_id: id.to_string(),
            credential,
            report: report.clone(),
        }),
        None => None,
    };
    Ok(Opened {
        http,
        store,
        url,
        remote,
    })
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
    let Opened {
        http,
        store,
        url,
        remote,
    } = open(paths, audit, server_id, vault, opts.report)?;
    let Some(store) = store else {
        return Err(Error::other(
            format!("{server_id} uses a static header, not sign-in"),
            "change it with `keybroker add --replace`",
        ));
    };
    let challenge = probe(&http, &url)?;
    let previous = store.load()?;
    if let Some(machine) = previous.as_ref().filter(|t| t.machine.is_some()) {
        let ts = machine_sign_in(&http, &store, &url, challenge.as_ref(), machine, None)?;
        mark_signed_in(paths, &store, server_id, now)?;
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
    mark_signed_in(paths, &store, server_id, now)?;
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
fn mark_signed_in(paths: &Paths, store: &Store, server_id: &str, now: &str) -> Result<()> {
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
    match grants::machine_tokens(http, &store.vault, current, &target, unix_now()) {
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
