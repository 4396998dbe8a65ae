//! `keybroker connect <server-id>`: sign in to a remote server (OAuth in the browser).

use std::time::Duration;

use keybroker::oauth::discovery;
use keybroker::oauth::flow::{self, Browser};
use keybroker::oauth::net::{Http, Policy};
use keybroker::oauth::{Store, unix_now};
use keybroker::state::State;
use keybroker::{Error, Result};
use url::Url;

use super::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The server, e.g. `claude-desktop/linear`.
    server: String,
    /// Print the sign-in URL on stderr instead of opening the browser (SSH, headless).
    #[arg(long)]
    no_browser: bool,
    /// Give up when sign-in is not finished within this many seconds.
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    timeout: u64,
}

/// The HTTP client, the token store and the server URL of a remote server.
pub fn open_remote(
    ctx: &Ctx,
    id: &str,
) -> Result<(Http, Option<Store>, Url, keybroker::remote::Remote)> {
    let state = State::load(&ctx.paths)?;
    let server = state.server(id)?;
    let remote = server.remote.clone().ok_or_else(|| {
        Error::other(
            format!("{id} is not a remote server"),
            "`keybroker connect` and `keybroker bridge` are for servers added with --url",
        )
    })?;
    let url = keybroker::remote::parse_server_url(&remote.url, remote.allow_http)?;
    let http = Http::new(Policy::for_server(&url, remote.allow_http)?);
    let store = remote.oauth_credential.clone().map(|credential| {
        Ok::<_, Error>(Store {
            paths: ctx.paths.clone(),
            vault: ctx.vault()?,
            audit: ctx.audit.clone(),
            server_id: id.to_string(),
            credential,
        })
    });
    let store = store.transpose()?;
    Ok((http, store, url, remote))
}

pub fn run(a: Args) -> Result<()> {
    let ctx = Ctx::new()?;
    let (http, store, url, remote) = open_remote(&ctx, &a.server)?;
    let Some(store) = store else {
        return Err(Error::other(
            format!("{} uses a static header, not sign-in", a.server),
            "change it with `keybroker add --replace`",
        ));
    };
    // Ask the server how to sign in: an unauthenticated initialize gets the 401 challenge.
    let probe = serde_json::json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": keybroker::bridge::PROTOCOL_VERSION, "capabilities": {},
        "clientInfo": {"name": "keybroker", "version": env!("CARGO_PKG_VERSION")}}});
    let resp = http.send(
        "POST",
        &url,
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ],
        Some(probe.to_string().as_bytes()),
        false,
        "sign-in probe",
    )?;
    let challenge = resp
        .header("www-authenticate")
        .and_then(discovery::parse_challenge);
    if let Some(sid) = resp
        .header("mcp-session-id")
        .filter(|s| keybroker::bridge::valid_session_id(s))
    {
        let sid = sid.to_string();
        let _ = http.send(
            "DELETE",
            &url,
            &[("Mcp-Session-Id", &sid)],
            None,
            false,
            "sign-in probe end",
        );
    }
    let disc = discovery::discover(&http, &url, challenge.as_ref())?;
    let previous = store.load()?;
    let pre = previous
        .as_ref()
        .and_then(|t| t.client.as_ref())
        .filter(|c| c.source == "pre-registered")
        .cloned();
    let req = flow::SignIn {
        server_id: &a.server,
        discovery: &disc,
        challenged_scope: challenge.as_ref().and_then(|c| c.scope.as_deref()),
        previous_scope: None,
        previous: previous.as_ref(),
        pre_registered: pre.as_ref(),
        client_metadata_url: remote.client_metadata_url.as_deref(),
        browser: if a.no_browser {
            Browser::Print
        } else {
            Browser::Open
        },
        timeout: Duration::from_secs(a.timeout),
        cancel: None,
    };
    let ts = flow::sign_in(&http, &req, unix_now)?;
    store.save(&ts)?;
    let (cred, now) = (store.credential.clone(), super::now());
    State::update(&ctx.paths, |s| {
        let label = format!("{} sign-in", a.server);
        let c = s
            .credentials
            .entry(cred.clone())
            .or_insert(keybroker::state::Credential {
                id: cred.clone(),
                kind: "oauth".into(),
                label,
                created: now.clone(),
                rotated: None,
            });
        c.kind = "oauth".into();
        c.rotated = Some(now.clone());
        Ok(())
    })?;
    store.audit_event(
        "authorized",
        "ok",
        &format!("signed in with {}", disc.auth_server.issuer),
    );
    eprintln!(
        "signed in: {} can now use {}",
        a.server, disc.auth_server.issuer
    );
    Ok(())
}
