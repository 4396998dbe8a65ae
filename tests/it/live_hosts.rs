//! Every host whose CLI installs from the package registries and starts stdio servers
//! offline, live: a temp HOME holds the host's own file at its real path with a plaintext
//! canary in a stdio entry, `keybroker import` moves it into the real keychain, and the
//! host's own check (`mcp list`, `mcp test`, its JSON-RPC app server, or its TUI driven
//! through tmux) must report the brokered server connected.
//!
//! The server (tests/peers/received-sha256-server.mjs, official MCP SDK) appends the
//! SHA-256 of the secret it received to a file and exits before `initialize` unless that
//! is the canary's digest: "connected" means the host started `keybroker run`, which
//! released the right value. Each test also checks the `released` audit event and that
//! the canary is in no file under the test's dirs (host files, host logs and state,
//! Keybroker's state).
//!
//! The CLIs come from `scripts/install-hosts.sh` (tests/hosts). These tests run in
//! `make test-hosts` (part of `make test`), which sets `KEYBROKER_LIVE_HOSTS=1`; without
//! it they return at once with a note, so `cargo test` on a machine without the CLIs stays
//! green. With it, a missing CLI fails the test with the command that installs it.
#![cfg(target_os = "linux")]

use keybroker_test_support::world;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use world::World;

const GATE: &str = "KEYBROKER_LIVE_HOSTS";
const TOKEN: &str = "ghp_KBCANARYliveNXbnFJZlruZPOSZfkleGN4jF";
/// How long one host check may take (cold starts of the biggest CLIs take ~25 s here).
const CHECK_SECS: u64 = 120;

/// Variables that would point a host (or Keybroker) at the caller's own files, and the
/// XDG dirs, so every host keeps its files under the temp HOME.
const FOREIGN_VARS: &[&str] = &[
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_CACHE_HOME",
    "CODEX_HOME",
    "CLAUDE_CONFIG_DIR",
    "COPILOT_HOME",
    "KIMI_SHARE_DIR",
    "VIBE_HOME",
    "CRUSH_GLOBAL_CONFIG",
];

