//! `keybroker run <server-id> --binding <id> -- <cmd> [args...]`: the launcher. Nothing on
//! stdout.

use std::ffi::OsString;

use keybroker::Result;
use keybroker::ops::{launch, relay, spawn};
use keybroker::store::state::State;

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

pub(super) fn run(a: Args) -> Result<()> {
    let ctx = super::context()?;
    let command = launch::utf8_args(a.command)?;
    let state = State::load(&ctx.paths)?;
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
        Some(server) => {
            let session = relay::GuardSession::open(&ctx.paths, &ctx.audit, &server, super::now);
            drop(state);
            let code = launch::relay(launch, &session)?;
            std::process::exit(code)
        }
    }
}
