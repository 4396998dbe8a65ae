//! The start-at-login switch (tauri-plugin-autostart).

use tauri::Runtime;
use tauri_plugin_autostart::ManagerExt;

use super::ErrorView;

fn err(e: impl std::fmt::Display) -> ErrorView {
    ErrorView::other(
        format!("cannot change start at login: {e}"),
        "try again; if it keeps failing, add Keybroker to your desktop's startup applications",
    )
}

#[tauri::command]
pub async fn autostart_get<R: Runtime>(app: tauri::AppHandle<R>) -> Result<bool, ErrorView> {
    app.autolaunch().is_enabled().map_err(err)
}

#[tauri::command]
pub async fn autostart_set<R: Runtime>(
    app: tauri::AppHandle<R>,
    enabled: bool,
) -> Result<bool, ErrorView> {
    if enabled {
        app.autolaunch().enable()
    } else {
        app.autolaunch().disable()
    }
    .map_err(err)?;
    app.autolaunch().is_enabled().map_err(err)
}
