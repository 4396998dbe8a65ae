//! Import view: detected hosts, the masked plan, Apply, Undo.

use keybroker::app_api::{self, DetectedHost, ImportResult, PlanView};
use tauri::State;

use super::{ErrorView, now};
use crate::AppState;

#[tauri::command]
pub async fn import_hosts(state: State<'_, AppState>) -> Result<Vec<DetectedHost>, ErrorView> {
    app_api::detect_hosts(&state.ctx).map_err(ErrorView::from)
}

#[tauri::command]
pub async fn import_plan(
    state: State<'_, AppState>,
    host: String,
    exclude: Vec<String>,
) -> Result<PlanView, ErrorView> {
    app_api::plan_import(&state.ctx, &host, &exclude).map_err(ErrorView::from)
}

#[tauri::command]
pub async fn import_apply(
    state: State<'_, AppState>,
    host: String,
    exclude: Vec<String>,
) -> Result<ImportResult, ErrorView> {
    app_api::apply_import(&state.ctx, &host, &exclude, None, &now()).map_err(ErrorView::from)
}

#[tauri::command]
pub async fn import_undo(state: State<'_, AppState>, host: String) -> Result<String, ErrorView> {
    app_api::undo_import(&state.ctx, &host, &now()).map_err(ErrorView::from)
}
