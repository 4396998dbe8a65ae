//! Watching host config files for drift: the host dropped or changed one of
//! Keybroker's entries, a new plaintext secret appeared, or a new server was added.
//!
//! Hosts rewrite their own files (Claude Desktop and Claude Code are known to drop
//! `mcpServers` entries), so a rewrite nobody watches silently stops protecting anyone.
//! This module compares the inventory of each watched file before and after a change
//! and reports the difference; `keybroker watch` prints it and the app shows it.
//!
//! How: `notify` watches each file's parent directory (a host's atomic save replaces
//! the file, which a watch on the file itself would lose). Events are debounced; a file
//! that is missing after the quiet period gets a grace period to reappear (a host's own
//! atomic save) before its absence counts. An unreadable or invalid file is reported
//! once and its last good inventory kept. It does not fix anything: re-applying is a
//! normal import the caller runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher as _};
use serde::Serialize;

use crate::base::error::{Error, Result};
use crate::base::paths::Paths;
use crate::config::hosts::Host;
use crate::ops::inventory::{self, ServerStatus, Status};
use crate::store::state::State;

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriftKind {
    /// A brokered entry is gone from the file.
    Dropped,
    /// A brokered entry's command or env names changed (no secrets until approved).
    Changed,
    /// A brokered entry starts a `keybroker` that is not this installation's launcher.
    Launcher,
    /// A plaintext secret is in the file.
    Plaintext,
    /// A server the file did not have before.
    NewServer,
    /// The file cannot be read or parsed (left as is; the last good state is kept).
    Unreadable,
}

impl DriftKind {
    pub fn text(self) -> &'static str {
        match self {
            DriftKind::Dropped => "dropped",
            DriftKind::Changed => "changed",
            DriftKind::Launcher => "launcher",
            DriftKind::Plaintext => "plaintext",
            DriftKind::NewServer => "new server",
            DriftKind::Unreadable => "unreadable",
        }
    }
}

/// One reported change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub kind: DriftKind,
    /// Server id (empty for `unreadable`).
    pub server: String,
    pub host: String,
    pub config: PathBuf,
    pub detail: String,
}

/// The inventory of each watched file, by server id.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    files: BTreeMap<PathBuf, BTreeMap<String, ServerStatus>>,
}

impl Snapshot {
    /// Every server now, file by file.
    pub fn servers(&self) -> impl Iterator<Item = &ServerStatus> {
        self.files.values().flat_map(|m| m.values())
    }

    /// What needs attention right now (for a first report before any change).
    pub fn problems(&self) -> Vec<Drift> {
        let mut out = Vec::new();
        for st in self.servers() {
            let kind = match st.status {
                Status::MissingFromConfig => DriftKind::Dropped,
                Status::CommandChanged => DriftKind::Changed,
                Status::LauncherDrift => DriftKind::Launcher,
                Status::PlaintextInConfig => DriftKind::Plaintext,
                _ => continue,
            };
            out.push(drift(kind, st));
        }
        out
    }
}

/// Read the inventory of `files`; unreadable ones are reported and left out. `launcher`
/// is this installation's `keybroker`.
pub fn snapshot(
    state: &State,
    files: &[(Host, PathBuf)],
    launcher: &Path,
) -> (Snapshot, Vec<Drift>) {
    let mut snap = Snapshot::default();
    let mut errors = Vec::new();
    for (host, path) in files {
        match inventory::list_file(state, None, *host, path, launcher) {
            Ok(list) => {
                snap.files.insert(
                    path.clone(),
                    list.into_iter().map(|s| (s.id.clone(), s)).collect(),
                );
            }
            Err(e) => errors.push(Drift {
                kind: DriftKind::Unreadable,
                server: String::new(),
                host: host.id().to_string(),
                config: path.clone(),
                detail: e.to_string().lines().next().unwrap_or_default().to_string(),
            }),
        }
    }
    (snap, errors)
}

/// What got worse from `old` to `new`, per file present in `new`.
pub fn diff(old: &Snapshot, new: &Snapshot) -> Vec<Drift> {
    let mut out = Vec::new();
    for (path, servers) in &new.files {
        let before = old.files.get(path);
        for st in servers.values() {
            let prev = before.and_then(|b| b.get(&st.id));
            let was = prev.map(|p| p.status);
            let kind = match (was, st.status) {
                (None, Status::MissingFromConfig) => Some(DriftKind::Dropped),
                (None, Status::PlaintextInConfig) => Some(DriftKind::Plaintext),
                (None, _) => Some(DriftKind::NewServer),
                (Some(w), s) if w == s => None,
                (Some(_), Status::MissingFromConfig) => Some(DriftKind::Dropped),
                (Some(_), Status::CommandChanged) => Some(DriftKind::Changed),
                (_, Status::LauncherDrift) => Some(DriftKind::Launcher),
                (Some(_), Status::PlaintextInConfig) => Some(DriftKind::Plaintext),
                _ => None,
            };
            // More plaintext in an entry that already had some is new plaintext too.
            let kind = kind.or_else(|| {
                (prev.is_some_and(|p| st.plaintext > p.plaintext)).then_some(DriftKind::Plaintext)
            });
            if let Some(k) = kind {
                out.push(drift(k, st));
            }
        }
    }
    out
}

