//! `keybroker`: the command line. Parsing and dispatch only; the work is in the library.

mod cli;

use clap::Parser;

fn main() {
    // `run` and the relay skip the CLI parser (see `cli::without_parser`).
    let result = match cli::without_parser() {
        Some(result) => result,
        None => cli::dispatch(cli::Cli::parse()),
    };
    if let Err(err) = result {
        // The message, then the remedy on its own line.
        eprintln!("keybroker: error: {err}");
        if let Some(fix) = err.fix() {
            eprintln!("  fix: {fix}");
        }
        std::process::exit(err.exit_code());
    }
}
