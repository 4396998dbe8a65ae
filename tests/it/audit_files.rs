//! The files Keybroker owns, attacked where they live (THREATS 38, approval boundary
//! class A7): symlinks planted at every name it writes, state and data directories other
//! users can write or own, and a log rewritten together with its head, which only the
//! keychain anchor exposes. Real files, the real binary, the real keychain.

use keybroker_test_support::world;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use world::World;

const TOKEN: &str = "ghp_KBCANARYauditfiles000000000000000001";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One brokered server whose command prints its environment.
fn world_with_printer() -> World {
    let w = World::new();
    let cfg = json!({
        "mcpServers": {
            "printer": {"command": "env", "args": [], "env": {"GITHUB_TOKEN": TOKEN, "MODE": "plain"}}
        }
    });
    w.write_config(serde_json::to_string_pretty(&cfg).expect("json").as_bytes());
    w.import().success();
    w
}

fn data(w: &World) -> PathBuf {
    w.home.join("data")
}

fn log(w: &World) -> PathBuf {
    data(w).join("audit.jsonl")
}

/// Every file under KEYBROKER_HOME with its bytes.
fn snapshot(w: &World) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).expect("meta");
            if meta.is_dir() {
                walk(&p, out);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&w.home, &mut out);
    out
}

fn verify_json(w: &World) -> (Option<i32>, Value) {
    let out = w
        .kb()
        .args(["audit", "verify", "--json"])
        .output()
        .expect("verify");
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify --json: {e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), v)
}

fn sha256_hex(bytes: &[u8]) -> String {
    world::sha256_hex(std::str::from_utf8(bytes).expect("utf8 line"))
}

/// Rewrite the whole log with `edit` applied to each event and a freshly computed hash
/// chain, and a head that matches: what someone who can write the files and knows the
/// format can do. Every hash and link holds afterwards; the head keeps the MAC it had
/// (nobody without the key can compute the new one).
fn rewrite_log_and_head(w: &World, edit: impl Fn(&mut serde_json::Map<String, Value>)) {
    let old_mac = head(w)["mac"].as_str().map(str::to_string);
    let raw = std::fs::read_to_string(log(w)).expect("log");
    let mut prev = GENESIS.to_string();
    let mut out = String::new();
    let mut lines = 0;
    for line in raw.lines() {
        let mut e: serde_json::Map<String, Value> = serde_json::from_str(line).expect("event");
        edit(&mut e);
        e.insert("prev".into(), json!(prev));
        e.remove("hash");
        let body = serde_json::to_string(&e).expect("body");
        let hash = sha256_hex(body.as_bytes());
        out.push_str(&body[..body.len() - 1]);
        out.push_str(&format!(",\"hash\":\"{hash}\"}}\n"));
        prev = hash;
        lines += 1;
    }
    std::fs::write(log(w), out).expect("write log");
    let mac = old_mac.map_or(String::new(), |m| format!(",\"mac\":\"{m}\""));
    std::fs::write(
        data(w).join("audit.jsonl.head"),
        format!("{{\"lines\":{lines},\"hash\":\"{prev}\"{mac}}}\n"),
    )
    .expect("write head");
}

fn head(w: &World) -> Value {
    serde_json::from_slice(&std::fs::read(data(w).join("audit.jsonl.head")).expect("head"))
        .expect("head json")
}

/// The log cut to its first `n` lines and a head without a MAC that matches them.
fn truncate_log_and_head(w: &World, n: usize) {
    let raw = std::fs::read_to_string(log(w)).expect("log");
    let kept: Vec<&str> = raw.lines().take(n).collect();
    let last: Value = serde_json::from_str(kept[n - 1]).expect("event");
    std::fs::write(log(w), format!("{}\n", kept.join("\n"))).expect("write log");
    std::fs::write(
        data(w).join("audit.jsonl.head"),
        format!("{{\"lines\":{n},\"hash\":{}}}\n", last["hash"]),
    )
    .expect("write head");
}

