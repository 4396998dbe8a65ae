//! Shared set-up for the integration tests: a throwaway KEYBROKER_HOME and host config
//! dir, the real `keybroker` binary, the real keychain (gnome-keyring in the private
//! session bus `scripts/with-keyring.sh` starts) and real MCP peers from the official
//! TypeScript SDK (`tests/peers`).

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// Every canary secret in the fixtures contains this marker.
pub const CANARY_MARKER: &str = "KBCANARY";

/// The repository root (this crate lives in `tests/support`).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn peers() -> PathBuf {
    let p = repo().join("tests/peers");
    assert!(
        p.join("node_modules/@modelcontextprotocol/sdk").exists(),
        "the MCP SDK peers are not installed: run `make peers` (make test does it)"
    );
    p
}

pub fn echo_server() -> PathBuf {
    peers().join("secret-echo-server.mjs")
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn require_keychain() {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "these tests use the real Secret Service: run them under scripts/with-keyring.sh (make test does)"
    );
}

pub struct World {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub cfg_dir: PathBuf,
    pub config: PathBuf,
}

impl World {
    #[allow(
        clippy::new_without_default,
        reason = "a World makes temp dirs and needs the keychain: not a plain default value"
    )]
    pub fn new() -> World {
        require_keychain();
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("kbhome");
        let cfg_dir = dir.path().join("Claude");
        std::fs::create_dir_all(&cfg_dir).expect("cfg dir");
        let config = cfg_dir.join("claude_desktop_config.json");
        World {
            dir,
            home,
            cfg_dir,
            config,
        }
    }

    /// A world whose config is `tests/fixtures/<name>` with the echo server's path filled in.
    pub fn with_fixture(name: &str) -> World {
        let w = World::new();
        let raw = std::fs::read(repo().join("tests/fixtures").join(name)).expect("fixture");
        w.write_config(&fill_echo(&raw));
        w
    }

    pub fn write_config(&self, bytes: &[u8]) {
        std::fs::write(&self.config, bytes).expect("write config");
    }

    pub fn config_bytes(&self) -> Vec<u8> {
        std::fs::read(&self.config).expect("read config")
    }

    pub fn config_json(&self) -> serde_json::Value {
        let b = self.config_bytes();
        let b = b.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(&b);
        serde_json::from_slice(b).expect("config parses")
    }

    /// The real `keybroker` binary with this world's KEYBROKER_HOME.
    pub fn kb(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::cargo_bin("keybroker").expect("keybroker binary");
        c.env("KEYBROKER_HOME", &self.home).env_remove("RUST_LOG");
        c
    }

    pub fn import(&self) -> assert_cmd::assert::Assert {
        self.kb()
            .args(["import", "claude-desktop", "--yes", "--config"])
            .arg(&self.config)
            .assert()
    }

    /// Start `server` from the config exactly as a host does, with the official SDK's
    /// stdio client, call `calls`, and return the parsed JSON report.
    pub fn spawn(
        &self,
        server: &str,
        calls: &[(&str, serde_json::Value)],
    ) -> Result<serde_json::Value, String> {
        let mut cmd = Command::new("node");
        cmd.current_dir(peers())
            .arg("spawn-from-config.mjs")
            .arg(&self.config)
            .arg(server)
            .env("KEYBROKER_HOME", &self.home)
            .env("SPAWN_PASS_ENV", "DBUS_SESSION_BUS_ADDRESS KEYBROKER_HOME");
        for (tool, args) in calls {
            cmd.arg(tool).arg(args.to_string());
        }
        let out = cmd.output().map_err(|e| format!("cannot run node: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("bad JSON from spawn-from-config: {e}"))
    }

    /// Run the exact command line the config holds for `server`, like a host would.
    pub fn run_entry(&self, server: &str) -> std::process::Output {
        self.entry_command(server)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("spawn entry")
    }

    /// The command line and env the config holds for `server`, as a host starts it (with
    /// this world's KEYBROKER_HOME); the caller may add to it before running it.
    pub fn entry_command(&self, server: &str) -> Command {
        let cfg = self.config_json();
        let entry = &cfg["mcpServers"][server];
        let command = entry["command"].as_str().expect("command");
        let mut c = Command::new(command);
        c.args(self.entry_args(server))
            .env("KEYBROKER_HOME", &self.home);
        if let Some(env) = entry["env"].as_object() {
            for (k, v) in env {
                c.env(k, v.as_str().unwrap_or_default());
            }
        }
        c
    }

    /// The `args` the config holds for `server`.
    pub fn entry_args(&self, server: &str) -> Vec<String> {
        self.config_json()["mcpServers"][server]["args"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `keybroker bridge` arguments the config holds for server `id`
    /// (`claude-desktop/<name>`): `bridge --binding <b> <id>`, as a host starts it.
    pub fn bridge_args(&self, id: &str) -> Vec<String> {
        let name = id.split_once('/').map_or(id, |(_, n)| n);
        let args = self.entry_args(name);
        assert_bridge_args(&serde_json::json!(args), id);
        args
    }

    /// Every file under this world (config dir, KEYBROKER_HOME, temp and lock files)
    /// whose bytes contain `needle`.
    pub fn files_containing(&self, needle: &[u8]) -> Vec<PathBuf> {
        let mut hits = Vec::new();
        walk(self.dir.path(), &mut |p| {
            let bytes = std::fs::read(p).unwrap_or_default();
            if bytes.windows(needle.len()).any(|w| w == needle) {
                hits.push(p.to_path_buf());
            }
        });
        hits
    }

    /// `keybroker servers --json` for this world's config: the row of server `name`.
    pub fn server_status(&self, name: &str) -> serde_json::Value {
        let out = self
            .kb()
            .args(["servers", "--json", "--config"])
            .arg(&self.config)
            .assert()
            .success();
        let list: serde_json::Value =
            serde_json::from_slice(&out.get_output().stdout).expect("servers --json");
        list.as_array()
            .expect("a list")
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no server {name} in {list}"))
    }

    pub fn audit_lines(&self) -> Vec<serde_json::Value> {
        let raw = std::fs::read_to_string(self.home.join("data/audit.jsonl")).unwrap_or_default();
        raw.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    pub fn keychain_service(&self) -> String {
        format!("keybroker@{}", self.home.display())
    }

    /// Read a credential straight from the Secret Service with `secret-tool`.
    pub fn keychain_lookup(&self, credential: &str) -> Option<String> {
        let out = Command::new("secret-tool")
            .args([
                "lookup",
                "service",
                &self.keychain_service(),
                "username",
                credential,
            ])
            .output()
            .expect("secret-tool (package libsecret-tools)");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// `args` is a bridge entry's arguments for `id`: `["bridge", "--binding", <32 hex digits>, id]`.
pub fn assert_bridge_args(args: &serde_json::Value, id: &str) {
    let list = args.as_array().unwrap_or_else(|| panic!("args: {args}"));
    assert_eq!(list.len(), 4, "{args}");
    assert_eq!(list[0], "bridge", "{args}");
    assert_eq!(list[1], "--binding", "{args}");
    let binding = list[2].as_str().unwrap_or_default();
    assert!(
        binding.len() == 32 && binding.chars().all(|c| c.is_ascii_hexdigit()),
        "a 128-bit binding id: {args}"
    );
    assert_eq!(list[3], id, "{args}");
}

pub fn fill_echo(raw: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(raw.to_vec()).expect("utf8 fixture");
    text.replace("__ECHO_SERVER__", &echo_server().to_string_lossy())
        .into_bytes()
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            walk(&p, f);
        } else if ft.is_file() {
            f(&p);
        }
    }
}

/// All canary values in a fixture (strings, or the token inside a string, carrying the marker).
pub fn canaries(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    let mut out = Vec::new();
    for (i, _) in text.match_indices(CANARY_MARKER) {
        let bytes = text.as_bytes();
        let ok = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
        let mut s = i;
        while s > 0 && ok(bytes[s - 1]) {
            s -= 1;
        }
        let mut e = i;
        while e < bytes.len() && ok(bytes[e]) {
            e += 1;
        }
        let v = text[s..e].to_string();
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}
