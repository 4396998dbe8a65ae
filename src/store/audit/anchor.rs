//! The audit head, anchored outside the log's directory with a key kept in the keychain
//! (a keychain item of its own, created on first use), in two parts:
//!
//! * the head file's MAC ([`Anchor::seal`]): an HMAC-SHA256 over the head (segment, line
//!   count, last hash) that every append writes into the head, with the key read in the
//!   keychain session the writer already has. Reading the key is cheap; no keychain
//!   write is involved.
//! * the keychain anchor ([`Anchor::write`]): a point of the chain with its own MAC, in a
//!   keychain item. Writing it is the expensive part (the Secret Service persists its
//!   file), so it is written only by writers that are not on a server's start path, and
//!   by `audit verify` (see [`super::AuditLog::mac_only`]).
//!
//! The head file next to the log catches lines removed from the end; whoever can write
//! both files can still replace the log and its head with a consistent new chain, or put
//! an older copy back. Without the key such a head carries no valid MAC, and an older copy
//! or a truncation to before the keychain anchor does not contain the anchored point: the
//! append that finds either records it in the log (an `audit-head-mismatch` event)
//! before it goes on, and `verify` reports it. Events after the anchored point are
//! protected by the MAC against rewriting, not against truncation back to that point.
//!
//! The keychain is opened only by writers and `verify`, never to read events: the launcher
//! hands over the session it opened to release secrets ([`Anchor::offer`]), other writers
//! open one when they append. A keychain that is locked or absent never stops an append:
//! the head is then written without a MAC and the anchor stays behind (stale); the next
//! append that reaches the keychain checks the old anchor against the chain and seals the
//! head again.
//!
//! What it does not do: protect against a process running as the same user on Linux,
//! which may ask the Secret Service for the key and recompute the MACs (see the README's
//! security model).

use std::sync::{Arc, Mutex};

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::base::secret::Secret;
use crate::store::vault::Vault;

/// Keychain item holding the MAC key (64 hex digits). A `.` keeps it apart from
/// credential ids, which are slugs.
pub const KEY_ID: &str = "keybroker.audit-anchor-key";
/// Keychain item holding the anchored head and its MAC.
pub const ANCHOR_ID: &str = "keybroker.audit-anchor";

const MAC_CONTEXT: &[u8] = b"keybroker audit anchor v1\n";
/// The head file's MAC: same key, its own context (a head MAC is never an anchor MAC).
const HEAD_CONTEXT: &[u8] = b"keybroker audit head v1\n";

/// A position in the chain: after `lines` physical lines of the log file that follows
/// `segment` rotated segments, the last event's hash is `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    #[serde(default)]
    pub segment: u64,
    pub lines: usize,
    pub hash: String,
}

/// What the keychain holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// No keychain to ask (locked, absent, no answer): the reason.
    Unavailable(String),
    /// Nothing anchored yet.
    Missing,
    /// An anchor that does not verify (bad MAC, unreadable, key gone): the reason.
    Invalid(String),
    Valid(Point),
}

#[derive(Serialize, Deserialize)]
struct Stored {
    v: u32,
    #[serde(flatten)]
    point: Point,
    mac: String,
}

/// The anchor of one log: which keychain service, and the session once one is open.
/// Clones share the session, so the `Context`'s log uses the vault the launcher opened.
#[derive(Clone)]
pub struct Anchor {
    inner: Arc<Mutex<Slot>>,
}

struct Slot {
    service: String,
    /// How this process opens the keychain; `None`: it never does (the relay, which
    /// seals with the key it was handed and has no keychain client linked in).
    open: Option<fn(&str) -> crate::base::error::Result<Vault>>,
    vault: Option<Vault>,
    /// Why the keychain could not be used in this process; later calls do not wait again.
    failed: Option<String>,
    /// The MAC key once read (one keychain call per process, not one per use).
    key: Option<Secret>,
}

impl std::fmt::Debug for Anchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Anchor").finish_non_exhaustive()
    }
}

impl Anchor {
    /// Anchored in keychain `service`; nothing is opened until first use.
    pub fn new(service: &str) -> Anchor {
        Anchor {
            inner: Arc::new(Mutex::new(Slot {
                service: service.to_string(),
                open: Some(Vault::open),
                vault: None,
                failed: None,
                key: None,
            })),
        }
    }

    /// Sealing with `key` only: no keychain is ever opened in this process, so only the
    /// head's MAC is written and checked (the keychain anchor is neither read nor moved).
    /// A program that builds its log only this way links no keychain client (so this
    /// does not go through [`Anchor::new`], which names `Vault::open`).
    pub fn with_key(key: Secret) -> Anchor {
        Anchor {
            inner: Arc::new(Mutex::new(Slot {
                service: String::new(),
                open: None,
                vault: None,
                failed: None,
                key: Some(key),
            })),
        }
    }

