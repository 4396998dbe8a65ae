//! `keybroker connect <server-id>`: sign in to a remote server (OAuth in the browser).
//! The sign-in itself is `keybroker::ops::signin`, shared with the app.

use std::time::Duration;

use keybroker::Result;
use keybroker::oauth::flow::Browser;
use keybroker::ops::signin::{self, Options};

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The server, e.g. `claude-desktop/linear`.
    server: String,
    #[command(flatten)]
    browser: BrowserArgs,
}

/// How an interactive sign-in reaches the user (`connect`, `bridge --sign-in`).
#[derive(Debug, clap::Args)]
pub(super) struct BrowserArgs {
    /// Print the sign-in URL on stderr instead of opening the browser (SSH, headless).
    #[arg(long)]
    no_browser: bool,
    /// Give up when sign-in is not finished within this many seconds.
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    timeout: u64,
}

impl BrowserArgs {
    pub(super) fn browser(&self) -> Browser {
        if self.no_browser {
            Browser::Print
        } else {
            Browser::Open
        }
    }

    pub(super) fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout)
    }
}

pub(super) fn run(a: Args) -> Result<()> {
    let ctx = super::context()?;
    let report = super::stderr_reporter();
    let opts = Options {
        browser: a.browser.browser(),
        timeout: a.browser.timeout(),
        cancel: None,
        report: &report,
    };
    let message = signin::connect(
        &ctx.paths,
        &ctx.audit,
        || ctx.vault(),
        &a.server,
        &opts,
        &super::now(),
    )?;
    eprintln!("{message}");
    Ok(())
}
