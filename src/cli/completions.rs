//! `keybroker completions <shell>` (hidden): completions generated from the CLI's own
//! definition, so they never fall behind it. The packages install them for bash, zsh
//! and fish.

use clap::CommandFactory;
use keybroker::Result;

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The shell to complete for.
    shell: clap_complete::Shell,
}

pub(super) fn run(a: Args) -> Result<()> {
    let mut cmd = super::Cli::command();
    clap_complete::generate(a.shell, &mut cmd, "keybroker", &mut std::io::stdout());
    Ok(())
}
