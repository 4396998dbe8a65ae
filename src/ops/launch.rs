//! `keybroker run <server-id> -- <cmd> [args...]`: the launcher hosts spawn.
//!
//! It checks that the command it was asked to run is the one the user approved for that
//! server (command line plus the env names the host config sets), reads only that
//! server's bound secrets from the keychain, records a `released` audit event per secret,
//! and replaces itself with the server (Unix `exec`), adding the secrets to the server's
//! environment and nowhere else. It never writes to stdout: stdout is the server's MCP
//! channel. On any doubt it releases nothing, records `denied` and returns the error
//! (the CLI explains it on stderr and exits non-zero); it prints nothing itself. It does
//! not scan, rewrite, prompt, or talk to the network.

use std::ffi::OsString;
use std::path::Path;

use crate::base::error::{Error, Result};
use crate::base::secret::Secret;
use crate::config::doc::ConfigDoc;
use crate::config::hosts::{self, Entry, Host};
use crate::store::audit::{AuditLog, Event, EventKind, Outcome, Target};
use crate::store::state::{self, Binding, Server, State};
use crate::store::vault::Vault;

/// Everything needed to start the server; secrets only in memory.
pub struct Launch {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, Secret)>,
}

impl std::fmt::Debug for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launch")
            .field("program", &self.program)
            .field("env", &self.env.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Check the request against the approval, read the secrets, audit. The caller execs.
pub fn prepare(
    state: &State,
    vault: &Vault,
    audit: &AuditLog,
    server_id: &str,
    command: &[String],
    now: &str,
) -> Result<Launch> {
    match check(state, server_id, command) {
        Ok(server) => release(server, vault, audit, command, now),
        Err(err) => {
            let mut e = base_event(now, EventKind::Denied, Outcome::Denied, server_id)
                .detail(first_line(&err.to_string()));
            if let Some((host, _)) = server_id.split_once('/') {
                e = e.host(host);
            }
            if let Some(s) = state.servers.get(server_id) {
                e = e.fingerprint(&s.fingerprint);
            }
            // The refusal stands even if the audit cannot be written; its message says so.
            Err(audit.append_refusal(vec![e], err))
        }
    }
}

/// The approval check: known server, same command line, same env names in the config.
pub fn check<'s>(state: &'s State, server_id: &str, command: &[String]) -> Result<&'s Server> {
    let server = state.servers.get(server_id).ok_or_else(|| Error::Denied {
        message: format!("keybroker has no server `{server_id}`; no secrets released"),
        fix: "import the host's config (`keybroker import claude-desktop`) or run `keybroker servers` to see known ids".into(),
    })?;
    if command.is_empty() {
        return Err(Error::Denied {
            message: format!("no command given for `{server_id}`"),
            fix: format!("usage: keybroker run {server_id} -- <command> [args...]"),
        });
    }
    let env_keys = config_env_keys(server)?;
    let fingerprint = state::fingerprint(command, &env_keys);
    if fingerprint != server.fingerprint {
        let mut what = Vec::new();
        if command != server.command.as_slice() {
            what.push(format!(
                "  approved: {}\n  now:      {}",
                shell_words::join(&server.command),
                shell_words::join(command)
            ));
        }
        let mut approved_env = server.env_keys.clone();
        approved_env.sort();
        let mut now_env = env_keys.clone();
        now_env.sort();
        if approved_env != now_env {
            what.push(format!(
                "  approved env names: {}\n  env names now:      {}",
                approved_env.join(", "),
                now_env.join(", ")
            ));
        }
        return Err(Error::Denied {
            message: format!(
                "the command for `{server_id}` changed since you approved it; no secrets released\n{}",
                what.join("\n")
            ),
            fix: format!("if you made this change, run `keybroker approve {server_id}`"),
        });
    }
    // Every placeholder must name a credential bound to this server at that position.
    for (i, arg) in command.iter().skip(1).enumerate() {
        for cred in placeholders(arg) {
            let bound = server
                .bindings
                .iter()
                .any(|b| b.credential == cred && b.target == format!("arg:{i}"));
            if !bound {
                return Err(Error::Denied {
                    message: format!(
                        "argument {i} asks for credential `{cred}`, which is not bound to `{server_id}` there; no secrets released"
                    ),
                    fix: format!("run `keybroker servers` to see `{server_id}`'s bindings"),
                });
            }
        }
    }
    Ok(server)
}

