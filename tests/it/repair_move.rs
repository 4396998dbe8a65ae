//! Keybroker moves for real: an installation's `keybroker` (a copy of the built binary in
//! its own directory) imports a config, then that binary disappears. `servers --json`
//! and `doctor --json` of the installation that remains show the drift, `repair` points
//! the entry at it, and the official SDK client starts the server from the host file
//! again with its secret (proven by digest); the approvals are the ones recorded before.

use keybroker_test_support::world;

use std::process::Command;

use serde_json::{Value, json};
use world::sha256_hex;

use crate::doctor::{TOKEN, check, doctor_cmd, doctor_json, isolate, world_with_echo};

fn state(w: &world::World) -> Value {
    serde_json::from_slice(&std::fs::read(w.home.join("config/state.json")).expect("state"))
        .expect("json")
}

/// What an approval is: per server, its fingerprint, approved spawn and binding id.
fn approvals(w: &world::World) -> Value {
    let s = state(w);
    let servers = s["servers"].as_object().expect("servers");
    Value::Object(
        servers
            .iter()
            .map(|(id, srv)| {
                (
                    id.clone(),
                    json!({"fingerprint": srv["fingerprint"], "spawn": srv["spawn"],
                           "binding_id": srv["binding_id"], "command": srv["command"]}),
                )
            })
            .collect(),
    )
}

fn digest(w: &world::World) -> Result<String, String> {
    let report = w.spawn("echo", &[("env_sha256", json!({"name": "GITHUB_TOKEN"}))])?;
    Ok(report["results"]["env_sha256"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

#[test]
fn a_deleted_launcher_is_drift_in_servers_and_doctor_and_after_repair_the_sdk_client_gets_the_secret()
 {
    let w = world_with_echo();
    // The old installation: a copy of the binary in a directory of its own.
    let old_dir = w.dir.path().join("old-install/bin");
    std::fs::create_dir_all(&old_dir).expect("dir");
    let old = old_dir.join("keybroker");
    std::fs::copy(assert_cmd::cargo::cargo_bin("keybroker"), &old).expect("copy");
    let mut import = Command::new(&old);
    import
        .args(["import", "claude-desktop", "--yes", "--config"])
        .arg(&w.config);
    isolate(&mut import, &w);
    let out = import.output().expect("import with the old installation");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let old_canon = std::fs::canonicalize(&old).expect("canonical");
    assert_eq!(
        w.config_json()["mcpServers"]["echo"]["command"],
        json!(old_canon),
        "the entry names the installation that imported it"
    );
    assert_eq!(digest(&w), Ok(sha256_hex(TOKEN)), "it works from there");
    let approved = approvals(&w);
    let state_bytes = std::fs::read(w.home.join("config/state.json")).expect("state");

    // The old installation goes away.
    std::fs::remove_file(&old).expect("remove the old binary");
    assert!(digest(&w).is_err(), "the host cannot start the server now");

    let row = w.server_status("echo");
    assert_eq!(row["status"], "launcher-drift", "{row:#}");
    let detail = row["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("does not exist") && detail.contains("keybroker repair"),
        "{detail}"
    );

    let (code, r) = doctor_json(doctor_cmd(&w));
    assert_eq!(code, Some(1), "{r:#}");
    let launcher = check(&r, "launcher");
    assert_eq!(launcher["status"], "problem", "{launcher:#}");
    assert_eq!(launcher["fix"]["commands"], json!(["keybroker repair"]));
    assert!(
        launcher["details"][0]
            .as_str()
            .unwrap_or_default()
            .starts_with("claude-desktop/echo:"),
        "{launcher:#}"
    );

    let mut repair = Command::new(assert_cmd::cargo::cargo_bin("keybroker"));
    repair.args(["repair", "--yes"]);
    isolate(&mut repair, &w);
    let out = repair.output().expect("repair");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Repaired 1 entry"));

    assert_eq!(
        w.config_json()["mcpServers"]["echo"]["command"],
        json!(std::fs::canonicalize(assert_cmd::cargo::cargo_bin("keybroker")).expect("exe"))
    );
    assert_eq!(
        digest(&w),
        Ok(sha256_hex(TOKEN)),
        "the SDK client starts it with its secret"
    );
    assert_eq!(approvals(&w), approved, "approvals unchanged");
    assert_eq!(
        std::fs::read(w.home.join("config/state.json")).expect("state"),
        state_bytes,
        "the state file is untouched"
    );
    assert!(
        w.files_containing(TOKEN.as_bytes()).is_empty(),
        "the token is in no file"
    );

    let (code, r) = doctor_json(doctor_cmd(&w));
    assert_eq!(code, Some(0), "{r:#}");
    assert_eq!(check(&r, "launcher")["status"], "ok");
}
