//! What `keybroker servers` (and the app's Servers view) shows: every server in the
//! known host configs and in Keybroker's state, with one status each.
//!
//! It reads configs, the state and (to find missing secrets) the keychain; it changes
//! nothing and reports no value, only credential ids. The caller names this
//! installation's launcher (the CLI its own executable, the app the `keybroker` it
//! writes into entries): an entry that starts any other program named `keybroker` is
//! drift, never "brokered" (THREATS 7c).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::base::error::Result;
use crate::base::fsutil;
use crate::config::doc::{ConfigDoc, Found};
use crate::config::hosts::{self, Entry, Host};
use crate::scan;
use crate::store::state::{self, State};
use crate::store::vault::Vault;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Starts through `keybroker run`, approved, every secret in the keychain.
    Brokered,
    /// A plaintext secret sits in the config file.
    PlaintextInConfig,
    /// A bound credential has no value in the keychain.
    MissingSecret,
    /// The command in the config differs from the approved one.
    CommandChanged,
    /// The entry starts a `keybroker` that is not this installation's launcher (another
    /// path, a missing file, a wrapper script): `keybroker repair` points it back.
    LauncherDrift,
    /// No secrets and not brokered: nothing to do.
    NoSecrets,
    /// Remote (HTTP) server, not brokered.
    Remote,
    /// Keybroker brokers it, but the host config no longer has the entry.
    MissingFromConfig,
    /// A brokered-looking entry whose id Keybroker does not know.
    Unknown,
    /// An entry Keybroker cannot read.
    Unsupported,
    /// A remote server reached through `keybroker bridge`, signed in (or keyed).
    Bridged,
    /// A bridged remote server without a usable sign-in: `keybroker connect` it.
    NeedsSignIn,
    /// Brokered (or bridged), but the tool guard holds a new or changed tool until the
    /// user approves it (`keybroker tools <id>`): needs attention.
    ToolsHeld,
}

