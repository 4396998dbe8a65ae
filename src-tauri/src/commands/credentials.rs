//! Credentials view: each keychain item with its servers and last hand-outs; Rotate,
//! Remove.

use keybroker::app_api::{self, credentials::CredentialsView};
use tauri::State;

use super::{ErrorView, now};
use crate::AppState;

#[tauri::command]
pub async fn credentials_view(state: State<'_, AppState>) -> Result<CredentialsView, ErrorView> {
    app_api::credentials::credentials(&state.ctx).map_err(ErrorView::from)
}

/// The typed value moves into a zeroizing `Secret` at once; the answer holds none.
#[tauri::command]
pub async fn credential_rotate(
    state: State<'_, AppState>,
    credential: String,
    value: String,
) -> Result<String, ErrorView> {
    let value = keybroker::Secret::new(value);
    app_api::credentials::rotate(&state.ctx, &credential, &value, &now()).map_err(ErrorView::from)
}

#[tauri::command]
pub async fn credential_remove(
    state: State<'_, AppState>,
    credential: String,
) -> Result<String, ErrorView> {
    app_api::credentials::remove(&state.ctx, &credential, &now()).map_err(ErrorView::from)
}
