//! The tray icon and its menu: a status line, one submenu per server with its state and
//! actions, Import, Open, Credentials, Audit, Quit. The status line, the icon and the
//! tooltip all come from the servers view's one status (`app_api::status`), so the tray
//! never says "All good" while a server waits for the user.
//!
//! Menu ids are a typed enum ([`MenuId`]) so a click is parsed once, here; what a click
//! does is navigation (show the window on the right view) or Quit: every action that
//! changes something asks in the window first, and "Sign in..." starts in the window,
//! where its progress and Cancel are.

use keybroker::app_api::{ServerAction, ServerView, ServersView, StatusLevel};
use serde::Serialize;
use tauri::image::Image;
use tauri::menu::{Menu, MenuBuilder, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Emitter, Manager, Runtime};

pub const TRAY_ID: &str = "keybroker";
const ICON_OK: &[u8] = include_bytes!("../../icons/tray-ok.png");
const ICON_ATTENTION: &[u8] = include_bytes!("../../icons/tray-attention.png");

/// Every tray menu entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuId {
    Status,
    Server { action: ServerAction, id: String },
    Import,
    Open,
    Credentials,
    Audit,
    Quit,
}

fn action_word(a: ServerAction) -> &'static str {
    match a {
        ServerAction::Connect => "connect",
        ServerAction::MoveToKeychain => "move-to-keychain",
        ServerAction::Rotate => "rotate",
        ServerAction::Disconnect => "disconnect",
        ServerAction::Approve => "approve",
        ServerAction::SignIn => "sign-in",
        ServerAction::Repair => "repair",
        ServerAction::Tools => "tools",
    }
}

fn action_label(a: ServerAction) -> &'static str {
    match a {
        ServerAction::Connect => "Connect...",
        ServerAction::MoveToKeychain => "Move secrets to keychain...",
        ServerAction::Rotate => "Rotate...",
        ServerAction::Disconnect => "Disconnect...",
        ServerAction::Approve => "Review changed command...",
        ServerAction::SignIn => "Sign in...",
        ServerAction::Repair => "Repair launcher",
        ServerAction::Tools => "Tools...",
    }
}

/// An action's entry in a server's submenu; Tools says how many tools wait for review.
fn menu_label(a: ServerAction, s: &ServerView) -> String {
    match (a, s.tools) {
        (ServerAction::Tools, Some(t)) if t.held > 0 => format!(
            "Review {} held tool{}...",
            t.held,
            if t.held == 1 { "" } else { "s" }
        ),
        _ => action_label(a).to_string(),
    }
}

const ACTIONS: [ServerAction; 8] = [
    ServerAction::Connect,
    ServerAction::MoveToKeychain,
    ServerAction::Rotate,
    ServerAction::Disconnect,
    ServerAction::Approve,
    ServerAction::SignIn,
    ServerAction::Repair,
    ServerAction::Tools,
];

impl MenuId {
    pub fn as_id(&self) -> String {
        match self {
            MenuId::Status => "status".into(),
            MenuId::Server { action, id } => format!("server:{}:{id}", action_word(*action)),
            MenuId::Import => "import".into(),
            MenuId::Open => "open".into(),
            MenuId::Credentials => "credentials".into(),
            MenuId::Audit => "audit".into(),
            MenuId::Quit => "quit".into(),
        }
    }

    pub fn parse(s: &str) -> Option<MenuId> {
        match s {
            "status" => Some(MenuId::Status),
            "import" => Some(MenuId::Import),
            "open" => Some(MenuId::Open),
            "credentials" => Some(MenuId::Credentials),
            "audit" => Some(MenuId::Audit),
            "quit" => Some(MenuId::Quit),
            _ => {
                let rest = s.strip_prefix("server:")?;
                let (word, id) = rest.split_once(':')?;
                let action = ACTIONS.into_iter().find(|a| action_word(*a) == word)?;
                (!id.is_empty()).then(|| MenuId::Server {
                    action,
                    id: id.to_string(),
                })
            }
        }
    }
}

/// Where the window should go after a tray click (sent to the webview as `kb-navigate`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct Navigate {
    pub view: String,
    pub server: Option<String>,
    pub action: Option<ServerAction>,
}

