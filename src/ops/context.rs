//! The one context every front end hands to the service layer: where Keybroker's files
//! are, the audit log, the launcher written into rewritten entries, and which host file
//! to use where the caller named one.
//!
//! The CLI builds it from its flags (`--config PATH` becomes a per-host override), the
//! app from its environment; both then call the same `ops` functions with it. It holds no
//! secret and opens the keychain only when asked ([`Context::vault`]), so commands that
//! never touch a secret never start a keychain session. The clock is not in here: callers
//! read the time once at the edge and pass it in (`now: &str`).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::base::error::{Error, Result};
use crate::base::paths::Paths;
use crate::config::hosts::{self, Host};
use crate::store::audit::AuditLog;
use crate::store::vault::Vault;

/// Environment variable naming the `keybroker` launcher written into rewritten entries;
/// without it, the `keybroker` binary next to the running executable (for the CLI, the
/// running executable itself).
pub const LAUNCHER_ENV: &str = "KEYBROKER_LAUNCHER";

/// Prefix of the per-host config overrides: `KEYBROKER_CONFIG_CLAUDE_DESKTOP=/path`
/// makes Keybroker work on that file for Claude Desktop (tests, portable setups).
pub const CONFIG_ENV_PREFIX: &str = "KEYBROKER_CONFIG_";

#[derive(Debug, Clone)]
pub struct Context {
    pub paths: Paths,
    pub audit: AuditLog,
    launcher: PathBuf,
    overrides: BTreeMap<Host, PathBuf>,
    /// List the host files found in their usual places too (off: only the overrides).
    discover: bool,
}

impl Context {
    pub fn new(paths: Paths, launcher: PathBuf) -> Context {
        let audit = AuditLog::anchored(paths.audit_file(), &paths.keychain_service());
        Context {
            paths,
            audit,
            launcher,
            overrides: BTreeMap::new(),
            discover: true,
        }
    }

    /// From the environment: `KEYBROKER_HOME`, [`LAUNCHER_ENV`] and the
    /// [`CONFIG_ENV_PREFIX`] overrides. Refuses state and data directories another user
    /// owns or can write ([`Paths::check`]) before anything is read or written there.
    pub fn discover() -> Result<Context> {
        let paths = Paths::discover()?;
        paths.check()?;
        let launcher = match std::env::var_os(LAUNCHER_ENV).filter(|v| !v.is_empty()) {
            Some(p) => PathBuf::from(p),
            None => sibling_launcher()?,
        };
        let mut ctx = Context::new(paths, launcher);
        for host in Host::ALL {
            if let Some(p) = std::env::var_os(config_env(host)).filter(|v| !v.is_empty()) {
                ctx = ctx.with_config(host, PathBuf::from(p));
            }
        }
        Ok(ctx)
    }

    /// Write (and treat as this installation's) `launcher` instead of the discovered one.
    pub fn with_launcher(mut self, launcher: PathBuf) -> Context {
        self.launcher = launcher;
        self
    }

    /// Work on `path` for `host` instead of the host's usual file.
    pub fn with_config(mut self, host: Host, path: PathBuf) -> Context {
        self.overrides.insert(host, path);
        self
    }

    /// Work only on the files given with [`Context::with_config`]: nothing found in the
    /// user's usual host locations is listed, watched or imported (tests, portable use).
    pub fn only_configured(mut self) -> Context {
        self.discover = false;
        self
    }

    /// Open the keychain (a session with the Secret Service on Linux). The audit log
    /// anchors its head through the same session (the launcher opens no second one).
    pub fn vault(&self) -> Result<Vault> {
        let vault = Vault::open(&self.paths.keychain_service())?;
        self.audit.offer_vault(&vault);
        Ok(vault)
    }

    /// [`Context::vault`] on another thread, so the caller's own work (the launcher reads
    /// the state and checks the request meanwhile) overlaps the keychain's connection and
    /// key exchange. [`PendingVault::wait`] hands the session over (or the error).
    pub fn vault_in_background(&self) -> PendingVault {
        let service = self.paths.keychain_service();
        let opening = service.clone();
        let handle = std::thread::Builder::new()
            .name("keybroker-keychain".into())
            .spawn(move || Vault::open(&opening))
            .ok();
        PendingVault {
            handle,
            service,
            audit: self.audit.clone(),
        }
    }

    /// The file to use for `host`: the override, else the first of its usual files that
    /// exists, else where it would be created.
    pub fn config_for(&self, host: Host) -> Result<PathBuf> {
        host.locate(self.overrides.get(&host).map(PathBuf::as_path))
    }

