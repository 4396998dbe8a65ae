//! `keybroker add <host> <name> --url URL`: add a remote server through the bridge;
//! `keybroker add <host> <name> [--secret ENV]... -- COMMAND [ARGS]...`: add a stdio server
//! whose secrets go straight into the keychain (`ops::add::add_stdio`, as the app's form).

use std::path::PathBuf;

use keybroker::config::hosts::Host;
use keybroker::oauth::grants::{JwtSource, MachineGrant};
use keybroker::ops::remote::{self, AddRequest, HeaderSecret, KeySource, MachineClient};
use keybroker::{Error, Result};

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The host whose config gets the entry, e.g. `claude-desktop` (`keybroker hosts
    /// --supported` lists them).
    host: String,
    /// The server's name in that config.
    name: String,
    /// The server's Streamable HTTP endpoint (https; http only on loopback).
    #[arg(long, required_unless_present = "command")]
    url: Option<String>,
    /// A stdio server instead: the program and its arguments, after `--`
    /// (e.g. `-- npx -y @modelcontextprotocol/server-github`).
    #[arg(last = true, value_name = "COMMAND", conflicts_with_all = REMOTE_ONLY)]
    command: Vec<String>,
    /// With a stdio server: an environment variable that holds a secret. Its value is read
    /// from a hidden prompt, or (stdin not a terminal) one line of stdin per --secret, in
    /// order; it goes straight into the keychain. Repeat for each secret.
    #[arg(long, value_name = "ENV", requires = "command")]
    secret: Vec<String>,
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
    /// A machine client: tokens from the client credentials grant, no browser. The client
    /// authenticates with --client-secret-stdin or --private-key-jwt.
    #[arg(long, requires = "client_id", conflicts_with_all = ["header", "workload_jwt_file", "workload_jwt_command", "idp"])]
    client_credentials: bool,
    /// The client authenticates with a signing key (`private_key_jwt`): Keybroker makes
    /// one, keeps it in the keychain and prints its public key (JWKS) to register.
    #[arg(long, requires = "client_id", conflicts_with = "client_secret_stdin")]
    private_key_jwt: bool,
    /// With --private-key-jwt: read the PEM private key the authorization server issued
    /// from stdin instead of making one.
    #[arg(long, requires = "private_key_jwt")]
    private_key_stdin: bool,
    /// Workload identity: tokens from the JWT bearer grant with the JWT in this file
    /// (read each time a token is needed).
    #[arg(long, value_name = "PATH", requires = "client_id", conflicts_with_all = ["header", "workload_jwt_command", "idp"])]
    workload_jwt_file: Option<PathBuf>,
    /// Workload identity: the JWT is what this command prints (run without a shell;
    /// arguments separated by spaces).
    #[arg(long, value_name = "CMD", requires = "client_id", conflicts_with_all = ["header", "idp"])]
    workload_jwt_command: Option<String>,
    /// Enterprise-managed authorization: tokens by token exchange at this IdP (set up
    /// with `keybroker idp add`) and the JWT bearer grant; no browser per server.
    #[arg(
        long,
        value_name = "NAME",
        requires = "client_id",
        conflicts_with = "header"
    )]
    idp: Option<String>,
    /// Replace an existing entry with the same name.
    #[arg(long)]
    replace: bool,
    /// Run the bridge without the tool guard (no tool policy, no pins).
    #[arg(long)]
    no_guard: bool,
}

/// The options that only mean something for a remote server.
const REMOTE_ONLY: &[&str] = &[
    "url",
    "allow_http",
    "header",
    "client_id",
    "client_secret_stdin",
    "issuer",
    "client_metadata_url",
    "proxy",
    "client_credentials",
    "private_key_jwt",
    "private_key_stdin",
    "workload_jwt_file",
    "workload_jwt_command",
    "idp",
    "replace",
];

