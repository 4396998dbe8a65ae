//! `keybroker tools <server-id>`: what the tool guard has seen of a server's tools, and
//! the changes a person makes to it (policy, holding new tools, guarded or not, approving
//! held tools). The CLI and the app call these.
//!
//! Every change is made under the state lock and audited (`policy-changed`). A running
//! guard picks it up at its next tool message and tells its client to list the tools
//! again. Nothing here reads the keychain or talks to a server.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use serde::Serialize;
use serde_json::Value;

use crate::base::error::{Error, Result};
use crate::mcp::guard::{self, ToolState};
use crate::ops::context::Context;
use crate::store::audit::{Event, EventKind, Filter, Outcome};
use crate::store::state::{State, ToolGuard, ToolPolicy};

/// One tool as the guard knows it.
#[derive(Debug, Clone, Serialize)]
pub struct ToolView {
    pub name: String,
    pub state: ToolState,
    /// The tool's annotations (`readOnlyHint`, `destructiveHint`, ...), from the approved
    /// definition or, for a new tool, the held one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Value>,
    /// Its display name (`title`, else `annotations.title`), when the server gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The pinned definition's hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned: Option<String>,
    /// A held definition: since when, and how it differs from the approved one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<HeldView>,
    /// The time of the last call the audit log records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_call: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HeldView {
    pub hash: String,
    pub since: String,
    /// The approved definition (`None` for a new tool) and the held one.
    pub old: Option<Value>,
    pub new: Value,
    /// Line diff of each changed field (`description`, `inputSchema`, ...).
    pub diff: Vec<FieldDiff>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldDiff {
    pub field: String,
    /// Lines prefixed `- ` (removed), `+ ` (added) or `  ` (kept).
    pub lines: Vec<String>,
}

/// A server's tools as the guard sees them.
#[derive(Debug, Clone, Serialize)]
pub struct ToolsView {
    pub server_id: String,
    pub guarded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<ToolPolicy>,
    pub hold_new: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    pub tools: Vec<ToolView>,
}

impl ToolsView {
    pub fn held(&self) -> usize {
        self.tools.iter().filter(|t| t.state.is_held()).count()
    }
}

/// What `keybroker tools` changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Deny these tools (on an allow list: take them off it).
    Deny(Vec<String>),
    /// Allow these tools (on a deny list: take them off it; otherwise an allow list).
    Allow(Vec<String>),
    ReadOnly,
    AllowAll,
    HoldNew(bool),
    Guarded(bool),
    /// Approve these held tools (all held tools when empty).
    Approve(Vec<String>),
    /// Approve these held tools, each only while its held definition still has the hash
    /// given (the one the person reviewed): a tool that changed again since is refused
    /// and nothing is approved.
    ApproveSeen(Vec<(String, String)>),
}

/// What a change did, for the caller to show.
#[derive(Debug, Clone, Serialize)]
pub struct Changed {
    pub detail: String,
    /// The held tools approved, with the change each approval accepted.
    pub approved: Vec<(String, Vec<FieldDiff>)>,
}

/// The tools view of `server_id`.
pub fn view(ctx: &Context, server_id: &str) -> Result<ToolsView> {
    let state = State::load(&ctx.paths)?;
    let server = state.server(server_id)?;
    let last = last_calls(ctx, server_id);
    Ok(build_view(server_id, server.guard.as_ref(), &last))
}

