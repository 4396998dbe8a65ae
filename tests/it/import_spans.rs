//! Import moves only the secret part of a value: a JSON env value (Notion's
//! `OPENAPI_MCP_HEADERS`), a composite argument (Twilio's `AC…/SK…:secret`), a key after a
//! subcommand, and `docker run -e NAME=value`. On the real keychain, with the official
//! SDK's client starting the rewritten entries and a real SDK server reporting the SHA-256
//! of what it received: the server gets exactly the original bytes, and no file anywhere
//! (KEYBROKER_HOME, the host's config dir) keeps a canary.

use keybroker_test_support::world;

use serde_json::{Value, json};
use world::{CANARY_MARKER, World, canaries, sha256_hex};

const NOTION: &str = "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";
const NOTION_DOCKER: &str = "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";
const TWILIO_SECRET: &str = "KBCANARY8AWYDnOE1cyZySrKdCJj2c9e";
const POSITIONAL_KEY: &str = "KBCANARYalv62sky1565i5xyy42pr0w6a00tef2rmh7vbpe9w4zz9nz266p4xx1le";
const DOCKER_KEY: &str = "sk-proj-KBCANARYdocker0123456789abcdefghijklmnopq";
const DSN_PASSWORD: &str = "KBCANARYdsn7Qm2xVb9LpTz4";

