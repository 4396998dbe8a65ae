//! One error type for the core crate.
//!
//! Every variant a person can see says what happened and what to do next. Variants
//! exist only where a caller (CLI exit codes, the app's `{code, message}`) branches on
//! them; everything else is `Other` with a remedy line.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A host config file is not valid JSON/JSONC. The file was not changed.
    #[error(
        "{path}: syntax error at line {line}, column {column}: {message}\n  \
         fix: correct the file by hand (Keybroker left it untouched), then run the command again"
    )]
    ConfigSyntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    /// A host config file parses, but a field has the wrong shape. The file was not changed.
    #[error("{path}: {field}: {message}\n  fix: {fix}")]
    ConfigShape {
        path: PathBuf,
        field: String,
        message: String,
        fix: String,
    },

    /// The file changed on disk between our read and our write; nothing was written.
    #[error(
        "{path} changed while Keybroker was editing it (another program saved it)\n  \
         fix: nothing was written; run the command again to re-plan against the new contents"
    )]
    ConfigChanged { path: PathBuf },

    /// No usable OS keychain (no Secret Service, locked, no answer in time).
    #[error("the OS keychain is not available: {message}\n  fix: {fix}")]
    Keychain { message: String, fix: String },

    /// The launcher refused to release secrets (changed command, confused deputy, ...).
    #[error("{message}\n  fix: {fix}")]
    Denied { message: String, fix: String },

    /// A server id that Keybroker does not know.
    #[error("unknown server `{id}`\n  fix: run `keybroker servers` to list known servers")]
    UnknownServer { id: String },

    /// A file Keybroker could not read or write.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A remote server's sign-in is missing, expired without a refresh token, or was
    /// revoked (`invalid_grant`): the user must run `keybroker connect` again.
    #[error("{server} needs sign-in: {reason}\n  fix: run `keybroker connect {server}`")]
    NeedsSignIn { server: String, reason: String },

    /// Anything else a person can act on.
    #[error("{message}\n  fix: {fix}")]
    Other { message: String, fix: String },
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

    /// A stable machine-readable code (CLI `--json`, the app's `{code, message}`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::ConfigSyntax { .. } => "config_syntax",
            Error::ConfigShape { .. } => "config_shape",
            Error::ConfigChanged { .. } => "config_changed",
            Error::Keychain { .. } => "keychain",
            Error::Denied { .. } => "denied",
            Error::UnknownServer { .. } => "unknown_server",
            Error::Io { .. } => "io",
            Error::NeedsSignIn { .. } => "needs_sign_in",
            Error::Other { .. } => "other",
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
            Error::Io { .. } => 74,                                       // EX_IOERR
            Error::NeedsSignIn { .. } => 77,                              // EX_NOPERM
            Error::Other { .. } => 1,
        }
    }
}
