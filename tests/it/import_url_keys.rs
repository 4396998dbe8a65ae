//! Remote entries whose URL is the credential (a token in a path segment or a query
//! parameter), imported on the real keychain: the key moves to the keychain, the state
//! keeps the URL as a template, the bridge fills it in and reaches a real SDK server on
//! 127.0.0.1 that checks the key, and no file (KEYBROKER_HOME, the host files) keeps a
//! canary, nor does anything the bridge prints when the server is gone. Such a server is
//! never told to sign in.

use keybroker_test_support::remote::Peer;
use keybroker_test_support::world;

use std::io::{BufRead, Write};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use world::{CANARY_MARKER, World, sha256_hex};

const PATH_KEY: &str = "KBCANARYiEXpVdE58zHYprM8nkSCV3zwgIj85ZrHnoA8weZP";
const PATH_KEY_2: &str = "KBCANARYlkjpcZsNlOtnCdb1qOl2COLBp1oRV2xtcpOzoreq";
const QUERY_KEY: &str = "KBCANARYq7Xv2Lm9Pz4Rt6Wy8Bn3Hk5Jd";
const ENV_KEY: &str = "sk-proj-KBCANARYremoteenv0123456789abcdefghijkl";
const CLIENT_SECRET: &str = "KBCANARYcs7Qm2xVb9LpTz4Hn3Ws8Rt1Ye";
const BEARER: &str = "KBCANARYbearer5Hq2Wm8Xz3Lp9Rt4Vb7Nc";

fn no_canary_anywhere(w: &World) {
    assert_eq!(
        w.files_containing(CANARY_MARKER.as_bytes()),
        Vec::<std::path::PathBuf>::new(),
        "no file under KEYBROKER_HOME or the host config dir keeps a canary"
    );
}

fn write_json(path: &std::path::Path, v: &Value) {
    let mut bytes = serde_json::to_vec_pretty(v).expect("json");
    bytes.push(b'\n');
    std::fs::write(path, bytes).expect("write");
}

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

fn state(w: &World) -> Value {
    read_json(&w.home.join("config/state.json"))
}

fn url_credential(w: &World, id: &str) -> String {
    state(w)["servers"][id]["bindings"]
        .as_array()
        .expect("bindings")
        .iter()
        .find(|b| b["target"] == "url")
        .and_then(|b| b["credential"].as_str())
        .expect("a credential bound to the URL")
        .to_string()
}

#[test]
fn url_keyed_entries_move_their_keys_leave_no_secret_in_any_file_and_need_no_sign_in() {
    let w = World::new();
    let original = json!({"mcpServers": {
        "zap": {"url": format!("https://mcp.example.com/s/{PATH_KEY}/mcp")},
        "smith": {"type": "http", "url": format!("https://mcp.example.com/mcp?api_key={QUERY_KEY}&profile=x")},
        "bridged": {"command": "npx", "args": ["-y", "mcp-remote", format!("https://mcp.example.com/s/{PATH_KEY_2}/sse")],
                    "env": {"OPENAI_API_KEY": ENV_KEY}},
        "docs": {"url": "https://docs.example.com/mcp"}
    }});
    write_json(&w.config, &original);
    let crush = w.cfg_dir.join("crush.json");
    let crush_original = json!({"mcp": {"tracker": {
        "type": "http", "url": "https://mcp.example.com/mcp",
        "headers": {"Authorization": format!("Bearer {BEARER}")},
        "oauth_client_secret": CLIENT_SECRET
    }}});
    write_json(&crush, &crush_original);

    let plan = w
        .kb()
        .args(["import", "claude-desktop", "--dry-run", "--config"])
        .arg(&w.config)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&plan.get_output().stdout).into_owned();
    assert!(!stdout.contains(CANARY_MARKER), "{stdout}");
    for part in [
        "becomes: url = https://mcp.example.com/s/${keybroker:claude-desktop-zap-url}/mcp",
        "becomes: url = https://mcp.example.com/mcp?api_key=${keybroker:claude-desktop-smith-url}&profile=x",
        "becomes: url = https://mcp.example.com/s/${keybroker:claude-desktop-bridged-url}/sse",
        "url-path-token",
        "secret-query-param",
        "sign in with `keybroker connect claude-desktop/docs`",
    ] {
        assert!(stdout.contains(part), "`{part}` in:\n{stdout}");
    }
    for keyed in ["zap", "smith", "bridged"] {
        assert!(
            !stdout.contains(&format!("keybroker connect claude-desktop/{keyed}")),
            "a URL-keyed server is not told to sign in: {stdout}"
        );
    }

    w.import().success();
    w.kb()
        .args(["import", "crush", "--yes", "--config"])
        .arg(&crush)
        .assert()
        .success();
    no_canary_anywhere(&w);

    // The keys are in the keychain; the state has templates.
    let st = state(&w);
    for (id, key, url) in [
        (
            "claude-desktop/zap",
            PATH_KEY,
            "https://mcp.example.com/s/{}/mcp",
        ),
        (
            "claude-desktop/smith",
            QUERY_KEY,
            "https://mcp.example.com/mcp?api_key={}&profile=x",
        ),
        (
            "claude-desktop/bridged",
            PATH_KEY_2,
            "https://mcp.example.com/s/{}/sse",
        ),
    ] {
        let cred = url_credential(&w, id);
        assert_eq!(w.keychain_lookup(&cred).as_deref(), Some(key), "{id}");
        let template = url.replace("{}", &format!("${{keybroker:{cred}}}"));
        assert_eq!(
            st["servers"][id]["remote"]["url"],
            template.as_str(),
            "{id}"
        );
        assert!(
            st["servers"][id]["remote"]["oauth_credential"].is_null(),
            "{id}"
        );
    }
    // (In a folder of its own, Crush's file is a project file: the id names the folder.)
    let crush_rec = st["servers"]
        .as_object()
        .expect("servers")
        .iter()
        .find(|(id, _)| id.starts_with("crush/tracker"))
        .map(|(_, s)| s)
        .expect("the Crush entry is recorded");
    let cs = crush_rec["bindings"]
        .as_array()
        .expect("bindings")
        .iter()
        .find(|b| b["target"] == "key:/oauth_client_secret")
        .and_then(|b| b["credential"].as_str())
        .expect("the client secret is bound");
    assert_eq!(w.keychain_lookup(cs).as_deref(), Some(CLIENT_SECRET));
    assert_eq!(
        crush_rec["original"]["oauth_client_secret"],
        format!("${{keybroker:{cs}}}")
    );

    // Keyed servers are ready; only the one without a key needs a sign-in.
    for (name, want) in [
        ("zap", "bridged"),
        ("smith", "bridged"),
        ("bridged", "bridged"),
        ("docs", "needs-sign-in"),
    ] {
        let row = w.server_status(name);
        assert_eq!(row["status"], want, "{name}: {row}");
        if want == "bridged" {
            assert!(!row.to_string().contains("keybroker connect"), "{row}");
        }
    }

    // Restore with --reveal gives back every entry exactly.
    w.kb()
        .args(["restore", "claude-desktop", "--yes", "--reveal", "--config"])
        .arg(&w.config)
        .assert()
        .success();
    assert_eq!(w.config_json(), original);
    w.kb()
        .args(["restore", "crush", "--yes", "--reveal", "--config"])
        .arg(&crush)
        .assert()
        .success();
    assert_eq!(read_json(&crush), crush_original);
}