impl Status {
    pub fn text(self) -> &'static str {
        match self {
            Status::Brokered => "brokered",
            Status::PlaintextInConfig => "plaintext in config",
            Status::MissingSecret => "missing secret",
            Status::CommandChanged => "command changed",
            Status::LauncherDrift => "launcher drift",
            Status::NoSecrets => "no secrets",
            Status::Remote => "remote (not brokered)",
            Status::MissingFromConfig => "missing from config",
            Status::Unknown => "unknown to keybroker",
            Status::Unsupported => "unsupported entry",
            Status::Bridged => "bridged",
            Status::NeedsSignIn => "needs sign-in",
            Status::ToolsHeld => "tools held (needs attention)",
        }
    }

    pub fn needs_attention(self) -> bool {
        !matches!(
            self,
            Status::Brokered | Status::NoSecrets | Status::Remote | Status::Bridged
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerStatus {
    pub id: String,
    pub host: String,
    pub name: String,
    pub config: PathBuf,
    pub transport: &'static str,
    pub status: Status,
    /// Bound credential ids with their targets, e.g. `github-token -> env:GITHUB_TOKEN`.
    pub credentials: Vec<String>,
    /// How many plaintext secrets the entry holds.
    pub plaintext: usize,
    /// What to do next, when anything.
    pub detail: Option<String>,
}

/// Every server in `configs` plus every server the state knows; `launcher` is this
/// installation's `keybroker`.
pub fn list(
    state: &State,
    vault: Option<&Vault>,
    configs: &[(Host, PathBuf)],
    launcher: &Path,
) -> Result<Vec<ServerStatus>> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut files: Vec<(Host, PathBuf)> = configs.to_vec();
    for s in state.servers.values() {
        if let Ok(h) = Host::parse(&s.host)
            && !files
                .iter()
                .any(|(fh, p)| *fh == h && crate::base::fsutil::same_file(p, &s.config_path))
        {
            files.push((h, s.config_path.clone()));
        }
    }
    for (host, path) in &files {
        let Some(bytes) = fsutil::read_optional(path)? else {
            continue;
        };
        let file = ConfigDoc::parse(*host, path, &bytes)?;
        for found in file.servers(*host, path)? {
            let st = entry_status(state, vault, *host, path, launcher, &found)?;
            seen.insert(st.id.clone());
            out.push(st);
        }
    }
    for s in state.servers.values() {
        if !seen.contains(&s.id) {
            out.push(missing_from_config(s));
        }
    }
    Ok(out)
}

/// The servers of one config file: its entries, plus the servers the state places in
/// it that the file no longer has (all of them when the file does not exist).
pub fn list_file(
    state: &State,
    vault: Option<&Vault>,
    host: Host,
    path: &Path,
    launcher: &Path,
) -> Result<Vec<ServerStatus>> {
    let mut out = Vec::new();
    if let Some(bytes) = fsutil::read_optional(path)? {
        let file = ConfigDoc::parse(host, path, &bytes)?;
        for found in file.servers(host, path)? {
            out.push(entry_status(state, vault, host, path, launcher, &found)?);
        }
    }
    for s in state.servers.values() {
        if s.host == host.id()
            && crate::base::fsutil::same_file(&s.config_path, path)
            && !out.iter().any(|st| st.id == s.id)
        {
            out.push(missing_from_config(s));
        }
    }
    Ok(out)
}

fn missing_from_config(s: &state::Server) -> ServerStatus {
    ServerStatus {
        id: s.id.clone(),
        host: s.host.clone(),
        name: s.name.clone(),
        config: s.config_path.clone(),
        transport: "stdio",
        status: Status::MissingFromConfig,
        credentials: bound(s),
        plaintext: 0,
        detail: Some(format!(
            "run `keybroker import {} --config {}` to put it back",
            s.host,
            s.config_path.display()
        )),
    }
}

/// Whether an entry's `command` is this installation's launcher (`launcher`): that very
/// executable, named by absolute path. A bare name, a file that is not there, another
/// copy or a script named `keybroker` is not.
pub fn is_this_launcher(command: &str, launcher: &Path) -> bool {
    let p = Path::new(command);
    p.is_absolute() && p.is_file() && fsutil::same_file(p, launcher)
}

/// Why an entry that names a server Keybroker brokers is not this installation's
/// launcher, with the fix; `None` when it is.
fn launcher_drift(command: &str, launcher: &Path, host: Host) -> Option<String> {
    if is_this_launcher(command, launcher) {
        return None;
    }
    let why = if !Path::new(command).is_absolute() {
        format!("its launcher `{command}` is not named by absolute path")
    } else if !Path::new(command).is_file() {
        format!("its launcher {command} does not exist (Keybroker moved or was removed)")
    } else {
        format!("it starts {command}, which is not this installation's keybroker")
    };
    Some(format!(
        "{why}; run `keybroker repair {}` to point it at {} (only the launcher path changes)",
        host.id(),
        launcher.display()
    ))
}

/// Why an entry that names `server` is not the entry Keybroker wrote for it (another
/// file, or not its binding id); `None` when it is.
fn foreign(server: &state::Server, path: &Path, binding: Option<&String>) -> Option<String> {
    if fsutil::same_file(&server.config_path, path) && binding == server.binding_id.as_ref() {
        return None;
    }
    Some(format!(
        "this entry names `{}`, but Keybroker wrote that server's entry in {}{}; it gets no secrets: remove it",
        server.id,
        server.config_path.display(),
        if server.binding_id.is_some() {
            " with a binding id this one does not carry"
        } else {
            ""
        }
    ))
}

fn entry_status(
    state: &State,
    vault: Option<&Vault>,
    host: Host,
    path: &Path,
    launcher: &Path,
    found: &Found,
) -> Result<ServerStatus> {
    let value = &found.value;
    let mut st = ServerStatus {
        id: found.id.clone(),
        host: host.id().to_string(),
        name: found.name.clone(),
        config: path.to_path_buf(),
        transport: "stdio",
        status: Status::NoSecrets,
        credentials: Vec::new(),
        plaintext: 0,
        detail: None,
    };
    let (command, args, env) = match Entry::from_value(value) {
        Entry::Stdio { command, args, env } => (command, args, env),
        Entry::Remote { .. } => {
            st.transport = "http";
            st.status = Status::Remote;
            st.plaintext = scan::remote_plaintext(value);
            if st.plaintext > 0 {
                st.detail = Some(
                    "a secret sits in this remote entry's URL or headers; an import moves it to the keychain and reaches the server through keybroker bridge".into(),
                );
            }
            return Ok(st);
        }
        Entry::Unsupported(why) => {
            st.status = Status::Unsupported;
            st.detail = Some(why);
            return Ok(st);
        }
    };
    let import_fix = format!(
        "run `keybroker import {} --config {}`",
        host.id(),
        path.display()
    );
    if let Some(br) = crate::ops::remote::as_bridged(&command, &args) {
        return bridged_status(state, vault, st, path, (host, launcher), br);
    }
    let Some(b) = hosts::as_brokered(&command, &args) else {
        st.plaintext = scan::scan_server(&env, &args).len();
        if st.plaintext > 0 {
            st.status = Status::PlaintextInConfig;
            st.detail = Some(import_fix);
        }
        return Ok(st);
    };
    st.id = b.server_id.clone();
    let Some(server) = state.servers.get(&b.server_id) else {
        st.status = Status::Unknown;
        st.detail = Some(import_fix);
        return Ok(st);
    };
    // An entry that names the server but is not the one Keybroker wrote for it (another
    // file, or not its binding id) gets nothing from the launcher: it is not that server.
    if let Some(why) = foreign(server, path, b.binding.as_ref()) {
        st.status = Status::Unknown;
        st.detail = Some(why);
        return Ok(st);
    }
    st.credentials = bound(server);
    st.plaintext = scan::scan_server(&env, &b.inner[1..]).len();
    // Whatever else the entry says, it runs another program than this launcher.
    if let Some(why) = launcher_drift(&b.launcher, launcher, host) {
        st.status = Status::LauncherDrift;
        st.detail = Some(why);
        return Ok(st);
    }
    // Plaintext first: importing moves it and records the new fingerprint in one step.
    if st.plaintext > 0 {
        st.status = Status::PlaintextInConfig;
        st.detail = Some(import_fix);
        return Ok(st);
    }
    if !crate::ops::launch::matches_approval(server, value, &b.inner) {
        st.status = Status::CommandChanged;
        st.detail = Some(format!(
            "review it, then run `keybroker approve {}`",
            server.id
        ));
        return Ok(st);
    }
    if let Some(v) = vault {
        for binding in &server.bindings {
            if v.get(&binding.credential)?.is_none() {
                st.status = Status::MissingSecret;
                st.detail = Some(format!(
                    "run `keybroker secret set {} {}`",
                    server.id,
                    binding
                        .target
                        .strip_prefix("env:")
                        .unwrap_or(&binding.target)
                ));
                return Ok(st);
            }
        }
    }
    st.status = Status::Brokered;
    held_tools(server, &mut st);
    Ok(st)
}

/// A brokered or bridged server whose guard holds tools needs attention.
fn held_tools(server: &state::Server, st: &mut ServerStatus) {
    let held = server
        .guard
        .as_ref()
        .map_or(0, |g| g.tools.values().filter(|t| t.held.is_some()).count());
    if held > 0 {
        st.status = Status::ToolsHeld;
        st.detail = Some(format!(
            "{held} tool(s) held until you approve them: review with `keybroker tools {}`, then `keybroker tools {} --approve`",
            server.id, server.id
        ));
    }
}

/// Status of an entry that runs `keybroker bridge [--binding <b>] <id>`.
fn bridged_status(
    state: &State,
    vault: Option<&Vault>,
    mut st: ServerStatus,
    path: &Path,
    (host, launcher): (Host, &Path),
    br: crate::ops::remote::Bridged,
) -> Result<ServerStatus> {
    st.transport = "http";
    st.id = br.server_id;
    let Some(server) = state.servers.get(&st.id) else {
        st.status = Status::Unknown;
        return Ok(st);
    };
    if let Some(why) = foreign(server, path, br.binding.as_ref()) {
        st.status = Status::Unknown;
        st.detail = Some(why);
        return Ok(st);
    }
    st.credentials = bound(server);
    if let Some(why) = launcher_drift(&br.launcher, launcher, host) {
        st.status = Status::LauncherDrift;
        st.detail = Some(why);
        return Ok(st);
    }
    st.status = Status::Bridged;
    held_tools(server, &mut st);
    let (Some(v), Some(remote)) = (vault, &server.remote) else {
        return Ok(st);
    };
    let oauth = remote.oauth_credential.as_deref();
    for b in server
        .bindings
        .iter()
        .filter(|b| Some(b.credential.as_str()) != oauth)
    {
        if v.get(&b.credential)?.is_none() {
            st.status = Status::MissingSecret;
            st.detail = Some(match b.target.strip_prefix("header:") {
                Some(name) => {
                    format!("add it again with `keybroker add ... --replace --header {name}`")
                }
                // A key that was in the URL (or elsewhere in the entry): the entry has it.
                None => format!(
                    "the keychain lost `{}` ({}): restore the entry with `keybroker restore {}` and import it again with its key",
                    b.credential, b.target, server.host
                ),
            });
            return Ok(st);
        }
    }
    if let Some(cred) = oauth {
        let ts: Option<crate::oauth::TokenSet> = v
            .get(cred)?
            .and_then(|s| serde_json::from_str(s.expose()).ok());
        let now = crate::base::clock::unix_now();
        // A machine credential gets its tokens itself, whenever it needs them.
        let usable = ts.as_ref().is_some_and(|t| {
            (t.machine.is_some() && t.refusal().is_none())
                || (t.access_token.is_some()
                    && (t.refresh_token.is_some() || t.expires_at.is_none_or(|e| e > now)))
        });
        if !usable {
            st.status = Status::NeedsSignIn;
            let why = ts.as_ref().and_then(|t| {
                t.refusal().or_else(|| {
                    t.signed_out
                        .as_deref()
                        .map(|w| format!("{w}; run `keybroker connect {}`", st.id))
                })
            });
            st.detail = Some(match why {
                Some(why) => why,
                None => format!("run `keybroker connect {}`", st.id),
            });
        }
    }
    Ok(st)
}

fn bound(s: &state::Server) -> Vec<String> {
    s.bindings
        .iter()
        .map(|b| format!("{} -> {}", b.credential, b.target))
        .collect()
}