fn notion_headers(token: &str) -> String {
    // The spacing of the README's example, kept byte for byte.
    format!(r#"{{"Authorization": "Bearer {token}", "Notion-Version": "2022-06-28" }}"#)
}

fn twilio_pair() -> String {
    format!("ACf1ad35a70653c83ef7a3eb051cd058a6/SK54d812b1131cbfad1959a5357de84426:{TWILIO_SECRET}")
}

fn dsn() -> String {
    format!("postgresql://app:{DSN_PASSWORD}@localhost:5432/app")
}

/// The docker-style arguments as the user wrote them (after the server's script).
fn docker_args() -> Vec<String> {
    vec![
        "-e".into(),
        format!("API_KEY={DOCKER_KEY}"),
        "--env".into(),
        format!("OPENAPI_MCP_HEADERS={}", notion_headers(NOTION_DOCKER)),
        format!("--env=DB_URL={}", dsn()),
        "-e".into(),
        "MODE=plain".into(),
    ]
}

/// One host config with each kind of partly held secret, every entry an SDK server.
fn world_with_spans() -> World {
    let w = World::new();
    let echo = world::echo_server().to_string_lossy().into_owned();
    let mut docker = vec![echo.clone()];
    docker.extend(docker_args());
    let cfg = json!({
        "mcpServers": {
            "notion": {
                "command": "node",
                "args": [echo],
                "env": {"OPENAPI_MCP_HEADERS": notion_headers(NOTION), "PLAIN": "visible"}
            },
            "twilio": {"command": "node", "args": [echo, "--services", "twilio_api_v2010", twilio_pair()]},
            "neon": {"command": "node", "args": [echo, "start", POSITIONAL_KEY]},
            "docker": {"command": "node", "args": docker},
        },
        "preferences": {"sidebarMode": "chat"}
    });
    let mut bytes = serde_json::to_vec_pretty(&cfg).expect("json");
    bytes.push(b'\n');
    w.write_config(&bytes);
    w
}

fn state(w: &World) -> Value {
    serde_json::from_slice(&std::fs::read(w.home.join("config/state.json")).expect("state"))
        .expect("json")
}

/// The credential bound to `server` at `target` (the only one there).
fn bound(w: &World, server: &str, target: &str) -> String {
    let st = state(w);
    let found: Vec<String> = st["servers"][format!("claude-desktop/{server}")]["bindings"]
        .as_array()
        .expect("bindings")
        .iter()
        .filter(|b| b["target"] == target)
        .filter_map(|b| b["credential"].as_str().map(String::from))
        .collect();
    assert_eq!(found.len(), 1, "{server} {target}: {found:?}");
    found[0].clone()
}

fn ph(cred: &str) -> String {
    format!("${{keybroker:{cred}}}")
}

/// The args of a brokered entry's server after its script (`-- node <script> ...`).
fn inner_args(w: &World, server: &str) -> Vec<String> {
    w.entry_args(server)
        .into_iter()
        .skip_while(|a| a != "--")
        .skip(3)
        .collect()
}

fn no_canary_anywhere(w: &World) {
    assert_eq!(
        w.files_containing(CANARY_MARKER.as_bytes()),
        Vec::<std::path::PathBuf>::new(),
        "no file under KEYBROKER_HOME or the config dir keeps a canary"
    );
}

#[test]
fn only_the_secret_parts_move_and_every_server_receives_exactly_its_original_values() {
    let w = world_with_spans();
    let planted = canaries(&w.config_bytes());
    assert_eq!(planted.len(), 6, "{planted:?}");
    w.import().success();
    no_canary_anywhere(&w);
    for c in &planted {
        assert!(w.files_containing(c.as_bytes()).is_empty(), "{c} leaked");
    }

    // A template is no plaintext: every entry counts as brokered.
    for name in ["notion", "twilio", "neon", "docker"] {
        assert_eq!(w.server_status(name)["status"], "brokered", "{name}");
    }

    // Notion: the JSON stays, the token is a placeholder inside it.
    let cfg = w.config_json();
    let notion_cred = bound(&w, "notion", "env:OPENAPI_MCP_HEADERS");
    assert_eq!(
        cfg["mcpServers"]["notion"]["env"],
        json!({"OPENAPI_MCP_HEADERS": notion_headers(&ph(&notion_cred)), "PLAIN": "visible"})
    );
    assert_eq!(w.keychain_lookup(&notion_cred).as_deref(), Some(NOTION));
    // The approval keeps the template, never the value.
    let st = state(&w);
    assert_eq!(
        st["servers"]["claude-desktop/notion"]["spawn"]["env"]["OPENAPI_MCP_HEADERS"],
        notion_headers(&ph(&notion_cred))
    );
    let report = w
        .spawn(
            "notion",
            &[
                ("env_sha256", json!({"name": "OPENAPI_MCP_HEADERS"})),
                ("env_sha256", json!({"name": "PLAIN"})),
            ],
        )
        .expect("notion starts");
    assert_eq!(
        report["results"]["env_sha256"],
        json!([sha256_hex(&notion_headers(NOTION)), sha256_hex("visible")]),
        "the server gets exactly the original JSON"
    );

    // Twilio: only the secret after the colon, in its argument after a flag's value.
    // (Targets count the server's args from its script: `arg:0` is the script.)
    let twilio_cred = bound(&w, "twilio", "arg:3");
    assert_eq!(
        inner_args(&w, "twilio"),
        [
            "--services".to_string(),
            "twilio_api_v2010".into(),
            twilio_pair().replace(TWILIO_SECRET, &ph(&twilio_cred)),
        ]
    );
    let report = w
        .spawn("twilio", &[("arg_sha256", json!({"index": 2}))])
        .expect("twilio starts");
    assert_eq!(report["results"]["arg_sha256"], sha256_hex(&twilio_pair()));

    // A key after a subcommand.
    let neon_cred = bound(&w, "neon", "arg:2");
    assert_eq!(
        inner_args(&w, "neon"),
        ["start".to_string(), ph(&neon_cred)]
    );
    let report = w
        .spawn("neon", &[("arg_sha256", json!({"index": 1}))])
        .expect("neon starts");
    assert_eq!(report["results"]["arg_sha256"], sha256_hex(POSITIONAL_KEY));

    // docker -e: the values leave argv and reach the child's environment.
    assert_eq!(
        inner_args(&w, "docker"),
        [
            "-e",
            "API_KEY",
            "--env",
            "OPENAPI_MCP_HEADERS",
            "--env=DB_URL",
            "-e",
            "MODE=plain"
        ]
    );
    let headers_cred = bound(&w, "docker", "env:OPENAPI_MCP_HEADERS");
    let db_cred = bound(&w, "docker", "env:DB_URL");
    bound(&w, "docker", "env:API_KEY");
    assert_eq!(
        cfg["mcpServers"]["docker"]["env"],
        json!({
            "OPENAPI_MCP_HEADERS": notion_headers(&ph(&headers_cred)),
            "DB_URL": dsn().replace(DSN_PASSWORD, &ph(&db_cred)),
        }),
        "a value only partly secret waits in the entry's env as a template"
    );
    let mut calls: Vec<(&str, Value)> = (0..5)
        .map(|i| ("arg_sha256", json!({ "index": i })))
        .collect();
    for name in ["API_KEY", "OPENAPI_MCP_HEADERS", "DB_URL"] {
        calls.push(("env_sha256", json!({ "name": name })));
    }
    let report = w
        .spawn("docker", &calls)
        .expect("docker-style entry starts");
    let want_args: Vec<String> = [
        "-e",
        "API_KEY",
        "--env",
        "OPENAPI_MCP_HEADERS",
        "--env=DB_URL",
    ]
    .iter()
    .map(|a| sha256_hex(a))
    .collect();
    assert_eq!(report["results"]["arg_sha256"], json!(want_args));
    assert_eq!(
        report["results"]["env_sha256"],
        json!([
            sha256_hex(DOCKER_KEY),
            sha256_hex(&notion_headers(NOTION_DOCKER)),
            sha256_hex(&dsn())
        ])
    );

    // Every hand-out is audited where it went; the chain verifies; still nothing leaked.
    let released: Vec<(String, String)> = w
        .audit_lines()
        .into_iter()
        .filter(|e| e["event"] == "released")
        .map(|e| {
            (
                e["server"].as_str().unwrap_or("").to_string(),
                e["target"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for (server, target) in [
        ("notion", "env:OPENAPI_MCP_HEADERS"),
        ("twilio", "arg:3"),
        ("neon", "arg:2"),
        ("docker", "env:API_KEY"),
        ("docker", "env:OPENAPI_MCP_HEADERS"),
        ("docker", "env:DB_URL"),
    ] {
        assert!(
            released.contains(&(format!("claude-desktop/{server}"), target.to_string())),
            "{server} {target}: {released:?}"
        );
    }
    w.kb().args(["audit", "verify"]).assert().success();
    no_canary_anywhere(&w);
}

#[test]
fn the_plan_shows_each_move_masked_and_what_each_value_becomes() {
    let w = world_with_spans();
    let before = w.config_bytes();
    let out = w
        .kb()
        .args(["import", "claude-desktop", "--dry-run", "--config"])
        .arg(&w.config)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        !stdout.contains(CANARY_MARKER),
        "values are masked: {stdout}"
    );
    for part in [
        r#"becomes: env OPENAPI_MCP_HEADERS = {"Authorization": "Bearer ${keybroker:openapi-mcp-headers}", "Notion-Version": "2022-06-28" }"#,
        "becomes: args[3] = ACf1ad35a70653c83ef7a3eb051cd058a6/SK54d812b1131cbfad1959a5357de84426:${keybroker:",
        "becomes: args[2] = ${keybroker:",
        "becomes: args[2] = API_KEY; env API_KEY is set from the keychain at start",
        "becomes: args[4] = OPENAPI_MCP_HEADERS; env OPENAPI_MCP_HEADERS = {\"Authorization\": \"Bearer ${keybroker:",
        "becomes: args[5] = --env=DB_URL; env DB_URL = postgresql://app:${keybroker:",
        "ntn_…rIhH",
        "notion-token",
        "credential-pair",
    ] {
        assert!(stdout.contains(part), "`{part}` in:\n{stdout}");
    }
    let section = |server: &str| {
        stdout
            .split(&format!("  claude-desktop/{server}  ["))
            .nth(1)
            .and_then(|rest| rest.split("\n  claude-desktop/").next())
            .unwrap_or_default()
            .to_string()
    };
    assert!(section("twilio").contains("takes a secret in its command line"));
    assert!(
        !section("docker").contains("command line"),
        "docker -e values leave the command line: {stdout}"
    );
    assert_eq!(w.config_bytes(), before);
}

#[test]
fn restore_gives_back_the_original_shapes_and_with_reveal_the_exact_values() {
    let w = world_with_spans();
    let original = w.config_json();
    w.import().success();

    w.kb()
        .args(["restore", "claude-desktop", "--yes", "--config"])
        .arg(&w.config)
        .assert()
        .success();
    let cfg = w.config_json();
    let servers = &cfg["mcpServers"];
    assert_eq!(servers["notion"]["command"], "node");
    assert_eq!(
        servers["notion"]["env"]["OPENAPI_MCP_HEADERS"],
        notion_headers(""),
        "the JSON comes back with the token left empty"
    );
    let args = |s: &str| servers[s]["args"].clone();
    assert_eq!(args("twilio")[3], twilio_pair().replace(TWILIO_SECRET, ""));
    assert_eq!(args("neon")[2], "");
    let mut docker = vec![json!(world::echo_server().to_string_lossy())];
    docker.extend(
        docker_args()
            .into_iter()
            .map(|a| {
                a.replace(DOCKER_KEY, "")
                    .replace(NOTION_DOCKER, "")
                    .replace(DSN_PASSWORD, "")
            })
            .map(Value::String),
    );
    assert_eq!(
        args("docker"),
        Value::Array(docker),
        "docker -e NAME=value again"
    );
    assert!(
        servers["docker"].get("env").is_none(),
        "{}",
        servers["docker"]
    );
    no_canary_anywhere(&w);

    // Import the original again (the keychain still has the values), restore with --reveal.
    let mut again = w.config_json();
    again["mcpServers"] = original["mcpServers"].clone();
    w.write_config(&serde_json::to_vec_pretty(&again).expect("json"));
    w.import().success();
    no_canary_anywhere(&w);
    w.kb()
        .args(["restore", "claude-desktop", "--yes", "--reveal", "--config"])
        .arg(&w.config)
        .assert()
        .success();
    assert_eq!(
        w.config_json(),
        original,
        "every value back exactly as it was"
    );
}

#[test]
fn an_env_template_naming_another_servers_credential_is_never_approved() {
    let w = world_with_spans();
    w.import().success();
    let twilio_cred = bound(&w, "twilio", "arg:3");
    let mut cfg = w.config_json();
    cfg["mcpServers"]["notion"]["env"]["OPENAPI_MCP_HEADERS"] =
        json!(notion_headers(&ph(&twilio_cred)));
    w.write_config(&serde_json::to_vec_pretty(&cfg).expect("json"));

    let before = w.audit_lines().len();
    let out = w.run_entry("notion");
    assert!(!out.status.success(), "refused");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no secrets released"), "{stderr}");
    assert!(
        w.audit_lines()[before..]
            .iter()
            .all(|e| e["event"] != "released"),
        "nothing was released"
    );
    let approve = w
        .kb()
        .args(["approve", "claude-desktop/notion", "--yes"])
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&approve.get_output().stderr).into_owned();
    assert!(stderr.contains("does not own"), "{stderr}");
    let report = w.spawn("notion", &[("env_sha256", json!({"name": "PLAIN"}))]);
    assert!(report.is_err(), "still refused after the failed approval");
    no_canary_anywhere(&w);
}
