//! The guarded launcher as a process: every byte it does not act on passes through both
//! ways (a recorded corpus, replayed by `cat` as the server), and it behaves as the
//! server would (exit codes, signals, stdin EOF, no orphan when it is killed).

use keybroker_test_support::world::{self, CANARY_MARKER, World};

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const KEY: &str = "sk-KBCANARYrelay0000000000000000000000001";

/// A world with one guarded server `relay` that runs `command args...`.
fn world_running(command: &str, args: &[&str]) -> World {
    let w = world_not_imported(command, args);
    w.import().success();
    w
}

/// [`world_running`] before its import.
fn world_not_imported(command: &str, args: &[&str]) -> World {
    let w = World::new();
    let cfg = json!({"mcpServers": {"relay": {
        "command": command, "args": args, "env": {"OPENAI_API_KEY": KEY}}}});
    w.write_config(serde_json::to_string_pretty(&cfg).expect("json").as_bytes());
    w
}

fn start(w: &World) -> Child {
    w.entry_command("relay")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the entry")
}

/// Wait (bounded: a hung launcher fails the test instead of hanging it) for `child`.
fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "the launcher did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The pids of `pid`'s children (Linux /proc).
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn wait_for_child(pid: u32) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(c) = children(pid).first() {
            return *c;
        }
        assert!(Instant::now() < deadline, "the launcher started no server");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Gone: no such process, or a zombie nobody reaped yet (it no longer runs).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

fn kill(sig: &str, pid: u32) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
}