fn keychain_item(w: &World, id: &str) -> Option<String> {
    w.keychain_lookup(id)
}

#[test]
fn symlinks_planted_at_every_name_keybroker_writes_leave_their_targets_untouched() {
    let w = world_with_printer();
    let victim = w.dir.path().join("victim.txt");
    let elsewhere = w.dir.path().join("created-elsewhere");
    // (name, does the launch work, does a writer of the state work): Keybroker's own
    // files are refused when it would use them; a stray name is never used (temp files
    // get fresh random names). The launcher reads the state without its lock.
    let names: [(PathBuf, bool, bool); 7] = [
        (log(&w), false, false),
        (data(&w).join("audit.jsonl.head"), false, false),
        (data(&w).join("audit.jsonl.lock"), false, false),
        (data(&w).join("audit.jsonl.head.tmp"), true, true),
        (w.home.join("config/state.json"), false, false),
        (w.home.join("config/state.lock"), true, false),
        (w.home.join("config/state.json.tmp"), true, true),
    ];
    for (name, launch_works, writer_works) in &names {
        for target in [&victim, &elsewhere] {
            std::fs::write(&victim, b"keep me").expect("victim");
            let _ = std::fs::remove_file(&elsewhere);
            let saved = std::fs::read(name).ok();
            let _ = std::fs::remove_file(name);
            std::os::unix::fs::symlink(target, name).expect("plant");

            let before = w.audit_lines().len();
            let out = w.run_entry("printer");
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            if *launch_works {
                assert!(out.status.success(), "{}: {stderr}", name.display());
                assert!(stdout.contains(TOKEN), "{}", name.display());
            } else {
                assert_eq!(out.status.code(), Some(78), "{}: {stderr}", name.display());
                assert!(!stdout.contains(TOKEN), "nothing released: {stdout}");
                assert!(stderr.contains("is a symlink"), "{stderr}");
                assert!(
                    stderr.contains(&format!("rm {}", name.display())),
                    "{stderr}"
                );
                assert_eq!(
                    w.audit_lines().len(),
                    before,
                    "{}: no line written",
                    name.display()
                );
            }
            // A rotation writes the state and the audit log.
            let set = w
                .kb()
                .args(["secret", "set", "claude-desktop/printer", "GITHUB_TOKEN"])
                .write_stdin(TOKEN)
                .output()
                .expect("secret set");
            let code = set.status.code();
            assert_eq!(
                code,
                Some(if *writer_works { 0 } else { 78 }),
                "{}: {}",
                name.display(),
                String::from_utf8_lossy(&set.stderr)
            );
            assert_eq!(
                std::fs::read(&victim).expect("victim"),
                b"keep me",
                "{}",
                name.display()
            );
            assert!(
                !elsewhere.exists(),
                "{}: nothing created through a dangling link",
                name.display()
            );

            std::fs::remove_file(name).expect("unplant");
            if let Some(bytes) = saved {
                std::fs::write(name, bytes).expect("restore");
            }
        }
    }
    // Every refusal left the chain intact.
    let (code, report) = verify_json(&w);
    assert_eq!(code, Some(0), "{report}");
}

#[test]
fn a_state_or_data_dir_others_can_write_is_refused_with_the_chmod_and_nothing_is_written() {
    let w = world_with_printer();
    for dir in [data(&w), w.home.join("config"), w.home.clone()] {
        for mode in [0o777, 0o770] {
            let before = snapshot(&w);
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).expect("chmod");
            let out = w.run_entry("printer");
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            assert_eq!(out.status.code(), Some(78), "{stderr}");
            assert!(out.stdout.is_empty(), "nothing released");
            assert!(
                stderr.contains(&format!("fix: chmod 700 {}", dir.display())),
                "{stderr}"
            );
            assert!(stderr.contains(&format!("{mode:04o}")), "{stderr}");
            // Reading commands are refused as well: a directory others can write may
            // hold files they planted.
            w.kb().args(["audit"]).assert().code(78);
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
            assert_eq!(snapshot(&w), before, "{}: nothing written", dir.display());
        }
    }
    assert!(
        w.run_entry("printer").status.success(),
        "works again after chmod 700"
    );
}

