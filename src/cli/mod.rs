//! Command-line definitions and the context every subcommand shares.

mod add;
mod approve;
mod audit;
mod bridge;
mod completions;
mod connect;
mod doctor;
mod hosts;
mod idp;
mod import;
mod man;
mod repair;
mod restore;
mod rotate_key;
mod run;
mod secret;
mod servers;
mod tools;
mod watch;

use std::io::{IsTerminal, Read, Write};

use clap::{Parser, Subcommand};
use keybroker::base::report::Reporter;
use keybroker::{Error, Result, Secret};

const ABOUT: &str = "Keep MCP servers' secrets in the OS keychain and hand them to each server only when its host starts it.";

const LONG_ABOUT: &str = "\
Keep MCP servers' secrets in the OS keychain and hand them to each server only when its host starts it.

Typical use:
  keybroker import claude-desktop --dry-run   # see which plaintext secrets would move, values masked
  keybroker import claude-desktop             # move them to the keychain and rewrite the config
  keybroker hosts                             # every host config found, with plaintext counts
  keybroker import --all                      # every host's files in one plan
  keybroker watch                             # report when a host drops or changes an entry
  keybroker repair                            # point entries at this keybroker after it moved
  keybroker doctor                            # what needs fixing, and how
  keybroker servers                           # every server and its status
  keybroker audit                             # which server received which credential, and when

Hosts then start each server as `keybroker run <server-id> --binding <id> -- <original
command>`; the launcher checks that it was started from the entry import wrote, that the
whole spawn (program, args, env values, cwd, other keys) is the one you approved and that
its own process matches it, adds the server's secrets to its environment, removes
inherited code-injection variables, records a `released` audit event and starts it.

Files: state and audit live in the platform's config/data dirs (or under $KEYBROKER_HOME).
Exit codes: 0 ok, 1 other error, 64 usage/unknown server, 65 bad config file,
69 keychain unavailable, 74 I/O error, 75 config changed during the edit (re-run),
77 denied (changed command, no approval), 78 a state or data dir others can write
or do not own, or a symlink planted at one of Keybroker's files (the fix says what to run).";

#[derive(Debug, Parser)]
#[command(name = "keybroker", version, about = ABOUT, long_about = LONG_ABOUT)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Move plaintext secrets from a host's config into the keychain and rewrite its entries.
    Import(import::Args),
    /// Start a server with its secrets (hosts run this; you rarely do).
    Run(run::Args),
    /// List every server in the known host configs, with its status.
    Servers(servers::Args),
    /// Set (or rotate) and remove a server's secrets.
    #[command(subcommand)]
    Secret(secret::Command),
    /// Approve a server's changed command so it gets its secrets again.
    Approve(approve::Args),
    /// Show the audit log, or verify its hash chain.
    Audit(audit::Args),
    /// Give a host its original entries back (undo import).
    Restore(restore::Args),
    /// Every detected host config file, with servers, brokered, plaintext and drift counts
    /// (`--supported`: every supported host's files, found or not).
    Hosts(hosts::Args),
    /// Watch every host config file and report drift as it happens.
    Watch(watch::Args),
    /// Point the entries Keybroker wrote at this installation's launcher (after it moved).
    Repair(repair::Args),
    /// Check the keychain, launcher paths, host files, approvals, sign-ins and the audit
    /// chain; say what to fix (exit 1 when something needs you).
    Doctor(doctor::Args),
    /// Print shell completions (bash, zsh, fish) for keybroker (packaging uses it).
    #[command(hide = true)]
    Completions(completions::Args),
    /// Write keybroker's man pages into a directory (packaging uses it).
    #[command(hide = true)]
    Man(man::Args),
    /// Add a server to a host: a remote (HTTP) one by URL, reached through `keybroker
    /// bridge`, or a stdio one by command (`-- COMMAND ARGS...`) with its secrets in the
    /// keychain.
    Add(Box<add::Args>),
    /// Sign in to a remote server (OAuth in the browser); tokens go to the keychain.
    Connect(connect::Args),
    /// Carry MCP between a host (stdio) and a remote server (hosts run this).
    Bridge(bridge::Args),
    /// A new signing key for a server's `private_key_jwt` client (prints its public key).
    RotateKey(rotate_key::Args),
    /// An organisation's identity provider, for enterprise-managed authorization.
    #[command(subcommand)]
    Idp(idp::Command),
    /// A guarded server's tools: list them, set its tool policy, approve held tools.
    Tools(tools::Args),
}

