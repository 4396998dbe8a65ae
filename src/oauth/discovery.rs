//! MCP authorization discovery (spec 2025-11-25): the 401 challenge, protected-resource
//! metadata (RFC 9728, both well-known locations) and authorization-server metadata
//! (RFC 8414 and OpenID Connect discovery, in the spec's order).
//!
//! Checks that make the metadata trustworthy live here too: the protected resource must
//! name the server we talk to (THREATS 16), the authorization server's `issuer` must be
//! the one we derived the well-known URL from (THREATS 16), and S256 must be advertised
//! (THREATS 17). Every URL is fetched through [`Http`], which refuses SSRF targets first.
//!
//! Servers of the 2025-03-26 revision publish no protected-resource metadata. Only when
//! every current step found none (no `resource_metadata` in the challenge, nothing at
//! either well-known location) does discovery fall back to that revision's rules: the
//! authorization-server metadata at the MCP server's origin, and without it the default
//! endpoints `/authorize`, `/token` and `/register` there. Such a server has nothing to
//! advertise S256 with, so none is demanded; PKCE with S256 is still used, and every
//! endpoint is on the server's own origin.

use serde_json::Value;
use url::Url;

use crate::base::error::{Error, Result};
use crate::net::{Http, redact};

/// The parameters of a `WWW-Authenticate: Bearer ...` challenge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Challenge {
    pub resource_metadata: Option<String>,
    pub scope: Option<String>,
    pub error: Option<String>,
}

/// Parse the Bearer (or DPoP, RFC 9449 section 7.1) challenge of a `WWW-Authenticate`
/// header (quoted or token values); the first of the two schemes counts.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let lower = header.to_ascii_lowercase();
    let (start, len) = [("bearer", 6), ("dpop", 4)]
        .iter()
        .filter_map(|(scheme, len)| lower.find(scheme).map(|i| (i, *len)))
        .min()?;
    let mut rest = &header[start + len..];
    let mut ch = Challenge::default();
    loop {
        rest = rest.trim_start_matches([' ', ',', '\t']);
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().to_ascii_lowercase();
        if key.contains(' ') {
            break; // another auth scheme begins
        }
        rest = &rest[eq + 1..];
        let value;
        if let Some(r) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = r.char_indices();
            let mut end = r.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            out.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    _ => out.push(c),
                }
            }
            value = out;
            rest = &r[end.min(r.len())..];
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        match key.as_str() {
            "resource_metadata" => ch.resource_metadata = Some(value),
            "scope" => ch.scope = Some(value),
            "error" => ch.error = Some(value),
            _ => {}
        }
    }
    Some(ch)
}

#[derive(Debug, Clone)]
pub struct ProtectedResource {
    /// The resource identifier exactly as published (sent as `resource`).
    pub resource: String,
    pub authorization_servers: Vec<String>,
    pub scopes_supported: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct AuthServer {
    pub issuer: String,
    /// Absent on a server only for machine grants (no browser sign-in there).
    pub authorization_endpoint: Option<Url>,
    pub token_endpoint: Url,
    pub registration_endpoint: Option<Url>,
    pub scopes_supported: Option<Vec<String>>,
    pub token_endpoint_auth_methods: Option<Vec<String>>,
    pub iss_parameter_supported: bool,
    pub cimd_supported: bool,
    /// `dpop_signing_alg_values_supported` (RFC 9449): DPoP is used when it has ES256.
    pub dpop_algs: Vec<String>,
}

impl AuthServer {
    /// The server takes DPoP proofs Keybroker can make (ES256).
    pub fn dpop(&self) -> bool {
        self.dpop_algs.iter().any(|a| a == "ES256")
    }
}

#[derive(Debug, Clone)]
pub struct Discovery {
    pub resource: ProtectedResource,
    pub auth_server: AuthServer,
}

fn strings(v: &Value, key: &str) -> Option<Vec<String>> {
    v.get(key)?.as_array().map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    })
}

fn bad_metadata(what: &str, why: String) -> Error {
    Error::other(
        format!("{what}: {why}"),
        "the server's OAuth metadata is wrong or tampered with; tell its operator",
    )
}

/// Protected-resource metadata: the challenge's `resource_metadata` if given, else the
/// path-suffixed well-known URL, then the root one.
pub fn protected_resource(
    http: &Http,
    server: &Url,
    challenge: Option<&Challenge>,
) -> Result<ProtectedResource> {
    find_protected_resource(http, server, challenge)?.ok_or_else(|| {
        Error::other(
            format!(
                "{} publishes no OAuth protected-resource metadata",
                redact(server)
            ),
            "this server does not support MCP sign-in; if it takes an API key, add it with --header",
        )
    })
}

