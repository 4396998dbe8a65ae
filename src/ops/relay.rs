//! The guarded launcher: `keybroker run` for a guarded server starts it as a child and
//! relays stdio through the tool guard ([`crate::mcp::guard`]); the bridge uses the same
//! [`GuardSession`] in process.
//!
//! Process behaviour of a wrapper a host cannot tell from the server: SIGINT, SIGTERM,
//! SIGHUP and SIGQUIT are passed to the child; the child's exit code is returned (128 +
//! the signal when a signal killed it); stdin EOF is passed on (the child's stdin is
//! closed); stderr is the host's. The child dies with the launcher: on Linux the kernel
//! kills it (`PR_SET_PDEATHSIG`, set in the child before exec, with the check that the
//! launcher had not died already); on Windows the child runs in a job object that kills
//! it when the launcher's handle closes; on macOS a small watcher process polls for the
//! launcher and kills the child when it is gone (and the server sees EOF on stdin).
//!
//! Threads, no async runtime: one per direction, one for signals, one that appends audit
//! events in batches (so a tool call never waits for the log's fsync). Lines are read
//! into one reused buffer (linear in the line's size, however large) and written whole
//! under the output lock, so the guard's own answers never land inside a server line.
//!
//! What this does not do: decide anything about tools (the guard does), or read secrets
//! (the launcher released them before; its keychain session is closed by then).

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use crate::base::error::{Error, Result};
use crate::base::paths::Paths;
use crate::mcp::guard::{FromClient, FromServer, Guard, Note};
use crate::store::audit::{AuditLog, Event, EventKind, Outcome};
use crate::store::state::{Server, State};

/// How `keybroker run`/`bridge` gets the time for audit events.
pub type Clock = fn() -> String;

/// Sent to the client when an approval or a policy change shows it other tools.
const LIST_CHANGED: &[u8] = br#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#;

/// One guarded session: the guard, where its changes go, and the audit writer.
pub struct GuardSession {
    guard: Mutex<Guard<Instant>>,
    server_id: String,
    paths: Paths,
    clock: Clock,
    base: Event,
    audit: Mutex<Writer>,
    state_mtime: Mutex<Option<SystemTime>>,
}

