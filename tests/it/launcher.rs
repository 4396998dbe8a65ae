//! `keybroker run` against the real keychain: approval, confused deputy, stdout purity,
//! bounded keychain waits, and many launchers at once.

use keybroker_test_support::world;

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use world::{CANARY_MARKER, World};

const TOKEN: &str = "ghp_KBCANARYlaunch00000000000000000000001";

/// A config with one brokered server whose command prints its environment (`env`), so a
/// test can see exactly what a started server received.
fn world_with_env_printer() -> World {
    let w = World::new();
    let cfg = json!({
        "mcpServers": {
            "printer": {"command": "env", "args": [], "env": {"GITHUB_TOKEN": TOKEN, "MODE": "plain"}},
            "other": {"command": "env", "args": ["-0"], "env": {"OTHER_API_KEY": "sk-KBCANARYother0000000000000000000000001"}}
        }
    });
    w.write_config(serde_json::to_string_pretty(&cfg).expect("json").as_bytes());
    w.import().success();
    w
}

fn edit_entry(w: &World, server: &str, f: impl FnOnce(&mut serde_json::Value)) {
    let mut cfg = w.config_json();
    f(&mut cfg["mcpServers"][server]);
    w.write_config(serde_json::to_string_pretty(&cfg).expect("json").as_bytes());
}

fn last_event(w: &World) -> serde_json::Value {
    w.audit_lines().pop().expect("an audit event")
}

#[test]
fn approved_command_gets_only_its_own_secret_in_its_environment() {
    let w = world_with_env_printer();
    let out = w.run_entry("printer");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.lines().any(|l| l == format!("GITHUB_TOKEN={TOKEN}")),
        "secret delivered as env"
    );
    assert!(
        stdout.lines().any(|l| l == "MODE=plain"),
        "non-secret env kept"
    );
    assert!(
        !stdout.contains("OTHER_API_KEY"),
        "another server's secret is never added"
    );
    let e = last_event(&w);
    assert_eq!(e["event"], "released");
    assert_eq!(e["server"], "claude-desktop/printer");
    assert_eq!(e["target"], "env:GITHUB_TOKEN");
    assert!(e["ppid"].as_u64().is_some());
    assert!(w.files_containing(CANARY_MARKER.as_bytes()).is_empty());
}

#[test]
fn changed_command_is_denied_audited_and_released_again_after_approve() {
    let w = world_with_env_printer();
    // Someone swaps the approved program for another one in the host config.
    edit_entry(&w, "printer", |e| {
        let args = e["args"].as_array_mut().expect("args");
        // `run <id> --binding <b> --`: keep the launcher's part, swap the server's.
        let sep = args.iter().position(|a| a == "--").expect("--");
        args.truncate(sep + 1);
        args.push(json!("sh"));
        args.push(json!("-c"));
        args.push(json!("env"));
    });
    let out = w.run_entry("printer");
    assert_eq!(out.status.code(), Some(77));
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout, and certainly no secret"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("changed since you approved it"), "{stderr}");
    assert!(
        stderr.contains("keybroker approve claude-desktop/printer"),
        "{stderr}"
    );
    let e = last_event(&w);
    assert_eq!(
        (e["event"].as_str(), e["outcome"].as_str()),
        (Some("denied"), Some("denied"))
    );

    // `servers` shows it, `approve` shows both commands and then lets it through.
    let printer = w.server_status("printer");
    assert_eq!(printer["status"], "command-changed");

    let approve = w
        .kb()
        .args(["approve", "claude-desktop/printer", "--yes"])
        .assert()
        .success();
    let shown = String::from_utf8_lossy(&approve.get_output().stdout).into_owned();
    assert!(
        shown.contains("approved command: env") && shown.contains("new command:      sh -c env"),
        "{shown}"
    );
    let out = w.run_entry("printer");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("GITHUB_TOKEN={TOKEN}")));
}

#[test]
fn an_env_var_added_in_the_config_counts_as_a_changed_command() {
    let w = world_with_env_printer();
    edit_entry(&w, "printer", |e| {
        e["env"]["NODE_OPTIONS"] = json!("--require /tmp/steal.js")
    });
    let out = w.run_entry("printer");
    assert_eq!(out.status.code(), Some(77));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("NODE_OPTIONS"));
}

#[test]
fn asking_for_another_servers_id_is_refused_as_a_confused_deputy() {
    let w = world_with_env_printer();
    // The `other` entry claims to be `printer` to get its GitHub token.
    edit_entry(&w, "other", |e| {
        e["args"][1] = json!("claude-desktop/printer")
    });
    let out = w.run_entry("other");
    assert_eq!(out.status.code(), Some(77));
    assert!(out.stdout.is_empty());
    let e = last_event(&w);
    assert_eq!(e["event"], "denied");
    assert_eq!(e["server"], "claude-desktop/printer");
}

#[test]
fn unknown_server_id_releases_nothing() {
    let w = world_with_env_printer();
    w.kb()
        .args(["run", "claude-desktop/nope", "--", "env"])
        .assert()
        .code(77)
        .stdout("");
    assert_eq!(last_event(&w)["event"], "denied");
}

