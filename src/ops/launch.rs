//! `keybroker run <server-id> --binding <id> -- <cmd> [args...]`: the launcher hosts spawn.
//!
//! It releases a server's secrets only to its approved program, started from its
//! approved entry:
//! - the entry: the one entry in the server's recorded host file that carries the
//!   server's binding id (random, written by import; another file's author cannot know
//!   it), and the command line the launcher was given is that entry's;
//! - the approval: the entry still is what the user approved, whole (fingerprint v2 over
//!   program, args, env names and values, cwd and the other keys; see `spawn`). An
//!   approval from before version 2 is upgraded once, while it still matches;
//! - the process: the env values the entry sets are the ones the launcher got, and the
//!   program resolves to the approved path (from the approved directory when a name is
//!   relative);
//! - the placeholders: every `${keybroker:<id>}` in an argument or an env value names a
//!   credential bound to this server at that argument or variable.
//!
//! Then it reads only that server's bound secrets from the keychain, records a
//! `released` audit event per secret, and replaces itself with the approved program (Unix
//! `exec`), adding the secrets to its environment (a whole value, or filled into the
//! entry's env template: a JSON value keeps its JSON, with the secret escaped in it),
//! filling the placeholders of its arguments, and removing inherited code-injection
//! variables the entry does not set. It never writes to stdout: stdout is the server's
//! MCP channel. On any doubt it releases nothing, records `denied` with the reason and
//! returns the error (the CLI explains it on stderr and exits non-zero); it prints
//! nothing itself. It reads no file but the state and the recorded
//! host file, does not rewrite configs, prompt, or talk to the network.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::base::error::{Error, Result};
use crate::base::paths::Paths;
use crate::base::secret::Secret;
use crate::config::doc::ConfigDoc;
use crate::config::hosts::{self, Brokered, Entry, Host};
use crate::ops::spawn::{self, Cleared, Context, EntrySpawn, Process};
use crate::scan;
use crate::store::audit::{AuditLog, Event, EventKind, Outcome, Target};
use crate::store::state::{self, Binding, Server, Spawn, State};
use crate::store::vault::Vault;

/// Everything needed to start the server; secrets only in memory.
pub struct Launch {
    /// The approved program's absolute path.
    pub program: PathBuf,
    /// `argv[0]`: the program as the entry writes it.
    pub arg0: String,
    pub args: Vec<String>,
    pub env: Vec<(String, Secret)>,
    /// Inherited variables taken out of the server's environment.
    pub remove: Vec<String>,
    /// Things the person reading the host's log should know (no secret in them).
    pub notes: Vec<String>,
    /// The server's record when it is guarded: then it is started as a child and its
    /// stdio relayed through the tool guard ([`crate::ops::relay`]) instead of exec'd.
    pub guarded: Option<Box<Server>>,
}

impl std::fmt::Debug for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launch")
            .field("program", &self.program)
            .field("env", &self.env.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .field("remove", &self.remove)
            .finish_non_exhaustive()
    }
}

/// What `keybroker run` was asked to do.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub server_id: &'a str,
    /// `--binding`: the id the entry carries (`None` from entries written before them).
    pub binding: Option<&'a str>,
    /// The server's command line, after `--`.
    pub command: &'a [String],
}

/// Check the request against the entry, the approval and this process, read the
/// secrets, audit. The caller execs. `vault` gives the keychain session (it may still be
/// opening while the checks run); only the audit log's anchor keeps it after this.
pub fn prepare(
    paths: &Paths,
    state: &State,
    vault: impl FnOnce() -> Result<Vault>,
    audit: &AuditLog,
    req: &Request<'_>,
    process: &Process,
    now: &str,
) -> Result<Launch> {
    match admit(paths, state, req, process) {
        Ok(admitted) => release(admitted, &vault()?, audit, req.command, now),
        Err(err) => {
            // The denial is recorded with the head's MAC when the keychain is there; it
            // stands when it is not.
            let _session = vault();
            let mut e = base_event(now, EventKind::Denied, Outcome::Denied, req.server_id)
                .detail(first_line(&err.to_string()));
            if let Some((host, _)) = req.server_id.split_once('/') {
                e = e.host(host);
            }
            if let Some(s) = state.servers.get(req.server_id) {
                e = e.fingerprint(&s.fingerprint);
            }
            // The refusal stands even if the audit cannot be written; its message says so.
            Err(audit.append_refusal(vec![e], err))
        }
    }
}

