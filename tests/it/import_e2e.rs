//! Import a realistic Claude Desktop config on the real keychain, then start servers from
//! the rewritten file with the official MCP SDK's client, exactly as a host does.

use keybroker_test_support::world;

use serde_json::json;
use world::{CANARY_MARKER, World, canaries, sha256_hex};

const ECHO_TOKEN: &str = "kbt_KBCANARYechovLrCbn13HFKI3NpsSjr8";
const DSN_PASSWORD: &str = "KBCANARYdsn7Qm2xVb9LpTz4";

/// The fixture plus an SDK server that takes a secret in a positional DSN argument.
fn world_with_dsn_server() -> World {
    let w = World::with_fixture("claude_desktop_config.json");
    let mut cfg = w.config_json();
    cfg["mcpServers"]["echo-dsn"] = json!({
        "command": "node",
        "args": [world::echo_server(), format!("postgresql://app:{DSN_PASSWORD}@localhost:5432/app")],
    });
    let mut bytes = serde_json::to_vec_pretty(&cfg).expect("json");
    bytes.push(b'\n');
    w.write_config(&bytes);
    w
}

#[test]
fn import_moves_every_canary_into_the_keychain_and_servers_still_receive_their_secrets() {
    let w = world_with_dsn_server();
    let before = w.config_bytes();
    let planted = canaries(&before);
    assert!(
        planted.len() >= 8,
        "fixture must plant at least 8 canaries, found {}",
        planted.len()
    );

    w.import().success();

    // Not one byte of any canary is left in any file Keybroker or the host config touch.
    assert_eq!(
        w.files_containing(CANARY_MARKER.as_bytes()),
        Vec::<std::path::PathBuf>::new()
    );
    for c in &planted {
        assert!(
            w.files_containing(c.as_bytes()).is_empty(),
            "canary {c} leaked"
        );
    }

    // The values are in the real keychain, under the credential ids the plan printed.
    assert_eq!(
        w.keychain_lookup("echo-api-token").as_deref(),
        Some(ECHO_TOKEN)
    );
    assert_eq!(
        w.keychain_lookup("echo-dsn-url-password").as_deref(),
        Some(DSN_PASSWORD)
    );

    // Everything else in the file is kept: unknown keys, preferences, non-secret env.
    let cfg = w.config_json();
    assert_eq!(cfg["globalShortcut"], "Ctrl+Space");
    assert_eq!(cfg["zz_unknown"], json!({"keep": [1, 2, 3]}));
    assert_eq!(cfg["preferences"]["sidebarMode"], "chat");
    assert_eq!(
        cfg["mcpServers"]["slack"]["env"],
        json!({"SLACK_TEAM_ID": "T01234567"})
    );
    // A remote entry now reaches its server through the bridge (no URL left in the file).
    world::assert_bridge_args(
        &cfg["mcpServers"]["remote-docs"]["args"],
        "claude-desktop/remote-docs",
    );
    let fs = &cfg["mcpServers"]["filesystem"];
    assert_eq!(
        fs["command"], "npx",
        "a server without secrets stays as it was"
    );
    let keys: Vec<&String> = cfg.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        [
            "globalShortcut",
            "mcpServers",
            "preferences",
            "isUsingBuiltInNodeForMcp",
            "zz_unknown"
        ]
    );

    // A real MCP client spawns the rewritten entries and the servers got the right values.
    let report = w
        .spawn(
            "echo-local",
            &[
                ("env_sha256", json!({"name": "ECHO_API_TOKEN"})),
                ("env_sha256", json!({"name": "PLAIN_SETTING"})),
            ],
        )
        .expect("echo-local starts through keybroker run");
    assert_eq!(report["serverInfo"]["name"], "secret-echo");
    assert_eq!(
        report["results"]["env_sha256"],
        json!([sha256_hex(ECHO_TOKEN), sha256_hex("visible")])
    );
    assert!(!report.to_string().contains(CANARY_MARKER));

    let dsn = w
        .spawn("echo-dsn", &[("arg_sha256", json!({"index": 0}))])
        .expect("echo-dsn starts through keybroker run");
    let want = format!("postgresql://app:{DSN_PASSWORD}@localhost:5432/app");
    assert_eq!(dsn["results"]["arg_sha256"], sha256_hex(&want));

    // The audit shows each hand-out, and the chain verifies.
    let released: Vec<_> = w
        .audit_lines()
        .into_iter()
        .filter(|e| e["event"] == "released")
        .collect();
    assert_eq!(
        released.len(),
        2,
        "one released event per secret per start: {released:?}"
    );
    assert!(
        released
            .iter()
            .any(|e| e["server"] == "claude-desktop/echo-local"
                && e["credential"] == "echo-api-token"
                && e["target"] == "env:ECHO_API_TOKEN")
    );
    assert!(
        released
            .iter()
            .any(|e| e["server"] == "claude-desktop/echo-dsn" && e["target"] == "arg:1")
    );
    w.kb().args(["audit", "verify"]).assert().success();
    assert!(
        w.files_containing(CANARY_MARKER.as_bytes()).is_empty(),
        "nothing leaked by the starts either"
    );
}

