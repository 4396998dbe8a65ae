//! The base layer: what every other layer uses and that knows nothing of MCP, hosts or
//! the keychain.
//!
//! Owns the error type, the `Secret` wrapper, the clock, file helpers (atomic replace,
//! locks, private files), where Keybroker keeps its own files and the reporter library
//! code tells the user things through (it never prints). Imports no other layer.

pub mod clock;
pub mod error;
pub mod fsutil;
pub mod paths;
pub mod report;
pub mod secret;
