//! How a host's user config files are described as data, and the one builder that turns
//! those descriptions into paths for an OS and a set of base dirs.
//!
//! The base dirs come in as a [`Dirs`] value: [`Dirs::system`] reads the real ones from
//! `directories` (`$HOME`, `$XDG_CONFIG_HOME`, `%APPDATA%`, `%LOCALAPPDATA%`), so a test
//! with a temporary `HOME` never sees the real files, and a unit test can build the paths
//! of any OS from made-up dirs. Nothing here reads a file; the one directory listing is
//! the MSIX package lookup, which has no other way to learn a package's dir name.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::HostSpec;

/// The operating systems hosts lay their files out for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    /// Linux and the other Unix systems that follow XDG.
    Linux,
    MacOs,
    Windows,
}

impl Os {
    pub const ALL: [Os; 3] = [Os::Linux, Os::MacOs, Os::Windows];

    /// The OS this build runs on.
    pub fn current() -> Os {
        if cfg!(windows) {
            Os::Windows
        } else if cfg!(target_os = "macos") {
            Os::MacOs
        } else {
            Os::Linux
        }
    }
}

/// Every OS, for a file that sits in the same place everywhere.
pub const ANY_OS: &[Os] = &Os::ALL;

/// The dir a user file's relative path starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The user's home dir.
    Home,
    /// The platform config dir: `$XDG_CONFIG_HOME` (default `~/.config`),
    /// `~/Library/Application Support`, `%APPDATA%`.
    Config,
    /// `$var` when it is set and not empty, else `fallback` under home (`""` for home).
    EnvOrHome {
        var: &'static str,
        fallback: &'static str,
    },
    /// `$var` when it is set and not empty, else nothing (a file only an override names).
    Env { var: &'static str },
    /// The roaming dir Windows gives each installed MSIX package whose family name starts
    /// with `package_prefix`: `%LOCALAPPDATA%\Packages\<family>\LocalCache\Roaming`. A
    /// packaged app reads its files there, never from the plain `%APPDATA%`, so each
    /// installed package is a candidate (none when nothing is installed).
    MsixRoaming { package_prefix: &'static str },
}

/// One user-scope config file of a host: on which OSes, from which base dir, and the
/// path below it (`/`-separated; joined component by component).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserFile {
    pub os: &'static [Os],
    pub base: Base,
    pub rel: &'static str,
}

/// The base dirs user paths are built from.
#[derive(Debug, Clone)]
pub struct Dirs {
    pub os: Os,
    pub home: PathBuf,
    /// See [`Base::Config`].
    pub config: PathBuf,
    /// Per-user local app data (`%LOCALAPPDATA%` on Windows), where MSIX packages live.
    pub local_data: PathBuf,
    /// Reads an environment variable; `std::env::var_os` for the real system.
    pub var: fn(&str) -> Option<OsString>,
}

impl Dirs {
    /// This system's dirs, or `None` when it has no home dir to start from.
    pub fn system() -> Option<Dirs> {
        let base = directories::BaseDirs::new()?;
        Some(Dirs {
            os: Os::current(),
            home: base.home_dir().to_path_buf(),
            config: base.config_dir().to_path_buf(),
            local_data: base.data_local_dir().to_path_buf(),
            var: |name| std::env::var_os(name),
        })
    }
}

/// `host`'s user-scope config files under `dirs`, most likely first (they may not exist).
pub fn user_paths(host: &HostSpec, dirs: &Dirs) -> Vec<PathBuf> {
    host.user_files
        .iter()
        .filter(|f| f.os.contains(&dirs.os))
        .flat_map(|f| {
            base_dirs(f.base, dirs)
                .into_iter()
                .map(|d| join_rel(&d, f.rel))
        })
        .collect()
}

/// The environment variables that move `host`'s user files, in table order.
pub fn path_vars(host: &HostSpec) -> Vec<&'static str> {
    let mut out = Vec::new();
    for f in host.user_files {
        if let Base::EnvOrHome { var, .. } | Base::Env { var } = f.base
            && !out.contains(&var)
        {
            out.push(var);
        }
    }
    out
}

/// `rel` (`/`-separated) under `dir`, with the platform's separators.
pub fn join_rel(dir: &Path, rel: &str) -> PathBuf {
    rel.split('/')
        .filter(|s| !s.is_empty())
        .fold(dir.to_path_buf(), |p, s| p.join(s))
}

fn base_dirs(base: Base, dirs: &Dirs) -> Vec<PathBuf> {
    match base {
        Base::Home => vec![dirs.home.clone()],
        Base::Config => vec![dirs.config.clone()],
        Base::EnvOrHome { var, fallback } => vec![
            (dirs.var)(var)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| join_rel(&dirs.home, fallback)),
        ],
        Base::Env { var } => (dirs.var)(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .into_iter()
            .collect(),
        Base::MsixRoaming { package_prefix } => msix_roaming(&dirs.local_data, package_prefix),
    }
}

/// The roaming dirs of the installed packages whose family name starts with `prefix`,
/// sorted so the order does not depend on the file system.
fn msix_roaming(local_data: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(local_data.join("Packages"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path().join("LocalCache").join("Roaming"))
        .collect();
    found.sort();
    found
}

/// The files in `pattern`'s dir whose names fit its last step (one `*` standing for any
/// run of characters), sorted so the order does not depend on the file system.
pub fn glob_files(pattern: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (pattern.parent(), pattern.file_name()) else {
        return Vec::new();
    };
    let name = name.to_string_lossy();
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| name_fits(&e.file_name().to_string_lossy(), &name))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found
}

/// Whether `file` ends with `rel` (`/`-separated; a `*` in its last step stands for any
/// run of characters in the file name).
pub fn rel_matches(file: &Path, rel: &str) -> bool {
    let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
    let Some(file_name) = file.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return false;
    };
    if !name_fits(&file_name, name) {
        return false;
    }
    let parent = file.parent().unwrap_or(Path::new(""));
    dir.is_empty() || parent.ends_with(join_rel(Path::new(""), dir))
}

/// `name` against `pattern`, where one `*` stands for any run of characters.
fn name_fits(name: &str, pattern: &str) -> bool {
    match pattern.split_once('*') {
        None => name == pattern,
        Some((head, tail)) => {
            name.len() >= head.len() + tail.len() && name.starts_with(head) && name.ends_with(tail)
        }
    }
}