#[test]
fn a_data_dir_owned_by_another_user_is_refused_with_the_chown() {
    let w = world_with_printer();
    let me = std::fs::metadata(&w.home).expect("home").uid();
    if me != 0 {
        // Giving a directory away needs root (CI and this machine run tests as root).
        eprintln!("skipped: only root can chown a directory to another user");
        return;
    }
    let dir = data(&w);
    let before = snapshot(&w);
    std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).expect("chown");
    let out = w.run_entry("printer");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    std::os::unix::fs::chown(&dir, Some(0), Some(0)).expect("chown back");
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("owned by user id 65534"), "{stderr}");
    assert!(
        stderr.contains(&format!("chown -R 0 {}", dir.display())),
        "{stderr}"
    );
    assert_eq!(snapshot(&w), before, "nothing written");
}

#[test]
fn a_fresh_log_is_anchored_in_the_keychain_and_verify_checks_it() {
    let w = world_with_printer();
    assert!(w.run_entry("printer").status.success());
    let (code, report) = verify_json(&w);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["anchor"]["status"], "verified", "{report}");
    let anchor: Value =
        serde_json::from_str(&keychain_item(&w, "keybroker.audit-anchor").expect("anchor item"))
            .expect("anchor json");
    let lines = w.audit_lines();
    assert_eq!(anchor["lines"], lines.len());
    assert_eq!(anchor["hash"], lines[lines.len() - 1]["hash"]);
    assert_eq!(anchor["mac"].as_str().map(str::len), Some(64));
    // The MAC key stays in the keychain.
    let key = keychain_item(&w, "keybroker.audit-anchor-key").expect("key item");
    assert_eq!(key.trim().len(), 64);
    assert!(w.files_containing(key.trim().as_bytes()).is_empty());
}

#[test]
fn launches_seal_the_head_and_never_write_the_keychain_anchor() {
    let w = world_with_printer();
    let anchor = keychain_item(&w, "keybroker.audit-anchor").expect("anchored by import");
    let imported = w.audit_lines().len();
    let mut macs = vec![head(&w)["mac"].clone()];
    for _ in 0..3 {
        assert!(w.run_entry("printer").status.success());
        macs.push(head(&w)["mac"].clone());
    }
    assert_eq!(
        keychain_item(&w, "keybroker.audit-anchor").as_deref(),
        Some(anchor.as_str()),
        "no launch wrote the anchor"
    );
    assert_eq!(w.audit_lines().len(), imported + 3);
    for pair in macs.windows(2) {
        assert!(pair[1].as_str().is_some_and(|m| m.len() == 64), "{macs:?}");
        assert_ne!(pair[0], pair[1], "every launch seals the head anew");
    }
    let (code, report) = verify_json(&w);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["anchor"]["status"], "verified", "{report}");

    // `audit verify` moved the anchor to the sealed head.
    let moved: Value =
        serde_json::from_str(&keychain_item(&w, "keybroker.audit-anchor").expect("anchor item"))
            .expect("anchor json");
    assert_eq!(moved["lines"], imported + 3);
}

