//! `keybroker doctor`: one report of everything that can stop a server from getting its
//! secrets, each check with its status and, for anything that needs the user, the fix.
//!
//! The checks: the keychain (reachable, unlocked, which Secret Service provider; without
//! one, how to get one), the launcher every brokered entry starts (drift:
//! `keybroker repair`), the host files and their drift, approvals waiting for the user,
//! servers that need a sign-in or a secret, the audit chain, and whether the app starts
//! at login. The CLI prints the [`Report`] (or its JSON, a stable shape); the app can
//! show the same report.
//!
//! It changes nothing and never waits on a person: a locked keychain is reported, not
//! unlocked (no unlock prompt is ever raised), and every bus call has a bounded wait.
//! Nothing in the report is a secret value: it names servers, files and credential ids.

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
mod secret_service;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::base::fsutil;
use crate::config::hosts::Host;
use crate::ops::Context;
use crate::ops::inventory::{self, ServerStatus, Status};
use crate::ops::repair;
use crate::store::state::State;
use crate::store::vault::Vault;

/// The version of the JSON shape; bumped only when a field changes meaning or goes away.
pub const REPORT_VERSION: u32 = 1;

/// The name the app's autostart entry is written under (`<name>.desktop`): the app's
/// `productName` (src-tauri/tauri.conf.json), which tauri-plugin-autostart uses.
pub const APP_NAME: &str = "Keybroker";

/// How long the bus may take to answer the keychain check.
const BUS_TIMEOUT: Duration = Duration::from_secs(5);

/// How a check came out. Ordered: the report's status is its worst check's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Nothing to do.
    Ok,
    /// Worth knowing; nothing stops working because of it.
    Warn,
    /// Something needs the user; the check's fix says what to do.
    Problem,
}

impl Level {
    pub fn text(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Problem => "problem",
        }
    }
}

/// What the keychain check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeychainState {
    /// Reachable and unlocked.
    Available,
    /// No D-Bus session bus (SSH, WSL, a headless session).
    NoSessionBus,
    /// A session bus, but nothing provides the Secret Service on it.
    NoSecretService,
    /// The Secret Service's default collection is locked.
    Locked,
    /// Something else failed (the message says what).
    Unavailable,
}

/// The keychain as found, beside its check (the app shows the provider).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Keychain {
    pub state: KeychainState,
    /// The process that provides the Secret Service (`gnome-keyring-daemon`,
    /// `keepassxc`, ...); on macOS and Windows the platform's keychain.
    pub provider: Option<String>,
    /// The collection new secrets go to (`login`), when known.
    pub collection: Option<String>,
    /// The bus's or the keychain's own words when it is not available.
    pub detail: Option<String>,
}

/// What to do about a check that is not ok: a sentence, and the commands to run (in
/// order) when there are any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub text: String,
    pub commands: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckId {
    Keychain,
    State,
    Launcher,
    Hosts,
    Approvals,
    SignIn,
    Secrets,
    Audit,
    Autostart,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub id: CheckId,
    pub status: Level,
    /// One line.
    pub summary: String,
    /// One line per thing found (a server, a file, an audit problem).
    pub details: Vec<String>,
    /// `None` when the check is ok.
    pub fix: Option<Fix>,
    /// The ids of the servers the details name, in the same order, for a front end that
    /// fixes them one by one (the app's Repair, Review change, Sign in).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<String>,
}

impl Check {
    fn ok(id: CheckId, summary: impl Into<String>) -> Check {
        Check {
            id,
            status: Level::Ok,
            summary: summary.into(),
            details: Vec::new(),
            fix: None,
            servers: Vec::new(),
        }
    }

    fn about(mut self, servers: &[&ServerStatus]) -> Check {
        self.servers = servers.iter().map(|s| s.id.clone()).collect();
        self
    }

