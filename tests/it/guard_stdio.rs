//! The tool guard in `keybroker run`, end to end: a real SDK server (TypeScript
//! `@modelcontextprotocol/sdk`, tests/peers/tool-guard-server.mjs) started from the
//! rewritten host file by a real SDK client (tests/peers/guard-client.mjs), the real
//! keychain, the real state and audit files.

use keybroker_test_support::world::{self, CANARY_MARKER, World};

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

const TOKEN: &str = "ghp_KBCANARYguard000000000000000000000001";
const ID: &str = "claude-desktop/notes";

fn guard_server() -> PathBuf {
    world::peers().join("tool-guard-server.mjs")
}

/// The Python SDK (`mcp` on PyPI) build of the same server: (program, args).
fn python_server() -> (String, Vec<String>) {
    let peers = world::peers();
    let python = peers.join(".venv/bin/python");
    assert!(
        python.exists(),
        "the Python MCP SDK is not installed: run scripts/install-deps.sh --peers"
    );
    (
        python.to_string_lossy().into_owned(),
        vec![
            peers
                .join("tool_guard_server.py")
                .to_string_lossy()
                .into_owned(),
        ],
    )
}

/// A world whose config starts the guard test server with a secret and the given extra
/// env, imported (so guarded, the default).
fn world_with(extra: &[(&str, &str)], import_args: &[&str]) -> World {
    let node = (
        "node".to_string(),
        vec![guard_server().to_string_lossy().into_owned()],
    );
    world_running(node, extra, import_args)
}

fn world_running(
    (command, args): (String, Vec<String>),
    extra: &[(&str, &str)],
    import_args: &[&str],
) -> World {
    let w = World::new();
    let mut env = json!({
        "GITHUB_TOKEN": TOKEN,
        "GUARD_COUNTER_FILE": w.dir.path().join("calls.json"),
        "GUARD_STARTS_FILE": w.dir.path().join("starts"),
    });
    for (k, v) in extra {
        env[*k] = json!(v);
    }
    let cfg = json!({"mcpServers": {"notes": {
        "command": command, "args": args, "env": env}}});
    w.write_config(serde_json::to_string_pretty(&cfg).expect("json").as_bytes());
    w.kb()
        .args(["import", "claude-desktop", "--yes", "--config"])
        .arg(&w.config)
        .args(import_args)
        .assert()
        .success();
    w
}

/// Start the server as a host does, list its tools, make `calls`.
fn session(w: &World, calls: Value) -> Value {
    let out = Command::new("node")
        .current_dir(world::peers())
        .arg("guard-client.mjs")
        .arg(&w.config)
        .arg("notes")
        .arg(calls.to_string())
        .env("KEYBROKER_HOME", &w.home)
        .env("SPAWN_PASS_ENV", "DBUS_SESSION_BUS_ADDRESS KEYBROKER_HOME")
        .output()
        .expect("node");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("client report")
}