    /// Anchored through an already open `vault` (unit tests: the mock store).
    pub fn with_vault(vault: Vault) -> Anchor {
        let a = Anchor::new("");
        a.offer(&vault);
        a
    }

    /// Use this open session instead of opening another one.
    pub fn offer(&self, vault: &Vault) {
        if let Ok(mut slot) = self.inner.lock()
            && slot.vault.is_none()
        {
            slot.vault = Some(vault.clone());
            slot.failed = None;
        }
    }

    fn vault(&self) -> Result<Vault, String> {
        let mut slot = self
            .inner
            .lock()
            .map_err(|_| "the keychain session is unusable".to_string())?;
        if let Some(v) = &slot.vault {
            return Ok(v.clone());
        }
        if let Some(why) = &slot.failed {
            return Err(why.clone());
        }
        let Some(open) = slot.open else {
            return Err("this process has no keychain session (it seals with a handed key)".into());
        };
        match open(&slot.service) {
            Ok(v) => {
                slot.vault = Some(v.clone());
                Ok(v)
            }
            Err(e) => {
                let why = e.to_string();
                slot.failed = Some(why.clone());
                Err(why)
            }
        }
    }

    /// The keychain could not be opened in this process (`why`): later uses say so at
    /// once instead of waiting for it again.
    pub fn unavailable(&self, why: &str) {
        if let Ok(mut slot) = self.inner.lock()
            && slot.vault.is_none()
        {
            slot.failed = Some(why.to_string());
        }
    }

    /// The MAC key this process already holds (read or handed over), if any.
    pub fn cached_key(&self) -> Option<Secret> {
        self.inner.lock().ok().and_then(|s| s.key.clone())
    }

    /// Use `key` as the MAC key without asking the keychain: the guarded launcher hands
    /// the key it read to its relay, which then opens no keychain session at all.
    pub fn hand_key(&self, key: Secret) {
        if let Ok(mut slot) = self.inner.lock() {
            slot.key = Some(key);
        }
    }

    /// The MAC key: cached, else read from the keychain (`None`: there is none yet).
    fn key(&self, vault: &Vault) -> Result<Option<Secret>, String> {
        if let Some(k) = self.inner.lock().ok().and_then(|s| s.key.clone()) {
            return Ok(Some(k));
        }
        let key = vault.get(KEY_ID).map_err(|e| self.fail(&e.to_string()))?;
        if let (Some(k), Ok(mut slot)) = (&key, self.inner.lock()) {
            slot.key = Some(k.clone());
        }
        Ok(key)
    }

    fn fail(&self, why: &str) -> String {
        if let Ok(mut slot) = self.inner.lock() {
            slot.failed = Some(why.to_string());
            slot.vault = None;
        }
        why.to_string()
    }

    /// The anchored point, checked against its MAC.
    pub fn read(&self) -> Read {
        let vault = match self.vault() {
            Ok(v) => v,
            Err(why) => return Read::Unavailable(why),
        };
        // One after the other: the Secret Service store serialises its calls on one
        // connection anyway. The key is not asked for again once this process has it.
        let stored = vault.get(ANCHOR_ID);
        let key = self.key(&vault);
        let stored = match stored {
            Ok(None) => return Read::Missing,
            Ok(Some(s)) => s,
            Err(e) => return Read::Unavailable(self.fail(&e.to_string())),
        };
        let key = match key {
            Ok(Some(k)) => k,
            Ok(None) => {
                return Read::Invalid(format!(
                    "the keychain item `{KEY_ID}` (the anchor's key) is gone"
                ));
            }
            Err(why) => return Read::Unavailable(why),
        };
        let parsed: Stored = match serde_json::from_str(stored.expose()) {
            Ok(s) => s,
            Err(e) => return Read::Invalid(format!("the anchor cannot be read: {e}")),
        };
        let Ok(mac) = hex::decode(&parsed.mac) else {
            return Read::Invalid("the anchor's MAC is not hex".into());
        };
        let verified =
            mac_for(&key, MAC_CONTEXT, &parsed.point).is_some_and(|m| m.verify_slice(&mac).is_ok());
        if verified && parsed.v == 1 {
            Read::Valid(parsed.point)
        } else {
            Read::Invalid(format!(
                "the anchor ({} lines, hash {}) does not match its MAC: it was not written by \
                 Keybroker with this key",
                parsed.point.lines, parsed.point.hash
            ))
        }
    }