#[test]
fn a_truncation_to_before_the_keychain_anchor_is_an_anchor_mismatch() {
    let w = world_with_printer();
    let anchored: Value = serde_json::from_str(
        &keychain_item(&w, "keybroker.audit-anchor").expect("anchored by import"),
    )
    .expect("anchor json");
    let anchored = anchored["lines"].as_u64().expect("lines") as usize;
    assert!(anchored >= 2, "{anchored}");
    for _ in 0..2 {
        assert!(w.run_entry("printer").status.success());
    }
    truncate_log_and_head(&w, anchored - 1);
    let (code, report) = verify_json(&w);
    assert_eq!(code, Some(1), "{report}");
    let kinds: Vec<&str> = report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| p["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["AnchorMismatch"], "{report}");
    assert_eq!(report["anchor"]["status"], "mismatch", "{report}");
}

#[test]
fn rewriting_the_log_and_its_head_together_is_an_anchor_mismatch_for_verify() {
    let w = world_with_printer();
    for _ in 0..3 {
        assert!(w.run_entry("printer").status.success());
    }
    // Hide that the token was released: the chain and the head stay consistent.
    rewrite_log_and_head(&w, |e| {
        if e["event"] == "released" {
            e.insert("server".into(), json!("claude-desktop/someone-else"));
        }
    });
    let out = w.kb().args(["audit", "verify"]).assert().code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(stdout.contains("AnchorMismatch"), "{stdout}");
    assert!(stdout.contains("rewritten together"), "{stdout}");
    let (code, report) = verify_json(&w);
    assert_eq!(code, Some(1));
    let kinds: Vec<&str> = report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| p["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["AnchorMismatch"],
        "only the anchor sees it: {report}"
    );

    // The next launch records what it found in the log before it re-anchors.
    assert!(w.run_entry("printer").status.success());
    let recorded = w
        .audit_lines()
        .into_iter()
        .find(|e| e["event"] == "audit-head-mismatch")
        .expect("mismatch recorded");
    assert!(
        recorded["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("keychain anchor"),
        "{recorded}"
    );
    let (code, report) = verify_json(&w);
    assert_eq!(code, Some(1), "stays reported: {report}");
}

/// Without the MAC the head looks like one written while the keychain was locked: verify
/// warns that the events after the keychain anchor are not anchored (the limit the
/// README's security model states).
#[test]
fn a_rewrite_that_drops_the_head_mac_is_reported_as_not_anchored_since_the_anchor() {
    let w = world_with_printer();
    let anchored = w.audit_lines().len();
    for _ in 0..3 {
        assert!(w.run_entry("printer").status.success());
    }
    rewrite_log_and_head(&w, |e| {
        if e["event"] == "released" {
            e.insert("server".into(), json!("claude-desktop/someone-else"));
        }
    });
    let mut h = head(&w);
    h.as_object_mut().expect("head").remove("mac");
    std::fs::write(data(&w).join("audit.jsonl.head"), format!("{h}\n")).expect("head");
    let (code, report) = verify_json(&w);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["anchor"]["status"], "stale", "{report}");
    let message = report["anchor"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("not anchored since line {anchored}")),
        "{message}"
    );
}

#[test]
fn without_a_keychain_an_append_is_recorded_and_verify_reports_the_anchor_stale() {
    let w = world_with_printer();
    assert!(w.run_entry("printer").status.success());
    // A changed command, approved while no Secret Service can be reached.
    let mut cfg = w.config_json();
    cfg["mcpServers"]["printer"]["env"]["MODE"] = json!("changed");
    w.write_config(serde_json::to_string_pretty(&cfg).expect("json").as_bytes());
    let before = w.audit_lines().len();
    w.kb()
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/keybroker-test-bus",
        )
        .args(["approve", "claude-desktop/printer", "--yes"])
        .assert()
        .success();
    let lines = w.audit_lines();
    assert_eq!(lines.len(), before + 1);
    assert_eq!(lines[before]["event"], "approved");

    let (code, report) = verify_json(&w);
    assert_eq!(code, Some(0), "a stale anchor is not tampering: {report}");
    assert_eq!(report["anchor"]["status"], "stale", "{report}");
    let message = report["anchor"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("locked or absent"), "{message}");

    // Verify without a keychain says it could not check, and how to fix that.
    let out = w
        .kb()
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/keybroker-test-bus",
        )
        .args(["audit", "verify"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(stdout.contains("anchor was not checked"), "{stdout}");
    assert!(stdout.contains("unlock the keychain"), "{stdout}");

    // The next launch (keychain reachable) seals the head; the anchor stays behind it.
    assert!(w.run_entry("printer").status.success());
    let (code, report) = verify_json(&w);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["anchor"]["status"], "verified", "{report}");
}