#[test]
fn a_second_import_changes_nothing() {
    let w = World::with_fixture("claude_desktop_config.json");
    w.import().success();
    let once = w.config_bytes();
    let state_once = std::fs::read(w.home.join("config/state.json")).expect("state");
    let out = w.import().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(stdout.contains("Nothing to change."), "{stdout}");
    assert_eq!(w.config_bytes(), once);
    assert_eq!(
        std::fs::read(w.home.join("config/state.json")).expect("state"),
        state_once
    );
}

#[test]
fn one_token_used_by_two_servers_becomes_one_shared_credential() {
    let w = World::with_fixture("claude_desktop_config.json");
    w.import().success();
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.home.join("config/state.json")).expect("state"))
            .expect("json");
    let cred_of = |id: &str| state["servers"][id]["bindings"][0]["credential"].clone();
    assert_eq!(
        cred_of("claude-desktop/github"),
        cred_of("claude-desktop/github-work")
    );
    let n_github = state["credentials"]
        .as_object()
        .expect("credentials")
        .keys()
        .filter(|k| k.starts_with("github"))
        .count();
    assert_eq!(n_github, 1);
}

#[test]
fn bom_and_crlf_file_keeps_its_bytes_outside_the_edited_entries() {
    let w = World::with_fixture("claude_desktop_config_bom_crlf.json");
    let before = w.config_bytes();
    assert!(before.starts_with(b"\xEF\xBB\xBF"));
    w.import().success();
    let after = w.config_bytes();
    assert!(after.starts_with(b"\xEF\xBB\xBF"), "BOM kept");
    let bare_lf = after
        .windows(2)
        .filter(|p| p[1] == b'\n' && p[0] != b'\r')
        .count()
        + usize::from(after.first() == Some(&b'\n'));
    assert_eq!(bare_lf, 0, "every newline is still CRLF");
    assert!(w.files_containing(CANARY_MARKER.as_bytes()).is_empty());
    // The bytes before the first server entry are untouched.
    let head_len = before
        .windows(14)
        .position(|p| p == b"\"mcpServers\": ")
        .expect("mcpServers key");
    assert_eq!(&after[..head_len], &before[..head_len]);
    // Servers start from it.
    let name = w.config_json()["mcpServers"]
        .as_object()
        .expect("servers")
        .iter()
        .find(|(_, v)| v["args"].to_string().contains("secret-echo-server.mjs"))
        .map(|(k, _)| k.clone())
        .expect("an echo entry in the BOM fixture");
    let report = w.spawn(&name, &[("env_names", json!({}))]).expect("starts");
    assert!(report["results"]["env_names"].as_str().is_some());
}