/// A launch that passed every check.
struct Admitted {
    server: Server,
    cleared: Cleared,
    /// The entry's env values that hold placeholders (templates), filled at release.
    templates: Vec<(String, String)>,
    notes: Vec<String>,
}

fn admit(paths: &Paths, state: &State, req: &Request<'_>, process: &Process) -> Result<Admitted> {
    let (server, entry) = check(state, req)?;
    let mut notes = Vec::new();
    if server.binding_id.is_none() {
        notes.push(format!(
            "the entry of `{}` carries no binding id; re-import {} to bind it to its file (`keybroker import {} --config {}`)",
            server.id,
            server.config_path.display(),
            server.host,
            server.config_path.display()
        ));
    }
    let (approved, upgrade) = match &server.spawn {
        Some(a) => (a.clone(), false),
        // A version-1 approval that still matches: approve the whole spawn as it is now,
        // resolved from where the host started it.
        None => {
            let ctx = Context {
                path_var: process.var("PATH").cloned(),
                cwd: process.cwd.clone().unwrap_or_else(|| PathBuf::from("/")),
            };
            (spawn::approve(&entry, &ctx), true)
        }
    };
    let cleared = spawn::check_process(&server.id, &approved, &entry, process)?;
    let server = if upgrade {
        notes.push("approval upgraded to fingerprint v2 (the whole spawn)".into());
        upgrade_approval(paths, server, approved)?
    } else {
        server.clone()
    };
    let templates = entry
        .env
        .iter()
        .filter(|(_, v)| !placeholders(v).is_empty())
        .cloned()
        .collect();
    Ok(Admitted {
        server,
        cleared,
        templates,
        notes,
    })
}

