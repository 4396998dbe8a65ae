//! OAuth 2.1 for remote MCP servers: discovery, registration, sign-in, the token store,
//! and refresh under a cross-process single-flight lock.
//!
//! A server's whole OAuth state (issuer, client registration, access and refresh token,
//! expiry, granted scope) is one keychain item, the server's `oauth` credential; state
//! files only know that the credential exists. Tokens are keyed by issuer: when the
//! resource names another authorization server, neither the old registration nor the old
//! tokens are used there (THREATS 20). A client registered by hand is bound to one issuer
//! (`add --issuer`, else the issuer of its first sign-in); sign-in with it stops with an
//! error rather than show its id or secret to another one.
//!
//! Refresh (THREATS 22, 23, 24): every process that wants a fresh token takes an
//! exclusive file lock for that credential, re-reads the keychain item, and refreshes only
//! if the token it finds is still the stale one. So when ten bridges wake at once the
//! first refreshes and the other nine pick up its result: exactly one refresh request,
//! safe with refresh-token rotation and reuse detection. `invalid_grant` or a missing
//! refresh token marks the server "needs sign-in" (the tokens are dropped, the client
//! registration kept) and is never retried in a loop. A machine credential (its token
//! set names a [`grants::MachineGrant`]) has no refresh token to lose: under the same
//! lock it gets a new token the way it got the first, and a refusal is reported, not
//! retried.
//!
//! The token set also holds the keys of the credential ([`keys`]): the client's
//! `private_key_jwt` key and the DPoP key its tokens are bound to, each made for this
//! credential alone.
//!
//! Not done here: the interactive flow's details ([`flow`]), the whole sign-in as the
//! CLI and the app start it ([`connect`]) and the network policy ([`net`]).

pub mod discovery;
pub mod flow;
pub mod grants;
pub mod idp;
pub mod keys;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::base::error::{Error, Result};
use crate::base::fsutil;
use crate::base::paths::Paths;
use crate::base::report::Reporter;
use crate::base::secret::Secret;
use crate::store::audit::{AuditLog, Event, EventKind, Outcome, Target};
use crate::store::vault::Vault;

/// A client registration with one authorization server.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClientReg {
    /// The issuer it was registered with. `None` only for a client registered by hand
    /// without `--issuer`, until its first successful sign-in binds it; from then on it
    /// is never sent to another issuer ([`flow::check_client_issuer`]).
    pub issuer: Option<String>,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// `none`, `client_secret_basic` or `client_secret_post`.
    pub auth_method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// `pre-registered`, `cimd` or `dynamic`.
    pub source: String,
}

impl std::fmt::Debug for ClientReg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientReg")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("auth_method", &self.auth_method)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Everything one server's sign-in produced. Lives only in the keychain.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenSet {
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub resource: Option<String>,
    #[serde(default)]
    pub token_endpoint: Option<String>,
    #[serde(default)]
    pub client: Option<ClientReg>,
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub scope: Option<String>,
    /// Unix seconds when the access token was obtained.
    #[serde(default)]
    pub obtained_at: Option<i64>,
    /// `DPoP` when the access token is bound to [`Self::dpop_key`] (RFC 9449); else a
    /// bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// This credential's DPoP key (PKCS#8 PEM), made for it alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_key: Option<String>,
    /// The client's signing key for `private_key_jwt` (PKCS#8 PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<String>,
    /// How tokens are obtained without a browser; `None`: a browser sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<grants::MachineGrant>,
    /// Why the authorization server last refused this machine credential's grant (a
    /// revoked or deleted client, an unregistered key). While set, no process asks again
    /// on its own: the credential needs sign-in until `keybroker connect` succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Why the tokens were dropped (the authorization server refused the refresh token),
    /// so every process that finds them gone reports what happened, not just that there
    /// is no refresh token. New tokens clear it.
    pub signed_out: Option<String>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("issuer", &self.issuer)
            .field("client", &self.client)
            .field("has_access_token", &self.access_token.is_some())
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("token_type", &self.token_type)
            .field("has_dpop_key", &self.dpop_key.is_some())
            .field("has_client_key", &self.client_key.is_some())
            .field("machine", &self.machine)
            .field("refused", &self.refused)
            .field("signed_out", &self.signed_out)
            .finish()
    }
}

/// Refresh this many seconds before the access token expires.
pub const REFRESH_AHEAD_SECS: i64 = 60;

