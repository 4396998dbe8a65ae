//! An organisation's identity provider, for enterprise-managed authorization (SEP-990):
//! set up once (`keybroker idp add`), then every MCP server of that organisation gets
//! its tokens without a browser trip of its own. The user's ID token is exchanged at the
//! IdP (RFC 8693 token exchange) for an ID-JAG naming one MCP authorization server and
//! resource; [`super::grants`] hands that to the server's authorization server.
//!
//! The IdP's whole record (issuer, token endpoint, client, ID token) is one keychain
//! item, `idp-<name>`; the state file only lists the credential. The ID token and the
//! IdP client's secret go to the IdP's own token endpoint only, found in its metadata
//! under its exact issuer, over a client with the IdP's own network policy.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::ClientReg;
use super::discovery::{self, Use};
use super::flow::{self, Browser, TokenAuth, TokenReply};
use crate::base::error::{Error, Result};
use crate::base::fsutil;
use crate::base::report::Reporter;
use crate::base::secret::Secret;
use crate::net::{Http, Policy, browser_url, parse_server_url};
use crate::store::state::slug;
use crate::store::vault::Vault;

pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
pub const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";

/// One IdP as the keychain holds it.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Idp {
    pub name: String,
    pub issuer: String,
    pub token_endpoint: String,
    /// Keybroker's client at the IdP.
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The user's ID token from the IdP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// The IdP's refresh token from `keybroker idp login`: a new ID token when the last
    /// one runs out, with no browser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for Idp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idp")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("has_id_token", &self.id_token.is_some())
            .field("has_refresh_token", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

/// The keychain item (and state credential) id of IdP `name`.
pub fn credential_id(name: &str) -> String {
    format!("idp-{}", slug(name))
}

/// An HTTP client for the IdP itself: its own address policy, not an MCP server's.
fn http_for(issuer: &str) -> Result<Http> {
    let url = parse_server_url(issuer, false)?;
    Ok(Http::new(Policy::for_server(&url, false)?))
}

/// Look the IdP up (OpenID Connect / RFC 8414 metadata under its exact issuer) and
/// return its record, ready to be stored.
pub fn discover(
    name: &str,
    issuer: &str,
    client_id: &str,
    client_secret: Option<&Secret>,
    id_token: Option<&Secret>,
) -> Result<Idp> {
    let http = http_for(issuer)?;
    let meta = discovery::auth_server_for(&http, issuer, Use::Machine)?;
    Ok(Idp {
        name: name.to_string(),
        issuer: issuer.to_string(),
        token_endpoint: meta.token_endpoint.to_string(),
        client_id: client_id.to_string(),
        client_secret: client_secret.map(|s| s.expose().to_string()),
        id_token: id_token.map(|s| s.expose().trim().to_string()),
        refresh_token: None,
    })
}

pub fn load(vault: &Vault, name: &str) -> Result<Idp> {
    let missing = || {
        Error::other(
            format!("there is no IdP `{name}`"),
            format!(
                "set it up with `keybroker idp add {name} --issuer <url> --client-id <id> --id-token-stdin`"
            ),
        )
    };
    let item = vault.get(&credential_id(name))?.ok_or_else(missing)?;
    serde_json::from_str(item.expose()).map_err(|_| missing())
}

pub fn save(vault: &Vault, idp: &Idp) -> Result<()> {
    let json = serde_json::to_string(idp)
        .map_err(|e| Error::other(format!("cannot encode the IdP: {e}"), "report this bug"))?;
    vault.set(&credential_id(&idp.name), &Secret::new(json))
}

/// The claims of a JWT, read without verifying.
fn jwt_claims(token: &str) -> Option<Value> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<Value>(&bytes).ok()
}

/// The `exp` of a JWT, read without verifying (only to say it ran out).
fn jwt_exp(token: &str) -> Option<i64> {
    jwt_claims(token)?.get("exp")?.as_i64()
}

/// What to tell a user whose IdP sign-in ran out.
fn sign_in_again(idp: &Idp) -> String {
    format!(
        "sign in to it again: `keybroker idp login {}` (or give it an ID token: `keybroker idp add {} --issuer {} --client-id {} --replace --id-token-stdin`)",
        idp.name, idp.name, idp.issuer, idp.client_id
    )
}

/// Seconds before an ID token's `exp` at which it is renewed with the refresh token (at
/// most half its lifetime, so a short-lived token is not renewed on every use).
const RENEW_AHEAD: i64 = 60;

