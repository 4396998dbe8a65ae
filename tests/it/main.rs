//! The core's integration tests, one binary: the CLI and the library against real peers
//! (the keychain in `scripts/with-keyring.sh`, the official MCP SDKs, real OAuth servers,
//! real hosts). Set-up shared with the app's tests is in `tests/support`.

mod add_stdio;
mod approval_boundary;
mod audit_errors;
mod audit_files;
mod audit_scale;
mod completions;
mod doc_props;
mod doctor;
mod faults;
mod guard_bridge;
mod guard_relay;
mod guard_stdio;
mod host_files;
mod host_files_yaml;
mod hosts_cli;
mod idp_login;
mod import_e2e;
mod import_spans;
mod import_url_keys;
mod launch_checks;
mod launcher;
mod layers;
mod lib_conflict;
mod live_hosts;
mod real_hosts;
mod refresh_load;
mod remote_e2e;
mod remote_hardening;
mod remote_headers;
mod remote_machine;
mod repair_move;
mod secret_cli;
mod watch_cli;