impl TokenSet {
    /// How long before expiry a refresh is due: [`REFRESH_AHEAD_SECS`], but at most half
    /// the token's lifetime (so short-lived tokens are not refreshed on every use).
    pub fn refresh_ahead(&self) -> i64 {
        match (self.expires_at, self.obtained_at) {
            (Some(exp), Some(got)) if exp > got => REFRESH_AHEAD_SECS.min((exp - got) / 2),
            _ => REFRESH_AHEAD_SECS,
        }
    }

    /// `true` when the access token is DPoP-bound (sent as `Authorization: DPoP`).
    /// A client-credentials credential's standing refusal (see [`Self::refused`]). Only
    /// the client's own registration can make that grant work again, which the user
    /// fixes; a workload token or an IdP sign-in renews by itself, so those ask again.
    pub fn refusal(&self) -> Option<String> {
        if !matches!(self.machine, Some(grants::MachineGrant::ClientCredentials)) {
            return None;
        }
        self.refused
            .as_ref()
            .map(|r| format!("{r}; after fixing that, run `keybroker connect` to ask again"))
    }

    pub fn is_dpop(&self) -> bool {
        self.token_type.as_deref() == Some("DPoP") && self.dpop_key.is_some()
    }

    /// The access token, if there is one that does not expire within `ahead` seconds.
    pub fn usable(&self, now: i64, ahead: i64) -> Option<&str> {
        let token = self.access_token.as_deref()?;
        match self.expires_at {
            Some(exp) if exp <= now + ahead => None,
            _ => Some(token),
        }
    }
}

/// The keychain item and lock of one server's OAuth credential.
pub struct Store {
    pub paths: Paths,
    pub vault: Vault,
    pub audit: AuditLog,
    pub server_id: String,
    pub credential: String,
    /// Told when an audit event cannot be written (the sign-in or refresh still counts).
    pub report: Reporter,
}

impl Store {
    pub fn load(&self) -> Result<Option<TokenSet>> {
        let Some(secret) = self.vault.get(&self.credential)? else {
            return Ok(None);
        };
        serde_json::from_str(secret.expose())
            .map(Some)
            .map_err(|_| {
                Error::other(
                    format!(
                        "the keychain item for {} is not a Keybroker token set",
                        self.server_id
                    ),
                    format!(
                        "run `keybroker connect {}` to sign in again",
                        self.server_id
                    ),
                )
            })
    }

    pub fn save(&self, ts: &TokenSet) -> Result<()> {
        let json = serde_json::to_string(ts)
            .map_err(|e| Error::other(format!("cannot encode tokens: {e}"), "report this bug"))?;
        self.vault.set(&self.credential, &Secret::new(json))
    }

    fn lock_path(&self) -> std::path::PathBuf {
        self.paths.config_dir.join("locks").join(format!(
            "oauth-{}.lock",
            crate::store::state::slug(&self.credential)
        ))
    }

