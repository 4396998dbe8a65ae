//! The base layer: what every other layer uses and that knows nothing of MCP, hosts or
//! the keychain.
//!
//! Owns the error type, the `Secret` wrapper, the clock, file helpers (atomic replace,
//! locks, private files) and where Keybroker keeps its own files. Imports no other layer.

pub mod clock;
pub mod error;
pub mod fsutil;
pub mod paths;
pub mod secret;
