//! Every outbound HTTP request of the OAuth flows and the bridge goes through here.
//!
//! Why: metadata documents and `WWW-Authenticate` headers come from the network and name
//! further URLs. Before any of those is contacted, its scheme and every address its host
//! resolves to are checked (SSRF, THREATS 15): link-local, private, loopback and other
//! non-public addresses are refused unless the MCP server itself lives on an address of
//! the same kind. Redirects are never followed blindly (THREATS 25): only same-origin
//! redirects of metadata GETs are followed, and only after the same check.
//!
//! The same address check runs a second time inside the HTTP client's resolver, on the
//! very addresses it is about to connect to, so a DNS answer that changes between the
//! check and the connection (DNS rebinding) is refused too.
//!
//! Proxies: `ureq` on its own takes one from `ALL_PROXY` / `HTTPS_PROXY` / `HTTP_PROXY`
//! (and the lowercase names) in the environment. Requests here carry tokens, client
//! secrets and API keys, and an environment variable is easy for anything that starts a
//! host to set, so the agent is always built with an explicit proxy setting: none, or
//! the one the user gave for that server (`keybroker add --proxy`), which carries no
//! credentials of its own. With a proxy the proxy resolves names, so only the first
//! address check applies to the destination. Everything is HTTP/1.1 through `ureq`.

use std::io::Read;
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use url::Url;

use crate::base::error::{Error, Result};

/// What kind of address a host resolves to; non-public kinds are only reachable when the
/// MCP server itself is of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrKind {
    Public,
    Loopback,
    Private,
    LinkLocal,
    /// Unspecified, multicast, broadcast, documentation, reserved: never contacted.
    Forbidden,
}

pub fn classify(ip: IpAddr) -> AddrKind {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                AddrKind::Loopback
            } else if v4.is_link_local() {
                AddrKind::LinkLocal
            } else if v4.is_private() || (o[0] == 100 && (o[1] & 0xc0) == 64) {
                // RFC 1918 and RFC 6598 carrier-grade NAT.
                AddrKind::Private
            } else if v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] >= 240
                || o[0] == 0
            {
                AddrKind::Forbidden
            } else {
                AddrKind::Public
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return classify(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            if v6.is_loopback() {
                AddrKind::Loopback
            } else if (seg[0] & 0xffc0) == 0xfe80 {
                AddrKind::LinkLocal
            } else if (seg[0] & 0xfe00) == 0xfc00 {
                AddrKind::Private
            } else if v6.is_unspecified()
                || v6.is_multicast()
                || seg[0] == 0x2001 && seg[1] == 0xdb8
            {
                AddrKind::Forbidden
            } else {
                AddrKind::Public
            }
        }
    }
}

/// True for `localhost`, 127.0.0.0/8 and ::1 written as a URL host (no DNS).
pub fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The addresses `url`'s host stands for (IP literals without DNS).
fn resolve(url: &Url) -> Result<Vec<IpAddr>> {
    let port = url.port_or_known_default().unwrap_or(443);
    match url.host() {
        Some(url::Host::Ipv4(ip)) => Ok(vec![IpAddr::V4(ip)]),
        Some(url::Host::Ipv6(ip)) => Ok(vec![IpAddr::V6(ip)]),
        Some(url::Host::Domain(d)) => {
            if d.eq_ignore_ascii_case("localhost") {
                return Ok(vec![IpAddr::from([127, 0, 0, 1])]);
            }
            let addrs: Vec<IpAddr> = (d, port)
                .to_socket_addrs()
                .map_err(|e| {
                    Error::other(
                        format!("cannot resolve {d}: {e}"),
                        "check the server URL and your network connection",
                    )
                })?
                .map(|a| a.ip())
                .collect();
            if addrs.is_empty() {
                return Err(Error::other(
                    format!("{d} resolves to no address"),
                    "check the server URL",
                ));
            }
            Ok(addrs)
        }
        None => Err(Error::other(
            format!("{} has no host", redact(url)),
            "use an http(s) URL with a host name",
        )),
    }
}

/// The URL for messages: without userinfo, query and fragment (queries can hold codes or
/// keys), and with any secret the scanner finds in its path (`/s/<token>/mcp`) masked.
pub fn redact(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_password(None);
    let _ = u.set_username("");
    redact_text(u.as_str())
}

