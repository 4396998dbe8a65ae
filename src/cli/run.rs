//! `keybroker run <server-id> --binding <id> -- <cmd> [args...]`: the launcher. Nothing on
//! stdout.

use std::ffi::OsString;

use keybroker::Result;
use keybroker::ops::{launch, relay, spawn};
use keybroker::store::state::{Server, State};

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The server's id, `<host>/<name>` (as written into the host's config by import).
    server_id: String,
    /// The binding id import wrote into the entry (ties the entry to its file).
    #[arg(long, value_name = "ID")]
    binding: Option<String>,
    /// The server's own command and arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

impl Args {
    /// `<server-id> [--binding <id>] -- <command> [args...]`, exactly as import writes it;
    /// `None` for anything else (the CLI parser then reads it, with its help and errors).
    pub(super) fn from_plain(args: Vec<OsString>) -> Option<Args> {
        let mut it = args.into_iter();
        let server_id = it.next()?.into_string().ok()?;
        if server_id.starts_with('-') {
            return None;
        }
        let mut binding = None;
        loop {
            let a = it.next()?;
            if a == "--" {
                break;
            }
            if a == "--binding" && binding.is_none() {
                binding = Some(it.next()?.into_string().ok()?);
            } else {
                return None;
            }
        }
        let command: Vec<OsString> = it.collect();
        if command.is_empty() {
            return None;
        }
        Some(Args {
            server_id,
            binding,
            command,
        })
    }
}

pub(super) fn run(a: Args) -> Result<()> {
    let mut ctx = super::context()?;
    // Runs on every server start: the head gets its MAC, the keychain anchor no write.
    ctx.audit = ctx.audit.mac_only();
    let command = launch::utf8_args(a.command)?;
    let state = State::load(&ctx.paths)?;
    #[cfg(unix)]
    if state
        .servers
        .get(&a.server_id)
        .is_some_and(|s| s.guard.is_some())
    {
        relay::block_forwarded_signals();
    }
    let vault = ctx.vault()?;
    let req = launch::Request {
        server_id: &a.server_id,
        binding: a.binding.as_deref(),
        command: &command,
    };
    let launch = launch::prepare(
        &ctx.paths,
        &state,
        &vault,
        &ctx.audit,
        &req,
        &spawn::Process::current(),
        &super::now(),
    )?;
    // The keychain session is closed before the server runs: the launcher keeps none of
    // its connections, threads or buffers while it relays.
    drop(vault);
    for note in &launch.notes {
        eprintln!("keybroker: note: {note}");
    }
    let mut launch = launch;
    match launch.guarded.take() {
        None => Err(launch::exec(launch)),
        Some(server) => guarded(&ctx, launch, &server),
    }
}

/// Start the server as a child and become the relay (a fresh image of this binary).
#[cfg(unix)]
fn guarded(ctx: &super::Context, launch: launch::Launch, server: &Server) -> Result<()> {
    let exe = std::env::current_exe().map_err(|e| {
        keybroker::Error::other(
            format!("cannot find the keybroker binary's path: {e}"),
            "run keybroker by its full path",
        )
    })?;
    // The key the `released` append sealed the head with: the relay seals its tool events
    // with it and opens no keychain session.
    let key = ctx.audit.mac_key();
    Err(launch::relay(launch, &exe, &server.id, key.as_ref()))
}

#[cfg(not(unix))]
fn guarded(ctx: &super::Context, launch: launch::Launch, server: &Server) -> Result<()> {
    let session = relay::GuardSession::open(&ctx.paths, &ctx.audit, server, super::now);
    let code = launch::relay(launch, &session)?;
    std::process::exit(code)
}

/// `keybroker __relay <server-id> <pid> <to-server-fd> <from-server-fd> <key-fd|->`: what a guarded
/// `keybroker run` execs into once its server runs (never typed by a person; read by
/// [`RelayArgs::from_positional`], not by the CLI parser).
#[derive(Debug)]
pub(super) struct RelayArgs {
    server_id: String,
    pid: u32,
    to_server: i32,
    from_server: i32,
    /// The descriptor holding the audit head's MAC key (`-`: none, the relay reads it
    /// from the keychain if it needs it).
    mac_key_fd: Option<i32>,
}

impl RelayArgs {
    /// The four arguments `keybroker run` writes, in order (the parser-free path,
    /// `cli::relay_without_parser`).
    pub(super) fn from_positional(args: &[OsString]) -> Result<RelayArgs> {
        let bad = || {
            keybroker::Error::other(
                "`__relay` takes <server-id> <pid> <to-server-fd> <from-server-fd> <key-fd|->",
                "`__relay` is started by `keybroker run` only",
            )
        };
        let [server_id, pid, to_server, from_server, key] = args else {
            return Err(bad());
        };
        let text = |a: &OsString| a.to_str().map(str::to_owned).ok_or_else(bad);
        Ok(RelayArgs {
            server_id: text(server_id)?,
            pid: text(pid)?.parse().map_err(|_| bad())?,
            to_server: text(to_server)?.parse().map_err(|_| bad())?,
            from_server: text(from_server)?.parse().map_err(|_| bad())?,
            mac_key_fd: match text(key)?.as_str() {
                "-" => None,
                fd => Some(fd.parse().map_err(|_| bad())?),
            },
        })
    }
}

#[cfg(unix)]
pub(super) fn relay_main(a: RelayArgs) -> Result<()> {
    let mut ctx = super::context()?;
    // Part of the launcher (one per guarded server): MAC only, as in `run`.
    ctx.audit = ctx.audit.mac_only();
    if let Some(fd) = a.mac_key_fd {
        ctx.audit = ctx.audit.with_mac_key(relay::take_handed_key(fd)?);
    }
    let state = State::load(&ctx.paths)?;
    let server = state.server(&a.server_id)?;
    let session = relay::GuardSession::open(&ctx.paths, &ctx.audit, server, super::now);
    drop(state);
    let code = relay::run_adopted(a.pid, a.to_server, a.from_server, &session)?;
    std::process::exit(code)
}

#[cfg(not(unix))]
pub(super) fn relay_main(_a: RelayArgs) -> Result<()> {
    Err(keybroker::Error::other(
        "`__relay` is only used on Unix",
        "start servers with `keybroker run`",
    ))
}
