//! Import and restore: plan a reviewable change to a host config, then apply it.
//!
//! A plan is computed from the file's bytes and shows, with every value masked, what
//! moves where and what each new entry looks like. Applying it puts the secrets in the
//! keychain, records servers and bindings in the state, and replaces the file atomically
//! only if it still has the bytes the plan was made from. No plaintext is copied
//! anywhere on the way: the "backup" of each original entry is kept in the state with
//! its secrets already replaced by placeholders. This module does not spawn anything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::base::error::{Error, Result};
use crate::base::fsutil::{self, Digest32};
use crate::base::paths::HOME_ENV;
use crate::base::secret::Secret;
use crate::config::doc::ConfigDoc;
use crate::config::hosts::{self, Entry, Host};
use crate::ops::spawn::{self, Context, EntrySpawn};
use crate::scan::{self, Detection, Form, Place};
use crate::store::audit::{AuditLog, Event, EventKind, Outcome, Target};
use crate::store::state::{self, Binding, Credential, Server, State, ToolGuard, Transport};
use crate::store::vault::Vault;

/// What an import does to one server entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Secrets move to the keychain and the entry goes through `keybroker run`.
    Broker,
    /// Already brokered; only the launcher's path changes (Keybroker moved).
    UpdateLauncher,
    /// Already brokered by a version that wrote no binding id: the entry gets one (and
    /// the launcher's current path), so it is bound to this file.
    Bind,
    /// Already brokered and clean.
    AlreadyBrokered,
    /// No secrets found: left as is.
    NothingToDo,
    /// Every finding was excluded by the user: left as is.
    Excluded,
    /// A brokered entry whose command changed since it was approved and that holds a new
    /// plaintext secret: left as is (its secret stays in the file) until the user
    /// approves the new command, shown in [`ServerPlan::approval`].
    NeedsApproval,
    /// Remote (HTTP) entry: left as is.
    Remote,
    /// Not an entry Keybroker understands: left as is.
    Unsupported(String),
}