/// As [`protected_resource`]; `None` when no location has any (a 2025-03-26 server).
fn find_protected_resource(
    http: &Http,
    server: &Url,
    challenge: Option<&Challenge>,
) -> Result<Option<ProtectedResource>> {
    let mut candidates = Vec::new();
    if let Some(rm) = challenge.and_then(|c| c.resource_metadata.as_deref()) {
        let u = server.join(rm).map_err(|_| {
            bad_metadata(
                "protected-resource metadata",
                format!("invalid resource_metadata URL `{rm}`"),
            )
        })?;
        candidates.push(u);
    } else {
        let path = server.path().trim_end_matches('/');
        let mut base = server.clone();
        base.set_query(None);
        base.set_fragment(None);
        if !path.is_empty() {
            let mut u = base.clone();
            u.set_path(&format!("/.well-known/oauth-protected-resource{path}"));
            candidates.push(u);
        }
        let mut u = base;
        u.set_path("/.well-known/oauth-protected-resource");
        candidates.push(u);
    }
    for url in candidates {
        let Some(doc) = http.get_json(&url, "protected-resource metadata")? else {
            continue;
        };
        let resource = doc
            .get("resource")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                bad_metadata(
                    "protected-resource metadata",
                    format!("{} has no `resource`", redact(&url)),
                )
            })?
            .to_string();
        check_resource_matches(&resource, server)?;
        let authorization_servers = strings(&doc, "authorization_servers").unwrap_or_default();
        if authorization_servers.is_empty() {
            return Err(bad_metadata(
                "protected-resource metadata",
                format!("{} names no authorization server", redact(&url)),
            ));
        }
        return Ok(Some(ProtectedResource {
            resource,
            authorization_servers,
            scopes_supported: strings(&doc, "scopes_supported"),
        }));
    }
    if let Some(rm) = challenge.and_then(|c| c.resource_metadata.as_deref()) {
        // The server says it has metadata: it is not a 2025-03-26 server.
        return Err(bad_metadata(
            "protected-resource metadata",
            format!("the server names {rm}, which has none"),
        ));
    }
    Ok(None)
}

/// The metadata's `resource` must name this server: same origin, and the server's path
/// at or below the resource's path (RFC 9728 section 3.3, THREATS 16).
pub fn check_resource_matches(resource: &str, server: &Url) -> Result<()> {
    let r = Url::parse(resource).map_err(|_| {
        bad_metadata(
            "protected-resource metadata",
            format!("`resource` {resource} is not a URL"),
        )
    })?;
    let rpath = r.path().trim_end_matches('/');
    let spath = server.path().trim_end_matches('/');
    let under = spath == rpath || spath.starts_with(&format!("{rpath}/"));
    if r.origin() != server.origin() || !under || r.fragment().is_some() {
        return Err(Error::Denied {
            message: format!(
                "the protected-resource metadata is for {}, not for {}",
                redact(&r),
                redact(server)
            ),
            fix: "refusing to sign in: tokens for another resource must not be requested; check the server URL".into(),
        });
    }
    Ok(())
}

/// The well-known URLs for an issuer, in the MCP spec's order.
pub fn auth_server_metadata_urls(issuer: &Url) -> Vec<Url> {
    let path = issuer.path().trim_end_matches('/');
    let mut base = issuer.clone();
    base.set_query(None);
    base.set_fragment(None);
    let with = |p: String| {
        let mut u = base.clone();
        u.set_path(&p);
        u
    };
    if path.is_empty() {
        vec![
            with("/.well-known/oauth-authorization-server".into()),
            with("/.well-known/openid-configuration".into()),
        ]
    } else {
        vec![
            with(format!("/.well-known/oauth-authorization-server{path}")),
            with(format!("/.well-known/openid-configuration{path}")),
            with(format!("{path}/.well-known/openid-configuration")),
        ]
    }
}

/// What the tokens are for: a browser sign-in needs an authorization endpoint with PKCE
/// S256 (THREATS 17); a machine grant only a token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    SignIn,
    Machine,
}

pub fn auth_server(http: &Http, issuer: &str) -> Result<AuthServer> {
    auth_server_for(http, issuer, Use::SignIn)
}

