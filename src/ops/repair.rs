//! `keybroker repair`: point the entries Keybroker wrote back at this installation's
//! launcher.
//!
//! When Keybroker moves (an update, another install path, an app bundle in a new place),
//! the entries it wrote still name the old `keybroker`, and `servers`, `hosts` and
//! `watch` report them as launcher drift. Repair rewrites the `command` of those entries,
//! and nothing else, to the launcher the caller names, through the same
//! conflict-checked atomic write imports use. Approvals, bindings, binding ids and every
//! other byte of the file stay as they are (the launcher's own path is not part of an
//! approval, so nothing needs approving again). An entry that names a server but is not
//! the one Keybroker wrote for it (another file, another binding id) is left alone: repair
//! would make a foreign entry look like Keybroker's (THREATS 7c, 6a).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::base::error::Result;
use crate::base::fsutil::{self, Digest32};
use crate::config::doc::ConfigDoc;
use crate::config::hosts::{self, Entry, Host};
use crate::ops::inventory::is_this_launcher;
use crate::store::audit::{AuditLog, Event, EventKind, Outcome};
use crate::store::state::State;

/// One entry whose launcher changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaired {
    pub server_id: String,
    /// The entry's name in the file.
    pub name: String,
    /// The launcher the entry named.
    pub from: String,
}

/// What repairing one file changes.
#[derive(Debug)]
pub struct RepairPlan {
    pub host: Host,
    pub config_path: PathBuf,
    pub launcher: PathBuf,
    pub entries: Vec<Repaired>,
    read_hash: Digest32,
    new_bytes: Vec<u8>,
}

/// The files the state records servers in, for `host` (or every host), each once.
pub fn recorded_files(state: &State, host: Option<Host>) -> Vec<(Host, PathBuf)> {
    let mut out: Vec<(Host, PathBuf)> = Vec::new();
    for s in state.servers.values() {
        let Ok(h) = Host::parse(&s.host) else {
            continue;
        };
        if host.is_some_and(|want| want != h) {
            continue;
        }
        if !out
            .iter()
            .any(|(oh, p)| *oh == h && fsutil::same_file(p, &s.config_path))
        {
            out.push((h, s.config_path.clone()));
        }
    }
    out
}

/// Plan pointing the entries Keybroker wrote in `config_path` at `launcher` (only server
/// `only`'s, when given). Changes nothing; a file that does not exist plans nothing.
pub fn plan_repair(
    state: &State,
    host: Host,
    config_path: &Path,
    launcher: &Path,
    only: Option<&str>,
) -> Result<RepairPlan> {
    let bytes = fsutil::read_optional(config_path)?.unwrap_or_default();
    let mut plan = RepairPlan {
        host,
        config_path: config_path.to_path_buf(),
        launcher: launcher.to_path_buf(),
        entries: Vec::new(),
        read_hash: fsutil::sha256(&bytes),
        new_bytes: bytes.clone(),
    };
    if bytes.is_empty() {
        return Ok(plan);
    }
    let mut file = ConfigDoc::parse(host, config_path, &bytes)?;
    for found in file.servers(host, config_path)? {
        let Entry::Stdio { command, args, .. } = Entry::from_value(&found.value) else {
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
        if only.is_some_and(|o| o != server_id) {
            continue;
        }
        let Some(server) = state.servers.get(&server_id) else {
            continue;
        };
        let ours = server.host == host.id()
            && fsutil::same_file(&server.config_path, config_path)
            && binding == server.binding_id;
        if !ours || is_this_launcher(&command, launcher) {
            continue;
        }
        let mut value = found.value.clone();
        if let Some(obj) = value.as_object_mut() {
            obj.insert(
                "command".into(),
                Value::String(launcher.to_string_lossy().into_owned()),
            );
        }
        file.set_entry_at(&found.key_path, &found.name, &value)?;
        plan.entries.push(Repaired {
            server_id,
            name: found.name,
            from: command,
        });
    }
    plan.new_bytes = file.to_bytes();
    Ok(plan)
}

/// Write the plan (refused if the file changed since it was planned) and audit each
/// entry as `rewritten`.
pub fn apply_repair(plan: &RepairPlan, audit: &AuditLog, now: &str) -> Result<()> {
    if plan.entries.is_empty() {
        return Ok(());
    }
    fsutil::replace_file(
        &plan.config_path,
        &plan.new_bytes,
        fsutil::Expect::Hash(plan.read_hash),
    )?;
    let events = plan
        .entries
        .iter()
        .map(|r| {
            Event::new(EventKind::Rewritten, Outcome::Ok, now)
                .server(&r.server_id)
                .host(plan.host.id())
                .process(std::process::id(), None, None)
                .detail(format!(
                    "entry `{}` in {}: launcher repaired from {} to {}",
                    r.name,
                    plan.config_path.display(),
                    r.from,
                    plan.launcher.display()
                ))
        })
        .collect();
    audit.append(events)?;
    Ok(())
}
