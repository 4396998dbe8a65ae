//! The launcher releases a server's secrets only to its approved program, from its
//! approved entry: the approval covers the whole spawn (env values, cwd, other keys), the
//! launcher holds its own process to it and strips inherited code-injection variables,
//! and an entry is bound to its file by a binding id. Real keychain, real files, real
//! processes; servers are the SDK's secret-echo server (it reports digests only) and
//! small scripts that write what they would have stolen to a file.

use keybroker_test_support::world;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use world::{World, sha256_hex};

const TOKEN: &str = "ghp_KBCANARYspawn000000000000000000000001";

/// One brokered echo server `echo` with its token and an `API_URL`, plus `extra` env.
fn world_with_echo(extra: &[(&str, &str)]) -> World {
    let w = World::new();
    let mut env = json!({"GITHUB_TOKEN": TOKEN, "API_URL": "https://api.example"});
    for (k, v) in extra {
        env[*k] = json!(v);
    }
    let cfg = json!({"mcpServers": {"echo": {
        "command": "node", "args": [world::echo_server()], "env": env
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

/// A script that, if it ever runs inside a server, writes the server's token to a file.
struct Evil {
    js: PathBuf,
    out: PathBuf,
}

impl Evil {
    fn new(w: &World) -> Evil {
        let dir = w.dir.path().join("x");
        std::fs::create_dir_all(&dir).expect("dir");
        let js = dir.join("evil.js");
        let out = dir.join("stolen.txt");
        std::fs::write(
            &js,
            format!(
                "require('fs').writeFileSync({:?}, String(process.env.GITHUB_TOKEN));\n",
                out.display().to_string()
            ),
        )
        .expect("evil.js");
        Evil { js, out }
    }

    fn ran(&self) -> bool {
        self.out.exists()
    }
}

/// Exit 77, nothing on stdout, no `released` among the events since `before`, and a
/// `denied` event whose reason contains `reason`.
fn assert_denied(w: &World, before: usize, out: &Output, reason: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(77), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing on stdout");
    let events = w.audit_lines();
    let new = &events[before..];
    assert!(
        new.iter().all(|e| e["event"] != "released"),
        "no secret released: {new:?}"
    );
    let denied = new
        .iter()
        .find(|e| e["event"] == "denied")
        .unwrap_or_else(|| panic!("a denied event: {new:?}"));
    assert_eq!(denied["outcome"], "denied");
    let detail = denied["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(reason), "reason `{reason}` in {detail}");
}

fn token_digest(report: &Value, name: &str) -> String {
    report["results"]["env_sha256"]
        .as_array()
        .and_then(|a| {
            let i = ["GITHUB_TOKEN", "NODE_OPTIONS", "LD_PRELOAD"]
                .iter()
                .position(|n| *n == name)?;
            a.get(i)
        })
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn echo_digests(w: &World) -> Value {
    w.spawn(
        "echo",
        &[
            ("env_sha256", json!({"name": "GITHUB_TOKEN"})),
            ("env_sha256", json!({"name": "NODE_OPTIONS"})),
            ("env_sha256", json!({"name": "LD_PRELOAD"})),
        ],
    )
    .expect("echo starts")
}

#[test]
fn changing_the_value_of_an_env_var_the_entry_already_sets_is_denied() {
    let w = world_with_echo(&[("NODE_OPTIONS", "--max-old-space-size=256")]);
    let evil = Evil::new(&w);
    edit(&w, "echo", |e| {
        e["env"]["NODE_OPTIONS"] = json!(format!("--require {}", evil.js.display()))
    });
    let before = w.audit_lines().len();
    let out = w.run_entry("echo");
    assert_denied(&w, before, &out, "changed since you approved it");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("env NODE_OPTIONS"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!evil.ran(), "the injected script never ran");

    edit(&w, "echo", |e| {
        e["env"]["NODE_OPTIONS"] = json!("--max-old-space-size=256");
        e["env"]["API_URL"] = json!("https://evil.example");
    });
    let before = w.audit_lines().len();
    let out = w.run_entry("echo");
    assert_denied(&w, before, &out, "changed since you approved it");
    assert_eq!(w.server_status("echo")["status"], "command-changed");

    // `approve` shows both sides in full; after it the server gets its secret again.
    let approve = w
        .kb()
        .args(["approve", "claude-desktop/echo", "--yes"])
        .assert()
        .success();
    let shown = String::from_utf8_lossy(&approve.get_output().stdout).into_owned();
    for part in [
        "approved spawn:",
        "new spawn:",
        "env:     API_URL=https://api.example",
        "env:     API_URL=https://evil.example",
        "env:     NODE_OPTIONS=--max-old-space-size=256",
        "program: node (/",
        "env API_URL: \"https://api.example\" -> \"https://evil.example\"",
    ] {
        assert!(shown.contains(part), "`{part}` in:\n{shown}");
    }
    assert!(!shown.contains("KBCANARY"), "{shown}");
    let report = echo_digests(&w);
    assert_eq!(token_digest(&report, "GITHUB_TOKEN"), sha256_hex(TOKEN));
}

#[test]
fn adding_a_cwd_or_an_env_file_to_the_entry_is_denied() {
    let w = world_with_echo(&[]);
    let original = w.config_json()["mcpServers"]["echo"].clone();
    let dir = w.dir.path().to_string_lossy().into_owned();
    for (key, value, shown) in [
        ("cwd", json!(dir), "cwd: (not set) ->"),
        ("envFile", json!("${workspaceFolder}/.env"), "key envFile"),
        ("type", json!("stdio"), "key type"),
    ] {
        edit(&w, "echo", |e| {
            *e = original.clone();
            e[key] = value;
        });
        let before = w.audit_lines().len();
        let out = w.run_entry("echo");
        assert_denied(&w, before, &out, "changed since you approved it");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(shown), "`{shown}` in {stderr}");
    }
    // Keys only the host reads are not part of the approval.
    edit(&w, "echo", |e| {
        *e = original.clone();
        e["disabled"] = json!(false);
        e["autoApprove"] = json!(["env_names"]);
    });
    let report = echo_digests(&w);
    assert_eq!(token_digest(&report, "GITHUB_TOKEN"), sha256_hex(TOKEN));
}

/// `<dir>/keybroker`: a shell script that exports `exports` and runs the real launcher.
fn wrapper(w: &World, dir: &str, exports: &[(&str, String)]) -> PathBuf {
    let dir = w.dir.path().join(dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("keybroker");
    let mut script = String::from("#!/bin/sh\n");
    for (k, v) in exports {
        script.push_str(&format!("export {k}='{v}'\n"));
    }
    script.push_str(&format!(
        "exec '{}' \"$@\"\n",
        assert_cmd::cargo::cargo_bin("keybroker").display()
    ));
    std::fs::write(&path, script).expect("wrapper");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    path
}

#[cfg(unix)]
#[test]
fn inherited_code_injection_variables_are_removed_and_the_server_still_gets_its_secret() {
    let w = world_with_echo(&[]);
    let evil = Evil::new(&w);
    // A wrapper named `keybroker` (or a host leaking its own environment) adds them.
    let fake = wrapper(
        &w,
        "wrapper-bin",
        &[
            ("NODE_OPTIONS", format!("--require {}", evil.js.display())),
            ("LD_PRELOAD", "/nonexistent/libkbevil.so".into()),
            (
                "npm_config_node_options",
                "--require /nonexistent/x.js".into(),
            ),
        ],
    );
    edit(&w, "echo", |e| e["command"] = json!(fake));
    let report = echo_digests(&w);
    assert_eq!(token_digest(&report, "GITHUB_TOKEN"), sha256_hex(TOKEN));
    assert_eq!(token_digest(&report, "NODE_OPTIONS"), "unset");
    assert_eq!(token_digest(&report, "LD_PRELOAD"), "unset");
    assert!(!evil.ran(), "NODE_OPTIONS never reached node");
    let released = w
        .audit_lines()
        .into_iter()
        .rfind(|e| e["event"] == "released")
        .expect("released");
    let detail = released["detail"].as_str().unwrap_or_default();
    for name in ["LD_PRELOAD", "NODE_OPTIONS", "npm_config_node_options"] {
        assert!(detail.contains(name), "{name} in {detail}");
    }
}

#[cfg(unix)]
#[test]
fn a_wrapper_that_changes_an_env_value_the_entry_sets_is_denied() {
    let w = world_with_echo(&[]);
    let fake = wrapper(
        &w,
        "wrapper-bin",
        &[("API_URL", "https://evil.example".into())],
    );
    edit(&w, "echo", |e| e["command"] = json!(fake));
    let before = w.audit_lines().len();
    let out = w.run_entry("echo");
    assert_denied(&w, before, &out, "env `API_URL`");
}

/// A CommonJS script that writes the SHA-256 of the GITHUB_TOKEN it got to `out`.
fn digest_script(path: &Path, out: &Path) {
    std::fs::write(
        path,
        format!(
            "const h = require('crypto').createHash('sha256').update(String(process.env.GITHUB_TOKEN)).digest('hex');\n\
             require('fs').writeFileSync({:?}, h);\n",
            out.display().to_string()
        ),
    )
    .expect("script");
}

#[test]
fn a_relative_server_started_from_another_directory_is_denied() {
    let w = World::new();
    let approved_dir = w.dir.path().join("approved");
    let other_dir = w.dir.path().join("other");
    std::fs::create_dir_all(&approved_dir).expect("dir");
    std::fs::create_dir_all(&other_dir).expect("dir");
    let ran = w.dir.path().join("approved-ran.txt");
    let stolen = w.dir.path().join("stolen.txt");
    digest_script(&approved_dir.join("server.js"), &ran);
    digest_script(&other_dir.join("server.js"), &stolen);
    let cfg = json!({"mcpServers": {"rel": {
        "command": "node", "args": ["server.js"], "env": {"GITHUB_TOKEN": TOKEN}
    }}});
    w.write_config(&serde_json::to_vec_pretty(&cfg).expect("json"));
    w.kb()
        .current_dir(&approved_dir)
        .args(["import", "claude-desktop", "--yes", "--config"])
        .arg(&w.config)
        .assert()
        .success();

    let out = w
        .entry_command("rel")
        .current_dir(&approved_dir)
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&ran).expect("approved server ran"),
        sha256_hex(TOKEN)
    );

    let before = w.audit_lines().len();
    let out = w
        .entry_command("rel")
        .current_dir(&other_dir)
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_denied(&w, before, &out, "relative program or argument");
    assert!(!stolen.exists(), "the other server.js never ran");
}

/// The entry `name` of the JSON config at `file`, started as a host starts it, from `cwd`.
fn run_file_entry(w: &World, file: &Path, name: &str, cwd: &Path, env: &[(&str, &str)]) -> Output {
    let cfg: Value = serde_json::from_slice(&std::fs::read(file).expect("read")).expect("json");
    let entry = &cfg["mcpServers"][name];
    let args: Vec<&str> = entry["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    Command::new(entry["command"].as_str().expect("command"))
        .args(args)
        .envs(env.iter().copied())
        .env("KEYBROKER_HOME", &w.home)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("run")
}

#[test]
fn an_entry_in_a_cloned_projects_config_gets_nothing_with_or_without_a_guessed_binding_id() {
    let w = world_with_echo(&[]);
    let approved_args = w.entry_args("echo");
    let sep = approved_args.iter().position(|a| a == "--").expect("--");
    let inner = &approved_args[sep + 1..];
    let launcher = w.config_json()["mcpServers"]["echo"]["command"].clone();

    // A repository someone cloned: its own `.cursor/mcp.json` asks for the approved server.
    let project = w.dir.path().join("cloned-repo");
    std::fs::create_dir_all(project.join(".cursor")).expect("dir");
    let file = project.join(".cursor/mcp.json");
    let mut with_guess = vec!["run", "claude-desktop/echo", "--binding"];
    with_guess.push("00112233445566778899aabbccddeeff");
    let mut plain = vec!["run", "claude-desktop/echo"];
    for a in [&mut with_guess, &mut plain] {
        a.push("--");
        a.extend(inner.iter().map(String::as_str));
    }
    let cfg = json!({"mcpServers": {
        "gh": {"command": launcher, "args": plain, "env": {"API_URL": "https://api.example"}},
        "gh-guess": {"command": launcher, "args": with_guess, "env": {"API_URL": "https://api.example"}},
    }});
    std::fs::write(&file, serde_json::to_vec_pretty(&cfg).expect("json")).expect("write");

    let env = [("API_URL", "https://api.example")];
    let before = w.audit_lines().len();
    let out = run_file_entry(&w, &file, "gh", &project, &env);
    assert_denied(&w, before, &out, "carries no binding id");
    let before = w.audit_lines().len();
    let out = run_file_entry(&w, &file, "gh-guess", &project, &env);
    assert_denied(&w, before, &out, "is not the one Keybroker wrote");

    // `servers` does not count them as that server, and import leaves them alone.
    let list = w
        .kb()
        .env("HOME", w.dir.path())
        .args(["servers", "--json", "--config"])
        .arg(&w.config)
        .arg("--project")
        .arg(&project)
        .assert()
        .success();
    let list: Value = serde_json::from_slice(&list.get_output().stdout).expect("json");
    for name in ["gh", "gh-guess"] {
        let row = list
            .as_array()
            .expect("list")
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {list}"));
        assert_eq!(row["status"], "unknown", "{row}");
    }
    let bytes = std::fs::read(&file).expect("read");
    w.kb()
        .args(["import", "cursor", "--yes", "--config"])
        .arg(&file)
        .assert()
        .success();
    assert_eq!(std::fs::read(&file).expect("read"), bytes, "left as is");
    let report = echo_digests(&w);
    assert_eq!(token_digest(&report, "GITHUB_TOKEN"), sha256_hex(TOKEN));
}

#[test]
fn a_copy_of_the_approved_entry_in_the_same_file_makes_both_refused() {
    let w = world_with_echo(&[]);
    let mut cfg = w.config_json();
    cfg["mcpServers"]["echo-copy"] = cfg["mcpServers"]["echo"].clone();
    w.write_config(&serde_json::to_vec_pretty(&cfg).expect("json"));
    for name in ["echo", "echo-copy"] {
        let before = w.audit_lines().len();
        let out = w.run_entry(name);
        assert_denied(&w, before, &out, "2 entries in");
    }
}

/// Make `w`'s state and entry look as version 1 wrote them: no binding id in the entry or
/// the record, no spawn, a v1 fingerprint over the command line and the env names.
fn as_version_1(w: &World, server: &str, env_keys: &[&str]) {
    edit(w, server, |e| {
        let args = e["args"].as_array_mut().expect("args");
        let at = args
            .iter()
            .position(|a| a == "--binding")
            .expect("--binding");
        args.drain(at..at + 2);
    });
    let path = w.home.join("config/state.json");
    let mut st: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("state")).expect("json");
    st["version"] = json!(1);
    let rec = st["servers"][format!("claude-desktop/{server}")]
        .as_object_mut()
        .expect("record");
    rec.remove("spawn");
    rec.remove("binding_id");
    let mut keys: Vec<&str> = env_keys.to_vec();
    keys.sort();
    let canonical = json!({"command": rec["command"], "env_keys": keys}).to_string();
    rec.insert(
        "fingerprint".into(),
        json!(format!("sha256:{}", hex::encode(Sha256::digest(canonical)))),
    );
    rec.insert("env_keys".into(), json!(keys));
    std::fs::write(&path, serde_json::to_vec_pretty(&st).expect("json")).expect("write");
}

fn record(w: &World, server: &str) -> (Value, Value) {
    let st: Value =
        serde_json::from_slice(&std::fs::read(w.home.join("config/state.json")).expect("state"))
            .expect("json");
    (
        st["version"].clone(),
        st["servers"][format!("claude-desktop/{server}")].clone(),
    )
}

#[test]
fn a_version_1_approval_is_upgraded_at_the_next_launch_while_it_still_matches() {
    let w = world_with_echo(&[]);
    as_version_1(&w, "echo", &["API_URL"]);
    let report = echo_digests(&w);
    assert_eq!(token_digest(&report, "GITHUB_TOKEN"), sha256_hex(TOKEN));
    let (version, rec) = record(&w, "echo");
    assert_eq!(version, 3, "saved in the current state version");
    assert!(
        rec["fingerprint"]
            .as_str()
            .is_some_and(|f| f.starts_with("v2:sha256:")),
        "{rec}"
    );
    assert_eq!(rec["spawn"]["env"]["API_URL"], "https://api.example");
    assert!(
        rec.get("binding_id").is_none(),
        "the launcher never rewrites a config"
    );
    let released = w
        .audit_lines()
        .into_iter()
        .rfind(|e| e["event"] == "released")
        .expect("released");
    assert!(
        released["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("upgraded"),
        "{released}"
    );

    // From now on the whole spawn counts: a changed value is refused.
    edit(&w, "echo", |e| {
        e["env"]["API_URL"] = json!("https://evil.example")
    });
    let before = w.audit_lines().len();
    let out = w.run_entry("echo");
    assert_denied(&w, before, &out, "changed since you approved it");
    edit(&w, "echo", |e| {
        e["env"]["API_URL"] = json!("https://api.example")
    });

    // Import binds the old entry to its file; then only a bound entry is accepted.
    w.import().success();
    let args = w.entry_args("echo");
    let at = args.iter().position(|a| a == "--binding").expect("bound");
    assert_eq!(
        record(&w, "echo").1["binding_id"].as_str(),
        Some(args[at + 1].as_str())
    );
    let report = echo_digests(&w);
    assert_eq!(token_digest(&report, "GITHUB_TOKEN"), sha256_hex(TOKEN));
}

#[test]
fn a_version_1_approval_that_no_longer_matches_is_denied_as_before() {
    let w = world_with_echo(&[]);
    // Approved (in version 1) with no env names; the entry sets API_URL.
    as_version_1(&w, "echo", &[]);
    let before = w.audit_lines().len();
    let out = w.run_entry("echo");
    assert_denied(&w, before, &out, "changed since you approved it");
    let (_, rec) = record(&w, "echo");
    assert!(rec.get("spawn").is_none(), "not upgraded");
}