/// The approval check: known server, its bound entry in its file, the command line that
/// entry holds, unchanged since approved, placeholders only for this server's credentials.
pub fn check<'s>(state: &'s State, req: &Request<'_>) -> Result<(&'s Server, EntrySpawn)> {
    let server_id = req.server_id;
    let command = req.command;
    let server = state.servers.get(server_id).ok_or_else(|| Error::Denied {
        message: format!("keybroker has no server `{server_id}`; no secrets released"),
        fix: "import the host's config (`keybroker import claude-desktop`) or run `keybroker servers` to see known ids".into(),
    })?;
    if command.is_empty() {
        return Err(Error::Denied {
            message: format!("no command given for `{server_id}`"),
            fix: format!("usage: keybroker run {server_id} --binding <id> -- <command> [args...]"),
        });
    }
    check_binding(server, req.binding)?;
    let (value, brokered) = bound_entry(server)?;
    if brokered.inner != command {
        return Err(Error::Denied {
            message: format!(
                "the command `keybroker run {server_id}` was given is not the one its entry in {} holds; no secrets released\n  entry: {}\n  given: {}",
                server.config_path.display(),
                shell_words::join(&brokered.inner),
                shell_words::join(command)
            ),
            fix: format!(
                "only the entry in {} starts `{server_id}`; start it from that host",
                server.config_path.display()
            ),
        });
    }
    let entry = EntrySpawn::of(&value, &brokered.inner).ok_or_else(|| Error::Denied {
        message: format!("the entry of `{server_id}` has no command; no secrets released"),
        fix: "re-import the host's config".into(),
    })?;
    let changed = |what: Vec<String>| Error::Denied {
        message: format!(
            "the command for `{server_id}` changed since you approved it; no secrets released\n{}",
            what.join("\n")
        ),
        fix: format!("if you made this change, run `keybroker approve {server_id}`"),
    };
    match &server.spawn {
        Some(approved) => {
            let now = entry.under(approved);
            if state::fingerprint_v2(&now) != server.fingerprint {
                return Err(changed(spawn::differences(approved, &now)));
            }
        }
        None => {
            let env_keys = env_names(&entry);
            if state::fingerprint_v1(command, &env_keys) != server.fingerprint {
                return Err(changed(v1_differences(server, command, &env_keys)));
            }
        }
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
    // And every placeholder in an env value (a template such as a JSON value with the
    // secret part taken out) one bound to this server at that variable.
    for (name, value) in &entry.env {
        for cred in placeholders(value) {
            let bound = server
                .bindings
                .iter()
                .any(|b| b.credential == cred && b.target == format!("env:{name}"));
            if !bound {
                return Err(Error::Denied {
                    message: format!(
                        "env `{name}` asks for credential `{cred}`, which is not bound to `{server_id}` there; no secrets released"
                    ),
                    fix: format!("run `keybroker servers` to see `{server_id}`'s bindings"),
                });
            }
        }
    }
    Ok((server, entry))
}

/// The binding id the launcher (or the bridge) was given must be the one recorded for
/// the server. A record without one (written before binding ids) accepts an entry
/// without one, until the file is imported again: an upgrade must not cut every server
/// off at once.
pub fn check_binding(server: &Server, given: Option<&str>) -> Result<()> {
    let file = server.config_path.display();
    match (server.binding_id.as_deref(), given) {
        (Some(want), Some(got)) if want == got => Ok(()),
        (None, None) => Ok(()),
        (Some(_), None) => Err(Error::Denied {
            message: format!(
                "the entry that started `{}` carries no binding id, so it is not the entry Keybroker wrote for it in {file}; no secrets released",
                server.id
            ),
            fix: format!(
                "only the entry in {file} gets `{}`'s secrets; to broker a server of this file, import it (`keybroker import <host> --config <file>`)",
                server.id
            ),
        }),
        (_, Some(_)) => Err(Error::Denied {
            message: format!(
                "the binding id given for `{}` is not the one Keybroker wrote into its entry in {file}; no secrets released",
                server.id
            ),
            fix: format!(
                "only the entry in {file} gets `{}`'s secrets; to broker a server of another file, import that file",
                server.id
            ),
        }),
    }
}

/// The one entry in the server's recorded file that starts it with its binding id.
/// None, or more than one (a copy cannot be told from the original), is refused.
pub fn bound_entry(server: &Server) -> Result<(Value, Brokered)> {
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
    let mut found = Vec::new();
    for f in file.servers(host, path)? {
        if let Entry::Stdio { command, args, .. } = Entry::from_value(&f.value)
            && let Some(b) = hosts::as_brokered(&command, &args)
            && b.server_id == server.id
            && b.binding == server.binding_id
        {
            found.push((f.value, b));
        }
    }
    let n = found.len();
    match found.pop() {
        Some(one) if n == 1 => Ok(one),
        Some(_) => Err(Error::Denied {
            message: format!(
                "{n} entries in {} start `{}` with its binding id; a copy cannot be told from the original, so none gets secrets",
                path.display(),
                server.id
            ),
            fix: format!(
                "remove the copies from {}: one entry per server",
                path.display()
            ),
        }),
        None => Err(Error::Denied {
            message: format!(
                "no entry in {} starts `{}` through keybroker with its binding id; no secrets released",
                path.display(),
                server.id
            ),
            fix: format!(
                "re-import the config: `keybroker import {} --config {}`",
                server.host,
                path.display()
            ),
        }),
    }
}

/// Whether entry `value` running `inner` is still what `server` was approved to run
/// (as the launcher would judge it, without looking at any process).
pub fn matches_approval(server: &Server, value: &Value, inner: &[String]) -> bool {
    let Some(entry) = EntrySpawn::of(value, inner) else {
        return false;
    };
    match &server.spawn {
        Some(approved) => state::fingerprint_v2(&entry.under(approved)) == server.fingerprint,
        None => state::fingerprint_v1(inner, &env_names(&entry)) == server.fingerprint,
    }
}

fn env_names(entry: &EntrySpawn) -> Vec<String> {
    entry.env.iter().map(|(k, _)| k.clone()).collect()
}

/// What a version-1 approval can show of a change: the command line and the env names.
fn v1_differences(server: &Server, command: &[String], env_keys: &[String]) -> Vec<String> {
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
    let mut now_env = env_keys.to_vec();
    now_env.sort();
    if approved_env != now_env {
        what.push(format!(
            "  approved env names: {}\n  env names now:      {}",
            approved_env.join(", "),
            now_env.join(", ")
        ));
    }
    what
}

/// Record the upgraded approval of a version-1 record, unless someone changed the record
/// meanwhile (then this launch goes ahead on the check it passed, and records nothing).
fn upgrade_approval(paths: &Paths, server: &Server, spawn: Spawn) -> Result<Server> {
    let fingerprint = state::fingerprint_v2(&spawn);
    State::update(paths, |st| {
        if let Some(s) = st.servers.get_mut(&server.id)
            && s.spawn.is_none()
            && s.fingerprint == server.fingerprint
        {
            s.spawn = Some(spawn.clone());
            s.fingerprint = fingerprint.clone();
        }
        Ok(())
    })?;
    let mut upgraded = server.clone();
    upgraded.spawn = Some(spawn);
    upgraded.fingerprint = fingerprint;
    Ok(upgraded)
}

fn release(
    admitted: Admitted,
    vault: &Vault,
    audit: &AuditLog,
    command: &[String],
    now: &str,
) -> Result<Launch> {
    let Admitted {
        server,
        cleared,
        mut templates,
        mut notes,
    } = admitted;
    let mut env = Vec::new();
    let mut args: Vec<String> = command[1..].to_vec();
    let mut events = Vec::new();
    if !cleared.removed.is_empty() {
        notes.push(format!(
            "removed from the server's environment (they inject code and its entry does not set them): {}",
            cleared.removed.join(", ")
        ));
    }
    let detail = (!notes.is_empty()).then(|| notes.join("; "));
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
        let ph = state::placeholder(&b.credential);
        if let Some(name) = b.target.strip_prefix("env:") {
            match templates
                .iter_mut()
                .find(|(k, t)| k == name && t.contains(&ph))
            {
                Some((_, t)) => *t = state::fill(t, &b.credential, value.expose()),
                None => env.push((name.to_string(), value)),
            }
        } else if let Some(i) = b
            .target
            .strip_prefix("arg:")
            .and_then(|n| n.parse::<usize>().ok())
            && let Some(arg) = args.get_mut(i)
        {
            *arg = state::fill(arg, &b.credential, value.expose());
        }
        let mut e = base_event(now, EventKind::Released, Outcome::Ok, &server.id)
            .host(&server.host)
            .credential(&b.credential)
            .target(Target::from(b.target.as_str()))
            .fingerprint(&server.fingerprint);
        if let Some(d) = &detail {
            e = e.detail(d.clone());
        }
        events.push(e);
    }
    env.extend(templates.into_iter().map(|(k, t)| (k, Secret::new(t))));
    // No audit, no secrets: a hand-out that cannot be recorded does not happen.
    audit.append(events)?;
    Ok(Launch {
        program: cleared.program,
        arg0: command[0].clone(),
        args,
        env,
        remove: cleared.removed,
        notes,
        guarded: server.guard.is_some().then(|| Box::new(server.clone())),
    })
}

