//! `keybroker add <host> <name> --url URL`: add a remote server through the bridge.

use std::path::PathBuf;

use keybroker::config::hosts::Host;
use keybroker::ops::remote::{self, AddRequest, HeaderSecret};
use keybroker::{Error, Result};

use super::Ctx;

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The host whose config gets the entry: `claude-desktop`.
    host: String,
    /// The server's name in that config.
    name: String,
    /// The server's Streamable HTTP endpoint (https; http only on loopback).
    #[arg(long)]
    url: String,
    /// The config file (default: the host's usual location on this OS).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Allow plain http:// to this (non-loopback) server: tokens travel unencrypted.
    #[arg(long)]
    allow_http: bool,
    /// A static header credential, e.g. `X-API-Key` or `Authorization` (value read from a
    /// hidden prompt or stdin). Servers with a static `Authorization` skip OAuth.
    #[arg(long, value_name = "NAME")]
    header: Option<String>,
    /// A client ID registered by hand with the server's authorization server.
    #[arg(long, value_name = "ID")]
    client_id: Option<String>,
    /// With --client-id: read its client secret from stdin.
    #[arg(long, requires = "client_id")]
    client_secret_stdin: bool,
    /// With --client-id: the issuer of the authorization server it was registered with,
    /// exactly as its metadata names it. The client is never sent to another one
    /// (default: the issuer of the first sign-in).
    #[arg(long, value_name = "URL", requires = "client_id")]
    issuer: Option<String>,
    /// Keybroker's client ID metadata document URL, used where the server supports it.
    #[arg(long, value_name = "URL")]
    client_metadata_url: Option<String>,
    /// Reach this server (sign-in and bridge) through this HTTP proxy, e.g.
    /// `http://proxy.example:3128`; no credentials in it. Without it Keybroker connects
    /// directly and ignores HTTP_PROXY, HTTPS_PROXY and ALL_PROXY.
    #[arg(long, value_name = "URL")]
    proxy: Option<String>,
    /// Replace an existing entry with the same name.
    #[arg(long)]
    replace: bool,
}

pub(super) fn run(a: Args) -> Result<()> {
    let ctx = Ctx::new()?;
    let host = Host::parse(&a.host)?;
    let config = host.locate(a.config.as_deref())?;
    let launcher = super::launcher_path()?;
    let vault = ctx.vault()?;
    if a.header.is_some() && a.client_secret_stdin {
        return Err(Error::other(
            "--header and --client-secret-stdin both read stdin",
            "add the server with one of them, then set the other with another command",
        ));
    }
    let mut headers = Vec::new();
    if let Some(name) = &a.header {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::other(
                format!("`{name}` is not a valid header name"),
                "use letters, digits and dashes",
            ));
        }
        let value = super::read_secret(&format!("Value for header {name}: "))?;
        if let Some(info) = remote::peek_jwt(value.expose()) {
            eprintln!(
                "this token is a JWT (read, not verified): subject {}, audience {}, scopes {}",
                info.sub.as_deref().unwrap_or("-"),
                info.aud.as_deref().unwrap_or("-"),
                info.scope.as_deref().unwrap_or("-")
            );
            if let Some(w) =
                remote::jwt_expiry_warning(&info, keybroker::base::clock::unix_now(), 7)
            {
                eprintln!("{w}; it will need replacing (keybroker add --replace)");
            }
        }
        headers.push(HeaderSecret {
            name: name.clone(),
            value,
        });
    }
    let client = match (&a.client_id, a.client_secret_stdin) {
        (Some(id), true) => Some((id.clone(), Some(super::read_secret("Client secret: ")?))),
        (Some(id), false) => Some((id.clone(), None)),
        _ => None,
    };
    let now = super::now();
    let req = AddRequest {
        host,
        config_path: &config,
        name: &a.name,
        url: &a.url,
        allow_http: a.allow_http,
        launcher: &launcher,
        headers,
        client,
        issuer: a.issuer.as_deref(),
        client_metadata_url: a.client_metadata_url.as_deref(),
        proxy: a.proxy.as_deref(),
        replace: a.replace,
        now: &now,
    };
    let id = remote::add(&req, &ctx.paths, &vault, &ctx.audit)?;
    eprintln!(
        "added {id}: {} now starts it with `keybroker bridge {id}`",
        config.display()
    );
    // A server keyed by a header or by its URL has nothing to sign in to.
    let state = keybroker::store::state::State::load(&ctx.paths)?;
    if state
        .server(&id)?
        .remote
        .as_ref()
        .is_some_and(|r| r.oauth_credential.is_some())
    {
        eprintln!("next: run `keybroker connect {id}` to sign in");
    }
    Ok(())
}