/// Update checks, telemetry and other traffic off, where a host has a switch for it.
const QUIET_VARS: &[(&str, &str)] = &[
    ("NO_COLOR", "1"),
    ("DO_NOT_TRACK", "1"),
    ("NO_UPDATE_NOTIFIER", "1"),
    ("DISABLE_AUTOUPDATER", "1"),
    ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
    ("GEMINI_TELEMETRY_ENABLED", "false"),
    ("OPENCODE_DISABLE_AUTOUPDATE", "1"),
    ("OPENCODE_DISABLE_SHARE", "1"),
    ("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
];

fn hosts_dir() -> PathBuf {
    world::repo().join("tests/hosts")
}

/// A host CLI from tests/hosts, or a failure that says how to install it.
fn host_bin(rel: &str) -> PathBuf {
    let p = hosts_dir().join(rel);
    assert!(
        p.exists(),
        "{} is missing: run `make test-hosts` (or scripts/install-hosts.sh) to install the host CLIs",
        p.display()
    );
    p
}

fn npm_bin(name: &str) -> PathBuf {
    host_bin(&format!("node_modules/.bin/{name}"))
}

fn venv_bin(venv: &str, name: &str) -> PathBuf {
    host_bin(&format!(".venv-{venv}/bin/{name}"))
}

/// One live host run: Keybroker's world, the host's HOME and working dir, the report file.
struct Live {
    w: World,
    home: PathBuf,
    project: PathBuf,
    report: PathBuf,
}

/// `None` (with a note) unless the live stage asked for these tests.
fn live() -> Option<Live> {
    if std::env::var_os(GATE).is_none_or(|v| v != "1") {
        eprintln!(
            "note: live host tests run in `make test-hosts` (part of `make test`), which sets {GATE}=1"
        );
        return None;
    }
    let w = World::new();
    let home = w.dir.path().join("home");
    let project = w.dir.path().join("project");
    std::fs::create_dir_all(&home).expect("home");
    std::fs::create_dir_all(&project).expect("project");
    let report = w.dir.path().join("received.sha256");
    Some(Live {
        w,
        home,
        project,
        report,
    })
}

impl Live {
    /// The stdio entry's env: the canary, what the server demands, where it reports;
    /// with `carry` (a host that starts servers with only the entry's env), also this
    /// test's private session bus, which a desktop session's launcher finds by itself.
    /// `KEYBROKER_HOME` is not in it: the import must write it for such a host.
    fn env(&self, carry: bool) -> serde_json::Map<String, Value> {
        let mut env = serde_json::Map::new();
        env.insert("GITHUB_PERSONAL_ACCESS_TOKEN".into(), TOKEN.into());
        env.insert(
            "REQUIRE_ENV_SHA256".into(),
            format!("GITHUB_PERSONAL_ACCESS_TOKEN={}", world::sha256_hex(TOKEN)).into(),
        );
        env.insert(
            "RECEIVED_SHA256_FILE".into(),
            self.report.to_string_lossy().into_owned().into(),
        );
        if carry {
            for (k, v) in self.carried() {
                env.insert(k.into(), v.into());
            }
        }
        env
    }

    fn carried(&self) -> Vec<(&'static str, String)> {
        let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS").expect("a session bus");
        vec![("DBUS_SESSION_BUS_ADDRESS", bus)]
    }

    /// The import wrote this test's `KEYBROKER_HOME` into the entry (`file`), as a host
    /// that passes only the entry's env needs.
    fn assert_entry_carries_home(&self, file: &Path) {
        let text = std::fs::read_to_string(file).expect("read host file");
        let home = self.w.home.to_string_lossy();
        assert!(
            text.contains("KEYBROKER_HOME") && text.contains(home.as_ref()),
            "the entry should carry KEYBROKER_HOME={home}: {text}"
        );
    }

    fn server_script(&self) -> String {
        world::peers()
            .join("received-sha256-server.mjs")
            .to_string_lossy()
            .into_owned()
    }

    /// The standard `{command, args, env}` entry.
    fn standard_entry(&self, carry: bool) -> Value {
        json!({
            "command": "node",
            "args": [self.server_script()],
            "env": self.env(carry),
        })
    }

    /// The same entry as a TOML inline table's body (`command = ..., args = ..., env = {..}`).
    fn toml_env(&self, carry: bool) -> String {
        let pairs: Vec<String> = self
            .env(carry)
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k} = {}",
                    Value::String(v.as_str().unwrap_or_default().into())
                )
            })
            .collect();
        format!("{{ {} }}", pairs.join(", "))
    }

    fn write(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let file = self.home.join(rel);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("dirs");
        std::fs::write(&file, bytes).expect("write host file");
        file
    }

    fn write_json(&self, rel: &str, v: &Value) -> PathBuf {
        self.write(rel, &serde_json::to_vec_pretty(v).expect("json"))
    }

    /// `keybroker import <host> --yes [extra]` under the temp HOME; the file no longer
    /// holds the canary.
    fn import(&self, host: &str, file: &Path, extra: &[&str]) {
        let mut c = self.w.kb();
        c.env("HOME", &self.home);
        for v in FOREIGN_VARS {
            c.env_remove(v);
        }
        let out = c
            .args(["import", host, "--yes"])
            .args(extra)
            .output()
            .expect("keybroker import");
        assert!(
            out.status.success(),
            "import {host}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(file).expect("read host file");
        assert!(!text.contains(world::CANARY_MARKER), "{text}");
        assert!(text.contains("keybroker"), "not rewritten: {text}");
    }

    /// A host program under the temp HOME, in the project dir, with its update checks
    /// and telemetry off.
    fn host(&self, program: &Path) -> Command {
        let mut c = Command::new(program);
        self.host_env(&mut c);
        c
    }

    fn host_env(&self, c: &mut Command) {
        c.current_dir(&self.project)
            .env("HOME", &self.home)
            .env("KEYBROKER_HOME", &self.w.home)
            .stdin(Stdio::null());
        for v in FOREIGN_VARS {
            c.env_remove(v);
        }
        for (k, v) in QUIET_VARS {
            c.env(k, v);
        }
    }

    /// Run `c` to its end within [`CHECK_SECS`] (`timeout` stops it by pid after that);
    /// stdout and stderr together.
    fn check(&self, c: &Command) -> String {
        let mut t = Command::new("timeout");
        t.args(["-k", "5", &CHECK_SECS.to_string()])
            .arg(c.get_program())
            .args(c.get_args());
        if let Some(dir) = c.get_current_dir() {
            t.current_dir(dir);
        }
        for (k, v) in c.get_envs() {
            match v {
                Some(v) => t.env(k, v),
                None => t.env_remove(k),
            };
        }
        let out = t.stdin(Stdio::null()).output().expect("run host check");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// The server got the canary (by digest) on every start, the launcher audited the
    /// release to `server`, and the canary is in no file under this test's dirs.
    fn assert_received(&self, server: &str) {
        let want = world::sha256_hex(TOKEN);
        let got = std::fs::read_to_string(&self.report).unwrap_or_default();
        let lines: Vec<&str> = got.lines().collect();
        assert!(
            !lines.is_empty() && lines.iter().all(|l| *l == want),
            "the server should have received sha256 {want} on every start, got {lines:?}"
        );
        let audit = self.w.audit_lines();
        assert!(
            audit.iter().any(|e| e["event"] == "released"
                && e["server"] == server
                && e["target"] == "env:GITHUB_PERSONAL_ACCESS_TOKEN"),
            "no `released` event for {server}: {audit:?}"
        );
        let leaked = self.w.files_containing(TOKEN.as_bytes());
        assert!(leaked.is_empty(), "the canary was written to {leaked:?}");
    }
}

/// The line of `out` that mentions `needle`.
fn line_with<'a>(out: &'a str, needle: &str) -> &'a str {
    out.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with `{needle}` in:\n{out}"))
}