    fn with(mut self, status: Level, details: Vec<String>, fix: Option<Fix>) -> Check {
        self.status = status;
        self.details = details;
        self.fix = fix;
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub version: u32,
    /// The worst check's status.
    pub status: Level,
    /// At least one check is a [`Level::Problem`] (the CLI then exits non-zero).
    pub needs_user: bool,
    /// This installation's launcher, the one entries should start.
    pub launcher: PathBuf,
    pub keychain: Keychain,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn check(&self, id: CheckId) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }
}

/// Run every check against the machine: the real keychain, the host files `ctx` knows
/// and the ones the state records, the audit log, and the autostart entry under `$HOME`.
pub fn diagnose(ctx: &Context) -> Report {
    let (keychain, vault) = probe_keychain(ctx);
    let autostart = autostart_file();
    // Without a home directory no host file can be found; the state's files still are.
    let files = ctx.configs().unwrap_or_default();
    report(ctx, &files, keychain, vault.as_ref(), autostart.as_deref())
}

/// `~/.config/autostart/Keybroker.desktop` (where the app's autostart plugin writes it).
pub fn autostart_file() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(
        PathBuf::from(home)
            .join(".config/autostart")
            .join(format!("{APP_NAME}.desktop")),
    )
}

/// The report from what was found: the host files to read (beside the ones the state
/// records), the keychain (and the vault, only when it is available), and the autostart
/// file to look at. Reads files; changes nothing.
pub fn report(
    ctx: &Context,
    files: &[(Host, PathBuf)],
    keychain: Keychain,
    vault: Option<&Vault>,
    autostart: Option<&Path>,
) -> Report {
    let launcher = ctx.launcher_path().to_path_buf();
    let mut checks = vec![keychain_check(&keychain)];
    let state = match State::load(&ctx.paths) {
        Ok(s) => s,
        Err(e) => {
            checks.push(Check::ok(CheckId::State, "").with(
                Level::Problem,
                vec![e.to_string()],
                Some(Fix {
                    text:
                        e.fix().unwrap_or_else(|| {
                            format!("check {}", ctx.paths.state_file().display())
                        }),
                    commands: Vec::new(),
                }),
            ));
            if let Some(c) = checks.last_mut() {
                c.summary = "Keybroker's state file cannot be read".into();
            }
            State::default()
        }
    };
    let (servers, files, unreadable) = inventory_of(ctx, files, &state, vault);
    checks.push(launcher_check(&launcher, &servers));
    checks.push(hosts_check(&files, &servers, &unreadable));
    checks.push(approvals_check(&servers));
    checks.push(sign_in_check(&servers, vault.is_some()));
    checks.push(secrets_check(&servers, vault.is_some()));
    checks.push(audit_check(ctx));
    checks.push(autostart_check(autostart));
    let status = checks.iter().map(|c| c.status).max().unwrap_or(Level::Ok);
    Report {
        version: REPORT_VERSION,
        status,
        needs_user: status == Level::Problem,
        launcher,
        keychain,
        checks,
    }
}

// ---------------------------------------------------------------------------------------
// Keychain

/// Look at the keychain without raising a prompt; the vault comes back only when it is
/// available (a locked one would ask for its password on the first read).
pub fn probe_keychain(ctx: &Context) -> (Keychain, Option<Vault>) {
    #[cfg(all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    ))]
    {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(secret_service::look());
        });
        let seen = match rx.recv_timeout(BUS_TIMEOUT) {
            Ok(s) => s,
            Err(_) => secret_service::Seen {
                state: KeychainState::Unavailable,
                provider: None,
                collection: None,
                detail: Some(format!(
                    "no answer from the session bus within {} s",
                    BUS_TIMEOUT.as_secs()
                )),
            },
        };
        let mut kc = Keychain {
            state: seen.state,
            provider: seen.provider,
            collection: seen.collection,
            detail: seen.detail,
        };
        if kc.state != KeychainState::Available {
            return (kc, None);
        }
        open_vault(ctx, kc.clone()).unwrap_or_else(|e| {
            kc.state = KeychainState::Unavailable;
            kc.detail = Some(e);
            (kc, None)
        })
    }
    #[cfg(not(all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    )))]
    {
        let _ = BUS_TIMEOUT;
        let kc = Keychain {
            state: KeychainState::Available,
            provider: Some(if cfg!(target_os = "macos") {
                "macOS Keychain".to_string()
            } else if cfg!(windows) {
                "Windows Credential Manager".to_string()
            } else {
                "none".to_string()
            }),
            collection: None,
            detail: None,
        };
        open_vault(ctx, kc.clone()).unwrap_or_else(|e| {
            (
                Keychain {
                    state: KeychainState::Unavailable,
                    detail: Some(e),
                    ..kc
                },
                None,
            )
        })
    }
}