    /// Hold the credential's refresh lock while `f` runs.
    pub fn locked<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let _guard = fsutil::lock_exclusive(&self.lock_path())?;
        f()
    }

    fn needs_sign_in(&self, reason: impl Into<String>) -> Error {
        Error::NeedsSignIn {
            server: self.server_id.clone(),
            reason: reason.into(),
        }
    }

    /// A usable access token: the stored one if still valid (and not `stale`), else one
    /// refresh under the lock. `stale`: the token a server just rejected with 401.
    pub fn fresh(
        &self,
        http: &crate::net::Http,
        stale: Option<&str>,
        now: &dyn Fn() -> i64,
    ) -> Result<TokenSet> {
        let before = self.load()?;
        if let Some(why) = before.as_ref().and_then(TokenSet::refusal) {
            return Err(self.needs_sign_in(why));
        }
        if let Some(ts) = &before
            && let Some(tok) = ts.usable(now(), ts.refresh_ahead())
            && stale != Some(tok)
        {
            return Ok(ts.clone());
        }
        let seen = stale
            .map(str::to_string)
            .or_else(|| before.and_then(|t| t.access_token));
        self.locked(|| {
            // Re-read: another process may have refreshed while we waited for the lock.
            let Some(mut ts) = self.load()? else {
                return Err(self.needs_sign_in("it was never signed in"));
            };
            if let Some(tok) = ts.usable(now(), ts.refresh_ahead())
                && stale != Some(tok)
            {
                return Ok(ts);
            }
            // Someone else refreshed while we waited: use their (unexpired) token even
            // if it is inside the refresh-ahead window, so one wake-up means one refresh.
            if let Some(tok) = ts.usable(now(), 0)
                && seen.as_deref() != Some(tok)
            {
                return Ok(ts);
            }
            if ts.refresh_token.is_none()
                && ts.machine.is_some()
                && let Some(endpoint) = ts
                    .token_endpoint
                    .as_deref()
                    .and_then(|e| Url::parse(e).ok())
            {
                return self.renew_machine(http, &ts, &endpoint, now());
            }
            let (Some(refresh), Some(client), Some(endpoint)) = (
                ts.refresh_token.clone(),
                ts.client.clone(),
                ts.token_endpoint.clone(),
            ) else {
                // The process that lost the race to a refused refresh finds the tokens
                // dropped: it reports the refusal, as the winner did.
                return Err(self.needs_sign_in(ts.signed_out.clone().unwrap_or_else(|| {
                    "the access token expired and the server issued no refresh token".into()
                })));
            };
            let endpoint = Url::parse(&endpoint)
                .map_err(|_| self.needs_sign_in("the stored token endpoint is invalid"))?;
            let mut form = vec![
                ("grant_type".to_string(), "refresh_token".to_string()),
                ("refresh_token".into(), refresh),
            ];
            if let Some(r) = &ts.resource {
                form.push(("resource".into(), r.clone()));
            }
            let client_key = ts
                .client_key
                .as_deref()
                .map(keys::Key::from_pem)
                .transpose()?;
            let dpop_key = ts
                .dpop_key
                .as_deref()
                .map(keys::Key::from_pem)
                .transpose()?;
            let issuer = ts.issuer.clone().unwrap_or_default();
            let auth = flow::TokenAuth {
                client: &client,
                client_key: client_key.as_ref(),
                issuer: &issuer,
                dpop: dpop_key.as_ref(),
                now: now(),
            };
            match flow::token_request_with(http, &endpoint, &auth, form)? {
                flow::TokenReply::Tokens(v) => {
                    flow::apply_tokens(&mut ts, &v, now());
                    self.save(&ts)?;
                    self.audit_event(EventKind::Refreshed, Outcome::Ok, "access token refreshed")?;
                    Ok(ts)
                }
                flow::TokenReply::Error(code, _) => {
                    // Drop the dead tokens (keep the registration) so no process retries,
                    // and say why for every process that finds them gone.
                    let why = format!(
                        "the authorization server refused the refresh token ({code}): it was revoked or has expired"
                    );
                    ts.access_token = None;
                    ts.refresh_token = None;
                    ts.expires_at = None;
                    ts.signed_out = Some(why.clone());
                    self.save(&ts)?;
                    let refused = self.event(
                        EventKind::Refreshed,
                        Outcome::Error,
                        &format!("refresh refused: {code}"),
                    );
                    Err(self
                        .audit
                        .append_refusal(vec![refused], self.needs_sign_in(why)))
                }
            }
        })
    }

    /// A new access token for a machine credential, the way it got its first (under the
    /// refresh lock, from the stored issuer, endpoint, resource and scope: no discovery).
    fn renew_machine(
        &self,
        http: &crate::net::Http,
        ts: &TokenSet,
        endpoint: &Url,
        now: i64,
    ) -> Result<TokenSet> {
        let how = ts
            .machine
            .as_ref()
            .map(grants::MachineGrant::describe)
            .unwrap_or_default();
        let Some(target) = grants::Target::stored(&self.server_id, ts, endpoint) else {
            return Err(self.needs_sign_in("the stored token set names no issuer or resource"));
        };
        match grants::machine_tokens(
            http,
            &self.vault,
            &self.paths.config_dir.join("locks"),
            ts,
            &target,
            now,
        ) {
            Ok(new) => {
                self.save(&new)?;
                self.audit_event(
                    EventKind::Refreshed,
                    Outcome::Ok,
                    &format!("new access token from {how}"),
                )?;
                Ok(new)
            }
            Err(e) => {
                self.remember_refusal(ts, &e)?;
                let refused = self.event(
                    EventKind::Refreshed,
                    Outcome::Error,
                    &format!("{how} refused"),
                );
                Err(self.audit.append_refusal(vec![refused], e))
            }
        }
    }

    /// After a machine grant the authorization server refused (not one that never got
    /// an answer): drop the dead access token and keep the reason, so no process retries
    /// until the user runs `keybroker connect`.
    pub fn remember_refusal(&self, ts: &TokenSet, e: &Error) -> Result<()> {
        let Error::NeedsSignIn { reason, .. } = e else {
            return Ok(());
        };
        let mut ts = ts.clone();
        ts.access_token = None;
        ts.expires_at = None;
        ts.refused = Some(reason.clone());
        self.save(&ts)
    }

    /// Record what happened to this server's sign-in. An event that cannot be written
    /// is an error: the caller does not go on as if it had been recorded.
    pub fn audit_event(&self, kind: EventKind, outcome: Outcome, detail: &str) -> Result<()> {
        self.audit.append(vec![self.event(kind, outcome, detail)])?;
        Ok(())
    }

    /// An event about this server's `Authorization` header, stamped now.
    pub fn event(&self, kind: EventKind, outcome: Outcome, detail: &str) -> Event {
        Event::new(kind, outcome, crate::base::clock::now_rfc3339())
            .server(&self.server_id)
            .host(self.server_id.split('/').next().unwrap_or_default())
            .credential(&self.credential)
            .target(Target::Header("Authorization".into()))
            .process(std::process::id(), None, None)
            .detail(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_set_debug_never_shows_tokens() {
        let ts = TokenSet {
            access_token: Some("at-KBCANARY".into()),
            refresh_token: Some("rt-KBCANARY".into()),
            client: Some(ClientReg {
                issuer: None,
                client_id: "c".into(),
                client_secret: Some("cs-KBCANARY".into()),
                auth_method: "client_secret_basic".into(),
                redirect_uri: None,
                source: "dynamic".into(),
            }),
            ..TokenSet::default()
        };
        assert!(!format!("{ts:?}").contains("KBCANARY"));
    }

    fn store(dir: &std::path::Path) -> Store {
        let mock: std::sync::Arc<keyring_core::api::CredentialStore> =
            keyring_core::mock::Store::new().expect("mock store");
        let paths = Paths::under(dir);
        Store {
            audit: AuditLog::new(paths.audit_file()),
            paths,
            vault: Vault::with_store(mock, "keybroker-test"),
            server_id: "h/s".into(),
            credential: "h-s-oauth".into(),
            report: Reporter::silent(),
        }
    }

    fn http() -> crate::net::Http {
        let url = Url::parse("https://127.0.0.1:9/mcp").expect("url");
        crate::net::Http::new(crate::net::Policy::for_server(&url, false).expect("policy"))
    }

    #[test]
    fn an_expired_token_without_a_refresh_token_needs_sign_in_and_sends_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let st = store(dir.path());
        st.save(&TokenSet {
            access_token: Some("a".into()),
            expires_at: Some(100),
            token_endpoint: Some("https://127.0.0.1:9/token".into()),
            ..TokenSet::default()
        })
        .expect("save");
        let http = http();
        let err = st.fresh(&http, None, &|| 1_000);
        assert!(matches!(err, Err(Error::NeedsSignIn { .. })), "{err:?}");
        assert_eq!(http.attempts(), 0, "no request without a refresh token");
        let never = store(dir.path());
        assert!(matches!(
            never.fresh(&http, None, &|| 1_000),
            Err(Error::NeedsSignIn { .. })
        ));
    }

    #[test]
    fn a_still_valid_token_is_used_without_a_refresh_unless_it_was_just_rejected() {
        let dir = tempfile::tempdir().expect("tmp");
        let st = store(dir.path());
        st.save(&TokenSet {
            access_token: Some("good".into()),
            expires_at: Some(10_000),
            ..TokenSet::default()
        })
        .expect("save");
        let http = http();
        let ts = st.fresh(&http, None, &|| 1_000).expect("fresh");
        assert_eq!(ts.access_token.as_deref(), Some("good"));
        // Rejected by the server and no refresh token: needs sign-in, still no request.
        assert!(matches!(
            st.fresh(&http, Some("good"), &|| 1_000),
            Err(Error::NeedsSignIn { .. })
        ));
        assert_eq!(http.attempts(), 0);
    }

    #[test]
    fn a_token_about_to_expire_is_not_usable() {
        let ts = TokenSet {
            access_token: Some("a".into()),
            expires_at: Some(1_000),
            ..TokenSet::default()
        };
        assert_eq!(ts.usable(900, 60), Some("a"));
        assert_eq!(ts.usable(950, 60), None);
        let forever = TokenSet {
            access_token: Some("a".into()),
            ..TokenSet::default()
        };
        assert_eq!(forever.usable(i64::MAX - 100, 60), Some("a"));
    }
}