/// A JSON-RPC peer on a child's stdio, one JSON object a line, every wait bounded.
struct JsonRpc {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    deadline: Instant,
}

impl JsonRpc {
    fn start(mut c: Command) -> JsonRpc {
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the host's app server");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        JsonRpc {
            child,
            stdin,
            lines,
            deadline: Instant::now() + Duration::from_secs(CHECK_SECS),
        }
    }

    fn send(&mut self, msg: &Value) {
        writeln!(self.stdin, "{msg}").expect("write to the app server");
        self.stdin.flush().expect("flush");
    }

    fn notify(&mut self, method: &str, params: Option<Value>) {
        let mut msg = json!({ "jsonrpc": "2.0", "method": method });
        if let Some(p) = params {
            msg["params"] = p;
        }
        self.send(&msg);
    }

    /// Send a request and wait (skipping notifications) for its response's `result`.
    fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(l) => l,
                Err(RecvTimeoutError::Timeout) => panic!("no answer to {method} in {CHECK_SECS} s"),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the app server ended before answering {method}")
                }
            };
            let Ok(msg) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if msg["id"] == json!(id) && msg.get("method").is_none() {
                assert!(msg.get("error").is_none(), "{method}: {msg}");
                return msg["result"].clone();
            }
        }
    }
}