/// One secret found in an entry, and where it goes.
#[derive(Debug, Clone)]
pub struct Move {
    /// `env:NAME` or `arg:N`.
    pub target: String,
    /// `<server>:<target>`, what `--exclude` takes.
    pub selector: String,
    pub rule: &'static str,
    pub rule_text: &'static str,
    /// The value, masked for display.
    pub masked: String,
    pub credential: String,
    /// The credential already exists (same value bound elsewhere); nothing new is stored.
    pub reused: bool,
    pub excluded: bool,
    /// When only part of a string moves (a JSON env value, a composite argument, a URL)
    /// or the string changes shape (`docker -e NAME=value`): what it becomes, with
    /// placeholders where the secrets were. No secret in it.
    pub becomes: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ServerPlan {
    pub name: String,
    pub id: String,
    pub action: Action,
    pub moves: Vec<Move>,
    pub notes: Vec<String>,
    /// The entry after the change (no secret in it), when it changes.
    pub new_entry: Option<Value>,
    /// For [`Action::NeedsApproval`], and for an entry the user approved with
    /// [`ImportRequest::approve`]: the approved spawn and the new one, in full.
    pub approval: Option<crate::ops::launch::Approval>,
    /// The user approved this entry's new command: applying records it and audits
    /// `approved`.
    pub approved: bool,
    record: Option<Server>,
}

impl ServerPlan {
    pub fn changes(&self) -> bool {
        self.new_entry.is_some()
    }
}

pub struct Plan {
    pub host: Host,
    pub config_path: PathBuf,
    pub servers: Vec<ServerPlan>,
    read_hash: Digest32,
    new_bytes: Vec<u8>,
    /// Values to store: credential id -> (label, value). Only in memory.
    new_secrets: BTreeMap<String, (String, Secret)>,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("host", &self.host)
            .field("config_path", &self.config_path)
            .field("servers", &self.servers)
            .field("new_secrets", &self.new_secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Plan {
    pub fn changes(&self) -> bool {
        self.servers.iter().any(ServerPlan::changes)
    }
}

pub struct ImportRequest<'a> {
    pub host: Host,
    pub config_path: &'a Path,
    /// `server` or `server:env:NAME` / `server:arg:N`.
    pub exclude: &'a [String],
    /// Absolute path of the `keybroker` binary to write into entries.
    pub launcher: &'a Path,
    /// Plan only this entry (by name, or by id: `github`, `github@app`,
    /// `claude-code/github@app`); the others stay as they are.
    pub only: Option<&'a str>,
    /// With `only`: a value the user entered for this env var of that server (Connect).
    pub set_env: Option<(&'a str, &'a Secret)>,
    /// Server ids whose changed command the user approved after seeing both sides (an
    /// entry that would otherwise be [`Action::NeedsApproval`]). Nothing else approves.
    pub approve: &'a [String],
    /// Keybroker's root when `KEYBROKER_HOME` chose it ([`crate::base::paths::Paths::home`]):
    /// a new entry of a host that starts servers with only the entry's env
    /// ([`Host::entry_env_only`]) carries it, so its launcher finds this installation.
    pub keybroker_home: Option<&'a Path>,
}

/// Read the config and plan the import. Reads the keychain (to reuse credentials with
/// the same value) but changes nothing.
pub fn plan_import(req: &ImportRequest<'_>, state: &State, vault: &Vault) -> Result<Plan> {
    let mut planner = Planner::new(state, Some(vault));
    plan_with(&mut planner, req)
}

/// [`plan_import_all`] with the keychain when there is one. Without it (`None`: no
/// Secret Service, a locked keychain) the plan is the same except that a value already
/// stored for another server is not recognised, so it shows as a new credential;
/// applying such a plan needs the keychain anyway ([`apply_import`] stores the values).
pub fn plan_import_all_with(
    reqs: &[ImportRequest<'_>],
    state: &State,
    vault: Option<&Vault>,
) -> Result<Vec<Plan>> {
    let mut planner = Planner::new(state, vault);
    reqs.iter().map(|r| plan_with(&mut planner, r)).collect()
}

/// Plan several files at once (`keybroker import --all`): one value found in two files
/// becomes one credential, stored by the first plan that has it. Apply the plans in
/// order, and stop at the first that fails.
pub fn plan_import_all(
    reqs: &[ImportRequest<'_>],
    state: &State,
    vault: &Vault,
) -> Result<Vec<Plan>> {
    plan_import_all_with(reqs, state, Some(vault))
}

fn plan_with(planner: &mut Planner<'_>, req: &ImportRequest<'_>) -> Result<Plan> {
    let bytes = fsutil::read_optional(req.config_path)?.ok_or_else(|| {
        Error::other(
            format!("{} does not exist", req.config_path.display()),
            "check the path, or pass the host's config file with --config PATH",
        )
    })?;
    let mut file = ConfigDoc::parse(req.host, req.config_path, &bytes)?;
    let launcher = req.launcher.to_string_lossy().into_owned();
    let mut servers = Vec::new();
    for found in file.servers(req.host, req.config_path)? {
        let name = found.name;
        // `only` is the entry's id with or without the host (`github`, `github@app`).
        let id_name = found
            .id
            .split_once('/')
            .map_or(found.id.as_str(), |(_, n)| n);
        if req
            .only
            .is_some_and(|only| only != id_name && only != found.id)
        {
            continue;
        }
        let mut sp = planner.plan_entry(req, &launcher, &found.id, &name, &found.value)?;
        if let Some(new_entry) = &sp.new_entry {
            file.set_entry_at(&found.key_path, &name, new_entry)?;
        }
        if let Some(rec) = sp.record.as_mut() {
            rec.config_path = req.config_path.to_path_buf();
        }
        servers.push(sp);
    }
    if req.only.is_none() {
        readd_dropped(req, &launcher, planner.state, &mut file, &mut servers)?;
    }
    let new_bytes = file.to_bytes();
    Ok(Plan {
        host: req.host,
        config_path: req.config_path.to_path_buf(),
        servers,
        read_hash: fsutil::sha256(&bytes),
        new_bytes,
        new_secrets: std::mem::take(&mut planner.new_secrets),
    })
}

/// Put back brokered entries the host dropped from this file (the state still has them):
/// the same `keybroker run` entry as before, built from the state's record.
fn readd_dropped(
    req: &ImportRequest<'_>,
    launcher: &str,
    state: &State,
    file: &mut ConfigDoc,
    servers: &mut Vec<ServerPlan>,
) -> Result<()> {
    let present: Vec<String> = file
        .servers(req.host, req.config_path)?
        .into_iter()
        .filter_map(|f| match Entry::from_value(&f.value) {
            Entry::Stdio { command, args, .. } => {
                hosts::as_brokered(&command, &args).map(|b| b.server_id)
            }
            _ => None,
        })
        .collect();
    let maps = file.server_maps(req.host, req.config_path)?;
    for s in state.servers.values() {
        if s.host != req.host.id()
            || !crate::base::fsutil::same_file(&s.config_path, req.config_path)
            || present.contains(&s.id)
            || servers.iter().any(|sp| sp.id == s.id)
        {
            continue;
        }
        let Some((inner_cmd, _)) = s.command.split_first() else {
            continue;
        };
        // The map whose id suffix (`@project`) the server's name carries, else the root.
        let Some((key_path, name)) = maps
            .iter()
            .rev()
            .find_map(|(path, suffix)| {
                s.name
                    .strip_suffix(suffix.as_str())
                    .filter(|n| !suffix.is_empty() && !n.is_empty())
                    .map(|n| (path.clone(), n.to_string()))
            })
            .or_else(|| maps.first().map(|(p, _)| (p.clone(), s.name.clone())))
        else {
            continue;
        };
        let mut obj = s.original.as_object().cloned().unwrap_or_default();
        // The entry goes back with the server's binding id (a new one for a server
        // recorded before binding ids, recorded with it).
        let (binding_id, record) = match &s.binding_id {
            Some(b) => (b.clone(), None),
            None => {
                let b = state::new_binding_id()?;
                let mut rec = s.clone();
                rec.binding_id = Some(b.clone());
                (b, Some(rec))
            }
        };
        obj.insert("command".into(), Value::String(launcher.to_string()));
        obj.insert(
            "args".into(),
            Value::Array(launcher_args(&s.id, &binding_id, &s.command)),
        );
        // The approved env values where the approval has them, else the original's.
        let original_env = s.original.get("env").and_then(Value::as_object);
        let approved_env = s.spawn.as_ref().map(|sp| &sp.env);
        let env: Map<String, Value> = s
            .env_keys
            .iter()
            .map(|k| {
                let v = approved_env
                    .and_then(|e| e.get(k))
                    .filter(|v| v.as_str() != state::UNRECORDED)
                    .map(|v| Value::String(v.clone()))
                    .or_else(|| original_env.and_then(|e| e.get(k)).cloned())
                    .unwrap_or_else(|| Value::String(String::new()));
                (k.clone(), v)
            })
            .collect();
        if original_env.is_some() || !env.is_empty() {
            obj.insert("env".into(), Value::Object(env));
        }
        let entry = Value::Object(obj);
        file.set_entry_at(&key_path, &name, &entry)?;
        servers.push(ServerPlan {
            name,
            id: s.id.clone(),
            action: Action::Broker,
            moves: Vec::new(),
            notes: vec![format!(
                "the host dropped this entry; it goes back in, starting `{inner_cmd}` through keybroker run as before"
            )],
            new_entry: Some(entry),
            approval: None,
            approved: false,
            record,
        });
    }
    Ok(())
}

/// What approving `prev`'s new entry (`new_entry` running `command_line`, its secrets
/// already moved out as `moves`) would change: both sides in full, nothing secret.
fn approval_of(
    prev: &Server,
    new_entry: &Value,
    command_line: &[String],
    env_keys: &[String],
    moves: &[Move],
) -> Result<crate::ops::launch::Approval> {
    let entry = EntrySpawn::of(new_entry, command_line)
        .ok_or_else(|| Error::other("an entry without a command", "report this bug"))?;
    let new_spawn = spawn::approve(&entry, &Context::current());
    Ok(crate::ops::launch::Approval {
        server_id: prev.id.clone(),
        old_command: prev.command.clone(),
        new_command: command_line.to_vec(),
        old_env_keys: prev.env_keys.clone(),
        new_env_keys: env_keys.to_vec(),
        fingerprint: state::fingerprint_v2(&new_spawn),
        old_spawn: prev.spawn.clone(),
        new_spawn,
        plaintext: moves
            .iter()
            .filter(|m| !m.excluded)
            .map(|m| m.target.clone())
            .collect(),
    })
}

/// Whether `server`'s own entry (its id, its binding id) is still in the file its record
/// names. A file that cannot be read or parsed counts as still having it: taking the
/// server over is refused on doubt. A file that is gone does not (the user moved it).
fn still_in_its_file(server: &Server) -> bool {
    let path = &server.config_path;
    let Ok(host) = Host::parse(&server.host) else {
        return true;
    };
    let bytes = match fsutil::read_optional(path) {
        Ok(Some(b)) => b,
        Ok(None) => return false,
        Err(_) => return true,
    };
    let Ok(found) = ConfigDoc::parse(host, path, &bytes).and_then(|d| d.servers(host, path)) else {
        return true;
    };
    found.iter().any(|f| {
        let Entry::Stdio { command, args, .. } = Entry::from_value(&f.value) else {
            return false;
        };
        let named = hosts::as_brokered(&command, &args)
            .map(|b| (b.server_id, b.binding))
            .or_else(|| {
                crate::ops::remote::as_bridged(&command, &args).map(|b| (b.server_id, b.binding))
            });
        named.is_some_and(|(id, binding)| id == server.id && binding == server.binding_id)
    })
}

/// `run <id> --binding <b> -- <command...>`: the launcher's arguments in an entry.
fn launcher_args(server_id: &str, binding_id: &str, command: &[String]) -> Vec<Value> {
    let mut args = vec![
        Value::String("run".into()),
        Value::String(server_id.to_string()),
        Value::String("--binding".into()),
        Value::String(binding_id.to_string()),
        Value::String("--".into()),
    ];
    args.extend(command.iter().cloned().map(Value::String));
    args
}

struct Planner<'a> {
    state: &'a State,
    /// `None`: planning without a keychain (values already stored are not compared).
    vault: Option<&'a Vault>,
    /// Existing credentials' values, read lazily once: for reuse of identical values.
    known_values: Option<Vec<(String, Secret)>>,
    /// Credential ids allocated by this plan -> value.
    allocated: BTreeMap<String, Secret>,
    new_secrets: BTreeMap<String, (String, Secret)>,
}

impl<'a> Planner<'a> {
    fn new(state: &'a State, vault: Option<&'a Vault>) -> Planner<'a> {
        Planner {
            state,
            vault,
            known_values: None,
            allocated: BTreeMap::new(),
            new_secrets: BTreeMap::new(),
        }
    }

    fn plan_entry(
        &mut self,
        req: &ImportRequest<'_>,
        launcher: &str,
        id: &str,
        name: &str,
        value: &Value,
    ) -> Result<ServerPlan> {
        let mut sp = ServerPlan {
            name: name.to_string(),
            id: id.to_string(),
            action: Action::NothingToDo,
            moves: Vec::new(),
            notes: Vec::new(),
            new_entry: None,
            approval: None,
            approved: false,
            record: None,
        };
        let entry = hosts::Entry::from_value(value);
        // An entry whose own id is a server Keybroker brokers from another file, whose
        // entry is still there: importing this one would take that server over.
        let names_a_server = match &entry {
            Entry::Stdio { command, args, .. } => {
                hosts::as_brokered(command, args).is_some()
                    || crate::ops::remote::as_bridged(command, args).is_some()
            }
            _ => false,
        };
        if !names_a_server
            && !matches!(entry, Entry::Unsupported(_))
            && let Some(prev) = self.state.servers.get(id)
            && !fsutil::same_file(&prev.config_path, req.config_path)
            && still_in_its_file(prev)
        {
            let why = format!(
                "its id `{id}` is the server Keybroker brokers from {}; importing this entry would take that server over",
                prev.config_path.display()
            );
            sp.notes.push(format!("left as is: {why}"));
            sp.action = Action::Unsupported(why);
            return Ok(sp);
        }
        if matches!(entry, Entry::Remote { .. } | Entry::Stdio { .. })
            && !req.exclude.iter().any(|e| e == name)
        {
            // Remote servers (url entries, mcp-remote) become `keybroker bridge` entries.
            let state = self.state;
            let mut fresh = |base: &str| state.fresh_credential_id(base);
            // The id's own name (`linear@app` in a project file), so a project's remote
            // server gets the same id as its stdio neighbours.
            let id_name = id.split_once('/').map_or(id, |(_, n)| n);
            if let Some(mut rp) =
                crate::ops::remote::plan_import(value, req.host, id_name, launcher, &mut fresh)?
            {
                // The bridge needs every secret of the entry: one excluded leaves it all.
                if let Some(m) = rp
                    .secrets
                    .iter()
                    .find(|m| req.exclude.contains(&format!("{name}:{}", m.target)))
                {
                    sp.action = Action::Excluded;
                    sp.notes.push(format!(
                        "excluded with --exclude {name}:{}: a remote entry moves whole, so it is left as is",
                        m.target
                    ));
                    return Ok(sp);
                }
                // A server already recorded for this file keeps its binding id, so
                // importing the same entry again writes the same bytes.
                if let Some(prev) = state.servers.get(&rp.record.id)
                    && fsutil::same_file(&prev.config_path, req.config_path)
                    && let Some(b) = &prev.binding_id
                {
                    rp.record.binding_id = Some(b.clone());
                    rp.new_entry["args"] = Value::Array(
                        crate::ops::remote::bridge_args(&rp.record.id, b)
                            .into_iter()
                            .map(Value::String)
                            .collect(),
                    );
                }
                return Ok(self.remote_plan(sp, rp));
            }
        }
        let (command, args, env) = match entry {
            Entry::Stdio { command, args, env } => (command, args, env),
            Entry::Remote { url } => {
                sp.action = Action::Remote;
                sp.notes.push(format!(
                    "remote server ({}): left as is; remote servers are signed in with `keybroker connect` and bridged with `keybroker bridge`",
                    redact_url(&url)
                ));
                if !scan::detect_url("url", &url).is_empty() {
                    sp.notes
                        .push("warning: its URL carries a secret that stays in the file".into());
                } else if scan::remote_plaintext(value) > 0 {
                    sp.notes
                        .push("warning: its headers carry a secret that stays in the file".into());
                }
                return Ok(sp);
            }
            Entry::Unsupported(why) => {
                sp.action = Action::Unsupported(why.clone());
                sp.notes.push(format!("left as is: {why}"));
                return Ok(sp);
            }
        };
        if req.exclude.iter().any(|e| e == name) {
            sp.action = Action::Excluded;
            sp.notes.push("excluded with --exclude: left as is".into());
            return Ok(sp);
        }

        if let Some(br) = crate::ops::remote::as_bridged(&command, &args) {
            return self.bridged_plan(req, launcher, sp, value, br);
        }
        // A brokered entry is judged by the server's own command line inside it.
        let brokered = hosts::as_brokered(&command, &args);
        let (server_id, inner) = match &brokered {
            Some(b) => (b.server_id.clone(), b.inner.clone()),
            None => {
                let mut v = vec![command.clone()];
                v.extend(args.iter().cloned());
                (id.to_string(), v)
            }
        };
        sp.id = server_id.clone();
        let Some((inner_cmd, inner_args)) = inner.split_first() else {
            sp.action = Action::Unsupported("empty command after `--`".into());
            return Ok(sp);
        };
        let previous = self.state.servers.get(&server_id);
        // An entry naming a server whose entry Keybroker wrote elsewhere (another file, or
        // without that server's binding id) is not that server: never rebind or rewrite it.
        if let (Some(b), Some(prev)) = (&brokered, previous)
            && (!fsutil::same_file(&prev.config_path, req.config_path)
                || b.binding != prev.binding_id)
        {
            let why = format!(
                "it names `{server_id}`, whose entry Keybroker wrote in {}{}; it gets no secrets",
                prev.config_path.display(),
                if fsutil::same_file(&prev.config_path, req.config_path) {
                    " with another binding id"
                } else {
                    ""
                }
            );
            sp.notes.push(format!("left as is: {why}"));
            sp.action = Action::Unsupported(why);
            return Ok(sp);
        }

        // `new_args`/`remaining_env`: the new entry's; `orig_args`: what `restore` writes
        // back (the same, except that a `docker -e NAME=value` keeps its shape there).
        let mut new_args = inner_args.to_vec();
        let mut orig_args = inner_args.to_vec();
        let mut remaining_env: Vec<(String, String)> = Vec::new();
        // Env vars the new entry sets that the original did not (a `docker -e` value
        // whose secret is only part of it moves there as a template).
        let mut docker_env: Vec<(String, String)> = Vec::new();
        let mut bindings: Vec<Binding> = match (&brokered, previous) {
            (Some(_), Some(prev)) => prev.bindings.clone(),
            _ => Vec::new(),
        };
        // What this entry allocates is taken back if it ends up left as is.
        let before = (self.allocated.clone(), self.new_secrets.clone());
        // `plan_with` passes only the entry `only` names.
        let injected = req.set_env.filter(|_| req.only.is_some());
        let env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| injected.is_none_or(|(n, _)| n != k))
            .collect();
        let detections = scan::detect_stdio(&env, inner_args);
        let mut env_moved: BTreeMap<String, String> = BTreeMap::new();
        if let Some((env_name, value)) = injected {
            let target = format!("env:{env_name}");
            let (cred, reused) =
                self.credential_for(value, env_name, &format!("{env_name} ({id})"))?;
            sp.moves.push(Move {
                target: target.clone(),
                selector: format!("{name}:{target}"),
                rule: "entered-by-user",
                rule_text: "value you entered",
                masked: scan::mask(value.expose()),
                credential: cred.clone(),
                reused,
                excluded: false,
                becomes: None,
            });
            bindings.retain(|b| b.target != target);
            bindings.push(Binding {
                target,
                credential: cred.clone(),
            });
            env_moved.insert(env_name.to_string(), cred);
        }

        for (k, v) in &env {
            let found: Vec<&Detection> = detections
                .iter()
                .filter(|d| d.place == Place::Env(k.clone()))
                .collect();
            if found.is_empty() {
                remaining_env.push((k.clone(), v.clone()));
                continue;
            }
            let target = format!("env:{k}");
            let selector = format!("{name}:{target}");
            if req.exclude.contains(&selector) {
                sp.moves
                    .extend(excluded_moves(&found, v, &target, &selector));
                remaining_env.push((k.clone(), v.clone()));
                continue;
            }
            // The whole value is the secret: the variable leaves the entry and the
            // launcher sets it. Otherwise only the secret parts move, and the value stays
            // as a template with placeholders where they were.
            if let [d] = found.as_slice()
                && d.form == Form::Whole
                && !d.json
            {
                let value = Secret::new(v.clone());
                let (cred, reused) = self.credential_for(&value, k, &format!("{k} ({id})"))?;
                sp.moves.push(Move {
                    target: target.clone(),
                    selector,
                    rule: d.rule.id(),
                    rule_text: d.rule.describe(),
                    masked: scan::mask(d.secret_in(v).unwrap_or(v)),
                    credential: cred.clone(),
                    reused,
                    excluded: false,
                    becomes: None,
                });
                bindings.retain(|b| b.target != target);
                bindings.push(Binding {
                    target,
                    credential: cred.clone(),
                });
                env_moved.insert(k.clone(), cred);
                continue;
            }
            let (template, parts) = self.template(v, &found, k, &format!("{k} ({id})"))?;
            let kept = crate::ops::launch::placeholders(&template);
            bindings.retain(|b| b.target != target || kept.contains(&b.credential));
            for (d, cred, reused) in parts {
                sp.moves.push(Move {
                    target: target.clone(),
                    selector: selector.clone(),
                    rule: d.rule.id(),
                    rule_text: d.rule.describe(),
                    masked: scan::mask(&d.secret_value(v).unwrap_or_default()),
                    credential: cred.clone(),
                    reused,
                    excluded: false,
                    becomes: Some(format!("env {k} = {template}")),
                });
                push_binding(&mut bindings, &target, &cred);
            }
            remaining_env.push((k.clone(), template));
        }

        // Arg detections, one argument at a time.
        let mut by_arg: BTreeMap<usize, Vec<&Detection>> = BTreeMap::new();
        for d in &detections {
            if let Place::Arg(i) = d.place {
                by_arg.entry(i).or_default().push(d);
            }
        }
        for (i, found) in by_arg {
            let Some(arg) = inner_args.get(i) else {
                continue;
            };
            let selector = format!("{name}:arg:{i}");
            if req.exclude.contains(&selector) {
                sp.moves
                    .extend(excluded_moves(&found, arg, &format!("arg:{i}"), &selector));
                continue;
            }
            // `docker run -e NAME=value`: the argument becomes `-e NAME` and the value
            // goes into docker's own environment, which passes it into the container,
            // unless the entry already sets NAME.
            let docker = match &found[0].form {
                Form::DockerEnv { name: var, value }
                    if found.iter().all(|d| d.form == found[0].form)
                        && !env.iter().any(|(k, _)| k == var)
                        && !remaining_env
                            .iter()
                            .chain(&docker_env)
                            .any(|(k, _)| k == var)
                        && !bindings.iter().any(|b| b.target == format!("env:{var}")) =>
                {
                    found[0]
                        .docker_env_arg(arg)
                        .map(|a| (var.clone(), value.start, a.to_string()))
                }
                _ => None,
            };
            let (base, label) = match &docker {
                Some((var, _, _)) => (var.clone(), format!("{var} ({id})")),
                None => (
                    format!("{name}-{}", found[0].rule.id()),
                    format!("argument {i} of {id}"),
                ),
            };
            let (template, parts) = self.template(arg, &found, &base, &label)?;
            orig_args[i] = template.clone();
            let (target, becomes) = match docker {
                Some((var, value_start, short)) => {
                    let value_template = template.get(value_start..).unwrap_or_default();
                    let becomes = if parts.len() == 1
                        && value_template == state::placeholder(&parts[0].1)
                    {
                        format!("args[{i}] = {short}; env {var} is set from the keychain at start")
                    } else {
                        docker_env.push((var.clone(), value_template.to_string()));
                        format!("args[{i}] = {short}; env {var} = {value_template}")
                    };
                    new_args[i] = short;
                    (format!("env:{var}"), becomes)
                }
                None => {
                    new_args[i] = template.clone();
                    (format!("arg:{i}"), format!("args[{i}] = {template}"))
                }
            };
            for (d, cred, reused) in parts {
                sp.moves.push(Move {
                    target: target.clone(),
                    selector: selector.clone(),
                    rule: d.rule.id(),
                    rule_text: d.rule.describe(),
                    masked: scan::mask(&d.secret_value(arg).unwrap_or_default()),
                    credential: cred.clone(),
                    reused,
                    excluded: false,
                    becomes: Some(becomes.clone()),
                });
                push_binding(&mut bindings, &target, &cred);
            }
        }
        if sp
            .moves
            .iter()
            .any(|m| !m.excluded && m.target.starts_with("arg:"))
        {
            sp.notes.push(
                "warning: this server takes a secret in its command line; local processes can read a command line (ps), so prefer an env var if the server supports one".into(),
            );
        }

        let active_moves = sp.moves.iter().filter(|m| !m.excluded).count();
        if active_moves == 0 {
            if !sp.moves.is_empty() {
                sp.action = Action::Excluded;
                sp.notes
                    .push("every secret found was excluded: left as is".into());
                return Ok(sp);
            }
            let unbound =
                brokered.as_ref().is_some_and(|b| b.binding.is_none()) && previous.is_some();
            match (&brokered, previous) {
                (Some(b), Some(prev)) if unbound => {
                    sp.action = Action::Bind;
                    sp.notes.push(
                        "written before binding ids: the entry gets one, which binds it to this file".into(),
                    );
                    let binding_id = state::new_binding_id()?;
                    let mut obj = value.as_object().cloned().unwrap_or_default();
                    obj.insert("command".into(), Value::String(launcher.to_string()));
                    obj.insert(
                        "args".into(),
                        Value::Array(launcher_args(&server_id, &binding_id, &b.inner)),
                    );
                    let new_entry = Value::Object(obj);
                    let mut rec = prev.clone();
                    rec.binding_id = Some(binding_id);
                    // A version-1 approval that still matches is upgraded, as the launcher would.
                    if rec.spawn.is_none()
                        && crate::ops::launch::matches_approval(prev, &new_entry, &b.inner)
                        && let Some(entry) = EntrySpawn::of(&new_entry, &b.inner)
                    {
                        let spawn = spawn::approve(&entry, &Context::current());
                        rec.fingerprint = state::fingerprint_v2(&spawn);
                        rec.spawn = Some(spawn);
                    }
                    sp.record = Some(rec);
                    sp.new_entry = Some(new_entry);
                }
                (Some(b), _) if b.launcher != launcher => {
                    sp.action = Action::UpdateLauncher;
                    sp.notes.push(format!(
                        "launcher path changes from {} to {launcher}",
                        b.launcher
                    ));
                    let mut obj = value.as_object().cloned().unwrap_or_default();
                    obj.insert("command".into(), Value::String(launcher.to_string()));
                    sp.new_entry = Some(Value::Object(obj));
                }
                (Some(_), _) => sp.action = Action::AlreadyBrokered,
                (None, _) => sp.action = Action::NothingToDo,
            }
            return Ok(sp);
        }

        // The rewritten entry: same object, same other keys; command through the launcher.
        sp.action = Action::Broker;
        let mut obj = value.as_object().cloned().unwrap_or_default();
        let had_env = obj.contains_key("env");
        let mut command_line = vec![inner_cmd.clone()];
        command_line.extend(new_args.iter().cloned());
        // The entry keeps its binding id (the guard above made sure it is the server's),
        // or the one its server already has in this file (importing the same entry
        // again writes the same bytes); a new entry gets a fresh one.
        let binding_id = match (&brokered, previous) {
            (Some(b), Some(_)) if b.binding.is_some() => b.binding.clone(),
            (None, Some(prev)) if fsutil::same_file(&prev.config_path, req.config_path) => {
                prev.binding_id.clone()
            }
            _ => None,
        };
        let binding_id = match binding_id {
            Some(b) => b,
            None => state::new_binding_id()?,
        };
        obj.insert("command".into(), Value::String(launcher.to_string()));
        obj.insert(
            "args".into(),
            Value::Array(launcher_args(&server_id, &binding_id, &command_line)),
        );
        if brokered.is_none()
            && req.host.entry_env_only()
            && let Some(home) = req.keybroker_home
            && !remaining_env
                .iter()
                .chain(&docker_env)
                .any(|(k, _)| k == HOME_ENV)
        {
            remaining_env.push((HOME_ENV.to_string(), home.to_string_lossy().into_owned()));
        }
        let env_obj: Map<String, Value> = remaining_env
            .iter()
            .chain(&docker_env)
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        if had_env || !env_obj.is_empty() {
            obj.insert("env".into(), Value::Object(env_obj));
        }
        sp.new_entry = Some(Value::Object(obj.clone()));

        // The original entry with secrets as placeholders, for `restore`.
        let mut original = obj;
        original.insert("command".into(), Value::String(inner_cmd.clone()));
        original.insert(
            "args".into(),
            Value::Array(orig_args.iter().cloned().map(Value::String).collect()),
        );
        let mut orig_env = Map::new();
        for (k, v) in &env {
            let kept = remaining_env.iter().find(|(n, _)| n == k).map(|(_, t)| t);
            if let Some(cred) = env_moved.get(k) {
                orig_env.insert(k.clone(), Value::String(state::placeholder(cred)));
            } else {
                orig_env.insert(k.clone(), Value::String(kept.unwrap_or(v).clone()));
            }
        }
        for b in &bindings {
            let ph = state::placeholder(&b.credential);
            // A `docker -e NAME=value` credential goes back into its argument.
            if orig_args.iter().any(|a| a.contains(&ph)) {
                continue;
            }
            if let Some(name) = b.target.strip_prefix("env:") {
                orig_env
                    .entry(name.to_string())
                    .or_insert_with(|| Value::String(state::placeholder(&b.credential)));
            }
        }
        if had_env || !orig_env.is_empty() {
            original.insert("env".into(), Value::Object(orig_env));
        } else {
            original.remove("env");
        }

        let env_keys: Vec<String> = remaining_env
            .iter()
            .chain(&docker_env)
            .map(|(k, _)| k.clone())
            .collect();
        let (host_id, server_name) = match server_id.split_once('/') {
            Some((h, n)) => (h.to_string(), n.to_string()),
            None => (req.host.id().to_string(), name.to_string()),
        };
        let new_entry = sp.new_entry.clone().unwrap_or(Value::Null);
        // An import never approves a changed command by itself (THREATS 6a). A brokered
        // entry whose command changed since its approval and that also holds a new
        // plaintext secret goes to the approval step first: both sides are shown, and
        // unless the user approved it (`approve`), the entry is left as is with its
        // secret in the file. An approval that still holds stays as it was resolved.
        let mut approved_spawn = None;
        let kept = match (&brokered, previous) {
            (Some(_), Some(prev)) => {
                let holds = crate::ops::launch::matches_approval(prev, &new_entry, &command_line);
                if !holds {
                    let approval =
                        approval_of(prev, &new_entry, &command_line, &env_keys, &sp.moves)?;
                    if !req.approve.contains(&server_id) {
                        (self.allocated, self.new_secrets) = before;
                        sp.action = Action::NeedsApproval;
                        sp.new_entry = None;
                        sp.approval = Some(approval);
                        sp.notes.push(format!(
                            "its command changed since you approved it and it holds a new plaintext secret: nothing moves until you approve the new command (`keybroker import {} --config {} --approve {server_id}`)",
                            req.host.id(),
                            req.config_path.display()
                        ));
                        return Ok(sp);
                    }
                    sp.notes.push(
                        "you approved its new command: it gets its secrets from the keychain from its next start".into(),
                    );
                    approved_spawn = Some(approval.new_spawn.clone());
                    sp.approval = Some(approval);
                    sp.approved = true;
                }
                (holds && prev.spawn.is_some()).then_some(prev)
            }
            _ => None,
        };
        let (command, env_keys, fingerprint, spawn) = match (kept, approved_spawn) {
            (Some(prev), _) => (
                prev.command.clone(),
                prev.env_keys.clone(),
                prev.fingerprint.clone(),
                prev.spawn.clone(),
            ),
            (None, Some(spawn)) => (
                command_line,
                env_keys,
                state::fingerprint_v2(&spawn),
                Some(spawn),
            ),
            (None, None) => {
                let entry = EntrySpawn::of(&new_entry, &command_line)
                    .ok_or_else(|| Error::other("an entry without a command", "report this bug"))?;
                let spawn = spawn::approve(&entry, &Context::current());
                (
                    command_line,
                    env_keys,
                    state::fingerprint_v2(&spawn),
                    Some(spawn),
                )
            }
        };
        sp.record = Some(Server {
            id: server_id.clone(),
            host: host_id,
            name: server_name,
            config_path: PathBuf::new(),
            transport: Transport::Stdio,
            fingerprint,
            command,
            env_keys,
            spawn,
            binding_id: Some(binding_id),
            bindings,
            original: Value::Object(original),
            remote: None,
            // Guarded from the start; a server already recorded keeps its own (see `apply`).
            guard: Some(ToolGuard::default()),
        });
        Ok(sp)
    }