/// `url-key-server.mjs` accepting `key`; returns the peer and its port.
fn url_key_server(key: &str) -> (Peer, u16) {
    // This crate's own copy of the peers (the script is new with these tests).
    let peers = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/remote-peers");
    let mut child = Command::new("node")
        .current_dir(peers)
        .arg("url-key-server.mjs")
        .env("URL_KEY_SHA256", sha256_hex(key))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node");
    let mut port = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut port)
        .expect("port");
    let port = port.trim().parse().expect("a port");
    (Peer(child), port)
}

/// Run `keybroker bridge <id>` with `lines` on stdin: (stdout, stderr).
fn bridge(w: &World, id: &str, lines: &[&str]) -> (String, String) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("keybroker"))
        .env("KEYBROKER_HOME", &w.home)
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
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_bridge_fills_in_the_url_key_and_reaches_a_real_sdk_server_that_checks_it() {
    let w = World::new();
    let (server, port) = url_key_server(PATH_KEY);
    let original = json!({"mcpServers": {
        "keyed": {"url": format!("http://127.0.0.1:{port}/s/{PATH_KEY}/mcp")},
        "stale": {"url": format!("http://127.0.0.1:{port}/s/{PATH_KEY_2}/mcp")},
        "queried": {"command": "npx", "args": ["-y", "mcp-remote",
                    format!("http://127.0.0.1:{port}/mcp?api_key={PATH_KEY}&profile=work")]}
    }});
    write_json(&w.config, &original);
    w.import().success();
    no_canary_anywhere(&w);
    world::assert_bridge_args(
        &w.config_json()["mcpServers"]["keyed"]["args"],
        "claude-desktop/keyed",
    );

    // A real SDK client through the bridge: the server saw the key it wants.
    let report = w
        .spawn("keyed", &[("key_sha256", json!({}))])
        .expect("the bridge reaches the keyed server");
    assert_eq!(report["results"]["key_sha256"], sha256_hex(PATH_KEY));
    let report = w
        .spawn(
            "queried",
            &[("key_sha256", json!({})), ("profile", json!({}))],
        )
        .expect("the bridge reaches the server with its key in the query");
    assert_eq!(report["results"]["key_sha256"], sha256_hex(PATH_KEY));
    assert_eq!(
        report["results"]["profile"], "work",
        "the rest of the URL is kept"
    );
    assert!(!report.to_string().contains(CANARY_MARKER), "{report}");
    let released: Vec<Value> = w
        .audit_lines()
        .into_iter()
        .filter(|e| e["event"] == "released" && e["target"] == "url")
        .collect();
    assert!(
        released.len() >= 2,
        "each start releases the URL key: {released:?}"
    );
    no_canary_anywhere(&w);

    // A key the server does not take: refused, and no sign-in is suggested.
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let (stdout, stderr) = bridge(&w, "claude-desktop/stale", &[init]);
    assert!(stderr.contains("refused the credential"), "{stderr}");
    assert!(!stderr.contains("keybroker connect"), "{stderr}");
    assert!(
        !stdout.contains(CANARY_MARKER) && !stderr.contains(CANARY_MARKER),
        "{stdout}\n{stderr}"
    );

    // The server is gone: what the bridge tells the host names no key.
    drop(server);
    for id in ["claude-desktop/keyed", "claude-desktop/queried"] {
        let (stdout, stderr) = bridge(&w, id, &[init]);
        let msg: Value =
            serde_json::from_str(stdout.lines().next().unwrap_or("{}")).expect("JSON-RPC");
        assert_eq!(msg["id"], 1, "{stdout}");
        assert!(msg["error"]["message"].as_str().is_some(), "{stdout}");
        assert!(stderr.contains("127.0.0.1"), "says which server: {stderr}");
        assert!(
            !stdout.contains(CANARY_MARKER) && !stderr.contains(CANARY_MARKER),
            "no key in what the bridge prints:\n{stdout}\n{stderr}"
        );
    }
    no_canary_anywhere(&w);
}
