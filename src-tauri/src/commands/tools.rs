//! A server's Tools panel (`app_api::tools`): the view, the per-tool switch, Approve,
//! the policy, holding new tools and the guard itself. Every change goes through
//! `ops::tools::change`, as `keybroker tools` does, and is audited.

use keybroker::app_api::tools::{self, PolicyChoice, SeenTool, ToolsPanelView};
use tauri::State;

use super::{ErrorView, now};
use crate::AppState;

#[tauri::command]
pub async fn tools_view(
    state: State<'_, AppState>,
    server_id: String,
) -> Result<ToolsPanelView, ErrorView> {
    tools::view(&state.ctx, &server_id, &now()).map_err(ErrorView::from)
}

#[tauri::command]
pub async fn tool_set_allowed(
    state: State<'_, AppState>,
    server_id: String,
    tool: String,
    allowed: bool,
) -> Result<String, ErrorView> {
    tools::set_allowed(&state.ctx, &server_id, &tool, allowed, &now()).map_err(ErrorView::from)
}

#[tauri::command]
pub async fn tools_approve(
    state: State<'_, AppState>,
    server_id: String,
    seen: Vec<SeenTool>,
) -> Result<String, ErrorView> {
    tools::approve(&state.ctx, &server_id, &seen, &now()).map_err(ErrorView::from)
}

#[tauri::command]
pub async fn tools_set_policy(
    state: State<'_, AppState>,
    server_id: String,
    policy: PolicyChoice,
) -> Result<String, ErrorView> {
    tools::set_policy(&state.ctx, &server_id, policy, &now()).map_err(ErrorView::from)
}

#[tauri::command]
pub async fn tools_set_hold_new(
    state: State<'_, AppState>,
    server_id: String,
    hold: bool,
) -> Result<String, ErrorView> {
    tools::set_hold_new(&state.ctx, &server_id, hold, &now()).map_err(ErrorView::from)
}

#[tauri::command]
pub async fn tools_set_guarded(
    state: State<'_, AppState>,
    server_id: String,
    on: bool,
) -> Result<String, ErrorView> {
    tools::set_guarded(&state.ctx, &server_id, on, &now()).map_err(ErrorView::from)
}
