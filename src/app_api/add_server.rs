//! Add server, from the app: to any detected host, a remote server by URL (then Sign in,
//! the same flow as the Servers view's) or a stdio server by command, its secrets typed
//! into masked fields and stored straight into the keychain.
//!
//! Both are one call into `ops` (`remote::add`, `add::add_stdio`), the functions the
//! CLI's `add` uses, so the app and the terminal add servers the same way.

use serde::{Deserialize, Serialize};

use crate::base::error::{Error, Result};
use crate::base::secret::Secret;
use crate::config::hosts::Host;
use crate::ops::add::{self, StdioServer};
use crate::ops::context::Context;
use crate::ops::remote::{self, AddRequest};
use crate::store::state::State;

/// What the Add server form sends (secrets travel separately, as typed values).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum NewServer {
    /// A remote (Streamable HTTP) server, reached through `keybroker bridge`.
    Remote {
        host: String,
        name: String,
        url: String,
    },
    /// A stdio server: the program and its arguments, one per item.
    Stdio {
        host: String,
        name: String,
        command: String,
        args: Vec<String>,
    },
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AddedServer {
    pub id: String,
    /// The server signs in with OAuth: the UI starts Sign in next.
    pub needs_sign_in: bool,
    pub message: String,
}

fn host_of(id: &str) -> Result<Host> {
    Host::parse(id).map_err(|e| {
        Error::other(
            format!("Host: {e}"),
            "pick one of the hosts Keybroker found on this machine",
        )
    })
}

/// Add `server` (with `secrets` for a stdio server's env vars).
pub fn add_server(
    ctx: &Context,
    server: &NewServer,
    secrets: Vec<(String, Secret)>,
    now: &str,
) -> Result<AddedServer> {
    match server {
        NewServer::Remote { host, name, url } => {
            let host = host_of(host)?;
            add::check_server_name(name)?;
            if url.trim().is_empty() {
                return Err(Error::other(
                    "URL: empty",
                    "paste the server's https:// address, e.g. https://mcp.example.com/mcp",
                ));
            }
            if !secrets.is_empty() {
                return Err(Error::other(
                    "a remote server added here signs in with OAuth; it takes no typed secret",
                    "add it without secrets, then Sign in",
                ));
            }
            // The same check `remote::add` makes, worded for the form's URL field.
            crate::net::parse_server_url(url, false).map_err(|e| {
                Error::other(
                    format!("URL: {e}"),
                    e.fix().unwrap_or_else(|| "check the address".into()),
                )
            })?;
            let config = ctx.config_for(host)?;
            let launcher = ctx.launcher()?.to_path_buf();
            let vault = ctx.vault()?;
            let req = AddRequest {
                host,
                config_path: &config,
                name,
                url,
                allow_http: false,
                launcher: &launcher,
                headers: Vec::new(),
                client: None,
                issuer: None,
                client_metadata_url: None,
                proxy: None,
                machine: None,
                replace: false,
                now,
            };
            let added = remote::add(&req, &ctx.paths, &vault, &ctx.audit)?;
            let state = State::load(&ctx.paths)?;
            let needs_sign_in = state
                .server(&added.id)?
                .remote
                .as_ref()
                .is_some_and(|r| r.oauth_credential.is_some());
            Ok(AddedServer {
                message: format!(
                    "Added {} to {}.{}",
                    added.id,
                    config.display(),
                    if needs_sign_in {
                        " Sign in to use it."
                    } else {
                        ""
                    }
                ),
                id: added.id,
                needs_sign_in,
            })
        }
        NewServer::Stdio {
            host,
            name,
            command,
            args,
        } => {
            let host = host_of(host)?;
            let n = secrets.len();
            let id = add::add_stdio(
                ctx,
                StdioServer {
                    host,
                    name,
                    command,
                    args,
                    secrets,
                },
                now,
            )?;
            Ok(AddedServer {
                message: format!(
                    "Added {id} to {}{}. Restart the host to start it.",
                    ctx.config_for(host)?.display(),
                    if n > 0 {
                        format!("; {n} secret(s) stored in the keychain")
                    } else {
                        String::new()
                    }
                ),
                id,
                needs_sign_in: false,
            })
        }
    }
}