impl GuardSession {
    /// A session for `server` (which must be guarded); its audit writer starts with the
    /// first event.
    pub fn open(paths: &Paths, audit: &AuditLog, server: &Server, clock: Clock) -> Arc<Self> {
        let cfg = server.guard.clone().unwrap_or_default();
        let base = Event::new(EventKind::ToolCall, Outcome::Ok, "")
            .server(&server.id)
            .host(&server.host)
            .process(std::process::id(), parent_pid(), None);
        Arc::new(GuardSession {
            guard: Mutex::new(Guard::new(&server.id, cfg)),
            server_id: server.id.clone(),
            paths: paths.clone(),
            clock,
            base,
            audit: Mutex::new(Writer {
                log: audit.clone(),
                running: None,
                finished: false,
            }),
            state_mtime: Mutex::new(mtime(&paths.state_file())),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Guard<Instant>> {
        self.guard.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A line from the client. `Some(extra)`: also send `extra` to the client first (the
    /// tool list changed under it).
    pub fn client_line(&self, line: &[u8]) -> (FromClient, Option<&'static [u8]>) {
        let extra = if memchr::memmem::find(line, b"tools/").is_some() {
            self.reload_if_changed()
        } else {
            None
        };
        let mut g = self.lock();
        let action = g.from_client(line, Instant::now());
        self.after(&mut g);
        (action, extra)
    }

    /// A line from the server.
    pub fn server_line(&self, line: &[u8]) -> FromServer {
        let mut g = self.lock();
        let action = g.from_server(line);
        self.after(&mut g);
        action
    }

    /// The state changed since we read it (the user approved, allowed, denied): use it.
    fn reload_if_changed(&self) -> Option<&'static [u8]> {
        let now = mtime(&self.paths.state_file());
        {
            let mut seen = self.state_mtime.lock().unwrap_or_else(|p| p.into_inner());
            if *seen == now {
                return None;
            }
            *seen = now;
        }
        let state = State::load(&self.paths).ok()?;
        let cfg = state.servers.get(&self.server_id)?.guard.clone()?;
        self.lock().reload(cfg).then_some(LIST_CHANGED)
    }

    /// Persist what the guard changed, audit what it noted.
    fn after(&self, g: &mut Guard<Instant>) {
        let notes = g.take_notes();
        let (dirty, first) = g.take_dirty();
        if !dirty.is_empty() || first {
            let now = (self.clock)();
            let cfg = g.config().clone();
            let id = self.server_id.clone();
            let saved = State::update(&self.paths, |st| {
                let Some(guard) = st.servers.get_mut(&id).and_then(|s| s.guard.as_mut()) else {
                    return Ok(None);
                };
                if first && guard.first_seen.is_none() {
                    guard.first_seen = Some(now.clone());
                }
                for name in &dirty {
                    if let Some(rec) = cfg.tools.get(name) {
                        let mut rec = rec.clone();
                        if let Some(h) = rec.held.as_mut()
                            && h.since.is_empty()
                        {
                            h.since = guard
                                .tools
                                .get(name)
                                .and_then(|r| r.held.as_ref())
                                .filter(|old| old.hash == h.hash && !old.since.is_empty())
                                .map_or_else(|| now.clone(), |old| old.since.clone());
                        }
                        guard.tools.insert(name.clone(), rec);
                    }
                }
                Ok(Some(guard.clone()))
            });
            if let Ok(Some(cfg)) = saved {
                g.reload(cfg);
                *self.state_mtime.lock().unwrap_or_else(|p| p.into_inner()) =
                    mtime(&self.paths.state_file());
            }
        }
        if notes.is_empty() {
            return;
        }
        let time = (self.clock)();
        let mut writer = self.audit.lock().unwrap_or_else(|p| p.into_inner());
        let Some(tx) = writer.sender() else { return };
        for note in notes {
            let mut e = self.base.clone();
            e.time.clone_from(&time);
            let e = match note {
                Note::Called {
                    tool,
                    started,
                    error,
                } => {
                    e.outcome = if error { Outcome::Error } else { Outcome::Ok };
                    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                    e.tool(tool).duration_ms(ms)
                }
                Note::Refused { tool, state } => {
                    e.kind = EventKind::ToolDenied;
                    e.outcome = Outcome::Denied;
                    e.tool(tool).detail(format!(
                        "call refused by the guard: the tool is {}",
                        state.text()
                    ))
                }
                Note::Held { tool, state } => {
                    e.kind = EventKind::ToolHeld;
                    e.outcome = Outcome::Denied;
                    e.tool(tool).detail(format!(
                        "{}: held until `keybroker tools {} --approve`",
                        if state == crate::mcp::guard::ToolState::HeldNew {
                            "a new tool"
                        } else {
                            "its definition changed since it was approved"
                        },
                        self.server_id
                    ))
                }
                Note::Pinned { tools } => {
                    e.kind = EventKind::PolicyChanged;
                    e.detail(format!("first tool list seen: {tools} tools pinned"))
                }
            };
            let _ = tx.send(e);
        }
    }

    /// Write the remaining audit events and stop the writer.
    pub fn finish(&self) {
        let handle = {
            let mut w = self.audit.lock().unwrap_or_else(|p| p.into_inner());
            w.finished = true;
            // Dropping the sender ends the writer once it wrote what is queued.
            w.running.take().map(|(_, handle)| handle)
        };
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

/// The audit writer thread, started with the session's first event (a session that
/// never calls a tool, like most short ones, starts none).
struct Writer {
    log: AuditLog,
    running: Option<(Sender<Event>, std::thread::JoinHandle<()>)>,
    finished: bool,
}

impl Writer {
    /// Where events go: the running writer, started now if need be; `None` once the
    /// session finished, or when no thread can be started (as before a writer existed,
    /// a tool event that cannot be written does not stop the server's session).
    fn sender(&mut self) -> Option<&Sender<Event>> {
        if self.finished {
            return None;
        }
        if self.running.is_none() {
            let (tx, rx) = std::sync::mpsc::channel::<Event>();
            let log = self.log.clone();
            let handle = std::thread::Builder::new()
                .name("keybroker-audit".into())
                .spawn(move || write_events(&log, &rx))
                .ok()?;
            self.running = Some((tx, handle));
        }
        self.running.as_ref().map(|(tx, _)| tx)
    }
}

/// Append events as they come, in batches: whatever queued while the last append ran.
fn write_events(log: &AuditLog, rx: &Receiver<Event>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        // A tool event that cannot be written must not stop the server's session; the
        // next append reports the log's trouble as well.
        let _ = log.append(batch);
    }
}

fn mtime(p: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

#[cfg(unix)]
fn parent_pid() -> Option<u32> {
    Some(std::os::unix::process::parent_id())
}

#[cfg(not(unix))]
fn parent_pid() -> Option<u32> {
    None
}

/// Where the client's messages come from and where they go (stdin/stdout in the launcher,
/// buffers in tests).
pub struct Io<R, W> {
    pub input: R,
    pub output: W,
}

/// Write one message line (`line` + `\n`) whole, and flush when asked.
fn put(out: &Mutex<impl Write>, line: &[u8], flush: bool) -> std::io::Result<()> {
    let mut w = out.lock().unwrap_or_else(|p| p.into_inner());
    w.write_all(line)?;
    w.write_all(b"\n")?;
    if flush {
        w.flush()?;
    }
    Ok(())
}

/// Relay `from` (the client) to `to` (the server's stdin) through the guard; guard answers
/// go to `client`. Returns at EOF of `from` or when the server stops reading.
pub fn pump_client(
    session: &GuardSession,
    from: impl Read,
    mut to: impl Write,
    client: &Mutex<impl Write>,
) {
    let mut reader = BufReader::with_capacity(64 * 1024, from);
    let mut buf = Vec::with_capacity(64 * 1024);
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let more = !reader.buffer().is_empty();
        let Some(line) = buf.strip_suffix(b"\n") else {
            // An unterminated last line is passed on as it is.
            let _ = to.write_all(&buf).and_then(|()| to.flush());
            return;
        };
        let (action, extra) = session.client_line(line);
        if let Some(extra) = extra {
            let _ = put(client, extra, true);
        }
        let sent = match action {
            FromClient::Forward => to.write_all(&buf),
            FromClient::Answer { forward, reply } => {
                if !reply.is_empty() {
                    let _ = put(client, &reply, true);
                }
                match forward {
                    Some(f) => to.write_all(&f).and_then(|()| to.write_all(b"\n")),
                    None => Ok(()),
                }
            }
        };
        let flushed = if more { Ok(()) } else { to.flush() };
        if sent.and(flushed).is_err() {
            return;
        }
    }
}

/// Relay `from` (the server's stdout) to `client` through the guard. Returns at EOF.
pub fn pump_server(session: &GuardSession, from: impl Read, client: &Mutex<impl Write>) {
    let mut reader = BufReader::with_capacity(64 * 1024, from);
    let mut buf = Vec::with_capacity(64 * 1024);
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let flush = reader.buffer().is_empty();
        let Some(line) = buf.strip_suffix(b"\n") else {
            let mut w = client.lock().unwrap_or_else(|p| p.into_inner());
            let _ = w.write_all(&buf).and_then(|()| w.flush());
            return;
        };
        let ok = match session.server_line(line) {
            FromServer::Forward => {
                let mut w = client.lock().unwrap_or_else(|p| p.into_inner());
                w.write_all(&buf)
                    .and_then(|()| if flush { w.flush() } else { Ok(()) })
            }
            FromServer::Replace(new) => put(client, &new, flush),
        };
        if ok.is_err() {
            return;
        }
    }
}

/// Start `cmd` as a child and relay its stdio through `session` until it exits; returns
/// the exit code for the launcher to exit with.
pub fn run(
    mut cmd: std::process::Command,
    program: &std::path::Path,
    session: &Arc<GuardSession>,
) -> Result<i32> {
    use std::process::Stdio;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    platform::prepare(&mut cmd);
    let signals = platform::Signals::install();
    let mut child = cmd.spawn().map_err(|err| {
        Error::other(
            format!("cannot start `{}`: {err}", program.display()),
            "check that the server's command is installed and on the PATH the host gives its servers",
        )
    })?;
    let _job = platform::contain(&child);
    if let Some(s) = &signals {
        s.forward_to(child.id());
    }
    let client = Arc::new(Mutex::new(std::io::stdout()));
    let (Some(child_in), Some(child_out)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(Error::other(
            "the server's stdio could not be set up",
            "report this bug",
        ));
    };
    {
        let (s, c) = (session.clone(), client.clone());
        // Detached: blocked on the host's stdin, it ends with the process.
        std::thread::spawn(move || {
            pump_client(&s, std::io::stdin(), child_in, &c);
            // Returning drops the child's stdin: the server sees EOF.
        });
    }
    let out = {
        let (s, c) = (session.clone(), client.clone());
        std::thread::spawn(move || pump_server(&s, child_out, &c))
    };
    let status = child.wait().map_err(|e| {
        Error::other(
            format!("waiting for the server failed: {e}"),
            "report this bug",
        )
    })?;
    let _ = out.join();
    session.finish();
    let _ = client.lock().unwrap_or_else(|p| p.into_inner()).flush();
    Ok(exit_code(status))
}

/// A guarded launch on Unix: block the signals the relay will forward, before the
/// keychain is opened and the server started; [`run_adopted`] unblocks them.
#[cfg(unix)]
pub fn block_forwarded_signals() {
    unix_signals::set_blocked(true);
}

/// The program a guarded `keybroker run` becomes once its server runs: the small
/// `keybroker-relay` installed with it, else the launcher itself (`keybroker __relay`).
#[cfg(unix)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayProgram {
    pub path: std::path::PathBuf,
    /// `Some("__relay")`: the launcher's own relay entry point (no relay program found).
    pub subcommand: Option<&'static str>,
}

/// File name of the relay program.
pub const RELAY_PROGRAM: &str = "keybroker-relay";

#[cfg(unix)]
impl RelayProgram {
    /// The launcher relaying itself (`launcher __relay`).
    fn itself(launcher: &std::path::Path) -> RelayProgram {
        RelayProgram {
            path: launcher.to_path_buf(),
            subcommand: Some("__relay"),
        }
    }
}

/// Where the relay program of `launcher` (this installation's `keybroker`, its canonical
/// path) is: beside it (`cargo` builds, the app's bundle), or in the `libexec` directory
/// next to its `bin` (`/usr/bin/keybroker` -> `/usr/libexec/keybroker/keybroker-relay`,
/// the packages). Only those two places, both fixed by the launcher's own path: nothing
/// from the environment or the entry chooses the program that relays (and holds the
/// audit key). Without either, the launcher relays itself: the same guard, with the
/// launcher's larger image resident.
///
/// Linux only. The relay is the parent of a server that holds its secrets in its
/// environment; on Linux any process of the user can read that environment anyway
/// (`/proc/<pid>/environ`), so a program beside the launcher adds nothing an attacker of
/// the same user lacks. On macOS the keychain trusts the signed `keybroker` alone, and a
/// file dropped beside it (Homebrew's `bin` is the user's to write) must not become the
/// secret-holding server's parent: there the launcher always relays itself.
#[cfg(unix)]
pub fn relay_program(launcher: &std::path::Path) -> RelayProgram {
    if !cfg!(target_os = "linux") {
        return RelayProgram::itself(launcher);
    }
    let dir = launcher.parent().unwrap_or(std::path::Path::new("/"));
    let mut candidates = vec![dir.join(RELAY_PROGRAM)];
    if let Some(prefix) = dir.parent().filter(|_| dir.ends_with("bin")) {
        candidates.push(prefix.join("libexec/keybroker").join(RELAY_PROGRAM));
    }
    candidates.into_iter().find(|p| p.is_file()).map_or_else(
        || RelayProgram::itself(launcher),
        |path| RelayProgram {
            path,
            subcommand: None,
        },
    )
}

/// Unix: start `cmd` as a child, then replace this process with the relay
/// ([`relay_program`], which runs [`relay_main`]). The relay then holds nothing of the
/// launcher: no keychain session or its threads, no copy of a secret, only the pages
/// relaying needs. Returns only on failure.
#[cfg(unix)]
pub fn spawn_then_relay(
    mut cmd: std::process::Command,
    program: &std::path::Path,
    relay: &RelayProgram,
    server_id: &str,
    mac_key: Option<&crate::base::secret::Secret>,
) -> Error {
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    platform::prepare(&mut cmd);
    // The server starts with the forwarded signals unblocked (std resets the mask of the
    // child too; this does not depend on it).
    // SAFETY: runs in the forked child before exec; pthread_sigmask is async-signal-safe.
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(|| {
            unix_signals::set_blocked(false);
            Ok(())
        });
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(err) => {
            return Error::other(
                format!("cannot start `{}`: {err}", program.display()),
                "check that the server's command is installed and on the PATH the host gives its servers",
            );
        }
    };
    let _job = platform::contain(&child);
    let (Some(to_server), Some(from_server)) = (child.stdin.take(), child.stdout.take()) else {
        return Error::other("the server's stdio could not be set up", "report this bug");
    };
    let (to_server, from_server): (OwnedFd, OwnedFd) = (to_server.into(), from_server.into());
    for fd in [&to_server, &from_server] {
        if let Err(e) = rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty()) {
            return Error::other(
                format!("cannot pass the server's pipes on: {e}"),
                "report this bug",
            );
        }
    }
    // The audit head's MAC key goes to the relay through a pipe (kernel memory, never a
    // file or an argument), so the relay needs no keychain session of its own.
    let key_fd = match mac_key.map(hand_over).transpose() {
        Ok(fd) => fd,
        Err(e) => {
            return Error::other(
                format!("cannot pass the audit key on: {e}"),
                "report this bug",
            );
        }
    };
    let mut exec = std::process::Command::new(&relay.path);
    if let Some(sub) = relay.subcommand {
        exec.arg(sub);
    }
    let err = exec
        .arg(server_id)
        .arg(child.id().to_string())
        .arg(to_server.as_raw_fd().to_string())
        .arg(from_server.as_raw_fd().to_string())
        .arg(
            key_fd
                .as_ref()
                .map_or_else(|| "-".to_string(), |fd| fd.as_raw_fd().to_string()),
        )
        .exec();
    Error::other(
        format!("cannot start the relay ({}): {err}", relay.path.display()),
        "reinstall keybroker",
    )
}

/// What `keybroker run` hands its relay, in order: `<server-id> <pid> <to-server-fd>
/// <from-server-fd> <key-fd|->` (never typed by a person).
#[cfg(unix)]
#[derive(Debug)]
pub struct RelayArgs {
    server_id: String,
    pid: u32,
    to_server: i32,
    from_server: i32,
    /// The descriptor holding the audit head's MAC key (`-`: none, the head goes
    /// without a MAC).
    mac_key_fd: Option<i32>,
}

#[cfg(unix)]
impl RelayArgs {
    /// The five arguments [`spawn_then_relay`] writes, in order; anything else is refused.
    pub fn from_positional(args: &[std::ffi::OsString]) -> Result<RelayArgs> {
        let bad = || {
            Error::other(
                "`__relay` takes <server-id> <pid> <to-server-fd> <from-server-fd> <key-fd|->",
                "`__relay` is started by `keybroker run` only",
            )
        };
        let [server_id, pid, to_server, from_server, key] = args else {
            return Err(bad());
        };
        let text = |a: &std::ffi::OsString| a.to_str().map(str::to_owned).ok_or_else(bad);
        Ok(RelayArgs {
            server_id: text(server_id)?,
            pid: text(pid)?.parse().map_err(|_| bad())?,
            to_server: text(to_server)?.parse().map_err(|_| bad())?,
            from_server: text(from_server)?.parse().map_err(|_| bad())?,
            mac_key_fd: match text(key)?.as_str() {
                "-" => None,
                fd => Some(fd.parse().map_err(|_| bad())?),
            },
        })
    }
}

/// The relay process (`keybroker-relay`, or `keybroker __relay`): adopt the server the
/// launcher started and relay its stdio through the guard until it exits; returns its
/// exit code. Reads what the launcher would (the state and data dirs, checked as
/// [`crate::ops::Context::discover`] checks them), never the CLI parser or the keychain:
/// its tool events seal the head with the key the launcher handed over, and without one
/// (the launcher had none to hand) the head goes without a MAC, as when the keychain is
/// locked. Nothing here reaches a keychain client, so `keybroker-relay` links none.
#[cfg(unix)]
pub fn relay_main(a: &RelayArgs, clock: Clock) -> Result<i32> {
    let paths = Paths::discover()?;
    paths.check()?;
    let audit = match a.mac_key_fd {
        Some(fd) => AuditLog::sealed_with(paths.audit_file(), take_handed_key(fd)?),
        None => AuditLog::new(paths.audit_file()),
    };
    let state = State::load(&paths)?;
    let server = state.server(&a.server_id)?;
    let session = GuardSession::open(&paths, &audit, server, clock);
    drop(state);
    run_adopted(a.pid, a.to_server, a.from_server, &session)
}

/// A pipe holding `key` whose read end stays open across exec (the key is 64 bytes, well
/// under the pipe's buffer, so the write never blocks).
#[cfg(unix)]
fn hand_over(key: &crate::base::secret::Secret) -> std::io::Result<std::os::fd::OwnedFd> {
    use std::io::Write;
    let (reader, mut writer) = std::io::pipe()?;
    writer.write_all(key.expose().as_bytes())?;
    drop(writer);
    let reader: std::os::fd::OwnedFd = reader.into();
    rustix::io::fcntl_setfd(&reader, rustix::io::FdFlags::empty())?;
    Ok(reader)
}

/// The MAC key [`spawn_then_relay`] handed over on descriptor `fd`.
#[cfg(unix)]
pub fn take_handed_key(fd: i32) -> Result<crate::base::secret::Secret> {
    use std::io::Read;
    let mut file = adopt(fd)?;
    let mut key = String::new();
    file.read_to_string(&mut key)
        .map_err(|e| Error::io("the audit key's pipe", e))?;
    Ok(crate::base::secret::Secret::new(key))
}

/// Take ownership of a pipe end this process inherited from [`spawn_then_relay`].
#[cfg(unix)]
#[allow(unsafe_code)]
fn adopt(fd: i32) -> Result<std::fs::File> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let bad = || {
        Error::other(
            format!("descriptor {fd} is not open"),
            "`__relay` is started by `keybroker run` only",
        )
    };
    if fd < 3 {
        return Err(bad());
    }
    // SAFETY: `borrow_raw` only needs `fd` to stay open while borrowed: it is checked
    // with F_GETFD and nothing closes it in between.
    let open = rustix::io::fcntl_getfd(unsafe { rustix::fd::BorrowedFd::borrow_raw(fd) }).is_ok();
    if !open {
        return Err(bad());
    }
    // SAFETY: the descriptor was left open across exec by our own launcher for this
    // process to own; nothing else in this process has taken it (it is adopted once, at
    // start, from the command line `keybroker run` wrote).
    Ok(std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// `keybroker __relay`: relay between this process's stdio and the server `pid` (our
/// child, started by [`spawn_then_relay`] before it exec'd into this image) through its
/// pipes, until it exits; returns its exit code.
#[cfg(unix)]
pub fn run_adopted(
    pid: u32,
    to_server: i32,
    from_server: i32,
    session: &Arc<GuardSession>,
) -> Result<i32> {
    let to_server = adopt(to_server)?;
    let from_server = adopt(from_server)?;
    let child = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .ok_or_else(|| {
            Error::other(
                format!("{pid} is not a process id"),
                "`__relay` is started by `keybroker run` only",
            )
        })?;
    if let Some(s) = platform::Signals::install() {
        s.forward_to(pid);
    }
    // Blocked since before the server started (`block_forwarded_signals`): what arrived
    // meanwhile is delivered now, to the handler.
    unix_signals::set_blocked(false);
    let client = Arc::new(Mutex::new(std::io::stdout()));
    {
        let (s, c) = (session.clone(), client.clone());
        std::thread::spawn(move || pump_client(&s, std::io::stdin(), to_server, &c));
    }
    let out = {
        let (s, c) = (session.clone(), client.clone());
        std::thread::spawn(move || pump_server(&s, from_server, &c))
    };
    let status = loop {
        match rustix::process::waitpid(Some(child), rustix::process::WaitOptions::empty()) {
            Ok(Some((_, status))) if status.exited() || status.signaled() => break status,
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => {
                return Err(Error::other(
                    format!("process {pid} is not this relay's server: {e}"),
                    "`__relay` is started by `keybroker run` only",
                ));
            }
        }
    };
    let _ = out.join();
    session.finish();
    let _ = client.lock().unwrap_or_else(|p| p.into_inner()).flush();
    Ok(status
        .exit_status()
        .or_else(|| status.terminating_signal().map(|s| 128 + s))
        .unwrap_or(1))
}

#[cfg(unix)]
fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

#[cfg(not(unix))]
fn exit_code(status: std::process::ExitStatus) -> i32 {
    status.code().unwrap_or(1)
}

#[cfg(target_os = "linux")]
mod platform {
    use std::os::unix::process::CommandExt;

    /// In the child, before exec: die with SIGKILL when the launcher dies. If the launcher
    /// died between fork and here, the child was already re-parented: exit instead of
    /// running unsupervised.
    #[allow(unsafe_code)]
    pub(super) fn prepare(cmd: &mut std::process::Command) {
        let launcher = rustix::process::getpid();
        // SAFETY: the closure runs in the forked child before exec, where only
        // async-signal-safe calls are allowed: it calls prctl(PR_SET_PDEATHSIG) and
        // getppid through rustix (plain system calls, no allocation, no locks).
        unsafe {
            cmd.pre_exec(move || {
                rustix::process::set_parent_process_death_signal(Some(
                    rustix::process::Signal::KILL,
                ))?;
                if rustix::process::getppid() != Some(launcher) {
                    return Err(std::io::Error::other("the launcher exited"));
                }
                Ok(())
            });
        }
    }

    /// The kernel kills the child (see `prepare`): nothing to hold.
    pub(super) struct Job;

    pub(super) fn contain(_child: &std::process::Child) -> Job {
        Job
    }

    pub(super) use super::unix_signals::Signals;
}

#[cfg(target_os = "macos")]
mod platform {
    /// macOS has no parent-death signal: a watcher (`/bin/sh`, started after the child)
    /// polls for the launcher's exit and kills the child when it is gone.
    pub(super) fn prepare(_cmd: &mut std::process::Command) {}

    /// The watcher runs on its own; nothing to hold.
    pub(super) struct Job;

    pub(super) fn contain(child: &std::process::Child) -> Job {
        let script = format!(
            "while kill -0 {launcher} 2>/dev/null; do sleep 1; done; kill -KILL {child} 2>/dev/null",
            launcher = std::process::id(),
            child = child.id()
        );
        let _ = std::process::Command::new("/bin/sh")
            .args(["-c", &script])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        Job
    }

    pub(super) use super::unix_signals::Signals;
}

#[cfg(all(unix, not(any(target_os = "linux", target_os = "macos"))))]
mod platform {
    pub(super) fn prepare(_cmd: &mut std::process::Command) {}
    pub(super) struct Job;
    pub(super) fn contain(_child: &std::process::Child) -> Job {
        Job
    }
    pub(super) use super::unix_signals::Signals;
}

#[cfg(unix)]
mod unix_signals {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};

    /// The signals a host sends its servers, caught here and passed to the child.
    pub(crate) struct Signals(std::sync::Mutex<Option<signal_hook::iterator::Signals>>);

    /// What the relay forwards to its server.
    const FORWARDED: [i32; 4] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT];

