//! Keeps the tray and the window current: polls a cheap stamp of the files the views read
//! (state, audit log, host configs) and, when it moves, recomputes the servers view,
//! updates the tray, tells the webview (`kb-changed`, so audit rows appear live), and
//! notifies when more servers need attention than before.
//!
//! Polling (1 s) rather than file-system events keeps this to a few lines and works the
//! same for files that are replaced by rename (atomic writes), which watchers often miss.

use std::time::Duration;

use keybroker::app_api;
use keybroker::ops::Context;
use tauri::{AppHandle, Emitter, Runtime};
use tauri_plugin_notification::NotificationExt;

const PERIOD: Duration = Duration::from_millis(1000);

pub(crate) fn spawn<R: Runtime>(app: AppHandle<R>, ctx: Context) {
    let spawned = std::thread::Builder::new()
        .name("kb-watch".into())
        .spawn(move || {
            let mut last = None;
            let mut attention = 0u32;
            loop {
                let stamp = app_api::change_stamp(&ctx);
                if last.as_ref() != Some(&stamp) {
                    last = Some(stamp);
                    attention = refresh(&app, &ctx, attention);
                }
                std::thread::sleep(PERIOD);
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the watcher: {e}");
    }
}

fn refresh<R: Runtime>(app: &AppHandle<R>, ctx: &Context, before: u32) -> u32 {
    let _ = app.emit("kb-changed", ());
    let view = match app_api::servers(ctx) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!("cannot list servers: {}", e.describe());
            return before;
        }
    };
    if let Err(e) = crate::tray::update(app, &view) {
        tracing::warn!("cannot update the tray: {e}");
    }
    if view.attention > before {
        let shown = app
            .notification()
            .builder()
            .title("Keybroker needs your attention")
            .body(&view.summary)
            .show();
        if let Err(e) = shown {
            tracing::info!("notification not shown: {e}");
        }
    }
    view.attention
}
