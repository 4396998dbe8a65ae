//! `keybroker`: the command line. Parsing and dispatch only; the work is in the library.

mod cli;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    if let Err(err) = cli::dispatch(args) {
        eprintln!("keybroker: error: {err}");
        std::process::exit(err.exit_code());
    }
}