    /// A `keybroker bridge` entry: bound to this file (a binding id for one written
    /// before them) and pointed at this launcher; never taken over from another file.
    fn bridged_plan(
        &self,
        req: &ImportRequest<'_>,
        launcher: &str,
        mut sp: ServerPlan,
        value: &Value,
        br: crate::ops::remote::Bridged,
    ) -> Result<ServerPlan> {
        sp.id = br.server_id.clone();
        let Some(prev) = self.state.servers.get(&br.server_id) else {
            let why = format!(
                "it bridges `{}`, which Keybroker does not know; add the server with `keybroker add`",
                br.server_id
            );
            sp.notes.push(format!("left as is: {why}"));
            sp.action = Action::Unsupported(why);
            return Ok(sp);
        };
        if !fsutil::same_file(&prev.config_path, req.config_path) || br.binding != prev.binding_id {
            let why = format!(
                "it names `{}`, whose entry Keybroker wrote in {}; it gets no credentials",
                br.server_id,
                prev.config_path.display()
            );
            sp.notes.push(format!("left as is: {why}"));
            sp.action = Action::Unsupported(why);
            return Ok(sp);
        }
        let mut obj = value.as_object().cloned().unwrap_or_default();
        obj.insert("command".into(), Value::String(launcher.to_string()));
        if br.binding.is_none() {
            let binding_id = state::new_binding_id()?;
            obj.insert(
                "args".into(),
                Value::Array(
                    crate::ops::remote::bridge_args(&br.server_id, &binding_id)
                        .into_iter()
                        .map(Value::String)
                        .collect(),
                ),
            );
            let mut rec = prev.clone();
            rec.binding_id = Some(binding_id);
            sp.action = Action::Bind;
            sp.notes.push(
                "written before binding ids: the entry gets one, which binds it to this file"
                    .into(),
            );
            sp.record = Some(rec);
            sp.new_entry = Some(Value::Object(obj));
        } else if br.launcher != launcher {
            sp.action = Action::UpdateLauncher;
            sp.notes.push(format!(
                "launcher path changes from {} to {launcher}",
                br.launcher
            ));
            sp.new_entry = Some(Value::Object(obj));
        } else {
            sp.action = Action::AlreadyBrokered;
        }
        Ok(sp)
    }

