//! Diagnostic logs: daily-rolling files in Keybroker's log dir (`directories`, or
//! `KEYBROKER_HOME/logs`), via tracing-appender. This is not the audit log: it says what
//! the app did and what failed, never a secret value, and may be deleted at any time.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Start logging; keep the guard alive for the life of the app (it flushes on drop).
/// `KEYBROKER_LOG` sets the filter (default `info`).
pub(crate) fn init(dir: &Path) -> Option<WorkerGuard> {
    std::fs::create_dir_all(dir).ok()?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("keybroker-app")
        .filename_suffix("log")
        .max_log_files(7)
        .build(dir)
        .ok()?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter =
        EnvFilter::try_from_env("KEYBROKER_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}
