//! The IPC commands through Tauri's mock runtime, against the real keychain (run under
//! `scripts/with-keyring.sh`; `make test` does) and a copy of the fixture config.
//!
//! These drive the same JSON the webview sends and read the same JSON it gets back, so
//! they also prove that no response ever carries a secret value (THREATS 30).

use std::path::{Path, PathBuf};

use keybroker::app_api::Context;
use keybroker::paths::Paths;
use keybroker_app::{AppState, configure};
use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

const CANARY_MARKER: &str = "KBCANARY";
const TYPED_CANARY: &str = "kbt_KBCANARYtypedInTheWebview0123456789";

struct World {
    _dir: tempfile::TempDir,
    config: PathBuf,
    _app: App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
    /// Every response body and error seen, for the canary check.
    seen: std::cell::RefCell<String>,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn world() -> World {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "these tests use the real Secret Service: run them under scripts/with-keyring.sh (make test does)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("claude_desktop_config.json");
    let raw = std::fs::read_to_string(repo().join("tests/fixtures/claude_desktop_config.json"))
        .expect("fixture");
    let echo = repo().join("tests/peers/secret-echo-server.mjs");
    std::fs::write(
        &config,
        raw.replace("__ECHO_SERVER__", &echo.display().to_string()),
    )
    .expect("config");
    let launcher = dir.path().join("keybroker");
    std::fs::write(&launcher, "#!/bin/sh\n").expect("launcher");
    let ctx = Context::new(
        Paths::under(&dir.path().join("home")),
        launcher,
        Some(config.clone()),
    );
    let app = configure(mock_builder(), AppState::new(ctx))
        .build(mock_context(noop_assets()))
        .expect("mock app");
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("window");
    World {
        _dir: dir,
        config,
        _app: app,
        window,
        seen: Default::default(),
    }
}

impl World {
    fn call(&self, cmd: &str, body: Value) -> Result<Value, Value> {
        let res = get_ipc_response(
            &self.window,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().expect("url"),
                body: InvokeBody::Json(body),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        );
        let out = res.map(|b| b.deserialize::<Value>().expect("json response"));
        let text = match &out {
            Ok(v) | Err(v) => v.to_string(),
        };
        self.seen.borrow_mut().push_str(&text);
        out
    }

