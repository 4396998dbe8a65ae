//! `keybroker audit`: who received what, and `audit verify`: is the log intact.

use keybroker::store::audit::{AnchorStatus, Event, EventKind, Filter, Outcome, Target};
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
    /// Only this event (released, denied, imported, rewritten, approved, rotated, ...).
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
    let events = ctx.audit.query(&filter)?;
    if a.json {
        for e in &events {
            println!(
                "{}",
                serde_json::to_string(e)
                    .map_err(|e| Error::other(e.to_string(), "report this bug"))?
            );
        }
        return Ok(());
    }
    if events.is_empty() {
        println!(
            "No audit events{}.",
            if filter_is_empty(&filter) {
                ""
            } else {
                " match"
            }
        );
        return Ok(());
    }
    println!(
        "{:<24} {:<10} {:<30} {:<28} {:<34} {:<8} {:<8}",
        "TIME", "EVENT", "SERVER", "CREDENTIAL", "TARGET", "PID", "OUTCOME"
    );
    for e in &events {
        print_row(e);
    }
    Ok(())
}

fn filter_is_empty(f: &Filter) -> bool {
    f.server.is_none()
        && f.credential.is_none()
        && f.host.is_none()
        && f.kind.is_none()
        && f.since.is_none()
}

fn print_row(e: &Event) {
    let dash = || "-".to_string();
    let pid = match (e.pid, e.ppid, &e.parent) {
        (Some(p), Some(pp), Some(name)) => format!("{p} (parent {pp} {name})"),
        (Some(p), Some(pp), None) => format!("{p} (parent {pp})"),
        (Some(p), _, _) => p.to_string(),
        _ => dash(),
    };
    println!(
        "{:<24} {:<10} {:<30} {:<28} {:<34} {:<8} {}",
        e.time,
        e.kind.as_str(),
        e.server.clone().unwrap_or_else(dash),
        e.credential.clone().unwrap_or_else(dash),
        e.target.as_ref().map_or_else(dash, Target::to_string),
        e.outcome.as_str(),
        pid
    );
    if e.outcome != Outcome::Ok
        && let Some(d) = &e.detail
    {
        println!("{:<24} {d}", "");
    }
}

fn verify(ctx: &Context, json: bool) -> Result<()> {
    let report = ctx.audit.verify()?;
    if json {
        let problems: Vec<_> = report
            .problems
            .iter()
            .map(|p| serde_json::json!({"line": p.line, "kind": format!("{:?}", p.kind), "message": p.message}))
            .collect();
        println!(
            "{}",
            serde_json::json!({"ok": report.ok, "lines": report.lines, "torn": report.torn, "problems": problems, "notes": report.notes,
                "anchor": {"status": anchor_status(&report.anchor), "message": report.anchor.describe()}})
        );
    } else {
        println!("{}: {} line(s)", ctx.audit.path().display(), report.lines);
        for t in &report.torn {
            println!(
                "  line {t}: torn write (a writer was interrupted); acknowledged by the next event"
            );
        }
        for n in &report.notes {
            println!("  note: {n}");
        }
        for p in &report.problems {
            println!("  line {}: {:?}: {}", p.line, p.kind, p.message);
        }
        println!("  anchor: {}", report.anchor.describe());
        println!(
            "{}",
            if report.ok {
                "Chain intact."
            } else {
                "Chain BROKEN."
            }
        );
    }
    if report.ok {
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
