//! The interactive part of sign-in: client registration (in the spec's order), PKCE S256,
//! the system browser, the one-shot loopback redirect listener, and the token requests.
//!
//! Callback checks (THREATS 18, 19) run before any token request: `state` must match the
//! one this attempt generated (each attempt has its own and the listener closes with the
//! callback that carries it, so a `state` is never accepted twice); `iss` must equal the
//! issuer exactly when present, and must be present when the server advertises RFC 9207
//! support. A request without this attempt's `state` (a stale tab, another local program,
//! a guess) is answered with an error page and does not end the wait: one stray request
//! must not be able to cancel a sign-in the user is in the middle of. Only the timeout,
//! a cancel, or the callback with the right `state` ends it. Every page shows fixed text,
//! with any reflected value HTML-escaped.
//!
//! Token requests ([`token_request_with`]) are shared with the machine grants: the
//! client authenticates as its registration says (`none`, a secret, or a client
//! assertion signed for the issuer alone), and with a DPoP key each request carries a
//! proof; a `use_dpop_nonce` answer is retried once with the server's nonce.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use super::discovery::{AuthServer, Discovery};
use super::keys::Key;
use super::{ClientReg, TokenSet};
use crate::base::error::{Error, Result};
use crate::base::report::Reporter;
use crate::net::{Http, browser_url, open_in_browser, redact};

/// Random URL-safe text from `n` random bytes.
pub fn random_token(n: usize) -> Result<String> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::other(format!("no randomness available: {e}"), "report this bug"))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// PKCE S256 challenge of a verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// How the authorization URL reaches the user.
///
/// Every variant gets the URL only after [`browser_url`] accepted it (https, or http to
/// loopback; no credentials or control characters), so a hook cannot be handed anything
/// the system browser would not be.
#[derive(Clone)]
pub enum Browser {
    /// Open the system browser (and report the URL as a fallback).
    Open,
    /// Only report the URL (the CLI prints it on stderr: `--no-browser`, SSH, tests).
    Print,
    /// Hand the checked URL to this function (tests play the browser with it). It runs
    /// on the signing-in thread, so it must not block waiting for the callback.
    Hook(std::sync::Arc<dyn Fn(&Url) + Send + Sync>),
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Browser::Open => "Open",
            Browser::Print => "Print",
            Browser::Hook(_) => "Hook",
        })
    }
}

pub struct SignIn<'a> {
    pub server_id: &'a str,
    pub discovery: &'a Discovery,
    /// Scope from a 401/403 challenge, if any.
    pub challenged_scope: Option<&'a str>,
    /// Scopes granted before (a step-up asks for the union).
    pub previous_scope: Option<&'a str>,
    /// The stored registration and tokens, if any.
    pub previous: Option<&'a TokenSet>,
    /// A client the user registered by hand with this authorization server.
    pub pre_registered: Option<&'a ClientReg>,
    /// Keybroker's client ID metadata document URL, if one is configured.
    pub client_metadata_url: Option<&'a str>,
    pub browser: Browser,
    pub timeout: Duration,
    /// Set from elsewhere (the app's Cancel button) to abandon the wait.
    pub cancel: Option<&'a std::sync::atomic::AtomicBool>,
    /// Hears the sign-in URL (always, as a fallback to the browser) and a browser that
    /// could not be opened.
    pub report: &'a Reporter,
}

/// Scope selection (spec "Scope selection strategy"): the challenge's scope, else the
/// resource's `scopes_supported`, else none; plus what was granted before (step-up), plus
/// `offline_access` when the authorization server lists it (to get a refresh token).
pub fn select_scope(
    challenged: Option<&str>,
    resource_scopes: Option<&[String]>,
    previous: Option<&str>,
    as_scopes: Option<&[String]>,
) -> Option<String> {
    fn add(out: &mut Vec<String>, s: &str) {
        if !s.is_empty() && !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    let mut out: Vec<String> = Vec::new();
    if let Some(p) = previous {
        p.split_whitespace().for_each(|s| add(&mut out, s));
    }
    match challenged {
        Some(c) => c.split_whitespace().for_each(|s| add(&mut out, s)),
        None => {
            if let Some(list) = resource_scopes {
                list.iter().for_each(|s| add(&mut out, s));
            }
        }
    }
    if !out.is_empty() && as_scopes.is_some_and(|l| l.iter().any(|s| s == "offline_access")) {
        add(&mut out, "offline_access");
    }
    if out.is_empty() {
        None
    } else {
        Some(out.join(" "))
    }
}

fn choose_auth_method(as_meta: &AuthServer, has_secret: bool) -> String {
    let supported = as_meta.token_endpoint_auth_methods.clone();
    let list = supported.unwrap_or_else(|| vec!["client_secret_basic".into()]);
    if has_secret {
        for m in ["client_secret_basic", "client_secret_post"] {
            if list.iter().any(|x| x == m) {
                return m.into();
            }
        }
    }
    if list.iter().any(|x| x == "none") || !has_secret {
        return "none".into();
    }
    "client_secret_basic".into()
}

fn register(http: &Http, as_meta: &AuthServer, redirect_uri: &str) -> Result<ClientReg> {
    let Some(endpoint) = &as_meta.registration_endpoint else {
        return Err(Error::other(
            format!(
                "the authorization server {} supports neither dynamic client registration nor client ID metadata documents",
                as_meta.issuer
            ),
            "register Keybroker with the server's operator, then add the server again with --client-id (and --client-secret-stdin)",
        ));
    };
    let supported = as_meta
        .token_endpoint_auth_methods
        .clone()
        .unwrap_or_else(|| vec!["client_secret_basic".into()]);
    let requested = if supported.iter().any(|m| m == "none") {
        "none"
    } else if supported.iter().any(|m| m == "client_secret_basic") {
        "client_secret_basic"
    } else {
        "client_secret_post"
    };
    let body = serde_json::json!({
        "client_name": "Keybroker",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": requested,
        "application_type": "native",
    });
    let resp = http.send(
        "POST",
        endpoint,
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
        ],
        Some(body.to_string().as_bytes()),
        false,
        "client registration",
    )?;
    let status = resp.status;
    let text = resp.text()?;
    if !(200..300).contains(&status) {
        return Err(Error::other(
            format!(
                "client registration at {} failed (HTTP {status})",
                redact(endpoint)
            ),
            "the authorization server refused to register Keybroker; register it by hand and use --client-id",
        ));
    }
    let v: Value = serde_json::from_str(&text).map_err(|_| {
        Error::other(
            "client registration returned invalid JSON",
            "tell the server's operator",
        )
    })?;
    let client_id = v
        .get("client_id")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Error::other(
                "client registration returned no client_id",
                "tell the server's operator",
            )
        })?
        .to_string();
    let client_secret = v
        .get("client_secret")
        .and_then(Value::as_str)
        .map(str::to_string);
    let auth_method = v
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            if client_secret.is_some() && requested != "none" {
                requested.to_string()
            } else if client_secret.is_some() {
                choose_auth_method(as_meta, true)
            } else {
                "none".into()
            }
        });
    Ok(ClientReg {
        issuer: Some(as_meta.issuer.clone()),
        client_id,
        client_secret,
        auth_method,
        redirect_uri: Some(redirect_uri.to_string()),
        source: "dynamic".into(),
    })
}

