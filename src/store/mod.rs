//! The store layer: everything Keybroker keeps between runs.
//!
//! The vault (secret values, only in the OS keychain), the state file (servers,
//! bindings, approvals; never a secret value) and the audit log (hash-chained events).
//! Imports only `base`. It does not know host config formats or the network.

pub mod audit;
pub mod state;
pub mod vault;
