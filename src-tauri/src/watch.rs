//! Keeps the tray and the window current: polls a cheap stamp of the files the views read
//! (state, audit log, host configs) and, when it moves, recomputes the servers view,
//! updates the tray, tells the webview (`kb-changed`, so audit rows appear live), and
//! sends a desktop notification when a server starts waiting for the user.
//!
//! Tray, window and notification all read the one status the core computes
//! (`app_api::status`); nothing here decides what "needs attention" means. The
//! notification goes through the desktop's notification service (on Linux the
//! freedesktop `org.freedesktop.Notifications` service) and carries the server to open:
//! a click on it opens the window on that server with the fixing action.
//!
//! Polling (1 s) rather than file-system events keeps this to a few lines and works the
//! same for files that are replaced by rename (atomic writes), which watchers often miss.

use std::collections::BTreeSet;
use std::time::Duration;

use keybroker::app_api::{self, ServerAction, ServersView};
use keybroker::ops::Context;
use tauri::{AppHandle, Emitter, Runtime};
use tauri_plugin_notification::NotificationExt;

use crate::tray::Navigate;

const PERIOD: Duration = Duration::from_millis(1000);
/// What a click on a notification does: open the window on the server it names, with
/// the action that fixes it (on Linux, the freedesktop `default` action: a click on the
/// notification where the notification server reports clicks).
pub(crate) fn setup_notifications<R: Runtime>(app: &AppHandle<R>) {
    let n = app.notification();
    let handle = app.clone();
    let hooked = n.on_action(move |performed| {
        let extra = performed.notification().map(|n| n.extra().clone());
        let get = |k: &str| {
            extra
                .as_ref()
                .and_then(|x| x.get(k))
                .and_then(|v| serde_json::from_value::<Option<String>>(v.clone()).ok())
                .flatten()
        };
        let server = get("server");
        let action = get("action")
            .and_then(|a| serde_json::from_value::<ServerAction>(serde_json::json!(a)).ok());
        tracing::info!(
            "notification: {} on {}",
            performed.action_id(),
            server.as_deref().unwrap_or("-")
        );
        crate::tray::navigate(
            &handle,
            Navigate {
                view: "servers".into(),
                server,
                action,
            },
        );
    });
    if let Err(e) = hooked {
        tracing::warn!("cannot follow notification clicks: {e}");
    }
}

pub(crate) fn spawn<R: Runtime>(app: AppHandle<R>, ctx: Context) {
    let spawned = std::thread::Builder::new()
        .name("kb-watch".into())
        .spawn(move || {
            let mut last = None;
            let mut waiting = BTreeSet::new();
            loop {
                let stamp = app_api::change_stamp(&ctx);
                if last.as_ref() != Some(&stamp) {
                    last = Some(stamp);
                    waiting = refresh(&app, &ctx, waiting);
                }
                std::thread::sleep(PERIOD);
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the watcher: {e}");
    }
}

/// The ids of the servers that wait for the user.
fn waiting_ids(view: &ServersView) -> BTreeSet<String> {
    view.groups
        .iter()
        .flat_map(|g| &g.servers)
        .filter(|s| s.needs_attention)
        .map(|s| s.id.clone())
        .collect()
}

fn refresh<R: Runtime>(
    app: &AppHandle<R>,
    ctx: &Context,
    before: BTreeSet<String>,
) -> BTreeSet<String> {
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
    let now = waiting_ids(&view);
    // A server that starts waiting is news; one that keeps waiting is not said again.
    let new: BTreeSet<String> = now.difference(&before).cloned().collect();
    if let Some(notice) = app_api::status::notice_for(&view.groups, &new) {
        let shown = app
            .notification()
            .builder()
            .title(&notice.title)
            .body(&notice.body)
            .extra("server", &notice.server)
            .extra("action", notice.action)
            .show();
        match shown {
            Ok(()) => tracing::info!("notified: {}", notice.title),
            Err(e) => tracing::info!("notification not shown: {e}"),
        }
    }
    now
}