impl Drop for JsonRpc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private tmux server (own socket) running one TUI; killed with its panes on drop.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn start(live: &Live, program: &Path, args: &[&str]) -> Tmux {
        let socket = live.w.dir.path().join("tmux.sock");
        let mut c = Command::new("tmux");
        live.host_env(&mut c);
        c.env_remove("TMUX")
            .arg("-S")
            .arg(&socket)
            .args(["new-session", "-d", "-s", "live", "-x", "160", "-y", "50"])
            .arg(program)
            .args(args);
        let out = c
            .output()
            .expect("tmux (Debian package tmux: scripts/install-hosts.sh)");
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmux { socket }
    }

    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket);
        c
    }

    fn screen(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-t", "live"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let ok = self
            .tmux()
            .args(["send-keys", "-t", "live"])
            .args(keys)
            .status()
            .expect("tmux send-keys")
            .success();
        assert!(ok, "tmux send-keys {keys:?}");
    }

    /// Poll the screen until `pred` holds, for at most [`CHECK_SECS`].
    fn wait(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(CHECK_SECS);
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} within {CHECK_SECS} s; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn wait_for(&self, needle: &str) -> String {
        self.wait(&format!("`{needle}`"), |s| s.contains(needle))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
    }
}

#[test]
fn live_claude_code() {
    let Some(l) = live() else { return };
    let mut entry = l.standard_entry(false);
    entry["type"] = "stdio".into();
    let file = l.write_json(
        ".claude.json",
        &json!({ "numStartups": 1, "mcpServers": { "echo": entry } }),
    );
    l.import("claude-code", &file, &[]);
    // The platform package holds the native binary (its postinstall is not run).
    let native = hosts_dir().join("node_modules/@anthropic-ai/claude-code-linux-x64/claude");
    let claude = if native.exists() {
        native
    } else {
        npm_bin("claude")
    };
    let mut c = l.host(&claude);
    c.args(["mcp", "list"]);
    let out = l.check(&c);
    let line = line_with(&out, "echo:");
    assert!(
        line.contains("Connected") && line.contains("keybroker run claude-code/echo"),
        "{out}"
    );
    l.assert_received("claude-code/echo");
}

/// Gemini CLI drops inherited variables whose names contain KEY, TOKEN, SECRET, ...
/// (KEYBROKER_HOME among them), so the entry must carry them; its fork Qwen Code passes
/// its own environment.
fn gemini_like(id: &str, dir: &str, bin: &str, entry_env_only: bool) {
    let Some(l) = live() else { return };
    let file = l.write_json(
        &format!("{dir}/settings.json"),
        &json!({ "mcpServers": { "echo": l.standard_entry(entry_env_only) } }),
    );
    l.write_json(
        &format!("{dir}/trustedFolders.json"),
        &json!({ l.project.to_string_lossy(): "TRUST_FOLDER" }),
    );
    l.import(id, &file, &[]);
    if entry_env_only {
        l.assert_entry_carries_home(&file);
    }
    let mut c = l.host(&npm_bin(bin));
    c.args(["mcp", "list"]);
    let out = l.check(&c);
    let line = line_with(&out, "echo:");
    assert!(
        line.contains("- Connected") && line.contains(&format!("keybroker run {id}/echo")),
        "{out}"
    );
    l.assert_received(&format!("{id}/echo"));
}

#[test]
fn live_gemini_cli() {
    gemini_like("gemini-cli", ".gemini", "gemini", true);
}

#[test]
fn live_qwen_code() {
    gemini_like("qwen-code", ".qwen", "qwen", false);
}

