//! Where Keybroker keeps its own files.
//!
//! `KEYBROKER_HOME` puts everything under one root (tests, portable use); otherwise the
//! platform's config/data dirs from `directories`. No file here ever holds a secret value.
//! [`Paths::check`] refuses directories another user owns or can write (one `stat` each;
//! every front end runs it through `ops::Context::discover`, the launcher included).

use std::path::{Path, PathBuf};

use crate::base::error::{Error, Result};
use crate::base::fsutil;

/// The variable that puts all of Keybroker's files under one root.
pub const HOME_ENV: &str = "KEYBROKER_HOME";

#[derive(Debug, Clone)]
pub struct Paths {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
    pub log_dir: PathBuf,
    /// Set when `KEYBROKER_HOME` chose the root; keychain items are then namespaced by it.
    pub home: Option<PathBuf>,
}

impl Paths {
    pub fn discover() -> Result<Paths> {
        if let Some(home) = std::env::var_os(HOME_ENV).filter(|h| !h.is_empty()) {
            return Ok(Paths::under(Path::new(&home)));
        }
        let dirs =
            directories::ProjectDirs::from("dev", "keybroker", "keybroker").ok_or_else(|| {
                Error::other(
                    "cannot find a home directory for Keybroker's state",
                    "set HOME, or set KEYBROKER_HOME to a directory Keybroker may use",
                )
            })?;
        Ok(Paths {
            config_dir: dirs.config_dir().to_path_buf(),
            data_dir: dirs.data_dir().to_path_buf(),
            log_dir: dirs.data_local_dir().join("logs"),
            home: None,
        })
    }

    pub fn under(root: &Path) -> Paths {
        let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
        Paths {
            config_dir: root.join("config"),
            data_dir: root.join("data"),
            log_dir: root.join("logs"),
            home: Some(root),
        }
    }

    /// Refuse to work in a state or data directory (or the `KEYBROKER_HOME` root) that
    /// another user owns or can write: [`Error::UnsafeDir`] with the `chmod`/`chown` to
    /// run. Directories that do not exist yet pass; Keybroker creates them 0700.
    pub fn check(&self) -> Result<()> {
        if let Some(root) = &self.home {
            fsutil::check_private_dir(root)?;
        }
        fsutil::check_private_dir(&self.config_dir)?;
        if self.data_dir != self.config_dir {
            fsutil::check_private_dir(&self.data_dir)?;
        }
        Ok(())
    }

    pub fn state_file(&self) -> PathBuf {
        self.config_dir.join("state.json")
    }

    pub fn audit_file(&self) -> PathBuf {
        self.data_dir.join("audit.jsonl")
    }

    /// The keychain service name: `keybroker`, or `keybroker@<root>` under `KEYBROKER_HOME`
    /// so a portable or test install never touches the main install's items.
    pub fn keychain_service(&self) -> String {
        match &self.home {
            None => "keybroker".to_string(),
            Some(root) => format!("keybroker@{}", root.display()),
        }
    }
}
