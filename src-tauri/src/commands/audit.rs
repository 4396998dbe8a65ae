//! Audit view: filtered rows with the chain's state, and export.

use keybroker::app_api::{self, AuditFilter, AuditView, ExportFormat};
use tauri::State;

use super::ErrorView;
use crate::AppState;

#[tauri::command]
pub async fn audit_view(
    state: State<'_, AppState>,
    filter: AuditFilter,
) -> Result<AuditView, ErrorView> {
    app_api::audit_view(&state.ctx, &filter).map_err(ErrorView::from)
}

/// Writes the export to a file and answers its path.
#[tauri::command]
pub async fn audit_export(
    state: State<'_, AppState>,
    filter: AuditFilter,
    format: ExportFormat,
) -> Result<String, ErrorView> {
    app_api::export_audit_to_file(&state.ctx, &filter, format).map_err(ErrorView::from)
}
