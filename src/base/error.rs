//! One error type for the core crate, and the stable codes callers branch on.
//!
//! Every variant a person can see says what happened ([`Error`]'s `Display`, the message
//! alone) and what to do next ([`Error::fix`]), kept apart the way rage keeps its
//! `err-*` and `rec-*` texts: the CLI prints the fix as its own line, the app turns the
//! [`ErrorCode`] into a button where one exists and shows the fix text otherwise.
//! Variants exist only where a caller (CLI exit codes, the app's `{code, message, fix}`)
//! branches on them; everything else is `Other` with a remedy. Nothing here prints.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A host config file is not valid JSON/JSONC. The file was not changed.
    #[error("{path}: syntax error at line {line}, column {column}: {message}")]
    ConfigSyntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    /// A host config file parses, but a field has the wrong shape. The file was not changed.
    #[error("{path}: {field}: {message}")]
    ConfigShape {
        path: PathBuf,
        field: String,
        message: String,
        fix: String,
    },

    /// The file changed on disk between our read and our write; nothing was written.
    #[error("{path} changed while Keybroker was editing it (another program saved it)")]
    ConfigChanged { path: PathBuf },

    /// No usable OS keychain (no Secret Service, locked, no answer in time).
    #[error("the OS keychain is not available: {message}")]
    Keychain { message: String, fix: String },

    /// The launcher refused to release secrets (changed command, confused deputy, ...).
    #[error("{message}")]
    Denied { message: String, fix: String },

    /// A server id that Keybroker does not know.
    #[error("unknown server `{id}`")]
    UnknownServer { id: String },

    /// The change asked for needs the user's approval first (a brokered entry whose
    /// command changed and that holds a new plaintext secret): nothing was moved or
    /// approved. The app answers it with the approval view for `server`.
    #[error("{message}")]
    NeedsApproval {
        server: String,
        message: String,
        fix: String,
    },

    /// A file Keybroker could not read or write.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A remote server's sign-in is missing, expired without a refresh token, or was
    /// revoked (`invalid_grant`): the user must run `keybroker connect` again.
    #[error("{server} needs sign-in: {reason}")]
    NeedsSignIn { server: String, reason: String },

    /// A directory (or file) Keybroker keeps its own files in is not safe to use: another
    /// user owns it or can write it, or a symlink sits where its own file belongs. Nothing
    /// was read from or written to it.
    #[error("{path} {problem}")]
    UnsafeDir {
        path: PathBuf,
        problem: String,
        fix: String,
    },

    /// Anything else a person can act on.
    #[error("{message}")]
    Other { message: String, fix: String },
}

