//! An audit log that grows: segments rotated by real launches, queries and `verify`
//! across them, archived segments, a reader that closes the pipe early, and the table's
//! columns. The real binary on real files; big logs come from the support crate's
//! generator, which writes the format without using the `keybroker` crate.

use keybroker_test_support::{audit_log, world};

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use assert_cmd::prelude::CommandCargoExt;
use serde_json::{Value, json};
use world::World;

const SEGMENT_ENV: &str = "KEYBROKER_AUDIT_SEGMENT_BYTES";

/// Two brokered servers that print their environment.
fn world_with_two_printers() -> World {
    let w = World::new();
    let cfg = json!({
        "mcpServers": {
            "alpha": {"command": "env", "args": [], "env": {"GITHUB_TOKEN": "ghp_KBCANARYscalealpha0000000000000000001"}},
            "beta": {"command": "env", "args": [], "env": {"OPENAI_API_KEY": "sk-KBCANARYscalebeta00000000000000000000001"}}
        }
    });
    w.write_config(serde_json::to_string_pretty(&cfg).expect("json").as_bytes());
    w.import().success();
    w
}

fn data(w: &World) -> PathBuf {
    w.home.join("data")
}

fn segment(w: &World, n: u64) -> PathBuf {
    data(w).join(format!("audit.{n:06}.jsonl"))
}

/// Launch each server `rounds` times with a small segment size, so the log rotates.
fn launch_rounds(w: &World, rounds: usize) {
    for _ in 0..rounds {
        for name in ["alpha", "beta"] {
            let out = w
                .entry_command(name)
                .env(SEGMENT_ENV, "1500")
                .stdin(Stdio::null())
                .output()
                .expect("launch");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// Every stored line, oldest segment first, then the active log.
fn stored_lines(w: &World) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data(w))
        .expect("data dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.starts_with("audit.") && name.ends_with(".jsonl") && name != "audit.jsonl"
        })
        .collect();
    files.sort();
    files.push(data(w).join("audit.jsonl"));
    files
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn verify_json(w: &World) -> (Option<i32>, Value) {
    let out = w
        .kb()
        .args(["audit", "verify", "--json"])
        .output()
        .expect("verify");
    let v = serde_json::from_slice(&out.stdout).expect("verify --json");
    (out.status.code(), v)
}

fn problem_kinds(report: &Value) -> Vec<String> {
    report["problems"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p["kind"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn queries_stream_across_rotated_segments_and_return_exactly_the_matching_lines_in_order() {
    let w = world_with_two_printers();
    launch_rounds(&w, 6);
    assert!(segment(&w, 2).exists(), "the log rotated into segments");

    let out = w
        .kb()
        .args(["audit", "--server", "claude-desktop/alpha", "--json"])
        .assert()
        .success();
    let got: Vec<String> = String::from_utf8_lossy(&out.get_output().stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let want: Vec<String> = stored_lines(&w)
        .into_iter()
        .filter(|l| {
            serde_json::from_str::<Value>(l).expect("line")["server"] == "claude-desktop/alpha"
        })
        .collect();
    assert!(want.len() >= 7, "import + 6 launches: {}", want.len());
    assert_eq!(
        got, want,
        "exactly the stored lines, in order, from every segment"
    );

    let out = w
        .kb()
        .args(["audit", "--event", "released", "--json"])
        .assert()
        .success();
    let released = String::from_utf8_lossy(&out.get_output().stdout)
        .lines()
        .count();
    assert_eq!(released, 12);

    // A kind this version has no name for is a filter like any other.
    let out = w
        .kb()
        .args(["audit", "--event", "tool-call"])
        .assert()
        .success();
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stdout),
        "No audit events match.\n"
    );

    let (code, report) = verify_json(&w);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["from_segment"], 1);
    assert_eq!(report["anchor"]["status"], "verified", "{report}");
}

#[test]
fn verify_across_segments_finds_an_edited_old_line_and_a_removed_segment_and_accepts_archived_ones()
{
    let w = world_with_two_printers();
    launch_rounds(&w, 6);
    let first = segment(&w, 1);
    let original = std::fs::read_to_string(&first).expect("segment 1");

    // An edited line in the oldest segment.
    std::fs::write(
        &first,
        original.replacen("\"outcome\":\"ok\"", "\"outcome\":\"denied\"", 1),
    )
    .expect("edit");
    let out = w.kb().args(["audit", "verify"]).assert().code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        stdout.contains("audit.000001.jsonl") && stdout.contains("HashMismatch"),
        "{stdout}"
    );
    std::fs::write(&first, &original).expect("restore");

    // A segment removed from the middle.
    let second = segment(&w, 2);
    let saved = std::fs::read(&second).expect("segment 2");
    std::fs::remove_file(&second).expect("remove");
    let (code, report) = verify_json(&w);
    assert_eq!(code, Some(1), "{report}");
    assert!(
        problem_kinds(&report).contains(&"SegmentMissing".to_string()),
        "{report}"
    );
    std::fs::write(&second, saved).expect("restore");
    assert_eq!(verify_json(&w).0, Some(0));

    // The two oldest archived: verified from segment 3 on, not a failure.
    let archive = w.dir.path().join("archive");
    std::fs::create_dir(&archive).expect("archive");
    for n in [1, 2] {
        let p = segment(&w, n);
        std::fs::rename(&p, archive.join(p.file_name().expect("name"))).expect("move");
    }
    let (code, report) = verify_json(&w);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["from_segment"], 3, "{report}");
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("archived") && notes.contains("audit.000003.jsonl"),
        "{notes}"
    );
}

/// A home with a generated, valid log of `n` events (no keychain needed to read it).
fn home_with_generated_log(n: usize) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("kbhome");
    std::fs::create_dir_all(home.join("data")).expect("data");
    for d in [&home, &home.join("data")] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    }
    audit_log::write(&home.join("data/audit.jsonl"), n, 50).expect("generate");
    (dir, home)
}

#[test]
fn a_reader_that_closes_the_pipe_early_ends_the_listing_with_exit_0_and_no_panic() {
    let (_dir, home) = home_with_generated_log(20_000);
    for args in [&["audit"][..], &["audit", "--json"][..]] {
        let mut child = Command::cargo_bin("keybroker")
            .expect("keybroker binary")
            .args(args)
            .env("KEYBROKER_HOME", &home)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut stdout = child.stdout.take().expect("stdout");
        let mut first = [0u8; 4096];
        stdout.read_exact(&mut first).expect("some output");
        drop(stdout); // `| head` exits
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: nothing to say: {stderr}");
    }
}

#[test]
fn the_table_header_names_each_column_above_its_values() {
    let (_dir, home) = home_with_generated_log(3);
    let out = Command::cargo_bin("keybroker")
        .expect("keybroker binary")
        .args(["audit", "--server", &audit_log::server_id(1)])
        .env("KEYBROKER_HOME", &home)
        .output()
        .expect("audit");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    let row = lines.next().expect("a row");
    for (column, value) in [
        ("TIME", "2026-03-01T00:00:01Z"),
        ("EVENT", "released"),
        ("SERVER", "claude-desktop/server-1"),
        ("CREDENTIAL", "server-1-token"),
        ("TARGET", "env:GITHUB_PERSONAL_ACCESS_TOKEN"),
        ("OUTCOME", "ok"),
        ("PID", "10001 (parent 901 claude)"),
    ] {
        let at = header.find(column).expect(column);
        assert!(
            row[at..].starts_with(value),
            "{column} is above `{}`:\n{header}\n{row}",
            &row[at..]
        );
    }
}