/// Codex starts servers with a fixed set of variables plus the entry's `env`; `codex mcp
/// list` starts nothing, its app server's `mcpServerStatus/list` does.
#[test]
fn live_codex_app_server() {
    let Some(l) = live() else { return };
    let file = l.write(
        ".codex/config.toml",
        format!(
            "model = \"gpt-5\"\n\n[mcp_servers.echo]\ncommand = \"node\"\nargs = [{}]\nenv = {}\n",
            Value::String(l.server_script()),
            l.toml_env(true)
        )
        .as_bytes(),
    );
    l.import("codex", &file, &[]);
    l.assert_entry_carries_home(&file);
    let mut c = l.host(&npm_bin("codex"));
    c.arg("app-server");
    let mut rpc = JsonRpc::start(c);
    rpc.request(
        1,
        "initialize",
        json!({ "clientInfo": { "name": "keybroker-live", "version": "1" } }),
    );
    rpc.notify("initialized", None);
    let list = rpc.request(2, "mcpServerStatus/list", json!({}));
    drop(rpc);
    let echo = list["data"]
        .as_array()
        .and_then(|d| d.iter().find(|s| s["name"] == "echo"))
        .unwrap_or_else(|| panic!("no echo server in {list}"));
    assert_eq!(echo["serverInfo"]["name"], "secret-echo", "{echo}");
    assert!(echo["toolsError"].is_null(), "{echo}");
    assert_eq!(
        echo["tools"].as_object().map(|t| t.len()),
        Some(3),
        "{echo}"
    );
    l.assert_received("codex/echo");
}

/// opencode and Kilo (its fork): `mcp.<name> = {type: local, command: [...], environment}`.
fn opencode_like(id: &str, rel: &str, bin: &str) {
    let Some(l) = live() else { return };
    let file = l.write_json(
        rel,
        &json!({ "mcp": { "echo": {
            "type": "local",
            "command": ["node", l.server_script()],
            "environment": l.env(false),
        } } }),
    );
    l.import(id, &file, &[]);
    let mut c = l.host(&npm_bin(bin));
    c.args(["mcp", "list"]);
    let out = l.check(&c);
    assert!(line_with(&out, "✓ echo").contains("connected"), "{out}");
    l.assert_received(&format!("{id}/echo"));
}

#[test]
fn live_opencode() {
    opencode_like("opencode", ".config/opencode/opencode.json", "opencode");
}

#[test]
fn live_kilo() {
    opencode_like("kilo", ".config/kilo/kilo.json", "kilo");
}

#[test]
fn live_amp() {
    let Some(l) = live() else { return };
    let file = l.write_json(
        ".config/amp/settings.json",
        &json!({ "amp.mcpServers": { "echo": l.standard_entry(false) } }),
    );
    l.import("amp", &file, &[]);
    // Without an API key `amp` waits for a browser sign-in; a fake one is never used
    // offline by `mcp doctor`.
    let mut c = l.host(&npm_bin("amp"));
    c.args(["mcp", "doctor"]).env("AMP_API_KEY", "x");
    let out = l.check(&c);
    assert!(
        line_with(&out, "echo (").contains("connected (3 tools"),
        "{out}"
    );
    l.assert_received("amp/echo");
}

#[test]
fn live_factory_droid() {
    let Some(l) = live() else { return };
    let mut entry = l.standard_entry(false);
    entry["type"] = "stdio".into();
    let file = l.write_json(
        ".factory/mcp.json",
        &json!({ "mcpServers": { "echo": entry } }),
    );
    l.import("factory", &file, &[]);
    let mut c = l.host(&npm_bin("droid"));
    c.args(["mcp", "list"]);
    let out = l.check(&c);
    let line = line_with(&out, "echo ");
    assert!(
        line.contains("stdio") && line.contains("connected"),
        "{out}"
    );
    l.assert_received("factory/echo");
}

