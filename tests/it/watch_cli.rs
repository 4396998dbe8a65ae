//! `keybroker watch` sees a host rewrite its file the way hosts do (write a temp file,
//! rename it over the config) and reports the drift: our entry dropped, a plaintext key
//! added. A file that vanishes for a moment during a save is not reported.
#![cfg(target_os = "linux")]

use keybroker_test_support::world;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use world::World;

/// A bound on how long a report may take; the debounce is 200 ms.
const WITHIN: Duration = Duration::from_secs(5);

struct Watcher {
    child: Child,
    lines: Receiver<String>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Watcher {
    fn start(w: &World, home: &Path) -> Watcher {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("keybroker"))
            .arg("watch")
            .env("KEYBROKER_HOME", &w.home)
            .env("HOME", home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("CODEX_HOME")
            .env_remove("CLAUDE_CONFIG_DIR")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("keybroker watch");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut me = Watcher { child, lines };
        me.expect_line(|l| l.starts_with("watching "));
        me
    }

    /// The first line matching `want` within [`WITHIN`]; panics with what came instead.
    fn expect_line(&mut self, want: impl Fn(&str) -> bool) -> (String, Vec<String>, Duration) {
        let start = Instant::now();
        let mut other = Vec::new();
        while let Some(left) = WITHIN.checked_sub(start.elapsed()) {
            match self.lines.recv_timeout(left) {
                Ok(l) if want(&l) => return (l, other, start.elapsed()),
                Ok(l) => other.push(l),
                Err(_) => break,
            }
        }
        panic!("no expected line within {WITHIN:?}; got: {other:#?}");
    }
}

/// Save `text` the way editors and hosts do: temp file in the same dir, then rename.
fn atomic_save(file: &Path, text: &str) {
    let tmp = file.with_extension("tmp-save");
    std::fs::write(&tmp, text).expect("write temp");
    std::fs::rename(&tmp, file).expect("rename");
}

fn setup() -> (World, std::path::PathBuf, std::path::PathBuf) {
    let w = World::new();
    let home = w.dir.path().join("home");
    let file = home.join(".cursor/mcp.json");
    std::fs::create_dir_all(file.parent().expect("parent")).expect("dirs");
    std::fs::write(
        &file,
        std::fs::read(world::repo().join("tests/fixtures/hosts/cursor.json")).expect("fixture"),
    )
    .expect("write");
    let out = w
        .kb()
        .env("HOME", &home)
        .env_remove("XDG_CONFIG_HOME")
        .args(["import", "cursor", "--yes"])
        .output()
        .expect("import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (w, home, file)
}

#[test]
fn watch_reports_a_dropped_entry_and_a_new_plaintext_key_after_atomic_saves() {
    let (w, home, file) = setup();
    let mut watcher = Watcher::start(&w, &home);

    // The host rewrites its file without our entry.
    let dropped = r#"{
  "mcpServers": {
    "fetch": { "command": "uvx", "args": [ "mcp-server-fetch" ] },
    "linear": { "url": "https://mcp.linear.app/sse" }
  }
}
"#;
    atomic_save(&file, dropped);
    let (line, _, took) = watcher.expect_line(|l| l.starts_with("drift: dropped cursor/github"));
    eprintln!("dropped reported after {took:?}: {line}");

    // The user pastes a new server with a plaintext key.
    let plaintext = dropped.replace(
        "\"linear\"",
        "\"slack\": { \"command\": \"npx\", \"env\": { \"SLACK_BOT_TOKEN\": \"xoxb-7301245698123-7301245698456-KBCANARYslackVEA1VxpR0SD\" } },\n    \"linear\"",
    );
    atomic_save(&file, &plaintext);
    let (line, _, took) = watcher.expect_line(|l| l.starts_with("drift: plaintext cursor/slack"));
    eprintln!("plaintext reported after {took:?}: {line}");
    assert!(
        !line.contains("KBCANARY"),
        "a report never shows a value: {line}"
    );

    // The fix the report names puts the dropped entry back and moves the new key.
    let out = w
        .kb()
        .env("HOME", &home)
        .env_remove("XDG_CONFIG_HOME")
        .args(["import", "cursor", "--yes"])
        .output()
        .expect("re-import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
    assert_eq!(cfg["mcpServers"]["github"]["args"][1], "cursor/github");
    assert_eq!(cfg["mcpServers"]["slack"]["args"][1], "cursor/slack");
    let servers = w
        .kb()
        .env("HOME", &home)
        .env_remove("XDG_CONFIG_HOME")
        .args(["servers", "--json"])
        .output()
        .expect("servers");
    let list: Vec<serde_json::Value> = serde_json::from_slice(&servers.stdout).expect("json");
    let github = list
        .iter()
        .find(|s| s["id"] == "cursor/github")
        .expect("github listed");
    assert_eq!(github["status"], "brokered", "{list:#?}");
}

#[test]
fn a_file_missing_for_a_moment_during_a_save_is_not_reported_as_dropped() {
    let (w, home, file) = setup();
    let original = std::fs::read_to_string(&file).expect("read");
    let mut watcher = Watcher::start(&w, &home);

    // Delete, then put the same bytes back 300 ms later (a non-atomic save).
    std::fs::remove_file(&file).expect("remove");
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(&file, &original).expect("write back");
    // Then a real change, which must be the first thing reported.
    let with_new = original.replacen(
        "\"mcpServers\": {",
        "\"mcpServers\": {\n\t\t\"notes\": { \"command\": \"notes-mcp\" },",
        1,
    );
    std::thread::sleep(Duration::from_millis(1500));
    atomic_save(&file, &with_new);
    let (_, before, _) = watcher.expect_line(|l| l.starts_with("drift: new server cursor/notes"));
    assert!(
        before.iter().all(|l| !l.contains("dropped")),
        "reported: {before:#?}"
    );
}

#[test]
fn a_deleted_file_reports_its_brokered_entries_dropped_and_its_return_adds_nothing_new() {
    let (w, home, file) = setup();
    let original = std::fs::read_to_string(&file).expect("read");
    let mut watcher = Watcher::start(&w, &home);

    std::fs::remove_file(&file).expect("remove");
    // Every brokered entry of the file is reported dropped (github, and linear through
    // the bridge), in whichever order.
    let (line, before, took) = watcher.expect_line(|l| {
        l.starts_with("drift: dropped cursor/github")
            || l.starts_with("drift: dropped cursor/linear")
    });
    eprintln!("deletion reported after {took:?} (1 s grace)");
    let other = if line.contains("cursor/github") {
        "cursor/linear"
    } else {
        "cursor/github"
    };
    if !before.iter().any(|l| l.contains(other)) {
        watcher.expect_line(|l| l.starts_with(&format!("drift: dropped {other}")));
    }

    atomic_save(&file, &original);
    std::thread::sleep(Duration::from_millis(600));
    let with_new = original.replacen(
        "\"mcpServers\": {",
        "\"mcpServers\": {\n\t\t\"notes\": { \"command\": \"notes-mcp\" },",
        1,
    );
    atomic_save(&file, &with_new);
    let (_, before, _) = watcher.expect_line(|l| l.starts_with("drift: new server cursor/notes"));
    assert!(before.is_empty(), "the file's return reported: {before:#?}");
}
