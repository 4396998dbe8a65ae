//! The service layer: every action the CLI and the app share is one function here.
//!
//! Import and restore, adding remote servers, sign-in, the launcher, approvals,
//! secrets, inventory, watch, repair, doctor, the bridge, the tool guard's relay and its policy. The CLI and the app's IPC commands only
//! parse, call one of these and present the result. May import every layer before it;
//! nothing here prints (results are returned, progress goes through `tracing` or a
//! callback the caller passes).

pub mod add;
pub mod bridge;
pub mod context;
pub mod doctor;
pub mod idp;
pub mod import;
pub mod inventory;
pub mod launch;
pub mod relay;
pub mod remote;
pub mod repair;
pub mod secrets;
pub mod signin;
pub mod spawn;
pub mod tools;
pub mod watch;

pub use context::Context;