    fn remote_plan(
        &mut self,
        mut sp: ServerPlan,
        rp: crate::ops::remote::ImportPlan,
    ) -> ServerPlan {
        sp.id = rp.record.id.clone();
        sp.action = Action::Broker;
        for m in rp.secrets {
            sp.moves.push(Move {
                selector: format!("{}:{}", sp.name, m.target),
                target: m.target,
                rule: m.rule,
                rule_text: m.rule_text,
                masked: scan::mask(m.value.expose()),
                credential: m.credential.clone(),
                reused: false,
                excluded: false,
                becomes: m.becomes,
            });
            self.allocated.insert(m.credential.clone(), m.value.clone());
            self.new_secrets.insert(m.credential, (m.label, m.value));
        }
        if let Some((cid, value)) = rp.oauth_client {
            let label = format!("{} sign-in (pre-registered client)", sp.id);
            self.new_secrets.insert(cid, (label, value));
        }
        sp.notes.extend(rp.notes);
        sp.new_entry = Some(rp.new_entry);
        sp.record = Some(rp.record);
        sp
    }

    /// `text` with each detection's span replaced by the placeholder of its credential
    /// (found or allocated for the secret's value), and each detection with its
    /// credential and whether that credential already existed.
    fn template<'d>(
        &mut self,
        text: &str,
        found: &[&'d Detection],
        base: &str,
        label: &str,
    ) -> Result<(String, Vec<Part<'d>>)> {
        let mut parts = Vec::new();
        for d in found {
            let Some(value) = d.secret_value(text) else {
                continue;
            };
            let (cred, reused) = self.credential_for(&Secret::new(value), base, label)?;
            parts.push((*d, cred, reused));
        }
        let mut template = text.to_string();
        // Last span first, so earlier spans keep their offsets.
        for (d, cred, _) in parts.iter().rev() {
            template.replace_range(d.span.clone(), &state::placeholder(cred));
        }
        Ok((template, parts))
    }

