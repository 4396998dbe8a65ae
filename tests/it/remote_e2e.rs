//! Remote servers end to end against real peers on 127.0.0.1: the TypeScript SDK's OAuth
//! example server, a real SDK client spawning the bridge from the host config, and
//! scripted hostile servers (THREATS 14-27). Run under scripts/with-keyring.sh.

use keybroker_test_support::remote;
use keybroker_test_support::world;

use std::io::Write;
use std::process::{Command, Stdio};

use remote::*;
use world::World;

fn kb_cmd(w: &World) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("keybroker"));
    c.env("KEYBROKER_HOME", &w.home);
    c
}

fn add(w: &World, name: &str, url: &str) {
    w.kb()
        .args(["add", "claude-desktop", name, "--url", url, "--config"])
        .arg(&w.config)
        .assert()
        .success();
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
const LIST: &str = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;

/// Run the bridge with `lines` on stdin; returns (status, stdout, stderr).
fn bridge(w: &World, id: &str, lines: &[&str]) -> (std::process::ExitStatus, String, String) {
    let mut child = kb_cmd(w)
        .args(w.bridge_args(id))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bridge");
    let mut stdin = child.stdin.take().expect("stdin");
    for l in lines {
        writeln!(stdin, "{l}").expect("write");
    }
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn ts_sdk_oauth_server_is_added_signed_in_and_used_by_an_sdk_client_through_the_bridge() {
    let w = World::new();
    let (_server, url) = ts_oauth_server();
    add(&w, "demo", &url);
    let cfg = w.config_json();
    world::assert_bridge_args(&cfg["mcpServers"]["demo"]["args"], "claude-desktop/demo");
    assert!(cfg["mcpServers"]["demo"].get("url").is_none());
    let status_of = |w: &World| {
        let out = kb_cmd(w)
            .args(["servers", "--json", "--config"])
            .arg(&w.config)
            .output()
            .expect("servers");
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        list[0]["status"].as_str().unwrap_or_default().to_string()
    };
    assert_eq!(status_of(&w), "needs-sign-in");

    let mut c = kb_cmd(&w);
    c.args([
        "connect",
        "claude-desktop/demo",
        "--no-browser",
        "--timeout",
        "30",
    ]);
    let (status, stderr) = connect(c);
    assert!(status.success(), "connect failed: {stderr}");
    assert_eq!(status_of(&w), "bridged");

    let item = w
        .keychain_lookup("claude-desktop-demo-oauth")
        .expect("token set in the keychain");
    let ts: serde_json::Value = serde_json::from_str(&item).expect("json");
    let token = ts["access_token"]
        .as_str()
        .expect("access token")
        .to_string();
    assert!(!token.is_empty());
    assert!(
        w.files_containing(token.as_bytes()).is_empty(),
        "the access token is in no file"
    );
    assert!(
        !stderr.contains(&token),
        "the access token is never printed"
    );

    let report = w
        .spawn(
            "demo",
            &[("greet", serde_json::json!({"name": "Keybroker"}))],
        )
        .expect("SDK client through the bridge");
    let text = report["results"]["greet"].as_str().unwrap_or_default();
    assert!(text.contains("Hello, Keybroker"), "{report}");

    let events: Vec<String> = w
        .audit_lines()
        .iter()
        .filter_map(|e| e["event"].as_str().map(String::from))
        .collect();
    assert!(events.contains(&"authorized".to_string()), "{events:?}");
    assert!(events.contains(&"released".to_string()), "{events:?}");
}

#[test]
fn a_bridge_without_sign_in_answers_needs_sign_in_and_writes_only_json_rpc_to_stdout() {
    let w = World::new();
    let (_server, url) = ts_oauth_server();
    add(&w, "demo", &url);
    let (status, stdout, stderr) = bridge(&w, "claude-desktop/demo", &[INIT]);
    assert!(
        status.success(),
        "exits cleanly when stdin closes: {stderr}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let msg: serde_json::Value = serde_json::from_str(lines[0]).expect("stdout is JSON-RPC");
    assert_eq!(msg["id"], 1);
    assert_eq!(msg["error"]["code"], -32001);
    assert!(
        msg["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("needs sign-in")
    );
}

#[test]
fn metadata_pointing_at_a_link_local_address_is_refused_before_connecting() {
    let w = World::new();
    let server = Scripted::start(|_| {
        json_response(
            401,
            "WWW-Authenticate: Bearer resource_metadata=\"https://169.254.169.254/latest/meta-data/\"\r\n",
            "{}",
        )
    });
    add(&w, "ssrf", &server.url("/mcp"));
    let out = kb_cmd(&w)
        .args([
            "connect",
            "claude-desktop/ssrf",
            "--no-browser",
            "--timeout",
            "5",
        ])
        .output()
        .expect("connect");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("refused to contact https://169.254.169.254/"),
        "{err}"
    );
    assert!(err.contains("link-local"), "{err}");
    // Only the probe reached the (loopback) server; nothing else was requested.
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn an_authorization_endpoint_with_a_javascript_url_is_never_opened() {
    let w = World::new();
    let base = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let b = base.clone();
    let server = Scripted::start(move |req| {
        let base = b.lock().expect("lock").clone();
        match req.path.as_str() {
            "/.well-known/oauth-protected-resource/mcp" => json_response(
                200,
                "",
                &format!(r#"{{"resource":"{base}/mcp","authorization_servers":["{base}"]}}"#),
            ),
            "/.well-known/oauth-authorization-server" => json_response(
                200,
                "",
                &format!(
                    r#"{{"issuer":"{base}","authorization_endpoint":"javascript:alert(document.cookie)//","token_endpoint":"{base}/token","registration_endpoint":"{base}/register","code_challenge_methods_supported":["S256"]}}"#
                ),
            ),
            "/register" => json_response(201, "", r#"{"client_id":"c1"}"#),
            _ => json_response(401, "WWW-Authenticate: Bearer\r\n", "{}"),
        }
    });
    *base.lock().expect("lock") = format!("http://127.0.0.1:{}", server.port);
    add(&w, "js", &server.url("/mcp"));
    let out = kb_cmd(&w)
        .args(["connect", "claude-desktop/js", "--timeout", "5"])
        .env("PATH", "/nonexistent") // no opener could run even if we tried
        .output()
        .expect("connect");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("refused to open an authorization URL"),
        "{err}"
    );
    assert!(!err.contains("alert(document.cookie)"), "{err}");
}

#[test]
fn a_redirect_to_another_origin_is_refused_and_the_token_never_leaves_the_origin() {
    let w = World::new();
    let other = Scripted::start(|_| json_response(200, "", "{}"));
    let target = other.url("/steal");
    let server = Scripted::start(move |_| {
        format!(
            "HTTP/1.1 307 X\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
    });
    w.kb()
        .args(["add", "claude-desktop", "k", "--url"])
        .arg(server.url("/mcp"))
        .args(["--header", "X-API-Key", "--config"])
        .arg(&w.config)
        .write_stdin("KBCANARY-api-key-1")
        .assert()
        .success();
    let (status, stdout, _) = bridge(&w, "claude-desktop/k", &[INIT]);
    assert!(status.success());
    let msg: serde_json::Value = serde_json::from_str(stdout.trim()).expect("json-rpc error");
    assert!(
        msg["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("redirect"),
        "{msg}"
    );
    assert!(
        other.requests().is_empty(),
        "nothing reached the other origin"
    );
    let seen = server.requests();
    assert_eq!(seen[0].header("x-api-key"), Some("KBCANARY-api-key-1"));
    assert!(w.files_containing(b"KBCANARY-api-key-1").is_empty());
}

#[test]
fn json_rpc_messages_pass_through_unchanged_and_a_lost_session_is_reinitialized() {
    let w = World::new();
    let inits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n = inits.clone();
    let server = Scripted::start(move |req| {
        let body: serde_json::Value = serde_json::from_str(&req.body).unwrap_or_default();
        match body["method"].as_str() {
            Some("initialize") => {
                let k = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                json_response(
                    200,
                    &format!("Mcp-Session-Id: s{k}\r\n"),
                    r#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"s","version":"1"},"x-vendor":{"keep":[1.50,"\u00e9"]}}}"#,
                )
            }
            Some("notifications/initialized") => json_response(202, "", ""),
            _ if req.method == "GET" => json_response(405, "", ""),
            _ if req.header("mcp-session-id") == Some("s0") => json_response(404, "", ""),
            _ => json_response(
                200,
                "",
                "{\"jsonrpc\":\"2.0\",\"id\":2,\n \"result\":{\"tools\":[],\"x-extra\":true}}",
            ),
        }
    });
    w.kb()
        .args(["add", "claude-desktop", "p", "--url"])
        .arg(server.url("/mcp"))
        .args(["--header", "X-API-Key", "--config"])
        .arg(&w.config)
        .write_stdin("k")
        .assert()
        .success();
    let (status, stdout, stderr) = bridge(&w, "claude-desktop/p", &[INIT, INITIALIZED, LIST]);
    assert!(status.success(), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].contains(r#""x-vendor":{"keep":[1.50,"\u00e9"]}"#),
        "byte-exact: {}",
        lines[0]
    );
    assert_eq!(
        lines[1],
        "{\"jsonrpc\":\"2.0\",\"id\":2, \"result\":{\"tools\":[],\"x-extra\":true}}"
    );
    let seen = server.requests();
    let last = seen
        .iter()
        .rev()
        .find(|r| r.body.contains("tools/list"))
        .expect("list");
    assert_eq!(
        last.header("mcp-session-id"),
        Some("s1"),
        "re-initialized session used"
    );
    assert_eq!(last.header("mcp-protocol-version"), Some("2025-11-25"));
    assert_eq!(last.header("mcp-method"), Some("tools/list"));
    assert!(
        seen.iter()
            .any(|r| r.method == "DELETE" && r.header("mcp-session-id") == Some("s1"))
    );
}

#[test]
fn import_turns_url_and_mcp_remote_entries_into_bridge_entries_with_no_plaintext_left() {
    let w = World::new();
    let original = serde_json::json!({"mcpServers": {
        "linear": {"command": "npx", "args": ["-y", "mcp-remote", "https://mcp.linear.example/mcp",
                   "--header", "Authorization:${AUTH_HEADER}"],
                   "env": {"AUTH_HEADER": "Bearer KBCANARY-linear-1234567890abcdef"}},
        "api": {"type": "http", "url": "https://api.example.com/mcp",
                "headers": {"X-API-Key": "KBCANARY-apikey-abcdef1234567890"}},
        "docs": {"url": "https://docs.example.com/mcp"},
        "notion": {"command": "npx", "args": ["mcp-remote@0.15.1", "https://mcp.notion.example/mcp",
                   "--static-oauth-client-info",
                   "{\"client_id\":\"kb-pre\",\"client_secret\":\"KBCANARY-client-secret-0123456789\"}"]}
    }});
    w.write_config(&serde_json::to_vec_pretty(&original).expect("json"));
    w.import().success();
    let cfg = w.config_json();
    for name in ["linear", "api", "docs", "notion"] {
        world::assert_bridge_args(
            &cfg["mcpServers"][name]["args"],
            &format!("claude-desktop/{name}"),
        );
    }
    assert!(
        w.files_containing(world::CANARY_MARKER.as_bytes())
            .is_empty(),
        "no plaintext in config, state, audit or backups"
    );
    assert_eq!(
        w.keychain_lookup("claude-desktop-linear-authorization")
            .as_deref(),
        Some("Bearer KBCANARY-linear-1234567890abcdef")
    );
    assert_eq!(
        w.keychain_lookup("claude-desktop-api-x-api-key").as_deref(),
        Some("KBCANARY-apikey-abcdef1234567890")
    );
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.home.join("config/state.json")).expect("state"))
            .expect("json");
    let docs = &state["servers"]["claude-desktop/docs"]["remote"];
    assert_eq!(docs["url"], "https://docs.example.com/mcp");
    assert_eq!(docs["oauth_credential"], "claude-desktop-docs-oauth");
    assert!(state["servers"]["claude-desktop/linear"]["remote"]["oauth_credential"].is_null());
    let pre: serde_json::Value = serde_json::from_str(
        &w.keychain_lookup("claude-desktop-notion-oauth")
            .expect("pre-registered client in the keychain"),
    )
    .expect("token set");
    assert_eq!(pre["client"]["client_id"], "kb-pre");
    assert_eq!(pre["client"]["source"], "pre-registered");
    assert_eq!(
        pre["client"]["client_secret"],
        "KBCANARY-client-secret-0123456789"
    );

    w.kb()
        .args(["restore", "claude-desktop", "--yes", "--reveal", "--config"])
        .arg(&w.config)
        .assert()
        .success();
    let restored = w.config_json();
    assert_eq!(restored["mcpServers"]["api"], original["mcpServers"]["api"]);
    assert_eq!(
        restored["mcpServers"]["docs"],
        original["mcpServers"]["docs"]
    );
    assert_eq!(
        restored["mcpServers"]["notion"],
        original["mcpServers"]["notion"]
    );
    assert_eq!(
        restored["mcpServers"]["linear"]["args"][4],
        "Authorization: Bearer KBCANARY-linear-1234567890abcdef"
    );
}

#[test]
fn a_server_with_only_the_legacy_sse_transport_is_reached_through_the_bridge() {
    use std::io::BufRead;
    let w = World::new();
    let mut child = Command::new("node")
        .current_dir(remote_peers())
        .arg("legacy-sse-server.mjs")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node");
    let mut port = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut port)
        .expect("port");
    let _peer = Peer(child);
    add(
        &w,
        "legacy",
        &format!("http://127.0.0.1:{}/mcp", port.trim()),
    );
    let report = w
        .spawn("legacy", &[("echo", serde_json::json!({"text": "hi"}))])
        .expect("SDK client through the bridge");
    assert_eq!(report["results"]["echo"], "legacy echo: hi", "{report}");
}
