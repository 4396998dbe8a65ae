//! The approval boundary outside the launcher: an entry whose launcher is not this
//! installation's `keybroker` is drift (and `repair` points it back without approving
//! anything), import and restore never approve a changed command or touch another file's
//! server, and the bridge checks binding ids as the launcher does. Real keychain, real
//! files, real processes; the servers are the SDK's secret-echo server (it reports
//! digests only) and scripted HTTP peers that record what they received.

use keybroker_test_support::{remote, world};

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};
use world::{World, sha256_hex};

const TOKEN: &str = "ghp_KBCANARYbound000000000000000000000001";
const GAINED: &str = "ghp_KBCANARYgaind000000000000000000000002";
const OTHER: &str = "ghp_KBCANARYcursr000000000000000000000003";

/// One brokered echo server `echo` with its token and an `API_URL`.
fn world_with_echo() -> World {
    let w = World::new();
    let cfg = json!({"mcpServers": {"echo": {
        "command": "node", "args": [world::echo_server()],
        "env": {"GITHUB_TOKEN": TOKEN, "API_URL": "https://api.example"}
    }}});
    w.write_config(&serde_json::to_vec_pretty(&cfg).expect("json"));
    w.import().success();
    w
}

fn edit(w: &World, server: &str, f: impl FnOnce(&mut Value)) {
    let mut cfg = w.config_json();
    f(&mut cfg["mcpServers"][server]);
    w.write_config(&serde_json::to_vec_pretty(&cfg).expect("json"));
}