pub(crate) fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Import(a) => import::run(a),
        Command::Run(a) => run::run(a),
        Command::Servers(a) => servers::run(a),
        Command::Secret(c) => secret::run(c),
        Command::Approve(a) => approve::run(a),
        Command::Audit(a) => audit::run(a),
        Command::Restore(a) => restore::run(a),
        Command::Hosts(a) => hosts::run(a),
        Command::Watch(a) => watch::run(a),
        Command::Repair(a) => repair::run(a),
        Command::Doctor(a) => doctor::run(a),
        Command::Completions(a) => completions::run(a),
        Command::Man(a) => man::run(a),
        Command::Add(a) => add::run(*a),
        Command::Connect(a) => connect::run(a),
        Command::Bridge(a) => bridge::run(a),
        Command::RotateKey(a) => rotate_key::run(a),
        Command::Idp(c) => idp::run(c),
        Command::Tools(a) => tools::run(a),
    }
}

/// The two commands every server start runs, read without the CLI parser: building
/// clap's command tree (every subcommand, its help text) costs about as much as the rest
/// of starting the process, and `keybroker run` is on every server spawn while
/// `keybroker __relay` lives as long as its server. `None`: anything else, and any `run`
/// that is not the plain form hosts use (`--help`, an unknown option, a missing `--`),
/// which goes through the parser for its usual help and errors.
pub(crate) fn without_parser() -> Option<Result<()>> {
    let mut args = std::env::args_os().skip(1);
    let first = args.next()?;
    if first == "__relay" {
        let rest: Vec<std::ffi::OsString> = args.collect();
        return Some(run::relay_main(&rest));
    }
    if first == "run" {
        let rest: Vec<std::ffi::OsString> = args.collect();
        return run::Args::from_plain(rest).map(run::run);
    }
    None
}

/// What every subcommand hands the service layer (`keybroker::ops`).
pub(crate) use keybroker::ops::Context;

/// The host file a command works on: `--config PATH` when given, else the context's
/// (a `KEYBROKER_CONFIG_<HOST>` override, else the host's usual file).
pub(crate) fn config_for(
    ctx: &Context,
    host: keybroker::config::hosts::Host,
    flag: Option<&std::path::Path>,
) -> Result<std::path::PathBuf> {
    match flag {
        Some(p) => Ok(p.to_path_buf()),
        None => ctx.config_for(host),
    }
}

/// The context of a CLI command. The launcher is always this binary (canonical path),
/// never `KEYBROKER_LAUNCHER` from the environment: an inherited variable must not make
/// import write another program into entries, or make drift checks accept it.
pub(crate) fn context() -> Result<Context> {
    let exe = std::env::current_exe().map_err(|e| {
        Error::other(
            format!("cannot find the keybroker binary's path: {e}"),
            "run keybroker by its full path",
        )
    })?;
    let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
    Ok(Context::discover()?.with_launcher(exe))
}

/// What the library has to tell the user while it works goes to stderr (stdout belongs to
/// the server's MCP channel in `run` and `bridge`, and to results elsewhere).
pub(crate) fn stderr_reporter() -> Reporter {
    Reporter::new(|text| eprintln!("{text}"))
}

/// The current time, RFC 3339 UTC: read once per command and passed down.
pub(crate) fn now() -> String {
    keybroker::base::clock::now_rfc3339()
}

/// Ask before changing things: `--yes` skips it; without a terminal it is an error.
pub(crate) fn confirm(question: &str, yes: bool) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::other(
            "not applied: there is no terminal to confirm on",
            "review the plan above, then run the same command with --yes",
        ));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Error::io("stdin", e))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// A secret from a hidden prompt (terminal) or from stdin (pipes, scripts).
