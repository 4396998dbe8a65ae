//! `keybroker bridge --binding <id> <server-id>`: what hosts run for a remote server
//! (stdio <-> HTTP). The binding id is the one written into the server's entry; the
//! bridge attaches no credential for an entry without it.

use std::sync::{Arc, Mutex};

use keybroker::Result;
use keybroker::base::clock::unix_now;
use keybroker::ops::bridge::{Bridge, Out, SignInPolicy};
use keybroker::ops::signin::{self, Opened};
use keybroker::store::audit::{Event, EventKind, Outcome, Target};
use keybroker::store::state::State;

use super::Ctx;

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The server, e.g. `claude-desktop/linear`.
    server: String,
    /// The binding id written into the server's entry (entries written before binding
    /// ids carry none).
    #[arg(long, value_name = "ID")]
    binding: Option<String>,
    /// Sign in (browser) when the server asks, instead of answering "needs sign-in".
    #[arg(long)]
    sign_in: bool,
    /// With --sign-in: where the sign-in URL goes and how long to wait.
    #[command(flatten)]
    browser: super::connect::BrowserArgs,
}

pub(super) fn run(a: Args) -> Result<()> {
    let ctx = Ctx::new()?;
    // Nothing is read from the keychain for an entry that is not the server's own.
    keybroker::ops::remote::admit_bridge(
        &State::load(&ctx.paths)?,
        &ctx.audit,
        &a.server,
        a.binding.as_deref(),
        &super::now(),
    )?;
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
        let Target::Header(name) = Target::from(b.target.as_str()) else {
            continue;
        };
        if Some(&b.credential) == remote.oauth_credential.as_ref() {
            continue;
        }
        if let Some(v) = vault.get(&b.credential)? {
            headers.push((name, v));
        }
    }
    for b in &server.bindings {
        let target = Target::from(b.target.as_str());
        if !matches!(target, Target::Header(_)) {
            continue;
        }
        events.push(
            Event::new(EventKind::Released, Outcome::Ok, super::now())
                .server(&a.server)
                .host(&server.host)
                .credential(&b.credential)
                .target(target)
                .process(std::process::id(), None, None)
                .fingerprint(&server.fingerprint)
                .detail("bridge started"),
        );
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
