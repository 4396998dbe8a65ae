//! The tray app's view of the core: view models and actions for the Servers, Import and
//! Audit views (and Sign in for remote servers), each one call away from an IPC command;
//! the one status (`status`), the first run (`first_run`), the Credentials view
//! (`credentials`), Add server (`add_server`), a server's Tools panel (`tools`) and the
//! Health view (`doctor`) live in their own modules.
//!
//! Everything the app does lives here, so the Tauri crate stays a thin shell and the CLI
//! and the app cannot drift apart on what "Connect" or "Disconnect" mean. Nothing here
//! returns a secret value: secrets only come *in* (as [`Secret`]) and go to the keychain.
//! Types that cross into the webview derive `ts_rs::TS` (feature `ts`) so the UI's
//! TypeScript bindings are generated from them.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub mod add_server;
pub mod credentials;
pub mod doctor;
pub mod first_run;
pub mod status;
pub mod tools;

pub use credentials::ReleaseView;
pub use status::{Notice, StatusLevel, StatusView};

use crate::base::error::{Error, ErrorCode, Result};
use crate::base::report::Reporter;
use crate::config::hosts::Host;
use crate::oauth::flow::Browser;
pub use crate::ops::context::Context;
use crate::ops::import::{self, Action, ImportRequest};
use crate::ops::inventory::{self, Status};
use crate::store::audit::{Event, EventKind, Filter, Outcome, Target};
use crate::store::state::State;
use crate::store::vault::Vault;

/// An error as the UI sees it: a stable code to branch on (the UI turns some codes into
/// a button, e.g. `needs_sign_in` into Sign in), the message, and the remedy in words for
/// when there is no button.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErrorView {
    pub code: ErrorCode,
    pub message: String,
    pub fix: Option<String>,
}

