//! The first run and the import across every detected host.

use std::collections::HashMap;

use keybroker::app_api::first_run::{self, FirstRunView};
use keybroker::app_api::{ImportResult, PlanView};
use tauri::State;

use super::{ErrorView, now};
use crate::AppState;

#[tauri::command]
pub async fn first_run_view(state: State<'_, AppState>) -> Result<FirstRunView, ErrorView> {
    first_run::detected(&state.ctx).map_err(ErrorView::from)
}

/// `exclude`: the findings to leave in place, by host id.
#[tauri::command]
pub async fn import_plan_all(
    state: State<'_, AppState>,
    exclude: HashMap<String, Vec<String>>,
) -> Result<Vec<PlanView>, ErrorView> {
    first_run::plan_import_all(&state.ctx, &exclude).map_err(ErrorView::from)
}

#[tauri::command]
pub async fn import_apply_all(
    state: State<'_, AppState>,
    exclude: HashMap<String, Vec<String>>,
) -> Result<ImportResult, ErrorView> {
    first_run::apply_import_all(&state.ctx, &exclude, &now()).map_err(ErrorView::from)
}
