//! The IPC surface: one-liner commands over `keybroker::app_api`.
//!
//! Every command answers `Result<T, ErrorView>` (`{code, message, fix}` in the webview).
//! No command returns a secret value: secrets only come in, through [`SecretInput`].

pub mod add_server;
pub mod audit;
pub mod credentials;
pub mod first_run;
pub mod health;
pub mod import;
pub mod servers;
pub mod settings;
pub mod tools;

use serde::Deserialize;

pub use keybroker::app_api::ErrorView;

/// One secret typed in the webview, on its way to the keychain. Never serialized back;
/// `Debug` does not show the value.
#[derive(Deserialize, ts_rs::TS)]
pub struct SecretInput {
    pub env: String,
    pub value: String,
}

impl std::fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretInput({}=<redacted>)", self.env)
    }
}

impl SecretInput {
    /// The value moves (not copied) into a zeroizing [`keybroker::Secret`].
    pub fn into_pair(self) -> (String, keybroker::Secret) {
        (self.env, keybroker::Secret::new(self.value))
    }
}

pub(crate) fn now() -> String {
    keybroker::base::clock::now_rfc3339()
}

/// Run slow core work (a sign-in waiting for the browser, the doctor's keychain probe) on a blocking thread, off the
/// async runtime's workers.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> keybroker::Result<T> + Send + 'static,
) -> Result<T, ErrorView> {
    match tauri::async_runtime::spawn_blocking(work).await {
        Ok(result) => result.map_err(ErrorView::from),
        Err(e) => Err(ErrorView::other(
            format!("the work stopped unexpectedly: {e}"),
            "try again",
        )),
    }
}

/// Every command the UI may call (`names.rs` has the same list for `build.rs`).
pub fn handler<R: tauri::Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static
{
    tauri::generate_handler![
        servers::servers_list,
        servers::server_connect,
        servers::server_move_to_keychain,
        servers::server_rotate,
        servers::server_disconnect,
        servers::server_pending_approval,
        servers::server_approve,
        servers::server_repair,
        servers::server_sign_in,
        servers::server_sign_in_cancel,
        import::import_hosts,
        import::import_plan,
        import::import_apply,
        import::import_undo,
        first_run::first_run_view,
        first_run::import_plan_all,
        first_run::import_apply_all,
        credentials::credentials_view,
        credentials::credential_rotate,
        credentials::credential_remove,
        add_server::server_add,
        audit::audit_view,
        audit::audit_export,
        tools::tools_view,
        tools::tool_set_allowed,
        tools::tools_approve,
        tools::tools_set_policy,
        tools::tools_set_hold_new,
        tools::tools_set_guarded,
        settings::autostart_get,
        settings::autostart_set,
        health::health,
    ]
}
