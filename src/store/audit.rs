//! The append-only, hash-chained audit log.
//!
//! Every time the launcher hands a secret to an MCP server (or refuses to), and every
//! time a person changes what Keybroker stores, one [`Event`] is appended here. The log
//! exists so a person can answer "which process got which credential, when, and why"
//! after the fact, and so that casual after-the-fact editing of that answer is visible.
//!
//! # Format
//!
//! JSON lines: one object per `\n`-terminated line, keys in [`Event`] field order,
//! `None` fields omitted, `hash` always last.
//!
//! # Hashing scheme
//!
//! * `prev` is the `hash` of the previous *valid event* line (64 zeros for the first).
//!   Lines that are not events (an acknowledged torn fragment) are not links.
//! * `hash` = lowercase hex SHA-256 of the **body**: the exact bytes of the line as
//!   serialized without the `hash` key (`{"time":...,"prev":"..."}`). The line on disk is
//!   the body with its closing `}` replaced by `,"hash":"<hex>"}`. A verifier therefore
//!   strips the fixed-length 75-byte suffix `,"hash":"<64 hex>"}`, puts the `}` back and
//!   hashes those bytes: any byte edit, including whitespace or key order, is detected,
//!   and no JSON re-serialization has to round-trip.
//! * A writer killed mid-line leaves a fragment without `\n`. The next append terminates
//!   it with `\n` and sets the new first event's `torn` to the SHA-256 hex of the
//!   fragment's bytes (without the `\n`), so [`AuditLog::verify`] accepts exactly that
//!   fragment and flags anything later written in its place.
//! * `<log>.head` (`{"lines":N,"hash":"..."}`) records the physical line count and last
//!   event hash after every append, so removing lines from the *end* (which leaves a
//!   perfectly valid chain) is still detected. If an append finds the head disagreeing
//!   with the log in a way a crash cannot explain (lines removed, log replaced, head
//!   deleted), it first appends an `audit-head-mismatch` event describing what it found,
//!   so the evidence survives the head being rewritten; `verify` reports that event.
//! * The head is also anchored with a key kept in the keychain ([`anchor`]): every
//!   append writes an HMAC of the head into the head file, and writers other than the
//!   launcher also record the head in a keychain item (the keychain anchor). An append
//!   that finds the head's MAC wrong or the anchored point missing from the log (the log
//!   and its head rewritten together, truncated to before the anchor, or an older copy
//!   put back) records an `audit-head-mismatch` event first; `verify` reports either as
//!   [`ProblemKind::AnchorMismatch`], and a head without a MAC after the anchored point
//!   (appends made while the keychain was locked) as stale, in [`VerifyReport::anchor`].
//!
//! # Concurrency
//!
//! Appends take an exclusive `flock`-style lock on `<log>.lock` (separate from the log,
//! so the log handle itself is never locked), write all lines of one call with a single
//! `write_all` on an `O_APPEND` handle, `sync_data`, then replace the head file via
//! write-to-temp + rename. Readers take a shared lock on the same file.
//!
//! # What this deliberately does not do
//!
//! * It never holds secrets. Events carry names, targets, process ids and fingerprints;
//!   `detail` is a human sentence that callers must never fill with secret material.
//!   Nothing here inspects or redacts values: keeping secrets out is the caller's job.
//! * It is not a general-purpose log: no levels, no rotation, no free-form fields.
//! * It is tamper-*evident*, not tamper-*proof*: someone who can write the user's files
//!   can rewrite the whole log and the head consistently, which the head's MAC and the
//!   keychain anchor then expose (except a truncation back to the anchored point, or a
//!   head written without a MAC, which reads as appends made while the keychain was
//!   locked); someone who can also read the keychain (on Linux: any process of the user)
//!   can recompute both.
//! * It never follows a symlink at one of its own names (log, head, lock): a planted link
//!   is refused, and nothing is written through it.
//! * It never reads the clock, except in [`crate::base::clock::now_rfc3339`], which callers may use.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::base::error::{Error, Result};
use crate::base::fsutil::{self, Own};

pub mod anchor;
mod event;

pub use event::{Event, EventKind, Outcome, Target};

use crate::base::secret::Secret;
use crate::store::vault::Vault;
use anchor::{Anchor, Point};

/// `prev` of the first event in a log.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Length of `,"hash":"` + 64 hex digits + `"}`.
const HASH_SUFFIX_LEN: usize = 9 + 64 + 2;
const HASH_KEY: &[u8] = b",\"hash\":\"";

/// First tail read size; doubled until a valid event line is found.
const TAIL_CHUNK: u64 = 16 * 1024;

/// Which events [`AuditLog::query`] returns; `None` matches everything.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub server: Option<String>,
    pub credential: Option<String>,
    pub host: Option<String>,
    pub kind: Option<EventKind>,
    /// RFC 3339, inclusive. Compared as parsed instants, not strings.
    pub since: Option<String>,
    /// RFC 3339, inclusive.
    pub until: Option<String>,
}

/// The result of [`AuditLog::verify`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Complete (`\n`-terminated) lines in the log, torn fragments included.
    pub lines: usize,
    /// `true` iff `problems` is empty.
    pub ok: bool,
    pub problems: Vec<Problem>,
    /// 1-based line numbers of torn fragments acknowledged by the next event.
    pub torn: Vec<usize>,
    /// Things worth knowing that are not integrity failures (e.g. head file behind).
    pub notes: Vec<String>,
    /// How the keychain anchor compared with the chain.
    pub anchor: AnchorStatus,
    /// The first segment verified: 1 when the whole chain is here, later when older
    /// segments were archived (moved away).
    pub from_segment: u64,
}

/// The keychain anchor's verdict in [`VerifyReport::anchor`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AnchorStatus {
    /// This log has no anchor (a log opened without a keychain service).
    #[default]
    NotConfigured,
    /// The anchor is in the chain and either records its end or is followed by a head
    /// whose MAC verifies.
    Verified,
    /// Nothing to anchor yet (an empty log).
    Empty,
    /// The log has events but nothing is anchored: a log from before anchors. The next
    /// append anchors it.
    NotAnchoredYet,
    /// The anchor records an earlier point of this chain and the head carries no MAC:
    /// appends happened while the keychain was locked or absent. The next append with the
    /// keychain seals the head (and, from a writer other than the launcher, moves the
    /// anchor forward).
    Stale { anchored_lines: usize },
    /// The keychain could not be asked; the anchor was not checked.
    Unavailable(String),
    /// The anchor disagrees with the chain (also reported as a problem).
    Mismatch,
}

