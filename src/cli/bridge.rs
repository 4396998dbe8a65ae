//! `keybroker bridge <server-id>`: what hosts run for a remote server (stdio <-> HTTP).

use std::sync::{Arc, Mutex};

use keybroker::Result;
use keybroker::base::clock::unix_now;
use keybroker::ops::bridge::{Bridge, Out, SignInPolicy};
use keybroker::ops::signin::{self, Opened};
use keybroker::store::audit::Event;
use keybroker::store::state::State;

use super::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The server, e.g. `claude-desktop/linear`.
    server: String,
    /// Sign in (browser) when the server asks, instead of answering "needs sign-in".
    #[arg(long)]
    sign_in: bool,
    /// With --sign-in: where the sign-in URL goes and how long to wait.
    #[command(flatten)]
    browser: super::connect::BrowserArgs,
}

pub fn run(a: Args) -> Result<()> {
    let ctx = Ctx::new()?;
    let report = super::stderr_reporter();
    let Opened {
        http,
        store,
        url,
        remote,
    } = signin::open(&ctx.paths, &ctx.audit, &a.server, || ctx.vault(), &report)?;
    let state = State::load(&ctx.paths)?;
    let server = state.server(&a.server)?;
    let vault = ctx.vault()?;
    let mut headers = Vec::new();
    let mut events = Vec::new();
    for b in &server.bindings {
        let Some(name) = b.target.strip_prefix("header:") else {
            continue;
        };
        if Some(&b.credential) == remote.oauth_credential.as_ref() {
            continue;
        }
        if let Some(v) = vault.get(&b.credential)? {
            headers.push((name.to_string(), v));
        }
    }
    for b in server
        .bindings
        .iter()
        .filter(|b| b.target.starts_with("header:"))
    {
        events.push(Event {
            time: super::now(),
            event: "released".into(),
            server: Some(a.server.clone()),
            host: Some(server.host.clone()),
            credential: Some(b.credential.clone()),
            target: Some(b.target.clone()),
            pid: Some(std::process::id()),
            ppid: None,
            parent: None,
            fingerprint: Some(server.fingerprint.clone()),
            outcome: "ok".into(),
            detail: Some("bridge started".into()),
            torn: None,
            prev: String::new(),
            hash: String::new(),
        });
    }
    ctx.audit.append(events)?;
    // Refresh ahead of expiry before the first request (under the cross-process lock).
    if let Some(st) = &store
        && let Some(ts) = st.load()?
        && ts.access_token.is_some()
        && ts.usable(unix_now(), ts.refresh_ahead()).is_none()
        && let Err(e) = st.fresh(&http, None, &unix_now)
    {
        eprintln!("keybroker bridge: {}", e.describe());
    }
    let bridge = Bridge {
        server_id: a.server.clone(),
        url,
        http,
        headers,
        store,
        sign_in: a.sign_in.then(|| SignInPolicy {
            browser: a.browser.browser(),
            timeout: a.browser.timeout(),
            client_metadata_url: remote.client_metadata_url.clone(),
        }),
        report,
    };
    let out: Out = Arc::new(Mutex::new(Box::new(std::io::stdout())));
    bridge.run(std::io::stdin().lock(), out)
}