pub fn auth_server_for(http: &Http, issuer: &str, usage: Use) -> Result<AuthServer> {
    let issuer_url = Url::parse(issuer)
        .map_err(|_| bad_metadata("authorization server", format!("`{issuer}` is not a URL")))?;
    for url in auth_server_metadata_urls(&issuer_url) {
        let Some(doc) = http.get_json(&url, "authorization-server metadata")? else {
            continue;
        };
        return parse_auth_server_for(&doc, issuer, &url, usage);
    }
    Err(Error::other(
        format!("the authorization server {issuer} publishes no metadata"),
        "tell the server's operator; Keybroker needs RFC 8414 or OpenID discovery",
    ))
}

pub fn parse_auth_server(doc: &Value, issuer: &str, fetched_from: &Url) -> Result<AuthServer> {
    parse_auth_server_for(doc, issuer, fetched_from, Use::SignIn)
}

pub fn parse_auth_server_for(
    doc: &Value,
    issuer: &str,
    fetched_from: &Url,
    usage: Use,
) -> Result<AuthServer> {
    let what = "authorization-server metadata";
    let got = doc.get("issuer").and_then(Value::as_str).unwrap_or("");
    if got != issuer {
        return Err(Error::Denied {
            message: format!(
                "{what} fetched from {} claims issuer `{got}` instead of `{issuer}`",
                redact(fetched_from)
            ),
            fix: "refusing to sign in: the metadata may be forged; tell the server's operator"
                .into(),
        });
    }
    let endpoint = |key: &str| -> Result<Option<Url>> {
        match doc.get(key).and_then(Value::as_str) {
            None => Ok(None),
            Some(s) => Url::parse(s)
                .map(Some)
                .map_err(|_| bad_metadata(what, format!("`{key}` is not a URL"))),
        }
    };
    let authorization_endpoint = endpoint("authorization_endpoint")?;
    if usage == Use::SignIn && authorization_endpoint.is_none() {
        return Err(bad_metadata(what, "no authorization_endpoint".into()));
    }
    let token_endpoint = endpoint("token_endpoint")?
        .ok_or_else(|| bad_metadata(what, "no token_endpoint".into()))?;
    let methods = strings(doc, "code_challenge_methods_supported").unwrap_or_default();
    if usage == Use::SignIn && !methods.iter().any(|m| m == "S256") {
        return Err(Error::Denied {
            message: format!(
                "the authorization server {issuer} does not advertise PKCE with S256"
            ),
            fix: "refusing to sign in without PKCE (MCP authorization requires it); tell the server's operator".into(),
        });
    }
    Ok(AuthServer {
        issuer: issuer.to_string(),
        authorization_endpoint,
        token_endpoint,
        registration_endpoint: endpoint("registration_endpoint")?,
        scopes_supported: strings(doc, "scopes_supported"),
        token_endpoint_auth_methods: strings(doc, "token_endpoint_auth_methods_supported"),
        iss_parameter_supported: doc
            .get("authorization_response_iss_parameter_supported")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        cimd_supported: doc
            .get("client_id_metadata_document_supported")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        dpop_algs: strings(doc, "dpop_signing_alg_values_supported").unwrap_or_default(),
    })
}

/// Everything sign-in needs, from the server URL and (if any) its 401 challenge.
pub fn discover(http: &Http, server: &Url, challenge: Option<&Challenge>) -> Result<Discovery> {
    discover_for(http, server, challenge, Use::SignIn)
}

/// As [`discover`], for tokens that are used as `usage` says.
pub fn discover_for(
    http: &Http,
    server: &Url,
    challenge: Option<&Challenge>,
    usage: Use,
) -> Result<Discovery> {
    let Some(resource) = find_protected_resource(http, server, challenge)? else {
        return discover_2025_03_26(http, server);
    };
    let issuer = resource.authorization_servers[0].clone();
    let auth_server = auth_server_for(http, &issuer, usage)?;
    Ok(Discovery {
        resource,
        auth_server,
    })
}

