//! One audit event, typed: what happened ([`EventKind`]), how it ended ([`Outcome`]),
//! where a secret went ([`Target`]), and a builder so that writers name variants instead
//! of spelling event names or target prefixes.
//!
//! Every type here serializes to exactly the strings earlier versions wrote (`released`,
//! `ok`, `env:GITHUB_TOKEN`, ...), so existing logs keep verifying byte for byte. Reading
//! never fails on a name this version does not know: it becomes an `Other` value that
//! writes back the same string. Only [`super::AuditLog::append`] refuses unknown kinds and
//! outcomes, so new lines always use the names below.
//!
//! What this does not do: hashing and chaining (the log's job, in [`super`]), and
//! keeping secrets out of `detail` (the caller's job).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A closed list of names as an enum with an `Other(String)` fallback, written and read
/// as the plain string. One table per type, so a name is spelled in one place.
macro_rules! named {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A name this version does not know, read from a log written by another
            /// version; written back unchanged.
            Other(String),
        }

        impl $name {
            /// Every name this version writes, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),*];

            /// The name as stored in the log.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )*
                    $name::Other(s) => s,
                }
            }

            /// `false` for [`Self::Other`]: only known names may be appended.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $( $text => $name::$variant, )*
                    other => $name::Other(other.to_string()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok($name::from(s.as_str()))
            }
        }
    };
}

named! {
    /// What happened. Stored as the event's `event` key.
    pub enum EventKind {
        /// The launcher or the bridge handed a secret to a server.
        Released = "released",
        /// The launcher refused to hand out secrets.
        Denied = "denied",
        /// A plaintext secret moved from a host config into the keychain.
        Imported = "imported",
        /// A host config entry was rewritten to start through Keybroker.
        Rewritten = "rewritten",
        /// A host config entry was put back as it was before import.
        Restored = "restored",
        /// A person approved a changed command.
        Approved = "approved",
        /// A new secret was stored for a server.
        Stored = "stored",
        /// A stored secret got a new value.
        Rotated = "rotated",
        /// A secret was unbound from a server or deleted from the keychain.
        Deleted = "deleted",
        /// A remote server was signed in to (OAuth).
        Authorized = "authorized",
        /// An OAuth access token was refreshed, or the refresh was refused.
        Refreshed = "refreshed",
        /// A guarded server's tool was called (tool, outcome, duration; never arguments
        /// or results).
        ToolCall = "tool-call",
        /// The tool guard refused a call its policy does not allow.
        ToolDenied = "tool-denied",
        /// The tool guard held a new or changed tool until the user approves it.
        ToolHeld = "tool-held",
        /// A server's tool policy, guard or pins changed (approve, allow, deny, ...).
        PolicyChanged = "policy-changed",
        /// An append found the head file disagreeing with the log (written by the log
        /// itself; see the module docs of [`super`]).
        HeadMismatch = "audit-head-mismatch",
    }
}

named! {
    /// How it ended. Stored as the event's `outcome` key.
    pub enum Outcome {
        Ok = "ok",
        Denied = "denied",
        Error = "error",
    }
}

/// Where a secret went. Stored as the event's `target` key, `<kind>:<name>`, the same
/// strings as a binding's target in the state file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// An environment variable of the server process: `env:NAME`.
    Env(String),
    /// A command-line argument by position (after the program): `arg:N`.
    Arg(usize),
    /// A command-line option's value known by the option's name, such as the client
    /// `mcp-remote` takes: `arg:static-oauth-client-info`.
    NamedArg(String),
    /// An HTTP header of a remote server's requests: `header:NAME`.
    Header(String),
    /// A part of a remote server's URL (a path segment, a query parameter): `url`.
    Url,
    /// A target this version does not know; written back unchanged.
    Other(String),
}

impl Target {
    const ENV: &str = "env:";
    const ARG: &str = "arg:";
    const HEADER: &str = "header:";
    const URL: &str = "url";
}