/// Whether an ID token is due for renewal at `now`: none, unreadable, or within
/// [`RENEW_AHEAD`] (or half its lifetime) of its `exp`.
fn renewal_due(id_token: Option<&str>, now: i64) -> bool {
    let Some(claims) = id_token.and_then(jwt_claims) else {
        return true;
    };
    let Some(exp) = claims.get("exp").and_then(Value::as_i64) else {
        return true;
    };
    let ahead = claims
        .get("iat")
        .and_then(Value::as_i64)
        .map_or(RENEW_AHEAD, |iat| RENEW_AHEAD.min((exp - iat) / 2));
    exp - now <= ahead
}

/// IdP `name`'s record with a usable ID token: when the stored one is due for renewal
/// ([`renewal_due`]) and a refresh token is there, one refresh at the IdP, under the
/// IdP's lock (IdPs rotate refresh tokens and revoke the whole grant when an old one
/// comes back, so two bridges must never refresh at once; the second re-reads the
/// first's).
pub fn current(vault: &Vault, name: &str, locks: &Path, now: i64) -> Result<Idp> {
    let due = |idp: &Idp| idp.refresh_token.is_some() && renewal_due(idp.id_token.as_deref(), now);
    let idp = load(vault, name)?;
    if !due(&idp) {
        return Ok(idp);
    }
    let _guard = fsutil::lock_exclusive(&locks.join(format!("{}.lock", credential_id(name))))?;
    let mut idp = load(vault, name)?;
    if !due(&idp) {
        return Ok(idp);
    }
    let http = http_for(&idp.issuer)?;
    refresh(&http, &mut idp, now)?;
    save(vault, &idp)?;
    Ok(idp)
}

/// Keybroker's client at the IdP, as a registration the token requests can use.
fn client_of(idp: &Idp) -> ClientReg {
    ClientReg {
        issuer: Some(idp.issuer.clone()),
        client_id: idp.client_id.clone(),
        auth_method: if idp.client_secret.is_some() {
            "client_secret_basic".into()
        } else {
            "none".into()
        },
        client_secret: idp.client_secret.clone(),
        redirect_uri: None,
        source: "pre-registered".into(),
    }
}

/// A new ID token (and the rotated refresh token) from the IdP's refresh token.
fn refresh(http: &Http, idp: &mut Idp, now: i64) -> Result<()> {
    let Some(refresh_token) = idp.refresh_token.clone() else {
        return Err(Error::other(
            format!("the IdP `{}` has no refresh token", idp.name),
            sign_in_again(idp),
        ));
    };
    let endpoint = Url::parse(&idp.token_endpoint).map_err(|_| {
        Error::other(
            format!("the IdP `{}` has an invalid token endpoint", idp.name),
            sign_in_again(idp),
        )
    })?;
    let client = client_of(idp);
    let form = vec![
        ("grant_type".to_string(), "refresh_token".to_string()),
        ("refresh_token".into(), refresh_token),
        ("scope".into(), "openid".into()),
    ];
    let auth = TokenAuth::plain(&client, &idp.issuer, now);
    match flow::token_request_with(http, &endpoint, &auth, form)? {
        TokenReply::Tokens(v) => take_tokens(idp, &v, None, now),
        TokenReply::Error(code, desc) => Err(Error::other(
            format!(
                "the IdP `{}` no longer renews your sign-in: {code}{}",
                idp.name,
                desc.map(|d| format!(": {d}")).unwrap_or_default()
            ),
            sign_in_again(idp),
        )),
    }
}

/// Take the ID token (checked: this issuer, for this client, not expired, with this
/// sign-in's nonce) and a refresh token, if any, from a token response. The token comes
/// straight from the IdP's token endpoint over the IdP's own network policy, which is
/// what OpenID Connect Core 3.1.3.7 allows in place of a signature check; it is only
/// ever handed back to that same IdP.
fn take_tokens(idp: &mut Idp, v: &Value, nonce: Option<&str>, now: i64) -> Result<()> {
    let bad = |why: &str| {
        Error::Denied {
            message: format!("the IdP `{}` answered with an unusable ID token: {why}", idp.name),
            fix: "nothing was stored; check the IdP's client settings (scope `openid`) and sign in again with `keybroker idp login`".into(),
        }
    };
    let Some(id_token) = v.get("id_token").and_then(Value::as_str) else {
        return Err(bad(
            "there is none (is the `openid` scope allowed for this client?)",
        ));
    };
    let claims = jwt_claims(id_token).ok_or_else(|| bad("it is not a JWT"))?;
    if claims.get("iss").and_then(Value::as_str) != Some(idp.issuer.as_str()) {
        return Err(bad("it names another issuer"));
    }
    let for_us = match claims.get("aud") {
        Some(Value::String(a)) => a == &idp.client_id,
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(idp.client_id.as_str())),
        _ => false,
    };
    if !for_us {
        return Err(bad("it is meant for another client"));
    }
    if claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_none_or(|exp| exp <= now)
    {
        return Err(bad("it has expired already"));
    }
    if let Some(n) = nonce
        && claims.get("nonce").and_then(Value::as_str) != Some(n)
    {
        return Err(bad("its nonce is not this sign-in's (a replayed token?)"));
    }
    idp.id_token = Some(id_token.to_string());
    if let Some(rt) = v.get("refresh_token").and_then(Value::as_str) {
        idp.refresh_token = Some(rt.to_string());
    }
    Ok(())
}