fn release(
    server: &Server,
    vault: &Vault,
    audit: &AuditLog,
    command: &[String],
    now: &str,
) -> Result<Launch> {
    let mut env = Vec::new();
    let mut args: Vec<String> = command[1..].to_vec();
    let mut events = Vec::new();
    for b in &server.bindings {
        let value = vault.get(&b.credential)?.ok_or_else(|| Error::Denied {
            message: format!(
                "the keychain has no value for credential `{}` ({} of `{}`); the server was not started",
                b.credential, b.target, server.id
            ),
            fix: format!(
                "set it with `keybroker secret set {} {}`",
                server.id,
                b.target.strip_prefix("env:").unwrap_or(&b.target)
            ),
        })?;
        if let Some(name) = b.target.strip_prefix("env:") {
            env.push((name.to_string(), value));
        } else if let Some(i) = b
            .target
            .strip_prefix("arg:")
            .and_then(|n| n.parse::<usize>().ok())
            && let Some(arg) = args.get_mut(i)
        {
            *arg = arg.replace(&state::placeholder(&b.credential), value.expose());
        }
        events.push(
            base_event(now, EventKind::Released, Outcome::Ok, &server.id)
                .host(&server.host)
                .credential(&b.credential)
                .target(Target::from(b.target.as_str()))
                .fingerprint(&server.fingerprint),
        );
    }
    // No audit, no secrets: a hand-out that cannot be recorded does not happen.
    audit.append(events)?;
    Ok(Launch {
        program: command[0].clone(),
        args,
        env,
    })
}

/// The env names the host config sets for this server's entry right now.
fn config_env_keys(server: &Server) -> Result<Vec<String>> {
    current_entry(server).map(|(_, env_keys)| env_keys)
}

/// The server's command line and env names as the host config has them now.
pub fn current_entry(server: &Server) -> Result<(Vec<String>, Vec<String>)> {
    let path = &server.config_path;
    let bytes = std::fs::read(path).map_err(|e| Error::Denied {
        message: format!(
            "cannot read {} to check `{}`: {e}; no secrets released",
            path.display(),
            server.id
        ),
        fix: "make the host config readable, or re-import it".into(),
    })?;
    let host = Host::parse(&server.host)?;
    let file = ConfigDoc::parse(host, path, &bytes)?;
    for found in file.servers(host, path)? {
        if let Entry::Stdio { command, args, env } = Entry::from_value(&found.value)
            && let Some(b) =
                hosts::as_brokered(&command, &args).filter(|b| b.server_id == server.id)
        {
            return Ok((b.inner, env.into_iter().map(|(k, _)| k).collect()));
        }
    }
    Err(Error::Denied {
        message: format!(
            "no entry in {} starts `{}` through keybroker; no secrets released",
            path.display(),
            server.id
        ),
        fix: format!(
            "re-import the config: `keybroker import {} --config {}`",
            server.host,
            path.display()
        ),
    })
}

/// What approving a changed command would change.
#[derive(Debug, Clone)]
pub struct Approval {
    pub server_id: String,
    pub old_command: Vec<String>,
    pub new_command: Vec<String>,
    pub old_env_keys: Vec<String>,
    pub new_env_keys: Vec<String>,
    pub fingerprint: String,
}

/// Compare the approved command with the config's; `None` when they match.
pub fn pending_approval(server: &Server) -> Result<Option<Approval>> {
    let (command, env_keys) = current_entry(server)?;
    let fingerprint = state::fingerprint(&command, &env_keys);
    if fingerprint == server.fingerprint {
        return Ok(None);
    }
    Ok(Some(Approval {
        server_id: server.id.clone(),
        old_command: server.command.clone(),
        new_command: command,
        old_env_keys: server.env_keys.clone(),
        new_env_keys: env_keys,
        fingerprint,
    }))
}

