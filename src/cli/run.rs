//! `keybroker run <server-id> -- <cmd> [args...]`: the launcher. Nothing on stdout.

use std::ffi::OsString;

use keybroker::Result;
use keybroker::ops::launch;
use keybroker::store::state::State;

use super::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The server's id, `<host>/<name>` (as written into the host's config by import).
    server_id: String,
    /// The server's own command and arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

pub fn run(a: Args) -> Result<()> {
    let ctx = Ctx::new()?;
    let command = launch::utf8_args(a.command)?;
    let state = State::load(&ctx.paths)?;
    let vault = ctx.vault()?;
    let launch = launch::prepare(
        &state,
        &vault,
        &ctx.audit,
        &a.server_id,
        &command,
        &super::now(),
        &super::stderr_reporter(),
    )?;
    Err(launch::exec(launch))
}
