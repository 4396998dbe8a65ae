//! `keybroker idp add|list|rm`: an organisation's identity provider for
//! enterprise-managed authorization. Servers added with `--idp <name>` then get tokens
//! by token exchange at it, with no browser trip per server.

use std::path::PathBuf;

use keybroker::ops::idp::{self, AddIdp};
use keybroker::{Error, Result, Secret};

#[derive(Debug, clap::Subcommand)]
pub(super) enum Command {
    /// Set up an IdP: its issuer, Keybroker's client there, and your ID token from it.
    Add {
        /// A name for it, used by `keybroker add --idp <name>`.
        name: String,
        /// The IdP's issuer URL, exactly as its metadata names it.
        #[arg(long, value_name = "URL")]
        issuer: String,
        /// Keybroker's client id at the IdP.
        #[arg(long, value_name = "ID")]
        client_id: String,
        /// Read that client's secret from stdin.
        #[arg(long, conflicts_with = "id_token_stdin")]
        client_secret_stdin: bool,
        /// Read your ID token from the IdP from stdin (from your organisation's sign-in
        /// tool, e.g. the output of its `print-identity-token` command).
        #[arg(long)]
        id_token_stdin: bool,
        /// Read your ID token from this file.
        #[arg(long, value_name = "PATH", conflicts_with = "id_token_stdin")]
        id_token_file: Option<PathBuf>,
        /// Replace an IdP of the same name (a new ID token, another client).
        #[arg(long)]
        replace: bool,
    },
    /// Sign in to an IdP in the browser (authorization code + PKCE): its ID token and
    /// refresh token go to the keychain, and ID tokens are then renewed without a browser.
    Login {
        /// The IdP's name, as given to `idp add`.
        name: String,
        #[command(flatten)]
        browser: super::connect::BrowserArgs,
    },
    /// The IdPs set up, with their issuers.
    List,
    /// Forget an IdP (its keychain item and listing).
    Rm { name: String },
}

pub(super) fn run(c: Command) -> Result<()> {
    let ctx = super::context()?;
    let now = super::now();
    match c {
        Command::Add {
            name,
            issuer,
            client_id,
            client_secret_stdin,
            id_token_stdin,
            id_token_file,
            replace,
        } => {
            let client_secret = if client_secret_stdin {
                Some(super::read_secret("IdP client secret: ")?)
            } else {
                None
            };
            let id_token = match (id_token_stdin, &id_token_file) {
                (true, _) => Some(super::read_secret("ID token: ")?),
                (false, Some(p)) => Some(Secret::new(
                    std::fs::read_to_string(p)
                        .map_err(|e| Error::io(p.display().to_string(), e))?
                        .trim()
                        .to_string(),
                )),
                (false, None) => None,
            };
            let vault = ctx.vault()?;
            let req = AddIdp {
                name: &name,
                issuer: &issuer,
                client_id: &client_id,
                client_secret,
                id_token,
                replace,
                now: &now,
            };
            let endpoint = idp::add(&req, &ctx.paths, &vault, &ctx.audit)?;
            eprintln!(
                "IdP {name} set up (token exchange at {endpoint}); add its organisation's servers with `keybroker add <host> <name> --url <url> --idp {name} --client-id <id>`"
            );
            if !id_token_stdin && id_token_file.is_none() {
                eprintln!("next: sign in to it with `keybroker idp login {name}`");
            }
            Ok(())
        }
        Command::Login { name, browser } => {
            let vault = ctx.vault()?;
            let report = super::stderr_reporter();
            let how = keybroker::oauth::idp::Login {
                browser: browser.browser(),
                timeout: browser.timeout(),
                cancel: None,
                report: &report,
            };
            eprintln!("{}", idp::login(&vault, &ctx.audit, &name, &how, &now)?);
            Ok(())
        }
        Command::List => {
            for i in idp::list(&ctx.paths)? {
                println!("{}\t{}", i.name, i.label);
            }
            Ok(())
        }
        Command::Rm { name } => {
            let vault = ctx.vault()?;
            if idp::remove(&ctx.paths, &vault, &ctx.audit, &name, &now)? {
                eprintln!("IdP {name} removed");
                Ok(())
            } else {
                Err(Error::other(
                    format!("there is no IdP `{name}`"),
                    "see `keybroker idp list`",
                ))
            }
        }
    }
}