impl ErrorView {
    /// An error that did not come from the core (the app's own plumbing).
    pub fn other(message: impl Into<String>, fix: impl Into<String>) -> ErrorView {
        ErrorView {
            code: ErrorCode::Other,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }
}

impl From<Error> for ErrorView {
    fn from(e: Error) -> Self {
        ErrorView {
            code: e.code(),
            message: e.to_string(),
            fix: e.fix(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Servers

/// A server's state, as the tray and the Servers view name it.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum ServerState {
    Brokered,
    NeedsSecret,
    PlaintextInConfig,
    CommandChanged,
    /// The entry starts a `keybroker` that is not the app's launcher.
    LauncherDrift,
    NeedsSignIn,
    NoSecrets,
    MissingFromConfig,
    NotBrokered,
    Unsupported,
    /// The tool guard holds a new or changed tool until the user approves it.
    ToolsHeld,
}

impl ServerState {
    fn from_status(s: Status) -> ServerState {
        match s {
            Status::Brokered => ServerState::Brokered,
            Status::MissingSecret => ServerState::NeedsSecret,
            Status::PlaintextInConfig => ServerState::PlaintextInConfig,
            Status::CommandChanged => ServerState::CommandChanged,
            Status::LauncherDrift => ServerState::LauncherDrift,
            Status::Bridged => ServerState::Brokered,
            Status::NeedsSignIn | Status::Remote => ServerState::NeedsSignIn,
            Status::NoSecrets => ServerState::NoSecrets,
            Status::MissingFromConfig => ServerState::MissingFromConfig,
            Status::Unknown => ServerState::NotBrokered,
            Status::Unsupported => ServerState::Unsupported,
            Status::ToolsHeld => ServerState::ToolsHeld,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            ServerState::Brokered => "brokered",
            ServerState::NeedsSecret => "needs a secret",
            ServerState::PlaintextInConfig => "plaintext in config",
            ServerState::CommandChanged => "command changed",
            ServerState::LauncherDrift => "launcher moved",
            ServerState::NeedsSignIn => "needs sign-in",
            ServerState::NoSecrets => "no secrets",
            ServerState::MissingFromConfig => "missing from config",
            ServerState::NotBrokered => "not brokered",
            ServerState::Unsupported => "unsupported entry",
            ServerState::ToolsHeld => "tools held",
        }
    }

    /// Something waits for the user (the tray switches to "needs attention").
    pub fn needs_attention(self) -> bool {
        matches!(
            self,
            ServerState::NeedsSecret
                | ServerState::PlaintextInConfig
                | ServerState::CommandChanged
                | ServerState::LauncherDrift
                | ServerState::MissingFromConfig
                | ServerState::NotBrokered
                | ServerState::ToolsHeld
                | ServerState::NeedsSignIn
        )
    }
}

/// What the user can do with a server.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum ServerAction {
    /// Type the missing secret(s) (`missing` names them) or name a new env var.
    Connect,
    /// Move the plaintext secrets of this one entry into the keychain.
    MoveToKeychain,
    Rotate,
    Disconnect,
    Approve,
    /// Sign in to a remote server in the browser (OAuth); the tokens go to the keychain.
    SignIn,
    /// Point the entry back at the app's launcher (nothing else in it changes).
    Repair,
    /// Review the held tools in the server's Tools panel (the card opens the panel of
    /// every server in `tools` too; this is the fix when tools wait).
    Tools,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ServerView {
    pub id: String,
    pub host: String,
    pub name: String,
    pub transport: String,
    pub state: ServerState,
    pub state_text: String,
    pub needs_attention: bool,
    /// `credential -> target`, never a value.
    pub credentials: Vec<String>,
    /// Env var names whose secret is bound but missing from the keychain.
    pub missing: Vec<String>,
    /// Env var names already bound (what Rotate offers).
    pub bound_env: Vec<String>,
    pub detail: Option<String>,
    pub actions: Vec<ServerAction>,
    /// The last time a host started it with its secrets (the audit's `released`).
    pub last_received: Option<ReleaseView>,
    /// Its tool guard, for a server Keybroker starts (`null`: not one of Keybroker's).
    pub tools: Option<ToolsSummary>,
}

/// What a server card says about its tools (the Tools panel has the rest).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ToolsSummary {
    pub guarded: bool,
    /// Tools held until the user approves them.
    pub held: u32,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HostGroup {
    pub host: String,
    pub label: String,
    pub config: String,
    pub config_exists: bool,
    pub servers: Vec<ServerView>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ServersView {
    pub groups: Vec<HostGroup>,
    /// How many servers wait for the user (`status.attention`).
    pub attention: u32,
    /// One line for the tray's status entry (`status.summary`).
    pub summary: String,
    /// The one status the tray, the window and the notifications show.
    pub status: StatusView,
}

fn host_label(host: &str) -> String {
    Host::parse(host).map_or_else(|_| host.to_string(), |h| h.name().to_string())
}

/// Every server of every known host config, grouped by host, with its actions.
pub fn servers(ctx: &Context) -> Result<ServersView> {
    let state = State::load(&ctx.paths)?;
    let vault = ctx.vault().ok();
    let configs = ctx.configs()?;
    let list = inventory::list(&state, vault.as_ref(), &configs, ctx.launcher_path())?;
    let mut groups: Vec<HostGroup> = configs
        .iter()
        .map(|(h, p)| HostGroup {
            host: h.id().to_string(),
            label: host_label(h.id()),
            config: p.display().to_string(),
            config_exists: p.exists(),
            servers: Vec::new(),
        })
        .collect();
    let last = credentials::last_received(ctx)?;
    for st in list {
        let mut view = server_view(&state, vault.as_ref(), st)?;
        view.last_received = last.get(&view.id).cloned();
        match groups.iter_mut().find(|g| g.host == view.host) {
            Some(g) => g.servers.push(view),
            None => groups.push(HostGroup {
                host: view.host.clone(),
                label: host_label(&view.host),
                config: String::new(),
                config_exists: false,
                servers: vec![view],
            }),
        }
    }
    // A host with neither a file nor a server has nothing to show (a first start on a
    // machine without Claude Desktop is not an empty "not found" page).
    groups.retain(|g| g.config_exists || !g.servers.is_empty());
    let status = status::status(&groups);
    Ok(ServersView {
        groups,
        attention: status.attention,
        summary: status.summary.clone(),
        status,
    })
}

fn server_view(
    state: &State,
    vault: Option<&Vault>,
    st: inventory::ServerStatus,
) -> Result<ServerView> {
    let s = ServerState::from_status(st.status);
    // A bridged OAuth server that is not signed in: the Sign in button is the fix, so the
    // CLI remedy in the detail goes. (An unmanaged remote entry has nothing to sign in.)
    let sign_in = st.status == inventory::Status::NeedsSignIn;
    let mut missing = Vec::new();
    let mut bound_env = Vec::new();
    if let Some(server) = state.servers.get(&st.id) {
        for b in &server.bindings {
            let Some(env) = b.target.strip_prefix("env:") else {
                continue;
            };
            bound_env.push(env.to_string());
            if let Some(v) = vault
                && v.get(&b.credential)?.is_none()
            {
                missing.push(env.to_string());
            }
        }
    }
    let in_state = state.servers.contains_key(&st.id);
    let tools = state.servers.get(&st.id).map(|server| ToolsSummary {
        guarded: server.guard.is_some(),
        held: server.guard.as_ref().map_or(0, |g| {
            let held = g.tools.values().filter(|t| t.held.is_some()).count();
            u32::try_from(held).unwrap_or(u32::MAX)
        }),
    });
    let mut actions = Vec::new();
    match s {
        ServerState::PlaintextInConfig => actions.push(ServerAction::MoveToKeychain),
        ServerState::CommandChanged => actions.push(ServerAction::Approve),
        ServerState::LauncherDrift => actions.push(ServerAction::Repair),
        // Brokered servers change secrets with Rotate; remote ones sign in (OAuth).
        ServerState::NeedsSignIn if sign_in => actions.push(ServerAction::SignIn),
        // Held tools: reviewing them in the Tools panel is the fix.
        ServerState::ToolsHeld => actions.push(ServerAction::Tools),
        ServerState::Brokered | ServerState::NeedsSignIn | ServerState::Unsupported => {}
        _ => actions.push(ServerAction::Connect),
    }
    if in_state
        && !bound_env.is_empty()
        && !matches!(s, ServerState::CommandChanged | ServerState::LauncherDrift)
    {
        actions.push(ServerAction::Rotate);
        actions.push(ServerAction::Disconnect);
    }
    Ok(ServerView {
        id: st.id,
        host: st.host,
        name: st.name,
        transport: st.transport.to_string(),
        state: s,
        state_text: s.text().to_string(),
        needs_attention: s.needs_attention(),
        credentials: st.credentials,
        missing,
        bound_env,
        detail: if sign_in { None } else { st.detail },
        actions,
        last_received: None,
        tools,
    })
}

/// Move the plaintext secrets of one entry into the keychain (an import of that entry).
/// An entry whose brokered command changed is refused with `needs_approval` (nothing
/// moves): the UI shows the approval view, and [`approve`] moves them once approved.
pub fn move_to_keychain(ctx: &Context, server_id: &str, now: &str) -> Result<String> {
    let (host, name) = crate::ops::secrets::split_id(server_id)?;
    let applied = apply_import(ctx, host.id(), &[], Some(name), now)?;
    Ok(format!(
        "Moved {} secret(s) of {server_id} into the keychain.",
        applied.credentials_stored
    ))
}

/// Repair: point `server_id`'s entry at the app's launcher, in the file its record names.
/// Nothing else in the entry, and no approval, changes.
pub fn repair(ctx: &Context, server_id: &str, now: &str) -> Result<String> {
    let state = State::load(&ctx.paths)?;
    let server = state.server(server_id)?;
    let host = Host::parse(&server.host)?;
    let launcher = ctx.launcher()?;
    let plan = crate::ops::repair::plan_repair(
        &state,
        host,
        &server.config_path,
        launcher,
        Some(server_id),
    )?;
    if plan.entries.is_empty() {
        return Ok(format!(
            "{server_id} already starts {}.",
            launcher.display()
        ));
    }
    crate::ops::repair::apply_repair(&plan, &ctx.audit, now)?;
    Ok(format!(
        "{server_id} starts {} again. Restart the host's server for it to take effect.",
        launcher.display()
    ))
}

/// A changed command waiting for approval: old and new, in full.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ApprovalView {
    pub server_id: String,
    pub old_command: Vec<String>,
    pub new_command: Vec<String>,
    pub old_env_keys: Vec<String>,
    pub new_env_keys: Vec<String>,
    /// The approved spawn in full; `null` for an approval from an earlier version, which
    /// kept only the command line and env names.
    pub old: Option<SpawnView>,
    pub new: SpawnView,
    /// The parts that differ, one line each.
    pub changes: Vec<String>,
    /// Where the new entry holds a plaintext secret (`env:NAME`, `arg:N`): it cannot be
    /// approved until it is moved to the keychain.
    pub plaintext: Vec<String>,
}

/// One side of an approval: everything that decides what runs. No secret value: bound
/// secrets are not in an entry's env, and secret-looking values are not recorded.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SpawnView {
    /// `command` as the entry writes it.
    pub program: String,
    /// Where it resolved (`null`: not found).
    pub resolved: Option<String>,
    pub args: Vec<String>,
    /// Env names and values the entry sets.
    pub env: BTreeMap<String, String>,
    pub cwd: Option<String>,
    /// Other keys that change what runs, each value as JSON text.
    pub keys: BTreeMap<String, String>,
    /// The PATH and directory the program was resolved in.
    pub path_var: Option<String>,
    pub resolved_cwd: String,
    /// It names something relative: it runs only from `resolved_cwd`.
    pub cwd_bound: bool,
}

impl From<&crate::store::state::Spawn> for SpawnView {
    fn from(s: &crate::store::state::Spawn) -> SpawnView {
        SpawnView {
            program: s.program.clone(),
            resolved: s.resolved.clone(),
            args: s.args.clone(),
            env: s.env.clone(),
            cwd: s.cwd.clone(),
            keys: s
                .keys
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
            path_var: s.path_var.clone(),
            resolved_cwd: s.resolved_cwd.clone(),
            cwd_bound: s.cwd_bound,
        }
    }
}

impl From<crate::ops::launch::Approval> for ApprovalView {
    fn from(a: crate::ops::launch::Approval) -> ApprovalView {
        ApprovalView {
            changes: a
                .old_spawn
                .as_ref()
                .map(|o| crate::ops::spawn::differences(o, &a.new_spawn))
                .unwrap_or_default(),
            old: a.old_spawn.as_ref().map(SpawnView::from),
            new: SpawnView::from(&a.new_spawn),
            plaintext: a.plaintext,
            server_id: a.server_id,
            old_command: a.old_command,
            new_command: a.new_command,
            old_env_keys: a.old_env_keys,
            new_env_keys: a.new_env_keys,
        }
    }
}

/// The approval `server_id` waits for. When its entry also holds a new plaintext secret,
/// the new side is the entry as it will be once that secret is in the keychain (what
/// approving records; no secret in it).
pub fn pending_approval(ctx: &Context, server_id: &str) -> Result<Option<ApprovalView>> {
    let state = State::load(&ctx.paths)?;
    let server = state.server(server_id)?;
    let Some(approval) = crate::ops::launch::pending_approval(server)? else {
        return Ok(None);
    };
    if approval.plaintext.is_empty() {
        return Ok(Some(ApprovalView::from(approval)));
    }
    let (plan, _) = plan_server(ctx, &state, server_id, &[])?;
    Ok(plan
        .servers
        .into_iter()
        .find(|sp| sp.id == server_id)
        .and_then(|sp| sp.approval)
        .map(ApprovalView::from))
}

/// Approve the command the config has now. `expected` is the command the user saw: if
/// the file changed again since, nothing is approved. An entry that also holds a new
/// plaintext secret is imported with the approval: the secret moves to the keychain and
/// the new command is recorded, in one step.
pub fn approve(ctx: &Context, server_id: &str, expected: &[String], now: &str) -> Result<String> {
    let state = State::load(&ctx.paths)?;
    let server = state.server(server_id)?;
    let Some(approval) = crate::ops::launch::pending_approval(server)? else {
        return Ok(format!("{server_id}: nothing to approve"));
    };
    let changed = || Error::ConfigChanged {
        path: server.config_path.clone(),
    };
    if !approval.plaintext.is_empty() {
        let approve = [server_id.to_string()];
        let (plan, vault) = plan_server(ctx, &state, server_id, &approve)?;
        let shown = plan
            .servers
            .iter()
            .find(|sp| sp.id == server_id && sp.approved)
            .and_then(|sp| sp.approval.as_ref())
            .ok_or_else(changed)?;
        if shown.new_command != expected {
            return Err(changed());
        }
        let applied = import::apply_import(&plan, &vault, &ctx.paths, &ctx.audit, now)?;
        return Ok(format!(
            "Approved the new command of {server_id} and moved {} secret(s) into the keychain.",
            applied.credentials_stored
        ));
    }
    if approval.new_command != expected {
        return Err(changed());
    }
    crate::ops::launch::approve(&ctx.paths, &ctx.audit, &approval, now)?;
    Ok(format!("Approved the new command of {server_id}."))
}

/// The import plan of server `server_id`'s entry alone, in the file its record names,
/// with `approve` (empty, or that server) approved.
fn plan_server(
    ctx: &Context,
    state: &State,
    server_id: &str,
    approve: &[String],
) -> Result<(import::Plan, Vault)> {
    let server = state.server(server_id)?;
    let host = Host::parse(&server.host)?;
    let vault = ctx.vault()?;
    let req = ImportRequest {
        host,
        config_path: &server.config_path,
        exclude: &[],
        launcher: ctx.launcher()?,
        only: Some(server_id),
        set_env: None,
        approve,
        keybroker_home: ctx.paths.home.as_deref(),
    };
    let plan = import::plan_import(&req, state, &vault)?;
    Ok((plan, vault))
}

// ---------------------------------------------------------------------------------------
// Sign in (remote servers)

/// How long the app waits for the browser before giving up on a sign-in.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(300);

/// The sign-ins waiting for the browser, by server id, so Cancel can reach them and a
/// second click does not start a second flow. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct SignIns(Arc<Mutex<HashMap<String, Arc<AtomicBool>>>>);

impl SignIns {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<AtomicBool>>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stop the sign-in of `server_id` that waits for the browser. `false`: none runs.
    pub fn cancel(&self, server_id: &str) -> bool {
        match self.lock().get(server_id) {
            Some(flag) => {
                flag.store(true, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }

    /// Whether a sign-in of `server_id` is under way.
    pub fn running(&self, server_id: &str) -> bool {
        self.lock().contains_key(server_id)
    }

    fn begin(&self, server_id: &str) -> Result<SignInTicket<'_>> {
        let mut map = self.lock();
        if map.contains_key(server_id) {
            return Err(Error::other(
                format!("a sign-in to {server_id} is already waiting for the browser"),
                "finish it in the browser, or cancel it first",
            ));
        }
        let flag = Arc::new(AtomicBool::new(false));
        map.insert(server_id.to_string(), flag.clone());
        Ok(SignInTicket {
            owner: self,
            server_id: server_id.to_string(),
            flag,
        })
    }
}

/// One registered sign-in; leaves the registry when dropped (finished, failed or
/// cancelled).
struct SignInTicket<'a> {
    owner: &'a SignIns,
    server_id: String,
    flag: Arc<AtomicBool>,
}

impl Drop for SignInTicket<'_> {
    fn drop(&mut self) {
        self.owner.lock().remove(&self.server_id);
    }
}

/// Sign in to remote server `server_id` in the browser (`browser`: the system browser in
/// the app; tests play it through [`Browser::Hook`]). Blocks until the browser comes back,
/// `timeout` passes or [`SignIns::cancel`] is called, so callers run it off the UI thread.
/// The tokens go to the keychain; the answer is a sentence without any of them. `report`
/// hears the sign-in URL and warnings (the app logs them).
pub fn sign_in(
    ctx: &Context,
    sign_ins: &SignIns,
    server_id: &str,
    browser: Browser,
    timeout: Duration,
    now: &str,
    report: &Reporter,
) -> Result<String> {
    let ticket = sign_ins.begin(server_id)?;
    let opts = crate::ops::signin::Options {
        browser,
        timeout,
        cancel: Some(&ticket.flag),
        report,
    };
    let message = crate::ops::signin::connect(
        &ctx.paths,
        &ctx.audit,
        || ctx.vault(),
        server_id,
        &opts,
        now,
    )?;
    drop(ticket);
    let mut chars = message.chars();
    Ok(match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => message,
    })
}

// ---------------------------------------------------------------------------------------
// Import

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DetectedHost {
    pub host: String,
    pub label: String,
    pub config: String,
    pub exists: bool,
}

/// The hosts whose config Keybroker can import, and where their file is.
pub fn detect_hosts(ctx: &Context) -> Result<Vec<DetectedHost>> {
    Ok(ctx
        .configs()?
        .into_iter()
        .map(|(h, p)| DetectedHost {
            host: h.id().to_string(),
            label: host_label(h.id()),
            exists: p.exists(),
            config: p.display().to_string(),
        })
        .collect())
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MoveView {
    pub target: String,
    /// What to send back in `exclude` to leave this finding alone.
    pub selector: String,
    pub rule_text: String,
    /// The value, masked.
    pub masked: String,
    pub credential: String,
    pub reused: bool,
    pub excluded: bool,
    /// What the string holding the secret becomes when only part of it moves or it
    /// changes shape (placeholders where the secrets were; no secret in it).
    pub becomes: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ServerPlanView {
    pub name: String,
    pub id: String,
    pub action: String,
    pub action_text: String,
    pub changes: bool,
    pub moves: Vec<MoveView>,
    pub notes: Vec<String>,
    /// The rewritten entry (pretty JSON, no secret in it).
    pub new_entry: Option<String>,
    /// For `needs-approval`: the approved and the new command, in full.
    pub approval: Option<ApprovalView>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PlanView {
    pub host: String,
    pub config: String,
    pub changes: bool,
    pub servers: Vec<ServerPlanView>,
}

fn action_names(a: &Action) -> (&'static str, String) {
    match a {
        Action::Broker => ("broker", "secrets move to the keychain".into()),
        Action::UpdateLauncher => ("update-launcher", "launcher path updated".into()),
        Action::Bind => ("bind", "entry bound to this file".into()),
        Action::AlreadyBrokered => ("already-brokered", "already brokered".into()),
        Action::NothingToDo => ("nothing-to-do", "no secrets found".into()),
        Action::Excluded => ("excluded", "left as is (excluded)".into()),
        Action::NeedsApproval => (
            "needs-approval",
            "command changed: left as is until you approve it".into(),
        ),
        Action::Remote => ("remote", "remote server: left as is".into()),
        Action::Unsupported(why) => ("unsupported", format!("left as is: {why}")),
    }
}

fn plan_for(
    ctx: &Context,
    host: &str,
    exclude: &[String],
    only: Option<&str>,
) -> Result<(import::Plan, Result<Vault>)> {
    let host = Host::parse(host)?;
    let config = ctx.config_for(host)?;
    if !config.exists() {
        return Err(Error::other(
            format!("{} does not exist", config.display()),
            format!(
                "start {} once so it creates its config, or set {}",
                host_label(host.id()),
                crate::ops::context::config_env(host).to_string_lossy()
            ),
        ));
    }
    let launcher = ctx.launcher()?;
    let state = State::load(&ctx.paths)?;
    // The plan is shown without a keychain too (an invalid file is reported first);
    // applying it needs one.
    let vault = ctx.vault();
    let req = ImportRequest {
        host,
        config_path: &config,
        exclude,
        launcher,
        only,
        set_env: None,
        approve: &[],
        keybroker_home: ctx.paths.home.as_deref(),
    };
    let mut plans =
        import::plan_import_all_with(std::slice::from_ref(&req), &state, vault.as_ref().ok())?;
    let plan = plans
        .pop()
        .ok_or_else(|| Error::other("no plan", "report this bug"))?;
    Ok((plan, vault))
}

/// The masked import plan: what moves where and the new entries. Changes nothing.
pub fn plan_import(ctx: &Context, host: &str, exclude: &[String]) -> Result<PlanView> {
    let (plan, _) = plan_for(ctx, host, exclude, None)?;
    Ok(plan_view(&plan))
}

/// The masked view of an import plan.
fn plan_view(plan: &import::Plan) -> PlanView {
    PlanView {
        host: plan.host.id().to_string(),
        config: plan.config_path.display().to_string(),
        changes: plan.changes(),
        servers: plan
            .servers
            .iter()
            .map(|s| {
                let (action, action_text) = action_names(&s.action);
                ServerPlanView {
                    name: s.name.clone(),
                    id: s.id.clone(),
                    action: action.to_string(),
                    action_text,
                    changes: s.changes(),
                    moves: s
                        .moves
                        .iter()
                        .map(|m| MoveView {
                            target: m.target.clone(),
                            selector: m.selector.clone(),
                            rule_text: m.rule_text.to_string(),
                            masked: m.masked.clone(),
                            credential: m.credential.clone(),
                            reused: m.reused,
                            excluded: m.excluded,
                            becomes: m.becomes.clone(),
                        })
                        .collect(),
                    notes: s.notes.clone(),
                    new_entry: s
                        .new_entry
                        .as_ref()
                        .and_then(|v| serde_json::to_string_pretty(v).ok()),
                    approval: s.approval.clone().map(ApprovalView::from),
                }
            })
            .collect(),
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportResult {
    pub servers: Vec<String>,
    pub credentials_stored: u32,
    pub message: String,
}

/// Apply the plan (re-planned now, so it matches the file as it is).
pub fn apply_import(
    ctx: &Context,
    host: &str,
    exclude: &[String],
    only: Option<&str>,
    now: &str,
) -> Result<ImportResult> {
    let (plan, vault) = plan_for(ctx, host, exclude, only)?;
    let vault = vault?;
    // One entry asked for by name that needs approval: say so, so the UI can show the
    // approval view instead of a plan that silently left it as is.
    if only.is_some()
        && let Some(sp) = plan
            .servers
            .iter()
            .find(|sp| sp.action == Action::NeedsApproval)
    {
        return Err(Error::NeedsApproval {
            server: sp.id.clone(),
            message: format!(
                "the command of {} changed since you approved it; its secrets stay in the file until you review and approve the new command",
                sp.id
            ),
            fix: format!(
                "review it: `keybroker import {} --config {} --approve {}`",
                plan.host.id(),
                plan.config_path.display(),
                sp.id
            ),
        });
    }
    let applied = import::apply_import(&plan, &vault, &ctx.paths, &ctx.audit, now)?;
    let message = format!(
        "Rewrote {} entr{}; {} secret(s) stored in the keychain. Restart the host to use them.",
        applied.servers.len(),
        if applied.servers.len() == 1 {
            "y"
        } else {
            "ies"
        },
        applied.credentials_stored
    );
    Ok(ImportResult {
        servers: applied.servers,
        credentials_stored: u32::try_from(applied.credentials_stored).unwrap_or(u32::MAX),
        message,
    })
}

/// Undo: put the original entries back, secret values included (as they were before the
/// import). The values also stay in the keychain.
pub fn undo_import(ctx: &Context, host: &str, now: &str) -> Result<String> {
    let host = Host::parse(host)?;
    let config = ctx.config_for(host)?;
    let state = State::load(&ctx.paths)?;
    let vault = ctx.vault()?;
    let plan = import::plan_restore(host, &config, &state, &vault, true)?;
    if plan.servers.is_empty() {
        return Ok(format!(
            "No brokered entries in {}; nothing to undo.",
            config.display()
        ));
    }
    import::apply_restore(&plan, &ctx.paths, &ctx.audit, now)?;
    Ok(format!(
        "Restored {} original entr{}. Restart the host to use them.",
        plan.servers.len(),
        if plan.servers.len() == 1 { "y" } else { "ies" }
    ))
}

// ---------------------------------------------------------------------------------------
// Audit

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuditFilter {
    #[serde(default)]
    pub server: Option<String>,
    #[serde(default)]
    pub credential: Option<String>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub event: Option<String>,
    /// RFC 3339, inclusive.
    #[serde(default)]
    pub since: Option<String>,
    /// RFC 3339, inclusive.
    #[serde(default)]
    pub until: Option<String>,
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_ref()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

impl AuditFilter {
    fn to_core(&self) -> Filter {
        Filter {
            server: non_empty(&self.server),
            credential: non_empty(&self.credential),
            host: non_empty(&self.host),
            kind: non_empty(&self.event).map(|k| EventKind::from(k.as_str())),
            since: non_empty(&self.since),
            until: non_empty(&self.until),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuditRow {
    pub time: String,
    #[cfg_attr(feature = "ts", ts(as = "String"))]
    pub event: EventKind,
    pub server: Option<String>,
    pub host: Option<String>,
    pub credential: Option<String>,
    #[cfg_attr(feature = "ts", ts(as = "Option<String>"))]
    pub target: Option<Target>,
    /// The MCP tool a tool-guard event is about.
    pub tool: Option<String>,
    /// How long a tool call took.
    #[cfg_attr(feature = "ts", ts(as = "Option<u32>"))]
    pub duration_ms: Option<u64>,
    pub pid: Option<u32>,
    pub ppid: Option<u32>,
    pub parent: Option<String>,
    #[cfg_attr(feature = "ts", ts(as = "String"))]
    pub outcome: Outcome,
    pub detail: Option<String>,
    pub hash: String,
}

impl From<Event> for AuditRow {
    fn from(e: Event) -> Self {
        AuditRow {
            time: e.time,
            event: e.kind,
            server: e.server,
            host: e.host,
            credential: e.credential,
            target: e.target,
            tool: e.tool,
            duration_ms: e.duration_ms,
            pid: e.pid,
            ppid: e.ppid,
            parent: e.parent,
            outcome: e.outcome,
            detail: e.detail,
            hash: e.hash,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuditView {
    pub rows: Vec<AuditRow>,
    /// Every line in the log (not just the filtered rows).
    pub total_lines: u32,
    pub chain_ok: bool,
    pub problems: Vec<String>,
    pub notes: Vec<String>,
    pub path: String,
    /// Every event kind the filter offers (`released`, ..., `tool-call`, `policy-changed`).
    pub event_kinds: Vec<String>,
}

/// The filtered audit rows (newest last) and the whole chain's verification.
pub fn audit_view(ctx: &Context, filter: &AuditFilter) -> Result<AuditView> {
    let rows = ctx
        .audit
        .query(&filter.to_core())?
        .into_iter()
        .map(AuditRow::from)
        .collect();
    let report = ctx.audit.verify()?;
    Ok(AuditView {
        rows,
        total_lines: u32::try_from(report.lines).unwrap_or(u32::MAX),
        chain_ok: report.ok,
        problems: report.problems.into_iter().map(|p| p.message).collect(),
        notes: report.notes,
        path: ctx.audit.path().display().to_string(),
        event_kinds: EventKind::NAMES.iter().map(|k| k.to_string()).collect(),
    })
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Json,
    Csv,
}

/// The export's CSV columns, in order.
const CSV_HEADER: [&str; 14] = [
    "time",
    "event",
    "server",
    "host",
    "credential",
    "target",
    "tool",
    "duration_ms",
    "pid",
    "ppid",
    "parent",
    "outcome",
    "detail",
    "hash",
];

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab or CR first: CSV
/// injection) gets a leading `'`, which makes it text. Audit cells carry server names and
/// details taken from host configs and servers, so they are not trusted.
fn csv_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// Records as CSV (quoting by the `csv` crate), one `\n`-terminated line each.
fn to_csv<I, R>(records: I) -> Result<String>
where
    I: IntoIterator<Item = R>,
    R: IntoIterator,
    R::Item: AsRef<[u8]>,
{
    let bug = |e: &dyn std::fmt::Display| {
        Error::other(format!("cannot write CSV: {e}"), "report this bug")
    };
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    for r in records {
        w.write_record(r).map_err(|e| bug(&e))?;
    }
    let bytes = w.into_inner().map_err(|e| bug(&e))?;
    String::from_utf8(bytes).map_err(|e| bug(&e))
}

/// The filtered rows as JSON (an array) or CSV (with a header line).
pub fn export_audit(ctx: &Context, filter: &AuditFilter, format: ExportFormat) -> Result<String> {
    let rows: Vec<AuditRow> = ctx
        .audit
        .query(&filter.to_core())?
        .into_iter()
        .map(AuditRow::from)
        .collect();
    match format {
        ExportFormat::Json => serde_json::to_string_pretty(&rows)
            .map_err(|e| Error::other(format!("cannot write JSON: {e}"), "report this bug")),
        ExportFormat::Csv => {
            let header = CSV_HEADER.map(str::to_string);
            let lines = rows.iter().map(|r| {
                let opt = |v: &Option<String>| csv_cell(v.as_deref().unwrap_or(""));
                let num = |v: Option<u32>| v.map(|n| n.to_string()).unwrap_or_default();
                let ms = r.duration_ms.map(|n| n.to_string()).unwrap_or_default();
                [
                    csv_cell(&r.time),
                    csv_cell(r.event.as_str()),
                    opt(&r.server),
                    opt(&r.host),
                    opt(&r.credential),
                    csv_cell(&r.target.as_ref().map(Target::to_string).unwrap_or_default()),
                    opt(&r.tool),
                    ms,
                    num(r.pid),
                    num(r.ppid),
                    opt(&r.parent),
                    csv_cell(r.outcome.as_str()),
                    opt(&r.detail),
                    csv_cell(&r.hash),
                ]
            });
            to_csv(std::iter::once(header).chain(lines))
        }
    }
}

/// Write an export next to the user's downloads (under `KEYBROKER_HOME/exports` when that
/// is set) and return its path.
pub fn export_audit_to_file(
    ctx: &Context,
    filter: &AuditFilter,
    format: ExportFormat,
) -> Result<String> {
    let body = export_audit(ctx, filter, format)?;
    let dir = match &ctx.paths.home {
        Some(root) => root.join("exports"),
        None => directories::UserDirs::new()
            .and_then(|u| u.download_dir().map(Path::to_path_buf))
            .unwrap_or_else(|| ctx.paths.data_dir.join("exports")),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let stamp: String = crate::base::clock::now_rfc3339()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let ext = match format {
        ExportFormat::Json => "json",
        ExportFormat::Csv => "csv",
    };
    let path = dir.join(format!("keybroker-audit-{stamp}.{ext}"));
    std::fs::write(&path, body).map_err(|e| Error::io(&path, e))?;
    Ok(path.display().to_string())
}

/// A cheap "did anything change?" stamp of the files the views read (state, audit log,
/// host configs): the app polls it and refreshes when it moves.
pub fn change_stamp(ctx: &Context) -> Vec<(String, u64, u128)> {
    let mut files = vec![ctx.paths.state_file(), ctx.paths.audit_file()];
    if let Ok(cfgs) = ctx.configs() {
        files.extend(cfgs.into_iter().map(|(_, p)| p));
    }
    files
        .into_iter()
        .map(|p| {
            let meta = std::fs::metadata(&p).ok();
            let len = meta.as_ref().map(|m| m.len()).unwrap_or(0);
            let mtime = meta
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            (p.display().to_string(), len, mtime)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_field(s: &str) -> String {
        to_csv([[s, "end"]])
            .expect("csv")
            .strip_suffix(",end\n")
            .expect("one record")
            .to_string()
    }

    #[test]
    fn csv_fields_with_commas_quotes_or_newlines_are_quoted() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn csv_cells_a_spreadsheet_would_run_as_formulas_become_text() {
        for (cell, want) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
        ] {
            assert_eq!(csv_cell(cell), want, "{cell:?}");
        }
        for plain in ["", "released", "a=b", "2026-01-01T00:00:00Z", "x-y"] {
            assert_eq!(csv_cell(plain), plain);
        }
        // Escaped, then quoted where CSV needs it.
        assert_eq!(csv_field(&csv_cell("=1,2")), "\"'=1,2\"");
    }

    #[test]
    fn a_sign_in_is_registered_while_it_runs_and_cancel_reaches_only_that_one() {
        let sign_ins = SignIns::default();
        assert!(!sign_ins.cancel("h/a"), "nothing to cancel");
        {
            let ticket = sign_ins.begin("h/a").expect("first");
            assert!(sign_ins.running("h/a"));
            assert!(sign_ins.begin("h/a").is_err(), "one sign-in per server");
            let other = sign_ins.begin("h/b").expect("another server");
            assert!(sign_ins.cancel("h/a"));
            assert!(ticket.flag.load(Ordering::SeqCst));
            assert!(!other.flag.load(Ordering::SeqCst));
        }
        assert!(!sign_ins.running("h/a") && !sign_ins.running("h/b"));
        assert!(sign_ins.begin("h/a").is_ok(), "free again once finished");
    }

    #[test]
    fn every_state_that_waits_for_the_user_needs_attention_and_no_other() {
        let waiting = [
            ServerState::NeedsSecret,
            ServerState::PlaintextInConfig,
            ServerState::CommandChanged,
            ServerState::MissingFromConfig,
            ServerState::NotBrokered,
            ServerState::NeedsSignIn,
            ServerState::ToolsHeld,
        ];
        let calm = [
            ServerState::Brokered,
            ServerState::NoSecrets,
            ServerState::Unsupported,
        ];
        assert!(waiting.iter().all(|s| s.needs_attention()));
        assert!(calm.iter().all(|s| !s.needs_attention()));
    }
}