/// `text` (a URL as typed, which may not parse, or a message naming one) with every
/// secret the scanner finds in it masked: userinfo passwords, secret query values, token
/// path segments, known token formats.
pub fn redact_text(text: &str) -> String {
    let mut out = text.to_string();
    for d in crate::scan::detect_url("url", text).iter().rev() {
        if let Some(s) = text.get(d.span.clone()) {
            out.replace_range(d.span.clone(), &crate::scan::mask(s));
        }
    }
    out
}

fn allowed(kind: AddrKind, server_kinds: &[AddrKind]) -> bool {
    match kind {
        AddrKind::Public => true,
        AddrKind::Forbidden => false,
        other => server_kinds.contains(&other),
    }
}

/// `ureq`'s resolver with the address policy applied to what it returns: the connection
/// can only go to addresses that passed the check.
#[derive(Debug)]
struct PinnedResolver {
    server_kinds: Vec<AddrKind>,
}

impl ureq::unversioned::resolver::Resolver for PinnedResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> std::result::Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let addrs = ureq::unversioned::resolver::DefaultResolver::default()
            .resolve(uri, config, timeout)?;
        // With a proxy this resolves only the proxy itself (the user's choice, which may
        // be on loopback or the LAN); the proxy resolves the destination.
        if config.proxy().is_none() {
            for a in addrs.iter() {
                if !allowed(classify(a.ip()), &self.server_kinds) {
                    return Err(ureq::Error::Io(std::io::Error::new(
                        std::io::ErrorKind::PermissionDenied,
                        format!(
                            "refused to connect to {}: not an address this server may use",
                            a.ip()
                        ),
                    )));
                }
            }
        }
        Ok(addrs)
    }
}

/// Which destinations one MCP server's flows may contact.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The kinds of address the MCP server itself is on (non-public kinds are allowed
    /// for its metadata and authorization server too).
    server_kinds: Vec<AddrKind>,
    /// The user allowed plain `http://` for this server (non-loopback).
    allow_http: bool,
    server_origin: url::Origin,
}

impl Policy {
    /// The policy for the MCP server at `server`; resolves its host once.
    pub fn for_server(server: &Url, allow_http: bool) -> Result<Policy> {
        check_scheme(server, allow_http, None)?;
        let kinds = resolve(server)?.into_iter().map(classify).collect();
        Ok(Policy {
            server_kinds: kinds,
            allow_http,
            server_origin: server.origin(),
        })
    }

    /// Refuse `url` unless it may be contacted. Runs before any connection attempt.
    pub fn check(&self, url: &Url, purpose: &str) -> Result<()> {
        check_scheme(url, self.allow_http, Some(&self.server_origin))?;
        for ip in resolve(url)? {
            let kind = classify(ip);
            if !allowed(kind, &self.server_kinds) {
                return Err(Error::Denied {
                    message: format!(
                        "refused to contact {} ({purpose}): it resolves to {ip}, a {} address, and the MCP server is not on one",
                        redact(url),
                        match kind {
                            AddrKind::Loopback => "loopback",
                            AddrKind::Private => "private",
                            AddrKind::LinkLocal => "link-local",
                            _ => "reserved",
                        }
                    ),
                    fix: "the server's metadata points somewhere it should not (possible SSRF); check the server URL or tell its operator".into(),
                });
            }
        }
        Ok(())
    }
}

fn check_scheme(url: &Url, allow_http: bool, same_origin: Option<&url::Origin>) -> Result<()> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(url) => Ok(()),
        "http" if allow_http && same_origin.is_none_or(|o| *o == url.origin()) => Ok(()),
        "http" => Err(Error::Denied {
            message: format!(
                "refused plain http:// for {}: tokens would travel unencrypted",
                redact(url)
            ),
            fix: "use https; for a server on your own network, add it with --allow-http".into(),
        }),
        other => Err(Error::Denied {
            message: format!("refused URL scheme `{other}:` ({})", redact(url)),
            fix: "only https URLs (http on loopback) are used".into(),
        }),
    }
}

/// A response with its body read (metadata, token endpoint) or streaming (bridge).
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Box<dyn Read + Send>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn content_type(&self) -> String {
        self.header("content-type")
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }

    /// The body, at most 4 MiB.
    pub fn text(mut self) -> Result<String> {
        let mut buf = Vec::new();
        (&mut self.body)
            .take(4 << 20)
            .read_to_end(&mut buf)
            .map_err(|e| Error::other(format!("reading the response failed: {e}"), "try again"))?;
        String::from_utf8(buf)
            .map_err(|_| Error::other("the response is not UTF-8", "check the server URL"))
    }
}

