//! `keybroker add <host> <name> --secret ENV... -- COMMAND ARGS...`: a stdio server added
//! from the CLI. Its secrets go from stdin straight into the keychain, the host file gets a
//! brokered entry and never the values, and the official SDK client starts the server
//! from that file with each secret (proven by digest).

use keybroker_test_support::world::{self, World, sha256_hex};
use serde_json::{Value, json};

const TOKEN: &str = "ghp_KBCANARYaddStdio7Qm2Lx9Vz4Nc8Rb1Tw6Yp";
const API_KEY: &str = "sk-KBCANARYaddStdioKey0b9c8d7e6f5a4b3c2d1";

fn add(w: &World, extra: &[&str], stdin: &str) -> assert_cmd::assert::Assert {
    let mut cmd = w.kb();
    cmd.args(["add", "claude-desktop", "echo", "--config"])
        .arg(&w.config)
        .args(extra)
        .arg("--")
        .arg("node")
        .arg(world::echo_server())
        .write_stdin(stdin);
    cmd.assert()
}

fn digest(w: &World, env: &str) -> String {
    let report = w
        .spawn("echo", &[("env_sha256", json!({ "name": env }))])
        .expect("the SDK client starts the added server");
    report["results"]["env_sha256"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_stdio_server_added_from_the_cli_gets_its_secrets_from_the_keychain_and_none_in_the_file() {
    let w = World::new();
    let before = "{\n  \"globalShortcut\": \"Ctrl+Space\",\n  \"mcpServers\": {}\n}\n";
    w.write_config(before.as_bytes());

    add(
        &w,
        &["--secret", "GITHUB_TOKEN", "--secret", "API_KEY"],
        &format!("{TOKEN}\n{API_KEY}\n"),
    )
    .success();

    let cfg = w.config_json();
    assert_eq!(
        cfg["globalShortcut"], "Ctrl+Space",
        "the rest of the file is kept"
    );
    let entry = &cfg["mcpServers"]["echo"];
    let launcher = std::fs::canonicalize(assert_cmd::cargo::cargo_bin("keybroker")).expect("bin");
    assert_eq!(
        entry["command"],
        json!(launcher.to_string_lossy()),
        "{entry}"
    );
    let args = w.entry_args("echo");
    assert_eq!(args.first().map(String::as_str), Some("run"), "{args:?}");
    assert!(args.iter().any(|a| a == "claude-desktop/echo"), "{args:?}");
    for canary in [TOKEN, API_KEY] {
        assert!(
            w.files_containing(canary.as_bytes()).is_empty(),
            "a secret reached a file: {:?}",
            w.files_containing(canary.as_bytes())
        );
    }
    let state: Value =
        serde_json::from_slice(&std::fs::read(w.home.join("config/state.json")).expect("state"))
            .expect("json");
    assert!(
        state["servers"]["claude-desktop/echo"]["guard"].is_object(),
        "servers added from now on are guarded: {}",
        state["servers"]["claude-desktop/echo"]
    );

    assert_eq!(digest(&w, "GITHUB_TOKEN"), sha256_hex(TOKEN));
    assert_eq!(digest(&w, "API_KEY"), sha256_hex(API_KEY));
    let kinds: Vec<String> = w
        .audit_lines()
        .iter()
        .filter(|e| e["server"] == "claude-desktop/echo")
        .filter_map(|e| e["event"].as_str().map(String::from))
        .collect();
    assert!(kinds.iter().any(|k| k == "rewritten"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "released"), "{kinds:?}");
}

#[test]
fn a_missing_value_or_a_remote_option_changes_nothing_and_says_what_to_do() {
    let w = World::new();
    let before = "{\n  \"mcpServers\": {}\n}\n";
    w.write_config(before.as_bytes());

    // Two secrets, one line: the second has no value.
    let out = add(
        &w,
        &["--secret", "GITHUB_TOKEN", "--secret", "API_KEY"],
        &format!("{TOKEN}\n"),
    )
    .failure()
    .get_output()
    .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no value given for API_KEY"), "{err}");
    assert!(err.contains("fix:"), "{err}");
    assert_eq!(w.config_bytes(), before.as_bytes(), "nothing written");
    assert!(w.files_containing(TOKEN.as_bytes()).is_empty());

    // A remote-only option with a command is refused by the parser.
    let out = add(&w, &["--allow-http"], "").code(2).get_output().clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--allow-http"), "{err}");
    assert_eq!(w.config_bytes(), before.as_bytes(), "nothing written");

    // A bad env name is refused before any value is read.
    let out = add(&w, &["--secret", "1BAD"], TOKEN)
        .failure()
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1BAD"), "{err}");
    assert_eq!(w.config_bytes(), before.as_bytes(), "nothing written");

    // --no-guard: brokered, not guarded (the launcher execs the server).
    add(&w, &["--secret", "GITHUB_TOKEN", "--no-guard"], TOKEN).success();
    let state: Value =
        serde_json::from_slice(&std::fs::read(w.home.join("config/state.json")).expect("state"))
            .expect("json");
    let record = &state["servers"]["claude-desktop/echo"];
    assert!(record.is_object() && record["guard"].is_null(), "{record}");
}