/// Grok CLI keeps servers only in the project's `.grok/settings.json`; `grok mcp test`
/// reports and then keeps running, so it is stopped by pid once it has.
#[test]
fn live_grok_cli() {
    let Some(l) = live() else { return };
    let file = l.project.join(".grok/settings.json");
    std::fs::create_dir_all(file.parent().expect("parent")).expect("dirs");
    let cfg = json!({ "mcpServers": { "echo": {
        "name": "echo",
        "transport": {
            "type": "stdio",
            "command": "node",
            "args": [l.server_script()],
            "env": l.env(false),
        },
    } } });
    std::fs::write(&file, serde_json::to_vec_pretty(&cfg).expect("json")).expect("write");
    l.import(
        "grok-cli",
        &file,
        &["--project", &l.project.to_string_lossy()],
    );
    let out_file = l.w.dir.path().join("grok.out");
    let mut c = l.host(&npm_bin("grok"));
    c.args(["mcp", "test", "echo"])
        .env("GROK_API_KEY", "x")
        .stdout(std::fs::File::create(&out_file).expect("out"))
        .stderr(Stdio::null());
    let mut child = c.spawn().expect("grok mcp test");
    let deadline = Instant::now() + Duration::from_secs(CHECK_SECS);
    let out = loop {
        let out = std::fs::read_to_string(&out_file).unwrap_or_default();
        let ended = child.try_wait().expect("try_wait").is_some();
        if out.contains("Available tools") || ended || Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(out.contains("Successfully connected to echo"), "{out}");
    assert!(out.contains("Available tools: 3"), "{out}");
    let id =
        l.w.audit_lines()
            .iter()
            .filter_map(|e| e["server"].as_str().map(str::to_string))
            .find(|s| s.starts_with("grok-cli/echo"))
            .unwrap_or_else(|| "grok-cli/echo".into());
    l.assert_received(&id);
}

/// Kimi CLI (fastmcp) starts servers with a few default variables plus the entry's env.
#[test]
fn live_kimi_cli() {
    let Some(l) = live() else { return };
    let file = l.write_json(
        ".kimi/mcp.json",
        &json!({ "mcpServers": { "echo": l.standard_entry(true) } }),
    );
    l.import("kimi-cli", &file, &[]);
    l.assert_entry_carries_home(&file);
    let mut c = l.host(&venv_bin("kimi", "kimi"));
    c.args(["mcp", "test", "echo"]);
    let out = l.check(&c);
    assert!(out.contains("✓ Connected to 'echo'"), "{out}");
    assert!(out.contains("Available tools: 3"), "{out}");
    l.assert_received("kimi-cli/echo");
}

/// Mistral Vibe's app server (JSON-RPC on stdio): a session, a refresh that starts the
/// servers, then the catalog with each server's status and tools.
#[test]
fn live_mistral_vibe_app_server() {
    let Some(l) = live() else { return };
    let file = l.write(
        ".vibe/config.toml",
        format!(
            "[[mcp_servers]]\nname = \"echo\"\ntransport = \"stdio\"\ncommand = \"node\"\nargs = [{}]\nenv = {}\n",
            Value::String(l.server_script()),
            l.toml_env(true)
        )
        .as_bytes(),
    );
    l.import("mistral-vibe", &file, &[]);
    l.assert_entry_carries_home(&file);
    let mut c = l.host(&venv_bin("vibe", "vibe-app-server"));
    c.env("MISTRAL_API_KEY", "x");
    let mut rpc = JsonRpc::start(c);
    rpc.request(
        1,
        "initialize",
        json!({ "clientInfo": { "name": "keybroker-live", "version": "1" }, "capabilities": {} }),
    );
    rpc.notify("initialized", Some(json!({})));
    let started = rpc.request(
        2,
        "session/start",
        json!({ "agentConfig": { "cwd": l.project, "trustWorkspace": true, "headless": true }, "kind": "ephemeral" }),
    );
    let sid = started["state"]["session"]["id"].clone();
    assert!(sid.is_string(), "{started}");
    rpc.request(3, "mcp_catalog/refresh", json!({ "sessionId": sid }));
    let read = rpc.request(4, "mcp_catalog/read", json!({ "sessionId": sid }));
    drop(rpc);
    let echo = read["mcp"]["sources"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "echo"))
        .unwrap_or_else(|| panic!("no echo server in {read}"));
    assert_eq!(echo["status"], "enabled", "{echo}");
    assert_eq!(echo["tools"].as_array().map(Vec::len), Some(3), "{echo}");
    l.assert_received("mistral-vibe/echo");
}