/// Record `approval` (re-checked against the state under its lock) and audit it.
pub fn approve(
    paths: &crate::base::paths::Paths,
    audit: &AuditLog,
    approval: &Approval,
    now: &str,
) -> Result<()> {
    State::update(paths, |st| {
        let server =
            st.servers
                .get_mut(&approval.server_id)
                .ok_or_else(|| Error::UnknownServer {
                    id: approval.server_id.clone(),
                })?;
        // Arg bindings follow their placeholders; a placeholder for a credential this
        // server does not own cannot be approved (it would hand over someone else's secret).
        let owned: Vec<String> = server
            .bindings
            .iter()
            .map(|b| b.credential.clone())
            .collect();
        let mut bindings: Vec<Binding> = server
            .bindings
            .iter()
            .filter(|b| b.target.starts_with("env:"))
            .cloned()
            .collect();
        for (i, arg) in approval.new_command.iter().skip(1).enumerate() {
            for cred in placeholders(arg) {
                if !owned.contains(&cred) {
                    return Err(Error::Denied {
                        message: format!("argument {i} asks for credential `{cred}`, which `{}` does not own", approval.server_id),
                        fix: "remove that placeholder from the host config; a server can only receive its own credentials".into(),
                    });
                }
                bindings.push(Binding {
                    target: format!("arg:{i}"),
                    credential: cred,
                });
            }
        }
        server.command = approval.new_command.clone();
        server.env_keys = approval.new_env_keys.clone();
        server.fingerprint = approval.fingerprint.clone();
        server.bindings = bindings;
        Ok(())
    })?;
    let mut e = base_event(now, EventKind::Approved, Outcome::Ok, &approval.server_id)
        .fingerprint(&approval.fingerprint)
        .detail(format!(
            "new command approved: {}",
            shell_words::join(&approval.new_command)
        ));
    if let Some((host, _)) = approval.server_id.split_once('/') {
        e = e.host(host);
    }
    audit.append(vec![e])?;
    Ok(())
}

/// An event about `server` made by this process, with its parent (the host that started it).
fn base_event(now: &str, kind: EventKind, outcome: Outcome, server: &str) -> Event {
    let (ppid, parent) = parent_process();
    Event::new(kind, outcome, now)
        .server(server)
        .process(std::process::id(), ppid, parent)
}

/// `${keybroker:<id>}` references in an argument.
pub fn placeholders(arg: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = arg;
    while let Some(start) = rest.find("${keybroker:") {
        let after = &rest[start + "${keybroker:".len()..];
        let Some(end) = after.find('}') else { break };
        out.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

#[cfg(unix)]
fn parent_process() -> (Option<u32>, Option<String>) {
    let ppid = std::os::unix::process::parent_id();
    let name = std::fs::read_to_string(format!("/proc/{ppid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    (Some(ppid), name)
}

#[cfg(not(unix))]
fn parent_process() -> (Option<u32>, Option<String>) {
    (None, None)
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

/// Start the server in place of this process. Returns only on failure.
#[cfg(unix)]
pub fn exec(launch: Launch) -> Error {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(&launch.program);
    cmd.args(&launch.args);
    for (k, v) in &launch.env {
        cmd.env(k, v.expose());
    }
    let err = cmd.exec();
    Error::other(
        format!("cannot start `{}`: {err}", launch.program),
        "check that the server's command is installed and on the PATH the host gives its servers",
    )
}

/// Windows has no exec: run the server as a child with inherited stdio and pass its exit
/// code on. Arguments go through Rust's std escaping, never a shell.
#[cfg(not(unix))]
pub fn exec(launch: Launch) -> Error {
    let mut cmd = std::process::Command::new(&launch.program);
    cmd.args(&launch.args);
    for (k, v) in &launch.env {
        cmd.env(k, v.expose());
    }
    match cmd.status() {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(err) => Error::other(
            format!("cannot start `{}`: {err}", launch.program),
            "check that the server's command is installed and on the PATH the host gives its servers",
        ),
    }
}

/// `OsString` args to `String`s; the launcher refuses non-UTF-8 command lines.
pub fn utf8_args(args: Vec<OsString>) -> Result<Vec<String>> {
    args.into_iter()
        .map(|a| {
            a.into_string().map_err(|a| Error::Denied {
                message: format!(
                    "argument {} is not valid UTF-8; no secrets released",
                    Path::new(&a).display()
                ),
                fix: "use UTF-8 arguments in the host config".into(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_inside_arguments() {
        assert_eq!(
            placeholders("postgresql://app:${keybroker:pg-pw}@localhost/app?x=${keybroker:b}"),
            vec!["pg-pw".to_string(), "b".to_string()]
        );
        assert!(placeholders("${keybroker:unterminated").is_empty());
    }

    #[test]
    fn shell_words_quotes_what_a_shell_would_split() {
        let w = vec!["npx".to_string(), "a b".into(), "it's".into()];
        assert_eq!(shell_words::join(&w), "npx 'a b' 'it'\\''s'");
    }
}
