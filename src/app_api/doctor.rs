//! The Health view: `keybroker doctor`'s report as the app shows it, so the window can
//! answer "is everything fine, and if not, what do I do".
//!
//! Every check is [`crate::ops::doctor`]'s; this module only shapes the report: a level
//! per check (ok / warning / problem), its one-line summary, details and fix, and, where
//! the app can fix it itself, the actions the UI offers (Repair a drifted entry, Review
//! a changed command, Sign in, Start at login). A locked or missing keychain has no
//! action: only the user can unlock it, so the view shows the fix text and commands.
//!
//! It runs nothing on its own: the app asks for it when the Health view is opened or
//! refreshed. The report names servers, files and credential ids, never a value.

use serde::Serialize;

use crate::ops::Context;
use crate::ops::doctor::{self, CheckId, Level, Report};

/// How a check came out.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum HealthLevel {
    Ok,
    /// Worth knowing; nothing stops working because of it.
    Warning,
    /// Something needs the user; the fix says what to do.
    Problem,
}

impl HealthLevel {
    fn of(level: Level) -> HealthLevel {
        match level {
            Level::Ok => HealthLevel::Ok,
            Level::Warn => HealthLevel::Warning,
            Level::Problem => HealthLevel::Problem,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            HealthLevel::Ok => "OK",
            HealthLevel::Warning => "Warning",
            HealthLevel::Problem => "Needs you",
        }
    }
}

