//! The first run and the Import view's host list: every host config found on this machine
//! (the host table's user files, and the `KEYBROKER_CONFIG_<HOST>` overrides), what each
//! holds (servers, plaintext secrets found by the scanner, brokered entries; counts only,
//! never a value), and one reviewed import across all of them.
//!
//! A host whose file does not exist is not "detected": it is left out, so a first start
//! on a machine without Claude Desktop shows the hosts it has, not an empty page.

use std::collections::HashMap;

use serde::Serialize;

use super::{ImportResult, PlanView, host_label, plan_view};
use crate::base::error::Result;
use crate::ops::context::Context;
use crate::ops::import::{self, ImportRequest};
use crate::ops::inventory::{self, Status};
use crate::store::state::State;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HostSummary {
    pub host: String,
    pub label: String,
    pub config: String,
    pub servers: u32,
    /// Plaintext secrets the scanner found in the file (counted, never shown).
    pub plaintext: u32,
    /// Entries that already start through Keybroker.
    pub brokered: u32,
    /// The file could not be read (it says where and why); the others still count.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FirstRunView {
    /// Nothing is brokered yet: the window opens on the welcome page.
    pub first_run: bool,
    /// Every host config that exists on this machine.
    pub hosts: Vec<HostSummary>,
    /// Plaintext secrets over all hosts.
    pub plaintext: u32,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The host configs found on this machine, with what each holds.
pub fn detected(ctx: &Context) -> Result<FirstRunView> {
    let state = State::load(&ctx.paths)?;
    let launcher = ctx.launcher_path();
    let mut hosts = Vec::new();
    for (host, path) in ctx.configs()? {
        if !path.is_file() {
            continue;
        }
        let mut sum = HostSummary {
            host: host.id().to_string(),
            label: host_label(host.id()),
            config: path.display().to_string(),
            servers: 0,
            plaintext: 0,
            brokered: 0,
            error: None,
        };
        // The keychain is not needed to count: no value is read here.
        match inventory::list_file(&state, None, host, &path, launcher) {
            Ok(list) => {
                let list: Vec<_> = list
                    .into_iter()
                    .filter(|s| s.status != Status::MissingFromConfig)
                    .collect();
                sum.servers = count(list.len());
                sum.plaintext = count(list.iter().map(|s| s.plaintext).sum());
                sum.brokered = count(
                    list.iter()
                        .filter(|s| matches!(s.status, Status::Brokered | Status::Bridged))
                        .count(),
                );
            }
            Err(e) => sum.error = Some(e.describe()),
        }
        hosts.push(sum);
    }
    Ok(FirstRunView {
        first_run: state.servers.is_empty(),
        plaintext: hosts.iter().map(|h| h.plaintext).sum(),
        hosts,
    })
}

/// The hosts an import across all hosts covers: every detected file that parses.
fn importable(ctx: &Context) -> Result<Vec<(crate::config::hosts::Host, std::path::PathBuf)>> {
    let ok: Vec<String> = detected(ctx)?
        .hosts
        .into_iter()
        .filter(|h| h.error.is_none())
        .map(|h| h.host)
        .collect();
    Ok(ctx
        .configs()?
        .into_iter()
        .filter(|(h, p)| p.is_file() && ok.iter().any(|id| id == h.id()))
        .collect())
}

fn plan_all(
    ctx: &Context,
    exclude: &HashMap<String, Vec<String>>,
) -> Result<(Vec<import::Plan>, crate::store::vault::Vault)> {
    let files = importable(ctx)?;
    let launcher = ctx.launcher()?;
    let state = State::load(&ctx.paths)?;
    let vault = ctx.vault()?;
    let none = Vec::new();
    let reqs: Vec<ImportRequest<'_>> = files
        .iter()
        .map(|(host, path)| ImportRequest {
            host: *host,
            config_path: path,
            exclude: exclude.get(host.id()).unwrap_or(&none),
            launcher,
            only: None,
            set_env: None,
            approve: &[],
            keybroker_home: ctx.paths.home.as_deref(),
        })
        .collect();
    // One planner for all files: a token shared by two hosts becomes one credential.
    let plans = import::plan_import_all(&reqs, &state, &vault)?;
    Ok((plans, vault))
}

/// The masked plan of every detected host (`exclude`: selectors to leave, by host id).
pub fn plan_import_all(
    ctx: &Context,
    exclude: &HashMap<String, Vec<String>>,
) -> Result<Vec<PlanView>> {
    Ok(plan_all(ctx, exclude)?.0.iter().map(plan_view).collect())
}

/// Apply the plan of every detected host (re-planned now, against the files as they are).
pub fn apply_import_all(
    ctx: &Context,
    exclude: &HashMap<String, Vec<String>>,
    now: &str,
) -> Result<ImportResult> {
    let (plans, vault) = plan_all(ctx, exclude)?;
    let mut servers = Vec::new();
    let mut stored = 0usize;
    let mut hosts = Vec::new();
    for plan in plans.iter().filter(|p| p.changes()) {
        let applied = import::apply_import(plan, &vault, &ctx.paths, &ctx.audit, now)?;
        servers.extend(applied.servers);
        stored += applied.credentials_stored;
        hosts.push(plan.host.name());
    }
    let message = if servers.is_empty() {
        "Nothing to change: no plaintext secrets left in any host config.".to_string()
    } else {
        format!(
            "Rewrote {} entr{} in {}; {stored} secret(s) stored in the keychain. Restart {} to use them.",
            servers.len(),
            if servers.len() == 1 { "y" } else { "ies" },
            hosts.join(", "),
            if hosts.len() == 1 { "it" } else { "them" }
        )
    };
    Ok(ImportResult {
        servers,
        credentials_stored: count(stored),
        message,
    })
}
