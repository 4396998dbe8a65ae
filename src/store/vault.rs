//! The OS keychain, and nothing else: the only place a secret value is ever stored.
//!
//! Secret Service (gnome-keyring, KWallet, KeePassXC) on Linux/BSD, Keychain Services on
//! macOS, Credential Manager on Windows, through `keyring-core` and each platform's
//! store crate. Every call has a bounded wait, because a locked keychain can sit on an
//! unlock prompt nobody answers, and the launcher must never hang a host. There is no
//! fallback store: without a keychain Keybroker stops and says how to get one.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use keyring_core::api::CredentialStore;

use crate::base::error::{Error, Result};
use crate::base::secret::Secret;

/// How long one keychain call may take before we give up (overridable for tests and slow
/// machines with `KEYBROKER_KEYCHAIN_TIMEOUT` in seconds).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone)]
pub struct Vault {
    store: Arc<CredentialStore>,
    service: String,
    timeout: Duration,
    calls: Calls,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("service", &self.service)
            .finish()
    }
}

impl Vault {
    /// Open the platform's native keychain.
    pub fn open(service: &str) -> Result<Vault> {
        let timeout = std::env::var("KEYBROKER_KEYCHAIN_TIMEOUT")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TIMEOUT);
        let calls = Calls::start();
        let store = calls.bounded(timeout, native_store)?;
        Ok(Vault {
            store,
            service: service.to_string(),
            timeout,
            calls,
        })
    }

    /// A vault over any store (unit tests use keyring-core's mock store).
    pub fn with_store(store: Arc<CredentialStore>, service: &str) -> Vault {
        Vault {
            store,
            service: service.to_string(),
            timeout: DEFAULT_TIMEOUT,
            calls: Calls::start(),
        }
    }

    pub fn get(&self, id: &str) -> Result<Option<Secret>> {
        let (store, service, id) = (self.store.clone(), self.service.clone(), id.to_string());
        self.calls.bounded(self.timeout, move || {
            let entry = keyring_core::Entry::new_in_store(&store, &service, &id)?;
            match entry.get_password() {
                Ok(v) => Ok(Some(Secret::new(v))),
                Err(keyring_core::Error::NoEntry) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    pub fn set(&self, id: &str, value: &Secret) -> Result<()> {
        if value.is_empty() {
            return Err(Error::other(
                "refusing to store an empty secret",
                "enter the secret's value (or remove the binding with `keybroker secret rm`)",
            ));
        }
        let (store, service, id) = (self.store.clone(), self.service.clone(), id.to_string());
        let value = value.clone();
        self.calls.bounded(self.timeout, move || {
            keyring_core::Entry::new_in_store(&store, &service, &id)?.set_password(value.expose())
        })
    }

    /// Delete an item; `Ok(false)` when there was none.
    pub fn delete(&self, id: &str) -> Result<bool> {
        let (store, service, id) = (self.store.clone(), self.service.clone(), id.to_string());
        self.calls.bounded(
            self.timeout,
            move || match keyring_core::Entry::new_in_store(&store, &service, &id)?
                .delete_credential()
            {
                Ok(()) => Ok(true),
                Err(keyring_core::Error::NoEntry) => Ok(false),
                Err(e) => Err(e),
            },
        )
    }
}

type Call = Box<dyn FnOnce() + Send>;

/// The thread a vault's keychain calls run on, one after the other (one thread per
/// session instead of one per call: each call on the launcher's path waited for a new
/// thread). It ends when the vault and its clones are gone. Without it (no thread could
/// be started, or it is gone), each call gets a thread of its own.
#[derive(Clone)]
struct Calls {
    tx: Option<mpsc::Sender<Call>>,
}

impl Calls {
    fn start() -> Calls {
        let (tx, rx) = mpsc::channel::<Call>();
        let worker = std::thread::Builder::new()
            .name("keybroker-keychain-calls".into())
            .spawn(move || {
                for call in rx {
                    call();
                }
            });
        Calls {
            tx: worker.is_ok().then_some(tx),
        }
    }

    /// Run a keychain call on the vault's thread and stop waiting after `timeout` (a call
    /// that never returns keeps the thread: the calls after it time out too, as they
    /// would against a keychain that hangs).
    fn bounded<T: Send + 'static>(
        &self,
        timeout: Duration,
        f: impl FnOnce() -> keyring_core::Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = mpsc::channel();
        let call: Call = Box::new(move || {
            let _ = tx.send(f());
        });
        let unsent = match &self.tx {
            Some(worker) => worker.send(call).err().map(|mpsc::SendError(c)| c),
            None => Some(call),
        };
        if let Some(call) = unsent {
            std::thread::spawn(call);
        }
        wait(&rx, timeout)
    }
}

/// The answer of a keychain call, or the timeout's error.
fn wait<T>(rx: &mpsc::Receiver<keyring_core::Result<T>>, timeout: Duration) -> Result<T> {
    match rx.recv_timeout(timeout) {
        Ok(r) => r.map_err(keychain_error),
        Err(_) => Err(Error::Keychain {
            message: format!(
                "no answer from the keychain within {} s (it may be locked and waiting for an unlock prompt)",
                timeout.as_secs()
            ),
            fix: "unlock your keychain (log in to the desktop session, or answer the unlock prompt), then try again".into(),
        }),
    }
}

fn keychain_error(e: keyring_core::Error) -> Error {
    use keyring_core::Error as K;
    let (message, fix) = match &e {
        K::NoDefaultStore | K::PlatformFailure(_) => (
            format!("no usable keychain service: {e}"),
            NO_STORE_FIX.to_string(),
        ),
        K::NoStorageAccess(_) => (
            format!("the keychain is locked or refused access: {e}"),
            "unlock your keychain (log in to the desktop session; headless: `printf %s \"$PW\" | gnome-keyring-daemon --unlock --components=secrets`)".to_string(),
        ),
        K::TooLong(what, max) => (
            format!("the value is too long for this keychain ({what} may be at most {max} bytes)"),
            "store a shorter value; Keybroker never truncates secrets".to_string(),
        ),
        K::BadEncoding(_) | K::BadDataFormat(..) => (
            "a keychain item holds data that is not UTF-8 text".to_string(),
            "set the secret again with `keybroker secret set`".to_string(),
        ),
        _ => (format!("{e}"), "try again; if it persists, restart your keychain service".to_string()),
    };
    Error::Keychain { message, fix }
}

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
const NO_STORE_FIX: &str = "start a Secret Service provider on your session bus: install and run gnome-keyring (or KWallet, or KeePassXC with Secret Service integration) in a desktop session; headless: `dbus-run-session -- sh -c 'printf %s \"$PW\" | gnome-keyring-daemon --unlock --components=secrets; keybroker ...'`";
#[cfg(target_os = "macos")]
const NO_STORE_FIX: &str =
    "make sure you are logged in to a macOS user session with a login keychain";
#[cfg(target_os = "windows")]
const NO_STORE_FIX: &str = "make sure Windows Credential Manager is available for your user";
#[cfg(not(any(unix, windows)))]
const NO_STORE_FIX: &str = "this platform has no supported keychain";

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
fn native_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(zbus_secret_service_keyring_store::Store::new()?)
}

#[cfg(target_os = "macos")]
fn native_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(apple_native_keyring_store::keychain::Store::new()?)
}

