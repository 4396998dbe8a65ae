//! The app's one status: what the tray's status line, the tray icon, the window's summary
//! and the desktop notification all say, computed once from the servers view.
//!
//! Each of those used to count for itself, so the tray could say "All good" while a
//! server waited for sign-in. Now every front end reads [`StatusView`]; nothing else in
//! the app decides whether something waits for the user.

use std::collections::BTreeSet;

use serde::Serialize;

use super::{HostGroup, ServerAction, ServerView};

/// Whether anything waits for the user.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum StatusLevel {
    /// Every server is brokered (or has nothing to broker).
    Ok,
    /// At least one server waits for the user (a secret, sign-in, approval, ...).
    Attention,
    /// No host config with a server was found yet.
    Empty,
}

/// What a notification says, and the server whose card fixes it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Notice {
    pub title: String,
    pub body: String,
    /// The server to open the window on (the first that waits).
    pub server: String,
    /// The action that fixes it, where there is a button for it.
    pub action: Option<ServerAction>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatusView {
    pub level: StatusLevel,
    /// One line: the tray's status entry, its tooltip and the window's summary.
    pub summary: String,
    /// How many servers wait for the user.
    pub attention: u32,
    pub total: u32,
    /// What to notify about (`null` when nothing waits).
    pub notice: Option<Notice>,
}

/// Why a server waits, in a few words for a notification body.
fn why(s: &ServerView) -> String {
    format!("{} {}", s.name, s.state_text)
}

/// The notification for `waiting` (the servers that wait, `attention` of them).
fn notice_of(waiting: &[&ServerView], attention: u32) -> Option<Notice> {
    let first = waiting.first()?;
    let mut lines: Vec<String> = waiting.iter().take(3).map(|s| why(s)).collect();
    if waiting.len() > 3 {
        lines.push(format!("and {} more", waiting.len() - 3));
    }
    lines.push("Open Keybroker to fix it.".into());
    Some(Notice {
        title: if attention == 1 {
            format!("{} needs your attention", first.name)
        } else {
            format!("{attention} MCP servers need your attention")
        },
        body: lines.join("\n"),
        server: first.id.clone(),
        action: first.actions.first().copied(),
    })
}

/// What to notify about when the servers `new` (ids) started waiting since the last
/// look: about them, not about the ones already reported. `None`: none of them waits.
pub fn notice_for(groups: &[HostGroup], new: &BTreeSet<String>) -> Option<Notice> {
    let waiting: Vec<&ServerView> = groups
        .iter()
        .flat_map(|g| g.servers.iter())
        .filter(|s| s.state.needs_attention() && new.contains(&s.id))
        .collect();
    notice_of(&waiting, u32::try_from(waiting.len()).unwrap_or(u32::MAX))
}

