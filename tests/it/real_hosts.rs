//! Real hosts from npm (`tests/hosts`) read what `keybroker import` wrote and start the
//! brokered server through `keybroker run`, offline, under a temporary HOME:
//!
//! - Claude Code (`claude mcp list`) and Gemini CLI (`gemini mcp list`) health-check each
//!   stdio server. The server (tests/peers/secret-echo-server.mjs, official MCP SDK)
//!   exits before `initialize` unless it received the right secret, so "connected" means
//!   the launcher released the right value. A second server that was given a different
//!   secret must fail the same check: the check can fail.
//! - Codex CLI (`codex mcp get --json`) parses the rewritten TOML entry.
#![cfg(target_os = "linux")]

use keybroker_test_support::world;

use std::path::{Path, PathBuf};
use std::process::Command;

use world::World;

const TOKEN: &str = "ghp_KBCANARYghEbNXbnFJZlruZPOSZfkleGN4jF";
const OTHER: &str = "ghp_KBCANARYotherNXbnFJZlruZPOSZfkleGN4jF";

fn hosts_bin(rel: &str) -> PathBuf {
    let p = world::repo().join("tests/hosts/node_modules").join(rel);
    assert!(
        p.exists(),
        "{} is missing: run `make deps` (scripts/install-deps.sh installs tests/hosts)",
        p.display()
    );
    p
}

fn claude_bin() -> PathBuf {
    // The platform package holds the native binary; the wrapper's own copy is only put
    // in place by a postinstall script that npm may be told not to run.
    let native =
        world::repo().join("tests/hosts/node_modules/@anthropic-ai/claude-code-linux-x64/claude");
    if native.exists() {
        native
    } else {
        hosts_bin(".bin/claude")
    }
}

/// Two servers: `echo` gets TOKEN, `echo-wrong` gets OTHER; both demand TOKEN.
fn servers_json(extra_env: &[(&str, &str)]) -> serde_json::Value {
    let want = format!("GITHUB_PERSONAL_ACCESS_TOKEN={}", world::sha256_hex(TOKEN));
    let entry = |token: &str| {
        let mut env = serde_json::Map::new();
        for (k, v) in extra_env {
            env.insert((*k).into(), (*v).into());
        }
        env.insert("GITHUB_PERSONAL_ACCESS_TOKEN".into(), token.into());
        env.insert("REQUIRE_ENV_SHA256".into(), want.clone().into());
        serde_json::json!({
            "command": "node",
            "args": [world::echo_server()],
            "env": env,
        })
    };
    serde_json::json!({ "echo": entry(TOKEN), "echo-wrong": entry(OTHER) })
}

fn kb_import(w: &World, home: &Path, host: &str) {
    let out = w
        .kb()
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("CODEX_HOME")
        .env_remove("CLAUDE_CONFIG_DIR")
        .args(["import", host, "--yes"])
        .output()
        .expect("import");
    assert!(
        out.status.success(),
        "import {host}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run a host binary offline under `home`, bounded by `timeout`.
fn host_cmd(program: &Path, home: &Path, w: &World) -> Command {
    let mut c = Command::new("timeout");
    c.arg("120")
        .arg(program)
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("CODEX_HOME")
        .env_remove("CLAUDE_CONFIG_DIR")
        .env("KEYBROKER_HOME", &w.home)
        .env("DISABLE_AUTOUPDATER", "1")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("NO_COLOR", "1");
    c
}

fn line_of<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find(|l| {
            l.trim_start_matches(['✓', '✗', '✔', '✘', ' '])
                .starts_with(prefix)
        })
        .unwrap_or_else(|| panic!("no line for `{prefix}` in:\n{out}"))
}

/// The server's record carries a tool guard: the host talked to it through the relay.
fn assert_guarded(w: &World, server: &str) {
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.home.join("config/state.json")).expect("state"))
            .expect("state json");
    assert!(
        state["servers"][server]["guard"].is_object(),
        "{server} is guarded: {}",
        state["servers"][server]
    );
}

fn released_to(w: &World, server: &str) -> bool {
    w.audit_lines()
        .iter()
        .any(|e| e["event"] == "released" && e["server"] == server)
}