    /// The credential id for `value`: an existing one with the same value, or a new one.
    fn credential_for(
        &mut self,
        value: &Secret,
        base: &str,
        label: &str,
    ) -> Result<(String, bool)> {
        if let Some((id, _)) = self.allocated.iter().find(|(_, v)| *v == value) {
            return Ok((id.clone(), true));
        }
        if self.known_values.is_none() {
            let mut known = Vec::new();
            for id in self.state.credentials.keys() {
                if let Some(v) = self.vault.map(|v| v.get(id)).transpose()?.flatten() {
                    known.push((id.clone(), v));
                }
            }
            self.known_values = Some(known);
        }
        if let Some((id, _)) = self.known_values.iter().flatten().find(|(_, v)| v == value) {
            self.allocated.insert(id.clone(), value.clone());
            return Ok((id.clone(), true));
        }
        let mut id = self.state.fresh_credential_id(base);
        let mut n = 2;
        while self.allocated.contains_key(&id) {
            id = format!("{}-{n}", state::slug(base));
            n += 1;
        }
        self.allocated.insert(id.clone(), value.clone());
        self.new_secrets
            .insert(id.clone(), (label.to_string(), value.clone()));
        Ok((id, false))
    }
}

/// One detection of a template, its credential, and whether that credential existed.
type Part<'d> = (&'d Detection, String, bool);