fn digest(w: &World, server: &str, env: &str) -> Result<String, String> {
    let report = w.spawn(server, &[("env_sha256", json!({"name": env}))])?;
    Ok(report["results"]["env_sha256"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

fn state(w: &World) -> Value {
    serde_json::from_slice(&std::fs::read(w.home.join("config/state.json")).expect("state"))
        .expect("json")
}

fn events_of(w: &World, kind: &str) -> Vec<Value> {
    w.audit_lines()
        .into_iter()
        .filter(|e| e["event"] == kind)
        .collect()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The real `keybroker` with this world's KEYBROKER_HOME, a HOME and XDG_CONFIG_HOME
/// under the world (so its Claude Desktop file is the one `discover` finds), and nothing
/// else that moves host files.
fn kb_discovering(w: &World) -> assert_cmd::Command {
    let mut c = w.kb();
    c.env("HOME", w.dir.path().join("home"))
        .env_remove("CODEX_HOME")
        .env_remove("CLAUDE_CONFIG_DIR");
    for h in keybroker::config::hosts::Host::ALL {
        for var in h.path_vars() {
            c.env_remove(var);
        }
    }
    c.env("XDG_CONFIG_HOME", w.dir.path());
    c
}

/// `<dir>/keybroker`: a shell script that exports `NOTE` and runs the real launcher.
fn wrapper(w: &World, dir: &str) -> PathBuf {
    let dir = w.dir.path().join(dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("keybroker");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nexport KB_WRAPPED=1\nexec '{}' \"$@\"\n",
            assert_cmd::cargo::cargo_bin("keybroker").display()
        ),
    )
    .expect("wrapper");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    path
}

fn servers_json(w: &World) -> Vec<Value> {
    let out = w
        .kb()
        .args(["servers", "--json", "--config"])
        .arg(&w.config)
        .assert()
        .success();
    serde_json::from_slice::<Value>(&out.get_output().stdout)
        .expect("json")
        .as_array()
        .cloned()
        .expect("list")
}

fn row<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list:?}"))
}

#[cfg(unix)]
#[test]
fn an_entry_starting_a_wrapper_named_keybroker_is_launcher_drift_in_servers_hosts_and_watch() {
    let w = world_with_echo();
    assert_eq!(row(&servers_json(&w), "echo")["status"], "brokered");
    let fake = wrapper(&w, "wrapper-bin");
    assert!(fake.starts_with(std::env::temp_dir()), "{}", fake.display());
    edit(&w, "echo", |e| e["command"] = json!(fake));
    // A real wrapper: it starts the real launcher, which starts the server.
    assert_eq!(digest(&w, "echo", "GITHUB_TOKEN"), Ok(sha256_hex(TOKEN)));

    let list = servers_json(&w);
    let echo = row(&list, "echo");
    assert_eq!(echo["status"], "launcher-drift", "{echo}");
    let detail = echo["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("not this installation's keybroker")
            && detail.contains("keybroker repair claude-desktop"),
        "{detail}"
    );

    let hosts = kb_discovering(&w)
        .args(["hosts", "--json"])
        .assert()
        .success();
    let hosts: Value = serde_json::from_slice(&hosts.get_output().stdout).expect("json");
    let claude = hosts
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["host"] == "claude-desktop")
        .unwrap_or_else(|| panic!("claude-desktop in {hosts}"));
    assert_eq!(claude["servers"], 1, "{claude}");
    assert_eq!(claude["brokered"], 0, "{claude}");
    assert_eq!(claude["drifted"], 1, "{claude}");

    // `watch` reports it as soon as it starts.
    let mut watch = Command::new(assert_cmd::cargo::cargo_bin("keybroker"))
        .args(["watch", "--json", "--file"])
        .arg(format!("claude-desktop={}", w.config.display()))
        .env("KEYBROKER_HOME", &w.home)
        .env("HOME", w.dir.path().join("home"))
        .env("XDG_CONFIG_HOME", w.dir.path().join("xdg-none"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("watch");
    let stdout = watch.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let drift = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => {
                let v: Value = serde_json::from_str(&l).unwrap_or(Value::Null);
                if v["kind"] == "launcher" {
                    break v;
                }
                seen.push(l);
            }
            Err(_) => panic!("no launcher drift from watch: {seen:?}"),
        }
    };
    let _ = watch.kill();
    let _ = watch.wait();
    assert_eq!(drift["server"], "claude-desktop/echo", "{drift}");

    // A launcher that is not there at all is drift too.
    edit(&w, "echo", |e| {
        e["command"] = json!(w.dir.path().join("gone/keybroker"))
    });
    let list = servers_json(&w);
    let echo = row(&list, "echo");
    assert_eq!(echo["status"], "launcher-drift", "{echo}");
    assert!(
        echo["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("does not exist"),
        "{echo}"
    );
}

#[test]
fn repair_points_a_moved_launchers_entries_back_without_approving_anything_and_the_server_starts_again()
 {
    let w = world_with_echo();
    let real = w.config_json()["mcpServers"]["echo"].clone();
    // Keybroker moved: the entries name an installation that is gone.
    let old = w.dir.path().join("old-install/keybroker");
    edit(&w, "echo", |e| e["command"] = json!(old));
    // A copy naming the server with a binding id of its own is not Keybroker's entry.
    let mut cfg = w.config_json();
    let mut copy = cfg["mcpServers"]["echo"].clone();
    let args = copy["args"].as_array_mut().expect("args");
    let at = args.iter().position(|a| a == "--binding").expect("binding");
    args[at + 1] = json!("00112233445566778899aabbccddeeff");
    cfg["mcpServers"]["echo-copy"] = copy.clone();
    w.write_config(&serde_json::to_vec_pretty(&cfg).expect("json"));

    assert!(
        digest(&w, "echo", "GITHUB_TOKEN").is_err(),
        "the old launcher is gone"
    );
    assert_eq!(row(&servers_json(&w), "echo")["status"], "launcher-drift");
    let state_before = std::fs::read(w.home.join("config/state.json")).expect("state");
    let approved_before = events_of(&w, "approved").len();

    let out = w.kb().args(["repair", "--dry-run"]).assert().success();
    let (shown, _) = text(out.get_output());
    assert!(
        shown.contains("claude-desktop/echo (echo): launcher"),
        "{shown}"
    );
    assert_eq!(w.config_json()["mcpServers"]["echo"]["command"], json!(old));

    let out = w.kb().args(["repair", "--yes"]).assert().success();
    let (shown, _) = text(out.get_output());
    assert!(shown.contains("Repaired 1 entry"), "{shown}");
    let cfg = w.config_json();
    assert_eq!(cfg["mcpServers"]["echo"], real, "only the launcher changed");
    assert_eq!(
        cfg["mcpServers"]["echo-copy"], copy,
        "a foreign entry is left"
    );
    assert_eq!(
        std::fs::read(w.home.join("config/state.json")).expect("state"),
        state_before,
        "approvals, bindings and binding ids are untouched"
    );
    assert_eq!(events_of(&w, "approved").len(), approved_before);
    let rewritten = events_of(&w, "rewritten");
    let last = rewritten.last().expect("rewritten");
    assert!(
        last["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("launcher repaired"),
        "{last}"
    );

    assert_eq!(row(&servers_json(&w), "echo")["status"], "brokered");
    assert_eq!(digest(&w, "echo", "GITHUB_TOKEN"), Ok(sha256_hex(TOKEN)));
    let out = w.kb().args(["repair", "--yes"]).assert().success();
    assert!(text(out.get_output()).0.contains("nothing to repair"));
}

/// The echo entry's command changed (an extra argument) and it gained a plaintext secret.
fn change_and_gain(w: &World) {
    edit(w, "echo", |e| {
        e["args"]
            .as_array_mut()
            .expect("args")
            .push(json!("--changed-by-someone"));
        e["env"]["EXTRA_API_KEY"] = json!(GAINED);
    });
}

#[test]
fn import_shows_a_changed_command_that_gained_a_plaintext_secret_and_moves_nothing_until_approved()
{
    let w = world_with_echo();
    change_and_gain(&w);
    let bytes = w.config_bytes();
    let record = state(&w)["servers"]["claude-desktop/echo"].clone();
    let credentials = state(&w)["credentials"].clone();
    let lines = w.audit_lines().len();

    let out = w.import().success();
    let (shown, _) = text(out.get_output());
    for part in [
        "command changed: needs your approval",
        "approved command: node ",
        "new command:      node ",
        "--changed-by-someone",
        "approved spawn:",
        "new spawn:",
        "env:EXTRA_API_KEY",
        "stays in the file until you approve",
        "--approve claude-desktop/echo",
    ] {
        assert!(shown.contains(part), "`{part}` in:\n{shown}");
    }
    assert!(!shown.contains("KBCANARY"), "{shown}");
    assert_eq!(w.config_bytes(), bytes, "the entry is left as is");
    assert_eq!(state(&w)["servers"]["claude-desktop/echo"], record);
    assert_eq!(state(&w)["credentials"], credentials, "nothing stored");
    assert_eq!(w.audit_lines().len(), lines, "nothing happened to audit");

    // The launcher still refuses the changed entry; `approve` alone cannot take a
    // plaintext secret into an approval.
    let out = w.run_entry("echo");
    assert_eq!(out.status.code(), Some(77), "{}", text(&out).1);
    let out = w
        .kb()
        .args(["approve", "claude-desktop/echo", "--yes"])
        .output()
        .expect("approve");
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("--approve claude-desktop/echo"), "{stderr}");
    assert!(!stdout.contains("KBCANARY") && !stderr.contains("KBCANARY"));
    assert!(events_of(&w, "approved").is_empty());

    // Approved at import: the secret moves, the new command is recorded, audited once.
    let out = w
        .kb()
        .args([
            "import",
            "claude-desktop",
            "--yes",
            "--approve",
            "claude-desktop/echo",
            "--config",
        ])
        .arg(&w.config)
        .assert()
        .success();
    let (shown, _) = text(out.get_output());
    assert!(shown.contains("approve the new command"), "{shown}");
    assert!(w.files_containing(b"KBCANARY").is_empty());
    let approved = events_of(&w, "approved");
    assert_eq!(approved.len(), 1, "{approved:?}");
    assert_eq!(approved[0]["server"], "claude-desktop/echo");
    let st = state(&w);
    let rec = &st["servers"]["claude-desktop/echo"];
    assert_ne!(rec["fingerprint"], record["fingerprint"]);
    assert_eq!(rec["binding_id"], record["binding_id"]);
    assert_eq!(digest(&w, "echo", "EXTRA_API_KEY"), Ok(sha256_hex(GAINED)));
    assert_eq!(digest(&w, "echo", "GITHUB_TOKEN"), Ok(sha256_hex(TOKEN)));
}

#[test]
fn importing_another_file_that_names_a_brokered_servers_id_never_rebinds_that_server() {
    let w = world_with_echo();
    let entry = w.config_json()["mcpServers"]["echo"].clone();
    let record = state(&w)["servers"]["claude-desktop/echo"].clone();

    // A cloned project's file holds an exact copy of the entry (binding id included)
    // with a plaintext secret of its own, and a second Claude Desktop-format file holds
    // a plain `echo` whose id is the brokered server's.
    let project = w.dir.path().join("cloned");
    std::fs::create_dir_all(project.join(".cursor")).expect("dir");
    let cursor = project.join(".cursor/mcp.json");
    let mut copy = entry.clone();
    copy["env"]["EXTRA_API_KEY"] = json!(GAINED);
    std::fs::write(
        &cursor,
        serde_json::to_vec_pretty(&json!({"mcpServers": {"gh": copy}})).expect("json"),
    )
    .expect("write");
    let other = w.dir.path().join("other/claude_desktop_config.json");
    std::fs::create_dir_all(other.parent().expect("dir")).expect("dir");
    let plain = json!({"mcpServers": {"echo": {
        "command": "node", "args": [world::echo_server()], "env": {"GITHUB_TOKEN": OTHER}
    }}});
    std::fs::write(&other, serde_json::to_vec_pretty(&plain).expect("json")).expect("write");
    let (cursor_bytes, other_bytes) = (
        std::fs::read(&cursor).expect("r"),
        std::fs::read(&other).expect("r"),
    );

    let out = w
        .kb()
        .args(["import", "cursor", "--yes", "--project"])
        .arg(&project)
        .assert()
        .success();
    assert!(
        text(out.get_output())
            .0
            .contains("whose entry Keybroker wrote in"),
        "{}",
        text(out.get_output()).0
    );
    let out = w
        .kb()
        .args(["import", "claude-desktop", "--yes", "--config"])
        .arg(&other)
        .assert()
        .success();
    assert!(
        text(out.get_output())
            .0
            .contains("would take that server over"),
        "{}",
        text(out.get_output()).0
    );
    assert_eq!(std::fs::read(&cursor).expect("r"), cursor_bytes);
    assert_eq!(std::fs::read(&other).expect("r"), other_bytes);
    assert_eq!(state(&w)["servers"]["claude-desktop/echo"], record);
    assert!(events_of(&w, "approved").is_empty());
    assert!(events_of(&w, "imported").iter().all(|e| {
        e["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&w.config.display().to_string()))
    }));
    assert_eq!(digest(&w, "echo", "GITHUB_TOKEN"), Ok(sha256_hex(TOKEN)));
}

#[test]
fn restore_reveal_writes_values_back_only_into_the_file_each_servers_record_came_from() {
    let w = world_with_echo();
    // Cursor's own file holds a server of the same name with its own token.
    let home = w.dir.path().join("home");
    let cursor = home.join(".cursor/mcp.json");
    std::fs::create_dir_all(cursor.parent().expect("dir")).expect("dir");
    let cfg = json!({"mcpServers": {"echo": {
        "command": "node", "args": [world::echo_server()], "env": {"GITHUB_TOKEN": OTHER}
    }}});
    std::fs::write(&cursor, serde_json::to_vec_pretty(&cfg).expect("json")).expect("write");
    kb_discovering(&w)
        .args(["import", "cursor", "--yes", "--config"])
        .arg(&cursor)
        .assert()
        .success();
    // Someone copies Claude Desktop's brokered entry into Cursor's file.
    let mut cur: Value = serde_json::from_slice(&std::fs::read(&cursor).expect("r")).expect("json");
    let claude_entry = w.config_json()["mcpServers"]["echo"].clone();
    cur["mcpServers"]["echo-from-claude"] = claude_entry.clone();
    std::fs::write(&cursor, serde_json::to_vec_pretty(&cur).expect("json")).expect("write");

    let out = kb_discovering(&w)
        .args(["restore", "cursor", "--reveal", "--yes", "--config"])
        .arg(&cursor)
        .assert()
        .success();
    let (shown, _) = text(out.get_output());
    assert!(shown.contains("echo-from-claude: left as is"), "{shown}");
    let after = std::fs::read_to_string(&cursor).expect("r");
    assert!(after.contains(OTHER), "cursor's own value is back");
    assert!(
        !after.contains(TOKEN),
        "claude's value never reaches cursor's file"
    );
    let cur: Value = serde_json::from_str(&after).expect("json");
    assert_eq!(cur["mcpServers"]["echo-from-claude"], claude_entry);
    let st = state(&w);
    assert!(st["servers"].get("cursor/echo").is_none());
    assert!(st["servers"].get("claude-desktop/echo").is_some());
    assert_eq!(digest(&w, "echo", "GITHUB_TOKEN"), Ok(sha256_hex(TOKEN)));

    w.kb()
        .args(["restore", "claude-desktop", "--reveal", "--yes", "--config"])
        .arg(&w.config)
        .assert()
        .success();
    assert_eq!(
        w.config_json()["mcpServers"]["echo"]["env"]["GITHUB_TOKEN"],
        TOKEN
    );
    let restored: Vec<Value> = events_of(&w, "restored")
        .iter()
        .map(|e| e["server"].clone())
        .collect();
    assert_eq!(
        restored,
        [json!("cursor/echo"), json!("claude-desktop/echo")]
    );
    assert!(events_of(&w, "approved").is_empty());
}

/// A remote server with a static `X-API-Key`, behind a scripted peer that records every
/// request (so a test sees whether, and which, key reached it).
fn world_with_remote() -> (World, remote::Scripted) {
    let w = World::new();
    let server = remote::Scripted::start(|req| match req.method.as_str() {
        "POST" if req.body.contains("initialize") => remote::json_response(
            200,
            "",
            r#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"s","version":"1"}}}"#,
        ),
        _ => remote::json_response(405, "", ""),
    });
    w.kb()
        .args(["add", "claude-desktop", "api", "--url"])
        .arg(server.url("/mcp"))
        .args(["--header", "X-API-Key", "--config"])
        .arg(&w.config)
        .write_stdin(TOKEN)
        .assert()
        .success();
    (w, server)
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

fn run_bridge(w: &World, args: &[String]) -> Output {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("keybroker"))
        .args(args)
        .env("KEYBROKER_HOME", &w.home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bridge");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{INIT}").expect("write");
    drop(stdin);
    child.wait_with_output().expect("wait")
}

/// The requests that reached `server`, after checking each carried the server's own key.
fn requests_with_the_key(server: &remote::Scripted) -> usize {
    let seen = server.requests();
    for r in &seen {
        assert_eq!(
            r.header("x-api-key").map(sha256_hex),
            Some(sha256_hex(TOKEN)),
            "{} {}",
            r.method,
            r.path
        );
    }
    seen.len()
}

fn assert_bridge_denied(w: &World, server: &remote::Scripted, args: &[String], reason: &str) {
    let before = w.audit_lines().len();
    let out = run_bridge(w, args);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(77), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains(reason), "`{reason}` in {stderr}");
    assert!(server.requests().is_empty(), "nothing reached the server");
    let new = &w.audit_lines()[before..];
    assert!(new.iter().all(|e| e["event"] != "released"), "{new:?}");
    assert!(
        new.iter()
            .any(|e| e["event"] == "denied" && e["server"] == "claude-desktop/api"),
        "{new:?}"
    );
}

#[test]
fn a_bridge_started_without_its_entrys_binding_id_or_with_another_attaches_nothing() {
    let (w, server) = world_with_remote();
    let args = w.bridge_args("claude-desktop/api");
    let id = "claude-desktop/api".to_string();
    assert_bridge_denied(
        &w,
        &server,
        &["bridge".into(), id.clone()],
        "carries no binding id",
    );
    assert_bridge_denied(
        &w,
        &server,
        &[
            "bridge".into(),
            "--binding".into(),
            "00112233445566778899aabbccddeeff".into(),
            id.clone(),
        ],
        "is not the one Keybroker wrote",
    );
    // `--binding` after the id parses too; the entry's own arguments work.
    let out = run_bridge(
        &w,
        &["bridge".into(), id, "--binding".into(), args[2].clone()],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let first = requests_with_the_key(&server);
    assert!(first > 0);
    let out = run_bridge(&w, &args);
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(requests_with_the_key(&server) > first);
}

#[test]
fn a_bridge_entry_from_before_binding_ids_works_until_import_binds_it_to_its_file() {
    let (w, server) = world_with_remote();
    // As an earlier version wrote them: `bridge <id>`, and a record without a binding id.
    edit(&w, "api", |e| {
        e["args"] = json!(["bridge", "claude-desktop/api"])
    });
    let path = w.home.join("config/state.json");
    let mut st = state(&w);
    st["servers"]["claude-desktop/api"]
        .as_object_mut()
        .expect("record")
        .remove("binding_id");
    std::fs::write(&path, serde_json::to_vec_pretty(&st).expect("json")).expect("write");
    let old_form = vec!["bridge".to_string(), "claude-desktop/api".into()];
    let out = run_bridge(&w, &old_form);
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(requests_with_the_key(&server) > 0);
    let status = row(&servers_json(&w), "api")["status"].clone();
    assert!(
        status == "bridged" || status == "needs-sign-in",
        "recognised as the server's entry: {status}"
    );

    let out = w.import().success();
    assert!(
        text(out.get_output())
            .0
            .contains("bind the entry to this file"),
        "{}",
        text(out.get_output()).0
    );
    let args = w.bridge_args("claude-desktop/api");
    assert_eq!(
        state(&w)["servers"]["claude-desktop/api"]["binding_id"],
        json!(args[2])
    );
    let before = requests_with_the_key(&server);
    let out = run_bridge(&w, &old_form);
    assert_eq!(out.status.code(), Some(77), "{}", text(&out).1);
    assert_eq!(
        requests_with_the_key(&server),
        before,
        "refused before any request"
    );
    let out = run_bridge(&w, &args);
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(requests_with_the_key(&server) > before);
}
