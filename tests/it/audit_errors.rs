//! An audit log that cannot be written is never passed over in silence: an action that
//! changed something returns the error, and a refusal stays a refusal whose message says
//! its entry is missing.

use keybroker_test_support::world;

use std::path::Path;

use world::World;

/// Makes every append fail: the log's directory (`KEYBROKER_HOME/data`) is a file.
fn block_the_audit_log(w: &World) {
    std::fs::create_dir_all(&w.home).expect("home");
    std::fs::write(w.home.join("data"), b"not a directory").expect("blocker");
}

/// Regression: `remote::add` discarded the append error with `let _ =`, so adding a
/// remote server with a broken audit log reported success and left no trace.
#[test]
fn adding_a_remote_server_reports_an_audit_log_it_cannot_write() {
    use keybroker::base::paths::Paths;
    use keybroker::config::hosts::Host;
    use keybroker::ops::remote::{self, AddRequest};
    use keybroker::store::audit::AuditLog;
    use keybroker::store::vault::Vault;

    let w = World::new();
    block_the_audit_log(&w);
    let paths = Paths::under(&w.home);
    let vault = Vault::open(&paths.keychain_service()).expect("real keychain");
    let audit = AuditLog::new(paths.audit_file());
    let launcher = w.dir.path().join("keybroker");
    let req = AddRequest {
        host: Host::ClaudeDesktop,
        config_path: &w.config,
        name: "remote",
        url: "http://127.0.0.1:9/mcp",
        allow_http: false,
        launcher: &launcher,
        headers: Vec::new(),
        client: None,
        client_metadata_url: None,
        issuer: None,
        proxy: None,
        machine: None,
        replace: false,
        now: "2026-01-01T00:00:00Z",
    };
    let err = remote::add(&req, &paths, &vault, &audit).expect_err("the audit failure is returned");
    let audit_dir = paths.audit_file().parent().map(Path::to_path_buf);
    assert!(
        matches!(&err, keybroker::Error::Io { path, .. } if Some(path) == audit_dir.as_ref()),
        "the error is the audit log's: {err}"
    );
    // The entry itself was written before the audit: the error reports an unrecorded
    // change, it does not claim nothing happened.
    assert!(w.config_json()["mcpServers"]["remote"].is_object());
}

#[test]
fn a_refused_launch_that_cannot_be_audited_still_exits_denied_and_says_so() {
    let w = World::new();
    block_the_audit_log(&w);
    let out = w
        .kb()
        .args(["run", "claude-desktop/nobody", "--", "true"])
        .assert()
        .code(77);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("no secrets released"), "{stderr}");
    assert!(stderr.contains("missing from the audit log"), "{stderr}");
}