/// Open the vault and read an item that does not exist: proves a session works.
fn open_vault(ctx: &Context, kc: Keychain) -> Result<(Keychain, Option<Vault>), String> {
    let vault = ctx.vault().map_err(|e| e.to_string())?;
    vault.get("doctor-probe").map_err(|e| e.to_string())?;
    Ok((kc, Some(vault)))
}

/// The provider's everyday name.
fn provider_name(process: &str) -> &str {
    match process {
        "gnome-keyring-daemon" | "gnome-keyring-d" => "GNOME Keyring",
        "keepassxc" | "keepassxc-proxy" => "KeePassXC",
        "kwalletd5" | "kwalletd6" | "ksecretd" => "KWallet",
        other => other,
    }
}

const INSTALL_PROVIDER: &str = "sudo apt install gnome-keyring libsecret-tools dbus-user-session   # Fedora: sudo dnf install gnome-keyring libsecret";
/// Asks for the keyring's password without echoing it.
const READ_PASSWORD: &str = "read -rs KEYRING_PASSWORD";
/// Starts gnome-keyring on this bus, unlocking (or creating) the login keyring.
const START_UNLOCKED: &str =
    "printf %s \"$KEYRING_PASSWORD\" | gnome-keyring-daemon --unlock --components=secrets";
/// A running gnome-keyring cannot be unlocked from stdin: a new one replaces it, unlocked.
const REPLACE_UNLOCKED: &str = "printf %s \"$KEYRING_PASSWORD\" | gnome-keyring-daemon --replace --unlock --components=secrets";