/// What approving a changed entry would change.
#[derive(Debug, Clone)]
pub struct Approval {
    pub server_id: String,
    pub old_command: Vec<String>,
    pub new_command: Vec<String>,
    pub old_env_keys: Vec<String>,
    pub new_env_keys: Vec<String>,
    pub fingerprint: String,
    /// The approved spawn in full; `None` for an approval from before version 2 (only
    /// its command line and env names are known).
    pub old_spawn: Option<Spawn>,
    pub new_spawn: Spawn,
    /// Targets (`env:NAME`, `arg:N`) where the entry holds a plaintext secret: approving
    /// would copy it into the state, so it is refused until an import moves it.
    pub plaintext: Vec<String>,
}

/// Compare the approval with the entry in the config; `None` when it still holds.
pub fn pending_approval(server: &Server) -> Result<Option<Approval>> {
    let (value, b) = bound_entry(server)?;
    let entry = EntrySpawn::of(&value, &b.inner).ok_or_else(|| Error::Denied {
        message: format!("the entry of `{}` has no command", server.id),
        fix: "re-import the host's config".into(),
    })?;
    let env_keys = env_names(&entry);
    let unchanged = match &server.spawn {
        // A program that was not found when approved is resolved again.
        Some(approved) => {
            approved.resolved.is_some()
                && state::fingerprint_v2(&entry.under(approved)) == server.fingerprint
        }
        // Upgraded at its next launch.
        None => state::fingerprint_v1(&b.inner, &env_keys) == server.fingerprint,
    };
    if unchanged {
        return Ok(None);
    }
    let mut new_spawn = spawn::approve(&entry, &Context::current());
    let fingerprint = state::fingerprint_v2(&new_spawn);
    if fingerprint == server.fingerprint {
        return Ok(None);
    }
    let findings = scan::scan_server(&entry.env, &entry.args);
    let plaintext = findings
        .iter()
        .map(|f| match &f.location {
            scan::Location::Env(n) => format!("env:{n}"),
            scan::Location::Arg(i) => format!("arg:{i}"),
        })
        .collect();
    // A secret in an argument is shown masked: an approval with plaintext cannot be
    // recorded (see `approve`), so this command only informs.
    let mut new_command = b.inner;
    for f in findings.iter().rev() {
        if let scan::Location::Arg(i) = f.location {
            for arg in [new_command.get_mut(i + 1), new_spawn.args.get_mut(i)]
                .into_iter()
                .flatten()
            {
                if let Some(secret) = arg.get(f.span.clone()) {
                    let masked = scan::mask(secret);
                    arg.replace_range(f.span.clone(), &masked);
                }
            }
        }
    }
    Ok(Some(Approval {
        server_id: server.id.clone(),
        old_command: server.command.clone(),
        new_command,
        old_env_keys: server.env_keys.clone(),
        new_env_keys: env_keys,
        fingerprint,
        old_spawn: server.spawn.clone(),
        new_spawn,
        plaintext,
    }))
}

