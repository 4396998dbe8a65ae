//! Tool arguments mirrored into headers (2026-07-28, `x-mcp-header`), against a scripted
//! server on 127.0.0.1 that records every header line the bridge sends: values with
//! CR/LF or non-ASCII arrive Base64-encoded, never raw (THREATS 37); a tool with an
//! invalid declaration is left out of the listing and a call to it never leaves the
//! bridge; a header mismatch makes the bridge list the tools again and retry once.
//! Run under scripts/with-keyring.sh.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use base64::Engine;
use keybroker_test_support::remote::{Scripted, Seen, json_response};
use keybroker_test_support::world::World;
use serde_json::{Value, json};

const META: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;

fn tools() -> Value {
    json!([
        {"name": "route", "inputSchema": {"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "note": {"type": "string", "x-mcp-header": "Note"},
            "n": {"type": "integer", "x-mcp-header": "N"},
            "query": {"type": "string"}}}},
        {"name": "evil", "inputSchema": {"type": "object", "properties": {
            "v": {"type": "string", "x-mcp-header": "X\r\nInjected: 1"}}}}
    ])
}

/// A 2026-07-28 server: lists `tools()`; a call to `route` without its `Mcp-Param-Region`
/// header is refused with HeaderMismatch, as the spec tells servers to.
fn server() -> Scripted {
    Scripted::start(|seen: &Seen| {
        let req: Value = serde_json::from_str(&seen.body).unwrap_or(Value::Null);
        let id = req["id"].clone();
        let reply = match req["method"].as_str() {
            Some("tools/list") => json!({"jsonrpc": "2.0", "id": id, "result": {"tools": tools()}}),
            Some("tools/call") if seen.header("mcp-param-region").is_none() => {
                let e = json!({"jsonrpc": "2.0", "id": id,
                    "error": {"code": -32020, "message": "Mcp-Param-Region missing"}});
                return json_response(400, "", &e.to_string());
            }
            Some("tools/call") => json!({"jsonrpc": "2.0", "id": id,
                "result": {"content": [{"type": "text", "text": "ok"}]}}),
            _ => json!({"jsonrpc": "2.0", "id": id, "result": {}}),
        };
        json_response(200, "", &reply.to_string())
    })
}

struct Host {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Host {
    fn start(w: &World, server: &Scripted) -> Host {
        w.kb()
            .args([
                "add",
                "claude-desktop",
                "s",
                "--url",
                &server.url("/mcp"),
                "--config",
            ])
            .arg(&w.config)
            .assert()
            .success();
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("keybroker"))
            .env("KEYBROKER_HOME", &w.home)
            .args(w.bridge_args("claude-desktop/s"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bridge");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Host {
            child,
            stdin,
            stdout,
        }
    }

    /// Send one request and wait for the line that answers it.
    fn ask(&mut self, id: u32, method: &str, params: &str) -> Value {
        let inner = if params.is_empty() {
            META.to_string()
        } else {
            format!("{params},{META}")
        };
        writeln!(
            self.stdin,
            r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{{{inner}}}}}"#
        )
        .expect("write");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read");
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("reply: {line:?}"));
        assert_eq!(v["id"], id, "{v}");
        v
    }

    /// Close stdin; the rest of stdout and all of stderr.
    fn finish(self) -> (String, String) {
        drop(self.stdin);
        let mut rest = String::new();
        let mut out = self.stdout;
        let _ = std::io::Read::read_to_string(&mut out, &mut rest);
        let done = self.child.wait_with_output().expect("wait");
        (rest, String::from_utf8_lossy(&done.stderr).into_owned())
    }
}

fn decode(v: &str) -> String {
    let inner = v
        .strip_prefix("=?base64?")
        .and_then(|r| r.strip_suffix("?="))
        .unwrap_or_else(|| panic!("not Base64-encoded: {v:?}"));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(inner)
        .expect("base64");
    String::from_utf8(bytes).expect("utf-8")
}

#[test]
fn tool_arguments_reach_the_server_encoded_and_a_tool_with_an_invalid_declaration_never_does() {
    let w = World::new();
    let srv = server();
    let mut host = Host::start(&w, &srv);
    let listed = host.ask(1, "tools/list", "");
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["route"], "the invalid tool is left out: {listed}");
    let note = "line1\r\nInjected: yes 世界";
    let args = json!({"region": "eu-1", "note": note, "n": 7, "query": "SELECT 1"});
    let called = host.ask(
        2,
        "tools/call",
        &format!(r#""name":"route","arguments":{args}"#),
    );
    assert_eq!(called["result"]["content"][0]["text"], "ok", "{called}");
    let refused = host.ask(3, "tools/call", r#""name":"evil","arguments":{"v":"x"}"#);
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    let (_, stderr) = host.finish();
    assert!(stderr.contains("left tool `evil` out"), "{stderr}");

    let seen = srv.requests();
    let calls: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.body.contains(r#""tools/call""#))
        .collect();
    assert_eq!(
        calls.len(),
        1,
        "the call to the invalid tool never left the bridge"
    );
    let call = calls[0];
    assert_eq!(call.header("mcp-param-region"), Some("eu-1"));
    assert_eq!(call.header("mcp-param-n"), Some("7"));
    assert_eq!(decode(call.header("mcp-param-note").expect("Note")), note);
    assert_eq!(
        call.header("mcp-param-query"),
        None,
        "not declared, not mirrored"
    );
    for s in &seen {
        for (name, value) in &s.headers {
            assert!(
                !name.eq_ignore_ascii_case("injected"),
                "a header line was injected: {:?}",
                s.headers
            );
            assert!(
                value.bytes().all(|b| (0x20..=0x7e).contains(&b)),
                "raw bytes on a header line: {name}: {value:?}"
            );
        }
    }
}

#[test]
fn a_header_mismatch_makes_the_bridge_list_the_tools_again_and_retry_the_call_once() {
    let w = World::new();
    let srv = server();
    let mut host = Host::start(&w, &srv);
    // The host calls from its own cache: the bridge has not seen a listing yet.
    let called = host.ask(
        7,
        "tools/call",
        r#""name":"route","arguments":{"region":"us-west1"}"#,
    );
    assert_eq!(called["result"]["content"][0]["text"], "ok", "{called}");
    let (rest, stderr) = host.finish();
    assert!(
        rest.trim().is_empty(),
        "only the answer reached the host: {rest}"
    );
    let methods: Vec<(String, Option<String>)> = srv
        .requests()
        .iter()
        .map(|s| {
            let v: Value = serde_json::from_str(&s.body).unwrap_or(Value::Null);
            (
                v["method"].as_str().unwrap_or("").to_string(),
                s.header("mcp-param-region").map(str::to_string),
            )
        })
        .collect();
    assert_eq!(
        methods,
        [
            ("tools/call".to_string(), None),
            ("tools/list".into(), None),
            ("tools/call".into(), Some("us-west1".into())),
        ],
        "{stderr}"
    );
}