/// How `keybroker idp login` meets the user.
pub struct Login<'a> {
    pub browser: Browser,
    pub timeout: Duration,
    pub cancel: Option<&'a AtomicBool>,
    pub report: &'a Reporter,
}

/// Sign in to the IdP in the browser: authorization code with PKCE (S256), `state` and
/// `nonce`, the loopback redirect, the same callback checks as a server's sign-in; the
/// ID token and refresh token land in `idp` (the caller stores it in the keychain).
pub fn login(idp: &mut Idp, req: &Login<'_>, now: &dyn Fn() -> i64) -> Result<()> {
    let http = http_for(&idp.issuer)?;
    let meta = discovery::auth_server_for(&http, &idp.issuer, Use::SignIn)?;
    let Some(mut auth_url) = meta.authorization_endpoint.clone() else {
        return Err(Error::other(
            format!(
                "the IdP `{}` has no authorization endpoint, so there is no browser sign-in there",
                idp.name
            ),
            format!(
                "give it an ID token instead: `keybroker idp add {} --issuer {} --client-id {} --replace --id-token-stdin`",
                idp.name, idp.issuer, idp.client_id
            ),
        ));
    };
    let loopback = flow::Loopback::bind(None)?;
    let redirect_uri = loopback.redirect_uri.clone();
    let state = flow::random_token(32)?;
    let nonce = flow::random_token(32)?;
    let verifier = flow::random_token(48)?;
    let offline = meta
        .scopes_supported
        .as_ref()
        .is_some_and(|s| s.iter().any(|x| x == "offline_access"));
    {
        let mut q = auth_url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &idp.client_id)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("code_challenge", &flow::pkce_challenge(&verifier))
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair(
                "scope",
                if offline {
                    "openid offline_access"
                } else {
                    "openid"
                },
            );
        if offline {
            q.append_pair("prompt", "consent");
        }
    }
    let auth_url = browser_url(auth_url.as_str())?;
    flow::hand_to_browser(
        &req.browser,
        &auth_url,
        &format!("sign in to the IdP {} in your browser", idp.name),
        req.report,
    );
    let params = loopback.wait(&state, req.timeout, req.cancel, |p| {
        flow::check_callback(p, &state, &meta)
    })?;
    let code = params
        .iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    idp.token_endpoint = meta.token_endpoint.to_string();
    let client = client_of(idp);
    let form = vec![
        ("grant_type".to_string(), "authorization_code".to_string()),
        ("code".into(), code),
        ("redirect_uri".into(), redirect_uri),
        ("code_verifier".into(), verifier),
    ];
    let auth = TokenAuth::plain(&client, &idp.issuer, now());
    match flow::token_request_with(&http, &meta.token_endpoint, &auth, form)? {
        TokenReply::Tokens(v) => take_tokens(idp, &v, Some(&nonce), now()),
        TokenReply::Error(code, desc) => Err(Error::other(
            format!(
                "the IdP `{}` refused the sign-in: {code}{}",
                idp.name,
                desc.map(|d| format!(": {d}")).unwrap_or_default()
            ),
            "check the client id (and secret) given to `keybroker idp add`, then run `keybroker idp login` again",
        )),
    }
}

