//! The Secret Service as seen from the session bus (Linux and the BSDs): is there a bus,
//! who owns `org.freedesktop.secrets` (by process name), and is its default collection
//! locked. Read-only and prompt-free: it never unlocks, never reads an item, and never
//! opens a keychain session, so a locked keyring cannot put an unlock prompt in front of
//! `keybroker doctor`.

use std::path::Path;

use zbus::blocking::Connection;
use zbus::blocking::fdo::DBusProxy;
use zbus::names::BusName;
use zbus::zvariant::{OwnedObjectPath, OwnedValue};

use super::KeychainState;

const SECRETS: &str = "org.freedesktop.secrets";
const SECRETS_PATH: &str = "/org/freedesktop/secrets";

/// What the bus says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Seen {
    pub state: KeychainState,
    /// The process that owns `org.freedesktop.secrets` (`gnome-keyring-daemon`,
    /// `keepassxc`, `kwalletd6`, ...).
    pub provider: Option<String>,
    /// The default collection's name (`login`), when there is one.
    pub collection: Option<String>,
    /// What went wrong, in the bus's or the provider's words.
    pub detail: Option<String>,
}

impl Seen {
    fn state(state: KeychainState, detail: impl Into<String>) -> Seen {
        Seen {
            state,
            provider: None,
            collection: None,
            detail: Some(detail.into()),
        }
    }
}

/// Ask the session bus. Blocking; the caller bounds the wait.
pub(super) fn look() -> Seen {
    let address = std::env::var("DBUS_SESSION_BUS_ADDRESS")
        .ok()
        .filter(|a| !a.is_empty());
    let conn = match Connection::session() {
        Ok(c) => c,
        Err(e) => {
            let where_ = match &address {
                Some(a) => format!("DBUS_SESSION_BUS_ADDRESS={a}"),
                None => "DBUS_SESSION_BUS_ADDRESS is not set and there is no $XDG_RUNTIME_DIR/bus"
                    .to_string(),
            };
            return Seen::state(
                KeychainState::NoSessionBus,
                format!("cannot connect to a D-Bus session bus ({where_}): {e}"),
            );
        }
    };
    let dbus = match DBusProxy::new(&conn) {
        Ok(p) => p,
        Err(e) => {
            return Seen::state(
                KeychainState::NoSessionBus,
                format!("the session bus does not answer: {e}"),
            );
        }
    };
    let Ok(name) = BusName::try_from(SECRETS) else {
        return Seen::state(KeychainState::Unavailable, "invalid bus name");
    };
    let provider = match dbus.get_name_owner(name.clone()) {
        Ok(owner) => BusName::try_from(owner.as_str())
            .ok()
            .and_then(|o| dbus.get_connection_unix_process_id(o).ok())
            .and_then(process_name),
        Err(_) => {
            let activatable = dbus
                .list_activatable_names()
                .map(|names| names.iter().any(|n| n.as_str() == SECRETS))
                .unwrap_or(false);
            if !activatable {
                return Seen::state(
                    KeychainState::NoSecretService,
                    format!(
                        "nothing on the session bus provides {SECRETS}, and the bus cannot start a provider"
                    ),
                );
            }
            // D-Bus activation starts the provider on the first call below.
            None
        }
    };
    let mut seen = Seen {
        state: KeychainState::Available,
        provider,
        collection: None,
        detail: None,
    };
    let alias = conn
        .call_method(
            Some(SECRETS),
            SECRETS_PATH,
            Some("org.freedesktop.Secret.Service"),
            "ReadAlias",
            &("default",),
        )
        .and_then(|m| m.body().deserialize::<OwnedObjectPath>());
    let path = match alias {
        Ok(p) => p,
        Err(e) => {
            seen.state = KeychainState::Unavailable;
            seen.detail = Some(format!("the Secret Service does not answer: {e}"));
            return seen;
        }
    };
    if seen.provider.is_none()
        && let Ok(owner) = dbus.get_name_owner(name)
    {
        seen.provider = BusName::try_from(owner.as_str())
            .ok()
            .and_then(|o| dbus.get_connection_unix_process_id(o).ok())
            .and_then(process_name);
    }
    if path.as_str() == "/" {
        // No default collection yet: the first secret stored creates one (the provider
        // may ask for a password then).
        seen.detail = Some("the Secret Service has no default collection yet".into());
        return seen;
    }
    seen.collection = path.as_str().rsplit('/').next().map(str::to_string);
    let locked = conn
        .call_method(
            Some(SECRETS),
            path.as_str(),
            Some("org.freedesktop.DBus.Properties"),
            "Get",
            &("org.freedesktop.Secret.Collection", "Locked"),
        )
        .and_then(|m| m.body().deserialize::<OwnedValue>())
        .map(|v| bool::try_from(v).unwrap_or(false));
    match locked {
        Ok(true) => seen.state = KeychainState::Locked,
        Ok(false) => {}
        Err(e) => {
            seen.state = KeychainState::Unavailable;
            seen.detail = Some(format!(
                "cannot read whether the default collection is locked: {e}"
            ));
        }
    }
    seen
}

/// The program name of process `pid` (`gnome-keyring-daemon`), from its command line.
fn process_name(pid: u32) -> Option<String> {
    let proc = Path::new("/proc").join(pid.to_string());
    let from_cmdline = std::fs::read(proc.join("cmdline")).ok().and_then(|raw| {
        let argv0 = raw.split(|b| *b == 0).next()?;
        let name = Path::new(std::str::from_utf8(argv0).ok()?)
            .file_name()?
            .to_string_lossy()
            .into_owned();
        Some(name).filter(|n| !n.is_empty())
    });
    from_cmdline.or_else(|| {
        std::fs::read_to_string(proc.join("comm"))
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_of_this_process_is_read_from_its_command_line() {
        let me = process_name(std::process::id()).expect("a name");
        let exe = std::env::current_exe().expect("exe");
        let want = exe.file_name().expect("file name").to_string_lossy();
        assert_eq!(me, want);
    }
}
