//! `keybroker bridge --binding <id> <server-id>`: what hosts run for a remote server
//! (stdio <-> HTTP). The binding id is the one written into the server's entry; the
//! bridge attaches no credential for an entry without it.

use std::sync::{Arc, Mutex};

use keybroker::Result;
use keybroker::ops::bridge::{self, Out, SignInPolicy};

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
    let mut ctx = super::context()?;
    // Runs on every server start: the head gets its MAC, the keychain anchor no write.
    ctx.audit = ctx.audit.mac_only();
    let sign_in = a.sign_in.then(|| SignInPolicy {
        browser: a.browser.browser(),
        timeout: a.browser.timeout(),
        client_metadata_url: None,
    });
    let bridge = bridge::prepare(
        &ctx,
        &a.server,
        a.binding.as_deref(),
        sign_in,
        super::stderr_reporter(),
        &super::now(),
    )?;
    let out: Out = Arc::new(Mutex::new(Box::new(std::io::stdout())));
    bridge.run(std::io::stdin().lock(), out)
}
