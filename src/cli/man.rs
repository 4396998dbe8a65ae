//! `keybroker man --dir DIR` (hidden): man pages generated from the CLI's own definition
//! (`keybroker.1` and one `keybroker-<command>.1` per command). The packages install
//! them.

use std::path::PathBuf;

use clap::CommandFactory;
use keybroker::{Error, Result};

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// Where to write the pages (created if missing).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
}

pub(super) fn run(a: Args) -> Result<()> {
    std::fs::create_dir_all(&a.dir).map_err(|e| Error::io(&a.dir, e))?;
    clap_mangen::generate_to(super::Cli::command(), &a.dir).map_err(|e| Error::io(&a.dir, e))?;
    Ok(())
}
