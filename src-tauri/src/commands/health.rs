//! Health view: the doctor's report, shaped by `app_api::doctor`. It talks to the session
//! bus (a bounded wait) and reads every host file, so it runs on a blocking thread.

use keybroker::app_api::doctor::{self, HealthView};
use tauri::State;

use super::ErrorView;
use crate::AppState;

#[tauri::command]
pub async fn health(state: State<'_, AppState>) -> Result<HealthView, ErrorView> {
    let ctx = state.ctx.clone();
    super::blocking(move || Ok(doctor::health(&ctx))).await
}