/// How a token request authenticates the client and proves possession of a key.
pub struct TokenAuth<'a> {
    pub client: &'a ClientReg,
    /// The client's signing key, for `private_key_jwt`.
    pub client_key: Option<&'a Key>,
    /// The authorization server's issuer: the audience of a client assertion.
    pub issuer: &'a str,
    /// The credential's DPoP key: every token request then carries a proof (RFC 9449).
    pub dpop: Option<&'a Key>,
    pub now: i64,
}

impl<'a> TokenAuth<'a> {
    /// A client that authenticates with a secret or not at all, without DPoP.
    pub fn plain(client: &'a ClientReg, issuer: &'a str, now: i64) -> TokenAuth<'a> {
        TokenAuth {
            client,
            client_key: None,
            issuer,
            dpop: None,
            now,
        }
    }
}

/// The form fields and header that authenticate the client at the token endpoint. A
/// client assertion is made for this one request (fresh `jti`), for the issuer only.
fn client_auth(auth: &TokenAuth<'_>, form: &mut Vec<(String, String)>) -> Result<Option<String>> {
    let client = auth.client;
    match (client.auth_method.as_str(), &client.client_secret) {
        ("client_secret_basic", Some(secret)) => {
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!("{}:{}", enc(&client.client_id), enc(secret));
            Ok(Some(format!("Basic {}", STANDARD.encode(pair))))
        }
        ("client_secret_post", Some(secret)) => {
            form.push(("client_id".into(), client.client_id.clone()));
            form.push(("client_secret".into(), secret.clone()));
            Ok(None)
        }
        ("private_key_jwt", _) => {
            let Some(key) = auth.client_key else {
                return Err(Error::other(
                    "this client authenticates with a signing key, but its key is missing from the keychain item",
                    "make a new one with `keybroker rotate-key <server>` and register its public key",
                ));
            };
            let assertion = key.client_assertion(&client.client_id, auth.issuer, auth.now)?;
            form.push(("client_id".into(), client.client_id.clone()));
            form.push((
                "client_assertion_type".into(),
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
            ));
            form.push(("client_assertion".into(), assertion));
            Ok(None)
        }
        _ => {
            form.push(("client_id".into(), client.client_id.clone()));
            Ok(None)
        }
    }
}

/// What a token endpoint answered.
pub enum TokenReply {
    Tokens(Value),
    /// An OAuth error (`invalid_grant`, ...), with its description if any.
    Error(String, Option<String>),
}

/// A token request with a client that authenticates with a secret or not at all.
pub fn token_request(
    http: &Http,
    endpoint: &Url,
    client: &ClientReg,
    form: Vec<(String, String)>,
) -> Result<TokenReply> {
    let issuer = client.issuer.clone().unwrap_or_default();
    token_request_with(http, endpoint, &TokenAuth::plain(client, &issuer, 0), form)
}