    /// Block (or unblock) the forwarded signals in the calling thread; threads it starts
    /// afterwards inherit that. A guarded `keybroker run` blocks them before it opens the
    /// keychain (whose threads then never take one) and keeps them blocked across its exec
    /// into the relay, which unblocks them once its handler is in place: a signal sent in
    /// between stays pending and is forwarded, instead of ending the launcher.
    #[allow(unsafe_code)]
    pub(crate) fn set_blocked(blocked: bool) {
        // SAFETY: `set` is initialised by sigemptyset before use; pthread_sigmask only
        // changes this thread's mask and reads `set`.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for s in FORWARDED {
                libc::sigaddset(&mut set, s);
            }
            let how = if blocked {
                libc::SIG_BLOCK
            } else {
                libc::SIG_UNBLOCK
            };
            libc::pthread_sigmask(how, &set, std::ptr::null_mut());
        }
    }

    impl Signals {
        pub(crate) fn install() -> Option<Signals> {
            signal_hook::iterator::Signals::new(FORWARDED)
                .ok()
                .map(|s| Signals(std::sync::Mutex::new(Some(s))))
        }

        pub(crate) fn forward_to(&self, child: u32) {
            let Some(mut signals) = self.0.lock().ok().and_then(|mut s| s.take()) else {
                return;
            };
            let Some(pid) = i32::try_from(child)
                .ok()
                .and_then(rustix::process::Pid::from_raw)
            else {
                return;
            };
            std::thread::spawn(move || {
                for sig in signals.forever() {
                    if let Some(s) = rustix::process::Signal::from_named_raw(sig) {
                        let _ = rustix::process::kill_process(pid, s);
                    }
                }
            });
        }
    }
}