/// The moves of detections the user excluded: shown, nothing stored.
fn excluded_moves(found: &[&Detection], text: &str, target: &str, selector: &str) -> Vec<Move> {
    found
        .iter()
        .map(|d| Move {
            target: target.to_string(),
            selector: selector.to_string(),
            rule: d.rule.id(),
            rule_text: d.rule.describe(),
            masked: scan::mask(&d.secret_value(text).unwrap_or_default()),
            credential: String::new(),
            reused: false,
            excluded: true,
            becomes: None,
        })
        .collect()
}

fn push_binding(bindings: &mut Vec<Binding>, target: &str, credential: &str) {
    if !bindings
        .iter()
        .any(|b| b.target == target && b.credential == credential)
    {
        bindings.push(Binding {
            target: target.to_string(),
            credential: credential.to_string(),
        });
    }
}

/// What `apply_import` did.
#[derive(Debug, Default)]
pub struct Applied {
    pub servers: Vec<String>,
    pub credentials_stored: usize,
}

/// Apply a plan: keychain first, then state, then the config (conflict-checked).
pub fn apply_import(
    plan: &Plan,
    vault: &Vault,
    paths: &crate::base::paths::Paths,
    audit: &AuditLog,
    now: &str,
) -> Result<Applied> {
    if !plan.changes() {
        return Ok(Applied::default());
    }
    // Cheap early conflict check before anything is stored.
    let current = fsutil::read_optional(&plan.config_path)?.unwrap_or_default();
    if fsutil::sha256(&current) != plan.read_hash {
        return Err(Error::ConfigChanged {
            path: plan.config_path.clone(),
        });
    }
    for (id, (_, value)) in &plan.new_secrets {
        vault.set(id, value)?;
    }
    State::update(paths, |st| {
        for (id, (label, _)) in &plan.new_secrets {
            st.credentials.insert(
                id.clone(),
                Credential {
                    id: id.clone(),
                    kind: "secret".into(),
                    label: label.clone(),
                    created: now.to_string(),
                    rotated: None,
                },
            );
        }
        for sp in &plan.servers {
            if let Some(rec) = &sp.record {
                let mut rec = rec.clone();
                // Re-importing keeps a known server's tool guard (its policy and pins), and
                // a server recorded before the guard stays unguarded.
                if let Some(prev) = st.servers.get(&rec.id) {
                    rec.guard = prev.guard.clone();
                }
                st.servers.insert(rec.id.clone(), rec);
            } else if sp.action == Action::UpdateLauncher {
                // Nothing in the state depends on the launcher's path.
            }
        }
        Ok(())
    })?;
    fsutil::replace_file(
        &plan.config_path,
        &plan.new_bytes,
        fsutil::Expect::Hash(plan.read_hash),
    )?;

    let mut events = Vec::new();
    let mut applied = Applied {
        credentials_stored: plan.new_secrets.len(),
        ..Applied::default()
    };
    for sp in plan.servers.iter().filter(|s| s.changes()) {
        applied.servers.push(sp.id.clone());
        for m in sp.moves.iter().filter(|m| !m.excluded) {
            events.push(
                event(now, EventKind::Imported, &sp.id, plan.host)
                    .credential(&m.credential)
                    .target(Target::from(m.target.as_str()))
                    .detail(format!(
                        "moved from {} into the keychain{}",
                        plan.config_path.display(),
                        if m.reused {
                            " (same value as an existing credential)"
                        } else {
                            ""
                        }
                    )),
            );
        }
        // Only an approval the user gave, after seeing both sides, is recorded as one.
        if sp.approved
            && let Some(a) = &sp.approval
        {
            events.push(
                event(now, EventKind::Approved, &sp.id, plan.host)
                    .fingerprint(&a.fingerprint)
                    .detail(format!(
                        "new command approved at import: {}",
                        shell_words::join(&a.new_command)
                    )),
            );
        }
        let mut rewritten = event(now, EventKind::Rewritten, &sp.id, plan.host).detail(format!(
            "entry `{}` in {} now starts through keybroker run",
            sp.name,
            plan.config_path.display()
        ));
        if let Some(r) = &sp.record {
            rewritten = rewritten.fingerprint(&r.fingerprint);
        }
        events.push(rewritten);
    }
    audit.append(events)?;
    Ok(applied)
}

/// A successful change to `server`'s entry in `host`'s config, made by this process.
fn event(now: &str, kind: EventKind, server: &str, host: Host) -> Event {
    Event::new(kind, Outcome::Ok, now)
        .server(server)
        .host(host.id())
        .process(std::process::id(), None, None)
}

/// A URL for display: every secret in it masked.
pub fn redact_url(url: &str) -> String {
    crate::net::redact_text(url)
}

// ---------------------------------------------------------------------------------------
// Restore

pub struct RestorePlan {
    pub host: Host,
    pub config_path: PathBuf,
    /// (server id, entry name, notes)
    pub servers: Vec<(String, String, Vec<String>)>,
    /// Entries that name a brokered server but are not its entry in this file, and why
    /// they stay as they are.
    pub skipped: Vec<(String, String)>,
    read_hash: Digest32,
    new_bytes: Vec<u8>,
}

/// Plan giving the original entries back. With `reveal`, secret values are read from the
/// keychain and written into the file; without it they are left empty.
pub fn plan_restore(
    host: Host,
    config_path: &Path,
    state: &State,
    vault: &Vault,
    reveal: bool,
) -> Result<RestorePlan> {
    let bytes = fsutil::read_optional(config_path)?.ok_or_else(|| {
        Error::other(
            format!("{} does not exist", config_path.display()),
            "pass the host's config file with --config PATH",
        )
    })?;
    let mut file = ConfigDoc::parse(host, config_path, &bytes)?;
    let mut servers = Vec::new();
    let mut skipped = Vec::new();
    for found in file.servers(host, config_path)? {
        let (name, value, key_path) = (found.name, found.value, found.key_path);
        let Entry::Stdio { command, args, .. } = Entry::from_value(&value) else {
            continue;
        };
        let Some((server_id, binding)) = hosts::as_brokered(&command, &args)
            .map(|b| (b.server_id, b.binding))
            .or_else(|| {
                crate::ops::remote::as_bridged(&command, &args).map(|b| (b.server_id, b.binding))
            })
        else {
            continue;
        };
        let Some(server) = state.servers.get(&server_id) else {
            continue;
        };
        // A server's values go back only into the entry Keybroker wrote for it: in the
        // file its record came from, with its binding id. An entry elsewhere that names
        // it (a copy in another host's file, a cloned project) is left as is: it never
        // had those values.
        if server.host != host.id()
            || !fsutil::same_file(&server.config_path, config_path)
            || binding != server.binding_id
        {
            skipped.push((
                name,
                format!(
                    "left as is: it names `{server_id}`, whose entry Keybroker wrote in {}",
                    server.config_path.display()
                ),
            ));
            continue;
        }
        let mut notes = Vec::new();
        let mut restored = server.original.clone();
        for binding in &server.bindings {
            let replacement = if reveal {
                match vault.get(&binding.credential)? {
                    Some(v) => v,
                    None => {
                        notes.push(format!(
                            "{}: no value in the keychain, left empty",
                            binding.target
                        ));
                        Secret::new("")
                    }
                }
            } else {
                notes.push(format!(
                    "{}: left empty (the value stays in the keychain as `{}`; --reveal writes it back)",
                    binding.target, binding.credential
                ));
                Secret::new("")
            };
            substitute(&mut restored, &binding.credential, &replacement);
        }
        file.set_entry_at(&key_path, &name, &restored)?;
        servers.push((server.id.clone(), name, notes));
    }
    Ok(RestorePlan {
        host,
        config_path: config_path.to_path_buf(),
        servers,
        skipped,
        read_hash: fsutil::sha256(&bytes),
        new_bytes: file.to_bytes(),
    })
}