/// One token request (two when the server asks for a DPoP nonce: RFC 9449 section 8).
pub fn token_request_with(
    http: &Http,
    endpoint: &Url,
    auth: &TokenAuth<'_>,
    form: Vec<(String, String)>,
) -> Result<TokenReply> {
    let mut nonce: Option<String> = None;
    loop {
        let mut fields = form.clone();
        let basic = client_auth(auth, &mut fields)?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields.iter())
            .finish();
        let proof = match auth.dpop {
            Some(k) => Some(k.dpop_proof("POST", endpoint, None, nonce.as_deref(), auth.now)?),
            None => None,
        };
        let mut headers = vec![
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Accept", "application/json"),
        ];
        if let Some(a) = &basic {
            headers.push(("Authorization", a.as_str()));
        }
        if let Some(p) = &proof {
            headers.push(("DPoP", p.as_str()));
        }
        let resp = http.send(
            "POST",
            endpoint,
            &headers,
            Some(body.as_bytes()),
            false,
            "token request",
        )?;
        let status = resp.status;
        let server_nonce = resp
            .header("dpop-nonce")
            .filter(|n| crate::mcp::headers::is_visible(n))
            .map(str::to_string);
        let text = resp.text()?;
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if (200..300).contains(&status) && v.get("access_token").and_then(Value::as_str).is_some() {
            return Ok(TokenReply::Tokens(v));
        }
        let code = v
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("invalid_response")
            .to_string();
        if code == "use_dpop_nonce"
            && auth.dpop.is_some()
            && nonce.is_none()
            && let Some(n) = server_nonce
        {
            nonce = Some(n);
            continue;
        }
        let desc = v
            .get("error_description")
            .and_then(Value::as_str)
            .map(|s| s.chars().filter(|c| !c.is_control()).take(200).collect());
        return Ok(TokenReply::Error(format!("{code} (HTTP {status})"), desc));
    }
}

/// Apply a successful token response to `ts` (keeps the old refresh token when the
/// server did not rotate it).
pub fn apply_tokens(ts: &mut TokenSet, v: &Value, now: i64) {
    ts.signed_out = None;
    ts.access_token = v
        .get("access_token")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(r) = v.get("refresh_token").and_then(Value::as_str) {
        ts.refresh_token = Some(r.to_string());
    }
    ts.expires_at = v.get("expires_in").and_then(Value::as_i64).map(|s| now + s);
    ts.obtained_at = Some(now);
    ts.token_type = v
        .get("token_type")
        .and_then(Value::as_str)
        .filter(|t| t.eq_ignore_ascii_case("dpop"))
        .map(|_| "DPoP".to_string());
    if let Some(s) = v.get("scope").and_then(Value::as_str) {
        ts.scope = Some(s.to_string());
    }
}

/// A bound loopback listener for the redirect.
pub struct Loopback {
    listener: TcpListener,
    pub redirect_uri: String,
}

impl Loopback {
    /// Bind 127.0.0.1, on `preferred` port if free (so a registered redirect URI still
    /// matches), else an ephemeral port.
    pub fn bind(preferred: Option<u16>) -> Result<Loopback> {
        let listener = preferred
            .and_then(|p| TcpListener::bind(("127.0.0.1", p)).ok())
            .map(Ok)
            .unwrap_or_else(|| TcpListener::bind(("127.0.0.1", 0)))
            .map_err(|e| {
                Error::other(
                    format!("cannot listen on 127.0.0.1: {e}"),
                    "check local firewall rules",
                )
            })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::other(format!("cannot listen on 127.0.0.1: {e}"), "try again"))?
            .port();
        Ok(Loopback {
            listener,
            redirect_uri: format!("http://127.0.0.1:{port}/callback"),
        })
    }

    /// Wait for the one callback on `/callback` that carries `state`; other paths get 404,
    /// callbacks with another or no `state` get 400, and both are otherwise ignored. The
    /// callback with `state` ends the wait with `check`'s verdict on it. Returns its query
    /// parameters. The listener is closed when this returns.
    pub fn wait(
        self,
        state: &str,
        timeout: Duration,
        cancel: Option<&std::sync::atomic::AtomicBool>,
        check: impl Fn(&[(String, String)]) -> Result<()>,
    ) -> Result<Vec<(String, String)>> {
        let deadline = Instant::now() + timeout;
        self.listener
            .set_nonblocking(true)
            .map_err(|e| Error::other(format!("loopback listener: {e}"), "try again"))?;
        loop {
            if cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst)) {
                return Err(Error::other(
                    "sign-in cancelled",
                    "connect again when you are ready",
                ));
            }
            if Instant::now() >= deadline {
                return Err(Error::other(
                    "sign-in timed out: no answer from the browser",
                    "run `keybroker connect` again and finish signing in within the time limit (--timeout)",
                ));
            }
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if let Some(result) = handle_callback(stream, state, &check) {
                        return result;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(e) => return Err(Error::other(format!("loopback listener: {e}"), "try again")),
            }
        }
    }
}

pub fn html_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            '\'' => "&#39;".into(),
            c => c.to_string(),
        })
        .collect()
}

/// `None`: not this attempt's callback (keep waiting). `Some(result)`: the one callback.
fn handle_callback(
    stream: TcpStream,
    state: &str,
    check: &impl Fn(&[(String, String)]) -> Result<()>,
) -> Option<Result<Vec<(String, String)>>> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    if reader.by_ref().take(8192).read_line(&mut line).is_err() {
        return None;
    }
    // Drain headers (bounded).
    let mut total = 0;
    loop {
        let mut h = String::new();
        match reader.by_ref().take(8192).read_line(&mut h) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                total += n;
                if h == "\r\n" || h == "\n" || total > 65536 {
                    break;
                }
            }
        }
    }
    let target = line.split_whitespace().nth(1).unwrap_or("");
    let Ok(url) = Url::parse(&format!("http://127.0.0.1{target}")) else {
        respond(&stream, 400, "Bad request.");
        return None;
    };
    if url.path() != "/callback" {
        respond(&stream, 404, "Not found.");
        return None;
    }
    let params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    // The first `state` counts, as in `check_callback`.
    if params
        .iter()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.as_str())
        != Some(state)
    {
        respond(
            &stream,
            400,
            "This is not the sign-in Keybroker is waiting for (its state does not match), so nothing was exchanged. Finish signing in in the tab Keybroker opened.",
        );
        return None;
    }
    let result = check(&params);
    match &result {
        Ok(()) => respond(
            &stream,
            200,
            "Signed in. You can close this tab and return to Keybroker.",
        ),
        Err(e) => {
            let first = e.to_string();
            let first = first.lines().next().unwrap_or("");
            respond(&stream, 400, &format!("Sign-in failed: {first}"));
        }
    }
    Some(result.map(|()| params))
}