/// The HTTP client: no redirects, no status-as-error, every destination policy-checked.
pub struct Http {
    agent: ureq::Agent,
    stream_agent: ureq::Agent,
    pub policy: Policy,
    /// Requests handed to the network layer (tests prove refusals happen before this).
    attempts: AtomicUsize,
}

impl Http {
    /// A client that connects directly, whatever proxy the environment names.
    pub fn new(policy: Policy) -> Http {
        Http::build(policy, None)
    }

    /// A client that goes through `proxy` (an http(s) proxy URL the user configured for
    /// this server, see [`parse_proxy_url`]), or directly when it is `None`.
    pub fn with_proxy(policy: Policy, proxy: Option<&str>) -> Result<Http> {
        let proxy = match proxy {
            None => None,
            Some(raw) => {
                let url = parse_proxy_url(raw)?;
                let p = ureq::Proxy::new(url.as_str()).map_err(|e| {
                    Error::other(
                        format!("the proxy {} is not usable: {e}", redact(&url)),
                        "add the server again with a proxy URL like http://proxy.example:3128",
                    )
                })?;
                Some(p)
            }
        };
        Ok(Http::build(policy, proxy))
    }

    fn build(policy: Policy, proxy: Option<ureq::Proxy>) -> Http {
        let pinned = |global: Option<Duration>| {
            let config = ureq::Agent::config_builder()
                // Never the environment's proxy (`Config::default` reads it).
                .proxy(proxy.clone())
                .max_redirects(0)
                .http_status_as_error(false)
                .timeout_connect(Some(Duration::from_secs(15)))
                .timeout_global(global)
                .user_agent(concat!("keybroker/", env!("CARGO_PKG_VERSION")))
                .build();
            ureq::Agent::with_parts(
                config,
                ureq::unversioned::transport::DefaultConnector::default(),
                PinnedResolver {
                    server_kinds: policy.server_kinds.clone(),
                },
            )
        };
        let agent = pinned(Some(Duration::from_secs(60)));
        // The bridge's streams stay open as long as the session does.
        let stream_agent = pinned(None);
        Http {
            agent,
            stream_agent,
            policy,
            attempts: AtomicUsize::new(0),
        }
    }

    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }

    /// One request. `stream`: no overall timeout (SSE). Redirects come back as 3xx.
    pub fn send(
        &self,
        method: &str,
        url: &Url,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        stream: bool,
        purpose: &str,
    ) -> Result<Response> {
        self.policy.check(url, purpose)?;
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let agent = if stream {
            &self.stream_agent
        } else {
            &self.agent
        };
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(url.as_str());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        // The client's own error text may name the URL: it is shown redacted.
        let net_err = |e: &dyn std::fmt::Display| {
            let why = redact_text(&e.to_string().replace(url.as_str(), &redact(url)));
            Error::other(
                format!("{purpose}: request to {} failed: {why}", redact(url)),
                "check the server URL and your network connection, then try again",
            )
        };
        let result = match body {
            Some(b) => {
                let req = req.body(b.to_vec()).map_err(|e| net_err(&e))?;
                agent.run(req)
            }
            None => {
                let req = req.body(()).map_err(|e| net_err(&e))?;
                agent.run(req)
            }
        };
        let resp = result.map_err(|e| net_err(&e))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body: Box<dyn Read + Send> = Box::new(resp.into_body().into_reader());
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// GET a JSON document, following at most 3 same-origin redirects.
    /// Returns `Ok(None)` on 404 (and other 4xx), the document on 200.
    pub fn get_json(&self, url: &Url, purpose: &str) -> Result<Option<serde_json::Value>> {
        let mut current = url.clone();
        for _ in 0..4 {
            let resp = self.send(
                "GET",
                &current,
                &[
                    ("Accept", "application/json"),
                    ("MCP-Protocol-Version", crate::mcp::PROTOCOL_VERSION),
                ],
                None,
                false,
                purpose,
            )?;
            match resp.status {
                200 => {
                    let text = resp.text()?;
                    let v = serde_json::from_str(&text).map_err(|e| {
                        Error::other(
                            format!("{purpose}: {} is not valid JSON: {e}", redact(&current)),
                            "the server's metadata is broken; tell its operator",
                        )
                    })?;
                    return Ok(Some(v));
                }
                301 | 302 | 303 | 307 | 308 => {
                    let next = follow_redirect(&current, resp.header("location"))?;
                    current = next;
                }
                _ => return Ok(None),
            }
        }
        Err(Error::other(
            format!("{purpose}: too many redirects from {}", redact(url)),
            "the server's metadata is broken; tell its operator",
        ))
    }
}

