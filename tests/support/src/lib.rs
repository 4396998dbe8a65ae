//! Test support shared by the core's integration tests (`tests/it`) and the app's
//! (`src-tauri/tests`): throwaway homes, the real `keybroker` binary, the real keychain,
//! real MCP and OAuth peers on 127.0.0.1, canary checks.
//!
//! Not a mock library: everything here starts or finds a real component. It does not
//! depend on the `keybroker` crate, so its helpers work on files and processes only.

pub mod audit_log;
pub mod remote;
pub mod world;
