//! Keybroker's tray app: a thin Tauri 2 shell over `keybroker::app_api`.
//!
//! What lives here: wiring (plugins, state, the IPC handler), the tray, the watcher that
//! keeps tray and window current, and diagnostic logging. What does not: any decision
//! about configs, secrets or the audit log -- that is the core crate's, shared with the
//! CLI. Environment: `KEYBROKER_HOME` (all state under one root), `KEYBROKER_CONFIG_<HOST>`
//! (a host's config file to work on, e.g. `KEYBROKER_CONFIG_CLAUDE_DESKTOP`), `KEYBROKER_LAUNCHER` (the `keybroker` binary
//! to write into entries), `KEYBROKER_LOG` (log filter). `--hidden` starts in the tray.

pub mod bindings;
pub mod commands;
mod logging;
pub mod tray;
mod watch;

use keybroker::app_api::SignIns;
use keybroker::base::report::Reporter;
use keybroker::oauth::flow::Browser;
use keybroker::ops::Context;
use tauri::{Builder, Manager, Runtime, WindowEvent};

include!("commands/names.rs");

/// What every command gets: where Keybroker's files and the host configs are, the
/// sign-ins waiting for the browser, and how sign-in URLs reach the browser.
pub struct AppState {
    pub ctx: Context,
    pub sign_ins: SignIns,
    /// [`Browser::Open`] (the system browser, https/loopback URLs only, never through a
    /// shell) in the app; the IPC tests put a hook here that plays the browser.
    pub browser: Browser,
    /// Where the core's remarks during slow work go (the sign-in URL, warnings that do
    /// not stop the work): the diagnostic log, since the app has no terminal.
    pub report: Reporter,
}

impl AppState {
    pub fn new(ctx: Context) -> AppState {
        AppState {
            ctx,
            sign_ins: SignIns::default(),
            browser: Browser::Open,
            report: Reporter::new(|text| tracing::info!("{text}")),
        }
    }
}

/// The parts the real app and the mock-runtime tests share: state and IPC handler.
pub fn configure<R: Runtime>(builder: Builder<R>, state: AppState) -> Builder<R> {
    builder.manage(state).invoke_handler(commands::handler())
}

/// Run the tray app (the binary's `main`).
pub fn run() {
    let ctx = match Context::discover() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("keybroker-app: {}", e.describe());
            std::process::exit(1);
        }
    };
    let _log_guard = logging::init(&ctx.paths.log_dir);
    tracing::info!(
        "starting; state in {}, launcher {}",
        ctx.paths.config_dir.display(),
        ctx.launcher_path().display()
    );
    let watch_ctx = ctx.clone();
    let builder = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            // A second launch (a click on the app icon while it runs in the tray) exits at
            // once; this one comes to the front instead.
            tracing::info!("second instance: showing the window");
            tray::show_main(app);
            let _ = tauri::Emitter::emit(app, "kb-second-instance", ());
        }))
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec!["--hidden"]),
        ))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_opener::init())
        .on_window_event(|window, event| {
            // Close-to-tray: the window hides, the app keeps running in the tray.
            if let WindowEvent::CloseRequested { api, .. } = event {
                api.prevent_close();
                let _ = window.hide();
            }
        })
        .setup(move |app| {
            tray::create(app.handle())?;
            // bench/app.sh times cold start up to this line.
            tracing::info!("tray ready");
            if std::env::args().any(|a| a == "--hidden")
                && let Some(w) = app.get_webview_window("main")
            {
                w.hide()?;
            }
            watch::setup_notifications(app.handle());
            watch::spawn(app.handle().clone(), watch_ctx);
            Ok(())
        });
    let result = configure(builder, AppState::new(ctx)).run(tauri::generate_context!());
    if let Err(e) = result {
        tracing::error!("the app stopped: {e}");
        eprintln!("keybroker-app: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn capability_grants_exactly_the_app_commands_and_https_links() {
        let raw = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/capabilities/main.json"
        ))
        .expect("capability file");
        let cap: serde_json::Value = serde_json::from_str(&raw).expect("json");
        let perms = cap["permissions"].as_array().expect("permissions");
        let mut granted: Vec<String> = perms
            .iter()
            .filter_map(|p| p.as_str())
            .filter_map(|p| p.strip_prefix("allow-"))
            .map(|p| p.replace('-', "_"))
            .collect();
        granted.sort();
        let mut want: Vec<String> = super::COMMANDS.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(granted, want);
        let others: Vec<&serde_json::Value> = perms
            .iter()
            .filter(|p| !p.as_str().is_some_and(|s| s.starts_with("allow-")))
            .collect();
        for p in &others {
            let id = p
                .as_str()
                .or_else(|| p["identifier"].as_str())
                .unwrap_or("");
            assert!(
                id.starts_with("core:event:") || id == "opener:allow-open-url",
                "unexpected permission {p}"
            );
            if id == "opener:allow-open-url" {
                assert_eq!(p["allow"], serde_json::json!([{ "url": "https://*" }]));
            }
            assert!(!id.starts_with("shell:"), "no shell plugin");
        }
    }

    #[test]
    fn csp_forbids_eval_and_remote_scripts() {
        let raw = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tauri.conf.json"))
            .expect("tauri.conf.json");
        let conf: serde_json::Value = serde_json::from_str(&raw).expect("json");
        let csp = &conf["app"]["security"]["csp"];
        assert_eq!(csp["script-src"], "'self'");
        assert_eq!(csp["default-src"], "'self'");
        assert!(!raw.contains("unsafe-eval") && !raw.contains("unsafe-inline"));
    }
}
