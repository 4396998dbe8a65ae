//! Keybroker's core: everything the `keybroker` CLI and the tray app share.
//!
//! No GUI, no Tauri: the launcher (`keybroker run`) is started by hosts for every server
//! spawn and must stay small and fast.
//!
//! The folders are layers, each depending only on the ones listed before it (the
//! `layers` integration test keeps it so):
//!
//! | layer | owns |
//! |---|---|
//! | [`base`] | errors, `Secret`, the clock, files (atomic replace, locks, private files), paths, the reporter |
//! | [`store`] | the keychain vault, the state file, the audit log |
//! | [`config`] | host config documents edited in place; the host table |
//! | [`scan`] | plaintext-secret detection |
//! | [`mcp`] | MCP protocol constants, message framing, SSE |
//! | [`net`] | the guarded HTTP client, browser URLs |
//! | [`oauth`] | discovery, registration, grants, token store and refresh |
//! | [`ops`] | the service layer: every action the CLI and the app share |
//! | [`app_api`] | view models for the app |

pub mod app_api;
pub mod base;
pub mod config;
pub mod mcp;
pub mod net;
pub mod oauth;
pub mod ops;
pub mod scan;
pub mod store;

pub use base::error::{Error, Result};
pub use base::secret::Secret;