#[cfg(windows)]
mod platform {
    use std::os::windows::io::AsRawHandle;

    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
    use windows_sys::Win32::System::JobObjects::{
        AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
        JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectExtendedLimitInformation,
        SetInformationJobObject,
    };

    pub(super) fn prepare(_cmd: &mut std::process::Command) {}

    /// The job object the child runs in; closing it (the launcher exits, however) kills
    /// the child.
    pub(super) struct Job(HANDLE);

    impl Drop for Job {
        #[allow(unsafe_code)]
        fn drop(&mut self) {
            // SAFETY: `self.0` is a job handle this process created and owns.
            unsafe { CloseHandle(self.0) };
        }
    }

    #[allow(unsafe_code)]
    pub(super) fn contain(child: &std::process::Child) -> Option<Job> {
        // SAFETY: plain Win32 calls on a fresh job handle and the child's process handle,
        // which `child` keeps open; the limit struct is zero-initialised as documented.
        unsafe {
            let job = CreateJobObjectW(std::ptr::null(), std::ptr::null());
            if job.is_null() {
                return None;
            }
            let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = std::mem::zeroed();
            info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
            let ok = SetInformationJobObject(
                job,
                JobObjectExtendedLimitInformation,
                std::ptr::addr_of!(info).cast(),
                std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
            );
            if ok == 0 || AssignProcessToJobObject(job, child.as_raw_handle() as HANDLE) == 0 {
                CloseHandle(job);
                return None;
            }
            Some(Job(job))
        }
    }