pub(super) fn run(a: Args) -> Result<()> {
    let Some(url) = a.url.clone() else {
        return add_stdio(a);
    };
    let ctx = super::context()?;
    let host = Host::parse(&a.host)?;
    let config = super::config_for(&ctx, host, a.config.as_deref())?;
    let launcher = ctx.launcher()?.to_path_buf();
    let vault = ctx.vault()?;
    if a.header.is_some() && a.client_secret_stdin {
        return Err(Error::other(
            "--header and --client-secret-stdin both read stdin",
            "add the server with one of them, then set the other with another command",
        ));
    }
    if a.client_credentials && !a.client_secret_stdin && !a.private_key_jwt {
        return Err(Error::other(
            "--client-credentials needs the way the client authenticates",
            "add --client-secret-stdin (a client secret) or --private-key-jwt (a signing key)",
        ));
    }
    if a.private_key_jwt && !a.client_credentials {
        return Err(Error::other(
            "--private-key-jwt is for machine clients",
            "add --client-credentials",
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
    let grant = if a.client_credentials {
        Some(MachineGrant::ClientCredentials)
    } else if let Some(p) = &a.workload_jwt_file {
        Some(MachineGrant::WorkloadJwt {
            source: JwtSource::File(p.to_string_lossy().into_owned()),
        })
    } else if let Some(cmd) = &a.workload_jwt_command {
        Some(MachineGrant::WorkloadJwt {
            source: JwtSource::Command(cmd.split_whitespace().map(str::to_string).collect()),
        })
    } else {
        a.idp
            .as_ref()
            .map(|idp| MachineGrant::Enterprise { idp: idp.clone() })
    };
    let machine = match grant {
        None => None,
        Some(grant) => {
            let key = match (a.private_key_jwt, a.private_key_stdin) {
                (false, _) => None,
                (true, false) => Some(KeySource::Generate),
                (true, true) => Some(KeySource::Pem(super::read_secret("PEM private key: ")?)),
            };
            Some(MachineClient { grant, key })
        }
    };
    let now = super::now();
    let req = AddRequest {
        host,
        config_path: &config,
        name: &a.name,
        url: &url,
        allow_http: a.allow_http,
        launcher: &launcher,
        headers,
        client,
        issuer: a.issuer.as_deref(),
        client_metadata_url: a.client_metadata_url.as_deref(),
        proxy: a.proxy.as_deref(),
        machine,
        replace: a.replace,
        now: &now,
    };
    let remote::Added { id, jwks } = remote::add(&req, &ctx.paths, &vault, &ctx.audit)?;
    if a.no_guard {
        unguard(&ctx, &id, &now)?;
    }
    eprintln!(
        "added {id}: {} now starts it with `keybroker bridge {id}`",
        config.display()
    );
    if let Some(jwks) = jwks {
        eprintln!(
            "register this public key with the authorization server for client {} (its private half stays in the keychain):",
            a.client_id.as_deref().unwrap_or_default()
        );
        println!("{jwks:#}");
    }
    // A server keyed by a header or by its URL has nothing to sign in to.
    let state = keybroker::store::state::State::load(&ctx.paths)?;
    let signs_in = state
        .server(&id)?
        .remote
        .as_ref()
        .is_some_and(|r| r.oauth_credential.is_some());
    if req_is_machine(&a) {
        eprintln!(
            "next: `keybroker connect {id}` gets its first token now (no browser), or the bridge does when the host starts it"
        );
    } else if signs_in {
        eprintln!("next: run `keybroker connect {id}` to sign in");
    }
    Ok(())
}

fn req_is_machine(a: &Args) -> bool {
    a.client_credentials
        || a.workload_jwt_file.is_some()
        || a.workload_jwt_command.is_some()
        || a.idp.is_some()
}

/// `keybroker add <host> <name> [--secret ENV]... -- COMMAND [ARGS]...`.
fn add_stdio(a: Args) -> Result<()> {
    let mut ctx = super::context()?;
    let host = Host::parse(&a.host)?;
    if let Some(path) = &a.config {
        ctx = ctx.with_config(host, path.clone());
    }
    let Some((command, args)) = a.command.split_first() else {
        return Err(Error::other(
            "no server given",
            "add --url URL (a remote server) or `-- COMMAND [ARGS]...` (a stdio server)",
        ));
    };
    for env in &a.secret {
        keybroker::ops::secrets::check_env_name(env)?;
    }
    let values = super::read_env_secrets(&a.secret)?;
    let secrets: Vec<_> = a.secret.iter().cloned().zip(values).collect();
    let brokered = !secrets.is_empty();
    let now = super::now();
    let req = keybroker::ops::add::StdioServer {
        host,
        name: &a.name,
        command,
        args,
        secrets,
    };
    let id = keybroker::ops::add::add_stdio(&ctx, req, &now)?;
    let config = ctx.config_for(host)?;
    if !brokered {
        eprintln!(
            "added {id} to {}; it has no secrets, so it starts as it is (store one with `keybroker secret set {id} ENV`)",
            config.display()
        );
        return Ok(());
    }
    if a.no_guard {
        unguard(&ctx, &id, &now)?;
    }
    eprintln!(
        "added {id}: {} now starts it with `keybroker run`, its secrets from the keychain",
        config.display()
    );
    Ok(())
}

/// `--no-guard`: the server just added runs without the tool guard.
fn unguard(ctx: &super::Context, id: &str, now: &str) -> Result<()> {
    keybroker::ops::tools::change(ctx, id, &keybroker::ops::tools::Change::Guarded(false), now)
        .map(drop)
}
