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

use super::ClientReg;
use super::discovery::{self, Use};
use super::flow::{self, TokenAuth, TokenReply};
use crate::base::error::{Error, Result};
use crate::base::secret::Secret;
use crate::net::{Http, Policy, parse_server_url};
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
}

impl std::fmt::Debug for Idp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idp")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("has_id_token", &self.id_token.is_some())
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

/// The `exp` of a JWT, read without verifying (only to say it ran out).
fn jwt_exp(token: &str) -> Option<i64> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()?
        .get("exp")?
        .as_i64()
}

/// An ID-JAG for the authorization server `audience` and the MCP `resource`, from IdP
/// `name`'s token exchange.
pub fn id_jag(
    vault: &Vault,
    name: &str,
    audience: &str,
    resource: &str,
    scope: Option<&str>,
    now: i64,
) -> Result<String> {
    let idp = load(vault, name)?;
    let sign_in_again = format!(
        "give it a new ID token: `keybroker idp add {name} --issuer {} --client-id {} --replace --id-token-stdin`",
        idp.issuer, idp.client_id
    );
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
    let client = ClientReg {
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
    };
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