#[test]
fn claude_code_connects_to_a_brokered_server_that_demands_the_right_secret() {
    let w = World::new();
    let home = w.dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let mut servers = servers_json(&[]);
    for v in servers.as_object_mut().expect("obj").values_mut() {
        v["type"] = "stdio".into();
    }
    let cfg = serde_json::json!({ "numStartups": 1, "mcpServers": servers });
    let file = home.join(".claude.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&cfg).expect("json")).expect("write");

    kb_import(&w, &home, "claude-code");
    let text = std::fs::read_to_string(&file).expect("read");
    assert!(!text.contains(world::CANARY_MARKER), "{text}");

    let out = host_cmd(&claude_bin(), &home, &w)
        .current_dir(&home)
        .args(["mcp", "list"])
        .output()
        .expect("claude mcp list");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let ok = line_of(&stdout, "echo:");
    assert!(
        ok.contains("Connected") && ok.contains("keybroker run claude-code/echo"),
        "{stdout}"
    );
    let wrong = line_of(&stdout, "echo-wrong:");
    assert!(wrong.contains("Failed"), "{stdout}");
    assert!(released_to(&w, "claude-code/echo"));
    assert_guarded(&w, "claude-code/echo");
}

#[test]
fn gemini_cli_connects_to_a_brokered_server_that_demands_the_right_secret() {
    let w = World::new();
    let home = w.dir.path().join("home");
    let project = w.dir.path().join("project");
    std::fs::create_dir_all(home.join(".gemini")).expect("home");
    std::fs::create_dir_all(&project).expect("project");
    // Gemini CLI drops inherited env vars whose name contains KEY, TOKEN, SECRET, ...
    // (KEYBROKER_HOME among them) before it starts a server, but passes an entry's own
    // env. A default install needs no KEYBROKER_HOME; this test's private one does.
    let home_str = w.home.to_string_lossy().into_owned();
    let cfg = serde_json::json!({
        "general": { "vimMode": false },
        "mcpServers": servers_json(&[("KEYBROKER_HOME", &home_str)]),
    });
    let file = home.join(".gemini/settings.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&cfg).expect("json")).expect("write");
    std::fs::write(
        home.join(".gemini/trustedFolders.json"),
        serde_json::json!({ project.to_string_lossy(): "TRUST_FOLDER" }).to_string(),
    )
    .expect("trust");

    kb_import(&w, &home, "gemini-cli");
    let text = std::fs::read_to_string(&file).expect("read");
    assert!(!text.contains(world::CANARY_MARKER), "{text}");

    let out = host_cmd(&hosts_bin(".bin/gemini"), &home, &w)
        .current_dir(&project)
        .args(["mcp", "list"])
        .output()
        .expect("gemini mcp list");
    // Gemini CLI prints the list on stderr.
    let stdout = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ok = line_of(&stdout, "echo:");
    assert!(
        ok.contains("- Connected") && ok.contains("keybroker run gemini-cli/echo"),
        "{stdout}"
    );
    let wrong = line_of(&stdout, "echo-wrong:");
    assert!(wrong.contains("Disconnected"), "{stdout}");
    assert!(released_to(&w, "gemini-cli/echo"));
    assert_guarded(&w, "gemini-cli/echo");
}

#[test]
fn codex_cli_reads_the_rewritten_toml_entry() {
    let w = World::new();
    let home = w.dir.path().join("home");
    std::fs::create_dir_all(home.join(".codex")).expect("home");
    let file = home.join(".codex/config.toml");
    std::fs::write(
        &file,
        format!(
            "# my codex config\nmodel = \"gpt-5\"  # default\n\n[mcp_servers.echo]\ncommand = \"node\"\nargs = [\"{}\"]\nenv = {{ GITHUB_PERSONAL_ACCESS_TOKEN = \"{TOKEN}\", LOG_LEVEL = \"debug\" }}\n",
            world::echo_server().display()
        ),
    )
    .expect("write");

    kb_import(&w, &home, "codex");
    let text = std::fs::read_to_string(&file).expect("read");
    assert!(!text.contains(world::CANARY_MARKER), "{text}");
    assert!(text.starts_with("# my codex config\nmodel = \"gpt-5\"  # default\n"));

    let out = host_cmd(&hosts_bin(".bin/codex"), &home, &w)
        .args(["mcp", "get", "echo", "--json"])
        .output()
        .expect("codex mcp get");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).expect("codex json");
    let t = &got["transport"];
    assert!(
        t["command"]
            .as_str()
            .is_some_and(|c| c.ends_with("/keybroker")),
        "{got}"
    );
    let args: Vec<&str> = t["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert_eq!(&args[..3], &["run", "codex/echo", "--binding"], "{got}");
    assert!(
        args[3].len() == 32 && args[3].chars().all(|c| c.is_ascii_hexdigit()),
        "a 128-bit binding id: {got}"
    );
    assert_eq!(&args[4..6], &["--", "node"], "{got}");
    // Codex passes only the entry's env: the entry carries this install's KEYBROKER_HOME.
    assert_eq!(
        t["env"],
        serde_json::json!({ "LOG_LEVEL": "debug", "KEYBROKER_HOME": w.home.to_string_lossy() })
    );

    // The entry Codex read starts the server with the right secret (with the entry's
    // env, as Codex passes it).
    let program = t["command"].as_str().expect("command");
    let mut c = Command::new(program);
    c.args(&args)
        .env("KEYBROKER_HOME", &w.home)
        .env("LOG_LEVEL", "debug")
        .env(
            "REQUIRE_ENV_SHA256",
            format!("GITHUB_PERSONAL_ACCESS_TOKEN={}", world::sha256_hex(TOKEN)),
        )
        .stdin(std::process::Stdio::null());
    let out = c.output().expect("run entry");
    // With stdin closed the server connects and then ends cleanly; a wrong or missing
    // secret makes it exit 3 before connecting.
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(released_to(&w, "codex/echo"));
}