impl AnchorStatus {
    /// One sentence for a person, with what to do where there is something to do.
    pub fn describe(&self) -> String {
        match self {
            AnchorStatus::NotConfigured => "not anchored (no keychain for this log)".into(),
            AnchorStatus::Verified => "the keychain anchor is in the chain and the head \
                matches it or carries a MAC that verifies"
                .into(),
            AnchorStatus::Empty => "nothing to anchor yet (empty log)".into(),
            AnchorStatus::NotAnchoredYet => "not anchored yet: this log predates the keychain \
                anchor; the next audited action anchors it"
                .into(),
            AnchorStatus::Stale { anchored_lines } => format!(
                "not anchored since line {anchored_lines}: the keychain anchor records that line \
                 of this chain, and the head carries no MAC for the events after it (they were \
                 appended while the keychain was locked or absent, or the head was replaced \
                 without one), so they are not covered until the next audited action with the \
                 keychain unlocked"
            ),
            AnchorStatus::Unavailable(why) => format!(
                "the keychain anchor was not checked: {why}; unlock the keychain and run \
                 `keybroker audit verify` again"
            ),
            AnchorStatus::Mismatch => {
                "the keychain anchor does not match the chain (see the problem above)".into()
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line number the problem was found at.
    pub line: usize,
    pub kind: ProblemKind,
    /// Names the line and what to do.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// The line's bytes do not hash to its `hash`: it was edited.
    HashMismatch,
    /// The line's `prev` is not the previous event's `hash`: a line was removed,
    /// inserted or reordered before it.
    BrokenChain,
    /// Not a valid event and not an acknowledged torn fragment.
    Malformed,
    /// The log ends in a fragment without `\n` (a writer was killed mid-line) that no
    /// append has acknowledged yet.
    TornUnacknowledged,
    /// The log has fewer lines than, or a different last hash from, the head file.
    TailTruncated,
    /// The last hash matches the head file but the line count does not.
    LineCountMismatch,
    /// The log has lines but the head file is missing.
    HeadMissing,
    /// The head file exists but cannot be parsed.
    HeadUnreadable,
    /// An `audit-head-mismatch` event: an earlier append found the head disagreeing.
    HeadMismatchRecorded,
    /// The keychain anchor records a point this chain does not contain (the log and its
    /// head were rewritten together, truncated to before it, or an older copy was put
    /// back), or it does not verify with its key, or the head's MAC does not verify.
    AnchorMismatch,
    /// A rotated segment is missing between two that are present.
    SegmentMissing,
}

/// The audit log at one path. Cheap to create; nothing is touched until first use.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
    anchor: Option<Anchor>,
    /// Whether appends move the keychain anchor (off: the head gets its MAC only; see
    /// [`AuditLog::mac_only`]).
    anchor_writes: bool,
    /// The active log is rotated into a numbered segment once it reaches this size.
    segment_bytes: u64,
}

/// Default size at which the active log becomes a numbered segment.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// Overrides [`DEFAULT_SEGMENT_BYTES`] (tests, small machines).
pub const SEGMENT_BYTES_ENV: &str = "KEYBROKER_AUDIT_SEGMENT_BYTES";

fn segment_bytes_from_env() -> u64 {
    std::env::var(SEGMENT_BYTES_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_SEGMENT_BYTES)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Head {
    /// Rotated segments before the active log (absent: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    segment: u64,
    lines: usize,
    hash: String,
    /// HMAC-SHA256 of (segment, lines, hash) with the anchor's key ([`Anchor::seal`]);
    /// absent when the append could not reach the keychain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mac: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Head {
    fn point(&self) -> Point {
        Point {
            segment: self.segment,
            lines: self.lines,
            hash: self.hash.clone(),
        }
    }
}

/// What `append` needs from the end of the log.
#[derive(Debug, Default)]
struct Tail {
    /// Bytes after the last `\n`, if the log does not end with one.
    fragment: Option<Vec<u8>>,
    /// `hash` of the last valid event line (the fragment included, if it is one).
    last_hash: Option<String>,
    /// Complete lines after that event (not counting the fragment).
    lines_after: usize,
}

impl AuditLog {
    /// A log without a keychain anchor (tests, read-only copies).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        AuditLog {
            path: path.into(),
            anchor: None,
            anchor_writes: true,
            segment_bytes: segment_bytes_from_env(),
        }
    }

    /// A log whose head is anchored in keychain `service` (see [`anchor`]). The keychain
    /// is opened only when an append or `verify` needs it, or not at all when a session is
    /// offered first ([`AuditLog::offer_vault`]).
    pub fn anchored(path: impl Into<PathBuf>, service: &str) -> Self {
        AuditLog {
            path: path.into(),
            anchor: Some(Anchor::new(service)),
            anchor_writes: true,
            segment_bytes: segment_bytes_from_env(),
        }
    }

    /// A log whose heads are sealed with `key` (handed over by [`AuditLog::mac_key`]) and
    /// that never opens the keychain: the head's MAC is written and checked, the keychain
    /// anchor is left to other writers (as [`AuditLog::mac_only`]). The relay's log.
    pub fn sealed_with(path: impl Into<PathBuf>, key: Secret) -> Self {
        AuditLog {
            path: path.into(),
            anchor: Some(Anchor::with_key(key)),
            anchor_writes: false,
            segment_bytes: segment_bytes_from_env(),
        }
    }

    /// A log anchored through an open vault (unit tests use the mock store).
    pub fn with_vault(path: impl Into<PathBuf>, vault: Vault) -> Self {
        AuditLog {
            path: path.into(),
            anchor: Some(Anchor::with_vault(vault)),
            anchor_writes: true,
            segment_bytes: segment_bytes_from_env(),
        }
    }

    /// Rotate the active log into a numbered segment once it reaches `bytes`.
    #[must_use]
    pub fn with_segment_bytes(mut self, bytes: u64) -> Self {
        self.segment_bytes = bytes.max(1);
        self
    }

    /// Appends through this log write the head's MAC but never the keychain anchor: for
    /// writers that run on every server start (the launcher, the bridge), where a
    /// keychain write (the Secret Service persisting its file) would be most of the cost.
    /// They still read the anchor and check it, and the head's MAC, before they append;
    /// the anchor itself moves forward with the next other writer or `audit verify`.
    /// The one keychain write left is the key's creation, once per installation.
    #[must_use]
    pub fn mac_only(mut self) -> Self {
        self.anchor_writes = false;
        self
    }

    /// The head MAC key this process holds (after an append that sealed the head), to
    /// hand to a process that appends to the same log ([`AuditLog::with_mac_key`]).
    pub fn mac_key(&self) -> Option<Secret> {
        self.anchor.as_ref().and_then(Anchor::cached_key)
    }

    /// Seal heads with `key` (handed over by [`AuditLog::mac_key`]) instead of reading it
    /// from the keychain.
    #[must_use]
    pub fn with_mac_key(self, key: Secret) -> Self {
        if let Some(a) = &self.anchor {
            a.hand_key(key);
        }
        self
    }

    /// Move the keychain anchor to the head when the head's MAC verifies (`audit
    /// verify`, once the chain verified). `Ok(true)`: the anchor was written.
    pub fn anchor_head(&self) -> std::result::Result<bool, String> {
        let Some(a) = &self.anchor else {
            return Ok(false);
        };
        let HeadState::Valid(h) = read_head(&self.head_path()) else {
            return Ok(false);
        };
        let Some(mac) = &h.mac else {
            return Ok(false);
        };
        if !a.check_seal(&h.point(), mac)? {
            return Ok(false);
        }
        if matches!(a.read(), anchor::Read::Valid(p) if p == h.point()) {
            return Ok(false);
        }
        a.write(&h.point())?;
        Ok(true)
    }

    /// Anchor through this already open keychain session (the launcher's), so no second
    /// session is opened for the anchor.
    pub fn offer_vault(&self, vault: &Vault) {
        if let Some(a) = &self.anchor {
            a.offer(vault);
        }
    }

    /// The keychain could not be opened in this process (`why`): appends seal nothing and
    /// do not try to open it again (no second wait for a keychain that did not answer).
    pub fn keychain_unavailable(&self, why: &str) {
        if let Some(a) = &self.anchor {
            a.unavailable(why);
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut s = self.path.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    }

    fn lock_path(&self) -> PathBuf {
        self.sibling(".lock")
    }

    fn head_path(&self) -> PathBuf {
        self.sibling(".head")
    }

    /// Append events atomically; returns them with `prev`, `hash` (and `torn`) filled.
    ///
    /// Under an exclusive lock on `<log>.lock`: creates parent directories (0700) and the
    /// log (0600) if missing; reads only the tail of the log to find `prev`; terminates
    /// a torn fragment and acknowledges it in the first event's `torn`; writes all lines
    /// with one `write_all`, `sync_data`s, then replaces `<log>.head`.
    ///
    /// Callers fill every field but `prev`/`hash`/`torn`, which are overwritten.
    /// If the head cannot be updated after the events were written, the error is
    /// returned although the events are durably in the log (the next append repairs
    /// the head).
    #[must_use = "an event that cannot be written must stop the action or reach the caller"]
    pub fn append(&self, events: Vec<Event>) -> Result<Vec<Event>> {
        if events.is_empty() {
            return Ok(events);
        }
        for e in &events {
            validate(e)?;
        }
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fsutil::create_private_dir(dir)?;
        }
        let lock = open_lock(&self.lock_path())?;
        lock.lock().map_err(|e| Error::io(self.lock_path(), e))?;
        // A link planted at the head's name is refused before any line is written.
        fsutil::refuse_link(&self.head_path())?;
        // The lock is released when `lock` is dropped (closed), including on error.
        let result = self.append_locked(events);
        drop(lock);
        result
    }

    /// Record why an action was refused and hand the refusal back for the caller to
    /// return.
    ///
    /// The refusal stands whether or not the log can be written. If the append fails, the
    /// returned error is still the refusal (a denial stays a denial, with the code and exit
    /// status scripts and the app branch on) and its message says the entry is missing, so
    /// a failed append is never silent and never hides why the action was refused.
    #[must_use = "the refusal is the error to return"]
    pub fn append_refusal(&self, events: Vec<Event>, refusal: Error) -> Error {
        match self.append(events) {
            Ok(_) => refusal,
            Err(audit_err) => unrecorded(refusal, &audit_err),
        }
    }

    fn append_locked(&self, events: Vec<Event>) -> Result<Vec<Event>> {
        let path = &self.path;
        let mut file = open_log_for_append(path)?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let tail = read_tail(&mut file, len).map_err(|e| Error::io(path, e))?;

        let fragment_lines = usize::from(tail.fragment.is_some());
        let raw_head = read_head(&self.head_path());
        // The head's MAC is over the head as written, before a rotation is completed.
        let sealed = raw_head
            .valid()
            .and_then(|h| h.mac.clone().map(|m| (h.point(), m)));
        let head = self.finish_rotation(raw_head, len);
        let segment = head.valid().map_or(0, |h| h.segment);
        // A fresh active log after a rotation chains to the previous segment's last hash.
        let rotated_prev = match &head {
            HeadState::Valid(h) if len == 0 && h.lines == 0 && h.segment > 0 => {
                Some(h.hash.clone())
            }
            _ => None,
        };
        let last_hash = tail.last_hash.clone().or(rotated_prev);
        // Physical lines the log will have once a fragment is terminated.
        let (lines_before, mismatch) = match (&head, &last_hash) {
            (HeadState::Valid(h), Some(last)) if &h.hash == last => {
                // Fast path: the head is current; no need to read the whole log.
                (h.lines + tail.lines_after + fragment_lines, None)
            }
            (HeadState::Missing, _) if len == 0 => (0, None),
            _ => {
                let scan = scan_counts(path, head.valid())?;
                let lines = scan.complete_lines + fragment_lines;
                let mismatch = match &head {
                    HeadState::Valid(h) if h.lines == 0 && len == 0 => None,
                    HeadState::Valid(_) if scan.head_found => None, // crash before head update
                    HeadState::Valid(h) => Some(format!(
                        "when this event was appended, {} recorded {} lines ending in hash {}, \
                         but the log had {} lines ending in hash {}: lines were removed from \
                         the end of the log or the log was replaced",
                        self.head_path().display(),
                        h.lines,
                        h.hash,
                        lines,
                        last_hash.as_deref().unwrap_or("(none)")
                    )),
                    HeadState::Missing => Some(format!(
                        "when this event was appended, {} was missing although the log had {} \
                         lines: the head file was deleted, so earlier truncation cannot be ruled out",
                        self.head_path().display(),
                        lines
                    )),
                    HeadState::Unreadable(why) => Some(format!(
                        "when this event was appended, {} could not be read ({why}) although the \
                         log had {} lines",
                        self.head_path().display(),
                        lines
                    )),
                };
                (lines, mismatch)
            }
        };

        // The keychain anchor against the log as it is now, before it moves forward.
        let before = Point {
            segment,
            lines: lines_before - fragment_lines,
            hash: last_hash.clone().unwrap_or_else(|| GENESIS.to_owned()),
        };
        let (anchor_usable, anchor_mismatch) = self.check_anchor_before_append(&before);
        // After the anchor's read, so the key is already in this process.
        let seal_mismatch = match (&self.anchor, &sealed) {
            (Some(a), Some((point, mac))) if anchor_usable => match a.check_seal(point, mac) {
                Ok(false) => Some(format!(
                    "when this event was appended, {} ({} lines ending in hash {}) carried a \
                     MAC that does not verify with the keychain anchor's key: the log and its \
                     head were rewritten together without the key",
                    self.head_path().display(),
                    point.lines,
                    point.hash
                )),
                _ => None,
            },
            _ => None,
        };

        let mut all = Vec::with_capacity(events.len() + 3);
        for detail in [mismatch, anchor_mismatch, seal_mismatch]
            .into_iter()
            .flatten()
        {
            all.push(
                Event::new(EventKind::HeadMismatch, Outcome::Error, &events[0].time).detail(detail),
            );
        }
        all.extend(events);

        let mut buf = Vec::new();
        let mut torn = None;
        if let Some(fragment) = &tail.fragment {
            buf.push(b'\n');
            torn = Some(sha256_hex(fragment));
        }
        let mut prev = last_hash.unwrap_or_else(|| GENESIS.to_owned());
        for (i, e) in all.iter_mut().enumerate() {
            e.torn = if i == 0 { torn.clone() } else { None };
            e.prev = std::mem::take(&mut prev);
            e.hash = String::new();
            let line = serialize_line(e)?;
            buf.extend_from_slice(&line);
            prev = e.hash.clone();
        }

        file.write_all(&buf).map_err(|e| Error::io(path, e))?;
        let mut head = Head {
            segment,
            lines: lines_before + all.len(),
            hash: prev,
            mac: None,
        };
        let synced = |r: std::io::Result<()>| r.map_err(|e| Error::io(path, e));
        if len + buf.len() as u64 >= self.segment_bytes {
            synced(file.sync_data())?;
            drop(file);
            head = self.rotate(head)?;
            self.seal(&mut head, anchor_usable);
            self.write_head(&head, || Ok(()))?;
        } else {
            // The log's fsync runs while the new head is written and fsynced (both wait on
            // one journal commit where the filesystem has one), and the head is renamed in
            // only once the log's lines are on disk: a crash never leaves a head ahead of
            // the lines it describes. No thread to be had: one after the other.
            std::thread::scope(|s| {
                let sync = std::thread::Builder::new()
                    .name("keybroker-fsync".into())
                    .spawn_scoped(s, || file.sync_data());
                let sync = match sync {
                    Ok(h) => Some(h),
                    Err(_) => {
                        synced(file.sync_data())?;
                        None
                    }
                };
                self.seal(&mut head, anchor_usable);
                self.write_head(&head, || match sync.map(|h| h.join()) {
                    None => Ok(()),
                    Some(Ok(r)) => synced(r),
                    Some(Err(_)) => Err(Error::other(
                        format!("the fsync of {} did not finish", path.display()),
                        "run the command again; if it keeps failing, report this bug",
                    )),
                })
            })?;
        }
        if anchor_usable
            && self.anchor_writes
            && let Some(a) = &self.anchor
        {
            // A keychain that fails now leaves the anchor stale; the events are recorded.
            let _ = a.write(&head.point());
        }
        Ok(all)
    }

    /// Rename the full active log to the next numbered segment; the head then says the
    /// new (absent) active log follows it with no lines yet. A crash before the head is
    /// written is completed by the next append ([`AuditLog::finish_rotation`]).
    fn rotate(&self, head: Head) -> Result<Head> {
        let listed = self.rotated_segments()?.last().map_or(0, |(n, _)| *n);
        let next = listed.max(head.segment) + 1;
        let target = self.segment_path(next);
        fsutil::refuse_link(&target)?;
        if target.exists() {
            // Never overwrite a segment; keep appending to the active log instead.
            return Ok(head);
        }
        fs::rename(&self.path, &target).map_err(|e| Error::io(&target, e))?;
        if let Some(dir) = self.path.parent() {
            fsutil::sync_dir(dir);
        }
        Ok(Head {
            segment: next,
            lines: 0,
            hash: head.hash,
            mac: None,
        })
    }

    /// A head that still names the segment a crash left just rotated (its active log is
    /// gone and the segment ends where the head says) is read as the head after it.
    fn finish_rotation(&self, head: HeadState, len: u64) -> HeadState {
        let HeadState::Valid(h) = &head else {
            return head;
        };
        if len != 0 || h.lines == 0 {
            return head;
        }
        let seg = self.segment_path(h.segment + 1);
        if hash_at_line(&seg, h.lines).as_deref() == Some(h.hash.as_str()) {
            HeadState::Valid(Head {
                segment: h.segment + 1,
                lines: 0,
                hash: h.hash.clone(),
                mac: None,
            })
        } else {
            head
        }
    }

    /// Compare the keychain anchor with the log before an append. Returns whether the
    /// anchor can be written afterwards, and the detail of an `audit-head-mismatch` event
    /// when the anchor records a point this log does not contain.
    fn check_anchor_before_append(&self, now: &Point) -> (bool, Option<String>) {
        let Some(a) = &self.anchor else {
            return (false, None);
        };
        if !self.anchor_writes {
            // A launch (MAC only) leaves the anchor where it is, so it need not read it:
            // two keychain round trips fewer per server start. What this comparison would
            // find is still found: `audit verify` compares the same anchor, which no launch
            // moves, and the head's MAC is checked before this append (`check_seal`).
            return (true, None);
        }
        match a.read() {
            anchor::Read::Unavailable(_) => (false, None),
            anchor::Read::Missing => (true, None),
            anchor::Read::Invalid(why) => (
                true,
                Some(format!(
                    "when this event was appended, the keychain anchor of the audit log could \
                     not be trusted: {why}"
                )),
            ),
            anchor::Read::Valid(p) if p == *now => (true, None),
            anchor::Read::Valid(p) => {
                if self.contains_point(&p, now) {
                    (true, None)
                } else {
                    (
                        true,
                        Some(format!(
                            "when this event was appended, the keychain anchor recorded {} lines \
                             ending in hash {} (segment {}), but the log had {} lines ending in \
                             hash {} (segment {}) and not that point: the log and its head were \
                             rewritten or replaced by another copy",
                            p.lines, p.hash, p.segment, now.lines, now.hash, now.segment
                        )),
                    )
                }
            }
        }
    }

    /// Whether the chain that ends at `now` passes through the anchored point `p` (an
    /// anchor left behind while the keychain was unavailable). Reads forward through
    /// the file `p` names; only runs when the anchor is behind.
    fn contains_point(&self, p: &Point, now: &Point) -> bool {
        if p.segment > now.segment || (p.segment == now.segment && p.lines > now.lines) {
            return false;
        }
        if p.lines == 0 {
            if p.segment == 0 {
                return p.hash == GENESIS;
            }
            // The end of segment `p.segment`: its last line (an archived one: trusted).
            let seg = self.segment_path(p.segment);
            return !seg.exists() || last_hash_of(&seg).is_some_and(|h| h == p.hash);
        }
        let file = if p.segment == now.segment {
            self.path.clone()
        } else {
            self.segment_path(p.segment + 1)
        };
        if p.segment != now.segment && !file.exists() {
            // Archived since it was anchored: nothing left to compare.
            return true;
        }
        hash_at_line(&file, p.lines).is_some_and(|h| h == p.hash)
    }

    /// The head's MAC, when the keychain anchor is usable (without it the head goes
    /// without a MAC; the events are recorded).
    fn seal(&self, head: &mut Head, anchor_usable: bool) {
        if anchor_usable && let Some(a) = &self.anchor {
            head.mac = a.seal(&head.point());
        }
    }

    /// Replace the head once `ready` (the log's fsync) succeeds.
    fn write_head(&self, head: &Head, ready: impl FnOnce() -> Result<()>) -> Result<()> {
        let mut bytes = serde_json::to_vec(head).map_err(|e| {
            Error::other(
                format!("cannot serialize the audit head: {e}"),
                "report this as a Keybroker bug",
            )
        })?;
        bytes.push(b'\n');
        // The own-file atomic replace: a fresh temp file (exclusive, random name, 0600) in
        // the same directory, fsync, rename; never through a link. The rename is not
        // fsynced: the log line it describes already is, and a head that comes back one
        // append behind after a power loss is recognised by the next append (the log still
        // holds the head's point) instead of being taken for a truncation.
        fsutil::replace_own_file_lazy_rename(&self.head_path(), &bytes, ready)
    }

    /// Every event matching `filter`, in log order across all segments, handed to `f` as
    /// it is read (the event and its stored line), until `f` breaks. Constant memory: one
    /// line at a time, and a line that cannot match is skipped by a substring check before
    /// any JSON parsing. Events are returned even if their hash does not verify: use
    /// [`AuditLog::verify`] for integrity. Torn fragments, garbage and an unterminated
    /// tail are skipped.
    pub fn for_each_match(
        &self,
        filter: &Filter,
        mut f: impl FnMut(&Event, &[u8]) -> ControlFlow<()>,
    ) -> Result<()> {
        let since = filter.since.as_deref().map(parse_filter_time).transpose()?;
        let until = filter.until.as_deref().map(parse_filter_time).transpose()?;
        let needles = Prefilter::new(filter);
        let snap = self.snapshot(false)?;
        let eq = |want: &Option<String>, have: &Option<String>| match want {
            None => true,
            Some(w) => have.as_deref() == Some(w.as_str()),
        };
        for seg in snap.files {
            let mut lines = seg.lines();
            while let Some(line) = lines.next_line().map_err(|e| Error::io(&seg.path, e))? {
                let Line::Complete(line) = line else { break };
                if !needles.may_match(line) {
                    continue;
                }
                if since.is_some() || until.is_some() {
                    let Some(t) = line_time(line) else { continue };
                    if since.is_some_and(|s| t < s) || until.is_some_and(|u| t > u) {
                        continue;
                    }
                }
                let Some(e) = parse_event(line) else { continue };
                let keep = eq(&filter.server, &e.server)
                    && eq(&filter.credential, &e.credential)
                    && eq(&filter.host, &e.host)
                    && filter.kind.as_ref().is_none_or(|k| *k == e.kind);
                if keep && f(&e, line).is_break() {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// All well-formed events in order (see [`AuditLog::for_each_match`]).
    pub fn read_all(&self) -> Result<Vec<Event>> {
        self.query(&Filter::default())
    }

    /// Events matching every set field of `filter`, in log order, collected. Front ends
    /// that print should stream with [`AuditLog::for_each_match`] instead.
    pub fn query(&self, filter: &Filter) -> Result<Vec<Event>> {
        let mut out = Vec::new();
        self.for_each_match(filter, |e, _| {
            out.push(e.clone());
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    /// The rotated segment number `n` of this log: `audit.000001.jsonl` for `audit.jsonl`.
    pub fn segment_path(&self, n: u64) -> PathBuf {
        let name = self
            .path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => format!("{stem}.{n:06}.{ext}"),
            _ => format!("{name}.{n:06}"),
        };
        self.path.with_file_name(file)
    }

    /// The rotated segments present next to the log, by number.
    fn rotated_segments(&self) -> Result<Vec<(u64, PathBuf)>> {
        let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) else {
            return Ok(Vec::new());
        };
        let probe = self.segment_path(0);
        let probe = probe
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (prefix, suffix) = probe.split_once("000000").unwrap_or((&probe, ""));
        let entries = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(digits) = name
                .strip_prefix(prefix)
                .and_then(|r| r.strip_suffix(suffix))
            else {
                continue;
            };
            if digits.len() >= 6
                && digits.bytes().all(|b| b.is_ascii_digit())
                && let Ok(n) = digits.parse::<u64>()
                && n > 0
            {
                out.push((n, entry.path()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The files to read, opened and measured under the shared lock (with the anchor and
    /// the head read first, so nothing read later can be ahead of them), then read
    /// without the lock: appends are never held up by a long query or verify.
    fn snapshot(&self, with_anchor: bool) -> Result<Snapshot> {
        let lock = open_lock(&self.lock_path()).ok();
        if let Some(l) = &lock {
            l.lock_shared()
                .map_err(|e| Error::io(self.lock_path(), e))?;
        }
        let anchor = match (&self.anchor, with_anchor) {
            (Some(a), true) => Some(a.read()),
            _ => None,
        };
        let head = read_head(&self.head_path());
        let mut files = Vec::new();
        for (number, path) in self.rotated_segments()? {
            if let Some(seg) = Segment::open(number, path, false)? {
                files.push(seg);
            }
        }
        let last_rotated = files.last().map_or(0, |s| s.number);
        let head_segment = head.valid().map_or(0, |h| h.segment);
        let active_number = last_rotated.max(head_segment) + 1;
        if let Some(seg) = Segment::open(active_number, self.path.clone(), true)? {
            files.push(seg);
        }
        drop(lock);
        Ok(Snapshot {
            files,
            head,
            anchor,
        })
    }

    /// Check every line's hash, the `prev` links across segments, torn fragments, the
    /// head file and the keychain anchor. Streams: one line in memory at a time.
    pub fn verify(&self) -> Result<VerifyReport> {
        let snap = self.snapshot(true)?;
        let mut report = VerifyReport::default();
        let mut v = Verifier::new(&snap);
        let mut expected_number = snap.files.first().map_or(1, |s| s.number);
        if expected_number > 1 {
            report.from_segment = expected_number;
            report.notes.push(format!(
                "verified from {} on: segments 1 to {} are not next to the log (archived or \
                 removed), so their events were not checked and the first event here is \
                 trusted to follow them",
                snap.files[0].path.display(),
                expected_number - 1
            ));
        } else {
            report.from_segment = 1;
        }
        for seg in &snap.files {
            if seg.number > expected_number && !seg.active {
                report.problems.push(Problem {
                    line: 1,
                    kind: ProblemKind::SegmentMissing,
                    message: format!(
                        "{}: segment(s) {} to {} before it are missing while older ones are \
                         still there: they were removed or moved away out of order. Put them \
                         back (archive only the oldest segments)",
                        seg.path.display(),
                        expected_number,
                        seg.number - 1
                    ),
                });
            }
            expected_number = seg.number + 1;
            v.file(seg, &mut report)?;
        }
        v.finish(self, &snap, &mut report);
        report.ok = report.problems.is_empty();
        Ok(report)
    }
}

/// One file of the log, opened, with its length when the snapshot was taken.
struct Segment {
    number: u64,
    path: PathBuf,
    file: File,
    len: u64,
    active: bool,
}

impl Segment {
    fn open(number: u64, path: PathBuf, active: bool) -> Result<Option<Segment>> {
        let file = match fsutil::open_own(&path, Own::Read) {
            Ok(f) => f,
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        Ok(Some(Segment {
            number,
            path,
            file,
            len,
            active,
        }))
    }

    fn lines(&self) -> Lines<'_> {
        Lines {
            reader: BufReader::with_capacity(READ_BUF, (&self.file).take(self.len)),
            buf: Vec::new(),
        }
    }
}

/// What [`AuditLog::snapshot`] saw.
struct Snapshot {
    files: Vec<Segment>,
    head: HeadState,
    anchor: Option<anchor::Read>,
}

const READ_BUF: usize = 256 * 1024;

enum Line<'a> {
    /// A `\n`-terminated line, without the `\n`.
    Complete(&'a [u8]),
    /// Bytes after the last `\n`.
    Unterminated,
}

struct Lines<'a> {
    reader: BufReader<std::io::Take<&'a File>>,
    buf: Vec<u8>,
}

impl Lines<'_> {
    fn next_line(&mut self) -> std::io::Result<Option<Line<'_>>> {
        self.buf.clear();
        if self.reader.read_until(b'\n', &mut self.buf)? == 0 {
            return Ok(None);
        }
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            Ok(Some(Line::Complete(&self.buf)))
        } else {
            Ok(Some(Line::Unterminated))
        }
    }
}

/// The substrings a line must contain to match a filter, as the writer encodes them
/// (`"server":"<id>"`): a line without them is skipped without parsing.
struct Prefilter {
    needles: Vec<memchr::memmem::Finder<'static>>,
}

impl Prefilter {
    fn new(filter: &Filter) -> Prefilter {
        let mut needles = Vec::new();
        let mut add = |key: &str, value: &str| {
            if let Ok(v) = serde_json::to_string(value) {
                let needle = format!("\"{key}\":{v}");
                needles.push(memchr::memmem::Finder::new(needle.as_bytes()).into_owned());
            }
        };
        if let Some(s) = &filter.server {
            add("server", s);
        }
        if let Some(c) = &filter.credential {
            add("credential", c);
        }
        if let Some(h) = &filter.host {
            add("host", h);
        }
        if let Some(k) = &filter.kind {
            add("event", k.as_str());
        }
        Prefilter { needles }
    }

    fn may_match(&self, line: &[u8]) -> bool {
        self.needles.iter().all(|n| n.find(line).is_some())
    }
}

/// The `time` of a line without parsing the rest: the writer puts it first.
fn line_time(line: &[u8]) -> Option<OffsetDateTime> {
    let rest = line.strip_prefix(b"{\"time\":\"")?;
    let end = memchr::memchr(b'"', rest)?;
    let text = std::str::from_utf8(&rest[..end]).ok()?;
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Just what verification needs from a line, borrowed (no allocation for plain strings).
#[derive(Deserialize)]
struct Links<'a> {
    #[serde(borrow)]
    time: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    event: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    detail: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    torn: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    prev: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    hash: std::borrow::Cow<'a, str>,
}

/// The declared hash of a line, if it has the shape of an event line; its body ends at
/// `cut`.
fn declared_hash(line: &[u8]) -> Option<(&[u8], usize)> {
    if line.len() < HASH_SUFFIX_LEN + 2 || !line.ends_with(b"\"}") {
        return None;
    }
    let cut = line.len() - HASH_SUFFIX_LEN;
    if &line[cut..cut + HASH_KEY.len()] != HASH_KEY {
        return None;
    }
    let declared = &line[cut + HASH_KEY.len()..line.len() - 2];
    declared
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        .then_some((declared, cut))
}

/// The body's SHA-256 (the line with `,"hash":...` cut and `}` put back), as hex.
fn body_hash(line: &[u8], cut: usize) -> String {
    let mut h = Sha256::new();
    h.update(&line[..cut]);
    h.update(b"}");
    hex::encode(h.finalize())
}

/// The links of an event line and whether its bytes hash to its `hash`.
///
/// The writer's layout puts `time` and `event` first and `torn`, `prev` right before
/// `hash`, so those are read by position; only a line laid out otherwise, and an
/// `audit-head-mismatch` event (for its `detail`), goes through the JSON parser. The
/// bytes of every line are covered by its hash either way.
fn parse_links(line: &[u8]) -> Option<(Links<'_>, bool)> {
    let (declared, cut) = declared_hash(line)?;
    let links = match links_by_position(line, cut) {
        Some(l) if l.event != EventKind::HeadMismatch.as_str() => l,
        _ => serde_json::from_slice::<Links<'_>>(line).ok()?,
    };
    if links.hash.as_bytes() != declared {
        return None;
    }
    let ok = body_hash(line, cut).as_bytes() == declared;
    Some((links, ok))
}

/// `"prev":"<64 hex>"` (or `"torn":...`) ending at `end`: the 64 hex digits.
fn hex_field_before<'a>(body: &'a [u8], end: usize, key: &[u8]) -> Option<&'a str> {
    let start = end.checked_sub(key.len() + 2 + 64 + 3)?;
    let field = &body[start..end];
    let value = field
        .strip_prefix(b"\"")?
        .strip_prefix(key)?
        .strip_prefix(b"\":\"")?
        .strip_suffix(b"\"")?;
    (value.len() == 64 && value.iter().all(u8::is_ascii_hexdigit))
        .then(|| std::str::from_utf8(value).ok())
        .flatten()
}

/// The links of a line in the writer's layout, without a JSON parser; `None` when the
/// line is laid out otherwise.
fn links_by_position(line: &[u8], cut: usize) -> Option<Links<'_>> {
    use std::borrow::Cow::Borrowed;
    let body = &line[..cut];
    let prev = hex_field_before(body, cut, b"prev")?;
    let before_prev = cut - (4 + 2 + 64 + 3);
    if body.get(before_prev.checked_sub(1)?) != Some(&b',') {
        return None;
    }
    let torn = hex_field_before(body, before_prev - 1, b"torn");
    let rest = line.strip_prefix(b"{\"time\":\"")?;
    let t_end = memchr::memchr(b'"', rest)?;
    let rest_after = rest[t_end..].strip_prefix(b"\",\"event\":\"")?;
    let e_end = memchr::memchr(b'"', rest_after)?;
    let (time, event) = (&rest[..t_end], &rest_after[..e_end]);
    if time.contains(&b'\\') || event.contains(&b'\\') {
        return None;
    }
    Some(Links {
        time: Borrowed(std::str::from_utf8(time).ok()?),
        event: Borrowed(std::str::from_utf8(event).ok()?),
        detail: None,
        torn: torn.map(Borrowed),
        prev: Borrowed(prev),
        hash: Borrowed(std::str::from_utf8(&line[cut + HASH_KEY.len()..line.len() - 2]).ok()?),
    })
}

/// An event line parsed without checking its hash (queries).
fn parse_event(line: &[u8]) -> Option<Event> {
    let (declared, _) = declared_hash(line)?;
    let event: Event = serde_json::from_slice(line).ok()?;
    (event.hash.as_bytes() == declared).then_some(event)
}

/// A chain position to look for while streaming: the event at physical line `lines` of
/// the file numbered `segment + 1` (or the end of file `segment` when `lines` is 0).
struct Probe {
    point: Point,
    /// `Some(true)` when found with the right hash, `Some(false)` when that place holds
    /// something else, `None` when the file was not read.
    hit: Option<bool>,
}

impl Probe {
    fn new(point: Point) -> Probe {
        Probe { point, hit: None }
    }

    fn line(&mut self, number: u64, n: usize, hash: Option<&str>) {
        if self.point.lines > 0 && number == self.point.segment + 1 && n == self.point.lines {
            self.hit = Some(hash == Some(self.point.hash.as_str()));
        }
    }

    fn file_end(&mut self, number: u64, last: &str) {
        if self.point.lines == 0 && number == self.point.segment {
            self.hit = Some(last == self.point.hash);
        }
    }
}

/// The streaming state of [`AuditLog::verify`].
struct Verifier {
    prev: String,
    /// Where the last event was: file number, line, and whether any event was seen.
    last_event: Option<(u64, usize)>,
    /// Whether the chain's start is known (segment 1 is here): then the first event must
    /// follow the genesis hash.
    from_start: bool,
    /// A complete line that is not an event, waiting to see whether the next one
    /// acknowledges it as torn: (line, SHA-256 of its bytes).
    pending: Option<(usize, String)>,
    head: Option<Probe>,
    anchor: Option<Probe>,
    /// Physical lines per file number.
    lines_in: Vec<(u64, usize)>,
    /// Index into the report's problems where the file the head names begins.
    head_file_problems: Option<usize>,
    head_number: u64,
}

impl Verifier {
    fn new(snap: &Snapshot) -> Verifier {
        let head = snap.head.valid().map(|h| Probe::new(h.point()));
        let anchor = match &snap.anchor {
            Some(anchor::Read::Valid(p)) => Some(Probe::new(p.clone())),
            _ => None,
        };
        Verifier {
            prev: GENESIS.to_owned(),
            last_event: None,
            from_start: snap.files.first().is_none_or(|s| s.number == 1),
            pending: None,
            head,
            anchor,
            lines_in: Vec::new(),
            head_file_problems: None,
            head_number: snap.head.valid().map_or(1, |h| h.segment + 1),
        }
    }

    fn file(&mut self, seg: &Segment, report: &mut VerifyReport) -> Result<()> {
        let log = seg.path.display().to_string();
        if seg.number == self.head_number {
            self.head_file_problems = Some(report.problems.len());
        }
        let mut lines = seg.lines();
        let mut n = 0usize;
        while let Some(line) = lines.next_line().map_err(|e| Error::io(&seg.path, e))? {
            let line = match line {
                Line::Complete(l) => l,
                Line::Unterminated => {
                    self.flush_pending(&log, report);
                    let n = n + 1;
                    report.problems.push(Problem {
                        line: n,
                        kind: ProblemKind::TornUnacknowledged,
                        message: format!(
                            "{log}: line {n} is an unterminated fragment: a writer was killed \
                             while appending. The next append will acknowledge it; if no \
                             Keybroker process crashed, someone appended to the log by hand"
                        ),
                    });
                    break;
                }
            };
            n += 1;
            report.lines += 1;
            let Some((e, hash_ok)) = parse_links(line) else {
                self.flush_pending(&log, report);
                self.pending = Some((n, sha256_hex(line)));
                for p in [&mut self.head, &mut self.anchor].into_iter().flatten() {
                    p.line(seg.number, n, None);
                }
                continue;
            };
            if let Some((bad, fragment)) = self.pending.take() {
                if e.torn.as_deref() == Some(fragment.as_str()) {
                    report.torn.push(bad);
                } else {
                    report.problems.push(malformed(&log, bad));
                }
            }
            if !hash_ok {
                report.problems.push(Problem {
                    line: n,
                    kind: ProblemKind::HashMismatch,
                    message: format!(
                        "{log}: line {n} ({} at {}) does not match its hash: it was edited \
                         after it was written. Compare it with a backup; treat its fields \
                         as untrustworthy",
                        e.event, e.time
                    ),
                });
            }
            let first = self.last_event.is_none();
            let chain_known = !first || self.from_start;
            if chain_known && e.prev != self.prev {
                let what = match self.last_event {
                    None => "the start of the log".to_owned(),
                    Some((num, l)) if num == seg.number => format!("line {l}"),
                    Some((_, l)) => format!("line {l} of the previous segment"),
                };
                report.problems.push(Problem {
                    line: n,
                    kind: ProblemKind::BrokenChain,
                    message: format!(
                        "{log}: line {n} ({} at {}) does not follow {what}: lines were \
                         removed, inserted or reordered just before line {n}. Compare the \
                         log with a backup",
                        e.event, e.time
                    ),
                });
            }
            if e.event == EventKind::HeadMismatch.as_str() {
                report.problems.push(Problem {
                    line: n,
                    kind: ProblemKind::HeadMismatchRecorded,
                    message: format!(
                        "{log}: line {n} records that {}. Events before line {n} may be \
                         incomplete; compare with a backup. To start a clean log, move this \
                         file and its .head aside",
                        e.detail
                            .as_deref()
                            .unwrap_or("the head file disagreed with the log")
                    ),
                });
            }
            for p in [&mut self.head, &mut self.anchor].into_iter().flatten() {
                p.line(seg.number, n, Some(&e.hash));
            }
            self.prev = e.hash.into_owned();
            self.last_event = Some((seg.number, n));
        }
        self.flush_pending(&log, report);
        self.lines_in.push((seg.number, n));
        for p in [&mut self.head, &mut self.anchor].into_iter().flatten() {
            p.file_end(seg.number, &self.prev);
        }
        Ok(())
    }

    fn flush_pending(&mut self, log: &str, report: &mut VerifyReport) {
        if let Some((bad, _)) = self.pending.take() {
            report.problems.push(malformed(log, bad));
        }
    }

    /// The head and anchor checks, once every line was read.
    fn finish(self, log: &AuditLog, snap: &Snapshot, report: &mut VerifyReport) {
        let head_name = log.head_path().display().to_string();
        let path = log.path.display().to_string();
        let last_hash = self.last_event.map(|_| self.prev.clone());
        let end_number = snap.files.last().map_or(1, |s| s.number);
        let lines_of = |number: u64| {
            self.lines_in
                .iter()
                .find(|(n, _)| *n == number)
                .map_or(0, |(_, l)| *l)
        };
        let end_lines = lines_of(end_number);
        let any_lines = report.lines > 0;
        match &snap.head {
            HeadState::Missing => {
                if any_lines {
                    report.problems.push(Problem {
                        line: end_lines,
                        kind: ProblemKind::HeadMissing,
                        message: format!(
                            "{head_name} is missing although the log has {} lines: it was \
                             deleted, so lines removed from the end cannot be detected. The next \
                             append records this in the log and recreates the head",
                            report.lines
                        ),
                    });
                }
            }
            HeadState::Unreadable(why) => report.problems.push(Problem {
                line: end_lines,
                kind: ProblemKind::HeadUnreadable,
                message: format!(
                    "{head_name} cannot be read ({why}): it was damaged or edited. The next \
                     append records this in the log and rewrites the head"
                ),
            }),
            HeadState::Valid(h) => {
                let head_hit = self.head.as_ref().and_then(|p| p.hit) == Some(true);
                let at_end = last_hash.as_deref() == Some(h.hash.as_str());
                let head_lines = lines_of(h.segment + 1);
                if h.lines == 0 && h.segment == 0 && last_hash.is_none() {
                    // An empty head for an empty log.
                } else if at_end && h.lines == head_lines && end_number <= h.segment + 1 {
                    // Current.
                } else if at_end && h.lines == head_lines && end_lines == 0 {
                    report.notes.push(format!(
                        "{head_name} was written just before the log was rotated; the next \
                         append completes the rotation"
                    ));
                } else if at_end {
                    report.problems.push(Problem {
                        line: end_lines,
                        kind: ProblemKind::LineCountMismatch,
                        message: format!(
                            "{path} has {end_lines} lines but {head_name} records {}, with the \
                             same last hash: lines were removed or added in the middle. \
                             Compare the log with a backup",
                            h.lines
                        ),
                    });
                } else {
                    let later = self.head_file_problems.is_some_and(|from| {
                        report.problems[from..]
                            .iter()
                            .any(|p| p.line > h.lines && p.kind != ProblemKind::TornUnacknowledged)
                    });
                    if head_hit && !later {
                        report.notes.push(format!(
                            "{head_name} is behind: it records {} lines and the log has more \
                             valid lines; a writer stopped between writing and updating the \
                             head. The next append brings it up to date",
                            h.lines
                        ));
                    } else {
                        report.problems.push(Problem {
                            line: end_lines.max(1),
                            kind: ProblemKind::TailTruncated,
                            message: format!(
                                "{path} has {end_lines} lines ending in hash {} but {head_name} \
                                 records {} lines ending in hash {}: lines were removed from \
                                 the end of the log or it was replaced. Restore it from a \
                                 backup if you have one",
                                last_hash.as_deref().unwrap_or("(none)"),
                                h.lines,
                                h.hash
                            ),
                        });
                    }
                }
            }
        }

        let end = Point {
            segment: snap.head.valid().map_or(0, |h| h.segment),
            lines: snap.head.valid().map_or(end_lines, |h| h.lines),
            hash: last_hash.clone().unwrap_or_else(|| GENESIS.to_owned()),
        };
        let anchor_hit = self.anchor.as_ref().and_then(|p| p.hit);
        let seal = match (&snap.head, &log.anchor, &snap.anchor) {
            (HeadState::Valid(h), Some(a), Some(read)) => match (&h.mac, read) {
                (None, _) => Seal::Missing,
                (Some(_), anchor::Read::Unavailable(_)) => Seal::Unchecked,
                (Some(mac), _) => match a.check_seal(&h.point(), mac) {
                    Ok(true) => Seal::Valid,
                    Ok(false) => Seal::Invalid,
                    Err(_) => Seal::Unchecked,
                },
            },
            _ => Seal::Missing,
        };
        report.anchor = log.check_anchor(snap.anchor.clone(), &end, anchor_hit, seal, report);
        report.problems.sort_by_key(|p| p.line);
    }
}

fn malformed(log: &str, n: usize) -> Problem {
    Problem {
        line: n,
        kind: ProblemKind::Malformed,
        message: format!(
            "{log}: line {n} is not a valid audit event and is not a torn write acknowledged \
             by line {}: it was added or altered by hand. Compare the log with a backup; do \
             not trust events around it",
            n + 1
        ),
    }
}

impl AuditLog {
    /// The anchor's verdict on the chain that ends at `end`. `hit`: whether the anchored
    /// point was found in the chain (`None`: its file was not read). A mismatch is also
    /// added to the report's problems.
    fn check_anchor(
        &self,
        read: Option<anchor::Read>,
        end: &Point,
        hit: Option<bool>,
        seal: Seal,
        report: &mut VerifyReport,
    ) -> AnchorStatus {
        let Some(read) = read else {
            return AnchorStatus::NotConfigured;
        };
        let head_name = self.head_path().display().to_string();
        let log = self.path.display();
        let empty = report.lines == 0 && end.hash == GENESIS;
        let mut mismatch = |message: String| {
            report.problems.push(Problem {
                line: end.lines.max(1),
                kind: ProblemKind::AnchorMismatch,
                message,
            });
            AnchorStatus::Mismatch
        };
        if seal == Seal::Invalid {
            return mismatch(format!(
                "{head_name} records line {} with hash {} (segment {}) and a MAC that does not \
                 verify with the keychain anchor's key: the log and its head were rewritten \
                 together by someone without the key. Keep this copy for investigation and \
                 compare it with a backup",
                end.lines, end.hash, end.segment
            ));
        }
        match read {
            anchor::Read::Unavailable(why) => AnchorStatus::Unavailable(why),
            anchor::Read::Missing if empty => AnchorStatus::Empty,
            anchor::Read::Missing => AnchorStatus::NotAnchoredYet,
            anchor::Read::Invalid(why) => mismatch(format!(
                "{log}: the keychain anchor cannot be trusted: {why}. Compare the log with a \
                 backup; the next audited action records this in the log and re-anchors"
            )),
            anchor::Read::Valid(p) if p == *end => AnchorStatus::Verified,
            anchor::Read::Valid(p) => {
                let behind =
                    p.segment < end.segment || (p.segment == end.segment && p.lines < end.lines);
                // Behind and in the chain, or behind in a segment archived since.
                if behind && hit != Some(false) && seal == Seal::Valid {
                    // Events after the anchored point: the head's MAC vouches for them.
                    AnchorStatus::Verified
                } else if behind && hit != Some(false) {
                    AnchorStatus::Stale {
                        anchored_lines: p.lines,
                    }
                } else {
                    mismatch(format!(
                        "{log} ends at line {} with hash {} (segment {}), but the keychain \
                         anchor records line {} with hash {} (segment {}), which this chain \
                         does not contain: the log and its head were rewritten together or \
                         replaced by an older copy. Keep this copy for investigation and \
                         compare it with a backup",
                        end.lines, end.hash, end.segment, p.lines, p.hash, p.segment
                    ))
                }
            }
        }
    }
}

/// The head file's MAC, as `verify` found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seal {
    /// No head, or a head without a MAC.
    Missing,
    Valid,
    /// A MAC that does not verify with the key.
    Invalid,
    /// The key could not be read.
    Unchecked,
}

/// `refusal` with a note that it could not be recorded because of `audit_err`.
fn unrecorded(refusal: Error, audit_err: &Error) -> Error {
    let why = audit_err.to_string();
    let note = format!(
        "this refusal is missing from the audit log: {}",
        why.lines().next().unwrap_or_default()
    );
    match refusal {
        Error::Denied { message, fix } => Error::Denied {
            message: format!("{message}\n  {note}"),
            fix,
        },
        Error::NeedsSignIn { server, reason } => Error::NeedsSignIn {
            server,
            reason: format!("{reason} ({note})"),
        },
        Error::Other { message, fix } => Error::Other {
            message: format!("{message}\n  {note}"),
            fix,
        },
        other => Error::other(
            format!("{other}\n  {note}"),
            "fix the problem above, then run the command again",
        ),
    }
}

/// New lines use only the kinds and outcomes this version names; `Other` is for reading.
fn validate(e: &Event) -> Result<()> {
    if OffsetDateTime::parse(&e.time, &Rfc3339).is_err() {
        return Err(Error::other(
            format!(
                "audit event `{}` has time `{}`, which is not RFC 3339",
                e.kind, e.time
            ),
            "report this as a Keybroker bug (audit times come from base::clock::now_rfc3339)",
        ));
    }
    if !e.kind.is_known() {
        return Err(Error::other(
            format!("audit event has the unknown kind `{}`", e.kind),
            "report this as a Keybroker bug",
        ));
    }
    if !e.outcome.is_known() {
        return Err(Error::other(
            format!(
                "audit event `{}` has outcome `{}`; expected ok, denied or error",
                e.kind, e.outcome
            ),
            "report this as a Keybroker bug",
        ));
    }
    Ok(())
}

fn parse_filter_time(s: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| {
        Error::other(
            format!("`{s}` is not an RFC 3339 time: {e}"),
            "use a time like 2026-03-21T10:00:00Z",
        )
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Serialize `e` (whose `hash` must be empty) into a `\n`-terminated line and set `e.hash`.
fn serialize_line(e: &mut Event) -> Result<Vec<u8>> {
    debug_assert!(e.hash.is_empty());
    let body = serde_json::to_vec(&*e).map_err(|err| {
        Error::other(
            format!("cannot serialize audit event `{}`: {err}", e.kind),
            "report this as a Keybroker bug",
        )
    })?;
    let hash = sha256_hex(&body);
    let mut line = body;
    // The body of a struct always ends with `}`.
    line.pop();
    line.extend_from_slice(HASH_KEY);
    line.extend_from_slice(hash.as_bytes());
    line.extend_from_slice(b"\"}\n");
    e.hash = hash;
    Ok(line)
}

/// Parse one line (without `\n`). `None` if it is not an event; otherwise the event and
/// whether its bytes hash to its `hash`.
fn parse_line(line: &[u8]) -> Option<(Event, bool)> {
    if line.len() < HASH_SUFFIX_LEN + 2 || !line.ends_with(b"\"}") {
        return None;
    }
    let cut = line.len() - HASH_SUFFIX_LEN;
    if &line[cut..cut + HASH_KEY.len()] != HASH_KEY {
        return None;
    }
    let declared = &line[cut + HASH_KEY.len()..line.len() - 2];
    if !declared
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return None;
    }
    let event: Event = serde_json::from_slice(line).ok()?;
    if event.hash.as_bytes() != declared {
        return None;
    }
    let mut body = Vec::with_capacity(cut + 1);
    body.extend_from_slice(&line[..cut]);
    body.push(b'}');
    let ok = sha256_hex(&body) == event.hash;
    Some((event, ok))
}

/// Complete lines (without `\n`) and the unterminated remainder, if any.
fn split_lines(bytes: &[u8]) -> (Vec<&[u8]>, Option<&[u8]>) {
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    // `split` yields a final empty piece after a trailing `\n` (or for empty input).
    let rest = lines.pop().filter(|r| !r.is_empty());
    (lines, rest)
}

/// Read backwards from the end until the last valid event line is found (or the start
/// of the file is reached), so appends do not read the whole log.
fn read_tail(file: &mut File, len: u64) -> std::io::Result<Tail> {
    let mut chunk = TAIL_CHUNK;
    loop {
        let start = len.saturating_sub(chunk);
        file.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::with_capacity(usize::try_from(len - start).unwrap_or(0));
        Read::by_ref(file).take(len - start).read_to_end(&mut buf)?;
        if let Some(tail) = analyze_tail(&buf, start == 0) {
            return Ok(tail);
        }
        chunk = chunk.saturating_mul(2);
    }
}

/// `None` if `buf` (the last bytes of the log) is not enough to decide.
fn analyze_tail(buf: &[u8], at_start: bool) -> Option<Tail> {
    let mut tail = Tail::default();
    // Where the complete lines end (just past the last `\n`).
    let complete_end = match buf.iter().rposition(|b| *b == b'\n') {
        Some(p) => p + 1,
        None if at_start => 0,
        None => return None, // the fragment may start before `buf`
    };
    if complete_end < buf.len() {
        let fragment = &buf[complete_end..];
        if let Some((e, _)) = parse_line(fragment) {
            tail.fragment = Some(fragment.to_vec());
            tail.last_hash = Some(e.hash);
            return Some(tail);
        }
        tail.fragment = Some(fragment.to_vec());
    }
    let region = &buf[..complete_end];
    // Unless we are at the start of the file, the text before the first `\n` may be
    // the end of a longer line; skip it.
    let region = if at_start {
        region
    } else {
        match region.iter().position(|b| *b == b'\n') {
            Some(p) => &region[p + 1..],
            None => return None,
        }
    };
    for line in split_lines(region).0.into_iter().rev() {
        if let Some((e, _)) = parse_line(line) {
            tail.last_hash = Some(e.hash);
            return Some(tail);
        }
        tail.lines_after += 1;
    }
    if at_start { Some(tail) } else { None }
}

struct Scan {
    complete_lines: usize,
    /// Line `head.lines` is a valid event whose hash equals `head.hash`.
    head_found: bool,
}

/// Slow path: count complete lines of the whole log and look for the head's line.
fn scan_counts(path: &Path, head: Option<&Head>) -> Result<Scan> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = BufReader::new(file);
    let mut scan = Scan {
        complete_lines: 0,
        head_found: false,
    };
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::io(path, e))?;
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        scan.complete_lines += 1;
        if let Some(h) = head
            && h.lines == scan.complete_lines
            && let Some((e, _)) = parse_line(&line[..line.len() - 1])
        {
            scan.head_found = e.hash == h.hash;
        }
    }
    Ok(scan)
}

enum HeadState {
    Missing,
    Unreadable(String),
    Valid(Head),
}

impl HeadState {
    fn valid(&self) -> Option<&Head> {
        match self {
            HeadState::Valid(h) => Some(h),
            _ => None,
        }
    }
}

fn read_head(path: &Path) -> HeadState {
    let read = fsutil::open_own(path, Own::Read).and_then(|mut f| {
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes)
            .map(|_| bytes)
            .map_err(|e| Error::io(path, e))
    });
    match read {
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            HeadState::Missing
        }
        Err(e) => HeadState::Unreadable(e.to_string()),
        Ok(bytes) => match serde_json::from_slice::<Head>(&bytes) {
            Ok(h) => HeadState::Valid(h),
            Err(e) => HeadState::Unreadable(e.to_string()),
        },
    }
}