/// No session bus at all: the keychain cannot be reached (30 s bound on the command).
fn without_a_bus(cmd: &mut assert_cmd::Command) -> &mut assert_cmd::Command {
    cmd.env(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/keybroker-test-bus",
    )
    .env("XDG_RUNTIME_DIR", "/nonexistent")
    .timeout(Duration::from_secs(30))
}

/// A "bus" that accepts connections and never says a word: its address, and how many
/// connections it took.
#[cfg(unix)]
fn silent_bus(w: &World) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::Ordering;
    let sock = w.dir.path().join("silent-bus");
    let listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            counted.fetch_add(1, Ordering::SeqCst);
            held.push(s);
        }
    });
    (format!("unix:path={}", sock.display()), connections)
}

/// The env the config's entry for `server` sets (what its host passes).
fn entry_env(w: &World, server: &str) -> Vec<(String, String)> {
    w.config_json()["mcpServers"][server]["env"]
        .as_object()
        .map(|env| {
            env.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn no_secret_service_is_a_clear_error_naming_the_fix_not_a_hang() {
    let w = world_with_env_printer();
    let cfg = w.config_json();
    let args: Vec<String> = cfg["mcpServers"]["printer"]["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    // The entry as its host starts it (its args and env), so every check passes and
    // the keychain is what fails.
    let out = without_a_bus(w.kb().args(&args).envs(entry_env(&w, "printer")))
        .assert()
        .code(69)
        .stdout("");
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("keychain") && stderr.contains("fix:"),
        "{stderr}"
    );
}

#[test]
fn a_request_that_fails_the_checks_is_refused_and_audited_with_no_keychain_to_reach() {
    // The keychain opens while the request is checked; a refusal does not wait for it
    // to fail, and stays a refusal (not "keychain unavailable").
    let w = world_with_env_printer();
    without_a_bus(w.kb().args(["run", "claude-desktop/printer", "--", "env"]))
        .assert()
        .code(77)
        .stdout("");
    let e = last_event(&w);
    assert_eq!(e["event"], "denied", "{e}");
    assert!(
        e["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("binding id"),
        "{e}"
    );
}

#[cfg(unix)]
#[test]
fn a_keychain_that_never_answers_is_given_up_on_after_the_bounded_wait() {
    let w = world_with_env_printer();
    let (bus, _) = silent_bus(&w);
    let start = Instant::now();
    let out = w
        .kb()
        .args(w.entry_args("printer"))
        .envs(entry_env(&w, "printer"))
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .env("KEYBROKER_KEYCHAIN_TIMEOUT", "2")
        .timeout(Duration::from_secs(30))
        .assert()
        .code(69)
        .stdout("");
    assert!(
        start.elapsed() < Duration::from_secs(25),
        "bounded, not hung"
    );
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("no answer from the keychain within 2 s"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn a_refusal_waits_for_a_silent_keychain_once_not_again_for_its_audit_line() {
    let w = world_with_env_printer();
    let (bus, connections) = silent_bus(&w);
    // No binding id: refused by the checks while the keychain session is being opened.
    w.kb()
        .args(["run", "claude-desktop/printer", "--", "env"])
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .env("KEYBROKER_KEYCHAIN_TIMEOUT", "2")
        .timeout(Duration::from_secs(30))
        .assert()
        .code(77)
        .stdout("");
    assert_eq!(last_event(&w)["event"], "denied");
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one attempt at the keychain: the audit append does not open it again"
    );
}

#[test]
fn twenty_launchers_at_once_leave_twenty_well_formed_chained_audit_lines() {
    let w = World::new();
    let cfg = json!({"mcpServers": {"t": {"command": "true", "env": {"X_API_TOKEN": "ghp_KBCANARYtwenty0000000000000000000001"}}}});
    w.write_config(cfg.to_string().as_bytes());
    w.import().success();
    let before = w.audit_lines().len();
    let children: Vec<_> = (0..20)
        .map(|_| {
            w.entry_command("t")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn launcher")
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let raw = std::fs::read_to_string(w.home.join("data/audit.jsonl")).expect("audit");
    let lines: Vec<&str> = raw.lines().collect();
    assert_eq!(lines.len(), before + 20);
    for l in &lines {
        let v: serde_json::Value =
            serde_json::from_str(l).expect("every line is one whole JSON object");
        assert!(v["hash"].as_str().is_some_and(|h| h.len() == 64));
    }
    assert_eq!(
        w.audit_lines()
            .iter()
            .filter(|e| e["event"] == "released")
            .count(),
        20
    );
    let verify = w.kb().args(["audit", "verify"]).assert().success();
    assert!(String::from_utf8_lossy(&verify.get_output().stdout).contains("Chain intact."));
}

#[test]
fn an_edited_audit_line_is_reported_by_verify() {
    let w = world_with_env_printer();
    assert!(w.run_entry("printer").status.success());
    let path = w.home.join("data/audit.jsonl");
    let raw = std::fs::read_to_string(&path).expect("audit");
    let edited = raw.replacen("claude-desktop/printer", "claude-desktop/innocent", 1);
    std::fs::write(&path, edited).expect("tamper");
    let out = w.kb().args(["audit", "verify"]).assert().code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        stdout.contains("HashMismatch") && stdout.contains("Chain BROKEN"),
        "{stdout}"
    );
}