/// The target of a redirect, refused unless it stays on the same origin (THREATS 25).
pub fn follow_redirect(from: &Url, location: Option<&str>) -> Result<Url> {
    let loc = location.ok_or_else(|| {
        Error::other(
            format!("{} redirected without a Location", redact(from)),
            "tell the server's operator",
        )
    })?;
    let next = from.join(loc).map_err(|_| {
        Error::other(
            format!("{} redirected to an invalid URL", redact(from)),
            "tell the server's operator",
        )
    })?;
    if next.origin() != from.origin() {
        return Err(Error::Denied {
            message: format!(
                "refused a redirect from {} to another origin ({})",
                redact(from),
                redact(&next)
            ),
            fix: "credentials are never sent to another origin; use the final URL directly if you trust it".into(),
        });
    }
    Ok(next)
}

/// Parse a URL that is about to be shown to the user's browser (THREATS 14): only
/// https, or http on loopback; no credentials in it; no control characters.
pub fn browser_url(raw: &str) -> Result<Url> {
    let refuse = |why: &str| Error::Denied {
        message: format!("refused to open an authorization URL: {why}"),
        fix: "the authorization server's metadata is unsafe; tell its operator".into(),
    };
    if raw.chars().any(|c| c.is_control() || c == ' ') {
        return Err(refuse("it contains control characters or spaces"));
    }
    let url = Url::parse(raw).map_err(|_| refuse("it is not a valid URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(&url) => {}
        other => return Err(refuse(&format!("scheme `{other}:` is not https"))),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(refuse("it has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("it carries credentials"));
    }
    Ok(url)
}

/// Open a validated URL in the system browser through the OS, never a shell: the URL is
/// one argument of `xdg-open` / `open` / `rundll32 url.dll,FileProtocolHandler`.
pub fn open_in_browser(url: &Url) -> Result<()> {
    let url = browser_url(url.as_str())?;
    let mut cmd = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("rundll32");
        c.arg("url.dll,FileProtocolHandler");
        c
    } else {
        std::process::Command::new("xdg-open")
    };
    cmd.arg(url.as_str())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().map_err(|e| {
        Error::other(
            format!("could not open the browser: {e}"),
            "run the command again with --no-browser and open the printed URL yourself",
        )
    })?;
    // Reap the opener so a long-running app does not collect zombies.
    std::thread::spawn(move || child.wait());
    Ok(())
}

/// Parse and check a proxy URL for `keybroker add --proxy`: `http://` or `https://`, a
/// host, at most a port; no user name or password (they would sit in the state file, and
/// a proxy that wants them is not supported), no path, query or fragment.
pub fn parse_proxy_url(raw: &str) -> Result<Url> {
    let url = Url::parse(raw.trim()).map_err(|e| {
        Error::other(
            format!("`{raw}` is not a valid proxy URL: {e}"),
            "give the proxy as http://host:port",
        )
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::other(
            "the proxy URL carries a user name or password",
            "Keybroker keeps no proxy credentials; use a proxy that needs none, or none",
        ));
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::other(
            format!("unsupported proxy scheme `{}`", url.scheme()),
            "use an http:// or https:// proxy",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::other(
            "the proxy URL has no host",
            "give the proxy as http://host:port",
        ));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(Error::other(
            "the proxy URL has a path, query or fragment",
            "give the proxy as http://host:port",
        ));
    }
    Ok(url)
}

/// Parse and check a server URL: http(s), no credentials or fragment in it, plain http
/// only on loopback unless allowed.
pub fn parse_server_url(raw: &str, allow_http: bool) -> Result<Url> {
    let url = Url::parse(raw.trim()).map_err(|e| {
        Error::other(
            format!("`{}` is not a valid URL: {e}", redact_text(raw)),
            "pass the server's full https:// URL",
        )
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::other(
            "the URL carries a user name or password",
            "give the credential with --header instead; it goes to the keychain",
        ));
    }
    if url.fragment().is_some() {
        return Err(Error::other("the URL has a #fragment", "remove it"));
    }
    if url.scheme() == "http" && !is_loopback_host(&url) && !allow_http {
        return Err(Error::Denied {
            message: format!("{} uses plain http:// off this machine", redact(&url)),
            fix: "use https, or pass --allow-http if you accept that tokens travel unencrypted"
                .into(),
        });
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::other(
            format!("unsupported URL scheme `{}`", url.scheme()),
            "use https",
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn redacted_urls_name_the_server_but_no_key_in_path_query_or_userinfo() {
        let key = "KBCANARYiEXpVdE58zHYprM8nkSCV3zwgIj85ZrHnoA8weZP";
        let shown = redact(&url(&format!(
            "https://u:pw@mcp.example.com/s/{key}/mcp?api_key=KBCANARYq7Xv2Lm9&x=1#f"
        )));
        assert!(shown.starts_with("https://mcp.example.com/s/"), "{shown}");
        assert!(shown.ends_with("/mcp"), "{shown}");
        assert!(
            !shown.contains("KBCANARY") && !shown.contains("pw"),
            "{shown}"
        );
        let typed = redact_text(&format!("http://127.0.0.1:1/mcp?api_key={key}&profile=x"));
        assert!(!typed.contains("KBCANARY"), "{typed}");
        assert!(typed.contains("profile=x"), "{typed}");
        let err = parse_server_url(&format!("https://mcp.example.com:99999/s/{key}/mcp"), false)
            .map(|_| ())
            .expect_err("not a URL");
        assert!(!err.to_string().contains("KBCANARY"), "{err}");
        assert_eq!(
            redact(&url("https://mcp.example.com/mcp")),
            "https://mcp.example.com/mcp"
        );
    }

    #[test]
    fn browser_urls_other_than_https_or_loopback_http_are_refused() {
        for bad in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "smb://attacker/share",
            "http://example.com/authorize",
            "https://a.example/$(calc.exe)\n",
            "https://user:pw@a.example/authorize",
            "https://a.example/authorize?x=1 & calc",
            "ms-settings:",
        ] {
            assert!(browser_url(bad).is_err(), "{bad} must be refused");
        }
        assert!(browser_url("https://auth.example/authorize?x=1&y=$(x)").is_ok());
        assert!(browser_url("http://127.0.0.1:9/authorize").is_ok());
        assert!(browser_url("http://localhost:9/authorize").is_ok());
    }

    #[test]
    fn link_local_metadata_is_refused_before_any_connection_for_a_loopback_server() {
        let http = Http::new(Policy::for_server(&url("http://127.0.0.1:9/mcp"), false).expect("p"));
        for target in [
            "http://169.254.169.254/latest/meta-data/",
            "https://169.254.169.254/",
            "https://[fe80::1]/",
            "https://10.0.0.1/.well-known/oauth-authorization-server",
            "https://192.168.1.1/",
            "https://0.0.0.0/",
        ] {
            let err = http.get_json(&url(target), "authorization-server metadata");
            assert!(
                matches!(err, Err(Error::Denied { .. })),
                "{target}: {:?}",
                err.err()
            );
        }
        assert_eq!(http.attempts(), 0, "no request may reach the network layer");
    }

    #[test]
    fn the_connection_itself_refuses_addresses_the_check_would_refuse() {
        // A public server's client must not reach loopback even if a name resolved
        // differently at check time (DNS rebinding): call the agent past the check.
        let policy = Policy {
            server_kinds: vec![AddrKind::Public],
            allow_http: false,
            server_origin: url("https://mcp.example/mcp").origin(),
        };
        let http = Http::new(policy);
        let err = http
            .agent
            .get("http://127.0.0.1:9/")
            .call()
            .expect_err("refused");
        assert!(
            err.to_string().contains("refused to connect to 127.0.0.1"),
            "{err}"
        );
    }

    fn public_policy() -> Policy {
        Policy {
            server_kinds: vec![AddrKind::Public],
            allow_http: false,
            server_origin: url("https://mcp.example/mcp").origin(),
        }
    }

    fn proxy_of(agent: &ureq::Agent) -> Option<String> {
        agent.config().proxy().map(|p| p.uri().to_string())
    }

    #[test]
    fn the_agent_has_no_proxy_unless_one_was_configured_for_the_server() {
        let direct = Http::new(public_policy());
        assert_eq!(proxy_of(&direct.agent), None);
        assert_eq!(proxy_of(&direct.stream_agent), None);
        let none = Http::with_proxy(public_policy(), None).expect("no proxy");
        assert_eq!(proxy_of(&none.agent), None);
        let via =
            Http::with_proxy(public_policy(), Some("http://127.0.0.1:3128")).expect("a proxy");
        assert_eq!(
            proxy_of(&via.agent).as_deref(),
            Some("http://127.0.0.1:3128/")
        );
        assert_eq!(
            proxy_of(&via.stream_agent).as_deref(),
            Some("http://127.0.0.1:3128/")
        );
    }

    #[test]
    fn proxy_urls_with_credentials_or_other_schemes_are_refused() {
        for bad in [
            "http://user:pw@proxy.example:3128",
            "http://user@proxy.example:3128",
            "socks5://proxy.example:1080",
            "file:///tmp/proxy",
            "http://proxy.example:3128/path",
            "http://proxy.example:3128/?x=1",
            "proxy.example:3128",
        ] {
            assert!(parse_proxy_url(bad).is_err(), "{bad} must be refused");
            assert!(
                Http::with_proxy(public_policy(), Some(bad)).is_err(),
                "{bad} must be refused"
            );
        }
        assert!(parse_proxy_url("https://proxy.example").is_ok());
        assert!(parse_proxy_url(" http://[::1]:3128/ ").is_ok());
    }

    #[test]
    fn a_configured_proxy_is_the_one_contacted_even_on_loopback_for_a_public_server() {
        // The proxy resolves the destination, so nothing but 127.0.0.1 is contacted.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let proxy = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = std::thread::spawn(move || {
            use std::io::{BufRead, Write};
            let (mut conn, _) = listener.accept().expect("the proxy is contacted");
            let mut line = String::new();
            std::io::BufReader::new(&conn)
                .read_line(&mut line)
                .expect("request line");
            let _ = conn.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
            line
        });
        let http = Http::with_proxy(public_policy(), Some(&proxy)).expect("proxy");
        let _ = http.agent.get("http://mcp.example/mcp").call();
        let line = seen.join().expect("join");
        assert!(line.starts_with("CONNECT mcp.example:80 "), "{line}");
    }

    #[test]
    fn a_private_server_may_use_private_metadata_but_not_link_local() {
        let p = Policy::for_server(&url("https://10.1.2.3/mcp"), false).expect("p");
        assert!(p.check(&url("https://10.9.9.9/as"), "t").is_ok());
        assert!(p.check(&url("https://169.254.169.254/"), "t").is_err());
        assert!(p.check(&url("https://127.0.0.1/"), "t").is_err());
    }

    #[test]
    fn plain_http_is_refused_off_loopback_unless_allowed_for_that_server() {
        assert!(Policy::for_server(&url("http://10.1.2.3/mcp"), false).is_err());
        let p = Policy::for_server(&url("http://10.1.2.3/mcp"), true).expect("allowed");
        assert!(p.check(&url("http://10.1.2.3/.well-known/x"), "t").is_ok());
        assert!(p.check(&url("http://10.1.2.4/other"), "t").is_err());
    }

    #[test]
    fn cross_origin_and_scheme_changing_redirects_are_refused() {
        let from = url("https://mcp.example/mcp");
        assert!(follow_redirect(&from, Some("https://evil.example/mcp")).is_err());
        assert!(follow_redirect(&from, Some("http://mcp.example/mcp")).is_err());
        assert!(follow_redirect(&from, Some("file:///etc/passwd")).is_err());
        assert_eq!(
            follow_redirect(&from, Some("/other"))
                .expect("same origin")
                .as_str(),
            "https://mcp.example/other"
        );
    }

    #[test]
    fn ipv4_mapped_and_cgnat_addresses_are_classified() {
        assert_eq!(
            classify("::ffff:169.254.169.254".parse().expect("ip")),
            AddrKind::LinkLocal
        );
        assert_eq!(
            classify("100.64.0.1".parse().expect("ip")),
            AddrKind::Private
        );
        assert_eq!(classify("fd00::1".parse().expect("ip")), AddrKind::Private);
        assert_eq!(classify("8.8.8.8".parse().expect("ip")), AddrKind::Public);
    }
}