fn open_lock(path: &Path) -> Result<File> {
    fsutil::open_own(path, Own::Lock)
}

fn open_log_for_append(path: &Path) -> Result<File> {
    fsutil::open_own(path, Own::Append)
}

/// The `hash` of the last event line of `path`.
fn last_hash_of(path: &Path) -> Option<String> {
    let mut file = fsutil::open_own(path, Own::Read).ok()?;
    let len = file.metadata().ok()?.len();
    read_tail(&mut file, len).ok()?.last_hash
}

/// The declared `hash` of physical line `n` (1-based) of `path`, if it is an event.
fn hash_at_line(path: &Path, n: usize) -> Option<String> {
    let file = fsutil::open_own(path, Own::Read).ok()?;
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    for _ in 0..n {
        line.clear();
        let read = reader.read_until(b'\n', &mut line).ok()?;
        if read == 0 || line.last() != Some(&b'\n') {
            return None;
        }
    }
    line.pop();
    parse_line(&line).map(|(e, _)| e.hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::clock::now_rfc3339;
    use std::collections::HashSet;
    use std::fs::OpenOptions;
    use std::process::Command;

    const CHILD_ENV: &str = "KB_AUDIT_TEST_CHILD_LOG";
    const CHILD_ID_ENV: &str = "KB_AUDIT_TEST_CHILD_ID";

    fn ev(kind: EventKind, server: &str, time: &str) -> Event {
        Event::new(kind, Outcome::Ok, time)
            .server(server)
            .host("claude-desktop")
            .credential("github")
            .target(Target::Env("GITHUB_TOKEN".to_owned()))
            .process(4242, Some(1), Some("claude".to_owned()))
            .fingerprint("sha256:abcd")
            .detail("released to the server")
    }

    fn setup(n: usize) -> (tempfile::TempDir, AuditLog) {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("audit").join("audit.jsonl"));
        for i in 0..n {
            log.append(vec![ev(
                EventKind::Released,
                &format!("s{i}"),
                &format!("2026-01-0{}T00:00:00Z", i + 1),
            )])
            .unwrap();
        }
        (dir, log)
    }

    fn lines(log: &AuditLog) -> Vec<String> {
        fs::read_to_string(log.path())
            .unwrap()
            .split_terminator('\n')
            .map(str::to_owned)
            .collect()
    }

    fn write_lines(log: &AuditLog, lines: &[String]) {
        let mut s = lines.join("\n");
        s.push('\n');
        fs::write(log.path(), s).unwrap();
    }

    fn kinds_at(report: &VerifyReport, line: usize) -> Vec<ProblemKind> {
        report
            .problems
            .iter()
            .filter(|p| p.line == line)
            .map(|p| p.kind)
            .collect()
    }

    #[test]
    fn a_chain_of_three_appends_verifies() {
        let (_d, log) = setup(3);
        let report = log.verify().unwrap();
        assert!(report.ok, "{report:#?}");
        assert_eq!(report.lines, 3);
        let events = log.read_all().unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].prev, GENESIS);
        assert_eq!(events[1].prev, events[0].hash);
        assert_eq!(events[2].prev, events[1].hash);
    }

    #[test]
    fn append_returns_events_with_prev_and_hash_and_batches_chain() {
        let (_d, log) = setup(1);
        let out = log
            .append(vec![
                ev(EventKind::Released, "a", "2026-02-01T00:00:00Z"),
                ev(EventKind::Denied, "b", "2026-02-01T00:00:01Z"),
            ])
            .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].prev, out[0].hash);
        assert_eq!(log.read_all().unwrap()[1..], out[..]);
        assert!(log.verify().unwrap().ok);
        let head: Head = serde_json::from_slice(&fs::read(log.head_path()).unwrap()).unwrap();
        assert_eq!(
            head,
            Head {
                segment: 0,
                lines: 3,
                hash: out[1].hash.clone(),
                mac: None,
            }
        );
    }

    #[test]
    fn an_empty_or_missing_log_verifies_ok_with_zero_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("nope").join("audit.jsonl"));
        let report = log.verify().unwrap();
        assert!(report.ok);
        assert_eq!(report.lines, 0);
        assert!(log.read_all().unwrap().is_empty());
        assert!(!dir.path().join("nope").exists(), "nothing touched");
    }

    #[test]
    fn editing_a_field_in_line_2_is_a_hash_mismatch_at_line_2() {
        let (_d, log) = setup(3);
        let mut l = lines(&log);
        l[1] = l[1].replace("\"server\":\"s1\"", "\"server\":\"sX\"");
        write_lines(&log, &l);
        let report = log.verify().unwrap();
        assert!(!report.ok);
        assert_eq!(kinds_at(&report, 2), vec![ProblemKind::HashMismatch]);
        assert_eq!(report.problems.len(), 1, "{report:#?}");
        assert!(report.problems[0].message.contains("line 2"));
    }

    #[test]
    fn removing_line_2_is_a_broken_chain_at_the_next_line() {
        let (_d, log) = setup(3);
        let mut l = lines(&log);
        l.remove(1);
        write_lines(&log, &l);
        let report = log.verify().unwrap();
        assert!(!report.ok);
        assert!(kinds_at(&report, 2).contains(&ProblemKind::BrokenChain));
        assert!(
            !report
                .problems
                .iter()
                .any(|p| p.kind == ProblemKind::HashMismatch)
        );
    }

    #[test]
    fn swapping_lines_2_and_3_is_reported() {
        let (_d, log) = setup(3);
        let mut l = lines(&log);
        l.swap(1, 2);
        write_lines(&log, &l);
        let report = log.verify().unwrap();
        assert!(!report.ok);
        assert!(kinds_at(&report, 2).contains(&ProblemKind::BrokenChain));
        assert!(kinds_at(&report, 3).contains(&ProblemKind::BrokenChain));
    }

    #[test]
    fn removing_the_last_line_entirely_is_tail_truncated() {
        let (_d, log) = setup(3);
        let mut l = lines(&log);
        l.pop();
        write_lines(&log, &l);
        let report = log.verify().unwrap();
        assert!(!report.ok);
        assert_eq!(report.problems.len(), 1, "{report:#?}");
        assert_eq!(report.problems[0].kind, ProblemKind::TailTruncated);
    }

    #[test]
    fn truncation_followed_by_an_append_stays_reported() {
        let (_d, log) = setup(3);
        let mut l = lines(&log);
        l.pop();
        write_lines(&log, &l);
        log.append(vec![ev(EventKind::Released, "z", "2026-03-01T00:00:00Z")])
            .unwrap();
        let report = log.verify().unwrap();
        assert!(!report.ok);
        assert_eq!(
            kinds_at(&report, 3),
            vec![ProblemKind::HeadMismatchRecorded],
            "{report:#?}"
        );
        assert_eq!(report.problems.len(), 1);
        let events = log.read_all().unwrap();
        assert_eq!(events.len(), 4);
        assert_eq!(events[2].kind, EventKind::HeadMismatch);
        assert_eq!(events[3].server.as_deref(), Some("z"));
    }

    #[test]
    fn a_missing_head_with_a_non_empty_log_is_a_problem() {
        let (_d, log) = setup(2);
        fs::remove_file(log.head_path()).unwrap();
        let report = log.verify().unwrap();
        assert_eq!(report.problems.len(), 1);
        assert_eq!(report.problems[0].kind, ProblemKind::HeadMissing);
    }

    #[test]
    fn a_head_behind_by_valid_lines_is_a_note_not_a_failure() {
        let (_d, log) = setup(2);
        let old_head = fs::read(log.head_path()).unwrap();
        log.append(vec![ev(EventKind::Released, "x", "2026-03-01T00:00:00Z")])
            .unwrap();
        fs::write(log.head_path(), &old_head).unwrap(); // crash before head update
        let report = log.verify().unwrap();
        assert!(report.ok, "{report:#?}");
        assert_eq!(report.notes.len(), 1);
        // The next append repairs the head without recording a mismatch.
        log.append(vec![ev(EventKind::Released, "y", "2026-03-02T00:00:00Z")])
            .unwrap();
        let report = log.verify().unwrap();
        assert!(report.ok && report.notes.is_empty(), "{report:#?}");
        assert_eq!(report.lines, 4);
    }

    /// Regression: the head used to be written to a fixed `<log>.head.tmp` opened with
    /// create+truncate, so a symlink planted there redirected the write to any file the
    /// user could write.
    #[cfg(unix)]
    #[test]
    fn the_head_is_never_written_through_a_symlink_planted_at_a_temp_name() {
        let (dir, log) = setup(1);
        let victim = dir.path().join("victim.txt");
        fs::write(&victim, b"keep me").expect("victim");
        std::os::unix::fs::symlink(&victim, log.sibling(".head.tmp")).expect("plant");
        log.append(vec![ev(EventKind::Released, "h/a", &now_rfc3339())])
            .expect("append");
        assert_eq!(fs::read(&victim).expect("read"), b"keep me");
        assert!(log.verify().expect("verify").ok);
        let head = fs::read_to_string(log.head_path()).expect("head");
        assert!(head.contains("\"lines\":2"), "{head}");
    }

    fn mock_vault() -> Vault {
        let store: std::sync::Arc<keyring_core::api::CredentialStore> =
            keyring_core::mock::Store::new().unwrap();
        Vault::with_store(store, "keybroker-audit-test")
    }

    /// Rewrite every line with `edit` and re-chain them, as someone who knows the format
    /// would: every hash and link holds, and the head is made to match.
    fn rewrite_consistently(log: &AuditLog, edit: impl Fn(&mut Event)) {
        let mut prev = GENESIS.to_owned();
        let mut out = Vec::new();
        let events = log.read_all().unwrap();
        let n = events.len();
        for mut e in events {
            edit(&mut e);
            e.prev = prev;
            e.hash = String::new();
            out.extend(serialize_line(&mut e).unwrap());
            prev = e.hash.clone();
        }
        fs::write(log.path(), out).unwrap();
        fs::write(
            log.head_path(),
            format!("{{\"lines\":{n},\"hash\":\"{prev}\"}}\n"),
        )
        .unwrap();
    }

    fn anchored(n: usize) -> (tempfile::TempDir, AuditLog, Vault) {
        let (dir, plain) = setup(0);
        let vault = mock_vault();
        let log = AuditLog::with_vault(plain.path(), vault.clone());
        for i in 0..n {
            log.append(vec![ev(
                EventKind::Released,
                &format!("s{i}"),
                &format!("2026-01-0{}T00:00:00Z", i + 1),
            )])
            .unwrap();
        }
        (dir, log, vault)
    }

    #[test]
    fn a_fresh_log_is_anchored_by_its_first_append() {
        let (_d, log, vault) = anchored(0);
        assert_eq!(log.verify().unwrap().anchor, AnchorStatus::Empty);
        log.append(vec![ev(EventKind::Released, "a", "2026-01-01T00:00:00Z")])
            .unwrap();
        let report = log.verify().unwrap();
        assert!(report.ok, "{report:#?}");
        assert_eq!(report.anchor, AnchorStatus::Verified);
        assert!(vault.get(anchor::KEY_ID).unwrap().is_some());
    }

    #[test]
    fn rewriting_the_log_and_its_head_together_is_an_anchor_mismatch() {
        let (_d, log, _v) = anchored(3);
        rewrite_consistently(&log, |e| {
            if e.server.as_deref() == Some("s1") {
                e.server = Some("someone-else".into());
            }
        });
        let report = log.verify().unwrap();
        let kinds: Vec<_> = report.problems.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, [ProblemKind::AnchorMismatch], "{report:#?}");
        assert_eq!(report.anchor, AnchorStatus::Mismatch);
        assert!(report.problems[0].message.contains("rewritten"));

        // The next append records what it found before it re-anchors.
        log.append(vec![ev(EventKind::Released, "z", "2026-02-01T00:00:00Z")])
            .unwrap();
        let report = log.verify().unwrap();
        let kinds: Vec<_> = report.problems.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, [ProblemKind::HeadMismatchRecorded], "{report:#?}");
        assert!(report.problems[0].message.contains("keychain anchor"));
        assert_eq!(report.anchor, AnchorStatus::Verified);
    }

    #[test]
    fn an_older_copy_put_back_is_an_anchor_mismatch() {
        let (_d, log, _v) = anchored(2);
        let old_log = fs::read(log.path()).unwrap();
        let old_head = fs::read(log.head_path()).unwrap();
        log.append(vec![ev(EventKind::Denied, "gone", "2026-02-01T00:00:00Z")])
            .unwrap();
        fs::write(log.path(), old_log).unwrap();
        fs::write(log.head_path(), old_head).unwrap();
        let report = log.verify().unwrap();
        let kinds: Vec<_> = report.problems.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, [ProblemKind::AnchorMismatch], "{report:#?}");
    }

    #[test]
    fn an_anchor_left_behind_is_stale_and_the_next_append_moves_it_forward() {
        let (_d, log, _v) = anchored(2);
        // Appends by a writer without the keychain.
        AuditLog::new(log.path())
            .append(vec![ev(EventKind::Denied, "x", "2026-02-01T00:00:00Z")])
            .unwrap();
        let report = log.verify().unwrap();
        assert!(report.ok, "{report:#?}");
        assert_eq!(report.anchor, AnchorStatus::Stale { anchored_lines: 2 });
        log.append(vec![ev(EventKind::Released, "y", "2026-02-02T00:00:00Z")])
            .unwrap();
        let report = log.verify().unwrap();
        assert!(report.ok, "{report:#?}");
        assert_eq!(report.anchor, AnchorStatus::Verified);
    }

    #[test]
    fn a_log_from_before_anchors_is_not_anchored_yet_until_its_next_append() {
        let (_d, plain) = setup(2);
        let log = AuditLog::with_vault(plain.path(), mock_vault());
        let report = log.verify().unwrap();
        assert!(report.ok, "{report:#?}");
        assert_eq!(report.anchor, AnchorStatus::NotAnchoredYet);
        log.append(vec![ev(EventKind::Released, "y", "2026-02-02T00:00:00Z")])
            .unwrap();
        let report = log.verify().unwrap();
        assert!(report.ok, "{report:#?}");
        assert_eq!(report.anchor, AnchorStatus::Verified);
    }

    #[test]
    fn a_keychain_that_refuses_leaves_the_append_recorded_and_the_anchor_stale() {
        let store: std::sync::Arc<keyring_core::api::CredentialStore> =
            keyring_core::mock::Store::new().unwrap();
        let service = "keybroker-audit-test";
        let (_d, plain) = setup(0);
        let log = AuditLog::with_vault(plain.path(), Vault::with_store(store.clone(), service));
        log.append(vec![ev(EventKind::Released, "a", "2026-01-01T00:00:00Z")])
            .unwrap();

        // The anchor's item answers the next call as a locked keychain does.
        let entry = keyring_core::Entry::new_in_store(&store, service, anchor::ANCHOR_ID).unwrap();
        let cred: &keyring_core::mock::Cred = entry.as_any().downcast_ref().unwrap();
        cred.set_error(keyring_core::Error::NoStorageAccess("locked".into()));
        let locked = AuditLog::with_vault(plain.path(), Vault::with_store(store.clone(), service));
        locked
            .append(vec![ev(EventKind::Denied, "x", "2026-02-01T00:00:00Z")])
            .unwrap();
        assert_eq!(log.read_all().unwrap().len(), 2, "the denial is recorded");
        assert!(matches!(
            locked.verify().unwrap().anchor,
            AnchorStatus::Unavailable(_)
        ));

        let report = log.verify().unwrap();
        assert!(report.ok, "{report:#?}");
        assert_eq!(report.anchor, AnchorStatus::Stale { anchored_lines: 1 });
        assert!(
            report
                .anchor
                .describe()
                .contains("not anchored since line 1"),
            "{}",
            report.anchor.describe()
        );
    }

    fn anchor_item(vault: &Vault) -> String {
        vault
            .get(anchor::ANCHOR_ID)
            .unwrap()
            .expect("anchor")
            .expose()
            .to_string()
    }

    fn head_json(log: &AuditLog) -> serde_json::Value {
        serde_json::from_slice(&fs::read(log.head_path()).unwrap()).unwrap()
    }

    /// Two anchored events, then three from a launcher (MAC only).
    fn launched(n: usize) -> (tempfile::TempDir, AuditLog, Vault, String) {
        let (d, log, vault) = anchored(2);
        let anchor_before = anchor_item(&vault);
        let launcher = AuditLog::with_vault(log.path(), vault.clone()).mac_only();
        for i in 0..n {
            launcher
                .append(vec![ev(
                    EventKind::Released,
                    &format!("l{i}"),
                    &format!("2026-03-0{}T00:00:00Z", i + 1),
                )])
                .unwrap();
        }
        (d, log, vault, anchor_before)
    }

    #[test]
    fn mac_only_appends_leave_the_anchor_alone_and_seal_the_head() {
        let (_d, log, vault, anchor_before) = launched(3);
        assert_eq!(anchor_item(&vault), anchor_before, "no anchor write");
        let head = head_json(&log);
        assert_eq!(head["lines"], 5);
        assert_eq!(head["mac"].as_str().map(str::len), Some(64), "{head}");
        let report = log.verify().unwrap();
        assert!(report.ok, "{report:#?}");
        assert_eq!(report.anchor, AnchorStatus::Verified);

        // `audit verify` moves the anchor to the sealed head.
        assert_eq!(log.anchor_head(), Ok(true));
        assert!(anchor_item(&vault).contains("\"lines\":5"));
        assert_eq!(log.anchor_head(), Ok(false), "already there");
    }

    #[test]
    fn a_rewrite_after_mac_only_appends_is_an_anchor_mismatch_unless_the_mac_is_dropped() {
        let (_d, log, _v, _) = launched(3);
        let mac = head_json(&log)["mac"].as_str().unwrap().to_string();
        rewrite_consistently(&log, |e| {
            if e.server.as_deref() == Some("l1") {
                e.server = Some("someone-else".into());
            }
        });
        // The head keeps a MAC (the old one): it does not verify.
        let head = head_json(&log);
        fs::write(
            log.head_path(),
            format!(
                "{{\"lines\":{},\"hash\":{},\"mac\":\"{mac}\"}}\n",
                head["lines"], head["hash"]
            ),
        )
        .unwrap();
        let report = log.verify().unwrap();
        let kinds: Vec<_> = report.problems.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, [ProblemKind::AnchorMismatch], "{report:#?}");
        assert!(report.problems[0].message.contains("without the key"));

        // The next launcher append records it before it seals the head again.
        log.clone()
            .mac_only()
            .append(vec![ev(EventKind::Released, "z", "2026-04-01T00:00:00Z")])
            .unwrap();
        let report = log.verify().unwrap();
        let kinds: Vec<_> = report.problems.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, [ProblemKind::HeadMismatchRecorded], "{report:#?}");

        // A head without a MAC is only "not anchored since" the anchored point.
        let (_d, log, _v, _) = launched(3);
        rewrite_consistently(&log, |e| {
            if e.server.as_deref() == Some("l1") {
                e.server = Some("someone-else".into());
            }
        });
        let report = log.verify().unwrap();
        assert!(report.ok, "{report:#?}");
        assert_eq!(report.anchor, AnchorStatus::Stale { anchored_lines: 2 });
    }

    #[test]
    fn a_truncation_to_before_the_anchored_point_is_an_anchor_mismatch() {
        let (_d, log, _v, _) = launched(3);
        let all = lines(&log);
        write_lines(&log, &all[..1]);
        let kept: Event = serde_json::from_str(&all[0]).unwrap();
        fs::write(
            log.head_path(),
            format!("{{\"lines\":1,\"hash\":\"{}\"}}\n", kept.hash),
        )
        .unwrap();
        let report = log.verify().unwrap();
        let kinds: Vec<_> = report.problems.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, [ProblemKind::AnchorMismatch], "{report:#?}");

        // Back to just after the anchored point: not detectable, only "not anchored since".
        let (_d, log, _v, _) = launched(3);
        let all = lines(&log);
        write_lines(&log, &all[..2]);
        let kept: Event = serde_json::from_str(&all[1]).unwrap();
        fs::write(
            log.head_path(),
            format!("{{\"lines\":2,\"hash\":\"{}\"}}\n", kept.hash),
        )
        .unwrap();
        let report = log.verify().unwrap();
        assert!(report.ok, "{report:#?}");
        assert_eq!(report.anchor, AnchorStatus::Verified);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_head_or_the_log_is_refused_and_its_target_untouched() {
        let (dir, log) = setup(1);
        let victim = dir.path().join("victim.txt");
        fs::write(&victim, b"keep me").unwrap();
        let before = fs::read(log.path()).unwrap();
        fs::remove_file(log.head_path()).unwrap();
        std::os::unix::fs::symlink(&victim, log.head_path()).unwrap();
        let err = log
            .append(vec![ev(EventKind::Released, "h/a", &now_rfc3339())])
            .unwrap_err();
        assert_eq!(
            err.code(),
            crate::base::error::ErrorCode::UnsafeDir,
            "{err}"
        );
        assert!(err.fix().unwrap().contains("rm "), "{err:?}");
        assert_eq!(fs::read(&victim).unwrap(), b"keep me");
        assert_eq!(fs::read(log.path()).unwrap(), before, "nothing appended");

        let other = dir.path().join("other.jsonl");
        std::os::unix::fs::symlink(&victim, &other).unwrap();
        let err = AuditLog::new(&other)
            .append(vec![ev(EventKind::Released, "h/a", &now_rfc3339())])
            .unwrap_err();
        assert_eq!(
            err.code(),
            crate::base::error::ErrorCode::UnsafeDir,
            "{err}"
        );
        assert_eq!(fs::read(&victim).unwrap(), b"keep me");
    }

    /// A log rotated every ~3 events: 10 events over 4 files.
    fn segmented(n: usize) -> (tempfile::TempDir, AuditLog) {
        let (dir, plain) = setup(0);
        let log = AuditLog::new(plain.path()).with_segment_bytes(1200);
        for i in 0..n {
            log.append(vec![ev(
                EventKind::Released,
                &format!("s{}", i % 3),
                &format!("2026-01-01T00:00:{i:02}Z"),
            )])
            .unwrap();
        }
        (dir, log)
    }

    fn problem_kinds(report: &VerifyReport) -> Vec<ProblemKind> {
        report.problems.iter().map(|p| p.kind).collect()
    }

    #[test]
    fn rotation_carries_the_chain_across_segments_and_queries_span_them_in_order() {
        let (_d, log) = segmented(10);
        assert!(log.segment_path(3).exists() && !log.segment_path(5).exists());
        let report = log.verify().unwrap();
        assert!(report.ok, "{report:#?}");
        assert_eq!((report.lines, report.from_segment), (10, 1));
        let all = log.read_all().unwrap();
        let times: Vec<_> = all.iter().map(|e| e.time[17..19].to_string()).collect();
        assert_eq!(
            times,
            ["00", "01", "02", "03", "04", "05", "06", "07", "08", "09"]
        );
        for pair in all.windows(2) {
            assert_eq!(pair[1].prev, pair[0].hash, "chained across files");
        }
        let s1 = log
            .query(&Filter {
                server: Some("s1".into()),
                ..Filter::default()
            })
            .unwrap();
        assert_eq!(s1.len(), 3);
        assert!(s1.iter().all(|e| e.server.as_deref() == Some("s1")));
        // A kind this version does not name is still a filter.
        let none = log
            .query(&Filter {
                kind: Some(EventKind::from("tool-call")),
                ..Filter::default()
            })
            .unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn a_tampered_line_in_an_old_segment_is_found_and_named() {
        let (_d, log) = segmented(10);
        let seg = log.segment_path(1);
        let text = fs::read_to_string(&seg).unwrap();
        fs::write(
            &seg,
            text.replacen("\"server\":\"s1\"", "\"server\":\"sX\"", 1),
        )
        .unwrap();
        let report = log.verify().unwrap();
        assert_eq!(
            problem_kinds(&report),
            [ProblemKind::HashMismatch],
            "{report:#?}"
        );
        assert!(report.problems[0].message.contains("audit.000001.jsonl"));
    }

    #[test]
    fn a_removed_segment_is_reported_and_archived_oldest_ones_are_a_note() {
        let (d, log) = segmented(10);
        let middle = log.segment_path(2);
        let saved = fs::read(&middle).unwrap();
        fs::remove_file(&middle).unwrap();
        let report = log.verify().unwrap();
        let kinds = problem_kinds(&report);
        assert!(kinds.contains(&ProblemKind::SegmentMissing), "{report:#?}");
        assert!(kinds.contains(&ProblemKind::BrokenChain), "{report:#?}");
        fs::write(&middle, saved).unwrap();

        // The newest rotated segment removed: the active log no longer follows.
        let newest = log.segment_path(3);
        let saved = fs::read(&newest).unwrap();
        fs::remove_file(&newest).unwrap();
        assert!(!log.verify().unwrap().ok);
        fs::write(&newest, saved).unwrap();
        assert!(log.verify().unwrap().ok);

        // The two oldest archived (moved away): verified from segment 3 on.
        let archive = d.path().join("archive");
        fs::create_dir(&archive).unwrap();
        for n in [1, 2] {
            let p = log.segment_path(n);
            fs::rename(&p, archive.join(p.file_name().unwrap())).unwrap();
        }
        let report = log.verify().unwrap();
        assert!(report.ok, "{report:#?}");
        assert_eq!(report.from_segment, 3);
        assert!(
            report.notes.iter().any(|n| n.contains("archived")),
            "{report:#?}"
        );
        assert!(log.read_all().unwrap().len() < 10);
        log.append(vec![ev(EventKind::Denied, "late", "2026-01-02T00:00:00Z")])
            .unwrap();
        assert!(log.verify().unwrap().ok);
    }

    #[test]
    fn a_rotation_interrupted_before_its_head_is_completed_by_the_next_append() {
        let (_d, log) = segmented(3);
        // Undo the head's last step: it names the segment before the rotation.
        let head: Head = serde_json::from_slice(&fs::read(log.head_path()).unwrap()).unwrap();
        assert_eq!((head.segment, head.lines), (1, 0), "{head:?}");
        let lines = fs::read_to_string(log.segment_path(1))
            .unwrap()
            .lines()
            .count();
        fs::write(
            log.head_path(),
            format!("{{\"lines\":{lines},\"hash\":\"{}\"}}\n", head.hash),
        )
        .unwrap();
        let report = log.verify().unwrap();
        assert!(report.ok, "{report:#?}");
        log.append(vec![ev(
            EventKind::Released,
            "next",
            "2026-01-02T00:00:00Z",
        )])
        .unwrap();
        let report = log.verify().unwrap();
        assert!(report.ok && report.notes.is_empty(), "{report:#?}");
        assert_eq!(log.read_all().unwrap().len(), 4);
    }

    #[test]
    fn an_anchor_follows_rotations_and_a_stale_one_in_an_older_segment_is_still_found() {
        let (_d, plain) = setup(0);
        let vault = mock_vault();
        let log = AuditLog::with_vault(plain.path(), vault).with_segment_bytes(1200);
        log.append(vec![ev(EventKind::Released, "a", "2026-01-01T00:00:00Z")])
            .unwrap();
        // Later appends without the keychain rotate past the anchored segment.
        let blind = AuditLog::new(plain.path()).with_segment_bytes(1200);
        for i in 0..6 {
            blind
                .append(vec![ev(
                    EventKind::Released,
                    "b",
                    &format!("2026-01-01T00:01:0{i}Z"),
                )])
                .unwrap();
        }
        let report = log.verify().unwrap();
        assert!(report.ok, "{report:#?}");
        assert!(
            matches!(report.anchor, AnchorStatus::Stale { .. }),
            "{report:#?}"
        );
        log.append(vec![ev(EventKind::Released, "c", "2026-01-02T00:00:00Z")])
            .unwrap();
        let report = log.verify().unwrap();
        assert!(report.ok, "{report:#?}");
        assert_eq!(report.anchor, AnchorStatus::Verified);
    }

    #[test]
    fn a_query_skips_lines_by_substring_and_matches_exactly() {
        let (_d, log) = setup(0);
        log.append(vec![
            ev(
                EventKind::Released,
                "claude-desktop/git",
                "2026-01-01T00:00:00Z",
            ),
            ev(
                EventKind::Released,
                "claude-desktop/github",
                "2026-01-01T00:00:01Z",
            ),
            ev(
                EventKind::Denied,
                "claude-desktop/git",
                "2026-01-01T00:00:02Z",
            )
            .detail("\"server\":\"claude-desktop/github\""),
        ])
        .unwrap();
        let got = log
            .query(&Filter {
                server: Some("claude-desktop/github".into()),
                ..Filter::default()
            })
            .unwrap();
        let times: Vec<_> = got.iter().map(|e| e.time.as_str()).collect();
        assert_eq!(
            times,
            ["2026-01-01T00:00:01Z"],
            "a prefix or a detail is no match"
        );
    }

    #[test]
    fn a_crash_mid_batch_leaves_only_a_torn_tail_problem_and_the_next_append_recovers() {
        let (_d, log) = setup(2);
        let old_head = fs::read(log.head_path()).unwrap();
        log.append(vec![ev(EventKind::Released, "x", "2026-03-01T00:00:00Z")])
            .unwrap();
        fs::write(log.head_path(), &old_head).unwrap();
        tear(&log);
        let report = log.verify().unwrap();
        let kinds: Vec<_> = report.problems.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, [ProblemKind::TornUnacknowledged], "{report:#?}");
        log.append(vec![ev(EventKind::Released, "y", "2026-03-02T00:00:00Z")])
            .unwrap();
        let report = log.verify().unwrap();
        assert!(report.ok && report.notes.is_empty(), "{report:#?}");
        assert_eq!(report.torn, vec![4]);
    }

    fn tear(log: &AuditLog) -> Vec<u8> {
        let mut probe = ev(EventKind::Released, "torn", "2026-02-01T00:00:00Z");
        probe.prev = GENESIS.to_owned();
        let full = serialize_line(&mut probe).unwrap();
        let half = full[..full.len() / 2].to_vec();
        let mut f = OpenOptions::new().append(true).open(log.path()).unwrap();
        f.write_all(&half).unwrap();
        half
    }

    #[test]
    fn a_torn_last_line_then_an_append_verifies_with_the_fragment_acknowledged() {
        let (_d, log) = setup(3);
        let half = tear(&log);
        let before = log.verify().unwrap();
        assert_eq!(kinds_at(&before, 4), vec![ProblemKind::TornUnacknowledged]);

        let out = log
            .append(vec![ev(
                EventKind::Released,
                "after",
                "2026-02-02T00:00:00Z",
            )])
            .unwrap();
        assert_eq!(out[0].torn.as_deref(), Some(sha256_hex(&half).as_str()));
        let report = log.verify().unwrap();
        assert!(report.ok, "{report:#?}");
        assert_eq!(report.torn, vec![4]);
        assert_eq!(report.lines, 5);
        let events = log.read_all().unwrap();
        assert_eq!(events.len(), 4);
        assert_eq!(events[3].prev, events[2].hash, "the chain continues");

        log.append(vec![ev(
            EventKind::Released,
            "more",
            "2026-02-03T00:00:00Z",
        )])
        .unwrap();
        let report = log.verify().unwrap();
        assert!(report.ok, "{report:#?}");
        assert_eq!(report.lines, 6);
    }

    #[test]
    fn editing_a_torn_fragment_afterwards_is_reported() {
        let (_d, log) = setup(3);
        tear(&log);
        log.append(vec![ev(
            EventKind::Released,
            "after",
            "2026-02-02T00:00:00Z",
        )])
        .unwrap();
        let mut l = lines(&log);
        l[3].push_str("tampered");
        write_lines(&log, &l);
        let report = log.verify().unwrap();
        assert!(!report.ok);
        assert_eq!(kinds_at(&report, 4), vec![ProblemKind::Malformed]);
        assert!(report.torn.is_empty());
    }

    #[test]
    fn inserted_garbage_is_malformed() {
        let (_d, log) = setup(2);
        let mut l = lines(&log);
        l.insert(1, "not json".to_owned());
        write_lines(&log, &l);
        let report = log.verify().unwrap();
        assert_eq!(kinds_at(&report, 2), vec![ProblemKind::Malformed]);
        assert_eq!(log.read_all().unwrap().len(), 2);
    }

    #[test]
    fn the_tail_reader_finds_prev_beyond_its_first_chunk() {
        let (_d, log) = setup(1);
        let mut big = ev(EventKind::Released, "big", "2026-02-01T00:00:00Z");
        big.detail = Some("x".repeat(3 * TAIL_CHUNK as usize));
        log.append(vec![big]).unwrap();
        tear(&log);
        let out = log
            .append(vec![ev(
                EventKind::Released,
                "after",
                "2026-02-02T00:00:00Z",
            )])
            .unwrap();
        let events = log.read_all().unwrap();
        assert_eq!(out[0].prev, events[1].hash);
        let report = log.verify().unwrap();
        assert!(report.ok, "{report:#?}");
        assert_eq!(report.torn, vec![3]);
    }

    fn assert_no_interleaving(log: &AuditLog, expected: usize) {
        let raw = fs::read_to_string(log.path()).unwrap();
        assert!(raw.ends_with('\n'));
        let l: Vec<&str> = raw.split_terminator('\n').collect();
        assert_eq!(l.len(), expected);
        for line in &l {
            let (_, ok) = parse_line(line.as_bytes()).expect("well-formed line");
            assert!(ok);
        }
        let report = log.verify().unwrap();
        assert!(report.ok, "{report:#?}");
        assert_eq!(report.lines, expected);
        let servers: HashSet<String> = log
            .read_all()
            .unwrap()
            .into_iter()
            .filter_map(|e| e.server)
            .collect();
        assert_eq!(servers.len(), expected, "every append landed exactly once");
    }

    #[test]
    fn sixteen_threads_appending_ten_times_each_produce_160_well_formed_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        std::thread::scope(|s| {
            for t in 0..16 {
                let path = path.clone();
                s.spawn(move || {
                    let log = AuditLog::new(path);
                    for i in 0..10 {
                        log.append(vec![ev(
                            EventKind::Released,
                            &format!("t{t}-{i}"),
                            &now_rfc3339(),
                        )])
                        .unwrap();
                    }
                });
            }
        });
        assert_no_interleaving(&AuditLog::new(&path), 160);
    }

    /// Does nothing in a normal run; the multi-process test runs this binary with
    /// `CHILD_ENV` set so this test acts as one appending process.
    #[test]
    fn child_process_appends_ten_events_when_asked_by_the_multi_process_test() {
        let Ok(path) = std::env::var(CHILD_ENV) else {
            return;
        };
        let id = std::env::var(CHILD_ID_ENV).unwrap();
        let log = AuditLog::new(path);
        for i in 0..10 {
            log.append(vec![ev(
                EventKind::Released,
                &format!("p{id}-{i}"),
                &now_rfc3339(),
            )])
            .unwrap();
        }
    }

    #[test]
    fn eight_processes_appending_ten_times_each_produce_80_well_formed_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let exe = std::env::current_exe().unwrap();
        // The harness names tests by module path without the crate name.
        let module = module_path!().split_once("::").map_or("", |(_, rest)| rest);
        let name = format!(
            "{module}::child_process_appends_ten_events_when_asked_by_the_multi_process_test"
        );
        let children: Vec<_> = (0..8)
            .map(|p| {
                Command::new(&exe)
                    .args([name.as_str(), "--exact", "--quiet", "--test-threads=1"])
                    .env(CHILD_ENV, &path)
                    .env(CHILD_ID_ENV, p.to_string())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{stdout}");
            assert!(stdout.contains("1 passed"), "child ran the test: {stdout}");
        }
        assert_no_interleaving(&AuditLog::new(&path), 80);
    }

    #[test]
    fn query_filters_by_server_event_and_since() {
        let (_d, log) = setup(3); // s0..s2 on Jan 1..3
        log.append(vec![ev(
            EventKind::Denied,
            "s1",
            "2026-01-04T00:00:00+02:00",
        )])
        .unwrap();
        let by_server = log
            .query(&Filter {
                server: Some("s1".into()),
                ..Filter::default()
            })
            .unwrap();
        assert_eq!(by_server.len(), 2);
        let by_event = log
            .query(&Filter {
                kind: Some(EventKind::Denied),
                ..Filter::default()
            })
            .unwrap();
        assert_eq!(by_event.len(), 1);
        let since = log
            .query(&Filter {
                since: Some("2026-01-02T00:00:00Z".into()),
                ..Filter::default()
            })
            .unwrap();
        let servers: Vec<_> = since.iter().map(|e| e.server.clone().unwrap()).collect();
        assert_eq!(servers, ["s1", "s2", "s1"]);
        // Compared as instants: 2026-01-04T00:00+02:00 is 2026-01-03T22:00Z.
        let until = log
            .query(&Filter {
                since: Some("2026-01-03T00:00:00Z".into()),
                until: Some("2026-01-03T23:00:00Z".into()),
                ..Filter::default()
            })
            .unwrap();
        assert_eq!(until.len(), 2);
        assert!(
            log.query(&Filter {
                since: Some("yesterday".into()),
                ..Filter::default()
            })
            .is_err()
        );
    }

    #[test]
    fn event_serialization_omits_none_fields_and_has_only_known_fields_in_order() {
        let (_d, log) = setup(0);
        let sparse =
            Event::new(EventKind::Denied, Outcome::Denied, "2026-01-01T00:00:00Z").server("s");
        log.append(vec![
            sparse,
            ev(EventKind::Released, "full", "2026-01-01T00:00:01Z"),
        ])
        .unwrap();
        let l = lines(&log);
        let sparse: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&l[0]).unwrap();
        let keys: Vec<&str> = sparse.keys().map(String::as_str).collect();
        assert_eq!(keys, ["time", "event", "server", "outcome", "prev", "hash"]);
        assert!(!l[0].contains("null"));
        let full: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&l[1]).unwrap();
        let keys: Vec<&str> = full.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "time",
                "event",
                "server",
                "host",
                "credential",
                "target",
                "pid",
                "ppid",
                "parent",
                "fingerprint",
                "outcome",
                "detail",
                "prev",
                "hash"
            ]
        );
    }

    #[test]
    fn append_rejects_a_bad_time_or_outcome_and_writes_nothing() {
        let (_d, log) = setup(1);
        let before = fs::read(log.path()).unwrap();
        assert!(
            log.append(vec![ev(EventKind::Released, "s", "now")])
                .is_err()
        );
        let mut bad = ev(EventKind::Released, "s", "2026-01-01T00:00:00Z");
        bad.outcome = Outcome::Other("maybe".into());
        assert!(log.append(vec![bad]).is_err());
        assert_eq!(fs::read(log.path()).unwrap(), before);
    }

    #[cfg(unix)]
    #[test]
    fn the_log_is_created_with_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let (_d, log) = setup(1);
        let mode = fs::metadata(log.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    /// Lines written by the version that stored events as plain strings, before the
    /// kinds, outcomes and targets were typed: a full `released` event, an
    /// `audit-head-mismatch` with `torn`, and events with a kind, an offset time and
    /// targets that version wrote or could have read.
    const EARLIER_LINES: [&str; 6] = [
        r#"{"time":"2026-03-01T10:00:00Z","event":"released","server":"claude-desktop/github","host":"claude-desktop","credential":"github-token","target":"env:GITHUB_TOKEN","pid":4242,"ppid":1,"parent":"claude","fingerprint":"sha256:abcd","outcome":"ok","detail":"released to the server","prev":"0000000000000000000000000000000000000000000000000000000000000000","hash":"d9f0667a0c919f267dcf26bbb19ef331320027e766ffdd85d9bd413709d7e765"}"#,
        r#"{"time":"2026-03-01T10:00:01Z","event":"audit-head-mismatch","outcome":"error","detail":"the head \"file\" disagreed","torn":"abababababababababababababababababababababababababababababababab","prev":"d9f0667a0c919f267dcf26bbb19ef331320027e766ffdd85d9bd413709d7e765","hash":"2683c8004593f730aeaeffe01579b7860b82b4badb4a0e6a320f8a65d8ce423d"}"#,
        r#"{"time":"2026-03-01T10:00:02+02:00","event":"future-kind","server":"remote/x","target":"arg:static-oauth-client-info","outcome":"denied","prev":"2683c8004593f730aeaeffe01579b7860b82b4badb4a0e6a320f8a65d8ce423d","hash":"6eff931a7ee6e1d1cf08e90cc9ee335393b02ad835b758286d28857925e60b70"}"#,
        r#"{"time":"2026-03-01T10:00:03Z","event":"rewritten","target":"header:Authorization","pid":7,"outcome":"ok","prev":"6eff931a7ee6e1d1cf08e90cc9ee335393b02ad835b758286d28857925e60b70","hash":"802367e7625ba27ae6b2c5acbf9b254d87f20eccb5553716b71b50c810bf173c"}"#,
        r#"{"time":"2026-03-01T10:00:04Z","event":"imported","target":"arg:3","outcome":"ok","prev":"802367e7625ba27ae6b2c5acbf9b254d87f20eccb5553716b71b50c810bf173c","hash":"2067aa8dc085853a9e577fa132ad3bfaefc4ef1596bdabe9b50c3a5ae7753e65"}"#,
        r#"{"time":"2026-03-01T10:00:05Z","event":"imported","target":"vault:x","outcome":"ok","prev":"2067aa8dc085853a9e577fa132ad3bfaefc4ef1596bdabe9b50c3a5ae7753e65","hash":"a4bbeac33d348f4734a11c1fb788be56ec47021df23819d060b2e796d62f71b2"}"#,
    ];

    #[test]
    fn typed_events_serialize_to_the_bytes_the_string_events_wrote() {
        let mut full = Event::new(EventKind::Released, Outcome::Ok, "2026-03-01T10:00:00Z")
            .server("claude-desktop/github")
            .host("claude-desktop")
            .credential("github-token")
            .target(Target::Env("GITHUB_TOKEN".into()))
            .process(4242, Some(1), Some("claude".into()))
            .fingerprint("sha256:abcd")
            .detail("released to the server");
        full.prev = GENESIS.to_owned();
        let line = serialize_line(&mut full).unwrap();
        assert_eq!(line, format!("{}\n", EARLIER_LINES[0]).into_bytes());

        let mut mismatch = Event::new(
            EventKind::HeadMismatch,
            Outcome::Error,
            "2026-03-01T10:00:01Z",
        )
        .detail("the head \"file\" disagreed");
        mismatch.torn = Some("ab".repeat(32));
        mismatch.prev = full.hash.clone();
        let line = serialize_line(&mut mismatch).unwrap();
        assert_eq!(line, format!("{}\n", EARLIER_LINES[1]).into_bytes());

        let mut header = Event::new(EventKind::Rewritten, Outcome::Ok, "2026-03-01T10:00:03Z")
            .target(Target::Header("Authorization".into()))
            .process(7, None, None);
        header.prev = "6eff931a7ee6e1d1cf08e90cc9ee335393b02ad835b758286d28857925e60b70".into();
        let line = serialize_line(&mut header).unwrap();
        assert_eq!(line, format!("{}\n", EARLIER_LINES[3]).into_bytes());

        let mut arg = Event::new(EventKind::Imported, Outcome::Ok, "2026-03-01T10:00:04Z")
            .target(Target::Arg(3));
        arg.prev = header.hash.clone();
        let line = serialize_line(&mut arg).unwrap();
        assert_eq!(line, format!("{}\n", EARLIER_LINES[4]).into_bytes());
    }

    #[test]
    fn a_log_in_the_earlier_format_reads_re_serializes_identically_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("audit.jsonl"));
        let mut bytes = EARLIER_LINES.join("\n");
        bytes.push('\n');
        fs::write(log.path(), &bytes).unwrap();
        let last = &EARLIER_LINES[5][EARLIER_LINES[5].len() - 66..EARLIER_LINES[5].len() - 2];
        fs::write(
            log.head_path(),
            format!("{{\"lines\":6,\"hash\":\"{last}\"}}\n"),
        )
        .unwrap();
        // Every hash and link holds; the recorded head mismatch is reported as such.
        let report = log.verify().unwrap();
        assert_eq!(report.lines, 6);
        let problems: Vec<_> = report.problems.iter().map(|p| (p.line, p.kind)).collect();
        assert_eq!(
            problems,
            [(2, ProblemKind::HeadMismatchRecorded)],
            "{report:#?}"
        );

        let events = log.read_all().unwrap();
        assert_eq!(events.len(), 6);
        let kinds: Vec<&EventKind> = events.iter().map(|e| &e.kind).collect();
        assert_eq!(
            kinds,
            [
                &EventKind::Released,
                &EventKind::HeadMismatch,
                &EventKind::Other("future-kind".into()),
                &EventKind::Rewritten,
                &EventKind::Imported,
                &EventKind::Imported,
            ]
        );
        assert_eq!(events[2].outcome, Outcome::Denied);
        let targets: Vec<Option<&Target>> = events.iter().map(|e| e.target.as_ref()).collect();
        assert_eq!(
            targets,
            [
                Some(&Target::Env("GITHUB_TOKEN".into())),
                None,
                Some(&Target::NamedArg("static-oauth-client-info".into())),
                Some(&Target::Header("Authorization".into())),
                Some(&Target::Arg(3)),
                Some(&Target::Other("vault:x".into())),
            ]
        );
        for (e, want) in events.into_iter().zip(EARLIER_LINES) {
            let mut again = e.clone();
            again.hash = String::new();
            let line = serialize_line(&mut again).unwrap();
            assert_eq!(line, format!("{want}\n").into_bytes());
            assert_eq!(again.hash, e.hash);
        }

        log.append(vec![ev(
            EventKind::Released,
            "after",
            "2026-03-02T00:00:00Z",
        )])
        .unwrap();
        let report = log.verify().unwrap();
        assert_eq!(report.lines, 7);
        let problems: Vec<_> = report.problems.iter().map(|p| (p.line, p.kind)).collect();
        assert_eq!(
            problems,
            [(2, ProblemKind::HeadMismatchRecorded)],
            "{report:#?}"
        );
    }

    #[test]
    fn links_read_by_position_are_the_links_the_json_parser_reads() {
        let (_d, log) = setup(2);
        tear(&log);
        log.append(vec![ev(EventKind::Denied, "after", "2026-02-02T00:00:00Z")])
            .unwrap();
        let stored = fs::read_to_string(log.path()).unwrap();
        let lines: Vec<&str> = EARLIER_LINES
            .iter()
            .copied()
            .chain(stored.lines())
            .collect();
        let mut by_position = 0;
        for line in lines {
            let bytes = line.as_bytes();
            let Some((_, cut)) = declared_hash(bytes) else {
                continue; // the torn fragment
            };
            let json: Links<'_> = serde_json::from_slice(bytes).unwrap();
            if let Some(fast) = links_by_position(bytes, cut) {
                by_position += 1;
                assert_eq!(
                    (&fast.time, &fast.event, &fast.torn, &fast.prev, &fast.hash),
                    (&json.time, &json.event, &json.torn, &json.prev, &json.hash),
                    "{line}"
                );
            }
        }
        assert!(by_position >= 9, "the writer's lines are read by position");
    }

    #[test]
    fn append_rejects_a_kind_it_does_not_know_and_writes_nothing() {
        let (_d, log) = setup(1);
        let before = fs::read(log.path()).unwrap();
        let unknown = ev(
            EventKind::Other("future-kind".into()),
            "s",
            "2026-01-01T00:00:00Z",
        );
        assert!(log.append(vec![unknown]).is_err());
        let empty = ev(EventKind::Other(String::new()), "s", "2026-01-01T00:00:00Z");
        assert!(log.append(vec![empty]).is_err());
        assert_eq!(fs::read(log.path()).unwrap(), before);
    }

    #[test]
    fn query_filters_by_kind_including_one_this_version_does_not_know() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("audit.jsonl"));
        let mut bytes = EARLIER_LINES.join("\n");
        bytes.push('\n');
        fs::write(log.path(), &bytes).unwrap();
        let by_kind = |kind: EventKind| {
            log.query(&Filter {
                kind: Some(kind),
                ..Filter::default()
            })
            .unwrap()
            .len()
        };
        assert_eq!(by_kind(EventKind::Imported), 2);
        assert_eq!(by_kind(EventKind::from("future-kind")), 1);
        assert_eq!(by_kind(EventKind::Denied), 0);
    }

    #[test]
    fn a_refusal_is_recorded_and_returned_unchanged() {
        let (_d, log) = setup(0);
        let refusal = Error::Denied {
            message: "no secrets released".into(),
            fix: "approve it".into(),
        };
        let e = Event::new(EventKind::Denied, Outcome::Denied, "2026-01-01T00:00:00Z").server("s");
        let err = log.append_refusal(vec![e], refusal);
        assert!(matches!(&err, Error::Denied { message, .. } if message == "no secrets released"));
        let events = log.read_all().unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, EventKind::Denied);
    }

    #[cfg(unix)]
    #[test]
    fn a_refusal_that_cannot_be_recorded_stays_the_error_and_says_it_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the log's directory should be: every append fails.
        let blocker = dir.path().join("blocked");
        fs::write(&blocker, b"").unwrap();
        let log = AuditLog::new(blocker.join("audit.jsonl"));
        let event = || Event::new(EventKind::Denied, Outcome::Denied, "2026-01-01T00:00:00Z");
        let denied = Error::Denied {
            message: "no secrets released".into(),
            fix: "approve it".into(),
        };
        let err = log.append_refusal(vec![event()], denied);
        let Error::Denied { message, fix } = &err else {
            panic!("still a denial: {err:?}");
        };
        assert!(message.starts_with("no secrets released\n"), "{message}");
        assert!(message.contains("missing from the audit log"), "{message}");
        assert_eq!(fix, "approve it");
        assert_eq!(err.code(), crate::base::error::ErrorCode::Denied);

        let sign_in = Error::NeedsSignIn {
            server: "remote/x".into(),
            reason: "refresh refused".into(),
        };
        let err = log.append_refusal(vec![event()], sign_in);
        assert!(
            matches!(&err, Error::NeedsSignIn { reason, .. }
                if reason.starts_with("refresh refused") && reason.contains("missing from the audit log")),
            "{err:?}"
        );
    }

    #[test]
    fn now_rfc3339_parses_as_rfc3339() {
        assert!(OffsetDateTime::parse(&now_rfc3339(), &Rfc3339).is_ok());
    }
}