    /// Every host file to show or watch: the overrides (even when the file does not exist
    /// yet), then every other host's user file that exists. Claude Desktop's file is always
    /// listed, so a first start shows where it will be.
    pub fn configs(&self) -> Result<Vec<(Host, PathBuf)>> {
        let mut out: Vec<(Host, PathBuf)> = Vec::new();
        if self.discover && !self.overrides.contains_key(&Host::ClaudeDesktop) {
            out.push((Host::ClaudeDesktop, self.config_for(Host::ClaudeDesktop)?));
        }
        out.extend(self.overrides.iter().map(|(h, p)| (*h, p.clone())));
        let found = if self.discover {
            hosts::discover(None)
        } else {
            Vec::new()
        };
        for f in found {
            if !out.iter().any(|(h, _)| *h == f.host) {
                out.push((f.host, f.path));
            }
        }
        out.sort_by_key(|(h, _)| *h);
        Ok(out)
    }

    /// The launcher path written into entries; an error when it is not there (the app
    /// installed without its CLI, a moved build).
    pub fn launcher(&self) -> Result<&Path> {
        if self.launcher.is_file() {
            Ok(&self.launcher)
        } else {
            Err(Error::other(
                format!(
                    "the keybroker launcher is not at {}",
                    self.launcher.display()
                ),
                format!("install the `keybroker` binary next to the app, or set {LAUNCHER_ENV}"),
            ))
        }
    }

    /// The launcher path as configured, whether or not it exists (drift checks compare
    /// entries against it).
    pub fn launcher_path(&self) -> &Path {
        &self.launcher
    }
}

/// A keychain session being opened ([`Context::vault_in_background`]).
#[derive(Debug)]
pub struct PendingVault {
    handle: Option<std::thread::JoinHandle<Result<Vault>>>,
    service: String,
    audit: AuditLog,
}

impl PendingVault {
    /// The open session (the audit log anchors through it too), or why it could not be
    /// opened. No thread could be started, or it died: opened here instead.
    pub fn wait(self) -> Result<Vault> {
        let opened = match self.handle.map(std::thread::JoinHandle::join) {
            Some(Ok(opened)) => opened,
            _ => Vault::open(&self.service),
        };
        match opened {
            Ok(vault) => {
                self.audit.offer_vault(&vault);
                Ok(vault)
            }
            Err(e) => {
                // The refusal this may be recorded for does not wait for it a second time.
                self.audit.keychain_unavailable(&e.to_string());
                Err(e)
            }
        }
    }
}

/// The override variable for `host`, e.g. `KEYBROKER_CONFIG_CLAUDE_DESKTOP`.
pub fn config_env(host: Host) -> OsString {
    let id: String = host
        .id()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    OsString::from(format!("{CONFIG_ENV_PREFIX}{id}"))
}

/// `keybroker` next to the running executable (the CLI: itself; the app: its sidecar).
fn sibling_launcher() -> Result<PathBuf> {
    let exe = std::env::current_exe().map_err(|e| {
        Error::other(
            format!("cannot find the running program's path: {e}"),
            format!("set {LAUNCHER_ENV} to the keybroker binary"),
        )
    })?;
    let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(dir.join(format!("keybroker{}", std::env::consts::EXE_SUFFIX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_host_has_its_own_override_variable() {
        assert_eq!(
            config_env(Host::ClaudeDesktop),
            OsString::from("KEYBROKER_CONFIG_CLAUDE_DESKTOP")
        );
        assert_eq!(
            config_env(Host::VsCode),
            OsString::from("KEYBROKER_CONFIG_VSCODE")
        );
        let mut names: Vec<OsString> = Host::ALL.into_iter().map(config_env).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Host::ALL.len(), "override names are unique");
    }

    #[test]
    fn an_override_is_the_file_used_and_listed_even_before_it_exists() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("cursor.json");
        let ctx = Context::new(Paths::under(dir.path()), dir.path().join("keybroker"))
            .with_config(Host::Cursor, file.clone());
        assert_eq!(ctx.config_for(Host::Cursor).expect("located"), file);
        let listed = ctx.configs().expect("configs");
        assert!(listed.contains(&(Host::Cursor, file)));
        assert!(listed.iter().any(|(h, _)| *h == Host::ClaudeDesktop));
    }

    #[test]
    fn a_missing_launcher_is_an_error_that_says_how_to_fix_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = Context::new(Paths::under(dir.path()), dir.path().join("keybroker"));
        let err = ctx.launcher().expect_err("missing");
        assert!(err.fix().unwrap_or_default().contains(LAUNCHER_ENV));
    }
}
