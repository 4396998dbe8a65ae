//! `keybroker tools <server-id>`: the tools the guard has seen, and the server's tool
//! policy.

use keybroker::Result;
use keybroker::ops::tools::{self, Change, FieldDiff, ToolsView};
use keybroker::store::state::ToolPolicy;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("change").args(
    ["deny", "allow", "read_only", "allow_all", "approve", "hold_new", "allow_new", "guarded", "unguarded"]
)))]
pub(super) struct Args {
    /// The server, e.g. `claude-desktop/github`.
    server_id: String,
    /// Print the tools as JSON.
    #[arg(long)]
    json: bool,
    /// Deny these tools: not listed, calls answered by the guard.
    #[arg(long, value_name = "NAME", num_args = 1..)]
    deny: Vec<String>,
    /// Allow these tools (off a deny list; otherwise only the allowed tools are usable).
    #[arg(long, value_name = "NAME", num_args = 1..)]
    allow: Vec<String>,
    /// Only tools annotated `readOnlyHint: true`.
    #[arg(long)]
    read_only: bool,
    /// Every tool (still pinned: changed tools are held).
    #[arg(long)]
    allow_all: bool,
    /// Approve held tools (all of them without a name), printing what changed.
    #[arg(long, value_name = "NAME", num_args = 0..)]
    approve: Option<Vec<String>>,
    /// Hold tools that appear after the first listing until approved (the default).
    #[arg(long)]
    hold_new: bool,
    /// Allow (and pin) tools that appear after the first listing.
    #[arg(long)]
    allow_new: bool,
    /// Relay the server's messages through the tool guard from its next start.
    #[arg(long)]
    guarded: bool,
    /// Run the server without the tool guard from its next start (its pins are dropped).
    #[arg(long)]
    unguarded: bool,
}

pub(super) fn run(a: Args) -> Result<()> {
    let ctx = super::context()?;
    let change = if !a.deny.is_empty() {
        Some(Change::Deny(a.deny.clone()))
    } else if !a.allow.is_empty() {
        Some(Change::Allow(a.allow.clone()))
    } else if a.read_only {
        Some(Change::ReadOnly)
    } else if a.allow_all {
        Some(Change::AllowAll)
    } else if let Some(names) = &a.approve {
        Some(Change::Approve(names.clone()))
    } else if a.hold_new || a.allow_new {
        Some(Change::HoldNew(a.hold_new))
    } else if a.guarded || a.unguarded {
        Some(Change::Guarded(a.guarded))
    } else {
        None
    };
    if let Some(change) = change {
        let done = tools::change(&ctx, &a.server_id, &change, &super::now())?;
        for (name, diff) in &done.approved {
            println!("approved {name}:");
            print_diff(diff);
        }
        println!("{}: {}", a.server_id, done.detail);
        return Ok(());
    }
    let view = tools::view(&ctx, &a.server_id)?;
    if a.json {
        let text = serde_json::to_string_pretty(&view).map_err(|e| {
            keybroker::Error::other(format!("cannot encode: {e}"), "report this bug")
        })?;
        println!("{text}");
        return Ok(());
    }
    print_view(&view);
    Ok(())
}

fn policy_text(p: &ToolPolicy) -> String {
    match p {
        ToolPolicy::AllowAll => "allow all".into(),
        ToolPolicy::Allow { names } => format!("allow only: {}", names.join(", ")),
        ToolPolicy::Deny { names } => format!("deny: {}", names.join(", ")),
        ToolPolicy::ReadOnly => "read-only tools only".into(),
    }
}

fn print_view(v: &ToolsView) {
    if !v.guarded {
        println!(
            "{} is not guarded: its tools are not checked. `keybroker tools {} --guarded` guards it from its next start.",
            v.server_id, v.server_id
        );
        return;
    }
    let policy = v.policy.as_ref().map(policy_text).unwrap_or_default();
    println!(
        "{}: policy {policy}; new tools {}",
        v.server_id,
        if v.hold_new { "held" } else { "allowed" }
    );
    if v.tools.is_empty() {
        println!("No tools seen yet: they are pinned the first time the server lists them.");
        return;
    }
    for t in &v.tools {
        let notes = t
            .annotations
            .as_ref()
            .and_then(|a| a.as_object())
            .map(|a| {
                a.iter()
                    .filter(|(_, v)| v.as_bool() == Some(true))
                    .map(|(k, _)| k.trim_end_matches("Hint").to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        println!(
            "  {:<28} {:<13} {:<20} last call: {}",
            t.name,
            t.state.text(),
            notes,
            t.last_call.as_deref().unwrap_or("-")
        );
        if let Some(h) = &t.held {
            println!("    held since {}:", h.since);
            print_diff(&h.diff);
        }
    }
    if v.held() > 0 {
        println!(
            "{} held: review the changes above, then `keybroker tools {} --approve [NAME...]`",
            v.held(),
            v.server_id
        );
    }
}

fn print_diff(diff: &[FieldDiff]) {
    for d in diff {
        println!("    {}:", d.field);
        for l in &d.lines {
            println!("      {l}");
        }
    }
}