    /// The MAC key, created on first use when `create` (the one keychain write an
    /// installation makes for it). `Ok(None)`: there is none and none was created.
    fn mac_key(&self, create: bool) -> Result<Option<Secret>, String> {
        if let Some(k) = self.cached_key() {
            return Ok(Some(k));
        }
        let vault = self.vault()?;
        if let Some(k) = self.key(&vault)? {
            return Ok(Some(k));
        }
        if !create {
            return Ok(None);
        }
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw)
            .map_err(|e| format!("no random bytes for the anchor's key: {e}"))?;
        let k = Secret::new(hex::encode(raw));
        raw.fill(0);
        vault
            .set(KEY_ID, &k)
            .map_err(|e| self.fail(&e.to_string()))?;
        if let Ok(mut slot) = self.inner.lock() {
            slot.key = Some(k.clone());
        }
        Ok(Some(k))
    }

    /// The MAC the head file carries for `point` (hex), with the key read in this
    /// process's keychain session (created on first use). `None`: no keychain to ask;
    /// the head is then written without a MAC.
    pub fn seal(&self, point: &Point) -> Option<String> {
        let key = self.mac_key(true).ok().flatten()?;
        let mac = mac_for(&key, HEAD_CONTEXT, point)?.finalize().into_bytes();
        Some(hex::encode(mac))
    }

    /// Whether `mac` is the head MAC of `point`. An error: the key could not be read
    /// (the keychain is unavailable, or the key is gone).
    pub fn check_seal(&self, point: &Point, mac: &str) -> Result<bool, String> {
        let key = self
            .mac_key(false)?
            .ok_or_else(|| format!("the keychain item `{KEY_ID}` (the anchor's key) is gone"))?;
        let Ok(mac) = hex::decode(mac) else {
            return Ok(false);
        };
        Ok(mac_for(&key, HEAD_CONTEXT, point).is_some_and(|m| m.verify_slice(&mac).is_ok()))
    }

    /// Anchor `point`, creating the key on first use. An error is the reason the anchor
    /// stays where it was.
    pub fn write(&self, point: &Point) -> Result<(), String> {
        let vault = self.vault()?;
        let key = self
            .mac_key(true)?
            .ok_or_else(|| "the anchor's key is unusable".to_string())?;
        let mac = mac_for(&key, MAC_CONTEXT, point)
            .ok_or_else(|| "the anchor's key is unusable".to_string())?
            .finalize()
            .into_bytes();
        let stored = Stored {
            v: 1,
            point: point.clone(),
            mac: hex::encode(mac),
        };
        let json = serde_json::to_string(&stored).map_err(|e| e.to_string())?;
        vault
            .set(ANCHOR_ID, &Secret::new(json))
            .map_err(|e| self.fail(&e.to_string()))
    }
}

fn mac_for(key: &Secret, context: &[u8], point: &Point) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.expose().as_bytes()).ok()?;
    mac.update(context);
    mac.update(format!("{}\n{}\n{}", point.segment, point.lines, point.hash).as_bytes());
    Some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyring_core::api::CredentialStore;

    fn mock() -> Vault {
        let store: Arc<CredentialStore> = keyring_core::mock::Store::new().expect("mock store");
        Vault::with_store(store, "keybroker-anchor-test")
    }

    fn point(lines: usize) -> Point {
        Point {
            segment: 0,
            lines,
            hash: "ab".repeat(32),
        }
    }

    #[test]
    fn a_written_anchor_reads_back_and_a_forged_one_does_not_verify() {
        let vault = mock();
        let a = Anchor::with_vault(vault.clone());
        assert_eq!(a.read(), Read::Missing);
        a.write(&point(3)).expect("write");
        assert_eq!(a.read(), Read::Valid(point(3)));
        let key = vault.get(KEY_ID).expect("get").expect("key created");
        assert_eq!(key.expose().len(), 64);

        // Same shape, another count, the old MAC: refused.
        let stored = vault.get(ANCHOR_ID).expect("get").expect("anchor");
        let forged = stored.expose().replace("\"lines\":3", "\"lines\":9");
        vault.set(ANCHOR_ID, &Secret::new(forged)).expect("set");
        assert!(matches!(a.read(), Read::Invalid(_)), "{:?}", a.read());

        // The key gone: the anchor cannot be trusted.
        a.write(&point(4)).expect("write");
        vault.delete(KEY_ID).expect("delete");
        let next_process = Anchor::with_vault(vault.clone());
        assert!(matches!(next_process.read(), Read::Invalid(why) if why.contains(KEY_ID)));
    }
}
