//! Servers view and tray actions: list, Connect, Move to keychain, Rotate, Disconnect,
//! Approve.

use keybroker::app_api::{self, ApprovalView, ServersView};
use tauri::State;

use super::{ErrorView, SecretInput, now};
use crate::AppState;

#[tauri::command]
pub async fn servers_list(state: State<'_, AppState>) -> Result<ServersView, ErrorView> {
    app_api::servers(&state.ctx).map_err(ErrorView::from)
}

#[tauri::command]
pub async fn server_connect(
    state: State<'_, AppState>,
    server_id: String,
    secrets: Vec<SecretInput>,
) -> Result<String, ErrorView> {
    app_api::connect(
        &state.ctx,
        &server_id,
        secrets.into_iter().map(SecretInput::into_pair).collect(),
        &now(),
    )
    .map_err(ErrorView::from)
}

#[tauri::command]
pub async fn server_move_to_keychain(
    state: State<'_, AppState>,
    server_id: String,
) -> Result<String, ErrorView> {
    app_api::move_to_keychain(&state.ctx, &server_id, &now()).map_err(ErrorView::from)
}

#[tauri::command]
pub async fn server_rotate(
    state: State<'_, AppState>,
    server_id: String,
    secret: SecretInput,
) -> Result<String, ErrorView> {
    let (env, value) = secret.into_pair();
    app_api::rotate(&state.ctx, &server_id, &env, &value, &now()).map_err(ErrorView::from)
}

#[tauri::command]
pub async fn server_disconnect(
    state: State<'_, AppState>,
    server_id: String,
) -> Result<String, ErrorView> {
    app_api::disconnect(&state.ctx, &server_id, &now()).map_err(ErrorView::from)
}

#[tauri::command]
pub async fn server_pending_approval(
    state: State<'_, AppState>,
    server_id: String,
) -> Result<Option<ApprovalView>, ErrorView> {
    app_api::pending_approval(&state.ctx, &server_id).map_err(ErrorView::from)
}

#[tauri::command]
pub async fn server_approve(
    state: State<'_, AppState>,
    server_id: String,
    new_command: Vec<String>,
) -> Result<String, ErrorView> {
    app_api::approve(&state.ctx, &server_id, &new_command, &now()).map_err(ErrorView::from)
}