/// Every placeholder of `credential` in `v` filled with `secret` (JSON-escaped inside a
/// JSON template, so a JSON env value comes back exactly as it was).
fn substitute(v: &mut Value, credential: &str, secret: &Secret) {
    match v {
        Value::String(s) => *s = state::fill(s, credential, secret.expose()),
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, credential, secret)),
        Value::Object(o) => o
            .values_mut()
            .for_each(|x| substitute(x, credential, secret)),
        _ => {}
    }
}

pub fn apply_restore(
    plan: &RestorePlan,
    paths: &crate::base::paths::Paths,
    audit: &AuditLog,
    now: &str,
) -> Result<()> {
    if plan.servers.is_empty() {
        return Ok(());
    }
    fsutil::replace_file(
        &plan.config_path,
        &plan.new_bytes,
        fsutil::Expect::Hash(plan.read_hash),
    )?;
    State::update(paths, |st| {
        for (id, _, _) in &plan.servers {
            st.servers.remove(id);
        }
        Ok(())
    })?;
    let events = plan
        .servers
        .iter()
        .map(|(id, name, _)| {
            event(now, EventKind::Restored, id, plan.host).detail(format!(
                "entry `{name}` in {} restored",
                plan.config_path.display()
            ))
        })
        .collect();
    audit.append(events)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOTION: &str = "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";
    const TWILIO_SECRET: &str = "KBCANARY8AWYDnOE1cyZySrKdCJj2c9e";

    struct Sandbox {
        dir: tempfile::TempDir,
        vault: Vault,
    }

    fn sandbox() -> Sandbox {
        let mock: std::sync::Arc<keyring_core::api::CredentialStore> =
            keyring_core::mock::Store::new().expect("mock store");
        Sandbox {
            dir: tempfile::tempdir().expect("tmp"),
            vault: Vault::with_store(mock, "keybroker-test"),
        }
    }

    /// Plan the import of `servers` (a Claude Desktop `mcpServers` map).
    fn plan(sb: &Sandbox, servers: Value) -> Plan {
        plan_excluding(sb, servers, &[])
    }

    fn plan_excluding(sb: &Sandbox, servers: Value, exclude: &[String]) -> Plan {
        let config = sb.dir.path().join("claude_desktop_config.json");
        let bytes = serde_json::to_vec_pretty(&json!({ "mcpServers": servers })).expect("json");
        std::fs::write(&config, bytes).expect("write");
        let launcher = sb.dir.path().join("keybroker");
        let req = ImportRequest {
            host: Host::ClaudeDesktop,
            config_path: &config,
            exclude,
            launcher: &launcher,
            only: None,
            set_env: None,
            approve: &[],
            keybroker_home: None,
        };
        plan_import(&req, &State::default(), &sb.vault).expect("plan")
    }

    /// Plan the import of one Notion server from a `host` file (JSON `mcpServers`) with
    /// Keybroker's root at `home`; the new entry and the record `restore` writes back.
    fn plan_for_host(sb: &Sandbox, host: Host, home: Option<&Path>) -> (Value, Value, Server) {
        let config = sb.dir.path().join("settings.json");
        let servers = json!({ "mcpServers": { "notion": {
            "command": "npx",
            "args": ["-y", "@notionhq/notion-mcp-server"],
            "env": { "NOTION_TOKEN": NOTION },
        } } });
        std::fs::write(&config, servers.to_string()).expect("write");
        let launcher = sb.dir.path().join("keybroker");
        let req = ImportRequest {
            host,
            config_path: &config,
            exclude: &[],
            launcher: &launcher,
            only: None,
            set_env: None,
            approve: &[],
            keybroker_home: home,
        };
        let mut p = plan_import(&req, &State::default(), &sb.vault).expect("plan");
        let sp = p.servers.remove(0);
        let rec = sp.record.expect("a record");
        (
            sp.new_entry.expect("a new entry"),
            rec.original.clone(),
            rec,
        )
    }

    #[test]
    fn a_host_that_passes_only_the_entry_env_gets_keybroker_home_in_the_entry() {
        let sb = sandbox();
        let home = sb.dir.path().join("portable");
        let (entry, original, rec) = plan_for_host(&sb, Host::GeminiCli, Some(&home));
        let want = home.to_string_lossy().into_owned();
        assert_eq!(entry["env"], json!({ "KEYBROKER_HOME": want }), "{entry}");
        // It is part of what was approved, and `restore` does not write it back.
        let spawn = rec.spawn.expect("approved spawn");
        assert_eq!(spawn.env.get("KEYBROKER_HOME"), Some(&want));
        assert!(
            original["env"].get("KEYBROKER_HOME").is_none(),
            "{original}"
        );
        no_canary(&entry);
    }

    #[test]
    fn a_host_that_passes_its_own_env_or_a_default_install_gets_no_keybroker_home() {
        let sb = sandbox();
        let home = sb.dir.path().join("portable");
        let (inherits, _, _) = plan_for_host(&sb, Host::ClaudeCode, Some(&home));
        assert_eq!(inherits["env"], json!({}), "{inherits}");
        let (default_install, _, _) = plan_for_host(&sb, Host::GeminiCli, None);
        assert_eq!(default_install["env"], json!({}), "{default_install}");
    }

    fn secrets(p: &Plan) -> Vec<(String, String)> {
        p.new_secrets
            .iter()
            .map(|(id, (_, v))| (id.clone(), v.expose().to_string()))
            .collect()
    }

    fn no_canary(v: &impl serde::Serialize) {
        let text = serde_json::to_string(v).expect("json");
        assert!(!text.contains("KBCANARY"), "{text}");
    }

    #[test]
    fn a_json_env_value_keeps_its_shape_with_a_placeholder_where_the_token_was() {
        let sb = sandbox();
        let headers =
            format!(r#"{{"Authorization": "Bearer {NOTION}", "Notion-Version": "2022-06-28" }}"#);
        let p = plan(
            &sb,
            json!({"notion": {"command": "npx", "args": ["-y", "@notionhq/notion-mcp-server"],
                "env": {"OPENAPI_MCP_HEADERS": headers}}}),
        );
        let sp = &p.servers[0];
        assert_eq!(sp.action, Action::Broker);
        let entry = sp.new_entry.as_ref().expect("entry");
        no_canary(entry);
        let cred = &sp.moves[0].credential;
        let template = format!(
            r#"{{"Authorization": "Bearer ${{keybroker:{cred}}}", "Notion-Version": "2022-06-28" }}"#
        );
        assert_eq!(entry["env"]["OPENAPI_MCP_HEADERS"], template.as_str());
        assert_eq!(secrets(&p), vec![(cred.clone(), NOTION.to_string())]);
        let rec = sp.record.as_ref().expect("record");
        no_canary(rec);
        assert_eq!(
            rec.original["env"]["OPENAPI_MCP_HEADERS"],
            template.as_str()
        );
        assert_eq!(
            rec.spawn.as_ref().expect("spawn").env["OPENAPI_MCP_HEADERS"],
            template,
            "the approval keeps the template"
        );
        assert!(
            rec.bindings
                .iter()
                .any(|b| b.target == "env:OPENAPI_MCP_HEADERS" && b.credential == *cred)
        );
        assert_eq!(
            sp.moves[0].becomes.as_deref(),
            Some(format!("env OPENAPI_MCP_HEADERS = {template}").as_str())
        );
        assert_eq!(
            state::fill(&template, cred, NOTION),
            headers,
            "filled, it is the original"
        );
    }

    #[test]
    fn composite_and_positional_args_move_only_the_secret_span() {
        let sb = sandbox();
        let pair = format!(
            "ACf1ad35a70653c83ef7a3eb051cd058a6/SK54d812b1131cbfad1959a5357de84426:{TWILIO_SECRET}"
        );
        let key = "kbcanaryKBCANARY7Qm2xVb9LpTz4Hn3Ws8Rt";
        let p = plan(
            &sb,
            json!({
                "twilio": {"command": "npx", "args": ["-y", "@twilio-alpha/mcp", pair]},
                "neon": {"command": "npx", "args": ["-y", "@neondatabase/mcp-server-neon", "start", key]},
            }),
        );
        let by = |n: &str| p.servers.iter().find(|s| s.name == n).expect("server");
        let tw = by("twilio");
        let cred = &tw.moves[0].credential;
        let args = &tw.new_entry.as_ref().expect("entry")["args"];
        let inner: Vec<&str> = args
            .as_array()
            .expect("args")
            .iter()
            .filter_map(Value::as_str)
            .skip_while(|a| *a != "--")
            .skip(1)
            .collect();
        assert_eq!(
            inner[3],
            format!(
                "ACf1ad35a70653c83ef7a3eb051cd058a6/SK54d812b1131cbfad1959a5357de84426:${{keybroker:{cred}}}"
            )
        );
        assert_eq!(tw.moves[0].target, "arg:2");
        let neon = by("neon");
        assert_eq!(
            neon.moves[0].target, "arg:3",
            "after the `start` subcommand"
        );
        let all = secrets(&p);
        assert!(all.iter().any(|(_, v)| v == TWILIO_SECRET), "{all:?}");
        assert!(all.iter().any(|(_, v)| v == key), "{all:?}");
        for s in &p.servers {
            no_canary(&s.new_entry);
            no_canary(&s.record);
        }
    }

    #[test]
    fn docker_env_assignments_become_names_and_their_values_move_to_the_environment() {
        let sb = sandbox();
        let gh = "gho_KBCANARY3IMJ9PvMJ11Uqz6DNLLgGxJCbUUr";
        let ghs = "ghs_KBCANARYl4QrPz3A2o40ILiI6s6DcouhN1fH";
        let headers =
            format!(r#"{{"Authorization": "Bearer {NOTION}", "Notion-Version": "2022-06-28"}}"#);
        let p = plan(
            &sb,
            json!({"d": {"command": "docker", "args": [
                "run", "-i", "--rm",
                "-e", format!("GITHUB_PERSONAL_ACCESS_TOKEN={gh}"),
                "--env", format!("OPENAPI_MCP_HEADERS={headers}"),
                format!("--env=GITHUB_TOKEN={ghs}"),
                "-e", "GITHUB_TOOLSETS=repos,issues",
                "img"]}}),
        );
        let sp = &p.servers[0];
        let entry = sp.new_entry.as_ref().expect("entry");
        no_canary(entry);
        let args: Vec<&str> = entry["args"]
            .as_array()
            .expect("args")
            .iter()
            .filter_map(Value::as_str)
            .skip_while(|a| *a != "--")
            .skip(1)
            .collect();
        assert_eq!(
            args,
            [
                "docker",
                "run",
                "-i",
                "--rm",
                "-e",
                "GITHUB_PERSONAL_ACCESS_TOKEN",
                "--env",
                "OPENAPI_MCP_HEADERS",
                "--env=GITHUB_TOKEN",
                "-e",
                "GITHUB_TOOLSETS=repos,issues",
                "img"
            ]
        );
        let env = entry["env"].as_object().expect("env");
        assert_eq!(env.len(), 1, "{env:?}");
        let cred_of = |target: &str, rule: &str| {
            sp.moves
                .iter()
                .find(|m| m.target == target && m.rule == rule)
                .map(|m| m.credential.clone())
                .expect("move")
        };
        let notion = cred_of("env:OPENAPI_MCP_HEADERS", "notion-token");
        assert_eq!(
            env["OPENAPI_MCP_HEADERS"],
            format!(r#"{{"Authorization": "Bearer ${{keybroker:{notion}}}", "Notion-Version": "2022-06-28"}}"#).as_str()
        );
        let rec = sp.record.as_ref().expect("record");
        no_canary(rec);
        let pat = cred_of("env:GITHUB_PERSONAL_ACCESS_TOKEN", "github-token");
        let tok = cred_of("env:GITHUB_TOKEN", "github-token");
        for (t, c) in [
            ("env:GITHUB_PERSONAL_ACCESS_TOKEN", &pat),
            ("env:GITHUB_TOKEN", &tok),
            ("env:OPENAPI_MCP_HEADERS", &notion),
        ] {
            assert!(
                rec.bindings
                    .iter()
                    .any(|b| b.target == t && b.credential == *c),
                "{t}"
            );
        }
        // The original keeps the user's shape, secrets as placeholders.
        assert_eq!(
            rec.original["args"][4],
            format!("GITHUB_PERSONAL_ACCESS_TOKEN=${{keybroker:{pat}}}").as_str()
        );
        assert_eq!(
            rec.original["args"][7],
            format!("--env=GITHUB_TOKEN=${{keybroker:{tok}}}").as_str()
        );
        assert!(rec.original.get("env").is_none(), "{}", rec.original);
        assert!(
            !sp.notes.iter().any(|n| n.contains("command line")),
            "no secret is left in argv: {:?}",
            sp.notes
        );
    }

    #[test]
    fn a_url_keyed_remote_entry_moves_the_key_and_is_not_told_to_sign_in() {
        let sb = sandbox();
        let path_key = "KBCANARYiEXpVdE58zHYprM8nkSCV3zwgIj85ZrHnoA8weZP";
        let query_key = "KBCANARYq7Xv2Lm9Pz4Rt6Wy8Bn3Hk5Jd";
        let secret = "KBCANARYcs7Qm2xVb9LpTz4Hn3Ws8Rt1Ye";
        let p = plan(
            &sb,
            json!({
                "zap": {"url": format!("https://mcp.example.com/s/{path_key}/mcp")},
                "smith": {"type": "http", "url": format!("https://mcp.example.com/mcp?api_key={query_key}&profile=x"),
                    "oauth": {"client_id": "kb-client", "client_secret": secret}},
                "bridge": {"command": "npx", "args": ["-y", "mcp-remote", format!("https://mcp.example.com/s/{path_key}/sse")]},
            }),
        );
        for sp in &p.servers {
            assert_eq!(sp.action, Action::Broker, "{}", sp.name);
            no_canary(&sp.new_entry);
            let rec = sp.record.as_ref().expect("record");
            no_canary(rec);
            let remote = rec.remote.as_ref().expect("remote");
            assert!(remote.url.contains("${keybroker:"), "{}", remote.url);
            assert_eq!(remote.oauth_credential, None, "{}", sp.name);
            assert!(
                !sp.notes.iter().any(|n| n.contains("keybroker connect")),
                "{:?}",
                sp.notes
            );
            assert!(sp.moves.iter().any(|m| m.target == "url"));
            no_canary(
                &sp.moves
                    .iter()
                    .map(|m| (&m.masked, &m.becomes))
                    .collect::<Vec<_>>(),
            );
        }
        let smith = p.servers.iter().find(|s| s.name == "smith").expect("smith");
        let rec = smith.record.as_ref().expect("record");
        let url_cred = &rec
            .bindings
            .iter()
            .find(|b| b.target == "url")
            .expect("url")
            .credential;
        assert_eq!(
            rec.remote.as_ref().expect("remote").url,
            format!("https://mcp.example.com/mcp?api_key=${{keybroker:{url_cred}}}&profile=x")
        );
        assert_eq!(
            rec.original["url"],
            rec.remote.as_ref().expect("remote").url.as_str()
        );
        let cs = rec
            .bindings
            .iter()
            .find(|b| b.target == "key:/oauth/client_secret")
            .expect("client secret bound");
        assert_eq!(
            rec.original["oauth"]["client_secret"],
            state::placeholder(&cs.credential).as_str()
        );
        let all = secrets(&p);
        for v in [path_key, query_key, secret] {
            assert!(all.iter().any(|(_, s)| s == v), "{v} moves: {all:?}");
        }
    }

    #[test]
    fn excluding_one_secret_of_a_remote_entry_leaves_the_whole_entry_as_it_is() {
        let sb = sandbox();
        let url = "https://mcp.example.com/s/KBCANARYiEXpVdE58zHYprM8nkSCV3zwgIj85ZrHnoA8weZP/mcp";
        let p = plan_excluding(&sb, json!({"zap": {"url": url}}), &["zap:url".to_string()]);
        let sp = &p.servers[0];
        assert_eq!(sp.action, Action::Excluded);
        assert!(sp.new_entry.is_none() && sp.record.is_none());
        assert!(p.new_secrets.is_empty());
        assert!(!p.changes());
    }
}
