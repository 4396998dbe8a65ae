//! Keybroker's core: everything the `keybroker` CLI and the tray app share.
//!
//! No GUI, no Tauri: the launcher (`keybroker run`) is started by hosts for every server
//! spawn and must stay small and fast.

pub mod app_api;
pub mod audit;
pub mod bridge;
pub mod configdoc;
pub mod error;
pub mod fsutil;
pub mod hosts;
pub mod inventory;
pub mod jsonfile;
pub mod launch;
pub mod oauth;
pub mod paths;
pub mod remote;
pub mod rewrite;
pub mod scan;
pub mod secret;
pub mod state;
pub mod tomlfile;
pub mod vault;
pub mod watch;

pub use error::{Error, Result};
pub use secret::Secret;
