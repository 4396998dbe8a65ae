//! The library's plan/apply path on the real keychain: a host that saves its config
//! between our read and our write is never overwritten.

use keybroker_test_support::world;

use keybroker::Error;
use keybroker::base::paths::Paths;
use keybroker::config::hosts::Host;
use keybroker::ops::import::{self, ImportRequest};
use keybroker::store::audit::AuditLog;
use keybroker::store::state::State;
use keybroker::store::vault::Vault;
use world::World;

#[test]
fn a_host_saving_the_file_after_the_plan_makes_apply_refuse_and_write_nothing() {
    let w = World::with_fixture("claude_desktop_config.json");
    let paths = Paths::under(&w.home);
    let vault = Vault::open(&paths.keychain_service()).expect("real keychain");
    let launcher = std::path::PathBuf::from("/opt/keybroker/keybroker");
    let req = ImportRequest {
        host: Host::ClaudeDesktop,
        config_path: &w.config,
        exclude: &[],
        launcher: &launcher,
        only: None,
        set_env: None,
        approve: &[],
        keybroker_home: None,
    };
    let plan =
        import::plan_import(&req, &State::load(&paths).expect("state"), &vault).expect("plan");
    assert!(plan.changes());

    // The host saves its own change (a new preference) in the meantime.
    let mut host_version = w.config_bytes();
    host_version.extend_from_slice(b"\n");
    w.write_config(&host_version);

    let audit = AuditLog::new(paths.audit_file());
    let err = import::apply_import(&plan, &vault, &paths, &audit, "2026-11-26T00:00:00Z")
        .expect_err("must refuse");
    assert!(matches!(err, Error::ConfigChanged { .. }), "{err}");
    assert!(
        err.fix()
            .unwrap_or_default()
            .contains("run the command again")
    );
    assert_eq!(w.config_bytes(), host_version, "the host's save is kept");
    assert!(
        w.keychain_lookup("echo-api-token").is_none(),
        "nothing stored for a plan that was not applied"
    );
    assert!(!paths.state_file().exists());
}