#[test]
fn dry_run_prints_masked_plan_and_changes_nothing() {
    let w = World::with_fixture("claude_desktop_config.json");
    let before = w.config_bytes();
    let out = w
        .kb()
        .args(["import", "claude-desktop", "--dry-run", "--config"])
        .arg(&w.config)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(stdout.contains("env:GITHUB_PERSONAL_ACCESS_TOKEN"));
    assert!(
        stdout.contains("github-token"),
        "names the rule that matched"
    );
    assert!(
        !stdout.contains(CANARY_MARKER),
        "values are masked: {stdout}"
    );
    assert_eq!(w.config_bytes(), before);
    assert!(!w.home.join("config/state.json").exists());
}

#[test]
fn excluded_findings_stay_in_the_file_and_the_rest_moves() {
    let w = World::with_fixture("claude_desktop_config.json");
    w.kb()
        .args([
            "import",
            "claude-desktop",
            "--yes",
            "--exclude",
            "brave-search",
            "--exclude",
        ])
        .arg("slack:env:SLACK_BOT_TOKEN")
        .arg("--config")
        .arg(&w.config)
        .assert()
        .success();
    let cfg = w.config_json();
    assert_eq!(cfg["mcpServers"]["brave-search"]["command"], "npx");
    assert!(
        cfg["mcpServers"]["slack"]["env"]["SLACK_BOT_TOKEN"]
            .as_str()
            .expect("kept")
            .contains(CANARY_MARKER)
    );
    assert!(
        cfg["mcpServers"]["github"]["env"]
            .as_object()
            .expect("env")
            .is_empty()
    );
}

#[test]
fn restore_gives_back_the_original_entries_and_reveal_the_values() {
    let w = world_with_dsn_server();
    let original = w.config_json();
    w.import().success();

    // Without --reveal: commands come back, secrets stay in the keychain (left empty).
    w.kb()
        .args(["restore", "claude-desktop", "--yes", "--config"])
        .arg(&w.config)
        .assert()
        .success();
    let cfg = w.config_json();
    assert_eq!(cfg["mcpServers"]["github"]["command"], "npx");
    assert_eq!(
        cfg["mcpServers"]["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"],
        ""
    );
    assert!(w.files_containing(CANARY_MARKER.as_bytes()).is_empty());

    // Import again (re-binding the same keychain values), then restore with --reveal.
    let mut cfg2 = w.config_json();
    cfg2["mcpServers"] = original["mcpServers"].clone();
    w.write_config(&serde_json::to_vec_pretty(&cfg2).expect("json"));
    w.import().success();
    w.kb()
        .args(["restore", "claude-desktop", "--yes", "--reveal", "--config"])
        .arg(&w.config)
        .assert()
        .success();
    assert_eq!(
        w.config_json(),
        original,
        "the user can always leave with everything they had"
    );
    let events: Vec<String> = w
        .audit_lines()
        .iter()
        .map(|e| e["event"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(events.iter().any(|e| e == "restored"));
}

#[test]
fn a_plaintext_key_added_to_a_brokered_entry_is_moved_by_the_next_import() {
    let w = World::with_fixture("claude_desktop_config.json");
    w.import().success();
    let added = "sk-KBCANARYadded00000000000000000000000001";
    let mut cfg = w.config_json();
    cfg["mcpServers"]["echo-local"]["env"]["EXTRA_API_KEY"] = json!(added);
    w.write_config(&serde_json::to_vec_pretty(&cfg).expect("json"));
    let echo = w.server_status("echo-local");
    assert_eq!(
        echo["status"], "plaintext-in-config",
        "the fix is an import, not an approval"
    );

    w.import().success();
    assert!(w.files_containing(CANARY_MARKER.as_bytes()).is_empty());
    let report = w
        .spawn(
            "echo-local",
            &[
                ("env_sha256", json!({"name": "EXTRA_API_KEY"})),
                ("env_sha256", json!({"name": "ECHO_API_TOKEN"})),
            ],
        )
        .expect("starts with both secrets");
    assert_eq!(
        report["results"]["env_sha256"],
        json!([sha256_hex(added), sha256_hex(ECHO_TOKEN)])
    );
}