    fn ok(&self, cmd: &str, body: Value) -> Value {
        self.call(cmd, body)
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    fn server(&self, id: &str) -> Value {
        let view = self.ok("servers_list", json!({}));
        view["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .flat_map(|g| g["servers"].as_array().cloned().unwrap_or_default())
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("no server {id} in {view}"))
    }
}

fn config_text(p: &Path) -> String {
    std::fs::read_to_string(p).expect("config")
}

#[test]
fn import_through_ipc_moves_secrets_and_the_servers_view_shows_them_brokered() {
    let w = world();
    let hosts = w.ok("import_hosts", json!({}));
    assert_eq!(hosts[0]["host"], "claude-desktop");
    assert_eq!(hosts[0]["exists"], true);

    let plan = w.ok(
        "import_plan",
        json!({"host": "claude-desktop", "exclude": []}),
    );
    assert_eq!(plan["changes"], true);
    let echo = plan["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .find(|s| s["name"] == "echo-local")
        .expect("echo-local in plan")
        .clone();
    assert_eq!(echo["moves"][0]["target"], "env:ECHO_API_TOKEN");
    assert_eq!(
        echo["moves"][0]["selector"],
        "echo-local:env:ECHO_API_TOKEN"
    );

    // Excluding a finding leaves that server alone.
    let applied = w.ok(
        "import_apply",
        json!({"host": "claude-desktop", "exclude": ["slack"]}),
    );
    assert!(applied["credentials_stored"].as_u64().expect("count") >= 4);
    let cfg = config_text(&w.config);
    assert!(cfg.contains("xoxb-"), "excluded slack keeps its token");
    assert!(
        !cfg.contains("kbt_KBCANARYecho"),
        "echo's token left the file"
    );

    assert_eq!(w.server("claude-desktop/echo-local")["state"], "brokered");
    assert_eq!(
        w.server("claude-desktop/slack")["state"],
        "plaintext-in-config"
    );
    assert_eq!(
        w.server("claude-desktop/slack")["actions"],
        json!(["move-to-keychain"])
    );
}

#[test]
fn disconnect_then_connect_with_a_typed_secret_stores_it_and_never_returns_it() {
    let w = world();
    w.ok(
        "import_apply",
        json!({"host": "claude-desktop", "exclude": []}),
    );
    let id = "claude-desktop/echo-local";
    w.ok("server_disconnect", json!({"serverId": id}));
    let s = w.server(id);
    assert_eq!(s["state"], "needs-secret");
    assert_eq!(s["missing"], json!(["ECHO_API_TOKEN"]));
    assert!(
        s["actions"]
            .as_array()
            .expect("actions")
            .contains(&json!("connect"))
    );

    let msg = w.ok(
        "server_connect",
        json!({"serverId": id, "secrets": [{"env": "ECHO_API_TOKEN", "value": TYPED_CANARY}]}),
    );
    assert!(msg.as_str().expect("message").contains("ECHO_API_TOKEN"));
    assert_eq!(w.server(id)["state"], "brokered");

    w.ok(
        "server_rotate",
        json!({"serverId": id, "secret": {"env": "ECHO_API_TOKEN", "value": format!("{TYPED_CANARY}-2")}}),
    );
    let audit = w.ok("audit_view", json!({"filter": {"server": id}}));
    let events: Vec<&str> = audit["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["event"].as_str())
        .collect();
    assert!(events.contains(&"deleted"), "{events:?}");
    assert!(events.contains(&"stored"), "{events:?}");
    assert!(events.contains(&"rotated"), "{events:?}");
    assert_eq!(audit["chain_ok"], true);

    let csv = w.ok(
        "audit_export",
        json!({"filter": {"server": id}, "format": "csv"}),
    );
    let exported = std::fs::read_to_string(csv.as_str().expect("path")).expect("export");
    assert!(exported.starts_with("time,event,server,"));
    assert!(exported.contains("rotated"));
    assert!(!exported.contains(CANARY_MARKER));
}

#[test]
fn no_ipc_response_carries_a_canary_secret() {
    let w = world();
    w.ok("import_hosts", json!({}));
    w.ok("servers_list", json!({}));
    w.ok(
        "import_plan",
        json!({"host": "claude-desktop", "exclude": []}),
    );
    w.ok(
        "import_apply",
        json!({"host": "claude-desktop", "exclude": []}),
    );
    let id = "claude-desktop/echo-local";
    w.ok(
        "server_connect",
        json!({"serverId": id, "secrets": [{"env": "SECOND_TOKEN", "value": TYPED_CANARY}]}),
    );
    w.ok("servers_list", json!({}));
    w.ok("server_pending_approval", json!({"serverId": id}));
    w.ok("audit_view", json!({"filter": {}}));
    let _ = w.call(
        "server_connect",
        json!({"serverId": "claude-desktop/nope", "secrets": [{"env": "X", "value": TYPED_CANARY}]}),
    );
    w.ok("import_undo", json!({"host": "claude-desktop"}));
    w.ok("servers_list", json!({}));
    let seen = w.seen.borrow();
    assert!(seen.len() > 1000, "the responses were collected");
    assert!(seen.contains("echo-local"));
    assert!(
        !seen.contains(CANARY_MARKER),
        "a response carried a canary: {seen}"
    );
}

#[test]
fn errors_reach_the_ui_as_code_and_message() {
    let w = world();
    let err = w
        .call(
            "server_connect",
            json!({"serverId": "claude-desktop/nope", "secrets": [{"env": "TOKEN", "value": "v-123"}]}),
        )
        .expect_err("unknown server");
    assert_eq!(err["code"], "unknown_server");
    assert!(
        err["message"]
            .as_str()
            .expect("message")
            .contains("claude-desktop/nope")
    );

    let err = w
        .call("server_connect", json!({"serverId": "claude-desktop/echo-local", "secrets": [{"env": "BAD=NAME", "value": "v"}]}))
        .expect_err("bad env name");
    assert_eq!(err["code"], "other");
}

#[test]
fn a_changed_command_asks_for_approval_with_both_commands_and_approve_clears_it() {
    let w = world();
    w.ok(
        "import_apply",
        json!({"host": "claude-desktop", "exclude": []}),
    );
    let id = "claude-desktop/echo-local";
    let cfg = config_text(&w.config);
    std::fs::write(
        &w.config,
        cfg.replacen(
            "secret-echo-server.mjs\"",
            "secret-echo-server.mjs\", \"--evil\"",
            1,
        ),
    )
    .expect("edit");
    let s = w.server(id);
    assert_eq!(s["state"], "command-changed");
    assert_eq!(s["actions"], json!(["approve"]));
    let pending = w.ok("server_pending_approval", json!({"serverId": id}));
    let new_cmd = pending["new_command"].clone();
    assert!(new_cmd.to_string().contains("--evil"));
    assert!(!pending["old_command"].to_string().contains("--evil"));

    let stale = w
        .call(
            "server_approve",
            json!({"serverId": id, "newCommand": ["node", "other"]}),
        )
        .expect_err("approving a command the user did not see");
    assert_eq!(stale["code"], "config_changed");
    w.ok(
        "server_approve",
        json!({"serverId": id, "newCommand": new_cmd}),
    );
    assert_eq!(w.server(id)["state"], "brokered");
}
