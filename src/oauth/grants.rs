//! Tokens without a browser: the grants a machine (or an organisation) uses.
//!
//! - **Client credentials** (OAuth 2.1 section 4.2, the MCP extension
//!   `io.modelcontextprotocol/oauth-client-credentials`): the client authenticates with a
//!   secret (`client_secret_basic`) or a signing key Keybroker holds (`private_key_jwt`,
//!   RFC 7523).
//! - **Workload identity** (RFC 7523 JWT bearer grant, SEP-1933): a JWT the platform gives
//!   the workload, read from a file or a command the user named, each time it is needed
//!   (such tokens rotate).
//! - **Enterprise-managed authorization** (SEP-990): the user's ID token is exchanged at
//!   the organisation's IdP (RFC 8693) for an ID-JAG, which the MCP server's authorization
//!   server takes in the JWT bearer grant. See [`super::idp`].
//!
//! Every request goes to the token endpoint of the issuer the client is bound to; a
//! client (its secret, its assertion) is checked against that issuer before anything is
//! sent (THREATS 36, [`super::flow::check_client_issuer`]). `resource` and scope are
//! chosen as for a browser sign-in. A refused grant is reported, never retried, and
//! never answered by switching to another grant.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use url::Url;

use super::flow::{self, TokenAuth, TokenReply};
use super::keys::Key;
use super::{ClientReg, TokenSet};
use crate::base::error::{Error, Result};
use crate::net::Http;
use crate::store::vault::Vault;

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How a server's tokens are obtained without a browser (kept in its token set).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "grant", rename_all = "kebab-case")]
pub enum MachineGrant {
    /// `client_credentials`, authenticated as the stored client says.
    ClientCredentials,
    /// The JWT bearer grant with a workload identity token.
    WorkloadJwt { source: JwtSource },
    /// The JWT bearer grant with an ID-JAG from the IdP of that name.
    Enterprise { idp: String },
}

impl MachineGrant {
    pub fn describe(&self) -> String {
        match self {
            MachineGrant::ClientCredentials => "the client credentials grant".into(),
            MachineGrant::WorkloadJwt { source } => {
                format!(
                    "the JWT bearer grant with the workload token from {}",
                    source.describe()
                )
            }
            MachineGrant::Enterprise { idp } => {
                format!("the JWT bearer grant with an ID-JAG from the IdP `{idp}`")
            }
        }
    }
}

/// Where a workload identity token comes from.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum JwtSource {
    /// A file the platform keeps current (a Kubernetes projected token, ...).
    File(String),
    /// A program and its arguments, run without a shell; the token is its stdout.
    Command(Vec<String>),
}

impl JwtSource {
    fn describe(&self) -> String {
        match self {
            JwtSource::File(p) => format!("file {p}"),
            JwtSource::Command(argv) => format!("command `{}`", argv.join(" ")),
        }
    }

    /// The current token. Its shape is checked (three dot-separated parts), nothing more:
    /// the authorization server judges it.
    pub fn read(&self) -> Result<String> {
        let raw = match self {
            JwtSource::File(p) => std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?,
            JwtSource::Command(argv) => run(argv)?,
        };
        let token = raw.trim().to_string();
        let parts: Vec<&str> = token.split('.').collect();
        let b64url = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if parts.len() != 3 || !b64url(parts[0]) || !b64url(parts[1]) {
            return Err(Error::other(
                format!("the workload token from {} is not a JWT", self.describe()),
                "point --workload-jwt-file or --workload-jwt-command at the platform's identity token",
            ));
        }
        Ok(token)
    }
}

/// Run `argv` (no shell) and return its stdout; at most 30 s.
fn run(argv: &[String]) -> Result<String> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::other(
            "the workload token command is empty",
            "add the server again with --workload-jwt-command",
        ));
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Error::io(program, e))?;
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(out) = stdout.as_mut() {
            let _ = std::io::Read::read_to_string(&mut std::io::Read::take(out, 1 << 20), &mut s);
        }
        s
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| Error::io(program, e))? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::other(
                format!("the workload token command `{program}` did not finish within 30 s"),
                "check the command by running it yourself",
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(Error::other(
            format!("the workload token command `{program}` failed ({status})"),
            "check the command by running it yourself",
        ));
    }
    Ok(out)
}

/// Where the tokens are requested and for what.
pub struct Target<'a> {
    pub server_id: &'a str,
    pub issuer: &'a str,
    pub token_endpoint: &'a Url,
    pub resource: &'a str,
    pub scope: Option<String>,
    /// The authorization server takes DPoP proofs (ES256).
    pub dpop: bool,
}