pub fn build_menu<R: Runtime>(app: &AppHandle<R>, view: &ServersView) -> tauri::Result<Menu<R>> {
    let status = MenuItem::with_id(
        app,
        MenuId::Status.as_id(),
        &view.status.summary,
        false,
        None::<&str>,
    )?;
    let mut b = MenuBuilder::new(app).item(&status).separator();
    for g in &view.groups {
        for s in &g.servers {
            let label = format!("{} - {}", s.name, s.state_text);
            let sub = Submenu::new(app, label, !s.actions.is_empty())?;
            for a in &s.actions {
                let id = MenuId::Server {
                    action: *a,
                    id: s.id.clone(),
                };
                sub.append(&MenuItem::with_id(
                    app,
                    id.as_id(),
                    menu_label(*a, s),
                    true,
                    None::<&str>,
                )?)?;
            }
            b = b.item(&sub);
        }
    }
    let sep = PredefinedMenuItem::separator(app)?;
    b.item(&sep)
        .text(MenuId::Import.as_id(), "Import host configs...")
        .text(MenuId::Open.as_id(), "Open Keybroker")
        .text(MenuId::Credentials.as_id(), "Credentials")
        .text(MenuId::Audit.as_id(), "Audit log")
        .separator()
        .text(MenuId::Quit.as_id(), "Quit Keybroker")
        .build()
}

pub fn icon(attention: bool) -> tauri::Result<Image<'static>> {
    Image::from_bytes(if attention { ICON_ATTENTION } else { ICON_OK })
}

pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let menu = MenuBuilder::new(app)
        .text(MenuId::Open.as_id(), "Open Keybroker")
        .separator()
        .text(MenuId::Quit.as_id(), "Quit Keybroker")
        .build()?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(false)?)
        .tooltip("Keybroker")
        .menu(&menu)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()))
        .build(app)?;
    Ok(())
}

/// Refresh the menu, icon and tooltip from the current servers view.
pub fn update<R: Runtime>(app: &AppHandle<R>, view: &ServersView) -> tauri::Result<()> {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return Ok(());
    };
    tray.set_menu(Some(build_menu(app, view)?))?;
    tray.set_icon(Some(icon(view.status.level == StatusLevel::Attention)?))?;
    tray.set_tooltip(Some(format!("Keybroker: {}", view.status.summary)))?;
    Ok(())
}

pub fn show_main<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

pub(crate) fn navigate<R: Runtime>(app: &AppHandle<R>, nav: Navigate) {
    show_main(app);
    if let Err(e) = app.emit_to("main", "kb-navigate", nav) {
        tracing::warn!("cannot tell the window to navigate: {e}");
    }
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, id: &str) {
    let Some(menu_id) = MenuId::parse(id) else {
        tracing::warn!("unknown tray menu id {id:?}");
        return;
    };
    tracing::info!("tray: {}", menu_id.as_id());
    let to = |view: &str| Navigate {
        view: view.into(),
        server: None,
        action: None,
    };
    match menu_id {
        MenuId::Status | MenuId::Open => navigate(app, to("servers")),
        MenuId::Import => navigate(app, to("import")),
        MenuId::Credentials => navigate(app, to("credentials")),
        MenuId::Audit => navigate(app, to("audit")),
        MenuId::Server { action, id } => navigate(
            app,
            Navigate {
                view: "servers".into(),
                server: Some(id),
                action: Some(action),
            },
        ),
        MenuId::Quit => app.exit(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_menu_id_parses_back_to_itself() {
        let mut ids = vec![
            MenuId::Status,
            MenuId::Import,
            MenuId::Open,
            MenuId::Credentials,
            MenuId::Audit,
            MenuId::Quit,
        ];
        for action in ACTIONS {
            ids.push(MenuId::Server {
                action,
                id: "claude-desktop/git:hub".into(),
            });
        }
        for id in ids {
            assert_eq!(
                MenuId::parse(&id.as_id()),
                Some(id.clone()),
                "{}",
                id.as_id()
            );
        }
    }

    #[test]
    fn unknown_menu_ids_are_rejected() {
        for s in [
            "",
            "server:",
            "server:connect:",
            "server:explode:x/y",
            "open2",
        ] {
            assert_eq!(MenuId::parse(s), None, "{s:?}");
        }
    }
}