/// What a fix button does; each is one existing app command.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum HealthActionKind {
    /// Point the server's entry back at the app's launcher (`server_repair`).
    Repair,
    /// Open the server's approval (old and new command side by side).
    Approve,
    /// Sign in to the remote server in the browser.
    SignIn,
    /// Write the login entry again for where the app is installed now (`autostart_set`).
    Autostart,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HealthAction {
    pub kind: HealthActionKind,
    /// The server it acts on (`null` for Start at login).
    pub server: Option<String>,
    /// The button's text.
    pub label: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HealthCheck {
    /// The doctor's check id: `keychain`, `launcher`, `hosts`, `approvals`, `sign-in`,
    /// `secrets`, `audit`, `autostart` (or `state`).
    pub id: String,
    /// A few words naming the check ("Keychain", "Launcher").
    pub title: String,
    pub level: HealthLevel,
    /// The level in words, so no row says it by colour alone.
    pub level_text: String,
    pub summary: String,
    /// One line per thing found (a server, a file, an audit problem).
    pub details: Vec<String>,
    /// What to do, in words (`null` when ok).
    pub fix: Option<String>,
    /// The commands to run for it, in order, for when there is no button.
    pub commands: Vec<String>,
    pub actions: Vec<HealthAction>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HealthView {
    /// The worst check's level.
    pub level: HealthLevel,
    /// At least one check is a problem.
    pub needs_user: bool,
    /// One line for the top of the view.
    pub summary: String,
    /// The launcher entries should start.
    pub launcher: String,
    pub checks: Vec<HealthCheck>,
}

/// Run the doctor and shape its report. Talks to the session bus (bounded wait) and
/// reads every host file: call it off the UI thread.
pub fn health(ctx: &Context) -> HealthView {
    view(&doctor::diagnose(ctx))
}

fn title(id: CheckId) -> &'static str {
    match id {
        CheckId::Keychain => "Keychain",
        CheckId::State => "Keybroker's state",
        CheckId::Launcher => "Launcher",
        CheckId::Hosts => "Host configs",
        CheckId::Approvals => "Approvals",
        CheckId::SignIn => "Sign-ins",
        CheckId::Secrets => "Secrets",
        CheckId::Audit => "Audit log",
        CheckId::Autostart => "Start at login",
    }
}

fn id_text(id: CheckId) -> String {
    serde_json::to_value(id)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The buttons for a check: one per server it names where the app has the fix, and Start
/// at login for a login entry that starts a program that is gone.
fn actions(c: &doctor::Check) -> Vec<HealthAction> {
    if c.status == Level::Ok {
        return Vec::new();
    }
    let per_server = |kind: HealthActionKind, verb: &str| -> Vec<HealthAction> {
        c.servers
            .iter()
            .map(|s| HealthAction {
                kind,
                server: Some(s.clone()),
                label: format!("{verb} {s}"),
            })
            .collect()
    };
    match c.id {
        CheckId::Launcher => per_server(HealthActionKind::Repair, "Repair"),
        CheckId::Approvals => per_server(HealthActionKind::Approve, "Review"),
        CheckId::SignIn => per_server(HealthActionKind::SignIn, "Sign in to"),
        CheckId::Autostart => vec![HealthAction {
            kind: HealthActionKind::Autostart,
            server: None,
            label: "Rewrite the login entry".into(),
        }],
        _ => Vec::new(),
    }
}

/// The view of a report (no check is run here).
pub fn view(r: &Report) -> HealthView {
    let checks: Vec<HealthCheck> = r
        .checks
        .iter()
        .map(|c| {
            let level = HealthLevel::of(c.status);
            HealthCheck {
                id: id_text(c.id),
                title: title(c.id).into(),
                level,
                level_text: level.text().into(),
                summary: c.summary.clone(),
                details: c.details.clone(),
                fix: c.fix.as_ref().map(|f| f.text.clone()),
                commands: c
                    .fix
                    .as_ref()
                    .map(|f| f.commands.clone())
                    .unwrap_or_default(),
                actions: actions(c),
            }
        })
        .collect();
    let count = |l: HealthLevel| checks.iter().filter(|c| c.level == l).count();
    let (problems, warnings) = (count(HealthLevel::Problem), count(HealthLevel::Warning));
    let summary = match (problems, warnings) {
        (0, 0) => "Everything is fine: every check passed.".to_string(),
        (0, w) => format!("Everything works; {w} warning(s) below are worth a look."),
        (p, 0) => format!("{p} check(s) need you: the fix is under each."),
        (p, w) => format!("{p} check(s) need you, {w} warning(s): the fix is under each."),
    };
    HealthView {
        level: HealthLevel::of(r.status),
        needs_user: r.needs_user,
        summary,
        launcher: r.launcher.display().to_string(),
        checks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::paths::Paths;
    use crate::config::hosts::Host;
    use crate::ops::doctor::{Check, Fix, Keychain, KeychainState};
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    fn keychain(state: KeychainState) -> Keychain {
        Keychain {
            state,
            provider: Some("gnome-keyring-daemon".into()),
            collection: Some("login".into()),
            detail: None,
        }
    }

    fn check(id: CheckId, status: Level, servers: &[&str]) -> Check {
        Check {
            id,
            status,
            summary: format!("{id:?} summary"),
            details: servers.iter().map(|s| format!("{s}: why")).collect(),
            fix: (status != Level::Ok).then(|| Fix {
                text: format!("fix {id:?}"),
                commands: vec![format!("keybroker {id:?}")],
            }),
            servers: servers.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn report(checks: Vec<Check>) -> Report {
        let status = checks.iter().map(|c| c.status).max().unwrap_or(Level::Ok);
        Report {
            version: doctor::REPORT_VERSION,
            status,
            needs_user: status == Level::Problem,
            launcher: PathBuf::from("/opt/keybroker/keybroker"),
            keychain: keychain(KeychainState::Available),
            checks,
        }
    }

    #[test]
    fn an_all_ok_report_says_everything_is_fine_and_offers_no_button() {
        let v = view(&report(vec![
            check(CheckId::Keychain, Level::Ok, &[]),
            check(CheckId::Launcher, Level::Ok, &[]),
            check(CheckId::Autostart, Level::Ok, &[]),
        ]));
        assert_eq!(v.level, HealthLevel::Ok);
        assert!(!v.needs_user);
        assert!(v.summary.starts_with("Everything is fine"), "{}", v.summary);
        for c in &v.checks {
            assert_eq!(c.level_text, "OK");
            assert!(c.fix.is_none() && c.actions.is_empty() && c.commands.is_empty());
        }
        assert_eq!(v.checks[1].id, "launcher");
        assert_eq!(v.checks[1].title, "Launcher");
    }

    #[test]
    fn each_fixable_check_gets_one_button_per_server_it_names() {
        let v = view(&report(vec![
            check(
                CheckId::Launcher,
                Level::Problem,
                &["claude-desktop/a", "cursor/b"],
            ),
            check(CheckId::Approvals, Level::Problem, &["claude-desktop/c"]),
            check(CheckId::SignIn, Level::Problem, &["cursor/remote"]),
            check(CheckId::Autostart, Level::Warn, &[]),
        ]));
        let kinds = |i: usize| -> Vec<(HealthActionKind, Option<&str>)> {
            v.checks[i]
                .actions
                .iter()
                .map(|a| (a.kind, a.server.as_deref()))
                .collect()
        };
        assert_eq!(
            kinds(0),
            [
                (HealthActionKind::Repair, Some("claude-desktop/a")),
                (HealthActionKind::Repair, Some("cursor/b"))
            ]
        );
        assert_eq!(
            kinds(1),
            [(HealthActionKind::Approve, Some("claude-desktop/c"))]
        );
        assert_eq!(
            kinds(2),
            [(HealthActionKind::SignIn, Some("cursor/remote"))]
        );
        assert_eq!(kinds(3), [(HealthActionKind::Autostart, None)]);
        assert_eq!(v.checks[0].fix.as_deref(), Some("fix Launcher"));
        assert_eq!(v.checks[0].commands, ["keybroker Launcher"]);
        assert_eq!(v.checks[3].level, HealthLevel::Warning);
        assert_eq!(v.checks[3].level_text, "Warning");
        assert_eq!(v.level, HealthLevel::Problem);
        assert!(v.needs_user);
        assert!(
            v.summary.contains("3 check(s) need you, 1 warning(s)"),
            "{}",
            v.summary
        );
    }

    #[test]
    fn a_locked_keychain_is_a_problem_with_its_fix_text_and_commands_but_no_button() {
        let dir = tempfile::tempdir().expect("tempdir");
        let launcher = dir.path().join("keybroker");
        std::fs::write(&launcher, b"").expect("launcher");
        let ctx = Context::new(Paths::under(&dir.path().join("home")), launcher);
        let r = doctor::report(&ctx, &[], keychain(KeychainState::Locked), None, None);
        let v = view(&r);
        let kc = &v.checks[0];
        assert_eq!(kc.id, "keychain");
        assert_eq!(kc.level, HealthLevel::Problem);
        assert_eq!(kc.level_text, "Needs you");
        assert!(
            kc.fix.as_deref().is_some_and(|f| f.contains("unlock")),
            "{kc:?}"
        );
        assert!(!kc.commands.is_empty());
        assert!(kc.actions.is_empty(), "only the user can unlock it");
        // Without a keychain, sign-ins and secrets are not checked: warnings, no button.
        let sign_in = v
            .checks
            .iter()
            .find(|c| c.id == "sign-in")
            .expect("sign-in");
        assert_eq!(sign_in.level, HealthLevel::Warning);
        assert!(sign_in.actions.is_empty());
    }

    #[test]
    fn a_plaintext_secret_in_a_host_file_is_named_but_its_value_never_reaches_the_view() {
        const CANARY: &str = "ghp_healthCanary0123456789abcdefABCDEF";
        let dir = tempfile::tempdir().expect("tempdir");
        let launcher = dir.path().join("keybroker");
        std::fs::write(&launcher, b"").expect("launcher");
        let config = dir.path().join("claude.json");
        std::fs::write(
            &config,
            format!(
                r#"{{"mcpServers": {{"github": {{"command": "npx", "args": ["-y", "server-github"], "env": {{"GITHUB_PERSONAL_ACCESS_TOKEN": "{CANARY}"}}}}}}}}"#
            ),
        )
        .expect("config");
        let ctx = Context::new(Paths::under(&dir.path().join("home")), launcher);
        let store: Arc<keyring_core::api::CredentialStore> =
            keyring_core::mock::Store::new().expect("mock store");
        let vault = crate::store::vault::Vault::with_store(store, "keybroker-test");
        let files = vec![(Host::ClaudeDesktop, config.clone())];
        let r = doctor::report(
            &ctx,
            &files,
            keychain(KeychainState::Available),
            Some(&vault),
            None::<&Path>,
        );
        let v = view(&r);
        let hosts = v.checks.iter().find(|c| c.id == "hosts").expect("hosts");
        assert_eq!(hosts.level, HealthLevel::Warning, "{hosts:#?}");
        assert!(
            hosts
                .details
                .iter()
                .any(|d| d.contains("claude-desktop/github")),
            "{hosts:#?}"
        );
        let json = serde_json::to_string(&v).expect("json");
        assert!(
            !json.contains(CANARY),
            "the secret reached the view: {json}"
        );
        assert!(!json.contains("healthCanary"));
    }
}
