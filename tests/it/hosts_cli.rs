//! `keybroker hosts --supported` from outside, under a temporary HOME: every supported
//! host is listed with its user file (and project file when it has one), each marked
//! as found or missing, whether or not anything is installed.
#![cfg(target_os = "linux")]

use std::path::Path;

use keybroker::config::hosts::Host;
use serde_json::Value;

/// `keybroker` with a temporary HOME and KEYBROKER_HOME and nothing else that moves host
/// files.
fn kb(home: &Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("keybroker").expect("keybroker binary");
    c.env("HOME", home)
        .env("KEYBROKER_HOME", home.join("kbhome"))
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("CODEX_HOME")
        .env_remove("CLAUDE_CONFIG_DIR");
    for h in Host::ALL {
        for var in h.path_vars() {
            c.env_remove(var);
        }
    }
    c
}

fn supported_json(c: &mut assert_cmd::Command) -> Vec<Value> {
    let out = c.output().expect("hosts --supported");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json rows")
}

fn row<'a>(rows: &'a [Value], host: &str, scope: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["host"] == host && r["scope"] == scope)
        .unwrap_or_else(|| panic!("no {scope} row for {host}"))
}

fn touch(path: &Path) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
    std::fs::write(path, "{}\n").expect("write");
}

#[test]
fn supported_lists_every_host_with_its_files_found_or_missing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let project = tmp.path().join("my-app");
    std::fs::create_dir_all(&home).expect("home");
    touch(&home.join(".cursor/mcp.json"));
    touch(&project.join(".vscode/mcp.json"));

    let rows = supported_json(
        kb(&home)
            .args(["hosts", "--supported", "--json", "--project"])
            .arg(&project),
    );

    for h in Host::ALL {
        // A host that reads only its project's file (Grok CLI) has no user row.
        let users: Vec<&Value> = rows
            .iter()
            .filter(|r| r["host"] == h.id() && r["scope"] == "user")
            .collect();
        assert_eq!(
            users.is_empty(),
            h.spec().user_files.is_empty(),
            "{}",
            h.id()
        );
        for user in users {
            assert_eq!(user["name"], h.name());
            assert!(
                Path::new(user["path"].as_str().expect("path")).starts_with(&home),
                "{user}"
            );
        }
        let has_project = rows
            .iter()
            .any(|r| r["host"] == h.id() && r["scope"] == "project");
        assert_eq!(
            has_project,
            !h.spec().project_files.is_empty(),
            "{}",
            h.id()
        );
    }
    let cursor = row(&rows, "cursor", "user");
    assert_eq!(cursor["exists"], true);
    assert_eq!(
        cursor["path"],
        home.join(".cursor/mcp.json").to_str().expect("utf-8")
    );
    assert_eq!(cursor["format"], "json");
    assert_eq!(row(&rows, "cursor", "project")["exists"], false);
    let vscode = row(&rows, "vscode", "project");
    assert_eq!(vscode["exists"], true);
    assert_eq!(
        vscode["path"],
        project.join(".vscode/mcp.json").to_str().expect("utf-8")
    );
    assert_eq!(
        row(&rows, "vscode", "user")["path"],
        home.join(".config/Code/User/mcp.json")
            .to_str()
            .expect("utf-8")
    );
    let codex = row(&rows, "codex", "user");
    assert_eq!(codex["exists"], false);
    assert_eq!(codex["format"], "toml");
    assert_eq!(row(&rows, "claude-code", "user")["exists"], false);
}

#[test]
fn supported_follows_codex_home_and_prints_a_state_column() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let codex_home = tmp.path().join("codex");
    std::fs::create_dir_all(&home).expect("home");
    touch(&codex_home.join("config.toml"));

    let rows = supported_json(
        kb(&home)
            .env("CODEX_HOME", &codex_home)
            .args(["hosts", "--supported", "--json"])
            .current_dir(tmp.path()),
    );
    let codex = row(&rows, "codex", "user");
    assert_eq!(codex["exists"], true);
    assert_eq!(
        codex["path"],
        codex_home.join("config.toml").to_str().expect("utf-8")
    );
    // Without --project the project files are looked for in the current dir.
    assert_eq!(
        row(&rows, "claude-code", "project")["path"],
        tmp.path().join(".mcp.json").to_str().expect("utf-8")
    );

    let out = kb(&home)
        .env("CODEX_HOME", &codex_home)
        .args(["hosts", "--supported"])
        .current_dir(tmp.path())
        .output()
        .expect("hosts --supported");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let header = text.lines().next().expect("header");
    assert!(
        header.contains("STATE") && header.contains("FILE"),
        "{header}"
    );
    let codex_line = text
        .lines()
        .find(|l| l.starts_with("codex ") && l.contains(" user "))
        .expect("codex line");
    assert!(codex_line.contains(" exists "), "{codex_line}");
    let cursor_line = text
        .lines()
        .find(|l| l.starts_with("cursor ") && l.contains(" user "))
        .expect("cursor line");
    assert!(cursor_line.contains(" missing "), "{cursor_line}");
    for h in Host::ALL {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{} ", h.id()))),
            "{} missing from:\n{text}",
            h.id()
        );
    }
}
