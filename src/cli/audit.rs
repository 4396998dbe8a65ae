//! `keybroker audit`: who received what, and `audit verify`: is the log intact.

use std::io::Write;
use std::ops::ControlFlow;

use keybroker::store::audit::{
    AnchorStatus, Event, EventKind, Filter, Outcome, Target, VerifyReport,
};
use keybroker::{Error, Result};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Context;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(super) struct Args {
    #[command(subcommand)]
    verify: Option<Sub>,
    /// Only this server (`<host>/<name>`).
    #[arg(long)]
    server: Option<String>,
    /// Only this credential id.
    #[arg(long)]
    credential: Option<String>,
    /// Only this host (e.g. `claude-desktop`).
    #[arg(long)]
    host: Option<String>,
    /// Only this event kind, any name the log holds (released, denied, imported,
    /// rewritten, approved, rotated, tool-call, ...).
    #[arg(long)]
    event: Option<String>,
    /// Only events since a time: RFC 3339 (`2026-11-01T00:00:00Z`) or an age (`90m`, `24h`, `7d`).
    #[arg(long)]
    since: Option<String>,
    /// One JSON object per line, exactly as stored.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Check the hash chain: reports any edited, removed, reordered or truncated line.
    Verify {
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn run(a: Args) -> Result<()> {
    let ctx = super::context()?;
    if let Some(Sub::Verify { json }) = a.verify {
        return verify(&ctx, json);
    }
    let since = a.since.as_deref().map(parse_since).transpose()?;
    let filter = Filter {
        server: a.server,
        credential: a.credential,
        host: a.host,
        kind: a.event.as_deref().map(EventKind::from),
        since,
        until: None,
    };
    let json = a.json;
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let mut shown = 0usize;
    let mut failed: Option<std::io::Error> = None;
    ctx.audit.for_each_match(&filter, |e, line| {
        if shown == 0
            && !json
            && let Err(err) = writeln!(out, "{HEADER}")
        {
            failed = Some(err);
            return ControlFlow::Break(());
        }
        shown += 1;
        let written = if json {
            // Exactly as stored.
            out.write_all(line).and_then(|()| out.write_all(b"\n"))
        } else {
            write_row(&mut out, e)
        };
        match written {
            Ok(()) => ControlFlow::Continue(()),
            Err(err) => {
                failed = Some(err);
                ControlFlow::Break(())
            }
        }
    })?;
    if failed.is_none() && shown == 0 && !json {
        let what = if filter_is_empty(&filter) {
            ""
        } else {
            " match"
        };
        failed = writeln!(out, "No audit events{what}.").err();
    }
    if failed.is_none() {
        failed = out.flush().err();
    }
    finish_output(failed)
}

/// The table's column names, aligned with [`write_row`]'s columns.
const HEADER: &str = "TIME                     EVENT      SERVER                         CREDENTIAL                   TARGET                             OUTCOME  PID";

/// A reader that went away (`keybroker audit | head`) ends the listing quietly with exit
/// 0; any other write error is reported.
fn finish_output(failed: Option<std::io::Error>) -> Result<()> {
    match failed {
        None => Ok(()),
        Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Some(e) => Err(Error::io("stdout", e)),
    }
}

fn filter_is_empty(f: &Filter) -> bool {
    f.server.is_none()
        && f.credential.is_none()
        && f.host.is_none()
        && f.kind.is_none()
        && f.since.is_none()
}

fn write_row(out: &mut impl Write, e: &Event) -> std::io::Result<()> {
    let dash = || "-".to_string();
    let pid = match (e.pid, e.ppid, &e.parent) {
        (Some(p), Some(pp), Some(name)) => format!("{p} (parent {pp} {name})"),
        (Some(p), Some(pp), None) => format!("{p} (parent {pp})"),
        (Some(p), _, _) => p.to_string(),
        _ => dash(),
    };
    writeln!(
        out,
        "{:<24} {:<10} {:<30} {:<28} {:<34} {:<8} {}",
        e.time,
        e.kind.as_str(),
        e.server.clone().unwrap_or_else(dash),
        e.credential.clone().unwrap_or_else(dash),
        e.target.as_ref().map_or_else(dash, Target::to_string),
        e.outcome.as_str(),
        pid
    )?;
    if e.outcome != Outcome::Ok
        && let Some(d) = &e.detail
    {
        writeln!(out, "{:<24} {d}", "")?;
    }
    Ok(())
}

fn verify(ctx: &Context, json: bool) -> Result<()> {
    let report = ctx.audit.verify()?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = write_verify(&mut out, ctx, &report, json).and_then(|()| out.flush());
    finish_output(written.err())?;
    if report.ok {
        // The launcher never moves the keychain anchor; a verified chain does, when the
        // head's MAC verifies (a locked keychain leaves it where it is).
        let _ = ctx.audit.anchor_head();
        Ok(())
    } else {
        Err(Error::other(
            format!(
                "the audit log failed verification ({} problem(s))",
                report.problems.len()
            ),
            "keep a copy of the log for investigation; the lines named above were edited, removed or reordered",
        ))
    }
}

fn write_verify(
    out: &mut impl Write,
    ctx: &Context,
    report: &VerifyReport,
    json: bool,
) -> std::io::Result<()> {
    if json {
        let problems: Vec<_> = report
            .problems
            .iter()
            .map(|p| serde_json::json!({"line": p.line, "kind": format!("{:?}", p.kind), "message": p.message}))
            .collect();
        return writeln!(
            out,
            "{}",
            serde_json::json!({"ok": report.ok, "lines": report.lines, "from_segment": report.from_segment,
                "torn": report.torn, "problems": problems, "notes": report.notes,
                "anchor": {"status": anchor_status(&report.anchor), "message": report.anchor.describe()}})
        );
    }
    writeln!(
        out,
        "{}: {} line(s)",
        ctx.audit.path().display(),
        report.lines
    )?;
    for t in &report.torn {
        writeln!(
            out,
            "  line {t}: torn write (a writer was interrupted); acknowledged by the next event"
        )?;
    }
    for n in &report.notes {
        writeln!(out, "  note: {n}")?;
    }
    for p in &report.problems {
        writeln!(out, "  line {}: {:?}: {}", p.line, p.kind, p.message)?;
    }
    writeln!(out, "  anchor: {}", report.anchor.describe())?;
    writeln!(
        out,
        "{}",
        if report.ok {
            "Chain intact."
        } else {
            "Chain BROKEN."
        }
    )
}

/// The anchor's verdict as one stable word for `--json`.
fn anchor_status(a: &AnchorStatus) -> &'static str {
    match a {
        AnchorStatus::NotConfigured => "not-configured",
        AnchorStatus::Verified => "verified",
        AnchorStatus::Empty => "empty",
        AnchorStatus::NotAnchoredYet => "not-anchored-yet",
        AnchorStatus::Stale { .. } => "stale",
        AnchorStatus::Unavailable(_) => "unavailable",
        AnchorStatus::Mismatch => "mismatch",
    }
}

/// RFC 3339, or an age like `90m`, `24h`, `7d` before now.
fn parse_since(s: &str) -> Result<String> {
    if OffsetDateTime::parse(s, &Rfc3339).is_ok() {
        return Ok(s.to_string());
    }
    let bad = || {
        Error::other(
            format!("--since `{s}` is neither a time nor an age"),
            "use RFC 3339 (2026-11-01T00:00:00Z) or an age like 90m, 24h, 7d",
        )
    };
    let (num, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => return Err(bad()),
    };
    let t = OffsetDateTime::now_utc() - time::Duration::seconds(secs);
    t.format(&Rfc3339).map_err(|_| bad())
}