/// An ID-JAG for the authorization server `audience` and the MCP `resource`, from IdP
/// `name`'s token exchange.
pub fn id_jag(
    vault: &Vault,
    locks: &Path,
    name: &str,
    audience: &str,
    resource: &str,
    scope: Option<&str>,
    now: i64,
) -> Result<String> {
    let idp = current(vault, name, locks, now)?;
    let sign_in_again = sign_in_again(&idp);
    let Some(id_token) = idp.id_token.clone() else {
        return Err(Error::other(
            format!("the IdP `{name}` has no ID token"),
            sign_in_again,
        ));
    };
    if jwt_exp(&id_token).is_some_and(|exp| exp <= now) {
        return Err(Error::other(
            format!("the ID token from the IdP `{name}` has expired"),
            sign_in_again,
        ));
    }
    let endpoint = Url::parse(&idp.token_endpoint).map_err(|_| {
        Error::other(
            format!("the IdP `{name}` has an invalid token endpoint"),
            sign_in_again.clone(),
        )
    })?;
    let client = client_of(&idp);
    let mut form = vec![
        ("grant_type".to_string(), TOKEN_EXCHANGE.to_string()),
        ("requested_token_type".into(), ID_JAG.into()),
        ("subject_token".into(), id_token),
        ("subject_token_type".into(), ID_TOKEN.into()),
        ("audience".into(), audience.to_string()),
        ("resource".into(), resource.to_string()),
    ];
    if let Some(s) = scope {
        form.push(("scope".into(), s.to_string()));
    }
    let http = http_for(&idp.issuer)?;
    let auth = TokenAuth::plain(&client, &idp.issuer, now);
    match flow::token_request_with(&http, &endpoint, &auth, form)? {
        TokenReply::Tokens(v) => {
            let issued = v.get("issued_token_type").and_then(Value::as_str);
            if issued.is_some_and(|t| t != ID_JAG) {
                return Err(Error::other(
                    format!(
                        "the IdP `{name}` answered with a {} instead of an ID-JAG",
                        issued.unwrap_or("?")
                    ),
                    "check that the IdP supports enterprise-managed authorization for MCP",
                ));
            }
            v.get("access_token")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| Error::other("the IdP sent no ID-JAG", "tell the IdP's operator"))
        }
        TokenReply::Error(code, desc) => Err(Error::other(
            format!(
                "the IdP `{name}` refused the token exchange: {code}{}",
                desc.map(|d| format!(": {d}")).unwrap_or_default()
            ),
            sign_in_again,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn jwt(claims: Value) -> String {
        let b = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        format!(
            "{}.{}.sig",
            b(br#"{"alg":"RS256"}"#),
            b(claims.to_string().as_bytes())
        )
    }

    #[test]
    fn an_id_token_is_renewed_a_minute_ahead_or_at_half_its_lifetime() {
        let hour = jwt(serde_json::json!({"iat": 1_000, "exp": 4_600}));
        assert!(!renewal_due(Some(&hour), 1_000));
        assert!(!renewal_due(Some(&hour), 4_539));
        assert!(renewal_due(Some(&hour), 4_540));
        let short = jwt(serde_json::json!({"iat": 1_000, "exp": 1_010}));
        assert!(
            !renewal_due(Some(&short), 1_004),
            "fresh: more than half left"
        );
        assert!(renewal_due(Some(&short), 1_005));
        let no_iat = jwt(serde_json::json!({"exp": 1_010}));
        assert!(renewal_due(Some(&no_iat), 1_000), "within a minute");
        assert!(renewal_due(None, 0));
        assert!(renewal_due(Some("not a jwt"), 0));
    }

    fn idp() -> Idp {
        Idp {
            name: "acme".into(),
            issuer: "https://idp.acme.example".into(),
            token_endpoint: "https://idp.acme.example/token".into(),
            client_id: "keybroker".into(),
            client_secret: None,
            id_token: None,
            refresh_token: None,
        }
    }

    #[test]
    fn only_an_id_token_of_this_issuer_for_this_client_with_this_nonce_is_taken() {
        let good = serde_json::json!({"iss": "https://idp.acme.example", "aud": ["keybroker"], "exp": 2_000, "nonce": "n1"});
        let reply = |claims: &Value| serde_json::json!({"id_token": jwt(claims.clone()), "refresh_token": "rt-1"});
        let mut i = idp();
        take_tokens(&mut i, &reply(&good), Some("n1"), 1_000).expect("good");
        assert!(i.id_token.is_some() && i.refresh_token.as_deref() == Some("rt-1"));
        for (field, value, why) in [
            ("iss", serde_json::json!("https://evil.example"), "issuer"),
            ("aud", serde_json::json!("someone-else"), "client"),
            ("exp", serde_json::json!(999), "expired"),
            ("nonce", serde_json::json!("n2"), "nonce"),
        ] {
            let mut claims = good.clone();
            claims[field] = value;
            let mut i = idp();
            let err = take_tokens(&mut i, &reply(&claims), Some("n1"), 1_000)
                .expect_err(why)
                .describe();
            assert!(err.contains("unusable ID token"), "{why}: {err}");
            assert!(
                i.id_token.is_none() && i.refresh_token.is_none(),
                "{why}: nothing taken"
            );
        }
        let mut i = idp();
        assert!(
            take_tokens(
                &mut i,
                &serde_json::json!({"access_token": "x"}),
                None,
                1_000
            )
            .is_err()
        );
    }

    #[test]
    fn the_record_debug_shows_no_token() {
        let mut i = idp();
        i.id_token = Some("eyJhbGciOi.canary-id-token.sig".into());
        i.refresh_token = Some("canary-refresh-token".into());
        i.client_secret = Some("canary-client-secret".into());
        let d = format!("{i:?}");
        assert!(!d.contains("canary"), "{d}");
        assert!(d.contains("has_refresh_token: true"), "{d}");
    }
}