/// What kind of error it is, for code that branches on it (the app's buttons).
///
/// The serialized names are stable: the UI's TypeScript union is generated from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    ConfigSyntax,
    ConfigShape,
    ConfigChanged,
    Keychain,
    Denied,
    UnknownServer,
    NeedsApproval,
    Io,
    NeedsSignIn,
    UnsafeDir,
    Other,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ConfigSyntax => "config_syntax",
            ErrorCode::ConfigShape => "config_shape",
            ErrorCode::ConfigChanged => "config_changed",
            ErrorCode::Keychain => "keychain",
            ErrorCode::Denied => "denied",
            ErrorCode::UnknownServer => "unknown_server",
            ErrorCode::NeedsApproval => "needs_approval",
            ErrorCode::Io => "io",
            ErrorCode::NeedsSignIn => "needs_sign_in",
            ErrorCode::UnsafeDir => "unsafe_dir",
            ErrorCode::Other => "other",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn other(message: impl Into<String>, fix: impl Into<String>) -> Self {
        Error::Other {
            message: message.into(),
            fix: fix.into(),
        }
    }

    /// A stable machine-readable code (the app's `{code, message, fix}`).
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::ConfigSyntax { .. } => ErrorCode::ConfigSyntax,
            Error::ConfigShape { .. } => ErrorCode::ConfigShape,
            Error::ConfigChanged { .. } => ErrorCode::ConfigChanged,
            Error::Keychain { .. } => ErrorCode::Keychain,
            Error::Denied { .. } => ErrorCode::Denied,
            Error::UnknownServer { .. } => ErrorCode::UnknownServer,
            Error::NeedsApproval { .. } => ErrorCode::NeedsApproval,
            Error::Io { .. } => ErrorCode::Io,
            Error::NeedsSignIn { .. } => ErrorCode::NeedsSignIn,
            Error::UnsafeDir { .. } => ErrorCode::UnsafeDir,
            Error::Other { .. } => ErrorCode::Other,
        }
    }

    /// What to do about it, for a person; `None` when there is nothing better to say
    /// than the message (an I/O error names the file and the OS's reason).
    pub fn fix(&self) -> Option<String> {
        let fix = match self {
            Error::ConfigSyntax { .. } => {
                "correct the file by hand (Keybroker left it untouched), then run the command again"
                    .to_string()
            }
            Error::ConfigChanged { .. } => {
                "nothing was written; run the command again to re-plan against the new contents"
                    .to_string()
            }
            Error::UnknownServer { .. } => {
                "run `keybroker servers` to list known servers".to_string()
            }
            Error::NeedsSignIn { server, .. } => format!("run `keybroker connect {server}`"),
            Error::ConfigShape { fix, .. }
            | Error::Keychain { fix, .. }
            | Error::Denied { fix, .. }
            | Error::NeedsApproval { fix, .. }
            | Error::UnsafeDir { fix, .. }
            | Error::Other { fix, .. } => fix.clone(),
            Error::Io { .. } => return None,
        };
        Some(fix).filter(|f| !f.is_empty())
    }

    /// The message and, on its own line, the fix: how a terminal or a log file shows the
    /// error to a person (`<message>\n  fix: <fix>`).
    pub fn describe(&self) -> String {
        match self.fix() {
            Some(fix) => format!("{self}\n  fix: {fix}"),
            None => self.to_string(),
        }
    }

    /// Process exit code for the CLI; scripts may rely on these.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::ConfigSyntax { .. } | Error::ConfigShape { .. } => 65, // EX_DATAERR
            Error::ConfigChanged { .. } => 75,                            // EX_TEMPFAIL
            Error::Keychain { .. } => 69,                                 // EX_UNAVAILABLE
            Error::Denied { .. } => 77,                                   // EX_NOPERM
            Error::UnknownServer { .. } => 64,                            // EX_USAGE
            Error::NeedsApproval { .. } => 77,                            // EX_NOPERM
            Error::Io { .. } => 74,                                       // EX_IOERR
            Error::NeedsSignIn { .. } => 77,                              // EX_NOPERM
            Error::UnsafeDir { .. } => 78,                                // EX_CONFIG
            Error::Other { .. } => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_leaves_the_fix_out_and_describe_puts_it_on_its_own_line() {
        let e = Error::UnknownServer { id: "h/x".into() };
        assert_eq!(e.to_string(), "unknown server `h/x`");
        assert_eq!(
            e.fix().as_deref(),
            Some("run `keybroker servers` to list known servers")
        );
        assert_eq!(
            e.describe(),
            "unknown server `h/x`\n  fix: run `keybroker servers` to list known servers"
        );
        let io = Error::io("/f", std::io::Error::other("boom"));
        assert_eq!(io.fix(), None);
        assert_eq!(io.describe(), "/f: boom");
    }

    #[test]
    fn codes_serialize_as_the_stable_snake_case_names() {
        let all = [
            (ErrorCode::ConfigSyntax, "config_syntax"),
            (ErrorCode::ConfigShape, "config_shape"),
            (ErrorCode::ConfigChanged, "config_changed"),
            (ErrorCode::Keychain, "keychain"),
            (ErrorCode::Denied, "denied"),
            (ErrorCode::UnknownServer, "unknown_server"),
            (ErrorCode::NeedsApproval, "needs_approval"),
            (ErrorCode::Io, "io"),
            (ErrorCode::NeedsSignIn, "needs_sign_in"),
            (ErrorCode::UnsafeDir, "unsafe_dir"),
            (ErrorCode::Other, "other"),
        ];
        for (code, want) in all {
            assert_eq!(code.as_str(), want);
            assert_eq!(
                serde_json::to_value(code).ok(),
                Some(serde_json::Value::from(want))
            );
        }
        let e = Error::NeedsSignIn {
            server: "s".into(),
            reason: "r".into(),
        };
        assert_eq!(e.code(), ErrorCode::NeedsSignIn);
        assert_eq!(e.fix().as_deref(), Some("run `keybroker connect s`"));
        assert_eq!(Error::other("m", "f").code(), ErrorCode::Other);
    }
}