/// The value of each env var in `envs`: a hidden prompt each on a terminal, else one line
/// of stdin each, in order (`keybroker add ... --secret A --secret B` with two lines piped
/// in). A single one reads stdin whole, as `read_secret`.
pub(crate) fn read_env_secrets(envs: &[String]) -> Result<Vec<Secret>> {
    let prompt = |env: &str| format!("Value for {env} (input hidden): ");
    if envs.len() < 2 {
        return envs.iter().map(|env| read_secret(&prompt(env))).collect();
    }
    let terminal = std::io::stdin().is_terminal();
    let mut lines = std::io::stdin().lock();
    let mut out = Vec::with_capacity(envs.len());
    for env in envs {
        let value = if terminal {
            rpassword::prompt_password(prompt(env)).map_err(|e| Error::io("terminal", e))?
        } else {
            let mut line = String::new();
            std::io::BufRead::read_line(&mut lines, &mut line)
                .map_err(|e| Error::io("stdin", e))?;
            let v = line.trim_end_matches(['\n', '\r']).to_string();
            zeroize::Zeroize::zeroize(&mut line);
            v
        };
        let secret = Secret::new(value);
        if secret.is_empty() {
            return Err(Error::other(
                format!("no value given for {env}"),
                "type each value, or pipe one line per --secret, in the order given",
            ));
        }
        out.push(secret);
    }
    Ok(out)
}

pub(crate) fn read_secret(prompt: &str) -> Result<Secret> {
    let value = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).map_err(|e| Error::io("terminal", e))?
    } else {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Error::io("stdin", e))?;
        let trimmed = s
            .strip_suffix('\n')
            .map(|t| t.strip_suffix('\r').unwrap_or(t));
        let v = trimmed.unwrap_or(&s).to_string();
        zeroize::Zeroize::zeroize(&mut s);
        v
    };
    let secret = Secret::new(value);
    if secret.is_empty() {
        return Err(Error::other(
            "no value given",
            "type or pipe the secret's value (it is read from stdin when stdin is not a terminal)",
        ));
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `run` was given, as the parser reads it.
    fn parsed(argv: &[&str]) -> Option<String> {
        let mut full = vec!["keybroker", "run"];
        full.extend_from_slice(argv);
        match Cli::try_parse_from(full).ok()?.command {
            Command::Run(a) => Some(format!("{a:?}")),
            _ => None,
        }
    }

    #[test]
    fn the_parser_free_run_reads_exactly_what_the_parser_reads_or_leaves_it_to_the_parser() {
        let cases: &[&[&str]] = &[
            &[
                "claude-desktop/x",
                "--binding",
                "ab12",
                "--",
                "node",
                "s.js",
                "--port",
                "1",
            ],
            &["claude-desktop/x", "--", "npx", "-y", "pkg"],
            &[
                "claude-desktop/x",
                "--binding",
                "ab12",
                "--",
                "sh",
                "--",
                "-c",
            ],
            &["claude-desktop/x", "--binding=ab12", "--", "node"],
            &["claude-desktop/x", "--binding", "ab12", "node"],
            &["claude-desktop/x", "--binding", "ab12", "--"],
            &["--help"],
            &["claude-desktop/x", "--help", "--", "node"],
            &[
                "claude-desktop/x",
                "--binding",
                "a",
                "--binding",
                "b",
                "--",
                "node",
            ],
            &[],
        ];
        let mut plain = 0;
        for argv in cases {
            let owned: Vec<std::ffi::OsString> = argv.iter().map(Into::into).collect();
            // None: left to the parser, whatever it makes of it (help, an error, or the
            // same command in a form the plain reader does not take).
            if let Some(a) = run::Args::from_plain(owned) {
                plain += 1;
                assert_eq!(Some(format!("{a:?}")), parsed(argv), "{argv:?}");
            }
        }
        assert_eq!(
            plain, 3,
            "the plain forms (with and without --binding) are read without the parser"
        );
    }
}