impl From<&str> for Target {
    fn from(s: &str) -> Self {
        if let Some(name) = s.strip_prefix(Target::ENV) {
            Target::Env(name.to_string())
        } else if let Some(arg) = s.strip_prefix(Target::ARG) {
            // Only the canonical spelling is a position, so `arg:01` writes back as read.
            match arg.parse::<usize>() {
                Ok(n) if n.to_string() == arg => Target::Arg(n),
                _ => Target::NamedArg(arg.to_string()),
            }
        } else if let Some(name) = s.strip_prefix(Target::HEADER) {
            Target::Header(name.to_string())
        } else if s == Target::URL {
            Target::Url
        } else {
            Target::Other(s.to_string())
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Env(name) => write!(f, "{}{name}", Target::ENV),
            Target::Arg(n) => write!(f, "{}{n}", Target::ARG),
            Target::NamedArg(name) => write!(f, "{}{name}", Target::ARG),
            Target::Header(name) => write!(f, "{}{name}", Target::HEADER),
            Target::Url => f.write_str(Target::URL),
            Target::Other(s) => f.write_str(s),
        }
    }
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Target::from(s.as_str()))
    }
}

/// One audit event, one line of the log. Build it with [`Event::new`] and the chainable
/// setters; `torn`, `prev` and `hash` belong to [`super::AuditLog::append`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// RFC 3339 UTC time, set by the caller (see [`crate::base::clock::now_rfc3339`]).
    pub time: String,
    /// What happened.
    #[serde(rename = "event")]
    pub kind: EventKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// Where the secret went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// The MCP tool a tool-guard event is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// How long a tool call took, from the request to its answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ppid: Option<u32>,
    /// Parent process name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    pub outcome: Outcome,
    /// A human sentence. Never a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// SHA-256 hex of the torn fragment this append terminated (set by `append`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torn: Option<String>,
    /// `hash` of the previous event line (set by `append`).
    pub prev: String,
    /// SHA-256 hex of this line without the `hash` key (set by `append`).
    /// Omitted from serialization while empty, which is how the hashed body is produced.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub hash: String,
}

impl Event {
    /// An event with only its kind, outcome and time; add the rest with the setters.
    pub fn new(kind: EventKind, outcome: Outcome, time: impl Into<String>) -> Self {
        Event {
            time: time.into(),
            kind,
            server: None,
            host: None,
            credential: None,
            target: None,
            tool: None,
            duration_ms: None,
            pid: None,
            ppid: None,
            parent: None,
            fingerprint: None,
            outcome,
            detail: None,
            torn: None,
            prev: String::new(),
            hash: String::new(),
        }
    }

    /// The server's id, `<host>/<name>`.
    #[must_use]
    pub fn server(mut self, id: impl Into<String>) -> Self {
        self.server = Some(id.into());
        self
    }

    /// The host id, e.g. `claude-desktop`.
    #[must_use]
    pub fn host(mut self, id: impl Into<String>) -> Self {
        self.host = Some(id.into());
        self
    }

    /// The credential id (never its value).
    #[must_use]
    pub fn credential(mut self, id: impl Into<String>) -> Self {
        self.credential = Some(id.into());
        self
    }

