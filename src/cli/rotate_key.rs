//! `keybroker rotate-key <server-id>`: a new signing key for a `private_key_jwt` client.
//! The public key (JWKS) goes to stdout to be registered; the old key is gone.

use keybroker::Result;
use keybroker::ops::remote;

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The server, e.g. `claude-desktop/ci-tools`.
    server: String,
}

pub(super) fn run(a: Args) -> Result<()> {
    let ctx = super::context()?;
    let vault = ctx.vault()?;
    let jwks = remote::rotate_key(&ctx.paths, &vault, &ctx.audit, &a.server, &super::now())?;
    eprintln!(
        "{}: new signing key; register this public key with the authorization server (tokens already issued stay valid until they expire):",
        a.server
    );
    println!("{jwks:#}");
    Ok(())
}