fn drift(kind: DriftKind, st: &ServerStatus) -> Drift {
    let detail = match kind {
        DriftKind::Dropped => "Keybroker's entry is gone".to_string(),
        DriftKind::Changed => {
            "the brokered entry's command changed; it gets no secrets until approved".into()
        }
        DriftKind::Launcher => {
            "the brokered entry does not start this installation's keybroker".into()
        }
        DriftKind::Plaintext => format!("{} plaintext secret(s) in the file", st.plaintext),
        DriftKind::NewServer => format!("new server ({})", st.status.text()),
        DriftKind::Unreadable => String::new(),
    };
    let fix = st
        .detail
        .as_deref()
        .map(|d| format!("; {d}"))
        .unwrap_or_default();
    Drift {
        kind,
        server: st.id.clone(),
        host: st.host.clone(),
        config: st.config.clone(),
        detail: format!("{detail}{fix}"),
    }
}

/// A `notify` watch on a set of host config files.
pub struct Watch {
    files: Vec<(Host, PathBuf)>,
    rx: Receiver<notify::Result<notify::Event>>,
    _watcher: notify::RecommendedWatcher,
}

impl Watch {
    /// Watch `files` (through their parent dirs). Files whose dir does not exist are
    /// left out; [`Watch::files`] says which are watched.
    pub fn new(files: &[(Host, PathBuf)]) -> Result<Watch> {
        let (tx, rx) = mpsc::channel();
        let mut watcher = notify::recommended_watcher(move |ev| {
            let _ = tx.send(ev);
        })
        .map_err(notify_error)?;
        let mut watched = Vec::new();
        let mut dirs: Vec<PathBuf> = Vec::new();
        for (host, path) in files {
            let Some(dir) = path.parent().filter(|d| d.is_dir()) else {
                continue;
            };
            if !dirs.iter().any(|d| d == dir) {
                watcher
                    .watch(dir, RecursiveMode::NonRecursive)
                    .map_err(notify_error)?;
                dirs.push(dir.to_path_buf());
            }
            watched.push((*host, path.clone()));
        }
        Ok(Watch {
            files: watched,
            rx,
            _watcher: watcher,
        })
    }

    pub fn files(&self) -> &[(Host, PathBuf)] {
        &self.files
    }

    /// Wait (up to `timeout`) for a change to a watched file, then until `debounce` has
    /// passed without further events. Returns whether a watched file changed.
    pub fn wait(&self, debounce: Duration, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut hit = false;
        loop {
            let wait = if hit {
                debounce
            } else {
                deadline.saturating_duration_since(Instant::now())
            };
            match self.rx.recv_timeout(wait) {
                Ok(Ok(ev)) => {
                    if ev.paths.iter().any(|p| self.is_watched(p)) {
                        hit = true;
                    }
                }
                Ok(Err(_)) => hit = true,
                Err(RecvTimeoutError::Timeout) => return hit,
                Err(RecvTimeoutError::Disconnected) => return hit,
            }
            if !hit && Instant::now() >= deadline {
                return false;
            }
        }
    }

    fn is_watched(&self, p: &Path) -> bool {
        self.files
            .iter()
            .any(|(_, f)| f == p || (f.file_name() == p.file_name() && f.parent() == p.parent()))
    }
}

fn notify_error(e: notify::Error) -> Error {
    Error::other(
        format!("cannot watch the host config files: {e}"),
        "on Linux, raise fs.inotify.max_user_watches, or run `keybroker hosts` to check by hand",
    )
}

