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
    // The keychain's connection and key exchange run while this thread checks the
    // request (after the signal mask above, which its threads inherit).
    let vault = ctx.vault_in_background();
    let req = launch::Request {
        server_id: &a.server_id,
        binding: a.binding.as_deref(),
        command: &command,
    };
    // The keychain session lives on only in the audit log's anchor (for the head's MAC)
    // until the exec: into the server, or into the relay, which keeps none of its
    // connections, threads or buffers.
    let launch = launch::prepare(
        &ctx.paths,
        &state,
        || vault.wait(),
        &ctx.audit,
        &req,
        &spawn::Process::current(),
        &super::now(),
    )?;
    for note in &launch.notes {
        eprintln!("keybroker: note: {note}");
    }
    let mut launch = launch;
    match launch.guarded.take() {
        None => Err(launch::exec(launch)),
        Some(server) => guarded(&ctx, launch, &server),
    }
}

/// Start the server as a child and become the relay (`keybroker-relay` beside this
/// binary, else a fresh image of this binary).
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
    let program = relay::relay_program(&exe);
    Err(launch::relay(launch, &program, &server.id, key.as_ref()))
}

#[cfg(not(unix))]
fn guarded(ctx: &super::Context, launch: launch::Launch, server: &Server) -> Result<()> {
    let session = relay::GuardSession::open(&ctx.paths, &ctx.audit, server, super::now);
    let code = launch::relay(launch, &session)?;
    std::process::exit(code)
}

/// `keybroker __relay <server-id> <pid> <to-server-fd> <from-server-fd> <key-fd|->`: what a
/// guarded `keybroker run` execs into when no `keybroker-relay` is installed beside it
/// (never typed by a person; read by [`relay::RelayArgs::from_positional`], not by the CLI
/// parser).
#[cfg(unix)]
pub(super) fn relay_main(args: &[OsString]) -> Result<()> {
    let a = relay::RelayArgs::from_positional(args)?;
    let code = relay::relay_main(&a, super::now)?;
    std::process::exit(code)
}

#[cfg(not(unix))]
pub(super) fn relay_main(_args: &[OsString]) -> Result<()> {
    Err(keybroker::Error::other(
        "`__relay` is only used on Unix",
        "start servers with `keybroker run`",
    ))
}
