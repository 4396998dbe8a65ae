//! Connect, Rotate and Disconnect from the CLI: `keybroker secret set|rm`, on the real
//! keychain, checked by starting the server with the official MCP SDK client.

use keybroker_test_support::world;

use std::process::Command;

use serde_json::json;
use world::{CANARY_MARKER, World, sha256_hex};

const FIRST: &str = "kbt_KBCANARYconnect0000000000000001";
const SECOND: &str = "kbt_KBCANARYrotated0000000000000002";

fn world_with_plain_echo() -> World {
    let w = World::new();
    let cfg = json!({"mcpServers": {"echo": {"command": "node", "args": [world::echo_server()]}}});
    w.write_config(serde_json::to_string_pretty(&cfg).expect("json").as_bytes());
    w
}

fn set(w: &World, value: &str) -> assert_cmd::assert::Assert {
    w.kb()
        .args([
            "secret",
            "set",
            "claude-desktop/echo",
            "ECHO_API_TOKEN",
            "--config",
        ])
        .arg(&w.config)
        .write_stdin(format!("{value}\n"))
        .assert()
}

fn token_sha(w: &World) -> String {
    let r = w
        .spawn("echo", &[("env_sha256", json!({"name": "ECHO_API_TOKEN"}))])
        .expect("echo starts");
    r["results"]["env_sha256"]
        .as_str()
        .expect("text")
        .to_string()
}

#[test]
fn secret_set_connects_an_unbrokered_server_and_setting_again_rotates() {
    let w = world_with_plain_echo();
    assert_eq!(token_sha(&w), "unset");

    set(&w, FIRST).success();
    let cfg = w.config_json();
    assert_eq!(
        cfg["mcpServers"]["echo"]["args"][0], "run",
        "entry now starts through the launcher"
    );
    assert_eq!(token_sha(&w), sha256_hex(FIRST));
    assert_eq!(w.server_status("echo")["status"], "brokered");

    set(&w, SECOND).success();
    assert_eq!(token_sha(&w), sha256_hex(SECOND));
    let events: Vec<String> = w
        .audit_lines()
        .iter()
        .map(|e| e["event"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(events.contains(&"rotated".to_string()), "{events:?}");
    assert!(
        w.files_containing(CANARY_MARKER.as_bytes()).is_empty(),
        "the values went only to the keychain"
    );
}

#[test]
fn a_secret_missing_from_the_keychain_is_reported_and_the_server_is_not_started_without_it() {
    let w = world_with_plain_echo();
    set(&w, FIRST).success();
    let cred = "echo-api-token";
    let status = Command::new("secret-tool")
        .args(["clear", "service", &w.keychain_service(), "username", cred])
        .status()
        .expect("secret-tool");
    assert!(status.success());
    let echo = w.server_status("echo");
    assert_eq!(echo["status"], "missing-secret");
    assert!(
        echo["detail"]
            .as_str()
            .expect("detail")
            .contains("keybroker secret set claude-desktop/echo ECHO_API_TOKEN")
    );
    let out = w.run_entry("echo");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("keybroker secret set"));
}

#[test]
fn secret_rm_disconnects_and_deletes_the_keychain_item() {
    let w = world_with_plain_echo();
    set(&w, FIRST).success();
    assert!(w.keychain_lookup("echo-api-token").is_some());
    w.kb()
        .args(["secret", "rm", "claude-desktop/echo", "ECHO_API_TOKEN"])
        .assert()
        .success();
    assert!(w.keychain_lookup("echo-api-token").is_none());
    assert_eq!(token_sha(&w), "unset");
    // (The guarded server's own tool call is audited after it.)
    let last = w
        .audit_lines()
        .into_iter()
        .rfind(|e| e["event"] != "tool-call");
    assert_eq!(last.expect("event")["event"], "deleted");
}

#[test]
fn an_empty_value_is_refused_and_nothing_changes() {
    let w = world_with_plain_echo();
    let before = w.config_bytes();
    set(&w, "").failure();
    assert_eq!(w.config_bytes(), before);
}

#[test]
fn unknown_server_gets_a_usage_error() {
    let w = world_with_plain_echo();
    w.kb()
        .args([
            "secret",
            "set",
            "claude-desktop/nope",
            "X_TOKEN",
            "--config",
        ])
        .arg(&w.config)
        .write_stdin("v\n")
        .assert()
        .code(64);
}

#[test]
fn long_and_non_ascii_values_arrive_exactly_as_stored() {
    let w = world_with_plain_echo();
    let value = format!("ünïcødé-🔑-{}-{}", "x".repeat(10_000), CANARY_MARKER);
    set(&w, &value).success();
    assert_eq!(
        w.keychain_lookup("echo-api-token").as_deref(),
        Some(value.as_str()),
        "never truncated"
    );
    assert_eq!(token_sha(&w), sha256_hex(&value));
    assert!(w.files_containing(CANARY_MARKER.as_bytes()).is_empty());
}