    #[must_use]
    pub fn target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }

    /// The MCP tool (tool-guard events).
    #[must_use]
    pub fn tool(mut self, name: impl Into<String>) -> Self {
        self.tool = Some(name.into());
        self
    }

    /// How long a tool call took.
    #[must_use]
    pub fn duration_ms(mut self, ms: u64) -> Self {
        self.duration_ms = Some(ms);
        self
    }

    /// The process the event is about (usually this one) and, if known, its parent.
    #[must_use]
    pub fn process(mut self, pid: u32, ppid: Option<u32>, parent: Option<String>) -> Self {
        self.pid = Some(pid);
        self.ppid = ppid;
        self.parent = parent;
        self
    }

    /// The approved command's fingerprint.
    #[must_use]
    pub fn fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
        self.fingerprint = Some(fingerprint.into());
        self
    }

    /// A human sentence. Never a secret.
    #[must_use]
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_kind_and_outcome_reads_back_as_itself() {
        let kinds = [
            EventKind::Released,
            EventKind::Denied,
            EventKind::Imported,
            EventKind::Rewritten,
            EventKind::Restored,
            EventKind::Approved,
            EventKind::Stored,
            EventKind::Rotated,
            EventKind::Deleted,
            EventKind::Authorized,
            EventKind::Refreshed,
            EventKind::HeadMismatch,
            EventKind::ToolCall,
            EventKind::ToolDenied,
            EventKind::ToolHeld,
            EventKind::PolicyChanged,
        ];
        for k in kinds.clone() {
            assert!(k.is_known());
            assert_eq!(EventKind::from(k.as_str()), k);
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{k}\""));
            assert_eq!(serde_json::from_str::<EventKind>(&json).unwrap(), k);
        }
        assert_eq!(EventKind::HeadMismatch.as_str(), "audit-head-mismatch");
        // `NAMES` lists every kind once (the app's event filter offers them).
        let mut names: Vec<&str> = kinds.iter().map(EventKind::as_str).collect();
        let mut listed = EventKind::NAMES.to_vec();
        names.sort_unstable();
        listed.sort_unstable();
        assert_eq!(listed, names);
        for o in [Outcome::Ok, Outcome::Denied, Outcome::Error] {
            assert_eq!(Outcome::from(o.as_str()), o);
        }
    }

    #[test]
    fn an_unknown_kind_or_outcome_reads_as_other_and_writes_back_unchanged() {
        let k: EventKind = serde_json::from_str("\"quarantined\"").unwrap();
        assert_eq!(k, EventKind::Other("quarantined".into()));
        assert!(!k.is_known());
        assert_eq!(serde_json::to_string(&k).unwrap(), "\"quarantined\"");
        let o: Outcome = serde_json::from_str("\"partial\"").unwrap();
        assert_eq!(o, Outcome::Other("partial".into()));
        assert_eq!(serde_json::to_string(&o).unwrap(), "\"partial\"");
    }

    #[test]
    fn targets_read_and_write_the_strings_bindings_use() {
        let cases = [
            ("env:GITHUB_TOKEN", Target::Env("GITHUB_TOKEN".into())),
            ("arg:3", Target::Arg(3)),
            (
                "arg:static-oauth-client-info",
                Target::NamedArg("static-oauth-client-info".into()),
            ),
            (
                "header:Authorization",
                Target::Header("Authorization".into()),
            ),
            // Not canonical positions: kept as written.
            ("arg:03", Target::NamedArg("03".into())),
            ("arg:", Target::NamedArg(String::new())),
            ("env:", Target::Env(String::new())),
            ("vault:x", Target::Other("vault:x".into())),
            ("", Target::Other(String::new())),
        ];
        for (text, target) in cases {
            assert_eq!(Target::from(text), target, "{text}");
            assert_eq!(target.to_string(), text);
            let json = serde_json::to_string(&target).unwrap();
            assert_eq!(json, serde_json::to_string(text).unwrap());
            assert_eq!(serde_json::from_str::<Target>(&json).unwrap(), target);
        }
    }

    #[test]
    fn the_builder_sets_only_what_it_is_given() {
        let e = Event::new(EventKind::Deleted, Outcome::Ok, "2026-01-01T00:00:00Z")
            .server("claude-desktop/github")
            .host("claude-desktop")
            .credential("github")
            .target(Target::Env("GITHUB_TOKEN".into()))
            .process(7, Some(1), Some("claude".into()))
            .fingerprint("sha256:ab")
            .detail("keychain item deleted");
        assert_eq!(e.kind, EventKind::Deleted);
        assert_eq!(e.outcome, Outcome::Ok);
        assert_eq!(e.server.as_deref(), Some("claude-desktop/github"));
        assert_eq!(e.host.as_deref(), Some("claude-desktop"));
        assert_eq!(e.credential.as_deref(), Some("github"));
        assert_eq!(e.target, Some(Target::Env("GITHUB_TOKEN".into())));
        assert_eq!(
            (e.pid, e.ppid, e.parent.as_deref()),
            (Some(7), Some(1), Some("claude"))
        );
        assert_eq!(e.fingerprint.as_deref(), Some("sha256:ab"));
        assert_eq!(e.detail.as_deref(), Some("keychain item deleted"));
        assert!(e.torn.is_none() && e.prev.is_empty() && e.hash.is_empty());
        let bare = Event::new(EventKind::Approved, Outcome::Ok, "2026-01-01T00:00:00Z");
        assert_eq!(
            serde_json::to_string(&bare).unwrap(),
            r#"{"time":"2026-01-01T00:00:00Z","event":"approved","outcome":"ok","prev":""}"#
        );
    }
}