impl<'a> Target<'a> {
    /// The target a stored token set was obtained for (a renewal: no discovery).
    pub fn stored(server_id: &'a str, ts: &'a TokenSet, endpoint: &'a Url) -> Option<Target<'a>> {
        Some(Target {
            server_id,
            issuer: ts.issuer.as_deref()?,
            token_endpoint: endpoint,
            resource: ts.resource.as_deref()?,
            scope: ts.scope.clone(),
            dpop: ts.dpop_key.is_some(),
        })
    }
}

/// Tokens the way `previous` (the server's stored token set: client, keys, grant) says,
/// for `target`. `vault`: where an IdP's item is read (enterprise-managed grants).
pub fn machine_tokens(
    http: &Http,
    vault: &Vault,
    locks: &std::path::Path,
    previous: &TokenSet,
    target: &Target<'_>,
    now: i64,
) -> Result<TokenSet> {
    let grant = previous.machine.clone().ok_or_else(|| {
        Error::other(
            format!(
                "{} signs in in the browser, not as a machine",
                target.server_id
            ),
            format!("run `keybroker connect {}`", target.server_id),
        )
    })?;
    let client = previous.client.clone().ok_or_else(|| {
        Error::other(
            format!("{} has no client registered by hand", target.server_id),
            "add the server again with --client-id",
        )
    })?;
    // Before anything is sent: this client belongs to one issuer (THREATS 36).
    flow::check_client_issuer(target.server_id, &client, target.issuer)?;
    let client = ClientReg {
        issuer: Some(target.issuer.to_string()),
        ..client
    };
    let client_key = previous
        .client_key
        .as_deref()
        .map(Key::from_pem)
        .transpose()?;
    // One DPoP key per credential: kept while the issuer stays, new otherwise.
    let dpop_key = match (target.dpop, previous.dpop_key.as_deref()) {
        (false, _) => None,
        (true, Some(pem)) if previous.issuer.as_deref() == Some(target.issuer) => {
            Some(Key::from_pem(pem)?)
        }
        (true, _) => Some(Key::generate()?),
    };
    let mut form: Vec<(String, String)> = match &grant {
        MachineGrant::ClientCredentials => {
            vec![("grant_type".into(), "client_credentials".into())]
        }
        MachineGrant::WorkloadJwt { source } => vec![
            ("grant_type".into(), JWT_BEARER.into()),
            ("assertion".into(), source.read()?),
        ],
        MachineGrant::Enterprise { idp } => {
            let id_jag = super::idp::id_jag(
                vault,
                locks,
                idp,
                target.issuer,
                target.resource,
                target.scope.as_deref(),
                now,
            )?;
            vec![
                ("grant_type".into(), JWT_BEARER.into()),
                ("assertion".into(), id_jag),
            ]
        }
    };
    form.push(("resource".into(), target.resource.to_string()));
    if let Some(s) = &target.scope {
        form.push(("scope".into(), s.clone()));
    }
    let auth = TokenAuth {
        client: &client,
        client_key: client_key.as_ref(),
        issuer: target.issuer,
        dpop: dpop_key.as_ref(),
        now,
    };
    match flow::token_request_with(http, target.token_endpoint, &auth, form)? {
        TokenReply::Tokens(v) => {
            let mut ts = TokenSet {
                issuer: Some(target.issuer.to_string()),
                resource: Some(target.resource.to_string()),
                token_endpoint: Some(target.token_endpoint.to_string()),
                client: Some(client),
                scope: target.scope.clone(),
                client_key: previous.client_key.clone(),
                dpop_key: dpop_key.as_ref().map(Key::to_pem).transpose()?,
                machine: Some(grant),
                ..TokenSet::default()
            };
            flow::apply_tokens(&mut ts, &v, now);
            Ok(ts)
        }
        TokenReply::Error(code, desc) => Err(Error::NeedsSignIn {
            server: target.server_id.to_string(),
            reason: format!(
                "{} refused {}: {code}{} ({})",
                target.issuer,
                grant.describe(),
                desc.map(|d| format!(": {d}")).unwrap_or_default(),
                refusal_fix(&grant)
            ),
        }),
    }
}

/// What to check when an authorization server refuses a machine grant.
fn refusal_fix(grant: &MachineGrant) -> String {
    match grant {
        MachineGrant::ClientCredentials => {
            "check the client id and its secret, or that the public key `keybroker rotate-key` printed is registered for the client".to_string()
        }
        MachineGrant::WorkloadJwt { .. } => {
            "check that the workload token is current and that the authorization server trusts its issuer".to_string()
        }
        MachineGrant::Enterprise { idp } => format!(
            "check that the IdP `{idp}` may grant access to this server; a new sign-in there: `keybroker idp login {idp}`"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use serde_json::Value;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    /// A token endpoint on 127.0.0.1 that records every request and, when `nonce` is
    /// set, asks for that DPoP nonce first (RFC 9449 section 8).
    struct TokenEndpoint {
        base: String,
        seen: Arc<Mutex<Vec<String>>>,
    }

    fn token_endpoint(nonce: Option<&'static str>) -> TokenEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut reader = BufReader::new(conn.try_clone().expect("clone"));
                let (mut raw, mut len) = (String::new(), 0usize);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    raw.push_str(&line);
                }
                let mut body = vec![0u8; len];
                let _ = reader.read_exact(&mut body);
                raw.push_str("\r\n");
                raw.push_str(&String::from_utf8_lossy(&body));
                let proof = raw
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix("DPoP: ")
                            .or_else(|| l.strip_prefix("dpop: "))
                    })
                    .map(str::to_string);
                let has_nonce = proof
                    .as_deref()
                    .and_then(|p| claims(p).get("nonce").cloned())
                    .is_some();
                record.lock().expect("lock").push(raw);
                let reply = match (nonce, &proof) {
                    (Some(n), Some(_)) if !has_nonce => {
                        let b = r#"{"error":"use_dpop_nonce"}"#;
                        format!(
                            "HTTP/1.1 400 Bad Request\r\nDPoP-Nonce: {n}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{b}",
                            b.len()
                        )
                    }
                    _ => {
                        let kind = if proof.is_some() { "DPoP" } else { "Bearer" };
                        let b = format!(
                            r#"{{"access_token":"at-1","token_type":"{kind}","expires_in":60}}"#
                        );
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{b}",
                            b.len()
                        )
                    }
                };
                let _ = conn.write_all(reply.as_bytes());
            }
        });
        TokenEndpoint { base, seen }
    }

    fn claims(jwt: &str) -> Value {
        let part = jwt.split('.').nth(1).unwrap_or_default();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    }

    fn form_value(raw: &str, key: &str) -> Option<String> {
        let body = raw.rsplit("\r\n\r\n").next()?;
        url::form_urlencoded::parse(body.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }

    fn vault() -> Vault {
        let mock: std::sync::Arc<keyring_core::api::CredentialStore> =
            keyring_core::mock::Store::new().expect("mock store");
        Vault::with_store(mock, "keybroker-test")
    }

    fn http(base: &str) -> Http {
        let url = Url::parse(base).expect("url");
        Http::new(crate::net::Policy::for_server(&url, false).expect("policy"))
    }

    fn key_client(issuer: Option<&str>) -> TokenSet {
        let key = Key::generate().expect("key");
        TokenSet {
            client: Some(ClientReg {
                issuer: issuer.map(str::to_string),
                client_id: "machine-1".into(),
                client_secret: None,
                auth_method: "private_key_jwt".into(),
                redirect_uri: None,
                source: "pre-registered".into(),
            }),
            client_key: Some(key.to_pem().expect("pem")),
            machine: Some(MachineGrant::ClientCredentials),
            ..TokenSet::default()
        }
    }

    fn target<'a>(issuer: &'a str, endpoint: &'a Url, dpop: bool) -> Target<'a> {
        Target {
            server_id: "h/s",
            issuer,
            token_endpoint: endpoint,
            resource: "http://127.0.0.1:9/mcp",
            scope: Some("mcp".into()),
            dpop,
        }
    }

    #[test]
    fn a_client_assertion_goes_only_to_the_token_endpoint_of_the_issuer_it_is_bound_to() {
        let bound = token_endpoint(None);
        let endpoint = Url::parse(&format!("{}/token", bound.base)).expect("url");
        let previous = key_client(Some(&bound.base));
        let ts = machine_tokens(
            &http(&bound.base),
            &vault(),
            &std::env::temp_dir(),
            &previous,
            &target(&bound.base, &endpoint, false),
            1_000,
        )
        .expect("tokens");
        assert_eq!(ts.access_token.as_deref(), Some("at-1"));
        let seen = bound.seen.lock().expect("lock").clone();
        assert_eq!(seen.len(), 1, "one token request");
        assert!(seen[0].starts_with("POST /token "), "{}", seen[0]);
        let assertion = form_value(&seen[0], "client_assertion").expect("assertion");
        let c = claims(&assertion);
        assert_eq!(c["aud"], bound.base.as_str(), "for the bound issuer only");
        assert_eq!(c["iss"], "machine-1");
        assert_eq!(
            form_value(&seen[0], "grant_type").as_deref(),
            Some("client_credentials")
        );
        assert_eq!(
            form_value(&seen[0], "resource").as_deref(),
            Some("http://127.0.0.1:9/mcp")
        );

        // Another issuer (the resource moved, or was taken over): nothing is sent there.
        let other = token_endpoint(None);
        let other_endpoint = Url::parse(&format!("{}/token", other.base)).expect("url");
        let h = http(&other.base);
        let err = machine_tokens(
            &h,
            &vault(),
            &std::env::temp_dir(),
            &previous,
            &target(&other.base, &other_endpoint, false),
            1_000,
        )
        .expect_err("refused");
        assert_eq!(err.code(), crate::base::error::ErrorCode::Denied, "{err}");
        assert_eq!(h.attempts(), 0, "refused before any request");
        assert!(other.seen.lock().expect("lock").is_empty());
    }

    #[test]
    fn an_unbound_machine_client_is_bound_by_its_first_token() {
        let as_ = token_endpoint(None);
        let endpoint = Url::parse(&format!("{}/token", as_.base)).expect("url");
        let ts = machine_tokens(
            &http(&as_.base),
            &vault(),
            &std::env::temp_dir(),
            &key_client(None),
            &target(&as_.base, &endpoint, false),
            1_000,
        )
        .expect("tokens");
        assert_eq!(
            ts.client.and_then(|c| c.issuer).as_deref(),
            Some(as_.base.as_str())
        );
        assert!(ts.client_key.is_some(), "the signing key is kept");
    }

    #[test]
    fn each_credential_gets_its_own_dpop_key_and_a_server_nonce_is_honoured_once() {
        let as_ = token_endpoint(Some("n-42"));
        let endpoint = Url::parse(&format!("{}/token", as_.base)).expect("url");
        let h = http(&as_.base);
        let t = target(&as_.base, &endpoint, true);
        let a = machine_tokens(
            &h,
            &vault(),
            &std::env::temp_dir(),
            &key_client(None),
            &t,
            1_000,
        )
        .expect("a");
        let b = machine_tokens(
            &h,
            &vault(),
            &std::env::temp_dir(),
            &key_client(None),
            &t,
            1_000,
        )
        .expect("b");
        assert!(a.is_dpop() && b.is_dpop(), "{a:?}");
        let thumb = |ts: &TokenSet| {
            Key::from_pem(ts.dpop_key.as_deref().expect("dpop key"))
                .expect("key")
                .thumbprint()
        };
        assert_ne!(
            thumb(&a),
            thumb(&b),
            "two credentials never share a DPoP key"
        );
        // A renewal of the same credential at the same issuer keeps its key.
        let renewed =
            machine_tokens(&h, &vault(), &std::env::temp_dir(), &a, &t, 2_000).expect("renewed");
        assert_eq!(thumb(&renewed), thumb(&a));
        // Each grant: a proof without the nonce, then one retry with it; never more.
        let seen = as_.seen.lock().expect("lock").clone();
        assert_eq!(seen.len(), 6, "two requests per grant");
        let nonces: Vec<Option<String>> = seen
            .iter()
            .map(|raw| {
                let proof = raw
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix("DPoP: ")
                            .or_else(|| l.strip_prefix("dpop: "))
                    })
                    .expect("a proof on every token request");
                claims(proof)["nonce"].as_str().map(str::to_string)
            })
            .collect();
        for pair in nonces.chunks(2) {
            assert_eq!(pair, [None, Some("n-42".to_string())]);
        }
    }

    #[test]
    fn a_workload_token_is_read_from_its_file_each_time_and_must_look_like_a_jwt() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("token");
        std::fs::write(&file, "aGVhZA.Ym9keQ.c2ln\n").expect("write");
        let src = JwtSource::File(file.to_string_lossy().into_owned());
        assert_eq!(src.read().expect("jwt"), "aGVhZA.Ym9keQ.c2ln");
        std::fs::write(&file, "not a token").expect("write");
        assert!(src.read().is_err());
        let cmd = JwtSource::Command(vec!["printf".into(), "aGVhZA.Ym9keQ.c2ln".into()]);
        assert_eq!(cmd.read().expect("jwt"), "aGVhZA.Ym9keQ.c2ln");
        assert!(JwtSource::Command(vec!["false".into()]).read().is_err());
    }
}
