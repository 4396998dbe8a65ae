//! The tool guard in `keybroker bridge`: the TypeScript SDK's Streamable HTTP example
//! server (with its OAuth demo authorization server) behind the bridge, a real SDK client
//! (tests/peers/guard-client.mjs) spawning the bridge from the host config.

use keybroker_test_support::remote::{self, connect};
use keybroker_test_support::world::{self, World};

use std::process::Command;

use serde_json::{Value, json};

const ID: &str = "claude-desktop/demo";

fn session(w: &World, calls: Value) -> Value {
    let out = Command::new("node")
        .current_dir(world::peers())
        .arg("guard-client.mjs")
        .arg(&w.config)
        .arg("demo")
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

fn names(report: &Value) -> Vec<String> {
    report["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| t.as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn the_bridge_lists_only_allowed_tools_and_answers_a_denied_call_itself() {
    let w = World::new();
    let (_server, url) = remote::ts_oauth_server();
    w.kb()
        .args(["add", "claude-desktop", "demo", "--url", &url, "--config"])
        .arg(&w.config)
        .assert()
        .success();
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("keybroker"));
    c.env("KEYBROKER_HOME", &w.home)
        .args(["connect", ID, "--no-browser", "--timeout", "30"]);
    let (status, stderr) = connect(c);
    assert!(status.success(), "connect failed: {stderr}");

    // The first session pins the server's tools; all of them are listed.
    let first = session(&w, json!([{"tool": "greet", "args": {"name": "A"}}]));
    let all = names(&first);
    assert!(
        all.contains(&"greet".to_string()) && all.contains(&"multi-greet".to_string()),
        "{first}"
    );
    assert!(
        first["results"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Hello, A")
    );

    w.kb()
        .args(["tools", ID, "--deny", "multi-greet"])
        .assert()
        .success();
    let r = session(
        &w,
        json!([
            {"tool": "multi-greet", "args": {"name": "B"}},
            {"tool": "greet", "args": {"name": "C"}},
        ]),
    );
    let listed = names(&r);
    assert!(!listed.contains(&"multi-greet".to_string()), "{r}");
    assert_eq!(listed.len(), all.len() - 1, "{r}");
    assert_eq!(r["results"][0]["ok"], false, "{r}");
    assert_eq!(r["results"][0]["code"], -32602, "{r}");
    assert!(
        r["results"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("keybroker tools claude-desktop/demo --allow multi-greet"),
        "{r}"
    );
    assert!(
        r["results"][1]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Hello, C")
    );

    let audit = w.audit_lines();
    let denied: Vec<&Value> = audit
        .iter()
        .filter(|e| e["event"] == "tool-denied")
        .collect();
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(denied[0]["tool"], "multi-greet");
    let greets = audit
        .iter()
        .filter(|e| e["event"] == "tool-call" && e["tool"] == "greet")
        .count();
    assert_eq!(greets, 2);
    assert!(
        !audit
            .iter()
            .any(|e| e["event"] == "tool-call" && e["tool"] == "multi-greet"),
        "a refused call is never a call"
    );
}