/// Discovery for a server without protected-resource metadata, by the 2025-03-26 rules:
/// the authorization server is the MCP server's origin (its path dropped); its RFC 8414
/// metadata if it has some, else the default endpoints there.
pub fn discover_2025_03_26(http: &Http, server: &Url) -> Result<Discovery> {
    let origin = server.origin().ascii_serialization();
    let base = Url::parse(&origin)
        .map_err(|_| bad_metadata("authorization server", format!("{origin} is not a URL")))?;
    let mut resource_url = server.clone();
    resource_url.set_fragment(None);
    let resource = ProtectedResource {
        resource: resource_url.to_string(),
        authorization_servers: vec![origin.clone()],
        scopes_supported: None,
    };
    let mut well_known = base.clone();
    well_known.set_path("/.well-known/oauth-authorization-server");
    let auth_server = match http.get_json(&well_known, "authorization-server metadata")? {
        Some(doc) => parse_auth_server(&doc, &origin, &well_known)?,
        None => default_endpoints(&base, &origin),
    };
    Ok(Discovery {
        resource,
        auth_server,
    })
}

/// The 2025-03-26 default endpoints at `base`: `/authorize`, `/token`, `/register`.
fn default_endpoints(base: &Url, issuer: &str) -> AuthServer {
    let at = |p: &str| {
        let mut u = base.clone();
        u.set_path(p);
        u
    };
    AuthServer {
        issuer: issuer.to_string(),
        authorization_endpoint: Some(at("/authorize")),
        token_endpoint: at("/token"),
        registration_endpoint: Some(at("/register")),
        scopes_supported: None,
        token_endpoint_auth_methods: None,
        iss_parameter_supported: false,
        cimd_supported: false,
        dpop_algs: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_are_parsed_with_quoted_and_bare_values() {
        let c = parse_challenge(
            r#"Bearer error="insufficient_scope", scope="mcp:write files:read", resource_metadata="https://x.example/.well-known/oauth-protected-resource/mcp""#,
        )
        .expect("challenge");
        assert_eq!(c.error.as_deref(), Some("insufficient_scope"));
        assert_eq!(c.scope.as_deref(), Some("mcp:write files:read"));
        assert_eq!(
            c.resource_metadata.as_deref(),
            Some("https://x.example/.well-known/oauth-protected-resource/mcp")
        );
        let dpop = parse_challenge(
            r#"DPoP error="use_dpop_nonce", resource_metadata="https://x.example/prm""#,
        )
        .expect("DPoP challenge");
        assert_eq!(dpop.error.as_deref(), Some("use_dpop_nonce"));
        assert_eq!(
            dpop.resource_metadata.as_deref(),
            Some("https://x.example/prm")
        );
        let bare = parse_challenge("Bearer realm=x, scope=read").expect("challenge");
        assert_eq!(bare.scope.as_deref(), Some("read"));
        assert!(parse_challenge("Basic realm=x").is_none());
    }

    #[test]
    fn a_resource_for_another_server_is_rejected() {
        let server = Url::parse("https://mcp.example/mcp").expect("url");
        assert!(check_resource_matches("https://mcp.example/mcp", &server).is_ok());
        assert!(check_resource_matches("https://mcp.example", &server).is_ok());
        assert!(check_resource_matches("https://mcp.example/other", &server).is_err());
        assert!(check_resource_matches("https://evil.example/mcp", &server).is_err());
        assert!(check_resource_matches("https://mcp.example/mc", &server).is_err());
    }

    #[test]
    fn issuer_mismatch_and_missing_s256_are_refused() {
        let from =
            Url::parse("https://as.example/.well-known/oauth-authorization-server").expect("u");
        let good = serde_json::json!({
            "issuer": "https://as.example",
            "authorization_endpoint": "https://as.example/authorize",
            "token_endpoint": "https://as.example/token",
            "code_challenge_methods_supported": ["S256"]
        });
        assert!(parse_auth_server(&good, "https://as.example", &from).is_ok());
        let mut forged = good.clone();
        forged["issuer"] = "https://attacker.example".into();
        assert!(parse_auth_server(&forged, "https://as.example", &from).is_err());
        let mut plain = good.clone();
        plain["code_challenge_methods_supported"] = serde_json::json!(["plain"]);
        assert!(parse_auth_server(&plain, "https://as.example", &from).is_err());
        let mut none = good;
        none.as_object_mut()
            .expect("obj")
            .remove("code_challenge_methods_supported");
        assert!(parse_auth_server(&none, "https://as.example", &from).is_err());
    }

    #[test]
    fn well_known_urls_follow_the_spec_order() {
        let with_path =
            auth_server_metadata_urls(&Url::parse("https://as.example/tenant1").expect("u"));
        let got: Vec<String> = with_path.iter().map(Url::to_string).collect();
        assert_eq!(
            got,
            [
                "https://as.example/.well-known/oauth-authorization-server/tenant1",
                "https://as.example/.well-known/openid-configuration/tenant1",
                "https://as.example/tenant1/.well-known/openid-configuration",
            ]
        );
        let root = auth_server_metadata_urls(&Url::parse("https://as.example").expect("u"));
        assert_eq!(root.len(), 2);
    }

    /// A server on 127.0.0.1 answering GETs of the given paths with JSON (`{base}` in a
    /// body is replaced by its own URL) and 404 otherwise; records the paths asked for.
    struct Docs {
        base: String,
        asked: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    }

    fn docs(paths: &[(&str, Value)]) -> Docs {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = asked.clone();
        let table: Vec<(String, String)> = paths
            .iter()
            .map(|(p, v)| (p.to_string(), v.to_string().replace("{base}", &base)))
            .collect();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut line = String::new();
                let mut reader = BufReader::new(conn.try_clone().expect("clone"));
                let _ = reader.read_line(&mut line);
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                record.lock().expect("lock").push(path.clone());
                let reply = match table.iter().find(|(p, _)| *p == path) {
                    Some((_, body)) => format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    ),
                    None => {
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .into()
                    }
                };
                let _ = conn.write_all(reply.as_bytes());
            }
        });
        Docs { base, asked }
    }

    fn http_for(url: &Url) -> Http {
        Http::new(crate::net::Policy::for_server(url, false).expect("policy"))
    }

    #[test]
    fn without_protected_resource_metadata_the_2025_03_26_metadata_at_the_origin_is_used() {
        let d = docs(&[(
            "/.well-known/oauth-authorization-server",
            serde_json::json!({"issuer": "{base}", "authorization_endpoint": "{base}/oauth/authorize",
                "token_endpoint": "{base}/oauth/token", "code_challenge_methods_supported": ["S256"]}),
        )]);
        let server = Url::parse(&format!("{}/mcp", d.base)).expect("url");
        let disc = discover(&http_for(&server), &server, None).expect("discovery");
        assert_eq!(disc.auth_server.issuer, d.base);
        assert_eq!(
            disc.auth_server.token_endpoint.as_str(),
            format!("{}/oauth/token", d.base)
        );
        assert_eq!(disc.resource.resource, server.as_str());
        let asked = d.asked.lock().expect("lock").clone();
        assert_eq!(
            asked,
            [
                "/.well-known/oauth-protected-resource/mcp",
                "/.well-known/oauth-protected-resource",
                "/.well-known/oauth-authorization-server",
            ],
            "every current step first"
        );
    }

    #[test]
    fn without_any_metadata_the_2025_03_26_default_endpoints_at_the_origin_are_used() {
        let d = docs(&[]);
        let server = Url::parse(&format!("{}/deep/mcp", d.base)).expect("url");
        let disc = discover(&http_for(&server), &server, None).expect("discovery");
        let a = &disc.auth_server;
        assert_eq!(a.issuer, d.base);
        assert_eq!(
            a.authorization_endpoint.as_ref().map(Url::as_str),
            Some(format!("{}/authorize", d.base).as_str())
        );
        assert_eq!(a.token_endpoint.as_str(), format!("{}/token", d.base));
        assert_eq!(
            a.registration_endpoint.as_ref().map(Url::as_str),
            Some(format!("{}/register", d.base).as_str())
        );
    }

    #[test]
    fn a_server_with_protected_resource_metadata_never_falls_back_to_the_default_endpoints() {
        let elsewhere = docs(&[]);
        let d = docs(&[(
            "/.well-known/oauth-protected-resource/mcp",
            serde_json::json!({"resource": "{base}/mcp", "authorization_servers": [elsewhere.base.clone()]}),
        )]);
        let server = Url::parse(&format!("{}/mcp", d.base)).expect("url");
        let err = discover(&http_for(&server), &server, None).expect_err("no AS metadata");
        assert!(err.to_string().contains("publishes no metadata"), "{err}");
        // A challenge naming metadata that is not there is not a 2025-03-26 server either.
        let bare = docs(&[]);
        let server = Url::parse(&format!("{}/mcp", bare.base)).expect("url");
        let challenge = Challenge {
            resource_metadata: Some(format!(
                "{}/.well-known/oauth-protected-resource/mcp",
                bare.base
            )),
            ..Challenge::default()
        };
        assert!(discover(&http_for(&server), &server, Some(&challenge)).is_err());
        assert_eq!(
            bare.asked.lock().expect("lock").len(),
            1,
            "no fallback was tried"
        );
    }
}