fn tools_of(report: &Value) -> Vec<String> {
    let mut v: Vec<String> = report["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| t.as_str().unwrap_or_default().to_string())
        .collect();
    v.sort();
    v
}

/// Calls per tool that reached the server (its own counter file).
fn server_calls(w: &World, tool: &str) -> u64 {
    let raw = std::fs::read(w.dir.path().join("calls.json")).unwrap_or_else(|_| b"{}".to_vec());
    let v: Value = serde_json::from_slice(&raw).expect("counter");
    v[tool].as_u64().unwrap_or(0)
}

fn events(w: &World, kind: &str) -> Vec<Value> {
    w.audit_lines()
        .into_iter()
        .filter(|e| e["event"] == kind)
        .collect()
}

fn tools_json(w: &World) -> Value {
    let out = w.kb().args(["tools", ID, "--json"]).assert().success();
    serde_json::from_slice(&out.get_output().stdout).expect("tools --json")
}

fn state_of(view: &Value, tool: &str) -> String {
    view["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .find(|t| t["name"] == tool)
        .map(|t| t["state"].as_str().unwrap_or_default().to_string())
        .unwrap_or_else(|| panic!("no {tool} in {view}"))
}

const ALL: [&str; 5] = [
    "calls",
    "delete_note",
    "env_sha256",
    "list_notes",
    "read_note",
];

#[test]
fn a_denied_tool_is_not_listed_and_its_call_is_answered_by_the_guard_never_reaching_the_server() {
    let w = world_with(&[], &[]);
    // The first session pins every tool and allows them all.
    let first = session(&w, json!([{"tool": "read_note"}]));
    assert_eq!(tools_of(&first), ALL);
    assert_eq!(first["results"][0]["text"], "note");

    w.kb()
        .args(["tools", ID, "--deny", "delete_note"])
        .assert()
        .success();
    let r = session(
        &w,
        json!([
            {"tool": "delete_note", "args": {"name": "a"}},
            {"tool": "env_sha256", "args": {"name": "GITHUB_TOKEN"}},
        ]),
    );
    assert_eq!(
        tools_of(&r),
        ["calls", "env_sha256", "list_notes", "read_note"]
    );
    let refused = &r["results"][0];
    assert_eq!(refused["ok"], false, "{r}");
    assert_eq!(refused["code"], -32602, "{r}");
    let msg = refused["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("not allowed by its tool policy")
            && msg.contains("keybroker tools claude-desktop/notes --allow delete_note"),
        "{msg}"
    );
    // The secret still arrives, and the server never saw the refused call.
    assert_eq!(r["results"][1]["text"], world::sha256_hex(TOKEN));
    assert_eq!(server_calls(&w, "delete_note"), 0);
    assert_eq!(server_calls(&w, "read_note"), 1);

    let denied = events(&w, "tool-denied");
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(denied[0]["tool"], "delete_note");
    assert_eq!(denied[0]["server"], ID);
    let calls = events(&w, "tool-call");
    assert!(
        calls
            .iter()
            .any(|e| e["tool"] == "read_note" && e["outcome"] == "ok" && e["duration_ms"].is_u64()),
        "{calls:?}"
    );
    assert!(calls.iter().all(|e| e.get("arguments").is_none()));
    assert!(events(&w, "policy-changed").iter().any(|e| {
        e["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("denied: delete_note")
    }));
    let view = tools_json(&w);
    assert_eq!(state_of(&view, "delete_note"), "denied");
    assert_eq!(state_of(&view, "read_note"), "allowed");
    let read = view["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .find(|t| t["name"] == "read_note")
        .expect("read_note");
    assert!(read["last_call"].is_string(), "{read}");
    assert_eq!(read["annotations"]["readOnlyHint"], true, "{read}");
    // The secret is in no file Keybroker or the test wrote.
    assert!(w.files_containing(CANARY_MARKER.as_bytes()).is_empty());

    // Allowed again, it reaches the server.
    w.kb()
        .args(["tools", ID, "--allow", "delete_note"])
        .assert()
        .success();
    let r = session(&w, json!([{"tool": "delete_note", "args": {"name": "b"}}]));
    assert_eq!(r["results"][0]["text"], "deleted b", "{r}");
    assert_eq!(server_calls(&w, "delete_note"), 1);
}

#[test]
fn a_tool_whose_description_changes_on_the_second_start_is_held_until_approved() {
    let w = world_with(&[("GUARD_CHANGE_ON_SECOND_START", "1")], &[]);
    let first = session(&w, json!([]));
    assert_eq!(tools_of(&first), ALL);

    // The second start offers a changed description: held, not listed, refused.
    let r = session(&w, json!([{"tool": "delete_note", "args": {"name": "x"}}]));
    assert_eq!(
        tools_of(&r),
        ["calls", "env_sha256", "list_notes", "read_note"]
    );
    let msg = r["results"][0]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("changed since you approved it")
            && msg.contains("keybroker tools claude-desktop/notes --approve delete_note"),
        "{msg}"
    );
    assert_eq!(server_calls(&w, "delete_note"), 0);
    let held = events(&w, "tool-held");
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["tool"], "delete_note");
    assert_eq!(w.server_status("notes")["status"], "tools-held");

    // `tools` shows the change; `--approve` prints the diff it approves.
    let view = tools_json(&w);
    assert_eq!(state_of(&view, "delete_note"), "held-changed");
    let shown = w.kb().args(["tools", ID]).assert().success();
    let text = String::from_utf8_lossy(&shown.get_output().stdout).into_owned();
    assert!(
        text.contains("held-changed") && text.contains("+ Delete a note. Before deleting"),
        "{text}"
    );
    let approve = w.kb().args(["tools", ID, "--approve"]).assert().success();
    let text = String::from_utf8_lossy(&approve.get_output().stdout).into_owned();
    assert!(
        text.contains("approved delete_note")
            && text.contains("- Delete a note")
            && text.contains("~/.ssh/id_rsa"),
        "{text}"
    );
    assert_eq!(w.server_status("notes")["status"], "brokered");

    let r = session(&w, json!([{"tool": "delete_note", "args": {"name": "x"}}]));
    assert_eq!(tools_of(&r), ALL);
    assert_eq!(r["results"][0]["text"], "deleted x", "{r}");
    assert_eq!(server_calls(&w, "delete_note"), 1);
}

#[test]
fn a_new_tool_is_held_by_default_and_allowed_with_allow_new() {
    let w = world_with(&[("GUARD_EXTRA_TOOL", "second")], &[]);
    assert_eq!(tools_of(&session(&w, json!([]))), ALL);
    let r = session(&w, json!([{"tool": "new_tool"}]));
    assert!(!tools_of(&r).contains(&"new_tool".to_string()));
    assert!(
        r["results"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("is new and held"),
        "{r}"
    );
    assert_eq!(server_calls(&w, "new_tool"), 0);
    assert_eq!(state_of(&tools_json(&w), "new_tool"), "held-new");
    w.kb()
        .args(["tools", ID, "--approve", "new_tool"])
        .assert()
        .success();
    let r = session(&w, json!([{"tool": "new_tool"}]));
    assert_eq!(r["results"][0]["text"], "new", "{r}");
    assert_eq!(server_calls(&w, "new_tool"), 1);
}

#[test]
fn read_only_shows_only_tools_annotated_read_only() {
    let w = world_with(&[], &[]);
    session(&w, json!([]));
    w.kb().args(["tools", ID, "--read-only"]).assert().success();
    let r = session(&w, json!([{"tool": "delete_note", "args": {"name": "a"}}]));
    assert_eq!(
        tools_of(&r),
        ["calls", "env_sha256", "list_notes", "read_note"]
    );
    assert_eq!(r["results"][0]["ok"], false);
    assert_eq!(server_calls(&w, "delete_note"), 0);
}

#[test]
fn an_unguarded_server_is_execd_without_the_guard_and_can_be_guarded_again() {
    let w = world_with(&[], &["--no-guard"]);
    let state: Value =
        serde_json::from_slice(&std::fs::read(w.home.join("config/state.json")).expect("state"))
            .expect("json");
    assert!(state["servers"][ID].get("guard").is_none(), "{state}");
    let view = tools_json(&w);
    assert_eq!(view["guarded"], false);
    // A policy needs the guard.
    let refused = w
        .kb()
        .args(["tools", ID, "--deny", "delete_note"])
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(err.contains("--guarded"), "{err}");
    let r = session(&w, json!([{"tool": "delete_note", "args": {"name": "a"}}]));
    assert_eq!(r["results"][0]["text"], "deleted a");
    assert!(
        events(&w, "tool-call").is_empty(),
        "no guard, no tool events"
    );

    w.kb().args(["tools", ID, "--guarded"]).assert().success();
    w.kb()
        .args(["tools", ID, "--deny", "delete_note"])
        .assert()
        .success();
    let r = session(&w, json!([{"tool": "delete_note", "args": {"name": "a"}}]));
    assert_eq!(r["results"][0]["ok"], false);
    assert_eq!(server_calls(&w, "delete_note"), 1);
}

#[test]
fn the_python_sdk_server_gets_the_same_guard_denied_held_and_approved() {
    let w = world_running(
        python_server(),
        &[("GUARD_CHANGE_ON_SECOND_START", "1")],
        &[],
    );
    let first = session(
        &w,
        json!([{"tool": "env_sha256", "args": {"name": "GITHUB_TOKEN"}}]),
    );
    assert_eq!(tools_of(&first), ALL);
    assert_eq!(first["results"][0]["text"], world::sha256_hex(TOKEN));

    w.kb()
        .args(["tools", ID, "--deny", "list_notes"])
        .assert()
        .success();
    let r = session(
        &w,
        json!([
            {"tool": "list_notes"},
            {"tool": "delete_note", "args": {"name": "x"}},
            {"tool": "read_note"},
        ]),
    );
    // Second start: delete_note's description changed, so it is held too.
    assert_eq!(tools_of(&r), ["calls", "env_sha256", "read_note"]);
    assert_eq!(r["results"][0]["ok"], false, "{r}");
    assert!(
        r["results"][1]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("--approve delete_note"),
        "{r}"
    );
    assert_eq!(r["results"][2]["text"], "note");
    assert_eq!(server_calls(&w, "list_notes"), 0);
    assert_eq!(server_calls(&w, "delete_note"), 0);
    assert_eq!(events(&w, "tool-held").len(), 1);
    assert_eq!(events(&w, "tool-denied").len(), 2);

    w.kb()
        .args(["tools", ID, "--approve", "delete_note"])
        .assert()
        .success();
    let r = session(&w, json!([{"tool": "delete_note", "args": {"name": "y"}}]));
    assert_eq!(r["results"][0]["text"], "deleted y", "{r}");
    assert_eq!(server_calls(&w, "delete_note"), 1);
    assert!(w.files_containing(CANARY_MARKER.as_bytes()).is_empty());
}