/// The status of `groups` (the servers view's groups): the one function the tray, the
/// window and the notifications share.
pub fn status(groups: &[HostGroup]) -> StatusView {
    let servers: Vec<&ServerView> = groups.iter().flat_map(|g| g.servers.iter()).collect();
    let total = u32::try_from(servers.len()).unwrap_or(u32::MAX);
    let waiting: Vec<&ServerView> = servers
        .iter()
        .copied()
        .filter(|s| s.state.needs_attention())
        .collect();
    let attention = u32::try_from(waiting.len()).unwrap_or(u32::MAX);
    let level = if attention > 0 {
        StatusLevel::Attention
    } else if total == 0 {
        StatusLevel::Empty
    } else {
        StatusLevel::Ok
    };
    let summary = match (level, attention) {
        (StatusLevel::Empty, _) => "No MCP servers found yet".to_string(),
        (StatusLevel::Ok, _) => format!(
            "All good: {total} server{}",
            if total == 1 { "" } else { "s" }
        ),
        (_, 1) => format!("1 server needs attention: {}", why(waiting[0])),
        (_, n) => format!("{n} servers need attention"),
    };
    let notice = notice_of(&waiting, attention);
    StatusView {
        level,
        summary,
        attention,
        total,
        notice,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app_api::ServerState;

    fn server(name: &str, state: ServerState, actions: Vec<ServerAction>) -> ServerView {
        ServerView {
            id: format!("claude-desktop/{name}"),
            host: "claude-desktop".into(),
            name: name.into(),
            transport: "stdio".into(),
            state,
            state_text: state.text().into(),
            needs_attention: state.needs_attention(),
            credentials: Vec::new(),
            missing: Vec::new(),
            bound_env: Vec::new(),
            detail: None,
            actions,
            last_received: None,
            tools: None,
        }
    }

    fn groups(servers: Vec<ServerView>) -> Vec<HostGroup> {
        vec![HostGroup {
            host: "claude-desktop".into(),
            label: "Claude Desktop".into(),
            config: "/c.json".into(),
            config_exists: true,
            servers,
        }]
    }

    #[test]
    fn a_server_that_needs_sign_in_is_never_all_good() {
        // The bug: nine brokered servers and one waiting for sign-in made the tray say
        // "All good: 10 server(s)".
        let mut list: Vec<ServerView> = (0..9)
            .map(|i| server(&format!("s{i}"), ServerState::Brokered, vec![]))
            .collect();
        list.push(server(
            "linear",
            ServerState::NeedsSignIn,
            vec![ServerAction::SignIn],
        ));
        let st = status(&groups(list));
        assert_eq!(st.level, StatusLevel::Attention);
        assert_eq!(st.attention, 1);
        assert_eq!(st.total, 10);
        assert!(!st.summary.contains("All good"), "{}", st.summary);
        assert_eq!(st.summary, "1 server needs attention: linear needs sign-in");
        let n = st.notice.expect("a notice");
        assert_eq!(n.server, "claude-desktop/linear");
        assert_eq!(n.action, Some(ServerAction::SignIn));
    }

    #[test]
    fn a_changed_command_waits_for_approval_and_says_so() {
        let st = status(&groups(vec![
            server("a", ServerState::Brokered, vec![]),
            server(
                "b",
                ServerState::CommandChanged,
                vec![ServerAction::Approve],
            ),
            server("c", ServerState::NeedsSecret, vec![ServerAction::Connect]),
        ]));
        assert_eq!(st.level, StatusLevel::Attention);
        assert_eq!(st.summary, "2 servers need attention");
        let n = st.notice.expect("a notice");
        assert_eq!(n.title, "2 MCP servers need your attention");
        assert!(n.body.contains("b command changed") && n.body.contains("c needs a secret"));
        assert_eq!(n.action, Some(ServerAction::Approve));
    }

    #[test]
    fn held_tools_need_attention_and_the_notice_opens_the_tools_panel() {
        let st = status(&groups(vec![
            server("a", ServerState::Brokered, vec![ServerAction::Tools]),
            server(
                "notes",
                ServerState::ToolsHeld,
                vec![ServerAction::Tools, ServerAction::Rotate],
            ),
        ]));
        assert_eq!(st.level, StatusLevel::Attention);
        assert_eq!(st.summary, "1 server needs attention: notes tools held");
        let n = st.notice.expect("a notice");
        assert_eq!(n.server, "claude-desktop/notes");
        assert_eq!(n.action, Some(ServerAction::Tools));
    }

    #[test]
    fn brokered_servers_are_all_good_and_no_servers_is_its_own_state() {
        let st = status(&groups(vec![
            server("a", ServerState::Brokered, vec![ServerAction::Rotate]),
            server("b", ServerState::NoSecrets, vec![ServerAction::Connect]),
        ]));
        assert_eq!(st.level, StatusLevel::Ok);
        assert_eq!(st.summary, "All good: 2 servers");
        assert_eq!(st.notice, None);
        let empty = status(&groups(vec![]));
        assert_eq!(empty.level, StatusLevel::Empty);
        assert_eq!(empty.attention, 0);
        assert_eq!(empty.notice, None);
    }

    #[test]
    fn a_notice_for_newly_waiting_servers_names_them_not_the_ones_already_told() {
        let g = groups(vec![
            server("old", ServerState::NeedsSignIn, vec![ServerAction::SignIn]),
            server(
                "new",
                ServerState::CommandChanged,
                vec![ServerAction::Approve],
            ),
            server("fine", ServerState::Brokered, vec![]),
        ]);
        let new: BTreeSet<String> = ["claude-desktop/new".to_string()].into();
        let n = notice_for(&g, &new).expect("a notice");
        assert_eq!(n.title, "new needs your attention");
        assert_eq!(n.server, "claude-desktop/new");
        assert_eq!(n.action, Some(ServerAction::Approve));
        let fine: BTreeSet<String> = ["claude-desktop/fine".to_string()].into();
        assert_eq!(notice_for(&g, &fine), None);
    }
}