fn build_view(
    server_id: &str,
    guard: Option<&ToolGuard>,
    last: &BTreeMap<String, String>,
) -> ToolsView {
    let Some(g) = guard else {
        return ToolsView {
            server_id: server_id.into(),
            guarded: false,
            policy: None,
            hold_new: false,
            first_seen: None,
            tools: Vec::new(),
        };
    };
    let tools = g
        .tools
        .iter()
        .map(|(name, rec)| {
            let shown = rec
                .definition
                .as_ref()
                .or(rec.held.as_ref().map(|h| &h.definition));
            ToolView {
                name: name.clone(),
                state: guard::tool_state(g, name),
                annotations: shown.and_then(|d| d.get("annotations")).cloned(),
                title: shown
                    .and_then(|d| d.get("title").or_else(|| d.pointer("/annotations/title")))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                description: shown
                    .and_then(|d| d.get("description"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                pinned: rec.pinned.clone(),
                held: rec.held.as_ref().map(|h| HeldView {
                    hash: h.hash.clone(),
                    since: h.since.clone(),
                    old: rec.definition.clone(),
                    new: h.definition.clone(),
                    diff: diff_definitions(rec.definition.as_ref(), &h.definition),
                }),
                last_call: last.get(name).cloned(),
            }
        })
        .collect();
    ToolsView {
        server_id: server_id.into(),
        guarded: true,
        policy: Some(g.policy.clone()),
        hold_new: g.hold_new,
        first_seen: g.first_seen.clone(),
        tools,
    }
}

/// The last `tool-call` time per tool of `server_id` in the audit log (one streaming
/// pass over that server's `tool-call` lines; an unreadable log shows no last call).
fn last_calls(ctx: &Context, server_id: &str) -> BTreeMap<String, String> {
    let filter = Filter {
        server: Some(server_id.to_string()),
        kind: Some(EventKind::ToolCall),
        ..Filter::default()
    };
    let mut out = BTreeMap::new();
    let read = ctx.audit.for_each_match(&filter, |e, _| {
        if let Some(t) = &e.tool {
            out.insert(t.clone(), e.time.clone());
        }
        ControlFlow::Continue(())
    });
    if read.is_err() {
        out.clear();
    }
    out
}

/// Apply `change` to `server_id`'s guard and audit it.
pub fn change(ctx: &Context, server_id: &str, change: &Change, now: &str) -> Result<Changed> {
    let changed = State::update(&ctx.paths, |st| {
        let server = st
            .servers
            .get_mut(server_id)
            .ok_or_else(|| Error::UnknownServer {
                id: server_id.to_string(),
            })?;
        if let Change::Guarded(on) = change {
            let detail = match (*on, server.guard.is_some()) {
                (true, true) => "already guarded".to_string(),
                (true, false) => {
                    server.guard = Some(ToolGuard::default());
                    "guarded: its next start relays its messages through the tool guard".into()
                }
                (false, false) => "already unguarded".to_string(),
                (false, true) => {
                    server.guard = None;
                    "unguarded: its next start runs it without the tool guard (its pins are dropped)".into()
                }
            };
            return Ok(Changed {
                detail,
                approved: Vec::new(),
            });
        }
        let g = server.guard.as_mut().ok_or_else(|| {
            Error::other(
                format!("`{server_id}` is not guarded, so it has no tool policy"),
                format!("guard it first: `keybroker tools {server_id} --guarded`"),
            )
        })?;
        apply(g, change, server_id)
    })?;
    let mut e = Event::new(EventKind::PolicyChanged, Outcome::Ok, now)
        .server(server_id)
        .process(std::process::id(), None, None)
        .detail(changed.detail.clone());
    if let Some((host, _)) = server_id.split_once('/') {
        e = e.host(host);
    }
    for (tool, _) in &changed.approved {
        e.tool = Some(tool.clone());
    }
    if changed.approved.len() > 1 {
        e.tool = None;
    }
    ctx.audit.append(vec![e])?;
    Ok(changed)
}

fn read_only_known(g: &ToolGuard) -> Vec<String> {
    let ro = ToolGuard {
        policy: ToolPolicy::ReadOnly,
        ..g.clone()
    };
    g.tools
        .keys()
        .filter(|n| guard::tool_state(&ro, n) != ToolState::Denied)
        .cloned()
        .collect()
}

fn apply(g: &mut ToolGuard, change: &Change, server_id: &str) -> Result<Changed> {
    let done = |detail: String| {
        Ok(Changed {
            detail,
            approved: Vec::new(),
        })
    };
    let union = |a: &[String], b: &[String]| {
        let mut v: Vec<String> = a.iter().chain(b).cloned().collect();
        v.sort();
        v.dedup();
        v
    };
    let minus = |a: &[String], b: &[String]| -> Vec<String> {
        a.iter().filter(|n| !b.contains(n)).cloned().collect()
    };
    match change {
        Change::AllowAll => {
            g.policy = ToolPolicy::AllowAll;
            done("policy: allow every tool".into())
        }
        Change::ReadOnly => {
            g.policy = ToolPolicy::ReadOnly;
            done("policy: read-only tools only (readOnlyHint: true)".into())
        }
        Change::HoldNew(hold) => {
            g.hold_new = *hold;
            done(if *hold {
                "new tools are held until approved".into()
            } else {
                "new tools are allowed (and pinned) when they appear".into()
            })
        }
        Change::Deny(names) => {
            g.policy = match &g.policy {
                ToolPolicy::Deny { names: d } => ToolPolicy::Deny {
                    names: union(d, names),
                },
                ToolPolicy::Allow { names: a } => ToolPolicy::Allow {
                    names: minus(a, names),
                },
                ToolPolicy::ReadOnly => ToolPolicy::Allow {
                    names: minus(&read_only_known(g), names),
                },
                ToolPolicy::AllowAll => ToolPolicy::Deny {
                    names: union(&[], names),
                },
            };
            done(format!("denied: {}", names.join(", ")))
        }
        Change::Allow(names) => {
            g.policy = match &g.policy {
                ToolPolicy::Deny { names: d } => {
                    let rest = minus(d, names);
                    if rest.is_empty() {
                        ToolPolicy::AllowAll
                    } else {
                        ToolPolicy::Deny { names: rest }
                    }
                }
                ToolPolicy::Allow { names: a } => ToolPolicy::Allow {
                    names: union(a, names),
                },
                ToolPolicy::ReadOnly => ToolPolicy::Allow {
                    names: union(&read_only_known(g), names),
                },
                ToolPolicy::AllowAll => ToolPolicy::Allow {
                    names: union(&[], names),
                },
            };
            done(format!("allowed: {}", names.join(", ")))
        }
        Change::Approve(names) => approve(g, names, server_id),
        Change::ApproveSeen(seen) => {
            for (n, hash) in seen {
                match g.tools.get(n).and_then(|r| r.held.as_ref()) {
                    Some(h) if h.hash == *hash => {}
                    Some(_) => {
                        return Err(Error::other(
                            format!(
                                "tool `{n}` of `{server_id}` changed again since it was shown; nothing was approved"
                            ),
                            "review its new definition, then approve it",
                        ));
                    }
                    None => return Err(not_held(n, server_id)),
                }
            }
            if seen.is_empty() {
                return done("no held tools to approve".into());
            }
            let names: Vec<String> = seen.iter().map(|(n, _)| n.clone()).collect();
            approve(g, &names, server_id)
        }
        Change::Guarded(_) => done(String::new()),
    }
}

fn not_held(name: &str, server_id: &str) -> Error {
    Error::other(
        format!("tool `{name}` of `{server_id}` is not held"),
        format!("`keybroker tools {server_id}` lists the held tools"),
    )
}

/// Pin the held definitions of `names` (every held tool when empty).
fn approve(g: &mut ToolGuard, names: &[String], server_id: &str) -> Result<Changed> {
    let held: Vec<String> = g
        .tools
        .iter()
        .filter(|(_, r)| r.held.is_some())
        .map(|(n, _)| n.clone())
        .collect();
    let chosen: Vec<String> = if names.is_empty() {
        held.clone()
    } else {
        if let Some(n) = names.iter().find(|n| !held.contains(n)) {
            return Err(not_held(n, server_id));
        }
        names.to_vec()
    };
    let mut approved = Vec::new();
    for n in &chosen {
        if let Some(rec) = g.tools.get_mut(n)
            && let Some(h) = rec.held.take()
        {
            approved.push((
                n.clone(),
                diff_definitions(rec.definition.as_ref(), &h.definition),
            ));
            rec.pinned = Some(h.hash);
            rec.definition = Some(h.definition);
        }
    }
    let detail = if approved.is_empty() {
        "no held tools to approve".to_string()
    } else {
        format!(
            "approved: {}",
            approved
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Ok(Changed { detail, approved })
}

/// How `new` differs from `old`, field by field (a new tool: every field added).
pub fn diff_definitions(old: Option<&Value>, new: &Value) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    for field in guard::PINNED_FIELDS {
        let a = old.and_then(|o| o.get(field));
        let b = new.get(field);
        if a == b {
            continue;
        }
        let lines = line_diff(&text_of(a), &text_of(b));
        out.push(FieldDiff {
            field: field.to_string(),
            lines,
        });
    }
    out
}

fn text_of(v: Option<&Value>) -> Vec<String> {
    match v {
        None => Vec::new(),
        Some(Value::String(s)) => s.lines().map(str::to_string).collect(),
        Some(other) => serde_json::to_string_pretty(other)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect(),
    }
}

/// A line diff by longest common subsequence (definitions are short).
fn line_diff(a: &[String], b: &[String]) -> Vec<String> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push(format!("  {}", a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(format!("- {}", a[i]));
            i += 1;
        } else {
            out.push(format!("+ {}", b[j]));
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::state::{HeldTool, ToolRecord};
    use serde_json::json;

    fn guard_with(tools: &[(&str, bool)]) -> ToolGuard {
        let mut g = ToolGuard::default();
        for (n, ro) in tools {
            let def = json!({"name": n, "annotations": {"readOnlyHint": ro}});
            g.tools.insert(
                n.to_string(),
                ToolRecord {
                    pinned: Some(guard::tool_hash(&def)),
                    definition: Some(def),
                    held: None,
                },
            );
        }
        g
    }

    #[test]
    fn allow_and_deny_edit_the_list_the_policy_has() {
        let mut g = guard_with(&[("read", true), ("rm", false), ("ls", true)]);
        apply(&mut g, &Change::Deny(vec!["rm".into()]), "h/s").unwrap();
        assert_eq!(
            g.policy,
            ToolPolicy::Deny {
                names: vec!["rm".into()]
            }
        );
        apply(&mut g, &Change::Allow(vec!["rm".into()]), "h/s").unwrap();
        assert_eq!(g.policy, ToolPolicy::AllowAll);
        apply(&mut g, &Change::ReadOnly, "h/s").unwrap();
        apply(&mut g, &Change::Deny(vec!["ls".into()]), "h/s").unwrap();
        assert_eq!(
            g.policy,
            ToolPolicy::Allow {
                names: vec!["read".into()]
            }
        );
        apply(&mut g, &Change::Allow(vec!["rm".into()]), "h/s").unwrap();
        assert_eq!(
            g.policy,
            ToolPolicy::Allow {
                names: vec!["read".into(), "rm".into()]
            }
        );
    }

    #[test]
    fn approve_pins_the_held_definition_and_shows_the_description_diff() {
        let mut g = guard_with(&[("a", true)]);
        let new =
            json!({"name": "a", "description": "new text", "annotations": {"readOnlyHint": true}});
        g.tools.get_mut("a").unwrap().held = Some(HeldTool {
            hash: guard::tool_hash(&new),
            definition: new.clone(),
            since: "t".into(),
        });
        assert!(apply(&mut g, &Change::Approve(vec!["zz".into()]), "h/s").is_err());
        let c = apply(&mut g, &Change::Approve(vec![]), "h/s").unwrap();
        assert_eq!(c.approved.len(), 1);
        assert_eq!(c.approved[0].1[0].field, "description");
        assert_eq!(c.approved[0].1[0].lines, vec!["+ new text".to_string()]);
        let rec = &g.tools["a"];
        assert!(rec.held.is_none());
        assert_eq!(rec.pinned.as_deref(), Some(guard::tool_hash(&new).as_str()));
    }

    #[test]
    fn approving_what_was_seen_refuses_a_tool_that_changed_again_and_approves_nothing() {
        let mut g = guard_with(&[("a", true), ("b", true)]);
        let held = |text: &str| {
            let def = json!({"name": "x", "description": text});
            HeldTool {
                hash: guard::tool_hash(&def),
                definition: def,
                since: "t".into(),
            }
        };
        let seen_a = held("seen a");
        let seen_b = held("seen b");
        g.tools.get_mut("a").unwrap().held = Some(seen_a.clone());
        // b changed again after the person looked at it.
        g.tools.get_mut("b").unwrap().held = Some(held("changed again"));
        let both = Change::ApproveSeen(vec![
            ("a".into(), seen_a.hash.clone()),
            ("b".into(), seen_b.hash.clone()),
        ]);
        let err = apply(&mut g, &both, "h/s").unwrap_err();
        assert!(err.to_string().contains("changed again"), "{err}");
        assert!(g.tools["a"].held.is_some() && g.tools["b"].held.is_some());
        assert!(
            apply(
                &mut g,
                &Change::ApproveSeen(vec![("zz".into(), "h".into())]),
                "h/s"
            )
            .is_err()
        );
        let none = apply(&mut g, &Change::ApproveSeen(vec![]), "h/s").unwrap();
        assert!(none.approved.is_empty(), "an empty list approves nothing");
        assert!(g.tools["a"].held.is_some());
        let one = Change::ApproveSeen(vec![("a".into(), seen_a.hash.clone())]);
        let c = apply(&mut g, &one, "h/s").unwrap();
        assert_eq!(c.approved.len(), 1);
        assert_eq!(g.tools["a"].pinned.as_deref(), Some(seen_a.hash.as_str()));
        assert!(g.tools["b"].held.is_some(), "b stays held");
    }

    #[test]
    fn line_diff_marks_kept_removed_and_added_lines() {
        let a: Vec<String> = ["x", "y", "z"].iter().map(|s| s.to_string()).collect();
        let b: Vec<String> = ["x", "q", "z"].iter().map(|s| s.to_string()).collect();
        assert_eq!(line_diff(&a, &b), vec!["  x", "- y", "+ q", "  z"]);
    }
}
