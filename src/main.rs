//! `keybroker`: the command line. Parsing and dispatch only; the work is in the library.

mod cli;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    if let Err(err) = cli::dispatch(args) {
        // The message, then the remedy on its own line.
        eprintln!("keybroker: error: {err}");
        if let Some(fix) = err.fix() {
            eprintln!("  fix: {fix}");
        }
        std::process::exit(err.exit_code());
    }
}