fn keychain_check(kc: &Keychain) -> Check {
    let provider = kc.provider.as_deref().map(|p| match provider_name(p) {
        name if name == p => p.to_string(),
        name => format!("{name} ({p})"),
    });
    let detail: Vec<String> = kc.detail.iter().cloned().collect();
    let base = Check::ok(CheckId::Keychain, "");
    match kc.state {
        KeychainState::Available => {
            let mut c = base;
            c.summary = format!(
                "{} is reachable{}",
                provider.as_deref().unwrap_or("the Secret Service"),
                match &kc.collection {
                    Some(col) => format!(", collection `{col}` unlocked"),
                    None => String::new(),
                }
            );
            c.details = detail;
            c
        }
        KeychainState::NoSessionBus => Check {
            summary: "no D-Bus session bus: Keybroker has no keychain to keep secrets in (an SSH, WSL or headless session)".into(),
            ..base
        }
        .with(
            Level::Problem,
            detail,
            Some(Fix {
                text: "install a Secret Service provider, then start a session bus with it unlocked and run Keybroker (and the hosts that start your servers) inside it; a desktop login does all of this for you".into(),
                commands: vec![
                    INSTALL_PROVIDER.into(),
                    "dbus-run-session -- \"$SHELL\"".into(),
                    READ_PASSWORD.into(),
                    START_UNLOCKED.into(),
                    "keybroker doctor".into(),
                ],
            }),
        ),
        KeychainState::NoSecretService => Check {
            summary: "a session bus, but no Secret Service on it (nothing owns org.freedesktop.secrets)".into(),
            ..base
        }
        .with(
            Level::Problem,
            detail,
            Some(Fix {
                text: "install and start a Secret Service provider on this bus: GNOME Keyring (below), KWallet, or KeePassXC with Tools > Settings > Secret Service Integration enabled".into(),
                commands: vec![
                    INSTALL_PROVIDER.into(),
                    READ_PASSWORD.into(),
                    START_UNLOCKED.into(),
                    "keybroker doctor".into(),
                ],
            }),
        ),
        KeychainState::Locked => {
            let who = provider.as_deref().unwrap_or("the Secret Service");
            let col = kc.collection.as_deref().unwrap_or("default");
            let (text, commands) = match kc.provider.as_deref().map(provider_name) {
                Some("KeePassXC") => (
                    "unlock the database in KeePassXC (the one exposed through Secret Service Integration)".to_string(),
                    Vec::new(),
                ),
                Some("KWallet") => (
                    "open the wallet in KWallet Manager (or log in to Plasma, which opens it)".to_string(),
                    Vec::new(),
                ),
                _ => (
                    format!(
                        "unlock the `{col}` keyring: log in to the desktop, or unlock it in Passwords and Keys (seahorse); without a desktop, give gnome-keyring its password on stdin"
                    ),
                    vec![
                        READ_PASSWORD.to_string(),
                        REPLACE_UNLOCKED.to_string(),
                        "keybroker doctor".into(),
                    ],
                ),
            };
            Check {
                summary: format!(
                    "{who} is running but its `{col}` collection is locked: launchers would wait for an unlock prompt"
                ),
                ..base
            }
            .with(Level::Problem, detail, Some(Fix { text, commands }))
        }
        KeychainState::Unavailable => Check {
            summary: format!(
                "{} does not work",
                provider.as_deref().unwrap_or("the keychain")
            ),
            ..base
        }
        .with(
            Level::Problem,
            detail,
            Some(Fix {
                text: "restart your keychain service (log out and in again), then run keybroker doctor".into(),
                commands: vec!["keybroker doctor".into()],
            }),
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Servers and host files

/// One host file that was read, with how many servers it holds.
struct FileSeen {
    host: Host,
    path: PathBuf,
    exists: bool,
    servers: usize,
}

/// Every server of every host file the context knows plus the files the state records;
/// a file that cannot be read is listed apart, and the rest still checked.
fn inventory_of(
    ctx: &Context,
    files: &[(Host, PathBuf)],
    state: &State,
    vault: Option<&Vault>,
) -> (Vec<ServerStatus>, Vec<FileSeen>, Vec<String>) {
    let mut unreadable = Vec::new();
    let mut files = files.to_vec();
    for (h, p) in repair::recorded_files(state, None) {
        if !files
            .iter()
            .any(|(fh, fp)| *fh == h && fsutil::same_file(fp, &p))
        {
            files.push((h, p));
        }
    }
    let mut servers: Vec<ServerStatus> = Vec::new();
    let mut seen = Vec::new();
    for (host, path) in files {
        match inventory::list_file(state, vault, host, &path, ctx.launcher_path()) {
            Ok(list) => {
                seen.push(FileSeen {
                    host,
                    exists: path.exists(),
                    path,
                    servers: list.len(),
                });
                for s in list {
                    if !servers.iter().any(|o| o.id == s.id && o.config == s.config) {
                        servers.push(s);
                    }
                }
            }
            Err(e) => unreadable.push(e.describe()),
        }
    }
    (servers, seen, unreadable)
}

fn rows(servers: &[ServerStatus], status: Status) -> Vec<&ServerStatus> {
    servers.iter().filter(|s| s.status == status).collect()
}

fn line(s: &ServerStatus) -> String {
    match &s.detail {
        Some(d) => format!("{}: {d}", s.id),
        None => s.id.clone(),
    }
}

fn launcher_check(launcher: &Path, servers: &[ServerStatus]) -> Check {
    let drift = rows(servers, Status::LauncherDrift);
    let started = servers
        .iter()
        .filter(|s| matches!(s.status, Status::Brokered | Status::Bridged))
        .count();
    let mut details: Vec<String> = drift.iter().map(|s| line(s)).collect();
    if !launcher.is_file() {
        details.insert(
            0,
            format!(
                "this installation's launcher {} does not exist",
                launcher.display()
            ),
        );
        return Check::ok(CheckId::Launcher, "the keybroker launcher is missing").with(
            Level::Problem,
            details,
            Some(Fix {
                text: "install the `keybroker` binary beside the app (reinstall the package), or run keybroker from where it is installed".into(),
                commands: Vec::new(),
            }),
        );
    }
    if drift.is_empty() {
        return Check::ok(
            CheckId::Launcher,
            format!(
                "{started} brokered entr{} start{} {}",
                if started == 1 { "y" } else { "ies" },
                if started == 1 { "s" } else { "" },
                launcher.display()
            ),
        );
    }
    Check::ok(
        CheckId::Launcher,
        format!(
            "{} entr{} start{} another keybroker than {} (moved, removed, or a wrapper)",
            drift.len(),
            if drift.len() == 1 { "y" } else { "ies" },
            if drift.len() == 1 { "s" } else { "" },
            launcher.display()
        ),
    )
    .with(
        Level::Problem,
        details,
        Some(Fix {
            text: format!(
                "point the entries Keybroker wrote at {} (only the launcher path changes; approvals stay)",
                launcher.display()
            ),
            commands: vec!["keybroker repair".into()],
        }),
    )
    .about(&drift)
}

fn hosts_check(files: &[FileSeen], servers: &[ServerStatus], unreadable: &[String]) -> Check {
    let found: Vec<&FileSeen> = files.iter().filter(|f| f.exists).collect();
    let mut details: Vec<String> = found
        .iter()
        .map(|f| {
            let mine: Vec<&ServerStatus> = servers
                .iter()
                .filter(|s| s.host == f.host.id() && fsutil::same_file(&s.config, &f.path))
                .collect();
            let brokered = mine
                .iter()
                .filter(|s| matches!(s.status, Status::Brokered | Status::Bridged))
                .count();
            let plaintext: usize = mine.iter().map(|s| s.plaintext).sum();
            format!(
                "{}: {} ({} server(s), {brokered} brokered, {plaintext} plaintext secret(s))",
                f.host.name(),
                f.path.display(),
                f.servers
            )
        })
        .collect();
    let missing = rows(servers, Status::MissingFromConfig);
    let plaintext = rows(servers, Status::PlaintextInConfig);
    let unknown = rows(servers, Status::Unknown);
    details.extend(unreadable.iter().cloned());
    details.extend(
        missing
            .iter()
            .map(|s| format!("dropped from its file: {}", line(s))),
    );
    details.extend(plaintext.iter().map(|s| format!("plaintext: {}", line(s))));
    details.extend(
        unknown
            .iter()
            .map(|s| format!("not Keybroker's: {}", line(s))),
    );
    let summary = format!(
        "{} host file(s) found, {} server(s)",
        found.len(),
        servers.len()
    );
    let mut commands: Vec<String> = Vec::new();
    for s in missing.iter().chain(plaintext.iter()) {
        let cmd = format!(
            "keybroker import {} --config {}",
            s.host,
            s.config.display()
        );
        if !commands.contains(&cmd) {
            commands.push(cmd);
        }
    }
    if !unreadable.is_empty() || !missing.is_empty() {
        return Check::ok(CheckId::Hosts, summary).with(
            Level::Problem,
            details,
            Some(Fix {
                text: if unreadable.is_empty() {
                    "a host dropped entries Keybroker brokers: import its file again to put them back".into()
                } else {
                    "correct the file(s) that cannot be read (Keybroker left them untouched); import puts dropped entries back".into()
                },
                commands,
            }),
        );
    }
    if !plaintext.is_empty() || !unknown.is_empty() {
        return Check::ok(CheckId::Hosts, summary).with(
            Level::Warn,
            details,
            Some(Fix {
                text: "move the plaintext secrets to the keychain (or leave them, if you excluded them on purpose); remove entries that name a server Keybroker wrote elsewhere".into(),
                commands,
            }),
        );
    }
    let mut c = Check::ok(CheckId::Hosts, summary);
    c.details = details;
    c
}

fn approvals_check(servers: &[ServerStatus]) -> Check {
    let changed = rows(servers, Status::CommandChanged);
    if changed.is_empty() {
        return Check::ok(CheckId::Approvals, "no changed command waits for approval");
    }
    Check::ok(
        CheckId::Approvals,
        format!(
            "{} server(s) changed since you approved them and get no secrets until approved",
            changed.len()
        ),
    )
    .with(
        Level::Problem,
        changed.iter().map(|s| line(s)).collect(),
        Some(Fix {
            text: "review each change (approve shows the approved and the new spawn side by side) and approve it if it is yours".into(),
            commands: changed
                .iter()
                .map(|s| format!("keybroker approve {}", s.id))
                .collect(),
        }),
    )
    .about(&changed)
}

fn not_checked(id: CheckId, what: &str) -> Check {
    Check::ok(
        id,
        format!("{what} not checked: the keychain is not available"),
    )
    .with(
        Level::Warn,
        Vec::new(),
        Some(Fix {
            text: "make the keychain available (see the keychain check), then run keybroker doctor again".into(),
            commands: vec!["keybroker doctor".into()],
        }),
    )
}

fn sign_in_check(servers: &[ServerStatus], vault: bool) -> Check {
    if !vault {
        return not_checked(CheckId::SignIn, "sign-ins");
    }
    let need = rows(servers, Status::NeedsSignIn);
    if need.is_empty() {
        let remote = servers.iter().filter(|s| s.transport == "http").count();
        return Check::ok(
            CheckId::SignIn,
            format!("no server needs sign-in ({remote} remote)"),
        );
    }
    Check::ok(
        CheckId::SignIn,
        format!("{} server(s) need sign-in", need.len()),
    )
    .with(
        Level::Problem,
        need.iter().map(|s| line(s)).collect(),
        Some(Fix {
            text: "sign in to each (a browser opens; add --no-browser on a machine without one)"
                .into(),
            commands: need
                .iter()
                .map(|s| format!("keybroker connect {}", s.id))
                .collect(),
        }),
    )
    .about(&need)
}

fn secrets_check(servers: &[ServerStatus], vault: bool) -> Check {
    if !vault {
        return not_checked(CheckId::Secrets, "secrets");
    }
    let missing = rows(servers, Status::MissingSecret);
    if missing.is_empty() {
        return Check::ok(CheckId::Secrets, "every bound secret is in the keychain");
    }
    Check::ok(
        CheckId::Secrets,
        format!("{} server(s) miss a secret in the keychain", missing.len()),
    )
    .with(
        Level::Problem,
        missing.iter().map(|s| line(s)).collect(),
        Some(Fix {
            text: "set each missing secret again".into(),
            commands: missing
                .iter()
                .filter_map(|s| {
                    s.detail
                        .as_deref()
                        .and_then(|d| d.split('`').nth(1))
                        .map(str::to_string)
                })
                .collect(),
        }),
    )
    .about(&missing)
}

fn audit_check(ctx: &Context) -> Check {
    let path = ctx.audit.path().display().to_string();
    match ctx.audit.verify() {
        Ok(r) if r.ok => {
            let mut c = Check::ok(
                CheckId::Audit,
                if r.lines == 0 {
                    format!("no events yet ({path})")
                } else {
                    format!("{} event(s), hash chain intact ({path})", r.lines)
                },
            );
            c.details = r.notes;
            c
        }
        Ok(r) => Check::ok(
            CheckId::Audit,
            format!(
                "the audit log was changed outside Keybroker: {} problem(s) ({path})",
                r.problems.len()
            ),
        )
        .with(
            Level::Problem,
            r.problems.iter().map(|p| p.message.clone()).collect(),
            Some(Fix {
                text: "compare the log with a backup and do not trust the events around the lines named; `keybroker audit verify` lists every problem".into(),
                commands: vec!["keybroker audit verify".into()],
            }),
        ),
        Err(e) => Check::ok(CheckId::Audit, format!("the audit log cannot be read ({path})"))
            .with(
                Level::Problem,
                vec![e.to_string()],
                Some(Fix {
                    text: e
                        .fix()
                        .unwrap_or_else(|| format!("check the permissions of {path}")),
                    commands: Vec::new(),
                }),
            ),
    }
}

fn autostart_check(file: Option<&Path>) -> Check {
    let Some(file) = file else {
        return Check::ok(
            CheckId::Autostart,
            "the app does not start at login (no home directory)",
        );
    };
    let Ok(text) = std::fs::read_to_string(file) else {
        return Check::ok(
            CheckId::Autostart,
            format!(
                "the app does not start at login (no {}; turn on Start at login in the app)",
                file.display()
            ),
        );
    };
    let exec = text
        .lines()
        .find_map(|l| l.strip_prefix("Exec="))
        .map(str::trim)
        .unwrap_or_default();
    let program = shell_words::split(exec)
        .ok()
        .and_then(|w| w.into_iter().next())
        .unwrap_or_default();
    if !program.is_empty() && Path::new(&program).is_absolute() && !Path::new(&program).is_file() {
        return Check::ok(
            CheckId::Autostart,
            format!(
                "the app's login entry {} starts {program}, which does not exist",
                file.display()
            ),
        )
        .with(
            Level::Warn,
            Vec::new(),
            Some(Fix {
                text: "turn Start at login off and on again in the app (it writes the entry for where it is installed now)".into(),
                commands: Vec::new(),
            }),
        );
    }
    Check::ok(
        CheckId::Autostart,
        format!("the app starts at login ({})", file.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::paths::Paths;
    use std::sync::Arc;

    fn available() -> Keychain {
        Keychain {
            state: KeychainState::Available,
            provider: Some("gnome-keyring-daemon".into()),
            collection: Some("login".into()),
            detail: None,
        }
    }

    fn mock_vault() -> Vault {
        let store: Arc<keyring_core::api::CredentialStore> =
            keyring_core::mock::Store::new().expect("mock store");
        Vault::with_store(store, "keybroker-test")
    }

    /// A context over empty temp dirs whose launcher exists.
    fn ctx(dir: &Path, _config: &Path) -> Context {
        let launcher = dir.join("keybroker");
        std::fs::write(&launcher, b"").expect("launcher");
        Context::new(Paths::under(&dir.join("home")), launcher)
    }

    fn claude(config: &Path) -> Vec<(Host, PathBuf)> {
        vec![(Host::ClaudeDesktop, config.to_path_buf())]
    }

    #[test]
    fn a_fresh_install_with_a_keychain_is_ok_and_needs_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("claude.json");
        let ctx = ctx(dir.path(), &config);
        let v = mock_vault();
        let r = report(&ctx, &claude(&config), available(), Some(&v), None);
        assert_eq!(r.status, Level::Ok, "{r:#?}");
        assert!(!r.needs_user);
        for id in [
            CheckId::Keychain,
            CheckId::Launcher,
            CheckId::Hosts,
            CheckId::Approvals,
            CheckId::SignIn,
            CheckId::Secrets,
            CheckId::Audit,
            CheckId::Autostart,
        ] {
            let c = r.check(id).unwrap_or_else(|| panic!("{id:?} in {r:#?}"));
            assert_eq!(c.status, Level::Ok, "{c:#?}");
            assert!(c.fix.is_none());
        }
        let kc = r.check(CheckId::Keychain).expect("keychain");
        assert!(
            kc.summary.contains("GNOME Keyring (gnome-keyring-daemon)"),
            "{}",
            kc.summary
        );
    }

    #[test]
    fn every_keychain_state_but_available_is_a_problem_with_commands_to_run() {
        for (state, must) in [
            (KeychainState::NoSessionBus, "dbus-run-session"),
            (
                KeychainState::NoSecretService,
                "gnome-keyring-daemon --unlock",
            ),
            (
                KeychainState::Locked,
                "gnome-keyring-daemon --replace --unlock",
            ),
            (KeychainState::Unavailable, "keybroker doctor"),
        ] {
            let kc = Keychain {
                state,
                ..available()
            };
            let c = keychain_check(&kc);
            assert_eq!(c.status, Level::Problem, "{state:?}");
            let fix = c.fix.expect("a fix");
            assert!(
                fix.commands.iter().any(|cmd| cmd.contains(must)),
                "{state:?}: {fix:?}"
            );
        }
        let kp = keychain_check(&Keychain {
            state: KeychainState::Locked,
            provider: Some("keepassxc".into()),
            ..available()
        });
        assert!(kp.fix.expect("fix").text.contains("KeePassXC"));
    }

    #[test]
    fn without_a_keychain_secrets_and_sign_ins_are_not_checked_and_say_so() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = ctx(dir.path(), &dir.path().join("claude.json"));
        let kc = Keychain {
            state: KeychainState::NoSessionBus,
            provider: None,
            collection: None,
            detail: None,
        };
        let r = report(&ctx, &[], kc, None, None);
        assert!(r.needs_user);
        assert_eq!(r.status, Level::Problem);
        for id in [CheckId::SignIn, CheckId::Secrets] {
            let c = r.check(id).expect("check");
            assert_eq!(c.status, Level::Warn);
            assert!(c.summary.contains("not checked"), "{}", c.summary);
        }
    }

    #[test]
    fn an_unreadable_host_file_is_a_problem_naming_the_file_and_the_rest_is_still_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("claude.json");
        std::fs::write(&config, b"{\"mcpServers\": {").expect("write");
        let ctx = ctx(dir.path(), &config);
        let v = mock_vault();
        let r = report(&ctx, &claude(&config), available(), Some(&v), None);
        let hosts = r.check(CheckId::Hosts).expect("hosts");
        assert_eq!(hosts.status, Level::Problem);
        assert!(
            hosts.details.iter().any(|d| d.contains("claude.json")),
            "{hosts:#?}"
        );
        assert_eq!(r.check(CheckId::Audit).expect("audit").status, Level::Ok);
    }

    #[test]
    fn an_autostart_entry_is_reported_and_one_starting_a_missing_program_is_a_warning() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("Keybroker.desktop");
        assert_eq!(autostart_check(Some(&file)).status, Level::Ok);
        assert!(
            autostart_check(Some(&file))
                .summary
                .contains("does not start")
        );
        let exe = std::env::current_exe().expect("exe");
        std::fs::write(
            &file,
            format!(
                "[Desktop Entry]\nType=Application\nExec={} --hidden\n",
                exe.display()
            ),
        )
        .expect("write");
        let c = autostart_check(Some(&file));
        assert_eq!(c.status, Level::Ok);
        assert!(c.summary.contains("starts at login"), "{}", c.summary);
        std::fs::write(
            &file,
            "[Desktop Entry]\nExec=/nonexistent/keybroker-app --hidden\n",
        )
        .expect("write");
        assert_eq!(autostart_check(Some(&file)).status, Level::Warn);
    }

    #[test]
    fn the_autostart_name_is_the_apps_product_name() {
        let conf = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("src-tauri/tauri.conf.json"),
        )
        .expect("tauri.conf.json");
        let v: serde_json::Value = serde_json::from_str(&conf).expect("json");
        assert_eq!(v["productName"], APP_NAME);
    }

    #[test]
    fn the_json_shape_names_levels_states_and_checks_in_lower_case() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = ctx(dir.path(), &dir.path().join("claude.json"));
        let kc = Keychain {
            state: KeychainState::NoSecretService,
            provider: None,
            collection: None,
            detail: Some("nothing".into()),
        };
        let v = serde_json::to_value(report(&ctx, &[], kc, None, None)).expect("json");
        assert_eq!(v["version"], 1);
        assert_eq!(v["status"], "problem");
        assert_eq!(v["needs_user"], true);
        assert_eq!(v["keychain"]["state"], "no-secret-service");
        let ids: Vec<&str> = v["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .filter_map(|c| c["id"].as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "keychain",
                "launcher",
                "hosts",
                "approvals",
                "sign-in",
                "secrets",
                "audit",
                "autostart"
            ]
        );
        assert_eq!(v["checks"][0]["fix"]["commands"][0], INSTALL_PROVIDER);
    }
}