/// Watch until `stop` is set or `on` returns false: report [`Drift`]s after every
/// change. State is read again each round (an import may have changed it). `grace` is
/// how long a file that vanished may take to come back before its absence counts.
/// `stop` is checked at least twice a second (the app sets it from another thread).
/// `launcher` is this installation's `keybroker` (entries starting another are drift).
pub fn run(
    paths: &Paths,
    files: &[(Host, PathBuf)],
    launcher: &Path,
    debounce: Duration,
    grace: Duration,
    stop: &AtomicBool,
    mut on: impl FnMut(Event<'_>) -> bool,
) -> Result<()> {
    let watch = Watch::new(files)?;
    let state = State::load(paths)?;
    let (mut last, errors) = snapshot(&state, watch.files(), launcher);
    if !on(Event::Started {
        files: watch.files(),
        problems: [last.problems(), errors].concat(),
    }) {
        return Ok(());
    }
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        if !watch.wait(debounce, Duration::from_millis(500)) {
            continue;
        }
        // A host's atomic save may leave the file missing for a moment.
        let existed: Vec<&PathBuf> = last
            .files
            .iter()
            .filter(|(_, m)| !m.is_empty())
            .map(|(p, _)| p)
            .collect();
        let until = Instant::now() + grace;
        while existed.iter().any(|p| !p.exists()) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
        }
        let state = State::load(paths)?;
        let (now, errors) = snapshot(&state, watch.files(), launcher);
        let mut drifts = diff(&last, &now);
        drifts.extend(errors.iter().cloned());
        // Keep the last good inventory of files that could not be read. A file still
        // missing after the grace period keeps its other servers too: when it comes
        // back they are not new; only its brokered entries count as dropped.
        let mut merged = now;
        for e in &errors {
            if let Some(old) = last.files.get(&e.config) {
                merged.files.insert(e.config.clone(), old.clone());
            }
        }
        for (_, path) in watch.files() {
            if !path.exists()
                && let (Some(old), Some(new)) = (last.files.get(path), merged.files.get_mut(path))
            {
                for (id, st) in old {
                    new.entry(id.clone()).or_insert_with(|| st.clone());
                }
            }
        }
        last = merged;
        if !drifts.is_empty() && !on(Event::Drift(&drifts)) {
            return Ok(());
        }
    }
}

/// What [`run`] reports.
pub enum Event<'a> {
    /// Watching began: the files watched, and what already needs attention.
    Started {
        files: &'a [(Host, PathBuf)],
        problems: Vec<Drift>,
    },
    /// Something changed for the worse.
    Drift(&'a [Drift]),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::inventory::ServerStatus;

    fn st(id: &str, status: Status, plaintext: usize) -> ServerStatus {
        ServerStatus {
            id: id.into(),
            host: "cursor".into(),
            name: id.into(),
            config: PathBuf::from("/c/mcp.json"),
            transport: "stdio",
            status,
            credentials: Vec::new(),
            plaintext,
            detail: None,
        }
    }

    fn snap(list: Vec<ServerStatus>) -> Snapshot {
        let mut s = Snapshot::default();
        s.files.insert(
            PathBuf::from("/c/mcp.json"),
            list.into_iter().map(|x| (x.id.clone(), x)).collect(),
        );
        s
    }

    #[test]
    fn diff_reports_a_dropped_entry_a_new_server_and_new_plaintext() {
        let old = snap(vec![
            st("cursor/a", Status::Brokered, 0),
            st("cursor/b", Status::NoSecrets, 0),
        ]);
        let new = snap(vec![
            st("cursor/a", Status::MissingFromConfig, 0),
            st("cursor/b", Status::PlaintextInConfig, 1),
            st("cursor/c", Status::NoSecrets, 0),
        ]);
        let kinds: Vec<(String, DriftKind)> = diff(&old, &new)
            .into_iter()
            .map(|d| (d.server, d.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("cursor/a".into(), DriftKind::Dropped),
                ("cursor/b".into(), DriftKind::Plaintext),
                ("cursor/c".into(), DriftKind::NewServer),
            ]
        );
    }

    #[test]
    fn diff_reports_a_changed_brokered_command_but_not_an_improvement() {
        let old = snap(vec![
            st("cursor/a", Status::Brokered, 0),
            st("cursor/b", Status::PlaintextInConfig, 1),
        ]);
        let new = snap(vec![
            st("cursor/a", Status::CommandChanged, 0),
            st("cursor/b", Status::Brokered, 0),
        ]);
        let d = diff(&old, &new);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(
            (d[0].server.as_str(), d[0].kind),
            ("cursor/a", DriftKind::Changed)
        );
    }

    #[test]
    fn diff_of_an_unchanged_inventory_is_empty() {
        let a = snap(vec![st("cursor/a", Status::Brokered, 0)]);
        assert!(diff(&a, &a.clone()).is_empty());
    }

    #[test]
    fn a_second_plaintext_secret_in_the_same_entry_is_reported() {
        let old = snap(vec![st("cursor/b", Status::PlaintextInConfig, 1)]);
        let new = snap(vec![st("cursor/b", Status::PlaintextInConfig, 2)]);
        assert_eq!(diff(&old, &new)[0].kind, DriftKind::Plaintext);
    }
}