fn respond(mut stream: &TcpStream, status: u16, text: &str) {
    let body = format!(
        "<!doctype html><meta charset=utf-8><title>Keybroker</title><p>{}</p>\n",
        html_escape(text)
    );
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Security-Policy: default-src 'none'\r\nCache-Control: no-store\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

/// Check a callback's parameters against this attempt (THREATS 18).
pub fn check_callback(
    params: &[(String, String)],
    state: &str,
    as_meta: &AuthServer,
) -> Result<()> {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let reject = |why: String| {
        Error::Denied {
        message: format!("sign-in callback rejected: {why}"),
        fix: "nothing was exchanged; run `keybroker connect` again (and only finish sign-ins you started)".into(),
    }
    };
    if get("state") != Some(state) {
        return Err(reject(
            "its `state` does not match this sign-in (possible CSRF or a replayed callback)".into(),
        ));
    }
    match get("iss") {
        Some(iss) if iss != as_meta.issuer => {
            return Err(reject(format!(
                "it comes from issuer `{}`, not `{}` (possible mix-up attack)",
                iss.chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect::<String>(),
                as_meta.issuer
            )));
        }
        None if as_meta.iss_parameter_supported => {
            return Err(reject(
                "the server promises an `iss` parameter but sent none".into(),
            ));
        }
        _ => {}
    }
    if let Some(err) = get("error") {
        let err: String = err.chars().filter(|c| !c.is_control()).take(100).collect();
        return Err(Error::other(
            format!("the authorization server refused sign-in: {err}"),
            "run `keybroker connect` again, and allow access in the browser",
        ));
    }
    if get("code").is_none_or(str::is_empty) {
        return Err(reject("it carries no authorization code".into()));
    }
    Ok(())
}

/// Refuse a client registered by hand with one authorization server when the resource now
/// names another (THREATS 20): its id and secret are only ever sent to the issuer it is
/// bound to. A client not bound yet (`issuer: None`) is bound by its first sign-in.
pub fn check_client_issuer(server_id: &str, client: &ClientReg, issuer: &str) -> Result<()> {
    match client.issuer.as_deref() {
        Some(bound) if bound != issuer => {
            let (host, name) = server_id.split_once('/').unwrap_or((server_id, ""));
            Err(Error::Denied {
                message: format!(
                    "the client registered by hand for {server_id} belongs to the authorization server `{bound}`, but the server now names `{issuer}`; its client id and secret were not sent there"
                ),
                fix: format!(
                    "if {server_id} really moved to `{issuer}`, register Keybroker there and add the server again with that client: `keybroker add {host} {name} --url <url> --replace --client-id <id> --issuer {issuer}` (or leave out --client-id to register automatically)"
                ),
            })
        }
        _ => Ok(()),
    }
}

/// Show a checked sign-in URL (always, as the fallback) and hand it to `browser`.
pub fn hand_to_browser(browser: &Browser, url: &Url, what: &str, report: &Reporter) {
    report.line(&format!("keybroker: {what}:\n{url}"));
    match browser {
        Browser::Open => {
            if let Err(e) = open_in_browser(url) {
                report.line(&format!("keybroker: {}", e.describe()));
            }
        }
        Browser::Print => {}
        Browser::Hook(hook) => hook(url),
    }
}

/// Run the authorization-code flow with PKCE; returns the new token set.
pub fn sign_in(http: &Http, req: &SignIn<'_>, now: impl Fn() -> i64) -> Result<TokenSet> {
    let as_meta = &req.discovery.auth_server;
    // Before anything else: nothing may carry a hand-registered client elsewhere.
    if let Some(pre) = req.pre_registered {
        check_client_issuer(req.server_id, pre, &as_meta.issuer)?;
    }
    // Registration in the spec's order: pre-registered, stored (same issuer), CIMD, dynamic.
    // A stored registration is reused only with the issuer it was made with.
    let stored = req.previous.and_then(|p| p.client.as_ref()).filter(|c| {
        c.issuer.as_deref() == Some(as_meta.issuer.as_str()) && c.source != "pre-registered"
    });
    let preferred_port = stored
        .and_then(|c| c.redirect_uri.as_deref())
        .and_then(|u| Url::parse(u).ok())
        .and_then(|u| u.port());
    let loopback = Loopback::bind(preferred_port)?;
    let redirect_uri = loopback.redirect_uri.clone();
    let client = if let Some(pre) = req.pre_registered {
        // Bound to this issuer from now on (recorded only if the sign-in succeeds).
        ClientReg {
            issuer: Some(as_meta.issuer.clone()),
            ..pre.clone()
        }
    } else if let Some(c) = stored
        .filter(|c| c.source == "cimd" || c.redirect_uri.as_deref() == Some(redirect_uri.as_str()))
    {
        c.clone()
    } else if let (true, Some(url)) = (as_meta.cimd_supported, req.client_metadata_url) {
        ClientReg {
            issuer: Some(as_meta.issuer.clone()),
            client_id: url.to_string(),
            client_secret: None,
            auth_method: "none".into(),
            redirect_uri: None,
            source: "cimd".into(),
        }
    } else {
        register(http, as_meta, &redirect_uri)?
    };

    let scope = select_scope(
        req.challenged_scope,
        req.discovery.resource.scopes_supported.as_deref(),
        req.previous_scope,
        as_meta.scopes_supported.as_deref(),
    );
    let state = random_token(32)?;
    let verifier = random_token(48)?;
    let Some(mut auth_url) = as_meta.authorization_endpoint.clone() else {
        return Err(Error::other(
            format!(
                "the authorization server {} has no authorization endpoint, so there is no browser sign-in there",
                as_meta.issuer
            ),
            "it only grants tokens to machine clients: add the server again with --client-credentials (or --workload-jwt-file, --idp)",
        ));
    };
    {
        let mut q = auth_url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &client.client_id)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("code_challenge", &pkce_challenge(&verifier))
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", &state)
            .append_pair("resource", &req.discovery.resource.resource);
        if let Some(s) = &scope {
            q.append_pair("scope", s);
        }
    }
    let auth_url = browser_url(auth_url.as_str())?;
    hand_to_browser(
        &req.browser,
        &auth_url,
        &format!("sign in to {} in your browser", req.server_id),
        req.report,
    );
    let params = loopback.wait(&state, req.timeout, req.cancel, |p| {
        check_callback(p, &state, as_meta)
    })?;
    let code = params
        .iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let form = vec![
        ("grant_type".to_string(), "authorization_code".to_string()),
        ("code".into(), code),
        ("redirect_uri".into(), redirect_uri),
        ("code_verifier".into(), verifier),
        ("resource".into(), req.discovery.resource.resource.clone()),
    ];
    // A new DPoP key for this credential's new tokens, when the server takes proofs.
    let dpop = if as_meta.dpop() {
        Some(Key::generate()?)
    } else {
        None
    };
    let auth = TokenAuth {
        client: &client,
        client_key: None,
        issuer: &as_meta.issuer,
        dpop: dpop.as_ref(),
        now: now(),
    };
    match token_request_with(http, &as_meta.token_endpoint, &auth, form)? {
        TokenReply::Tokens(v) => {
            let mut ts = TokenSet {
                issuer: Some(as_meta.issuer.clone()),
                resource: Some(req.discovery.resource.resource.clone()),
                token_endpoint: Some(as_meta.token_endpoint.to_string()),
                client: Some(client),
                scope: scope.clone(),
                dpop_key: dpop.as_ref().map(Key::to_pem).transpose()?,
                ..TokenSet::default()
            };
            apply_tokens(&mut ts, &v, now());
            Ok(ts)
        }
        TokenReply::Error(code, desc) => Err(Error::other(
            format!(
                "the token request failed: {code}{}",
                desc.map(|d| format!(": {d}")).unwrap_or_default()
            ),
            "run `keybroker connect` again",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::error::ErrorCode;

    fn as_meta(iss_supported: bool) -> AuthServer {
        AuthServer {
            issuer: "https://as.example".into(),
            authorization_endpoint: Some(Url::parse("https://as.example/authorize").expect("u")),
            token_endpoint: Url::parse("https://as.example/token").expect("u"),
            registration_endpoint: None,
            scopes_supported: None,
            token_endpoint_auth_methods: None,
            iss_parameter_supported: iss_supported,
            cimd_supported: false,
            dpop_algs: Vec::new(),
        }
    }

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn callbacks_with_wrong_or_missing_state_or_iss_are_rejected() {
        let m = as_meta(true);
        let ok = p(&[
            ("code", "c"),
            ("state", "s1"),
            ("iss", "https://as.example"),
        ]);
        assert!(check_callback(&ok, "s1", &m).is_ok());
        assert!(check_callback(&ok, "other", &m).is_err(), "wrong state");
        assert!(
            check_callback(
                &p(&[("code", "c"), ("iss", "https://as.example")]),
                "s1",
                &m
            )
            .is_err()
        );
        assert!(
            check_callback(&p(&[("code", "c"), ("state", "s1")]), "s1", &m).is_err(),
            "iss promised"
        );
        let wrong = p(&[
            ("code", "c"),
            ("state", "s1"),
            ("iss", "https://evil.example"),
        ]);
        assert!(
            check_callback(&wrong, "s1", &as_meta(false)).is_err(),
            "unexpected iss compared"
        );
        let normalized = p(&[
            ("code", "c"),
            ("state", "s1"),
            ("iss", "https://as.example/"),
        ]);
        assert!(
            check_callback(&normalized, "s1", &m).is_err(),
            "no URL normalization"
        );
        assert!(
            check_callback(&p(&[("code", "c"), ("state", "s1")]), "s1", &as_meta(false)).is_ok()
        );
    }

    /// `host:port` of a bound listener's redirect URI.
    fn addr_of(lb: &Loopback) -> String {
        lb.redirect_uri
            .trim_start_matches("http://")
            .trim_end_matches("/callback")
            .to_string()
    }

    /// One GET over a real TCP connection, like a browser tab; the raw response.
    fn get(addr: &str, path: &str) -> String {
        let mut s = TcpStream::connect(addr).expect("connect");
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").expect("write");
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    #[test]
    fn the_loopback_listener_escapes_what_it_reflects_and_a_wrong_state_alone_times_out() {
        let lb = Loopback::bind(None).expect("bind");
        let uri = lb.redirect_uri.clone();
        assert!(uri.starts_with("http://127.0.0.1:"));
        let addr = addr_of(&lb);
        let client = std::thread::spawn(move || {
            let favicon = get(&addr, "/favicon.ico");
            let page = get(
                &addr,
                "/callback?state=bad&code=%3Cscript%3Ealert(1)%3C%2Fscript%3E&iss=%3Cb%3E",
            );
            (favicon, page, addr)
        });
        let m = as_meta(false);
        let started = Instant::now();
        let res = lb.wait("good", Duration::from_secs(2), None, |q| {
            check_callback(q, "good", &m)
        });
        assert!(res.is_err(), "a wrong state is rejected");
        let err = res.expect_err("timeout").to_string();
        assert!(err.contains("timed out"), "only the timeout ends it: {err}");
        assert!(started.elapsed() >= Duration::from_secs(2));
        let (favicon, page, addr) = client.join().expect("join");
        // `wait` consumed the listener: it is closed now.
        let closed = std::net::TcpStream::connect(&addr).is_err();
        assert!(favicon.starts_with("HTTP/1.1 404"));
        assert!(page.starts_with("HTTP/1.1 400"));
        assert!(!page.contains("<script>") && !page.contains("<b>"));
        assert!(closed, "the listener is closed once the wait ends");
    }

    #[test]
    fn a_stray_request_does_not_end_the_wait_and_the_right_callback_still_does() {
        let lb = Loopback::bind(None).expect("bind");
        let addr = addr_of(&lb);
        let client = std::thread::spawn(move || {
            let wrong = get(&addr, "/callback?state=guess&code=evil");
            let missing = get(&addr, "/callback?code=evil");
            let favicon = get(&addr, "/favicon.ico");
            let right = get(&addr, "/callback?state=s3cret&code=the-code");
            (wrong, missing, favicon, right, addr)
        });
        let m = as_meta(false);
        let params = lb
            .wait("s3cret", Duration::from_secs(20), None, |q| {
                check_callback(q, "s3cret", &m)
            })
            .expect("the right callback ends the wait");
        assert!(params.contains(&("code".into(), "the-code".into())));
        let (wrong, missing, favicon, right, addr) = client.join().expect("join");
        assert!(wrong.starts_with("HTTP/1.1 400"), "{wrong}");
        assert!(wrong.contains("not the sign-in Keybroker is waiting for"));
        assert!(missing.starts_with("HTTP/1.1 400"), "{missing}");
        assert!(favicon.starts_with("HTTP/1.1 404"), "{favicon}");
        assert!(right.starts_with("HTTP/1.1 200"), "{right}");
        // The state is used once: replaying the callback finds nobody listening.
        assert!(TcpStream::connect(&addr).is_err(), "listener closed");
    }

    #[test]
    fn a_callback_with_the_right_state_but_another_issuer_ends_the_sign_in_escaped() {
        let lb = Loopback::bind(None).expect("bind");
        let addr = addr_of(&lb);
        let client = std::thread::spawn(move || {
            get(
                &addr,
                "/callback?state=s1&code=c&iss=https%3A%2F%2Fevil.example%2F%3Cscript%3E",
            )
        });
        let m = as_meta(false);
        let res = lb.wait("s1", Duration::from_secs(20), None, |q| {
            check_callback(q, "s1", &m)
        });
        let err = res.expect_err("mix-up").to_string();
        assert!(err.contains("evil.example"), "{err}");
        let page = client.join().expect("join");
        assert!(page.starts_with("HTTP/1.1 400"), "{page}");
        assert!(page.contains("evil.example/&lt;script&gt;"), "{page}");
        assert!(!page.contains("<script>"), "{page}");
    }

    #[test]
    fn a_cancelled_or_timed_out_sign_in_stops_waiting_and_closes_the_listener() {
        let cancel = std::sync::atomic::AtomicBool::new(true);
        let lb = Loopback::bind(None).expect("bind");
        let addr = lb
            .redirect_uri
            .trim_start_matches("http://")
            .trim_end_matches("/callback")
            .to_string();
        let err = lb.wait("s", Duration::from_secs(30), Some(&cancel), |_| Ok(()));
        assert!(
            err.expect_err("cancelled")
                .to_string()
                .contains("cancelled")
        );
        assert!(TcpStream::connect(&addr).is_err(), "listener closed");
        let lb = Loopback::bind(None).expect("bind");
        let started = Instant::now();
        let err = lb.wait("s", Duration::from_millis(200), None, |_| Ok(()));
        assert!(err.expect_err("timeout").to_string().contains("timed out"));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn scope_selection_prefers_the_challenge_and_unions_on_step_up() {
        let rs = vec!["a".to_string(), "b".to_string()];
        assert_eq!(
            select_scope(Some("x"), Some(&rs), None, None).as_deref(),
            Some("x")
        );
        assert_eq!(
            select_scope(None, Some(&rs), None, None).as_deref(),
            Some("a b")
        );
        assert_eq!(select_scope(None, None, None, None), None);
        assert_eq!(
            select_scope(Some("w"), None, Some("r"), None).as_deref(),
            Some("r w")
        );
        let as_scopes = vec!["a".to_string(), "offline_access".to_string()];
        assert_eq!(
            select_scope(None, Some(&rs), None, Some(&as_scopes)).as_deref(),
            Some("a b offline_access")
        );
    }

    #[test]
    fn a_browser_hook_never_receives_a_url_the_system_opener_would_refuse() {
        use super::super::discovery::ProtectedResource;
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let record = seen.clone();
        let hook = Browser::Hook(std::sync::Arc::new(move |u: &Url| {
            record.lock().expect("lock").push(u.to_string());
        }));
        let client = ClientReg {
            issuer: None,
            client_id: "c".into(),
            client_secret: None,
            auth_method: "none".into(),
            redirect_uri: None,
            source: "pre-registered".into(),
        };
        let http = Http::new(
            crate::net::Policy::for_server(
                &Url::parse("https://127.0.0.1:9/mcp").expect("u"),
                false,
            )
            .expect("policy"),
        );
        for bad in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "http://example.com/authorize",
        ] {
            let mut auth_server = as_meta(false);
            auth_server.authorization_endpoint = Some(Url::parse(bad).expect("parses as a URL"));
            let disc = Discovery {
                resource: ProtectedResource {
                    resource: "https://127.0.0.1:9/mcp".into(),
                    authorization_servers: vec![auth_server.issuer.clone()],
                    scopes_supported: None,
                },
                auth_server,
            };
            let req = SignIn {
                server_id: "h/s",
                discovery: &disc,
                challenged_scope: None,
                previous_scope: None,
                previous: None,
                pre_registered: Some(&client),
                client_metadata_url: None,
                browser: hook.clone(),
                timeout: Duration::from_secs(5),
                cancel: None,
                report: &Reporter::silent(),
            };
            let err = sign_in(&http, &req, || 0).expect_err(bad);
            assert_eq!(err.code(), ErrorCode::Denied, "{bad}: {err}");
        }
        assert!(seen.lock().expect("lock").is_empty());
        assert_eq!(http.attempts(), 0, "nothing was sent");
    }

    /// A small authorization server on 127.0.0.1: `/register` and `/token` answer like a
    /// real one, and every request (line, headers, body) is recorded.
    struct TestAs {
        base: String,
        seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    }

    impl TestAs {
        fn start() -> TestAs {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            let base = format!("http://{}", listener.local_addr().expect("addr"));
            let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let record = seen.clone();
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    let Ok(conn) = conn else { continue };
                    let mut reader = BufReader::new(conn.try_clone().expect("clone"));
                    let mut raw = String::new();
                    let mut len = 0usize;
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
                    raw.push_str(&String::from_utf8_lossy(&body));
                    let json = if raw.starts_with("POST /register") {
                        r#"{"client_id":"dyn-new"}"#
                    } else if raw.starts_with("POST /token") {
                        r#"{"access_token":"at-1","token_type":"Bearer","expires_in":3600}"#
                    } else {
                        "{}"
                    };
                    record.lock().expect("lock").push(raw);
                    let mut conn = conn;
                    let _ = write!(
                        conn,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{json}",
                        json.len()
                    );
                }
            });
            TestAs { base, seen }
        }

        fn discovery(&self) -> Discovery {
            use super::super::discovery::ProtectedResource;
            let u = |p: &str| Url::parse(&format!("{}{p}", self.base)).expect("url");
            Discovery {
                resource: ProtectedResource {
                    resource: format!("{}/mcp", self.base),
                    authorization_servers: vec![self.base.clone()],
                    scopes_supported: None,
                },
                auth_server: AuthServer {
                    issuer: self.base.clone(),
                    authorization_endpoint: Some(u("/authorize")),
                    token_endpoint: u("/token"),
                    registration_endpoint: Some(u("/register")),
                    scopes_supported: None,
                    token_endpoint_auth_methods: None,
                    iss_parameter_supported: false,
                    cimd_supported: false,
                    dpop_algs: Vec::new(),
                },
            }
        }

        fn http(&self) -> Http {
            let url = Url::parse(&format!("{}/mcp", self.base)).expect("url");
            Http::new(crate::net::Policy::for_server(&url, false).expect("policy"))
        }

        fn requests(&self) -> Vec<String> {
            self.seen.lock().expect("lock").clone()
        }
    }

    /// A browser that, like a stale tab or another local program, first hits the redirect
    /// URI with a wrong `state`, then comes back with the real callback. Keeps the
    /// responses to the stray requests.
    fn browser_with_a_stray_request_first()
    -> (Browser, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        let pages = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = pages.clone();
        let hook = Browser::Hook(std::sync::Arc::new(move |u: &Url| {
            let q: Vec<(String, String)> = u.query_pairs().into_owned().collect();
            let get_q = |k: &str| {
                q.iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.clone())
                    .expect("param")
            };
            let (state, redirect) = (get_q("state"), get_q("redirect_uri"));
            let keep = keep.clone();
            // The hook runs on the signing-in thread: the "browser" is another one.
            std::thread::spawn(move || {
                let addr = redirect
                    .trim_start_matches("http://")
                    .trim_end_matches("/callback")
                    .to_string();
                let stray = get(&addr, "/callback?state=not-it&code=evil");
                keep.lock().expect("lock").push(stray);
                get(&addr, &format!("/callback?state={state}&code=good-code"));
            });
        }));
        (hook, pages)
    }

    fn sign_in_req<'a>(
        disc: &'a Discovery,
        pre: Option<&'a ClientReg>,
        previous: Option<&'a TokenSet>,
        browser: Browser,
    ) -> SignIn<'a> {
        SignIn {
            server_id: "claude-desktop/s",
            discovery: disc,
            challenged_scope: None,
            previous_scope: None,
            previous,
            pre_registered: pre,
            client_metadata_url: None,
            report: Box::leak(Box::new(Reporter::silent())),
            browser,
            timeout: Duration::from_secs(20),
            cancel: None,
        }
    }

    fn hand_client(issuer: Option<&str>) -> ClientReg {
        ClientReg {
            issuer: issuer.map(str::to_string),
            client_id: "kb-hand".into(),
            client_secret: Some("KBCANARY-hand-secret".into()),
            auth_method: "client_secret_basic".into(),
            redirect_uri: None,
            source: "pre-registered".into(),
        }
    }

    #[test]
    fn a_stray_request_before_the_real_callback_does_not_stop_the_sign_in() {
        let as_ = TestAs::start();
        let disc = as_.discovery();
        let (browser, strays) = browser_with_a_stray_request_first();
        let pre = hand_client(None);
        let ts = sign_in(
            &as_.http(),
            &sign_in_req(&disc, Some(&pre), None, browser),
            || 1_000,
        )
        .expect("sign-in succeeds after the stray request");
        assert_eq!(ts.access_token.as_deref(), Some("at-1"));
        let strays = strays.lock().expect("lock").clone();
        assert_eq!(strays.len(), 1);
        assert!(strays[0].starts_with("HTTP/1.1 400"), "{}", strays[0]);
        let tokens: Vec<String> = as_
            .requests()
            .into_iter()
            .filter(|r| r.starts_with("POST /token"))
            .collect();
        assert_eq!(tokens.len(), 1, "exactly one token request");
        assert!(tokens[0].contains("code=good-code") && !tokens[0].contains("evil"));
    }

    #[test]
    fn a_hand_registered_client_without_an_issuer_is_bound_by_its_first_sign_in() {
        let as_ = TestAs::start();
        let disc = as_.discovery();
        let (browser, _) = browser_with_a_stray_request_first();
        let pre = hand_client(None);
        let ts = sign_in(
            &as_.http(),
            &sign_in_req(&disc, Some(&pre), None, browser),
            || 1_000,
        )
        .expect("sign-in");
        let client = ts.client.expect("client kept");
        assert_eq!(client.issuer.as_deref(), Some(as_.base.as_str()));
        assert_eq!(client.client_id, "kb-hand");
        assert_eq!(client.source, "pre-registered");
        assert!(check_client_issuer("h/s", &client, &as_.base).is_ok());
        assert!(check_client_issuer("h/s", &client, "https://other.example").is_err());
    }

    #[test]
    fn a_hand_registered_client_is_never_sent_to_another_issuer() {
        let as_ = TestAs::start();
        let disc = as_.discovery();
        let opened = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let record = opened.clone();
        let hook = Browser::Hook(std::sync::Arc::new(move |u: &Url| {
            record.lock().expect("lock").push(u.to_string());
        }));
        let pre = hand_client(Some("https://as.bound.example"));
        let http = as_.http();
        let err =
            sign_in(&http, &sign_in_req(&disc, Some(&pre), None, hook), || 0).expect_err("refused");
        assert_eq!(err.code(), crate::base::error::ErrorCode::Denied, "{err}");
        let text = err.to_string();
        assert!(text.contains("https://as.bound.example"), "{text}");
        assert!(text.contains(&as_.base), "{text}");
        let Error::Denied { fix, .. } = &err else {
            panic!("{err:?}")
        };
        assert!(
            fix.contains("--issuer") && fix.contains("--replace"),
            "{fix}"
        );
        assert!(opened.lock().expect("lock").is_empty(), "no browser opened");
        assert_eq!(http.attempts(), 0, "nothing was sent");
        assert!(as_.requests().is_empty(), "the other issuer saw nothing");
    }

    #[test]
    fn a_stored_registration_from_another_issuer_is_not_reused() {
        let as_ = TestAs::start();
        let disc = as_.discovery();
        // Reusable in every other respect: its redirect port is free again, and with
        // `client_secret_post` a reuse would show in the token request's body.
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let previous = TokenSet {
            issuer: Some("https://old.example".into()),
            client: Some(ClientReg {
                issuer: Some("https://old.example".into()),
                client_id: "dyn-old".into(),
                client_secret: Some("KBCANARY-old-secret".into()),
                auth_method: "client_secret_post".into(),
                redirect_uri: Some(format!("http://127.0.0.1:{port}/callback")),
                source: "dynamic".into(),
            }),
            ..TokenSet::default()
        };
        let unbound = TokenSet {
            client: Some(ClientReg {
                issuer: None,
                ..previous.client.clone().expect("client")
            }),
            ..TokenSet::default()
        };
        for prev in [&previous, &unbound] {
            let (browser, _) = browser_with_a_stray_request_first();
            let ts = sign_in(
                &as_.http(),
                &sign_in_req(&disc, None, Some(prev), browser),
                || 0,
            )
            .expect("sign-in");
            assert_eq!(
                ts.client.as_ref().map(|c| c.client_id.as_str()),
                Some("dyn-new")
            );
        }
        let all = as_.requests().join("\n");
        assert!(
            !all.contains("dyn-old") && !all.contains("KBCANARY"),
            "{all}"
        );
    }

    #[test]
    fn pkce_challenge_is_unpadded_base64url_of_the_sha256_of_the_verifier() {
        // Reference value computed independently (Python hashlib + base64).
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gXFG1CZw7"),
            "aAyRpmR0s-qHqhrGKP6o23vA3FXpUbzO94Cp9pSc3V4"
        );
    }
}