/// Copilot CLI has no list command: its TUI in tmux, `/mcp`, the server's details.
#[test]
fn live_copilot_cli() {
    let Some(l) = live() else { return };
    let mut entry = l.standard_entry(false);
    entry["type"] = "local".into();
    entry["tools"] = json!(["*"]);
    let file = l.write_json(
        ".copilot/mcp-config.json",
        &json!({ "mcpServers": { "echo": entry } }),
    );
    l.import("copilot-cli", &file, &[]);
    let tui = Tmux::start(&l, &npm_bin("copilot"), &[]);
    tui.wait_for("Do you trust the files in this folder?");
    tui.keys(&["Enter"]);
    tui.wait("the prompt", |s| !s.contains("Confirm folder trust"));
    tui.keys(&["/mcp"]);
    tui.keys(&["Enter"]);
    tui.wait_for("mcp:echo");
    tui.keys(&["Down"]);
    tui.keys(&["Enter"]);
    tui.wait_for("Details");
    tui.keys(&["Enter"]);
    // The status shows before the tool list has loaded: wait for both.
    let screen = tui.wait("the server's status and tools", |s| {
        s.contains("\"status\":") && s.contains("tools (")
    });
    assert!(screen.contains("\"status\": \"connected\""), "{screen}");
    assert!(screen.contains("tools (3)"), "{screen}");
    drop(tui);
    l.assert_received("copilot-cli/echo");
}

/// fast-agent reads `fastagent.config.yaml` in its working dir; a run with the
/// passthrough model starts the named servers and fails when one does not connect.
#[test]
fn live_fast_agent() {
    let Some(l) = live() else { return };
    let mut env = String::new();
    for (k, v) in l.env(true) {
        env.push_str(&format!("        {k}: {}\n", v));
    }
    let file = l.project.join("fastagent.config.yaml");
    std::fs::write(
        &file,
        format!(
            "mcp:\n  servers:\n    echo:\n      command: node\n      args: [{}]\n      env:\n{env}",
            Value::String(l.server_script())
        ),
    )
    .expect("write");
    l.import("fast-agent", &file, &["--config", &file.to_string_lossy()]);
    let mut c = l.host(&venv_bin("fast-agent", "fast-agent"));
    c.args([
        "go",
        "--servers",
        "echo",
        "--model",
        "passthrough",
        "--message",
        "hi",
    ]);
    let out = l.check(&c);
    assert!(!out.to_lowercase().contains("error"), "{out}");
    // A project file's server: its id names the project.
    l.assert_received("fast-agent/echo@project");
}

/// Continue CLI's TUI in tmux: `/mcp` lists each server with a status light and its
/// tool count.
#[test]
#[ignore = "Continue CLI 1.5.47 shows the rewritten server as starting (yellow) and never connected within 120 s; not yet explained"]
fn live_continue_cli() {
    let Some(l) = live() else { return };
    let mut env = String::new();
    for (k, v) in l.env(false) {
        env.push_str(&format!("      {k}: {}\n", v));
    }
    let file = l.write(
        ".continue/config.yaml",
        format!(
            "name: live\nversion: 0.0.1\nschema: v1\nmcpServers:\n  - name: echo\n    command: node\n    args: [{}]\n    env:\n{env}",
            Value::String(l.server_script())
        )
        .as_bytes(),
    );
    l.import("continue", &file, &[]);
    let config = file.to_string_lossy().into_owned();
    let tui = Tmux::start(&l, &npm_bin("cn"), &["--config", &config]);
    tui.wait_for("MCP Servers:");
    tui.keys(&["/mcp"]);
    tui.keys(&["Enter"]);
    tui.wait_for("Restart all servers");
    // The light turns from yellow (starting) to green (connected) in place; red is a
    // failed start.
    let screen = tui.wait("a status light for echo", |s| {
        s.lines()
            .any(|l| l.contains(" echo ") && (l.contains("🟢") || l.contains("🔴")))
    });
    assert!(line_with(&screen, " echo ").contains("🟢"), "{screen}");
    drop(tui);
    l.assert_received("continue/echo");
}