#[test]
fn every_message_passes_through_byte_for_byte_except_the_filtered_list_and_the_refused_call() {
    let w = world_running("cat", &[]);
    w.kb()
        .args(["tools", "claude-desktop/relay", "--deny", "rm"])
        .assert()
        .success();
    let corpus =
        std::fs::read(world::repo().join("tests/fixtures/guard-corpus.jsonl")).expect("corpus");
    // And a 5 MB tool result.
    let big = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":10,\"result\":{{\"content\":[{{\"type\":\"text\",\"text\":\"{}\"}}]}}}}\n",
        "x\u{e9}\u{1F680}".repeat(5 * 1024 * 1024 / 7)
    );
    let mut input = corpus.clone();
    input.extend_from_slice(big.as_bytes());

    let mut child = start(&w);
    let mut stdin = child.stdin.take().expect("stdin");
    let feed = input.clone();
    let writer = std::thread::spawn(move || {
        stdin.write_all(&feed).expect("write");
        // Dropping stdin closes it: the server sees EOF and exits.
    });
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut out)
        .expect("read");
    writer.join().expect("writer");
    let status = wait_exit(&mut child);
    assert!(status.success(), "{status:?}");
    assert!(out.ends_with(b"\n"), "only whole lines");

    let lines: Vec<&[u8]> = out.split_inclusive(|b| *b == b'\n').collect();
    // The guard's answer to the refused call (id 8), wherever it landed.
    let refusal_at = lines
        .iter()
        .position(|l| l.starts_with(br#"{"jsonrpc":"2.0","id":8,"error""#))
        .expect("the guard answered the refused call");
    let refusal: Value = serde_json::from_slice(lines[refusal_at]).expect("json");
    assert_eq!(refusal["error"]["code"], -32602);
    let rest: Vec<&[u8]> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != refusal_at)
        .map(|(_, l)| *l)
        .collect();

    let expected: Vec<&[u8]> = input
        .split_inclusive(|b| *b == b'\n')
        .filter(|l| !l.starts_with(br#"{"jsonrpc":"2.0","id":8,"method":"tools/call""#))
        .collect();
    assert_eq!(rest.len(), expected.len());
    let mut filtered = 0;
    for (got, want) in rest.iter().zip(&expected) {
        if want.starts_with(br#"{"jsonrpc":"2.0","id":6,"result""#) {
            filtered += 1;
            let got: Value = serde_json::from_slice(got).expect("filtered list");
            let mut want: Value = serde_json::from_slice(want).expect("list");
            want["result"]["tools"]
                .as_array_mut()
                .expect("tools")
                .retain(|t| t["name"] != "rm");
            assert_eq!(got, want);
        } else {
            assert!(
                got == want,
                "changed: {}",
                String::from_utf8_lossy(want)
                    .chars()
                    .take(200)
                    .collect::<String>()
            );
        }
    }
    assert_eq!(filtered, 1);
    let audit = w.audit_lines();
    assert!(
        audit
            .iter()
            .any(|e| e["event"] == "tool-denied" && e["tool"] == "rm")
    );
    assert!(
        audit
            .iter()
            .any(|e| e["event"] == "tool-call" && e["tool"] == "read")
    );
    assert!(w.files_containing(CANARY_MARKER.as_bytes()).is_empty());
}

#[test]
fn the_servers_exit_code_is_returned_and_a_signal_death_is_128_plus_the_signal() {
    let w = world_running("sh", &["-c", "exit 7"]);
    let mut child = start(&w);
    assert_eq!(wait_exit(&mut child).code(), Some(7));

    let w = world_running("sh", &["-c", "kill -TERM $$"]);
    let mut child = start(&w);
    assert_eq!(wait_exit(&mut child).code(), Some(128 + 15));
}

#[test]
fn sigterm_to_the_launcher_reaches_the_server() {
    let w = world_running(
        "sh",
        &["-c", "trap 'exit 42' TERM; while :; do sleep 0.05; done"],
    );
    let mut child = start(&w);
    let server = wait_for_child(child.id());
    // The server runs (its shell has set its trap once it loops in `sleep`).
    let deadline = Instant::now() + Duration::from_secs(30);
    while children(server).is_empty() {
        assert!(Instant::now() < deadline, "the server never looped");
        std::thread::sleep(Duration::from_millis(20));
    }
    // ... and the relay has its handler for SIGTERM (a signal before that is held until it
    // has: the next test).
    while !catches_sigterm(child.id()) {
        assert!(Instant::now() < deadline, "the relay never caught SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    kill("-TERM", child.id());
    assert_eq!(wait_exit(&mut child).code(), Some(42));
}

#[test]
fn sigterm_the_moment_the_server_starts_is_forwarded_not_fatal_to_the_launcher() {
    // The launcher starts the server, then execs the relay, which installs its handler: a
    // SIGTERM sent as soon as the server exists lands in that window, where it used to end
    // the launcher (killed by the signal, the server killed with it). It is held until the
    // relay can forward it, so the launcher exits with the server's answer: 42 from its
    // trap, or 128+15 when it came before the trap was set.
    let w = world_running(
        "sh",
        &["-c", "trap 'exit 42' TERM; while :; do sleep 0.05; done"],
    );
    for round in 0..5 {
        let mut child = start(&w);
        let deadline = Instant::now() + Duration::from_secs(30);
        while children(child.id()).is_empty() {
            assert!(Instant::now() < deadline, "the launcher started no server");
            std::thread::sleep(Duration::from_micros(200));
        }
        kill("-TERM", child.id());
        let status = wait_exit(&mut child);
        assert!(
            matches!(status.code(), Some(42 | 143)),
            "round {round}: the launcher ended with {status:?}, not with the server's exit"
        );
    }
}

/// Whether process `pid` has a handler for SIGTERM (`SigCgt` in /proc/<pid>/status).
fn catches_sigterm(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("SigCgt:"))
                .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        })
        .is_some_and(|mask| mask & (1 << (15 - 1)) != 0)
}

#[test]
fn the_server_dies_with_a_launcher_killed_by_sigkill() {
    let w = world_running("sleep", &["300"]);
    let mut child = start(&w);
    let server = wait_for_child(child.id());
    assert!(!gone(server));
    kill("-KILL", child.id());
    let _ = wait_exit(&mut child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !gone(server) {
        assert!(
            Instant::now() < deadline,
            "server {server} outlived its launcher"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn closing_stdin_passes_eof_on_and_the_server_exits() {
    let w = world_running("cat", &[]);
    let mut child = start(&w);
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"x\"}\n")
        .expect("write");
    drop(stdin);
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read");
    assert!(wait_exit(&mut child).success());
    assert_eq!(out, "{\"jsonrpc\":\"2.0\",\"method\":\"x\"}\n");
}

#[test]
fn the_relay_entry_point_refuses_arguments_keybroker_run_did_not_write() {
    let w = World::new();
    for args in [
        vec!["__relay"],
        vec!["__relay", "claude-desktop/x", "1", "3"],
        vec!["__relay", "claude-desktop/x", "not-a-pid", "3", "4"],
        vec!["__relay", "claude-desktop/x", "1", "3", "4", "-", "6"],
        vec!["__relay", "claude-desktop/x", "1", "3", "4", "key"],
    ] {
        let out = w.kb().args(&args).output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            err.contains("`__relay` is started by `keybroker run` only"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn the_relay_seals_its_tool_events_with_the_key_the_launcher_handed_it_and_opens_no_keychain_session()
 {
    let w = world_running("cat", &[]);
    w.kb()
        .args(["tools", "claude-desktop/relay", "--deny", "rm"])
        .assert()
        .success();
    let mut child = start(&w);
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"rm\",\"arguments\":{}}}\n")
        .expect("write");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\n") {
        assert_eq!(
            stdout.read(&mut byte).expect("read"),
            1,
            "the relay answered"
        );
        answer.push(byte[0]);
    }
    assert!(answer.starts_with(br#"{"jsonrpc":"2.0","id":1,"error""#));
    // The refusal is audited (by the relay, sealing the head) before or just after the
    // answer: wait for the head to name it.
    let head_path = w.home.join("data/audit.jsonl.head");
    let deadline = Instant::now() + Duration::from_secs(30);
    let denied = || {
        w.audit_lines()
            .iter()
            .any(|e| e["event"] == "tool-denied" && e["server"] == "claude-desktop/relay")
    };
    while !denied() {
        assert!(Instant::now() < deadline, "no tool-denied event");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The launcher became `keybroker-relay` (beside it in the build), not `keybroker`.
    assert_eq!(exe_name(child.id()), "keybroker-relay");
    // The relay is not on the session bus: no connection there has its process id.
    let on_bus = bus_pids();
    assert!(!on_bus.is_empty(), "the bus lists its clients");
    assert!(
        !on_bus.contains(&child.id()),
        "the relay {} has a session bus connection (a keychain session)",
        child.id()
    );
    drop(stdin);
    assert!(wait_exit(&mut child).success());

    let head: Value =
        serde_json::from_slice(&std::fs::read(&head_path).expect("head")).expect("json");
    assert_eq!(head["mac"].as_str().map(str::len), Some(64), "{head}");
    let out = w
        .kb()
        .args(["audit", "verify", "--json"])
        .output()
        .expect("verify");
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(out.status.success() && report["ok"] == true, "{report:#}");
}

/// The file name of the program process `pid` runs now.
fn exe_name(pid: u32) -> String {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .expect("exe")
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned()
}

/// `from` at `to` (a hard link where it can be, the binaries are large), executable.
fn install(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to.parent().expect("dir")).expect("mkdir");
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).expect("copy");
    }
}

/// Send a call the guard refuses and read the refusal: the process relays through the
/// guard whatever program it became.
fn refused_call(child: &mut Child) {
    let stdin = child.stdin.as_mut().expect("stdin");
    stdin
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"rm\",\"arguments\":{}}}\n")
        .expect("write");
    let stdout = child.stdout.as_mut().expect("stdout");
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\n") {
        assert_eq!(stdout.read(&mut byte).expect("read"), 1, "an answer");
        answer.push(byte[0]);
    }
    assert!(
        answer.starts_with(br#"{"jsonrpc":"2.0","id":1,"error""#),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

#[test]
fn the_launcher_becomes_the_relay_program_installed_with_it_or_relays_itself_without_one() {
    let relay = assert_cmd::cargo::cargo_bin("keybroker-relay");
    let keybroker = assert_cmd::cargo::cargo_bin("keybroker");
    // (where the launcher is, whether a relay program is installed with it and where,
    // the program the guarded launch becomes)
    let layouts: [(&str, Option<&str>, &str); 3] = [
        (
            "usr/bin/keybroker",
            Some("usr/libexec/keybroker/keybroker-relay"),
            "keybroker-relay",
        ),
        (
            "opt/kb/keybroker",
            Some("opt/kb/keybroker-relay"),
            "keybroker-relay",
        ),
        // A relay program elsewhere is never looked for: the launcher relays itself.
        (
            "alone/keybroker",
            Some("alone/libexec/keybroker/keybroker-relay"),
            "keybroker",
        ),
    ];
    for (launcher, relay_at, becomes) in layouts {
        let w = world_not_imported("cat", &[]);
        let launcher = w.dir.path().join(launcher);
        install(&keybroker, &launcher);
        if let Some(at) = relay_at {
            install(&relay, &w.dir.path().join(at));
        }
        // Import with that launcher, so the entry names it.
        let imported = Command::new(&launcher)
            .env("KEYBROKER_HOME", &w.home)
            .args(["import", "claude-desktop", "--yes", "--config"])
            .arg(&w.config)
            .output()
            .expect("import");
        assert!(imported.status.success(), "{imported:?}");
        assert_eq!(
            w.config_json()["mcpServers"]["relay"]["command"],
            launcher.to_str().expect("utf-8")
        );
        let denied = Command::new(&launcher)
            .env("KEYBROKER_HOME", &w.home)
            .args(["tools", "claude-desktop/relay", "--deny", "rm"])
            .status()
            .expect("tools");
        assert!(denied.success());
        let mut child = start(&w);
        refused_call(&mut child);
        assert_eq!(exe_name(child.id()), becomes, "{launcher:?}");
        drop(child.stdin.take());
        assert!(wait_exit(&mut child).success(), "{launcher:?}");
    }
}

/// The process ids of every connection on the session bus (`dbus-send` asks the bus).
fn bus_pids() -> Vec<u32> {
    let ask = |args: &[&str]| {
        let out = Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
            ])
            .args(args)
            .output()
            .expect("dbus-send");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let names = ask(&["org.freedesktop.DBus.ListNames"]);
    names
        .lines()
        .filter_map(|l| l.trim().strip_prefix("string \"")?.strip_suffix('"'))
        .filter(|n| n.starts_with(':'))
        .filter_map(|n| {
            let arg = format!("string:{n}");
            let reply = ask(&["org.freedesktop.DBus.GetConnectionUnixProcessID", &arg]);
            reply
                .lines()
                .find_map(|l| l.trim().strip_prefix("uint32 ")?.parse().ok())
        })
        .collect()
}