    /// Ctrl-C reaches the child through the shared console; nothing to forward.
    pub(super) struct Signals;

    impl Signals {
        pub(super) fn install() -> Option<Signals> {
            None
        }
        pub(super) fn forward_to(&self, _child: u32) {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[cfg(all(unix, not(target_os = "linux")))]
    #[test]
    fn off_linux_the_launcher_always_relays_itself_whatever_lies_beside_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let launcher = dir.path().join("keybroker");
        std::fs::write(&launcher, b"").expect("write");
        std::fs::write(dir.path().join(RELAY_PROGRAM), b"").expect("write");
        assert_eq!(relay_program(&launcher).subcommand, Some("__relay"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_relay_program_is_looked_for_only_beside_the_launcher_or_in_its_libexec() {
        let dir = tempfile::tempdir().expect("tempdir");
        let put = |rel: &str| {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, b"").expect("write");
            p
        };
        let launcher = put("usr/bin/keybroker");
        let fallback = RelayProgram::itself(&launcher);
        assert_eq!(relay_program(&launcher), fallback, "none installed");
        // Elsewhere on the PATH, or a directory of that name beside it: ignored.
        put("usr/local/bin/keybroker-relay");
        std::fs::create_dir_all(dir.path().join("usr/bin/keybroker-relay")).expect("mkdir");
        assert_eq!(relay_program(&launcher), fallback, "not in either place");
        let libexec = put("usr/libexec/keybroker/keybroker-relay");
        assert_eq!(
            relay_program(&launcher),
            RelayProgram {
                path: libexec,
                subcommand: None
            }
        );
        std::fs::remove_dir(dir.path().join("usr/bin/keybroker-relay")).expect("rmdir");
        let beside = put("usr/bin/keybroker-relay");
        assert_eq!(
            relay_program(&launcher),
            RelayProgram {
                path: beside,
                subcommand: None
            },
            "beside the launcher comes first"
        );
        // libexec is looked for only next to a `bin` directory.
        let odd = put("opt/kb/keybroker");
        put("opt/libexec/keybroker/keybroker-relay");
        assert_eq!(relay_program(&odd).subcommand, Some("__relay"));
    }

    /// A reader that hands out its bytes in the chunk sizes it is given.
    struct Chunked {
        data: Vec<u8>,
        pos: usize,
        sizes: Vec<usize>,
        turn: usize,
    }

    impl Read for Chunked {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let size = self.sizes[self.turn % self.sizes.len()].max(1);
            self.turn += 1;
            let n = size.min(buf.len()).min(self.data.len() - self.pos);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    fn session(dir: &std::path::Path) -> Arc<GuardSession> {
        let paths = Paths::under(dir);
        let server: Server = serde_json::from_value(serde_json::json!({
            "id": "h/s", "host": "claude-desktop", "name": "s", "config_path": "/x",
            "transport": "stdio", "command": ["x"], "env_keys": [], "fingerprint": "f",
            "bindings": [], "original": {}, "guard": {}
        }))
        .expect("server");
        GuardSession::open(&paths, &AuditLog::new(paths.audit_file()), &server, || {
            "t".into()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn lines_in_any_chunking_come_out_whole_and_unchanged(
            lines in prop::collection::vec("[ -~\u{e9}]{0,40}", 0..20),
            tail in "[ -~]{0,10}",
            sizes in prop::collection::vec(1usize..64, 1..8),
        ) {
            let dir = tempfile::tempdir().expect("tmp");
            let s = session(dir.path());
            let mut data = Vec::new();
            for l in &lines {
                data.extend_from_slice(l.as_bytes());
                data.push(b'\n');
            }
            data.extend_from_slice(tail.as_bytes());
            let to_client = Mutex::new(Vec::new());
            pump_server(&s, Chunked { data: data.clone(), pos: 0, sizes: sizes.clone(), turn: 0 }, &to_client);
            prop_assert_eq!(to_client.into_inner().expect("out"), data.clone());
            let mut to_server = Vec::new();
            let answers = Mutex::new(Vec::new());
            pump_client(&s, Chunked { data: data.clone(), pos: 0, sizes, turn: 0 }, &mut to_server, &answers);
            prop_assert_eq!(to_server, data);
            prop_assert!(answers.into_inner().expect("answers").is_empty());
            s.finish();
        }
    }
}
