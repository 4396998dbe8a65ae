//! Bad input and faults while editing a host config: invalid files are never touched,
//! a concurrent edit is never overwritten, a kill at any moment leaves the old or the
//! new file, and symlinks stay links.

use keybroker_test_support::world;

use std::process::{Command, Stdio};
use std::time::Duration;

use world::{CANARY_MARKER, World};

#[test]
fn invalid_json_names_line_and_column_and_leaves_the_file_byte_identical() {
    let w = World::new();
    let broken = b"{\n  \"mcpServers\": {\n    \"a\": {\"command\": \"npx\"}\n    \"b\": {\"command\": \"npx\"}\n  }\n}\n";
    w.write_config(broken);
    let out = w.import().code(65);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains(&*w.config.to_string_lossy()),
        "names the file: {stderr}"
    );
    assert!(
        stderr.contains("line 3, column"),
        "names line and column: {stderr}"
    );
    assert!(stderr.contains("fix:"), "says what to do: {stderr}");
    assert_eq!(w.config_bytes(), broken);
}

#[test]
fn wrong_shapes_are_refused_with_the_field_named() {
    let w = World::new();
    for (bytes, field) in [
        (&b"[1, 2]"[..], "(root)"),
        (
            &b"{\"mcpServers\": [\"not\", \"an\", \"object\"]}"[..],
            "mcpServers",
        ),
    ] {
        w.write_config(bytes);
        let out = w.import().code(65);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(stderr.contains(field), "{stderr}");
        assert_eq!(w.config_bytes(), bytes);
    }
}

#[test]
fn a_missing_config_says_how_to_point_at_one() {
    let w = World::new();
    let out = w
        .kb()
        .args(["import", "claude-desktop", "--yes", "--config"])
        .arg(w.cfg_dir.join("absent.json"))
        .assert()
        .failure();
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("--config"));
}

#[cfg(unix)]
#[test]
fn a_symlinked_config_is_written_through_and_stays_a_link() {
    use std::os::unix::fs::PermissionsExt;
    let w = World::with_fixture("claude_desktop_config.json");
    let real = w.dir.path().join("dotfiles-claude.json");
    std::fs::rename(&w.config, &real).expect("move");
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    std::os::unix::fs::symlink(&real, &w.config).expect("link");
    w.import().success();
    assert!(
        std::fs::symlink_metadata(&w.config)
            .expect("meta")
            .file_type()
            .is_symlink()
    );
    let mode = std::fs::metadata(&real).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "mode kept");
    assert!(w.files_containing(CANARY_MARKER.as_bytes()).is_empty());
}

#[test]
fn kill_9_at_random_moments_of_an_import_leaves_the_old_or_the_new_file() {
    let fixture = world::fill_echo(
        &std::fs::read(world::repo().join("tests/fixtures/claude_desktop_config.json"))
            .expect("fixture"),
    );
    // The new version, from one complete run in the same world.
    let w = World::new();
    w.write_config(&fixture);
    w.import().success();
    let new = w.config_bytes();
    // How long a whole import takes here (credentials already in the keychain), so the
    // kills spread over every phase: start-up, keychain, state, temp file, rename.
    w.write_config(&fixture);
    let started = std::time::Instant::now();
    w.import().success();
    let full_run_us = (started.elapsed().as_micros() as u64).max(1_000);
    assert_ne!(new, fixture);

    let bin = assert_cmd::cargo::cargo_bin("keybroker");
    let mut seen_old = 0;
    let mut seen_new = 0;
    // A deterministic spread of kill delays over 40-130% of a full run, where the
    // keychain, state and config writes happen.
    for i in 0..40u64 {
        w.write_config(&fixture);
        let mut child = Command::new(&bin)
            .args(["import", "claude-desktop", "--yes", "--config"])
            .arg(&w.config)
            .env("KEYBROKER_HOME", &w.home)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn import");
        std::thread::sleep(Duration::from_micros(
            full_run_us * 2 / 5 + (i * 7919) % (full_run_us * 9 / 10),
        ));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let now = w.config_bytes();
        assert!(
            serde_json::from_slice::<serde_json::Value>(&now).is_ok(),
            "iteration {i}: config must always parse"
        );
        if now == fixture {
            seen_old += 1;
        } else if now == new {
            seen_new += 1;
        } else {
            panic!("iteration {i}: config is neither the old nor the new version");
        }
    }
    eprintln!(
        "kill -9 runs over {full_run_us} us: {seen_old} left the old file, {seen_new} the new one"
    );
    assert_eq!(seen_old + seen_new, 40);
    // Whatever was interrupted, a final import completes and leaves no plaintext.
    w.write_config(&fixture);
    w.import().success();
    assert_eq!(w.config_bytes(), new);
    let leaks: Vec<_> = w
        .files_containing(CANARY_MARKER.as_bytes())
        .into_iter()
        .filter(|p| !p.ends_with("claude_desktop_config.json"))
        .collect();
    assert!(
        leaks.is_empty(),
        "no plaintext copy in temp files, state or audit: {leaks:?}"
    );
}
