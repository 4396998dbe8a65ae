//! Servers view and tray actions (views from `app_api`, actions from `ops`): list,
//! Connect, Move to keychain, Rotate, Disconnect, Approve, Repair, Sign in (and its Cancel).

use keybroker::app_api::{self, ApprovalView, SIGN_IN_TIMEOUT, ServersView};
use keybroker::ops::secrets;
use tauri::State;

use super::{ErrorView, SecretInput, blocking, now};
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
    secrets::connect(
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
    secrets::rotate(&state.ctx, &server_id, &env, &value, &now()).map_err(ErrorView::from)
}

#[tauri::command]
pub async fn server_disconnect(
    state: State<'_, AppState>,
    server_id: String,
) -> Result<String, ErrorView> {
    secrets::disconnect(&state.ctx, &server_id, &now()).map_err(ErrorView::from)
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

#[tauri::command]
pub async fn server_repair(
    state: State<'_, AppState>,
    server_id: String,
) -> Result<String, ErrorView> {
    app_api::repair(&state.ctx, &server_id, &now()).map_err(ErrorView::from)
}

/// Waits for the browser (minutes, if the user is slow), so it runs on a blocking thread.
#[tauri::command]
pub async fn server_sign_in(
    state: State<'_, AppState>,
    server_id: String,
) -> Result<String, ErrorView> {
    let (ctx, sign_ins, browser, report) = (
        state.ctx.clone(),
        state.sign_ins.clone(),
        state.browser.clone(),
        state.report.clone(),
    );
    blocking(move || {
        app_api::sign_in(
            &ctx,
            &sign_ins,
            &server_id,
            browser,
            SIGN_IN_TIMEOUT,
            &now(),
            &report,
        )
    })
    .await
}

#[tauri::command]
pub async fn server_sign_in_cancel(
    state: State<'_, AppState>,
    server_id: String,
) -> Result<bool, ErrorView> {
    Ok(state.sign_ins.cancel(&server_id))
}