#[cfg(target_os = "windows")]
fn native_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(windows_native_keyring_store::Store::new()?)
}

#[cfg(not(any(unix, windows)))]
fn native_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Err(keyring_core::Error::NoDefaultStore)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mock() -> Vault {
        let store: Arc<CredentialStore> = keyring_core::mock::Store::new().expect("mock store");
        Vault::with_store(store, "keybroker-test")
    }

    #[test]
    fn a_vaults_calls_share_one_thread_and_a_hung_call_times_out_the_ones_behind_it() {
        let calls = Calls::start();
        let t = Duration::from_secs(5);
        let first = calls
            .bounded(t, || Ok(std::thread::current().id()))
            .expect("first");
        let second = calls
            .bounded(t, || Ok(std::thread::current().id()))
            .expect("second");
        assert_eq!(first, second, "one thread for the vault's calls");
        assert_ne!(first, std::thread::current().id(), "not the caller's");
        // A call that never returns within the wait: an error naming the unlock, and the
        // call queued behind it waits its bounded time too.
        let (release, hung) = mpsc::channel::<()>();
        let short = Duration::from_millis(200);
        let err = calls
            .bounded(short, move || {
                let _ = hung.recv();
                Ok(())
            })
            .expect_err("timed out");
        assert!(
            err.to_string().contains("no answer from the keychain"),
            "{err}"
        );
        assert!(calls.bounded(short, || Ok(())).is_err(), "queued behind it");
        drop(release);
        assert!(
            calls.bounded(t, || Ok(())).is_ok(),
            "runs again once it returned"
        );
    }

    #[test]
    fn missing_entry_is_none_not_an_error() {
        assert!(mock().get("nope").expect("get").is_none());
    }

    #[test]
    fn set_get_delete_round_trip_keeps_non_ascii_exactly() {
        let v = mock();
        let value = Secret::new("pässwörd-🔑-KBCANARY");
        v.set("c1", &value).expect("set");
        assert_eq!(
            v.get("c1").expect("get").expect("some").expose(),
            value.expose()
        );
        assert!(v.delete("c1").expect("delete"));
        assert!(!v.delete("c1").expect("delete again"));
    }

    #[test]
    fn empty_secret_is_refused() {
        assert!(mock().set("c1", &Secret::new("")).is_err());
    }
}