/// Record `approval` (re-checked against the state under its lock) and audit it.
pub fn approve(paths: &Paths, audit: &AuditLog, approval: &Approval, now: &str) -> Result<()> {
    if !approval.plaintext.is_empty() {
        return Err(Error::other(
            format!(
                "the entry of `{}` holds a plaintext secret ({}); approving it would copy the secret into Keybroker's state",
                approval.server_id,
                approval.plaintext.join(", ")
            ),
            format!(
                "approve it where the secret moves too: `keybroker import {} --approve {}` shows both commands, moves the secret into the keychain and records the approval",
                approval
                    .server_id
                    .split_once('/')
                    .map_or(approval.server_id.as_str(), |(h, _)| h),
                approval.server_id
            ),
        ));
    }
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
        // Env templates likewise: their placeholders must name the server's own credentials.
        for (name, value) in &approval.new_spawn.env {
            for cred in placeholders(value) {
                if !owned.contains(&cred) {
                    return Err(Error::Denied {
                        message: format!("env `{name}` asks for credential `{cred}`, which `{}` does not own", approval.server_id),
                        fix: "remove that placeholder from the host config; a server can only receive its own credentials".into(),
                    });
                }
                let target = format!("env:{name}");
                if !bindings
                    .iter()
                    .any(|b| b.target == target && b.credential == cred)
                {
                    bindings.push(Binding {
                        target,
                        credential: cred,
                    });
                }
            }
        }
        server.command = approval.new_command.clone();
        server.env_keys = approval.new_env_keys.clone();
        server.fingerprint = approval.fingerprint.clone();
        server.spawn = Some(approval.new_spawn.clone());
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

/// The approved program with its args, the inherited injection variables taken out and
/// the secrets put in.
pub fn command(launch: &Launch) -> std::process::Command {
    let mut cmd = std::process::Command::new(&launch.program);
    #[cfg(unix)]
    std::os::unix::process::CommandExt::arg0(&mut cmd, &launch.arg0);
    cmd.args(&launch.args);
    for k in &launch.remove {
        cmd.env_remove(k);
    }
    for (k, v) in &launch.env {
        cmd.env(k, v.expose());
    }
    cmd
}

/// Start the server in place of this process. Returns only on failure.
#[cfg(unix)]
pub fn exec(launch: Launch) -> Error {
    use std::os::unix::process::CommandExt;
    let err = command(&launch).exec();
    Error::other(
        format!("cannot start `{}`: {err}", launch.program.display()),
        "check that the server's command is installed and on the PATH the host gives its servers",
    )
}

/// Windows has no exec: run the server as a child with inherited stdio and pass its exit
/// code on. Arguments go through Rust's std escaping, never a shell.
#[cfg(not(unix))]
pub fn exec(launch: Launch) -> Error {
    match command(&launch).status() {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(err) => Error::other(
            format!("cannot start `{}`: {err}", launch.program.display()),
            "check that the server's command is installed and on the PATH the host gives its servers",
        ),
    }
}

/// Start a guarded server as a child and relay its stdio through the guard until it
/// exits; returns its exit code (128 + signal when a signal ended it). The secrets live on
/// only in the child's environment.
#[cfg(not(unix))]
pub fn relay(
    launch: Launch,
    session: &std::sync::Arc<crate::ops::relay::GuardSession>,
) -> Result<i32> {
    let cmd = command(&launch);
    let program = launch.program.clone();
    drop(launch);
    crate::ops::relay::run(cmd, &program, session)
}

/// Unix: start a guarded server as a child, then become a fresh relay process
/// (`keybroker-relay`, else `launcher __relay`) that relays its stdio through the guard;
/// this process's memory (its secrets, the keychain session) is gone once it execs.
/// Returns only on failure.
#[cfg(unix)]
pub fn relay(
    launch: Launch,
    relay: &crate::ops::relay::RelayProgram,
    server_id: &str,
    mac_key: Option<&crate::base::secret::Secret>,
) -> Error {
    let cmd = command(&launch);
    let program = launch.program.clone();
    drop(launch);
    crate::ops::relay::spawn_then_relay(cmd, &program, relay, server_id, mac_key)
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
