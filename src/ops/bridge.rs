//! `keybroker bridge <server-id>`: MCP over stdio to the host, Streamable HTTP to the
//! remote server, with the credential attached.
//!
//! Each line from stdin is one JSON-RPC message; it is POSTed as is, and whatever the
//! server answers (a JSON body or an SSE stream) is written to stdout unchanged except
//! that line breaks between JSON tokens are removed (stdio framing is one message per
//! line; JSON strings cannot contain raw line breaks, so this never changes a value,
//! THREATS 27). stdout carries only MCP messages; everything else goes to the bridge's
//! [`Reporter`] (the CLI's writes to stderr).
//!
//! Around that: `Mcp-Session-Id` (validated, THREATS 26) and `MCP-Protocol-Version` on
//! every request after initialize, the GET stream for server-initiated messages, SSE
//! resumption with `Last-Event-ID` honouring `retry`, re-initialize on 404 for a lost
//! session, DELETE of the session on exit, one refresh-and-retry on 401, capped scope
//! step-up on 403 `insufficient_scope`, no redirects (THREATS 25). A DPoP-bound token
//! goes as `Authorization: DPoP` with a fresh proof for each request; a
//! `use_dpop_nonce` 401 is retried once with the server's nonce. A machine credential
//! (client credentials, workload JWT, enterprise IdP) gets its tokens itself, with or
//! without `--sign-in`.
//!
//! 2026-07-28 headers: `Mcp-Method`, `Mcp-Name` and, from the `x-mcp-header`
//! declarations of the last `tools/list`, `Mcp-Param-*` (values encoded by
//! [`crate::mcp::headers`], THREATS 37). A tool with an invalid declaration is the one
//! thing the bridge takes out of a message: it is left out of the host's tool list, and
//! a call to it is answered here. A JSON-RPC answer on a 4xx is relayed as it is; a
//! `HeaderMismatch` first makes the bridge list the tools again and retry once.
//!
//! Servers that only speak the legacy HTTP+SSE transport (2024-11-05) are detected by a
//! 400/404/405 answer to the initialize POST; the bridge then opens the event stream,
//! POSTs to the endpoint it names (same origin only) and relays the stream.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use url::Url;

use crate::base::clock::unix_now;
use crate::base::error::{Error, Result};
use crate::base::report::Reporter;
use crate::base::secret::Secret;
use crate::mcp::guard::{FromClient, FromServer};
use crate::mcp::headers::{self, ParamHeader};
use crate::mcp::{one_line, read_sse, valid_session_id};
use crate::net::{Http, Response, redact};
use crate::oauth::discovery::{self, Challenge};
use crate::oauth::flow::{self, Browser};
use crate::oauth::keys::Key;
use crate::oauth::{Store, TokenSet};
use crate::ops::context::Context;
use crate::ops::relay::GuardSession;
use crate::ops::signin::{self, Opened};
use crate::store::audit::{Event, EventKind, Outcome, Target};
use crate::store::state::State;

/// How many times one request may trigger a new authorization for more scope.
pub const MAX_STEP_UPS: u32 = 2;

/// How the bridge may sign in when the server demands it.
#[derive(Debug, Clone)]
pub struct SignInPolicy {
    pub browser: Browser,
    pub timeout: Duration,
    pub client_metadata_url: Option<String>,
}

pub struct Bridge {
    pub server_id: String,
    pub url: Url,
    pub http: Http,
    /// Static headers (API keys) from the keychain.
    pub headers: Vec<(String, Secret)>,
    /// The OAuth token store, when the server uses OAuth.
    pub store: Option<Store>,
    /// `None`: never sign in interactively; report "needs sign-in" instead.
    pub sign_in: Option<SignInPolicy>,
    /// Where everything for the user goes (stdout is only for MCP): failed deliveries,
    /// ignored input, the sign-in URL. The CLI writes it to stderr.
    pub report: Reporter,
    /// The tool guard, for a guarded server: every message to and from the host passes
    /// through it (as in `keybroker run`), around everything the bridge does.
    pub guard: Option<Arc<GuardSession>>,
}

/// Where MCP messages go (stdout, or a buffer in tests).
pub type Out = Arc<Mutex<Box<dyn Write + Send>>>;

#[derive(Default)]
struct Session {
    id: Option<String>,
    protocol: Option<String>,
    init_request: Option<Vec<u8>>,
    initialized_note: Option<Vec<u8>>,
    tokens: Option<TokenSet>,
    get_stream_started: bool,
    /// Legacy HTTP+SSE transport (2024-11-05): where messages are POSTed; answers come
    /// on the GET stream.
    legacy_post: Option<Url>,
    /// Each listed tool's `x-mcp-header` declarations (2026-07-28).
    tools: HashMap<String, Vec<ParamHeader>>,
    /// Tools left out of `tools/list` for an invalid declaration, with the reason.
    invalid_tools: HashMap<String, String>,
    /// The DPoP key of the current token set, loaded once.
    dpop: Option<Key>,
    /// The latest nonce the server gave for DPoP proofs (RFC 9449 section 9).
    dpop_nonce: Option<String>,
    /// The authorization server refused this credential (a revoked machine client):
    /// every further message fails at once, nothing is sent with the dead token.
    refused: Option<String>,
}

impl Session {
    /// Use `ts` from now on, with its DPoP key (a key that does not load is no key: the
    /// server then refuses the token and the bridge says so).
    fn set_tokens(&mut self, ts: Option<TokenSet>) {
        self.dpop = ts
            .as_ref()
            .and_then(|t| t.dpop_key.as_deref())
            .and_then(|pem| Key::from_pem(pem).ok());
        self.tokens = ts;
    }
}

fn write_msg(out: &Out, bytes: &[u8]) {
    let line = one_line(bytes);
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    if let Ok(mut w) = out.lock() {
        let _ = w.write_all(&line);
        let _ = w.write_all(b"\n");
        let _ = w.flush();
    }
}

/// The JSON-RPC error code of a `Mcp-Param-*` or `Mcp-Name` header that does not match
/// the body (2026-07-28).
const HEADER_MISMATCH: i64 = -32020;

/// `text` as a JSON-RPC response to `request` (same id, a result or an error), if it is.
fn reply_to(request: &Value, text: &str) -> Option<Value> {
    let id = request.get("id")?;
    let v: Value = serde_json::from_str(text).ok()?;
    (v.get("id") == Some(id) && (v.get("result").is_some() || v.get("error").is_some()))
        .then_some(v)
}

fn rpc_error(out: &Out, id: &Value, code: i64, message: &str) {
    let msg = serde_json::json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
    write_msg(out, msg.to_string().as_bytes());
}

/// Everything a bridge session for `server_id` needs, from the state and the keychain,
/// once `binding` (the id in the entry that started it) proved the entry is the server's:
/// the guarded HTTP client, the server's URL, its static header credentials and its
/// OAuth store. Audits one `released` event per header credential ("bridge started") and
/// refreshes an access token that is about to expire before the first request (a failed
/// refresh is reported and left to the first request to retry or ask for sign-in).
/// `sign_in`'s client metadata URL is taken from the server's record.
pub fn prepare(
    ctx: &Context,
    server_id: &str,
    binding: Option<&str>,
    sign_in: Option<SignInPolicy>,
    report: Reporter,
    now: &str,
) -> Result<Bridge> {
    // Nothing is read from the keychain for an entry that is not the server's own.
    crate::ops::remote::admit_bridge(
        &State::load(&ctx.paths)?,
        &ctx.audit,
        server_id,
        binding,
        now,
    )?;
    let Opened {
        http,
        store,
        url,
        remote,
    } = signin::open(&ctx.paths, &ctx.audit, server_id, || ctx.vault(), &report)?;
    // The server's own client metadata document, whatever the caller passed.
    let sign_in = sign_in.map(|p| SignInPolicy {
        client_metadata_url: remote.client_metadata_url.clone(),
        ..p
    });
    let state = State::load(&ctx.paths)?;
    let server = state.server(server_id)?;
    let mut headers = Vec::new();
    let mut events = Vec::new();
    // One keychain session at most (the OAuth store's, when there is one), and none for
    // a server without static headers or a sign-in: opening one is most of a cold start.
    let mut vault = store.as_ref().map(|s| s.vault.clone());
    for b in &server.bindings {
        let released = |target: &Target| {
            Event::new(EventKind::Released, Outcome::Ok, now)
                .server(server_id)
                .host(&server.host)
                .credential(&b.credential)
                .target(target.clone())
                .process(std::process::id(), None, None)
                .fingerprint(&server.fingerprint)
                .detail("bridge started")
        };
        let target = Target::from(b.target.as_str());
        // A key in the URL was filled in by `signin::open`; it is released all the same.
        if matches!(target, Target::Url) {
            events.push(released(&target));
            continue;
        }
        let Target::Header(name) = &target else {
            continue;
        };
        if Some(&b.credential) != remote.oauth_credential.as_ref() {
            let v = match &vault {
                Some(v) => v,
                None => vault.insert(ctx.vault()?),
            };
            if let Some(value) = v.get(&b.credential)? {
                headers.push((name.clone(), value));
            }
        }
        events.push(released(&target));
    }
    ctx.audit.append(events)?;
    if let Some(st) = &store
        && let Some(ts) = st.load()?
        && ts.access_token.is_some()
        && ts.usable(unix_now(), ts.refresh_ahead()).is_none()
        && let Err(e) = st.fresh(&http, None, &unix_now)
    {
        report.line(&format!("keybroker bridge: {}", e.describe()));
    }
    let guard = server.guard.is_some().then(|| {
        GuardSession::open(
            &ctx.paths,
            &ctx.audit,
            server,
            crate::base::clock::now_rfc3339,
        )
    });
    Ok(Bridge {
        server_id: server_id.to_string(),
        url,
        http,
        headers,
        store,
        sign_in,
        report,
        guard,
    })
}

/// The host's messages after the guard: a refused call is answered to the host here and
/// never read by the bridge.
struct GuardedInput<R> {
    session: Arc<GuardSession>,
    inner: R,
    out: Out,
    line: Vec<u8>,
    pos: usize,
}

impl<R: BufRead> std::io::Read for GuardedInput<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for GuardedInput<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.pos >= self.line.len() {
            self.line.clear();
            self.pos = 0;
            if self.inner.read_until(b'\n', &mut self.line)? == 0 {
                break;
            }
            let Some(msg) = self.line.strip_suffix(b"\n") else {
                break;
            };
            let (action, extra) = self.session.client_line(msg);
            if let Some(extra) = extra {
                write_msg(&self.out, extra);
            }
            if let FromClient::Answer { forward, reply } = action {
                if !reply.is_empty() {
                    write_msg(&self.out, &reply);
                }
                self.line = forward
                    .map(|mut f| {
                        f.push(b'\n');
                        f
                    })
                    .unwrap_or_default();
            }
        }
        Ok(&self.line[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.line.len());
    }
}

/// The server's messages on their way to the host, through the guard.
struct GuardedOut {
    session: Arc<GuardSession>,
    inner: Out,
    buf: Vec<u8>,
}

impl Write for GuardedOut {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        while let Some(i) = memchr::memchr(b'\n', &self.buf) {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            let msg = &line[..line.len() - 1];
            let mut w = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            match self.session.server_line(msg) {
                FromServer::Forward => w.write_all(&line)?,
                FromServer::Replace(new) => {
                    w.write_all(&new)?;
                    w.write_all(b"\n")?;
                }
            }
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).flush()
    }
}

impl Bridge {
    /// Run until `input` ends. Messages are handled one at a time in order, except that
    /// requests after initialize run concurrently (a slow tool call blocks nothing).
    pub fn run(mut self, input: impl BufRead, out: Out) -> Result<()> {
        let Some(session) = self.guard.take() else {
            return self.run_plain(input, out);
        };
        let guarded_out: Out = Arc::new(Mutex::new(Box::new(GuardedOut {
            session: session.clone(),
            inner: out.clone(),
            buf: Vec::new(),
        })));
        let guarded_in = GuardedInput {
            session: session.clone(),
            inner: input,
            out,
            line: Vec::new(),
            pos: 0,
        };
        let result = self.run_plain(guarded_in, guarded_out);
        session.finish();
        result
    }

    fn run_plain(self, input: impl BufRead, out: Out) -> Result<()> {
        let this = Arc::new(self);
        let session = Arc::new(Mutex::new(Session::default()));
        if let Some(store) = &this.store {
            lock(&session).set_tokens(store.load()?);
        }
        let auth_gate = Arc::new(Mutex::new(()));
        std::thread::scope(|scope| {
            for line in input.split(b'\n') {
                let Ok(line) = line else { break };
                let line = one_line(&line);
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let parsed: Value = match serde_json::from_slice(&line) {
                    Ok(v) => v,
                    Err(_) => {
                        this.report.line(
                            "keybroker bridge: ignored a line from the host that is not JSON",
                        );
                        continue;
                    }
                };
                let method = parsed
                    .get("method")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let is_request = method.is_some() && parsed.get("id").is_some();
                if method.as_deref() == Some("initialize") {
                    self::remember(&this, &session, |s| s.init_request = Some(line.clone()));
                } else if method.as_deref() == Some("notifications/initialized") {
                    self::remember(&this, &session, |s| s.initialized_note = Some(line.clone()));
                }
                let (t, s, o, g) = (
                    this.clone(),
                    session.clone(),
                    out.clone(),
                    auth_gate.clone(),
                );
                if is_request && method.as_deref() != Some("initialize") {
                    scope.spawn(move || t.deliver(&s, &o, &g, &line, &parsed));
                } else {
                    t.deliver(&session, &out, &auth_gate, &line, &parsed);
                    if method.as_deref() == Some("notifications/initialized") {
                        let start = {
                            let mut st = lock(&session);
                            st.legacy_post.is_none()
                                && !std::mem::replace(&mut st.get_stream_started, true)
                        };
                        if start {
                            let (t, s, o) = (this.clone(), session.clone(), out.clone());
                            // Detached: it ends with the process.
                            std::thread::spawn(move || t.get_stream(&s, &o));
                        }
                    }
                }
            }
        });
        this.close(&session);
        Ok(())
    }

    /// The headers of one request to `url` with `method`: session, version, the
    /// credential (with a fresh DPoP proof for this very request when the token is
    /// DPoP-bound, RFC 9449 section 7), static headers.
    fn headers(
        &self,
        session: &Session,
        accept: &str,
        method: &str,
        url: &Url,
    ) -> Vec<(String, String)> {
        let mut h = vec![("Accept".to_string(), accept.to_string())];
        if let Some(id) = &session.id {
            h.push(("Mcp-Session-Id".into(), id.clone()));
        }
        if let Some(v) = &session.protocol {
            h.push(("MCP-Protocol-Version".into(), v.clone()));
        }
        if let Some(ts) = &session.tokens
            && let Some(tok) = ts.access_token.as_deref()
        {
            match session.dpop.as_ref().filter(|_| ts.is_dpop()) {
                Some(key) => {
                    h.push(("Authorization".into(), format!("DPoP {tok}")));
                    let nonce = session.dpop_nonce.as_deref();
                    if let Ok(proof) = key.dpop_proof(method, url, Some(tok), nonce, unix_now()) {
                        h.push(("DPoP".into(), proof));
                    }
                }
                None => h.push(("Authorization".into(), format!("Bearer {tok}"))),
            }
        }
        for (name, value) in &self.headers {
            h.push((name.clone(), value.expose().to_string()));
        }
        h
    }

    fn post(&self, session: &Mutex<Session>, body: &[u8], msg: &Value) -> Result<Response> {
        let headers = {
            let s = lock(session);
            let target = s.legacy_post.as_ref().unwrap_or(&self.url);
            let mut h = self.headers(&s, "application/json, text/event-stream", "POST", target);
            h.push(("Content-Type".into(), "application/json".into()));
            // Stateless lifecycle (2026-07-28): each request names its protocol version
            // in `_meta`; the header must match it.
            if let Some(v) = msg
                .pointer("/params/_meta/io.modelcontextprotocol~1protocolVersion")
                .and_then(Value::as_str)
                .filter(|v| headers::is_visible(v))
            {
                h.retain(|(k, _)| k != "MCP-Protocol-Version");
                h.push(("MCP-Protocol-Version".into(), v.to_string()));
            }
            // Standard request headers (SEP-2243, 2026-07-28): the method, and the tool or
            // prompt name or resource URI, so gateways can route without the body. A name
            // that is not plain ASCII goes Base64-encoded (THREATS 37); so do the
            // arguments a tool declares with `x-mcp-header`.
            if let Some(m) = msg
                .get("method")
                .and_then(Value::as_str)
                .filter(|m| headers::is_visible(m))
            {
                h.push(("Mcp-Method".into(), m.to_string()));
                let name = match m {
                    "tools/call" | "prompts/get" => msg.pointer("/params/name"),
                    "resources/read" => msg.pointer("/params/uri"),
                    _ => None,
                };
                if let Some(n) = name.and_then(Value::as_str) {
                    h.push(("Mcp-Name".into(), headers::encode_value(n)));
                }
                if m == "tools/call"
                    && let Some(decls) = name.and_then(Value::as_str).and_then(|n| s.tools.get(n))
                    && let Ok(params) = headers::mirror(decls, msg.pointer("/params/arguments"))
                {
                    h.extend(params);
                }
            }
            h
        };
        let refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let target = lock(session).legacy_post.clone();
        let url = target.as_ref().unwrap_or(&self.url);
        self.http
            .send("POST", url, &refs, Some(body), true, "MCP request")
    }

    /// Fall back to the legacy HTTP+SSE transport: GET the URL as an event stream, wait
    /// for its `endpoint` event (same origin only, THREATS 25), then keep pumping the
    /// stream's messages to stdout in the background.
    fn legacy_connect(&self, session: &Mutex<Session>, out: &Out) -> Result<()> {
        let headers = {
            let s = lock(session);
            self.headers(&s, "text/event-stream", "GET", &self.url)
        };
        let refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let resp = self
            .http
            .send("GET", &self.url, &refs, None, true, "legacy SSE stream")?;
        if resp.status != 200 || resp.content_type() != "text/event-stream" {
            return Err(Error::other(
                format!(
                    "{} speaks neither Streamable HTTP nor the legacy HTTP+SSE transport (GET answered HTTP {})",
                    redact(&self.url),
                    resp.status
                ),
                "check the server URL",
            ));
        }
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let out = out.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            read_sse(resp.body, |ev| {
                if ev.event == "endpoint" {
                    if let Some(t) = tx.take() {
                        let _ = t.send(ev.data);
                    }
                } else if (ev.event.is_empty() || ev.event == "message")
                    && !ev.data.trim().is_empty()
                {
                    write_msg(&out, ev.data.as_bytes());
                }
                true
            });
        });
        let endpoint = rx.recv_timeout(Duration::from_secs(15)).map_err(|_| {
            Error::other(
                "the legacy SSE stream sent no endpoint event",
                "check the server URL",
            )
        })?;
        let post = self.url.join(endpoint.trim()).map_err(|_| {
            Error::other(
                "the legacy SSE endpoint is not a URL",
                "tell the server's operator",
            )
        })?;
        if post.origin() != self.url.origin() {
            return Err(Error::Denied {
                message: format!(
                    "the legacy SSE stream points messages at another origin ({})",
                    redact(&post)
                ),
                fix: "credentials are never sent to another origin; tell the server's operator"
                    .into(),
            });
        }
        lock(session).legacy_post = Some(post);
        Ok(())
    }

    /// POST one message and route the answer; errors for requests become JSON-RPC errors.
    fn deliver(
        &self,
        session: &Mutex<Session>,
        out: &Out,
        gate: &Mutex<()>,
        line: &[u8],
        msg: &Value,
    ) {
        let id = msg.get("id").cloned();
        let is_request = msg.get("method").is_some() && id.is_some();
        if let Err(e) = self.deliver_inner(session, out, gate, line, msg) {
            let message = e.to_string();
            let first = message.lines().next().unwrap_or("").to_string();
            self.report
                .line(&format!("keybroker bridge: {}", e.describe()));
            if let (true, Some(id)) = (is_request, id) {
                let code = if matches!(e, Error::NeedsSignIn { .. }) {
                    -32001
                } else {
                    -32603
                };
                rpc_error(out, &id, code, &format!("keybroker: {first}"));
            }
        }
    }

    fn deliver_inner(
        &self,
        session: &Mutex<Session>,
        out: &Out,
        gate: &Mutex<()>,
        line: &[u8],
        msg: &Value,
    ) -> Result<()> {
        if let Some(why) = lock(session).refused.clone() {
            return Err(self.needs_sign_in(&why));
        }
        if let (Some(id), Some(why)) = (msg.get("id"), self.refusal(session, msg)) {
            self.report.line(&format!("keybroker bridge: {why}"));
            rpc_error(out, id, -32602, &format!("keybroker: {why}"));
            return Ok(());
        }
        let method = msg.get("method").and_then(Value::as_str);
        let mut refreshed = false;
        let mut signed_in = false;
        let mut step_ups = 0;
        let mut reinitialized = false;
        let mut relisted = false;
        let mut nonce_retried = false;
        loop {
            let resp = self.post(session, line, msg)?;
            let status = resp.status;
            if let Some(n) = resp.header("dpop-nonce").filter(|n| headers::is_visible(n)) {
                lock(session).dpop_nonce = Some(n.to_string());
            }
            if status >= 400 && status != 401 && status != 403 {
                // A JSON-RPC answer to this request (2026-07-28 servers answer an
                // unsupported version, a header mismatch or an unknown method so) goes to
                // the host as it is; the host decides what to do with it.
                let text = resp.text().unwrap_or_default();
                if let Some(reply) = reply_to(msg, &text) {
                    if !relisted
                        && method == Some("tools/call")
                        && reply.pointer("/error/code").and_then(Value::as_i64)
                            == Some(HEADER_MISMATCH)
                    {
                        // The tool's declarations may have changed (or were never seen):
                        // list the tools again, then retry once.
                        relisted = true;
                        if self.relist_tools(session, msg).is_ok() {
                            continue;
                        }
                    }
                    write_msg(out, text.as_bytes());
                    return Ok(());
                }
                match status {
                    400 | 404 | 405
                        if method == Some("initialize")
                            && lock(session).legacy_post.is_none()
                            && lock(session).id.is_none() =>
                    {
                        // Not a Streamable HTTP server: try the 2024-11-05 transport.
                        self.legacy_connect(session, out)?;
                    }
                    404 if !reinitialized
                        && lock(session).id.is_some()
                        && method != Some("initialize") =>
                    {
                        reinitialized = true;
                        self.reinitialize(session, out)?;
                    }
                    _ => {
                        return Err(Error::other(
                            format!("{} answered HTTP {status}", redact(&self.url)),
                            "check the server URL; try again later",
                        ));
                    }
                }
                continue;
            }
            match status {
                200..=299 => return self.handle_success(session, out, resp, msg),
                401 => {
                    let challenge = resp
                        .header("www-authenticate")
                        .and_then(discovery::parse_challenge);
                    // The server wants its nonce in the proof (RFC 9449 section 9):
                    // retry once with it, the token is fine.
                    if !nonce_retried
                        && challenge.as_ref().and_then(|c| c.error.as_deref())
                            == Some("use_dpop_nonce")
                        && lock(session).dpop_nonce.is_some()
                    {
                        nonce_retried = true;
                        continue;
                    }
                    let stale = lock(session)
                        .tokens
                        .as_ref()
                        .and_then(|t| t.access_token.clone());
                    if !refreshed && stale.is_some() {
                        refreshed = true;
                        let _g = gate.lock().unwrap_or_else(|p| p.into_inner());
                        if let Some(store) = &self.store {
                            match store.fresh(&self.http, stale.as_deref(), &unix_now) {
                                Ok(ts) => {
                                    lock(session).set_tokens(Some(ts));
                                    continue;
                                }
                                Err(Error::NeedsSignIn { .. }) => {}
                                Err(e) => return Err(e),
                            }
                        }
                    }
                    if signed_in {
                        return Err(self.needs_sign_in("the server rejected the new token"));
                    }
                    signed_in = true;
                    self.authorize(session, gate, challenge.as_ref(), stale.as_deref())?;
                }
                403 => {
                    let challenge = resp
                        .header("www-authenticate")
                        .and_then(discovery::parse_challenge);
                    let insufficient = challenge.as_ref().and_then(|c| c.error.as_deref())
                        == Some("insufficient_scope");
                    if !insufficient {
                        return Err(Error::other(
                            format!("{} refused the request (HTTP 403)", redact(&self.url)),
                            "check that your account may use this server",
                        ));
                    }
                    if step_ups >= MAX_STEP_UPS {
                        return Err(Error::other(
                            format!(
                                "{} still demands more scope after {MAX_STEP_UPS} new sign-ins",
                                redact(&self.url)
                            ),
                            "the server keeps asking for scopes it does not grant; tell its operator",
                        ));
                    }
                    step_ups += 1;
                    let stale = lock(session)
                        .tokens
                        .as_ref()
                        .and_then(|t| t.access_token.clone());
                    self.authorize(session, gate, challenge.as_ref(), stale.as_deref())?;
                }
                300..=399 => {
                    return Err(Error::Denied {
                        message: format!(
                            "{} answered with a redirect; the bridge follows none",
                            redact(&self.url)
                        ),
                        fix: "add the server again with its final URL".into(),
                    });
                }
                status => {
                    return Err(Error::other(
                        format!("{} answered HTTP {status}", redact(&self.url)),
                        "check the server URL; try again later",
                    ));
                }
            }
        }
    }

    /// Why a request must not be sent (answered by the bridge with "invalid params"): a
    /// call to a tool left out of `tools/list`, or an argument a tool mirrors into a
    /// header that has no header form.
    fn refusal(&self, session: &Mutex<Session>, msg: &Value) -> Option<String> {
        if msg.get("method").and_then(Value::as_str) != Some("tools/call") {
            return None;
        }
        let name = msg.pointer("/params/name").and_then(Value::as_str)?;
        let s = lock(session);
        if let Some(why) = s.invalid_tools.get(name) {
            return Some(format!("tool `{name}` is not available: {why}"));
        }
        let decls = s.tools.get(name)?;
        headers::mirror(decls, msg.pointer("/params/arguments"))
            .err()
            .map(|why| format!("tool `{name}`: {why}"))
    }

    /// Take note of a `tools/list` answer: each tool's `x-mcp-header` declarations, and
    /// the tools with an invalid one, which are left out of the answer (spec 2026-07-28,
    /// "Custom Headers from Tool Parameters"). Returns the answer to relay: the bytes as
    /// the server sent them unless a tool was left out.
    fn note_tools(
        &self,
        session: &Mutex<Session>,
        request: &Value,
        data: &[u8],
    ) -> Option<Vec<u8>> {
        if request.get("method").and_then(Value::as_str) != Some("tools/list") {
            return None;
        }
        let mut v: Value = serde_json::from_slice(data).ok()?;
        if v.get("id") != request.get("id") {
            return None;
        }
        let result = v.get_mut("result")?;
        let (valid, invalid) = headers::check_tools(result);
        let mut s = lock(session);
        for (name, decls) in valid {
            s.invalid_tools.remove(&name);
            s.tools.insert(name, decls);
        }
        if invalid.is_empty() {
            return None;
        }
        for (name, why) in invalid {
            self.report.line(&format!(
                "keybroker bridge: left tool `{name}` out of the tool list: {why}"
            ));
            s.tools.remove(&name);
            s.invalid_tools.insert(name, why);
        }
        serde_json::to_vec(&v).ok()
    }

    /// List the tools again (all pages) for their current declarations; nothing of it
    /// goes to the host. `call`: the request that needs them (its `_meta` is reused).
    fn relist_tools(&self, session: &Mutex<Session>, call: &Value) -> Result<()> {
        let mut cursor: Option<Value> = None;
        for page in 0..20 {
            let mut params = serde_json::Map::new();
            if let Some(meta) = call.pointer("/params/_meta") {
                params.insert("_meta".into(), meta.clone());
            }
            if let Some(c) = cursor.take() {
                params.insert("cursor".into(), c);
            }
            let request = serde_json::json!({"jsonrpc": "2.0", "id": format!("keybroker-tools-{page}"),
                "method": "tools/list", "params": params});
            let body = request.to_string();
            let resp = self.post(session, body.as_bytes(), &request)?;
            if !(200..300).contains(&resp.status) {
                return Err(Error::other(
                    format!("listing the tools again failed (HTTP {})", resp.status),
                    "try again",
                ));
            }
            let mut answer: Option<Vec<u8>> = None;
            if resp.content_type() == "text/event-stream" {
                read_sse(resp.body, |ev| {
                    if reply_to(&request, &ev.data).is_some() {
                        answer = Some(ev.data.into_bytes());
                        return false;
                    }
                    true
                });
            } else {
                answer = Some(resp.text()?.into_bytes());
            }
            let Some(answer) = answer else { break };
            self.note_tools(session, &request, &answer);
            let next = serde_json::from_slice::<Value>(&answer)
                .ok()
                .and_then(|v| v.pointer("/result/nextCursor").cloned())
                .filter(|c| !c.is_null());
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        Ok(())
    }

    fn needs_sign_in(&self, reason: &str) -> Error {
        Error::NeedsSignIn {
            server: self.server_id.clone(),
            reason: reason.into(),
        }
    }

    /// Sign in (again), once at a time; `stale`: the token the server just rejected.
    fn authorize(
        &self,
        session: &Mutex<Session>,
        gate: &Mutex<()>,
        challenge: Option<&Challenge>,
        stale: Option<&str>,
    ) -> Result<()> {
        let _g = gate.lock().unwrap_or_else(|p| p.into_inner());
        let Some(store) = &self.store else {
            // A server keyed by a header or its URL that offers no sign-in refused the key.
            if challenge.is_none() {
                return Err(Error::other(
                    format!(
                        "{} refused the credential Keybroker sent for {} (HTTP 401) and offers no sign-in",
                        redact(&self.url),
                        self.server_id
                    ),
                    "check that the key is still valid; to change it, restore the entry (`keybroker restore`), put the new key in and import it again",
                ));
            }
            return Err(Error::other(
                format!(
                    "{} demands sign-in, but Keybroker has no OAuth credential for it",
                    self.server_id
                ),
                format!("run `keybroker connect {}`", self.server_id),
            ));
        };
        // Another thread may have signed in while we waited.
        let current = store.load()?;
        if let Some(tok) = current.as_ref().and_then(|t| t.access_token.as_deref())
            && Some(tok) != stale
            && challenge.and_then(|c| c.error.as_deref()) != Some("insufficient_scope")
        {
            lock(session).set_tokens(current.clone());
            return Ok(());
        }
        if let Some(machine) = current.as_ref().filter(|t| t.machine.is_some()) {
            // Refused before: only the user's `keybroker connect` asks again.
            let refused = |why: String| {
                let mut s = lock(session);
                s.set_tokens(None);
                s.refused = Some(why);
            };
            if let Some(why) = machine.refusal() {
                refused(why.clone());
                return Err(self.needs_sign_in(&why));
            }
            // A machine credential: new tokens without a browser, whatever the policy.
            let previous_scope = machine.scope.as_deref().filter(|_| {
                challenge.and_then(|c| c.error.as_deref()) == Some("insufficient_scope")
            });
            let ts = signin::machine_sign_in(
                &self.http,
                store,
                &self.url,
                challenge,
                machine,
                previous_scope,
            )
            .inspect_err(|e| {
                if let Error::NeedsSignIn { reason, .. } = e {
                    refused(reason.clone());
                }
            })?;
            lock(session).set_tokens(Some(ts));
            return Ok(());
        }
        let Some(policy) = &self.sign_in else {
            // Tokens dropped after a refused refresh: say so rather than a bare "asks".
            let why = current.as_ref().and_then(|t| t.signed_out.as_deref());
            return Err(self.needs_sign_in(why.unwrap_or("the server asks for sign-in")));
        };
        let disc = discovery::discover(&self.http, &self.url, challenge)?;
        let previous_scope = current
            .as_ref()
            .filter(|t| t.issuer.as_deref() == Some(disc.auth_server.issuer.as_str()))
            .and_then(|t| t.scope.clone());
        let pre = current
            .as_ref()
            .and_then(|t| t.client.as_ref())
            .filter(|c| c.source == "pre-registered")
            .cloned();
        let req = flow::SignIn {
            server_id: &self.server_id,
            discovery: &disc,
            challenged_scope: challenge.and_then(|c| c.scope.as_deref()),
            previous_scope: previous_scope.as_deref(),
            previous: current.as_ref(),
            pre_registered: pre.as_ref(),
            client_metadata_url: policy.client_metadata_url.as_deref(),
            browser: policy.browser.clone(),
            timeout: policy.timeout,
            cancel: None,
            report: &self.report,
        };
        let ts = flow::sign_in(&self.http, &req, unix_now)?;
        store.save(&ts)?;
        store.audit_event(
            EventKind::Authorized,
            Outcome::Ok,
            "signed in from the bridge",
        )?;
        lock(session).set_tokens(Some(ts));
        Ok(())
    }

    fn handle_success(
        &self,
        session: &Mutex<Session>,
        out: &Out,
        resp: Response,
        msg: &Value,
    ) -> Result<()> {
        let is_init = msg.get("method").and_then(Value::as_str) == Some("initialize");
        if let Some(sid) = resp.header("mcp-session-id") {
            if !valid_session_id(sid) {
                return Err(Error::Denied {
                    message: "the server sent an Mcp-Session-Id with invalid characters".into(),
                    fix: "the server is broken or hostile; tell its operator".into(),
                });
            }
            if is_init {
                lock(session).id = Some(sid.to_string());
            }
        }
        if resp.status == 202 || lock(session).legacy_post.is_some() {
            // Legacy transport: answers arrive on the event stream.
            return Ok(());
        }
        let ctype = resp.content_type();
        let want_id = msg
            .get("id")
            .cloned()
            .filter(|_| msg.get("method").is_some());
        if ctype == "text/event-stream" {
            return self.pump_post_stream(session, out, resp, msg, want_id, is_init);
        }
        let text = resp.text()?;
        if text.trim().is_empty() {
            return Ok(());
        }
        if is_init {
            self.note_init_result(session, text.as_bytes());
        }
        match self.note_tools(session, msg, text.as_bytes()) {
            Some(kept) => write_msg(out, &kept),
            None => write_msg(out, text.as_bytes()),
        }
        Ok(())
    }

    fn note_init_result(&self, session: &Mutex<Session>, bytes: &[u8]) {
        if let Ok(v) = serde_json::from_slice::<Value>(bytes)
            && let Some(p) = v.pointer("/result/protocolVersion").and_then(Value::as_str)
            && p.bytes().all(|b| (0x21..=0x7e).contains(&b))
        {
            lock(session).protocol = Some(p.to_string());
        }
    }

    /// Pump a POST's SSE stream until the response to `want_id` arrives; if the stream
    /// ends first, resume with GET + `Last-Event-ID` after the server's `retry` delay.
    fn pump_post_stream(
        &self,
        session: &Mutex<Session>,
        out: &Out,
        resp: Response,
        msg: &Value,
        want_id: Option<Value>,
        is_init: bool,
    ) -> Result<()> {
        let mut last_id: Option<String> = None;
        let mut retry_ms: u64 = 1000;
        let mut body = resp.body;
        for _attempt in 0..5 {
            let mut done = false;
            read_sse(body, |ev| {
                if let Some(id) = &ev.id {
                    last_id = Some(id.clone());
                }
                if let Some(r) = ev.retry {
                    retry_ms = r;
                }
                if (ev.event.is_empty() || ev.event == "message") && !ev.data.trim().is_empty() {
                    if is_init {
                        self.note_init_result(session, ev.data.as_bytes());
                    }
                    if let (Some(want), Ok(v)) = (&want_id, serde_json::from_str::<Value>(&ev.data))
                        && v.get("id") == Some(want)
                        && (v.get("result").is_some() || v.get("error").is_some())
                    {
                        done = true;
                    }
                    match self.note_tools(session, msg, ev.data.as_bytes()) {
                        Some(kept) => write_msg(out, &kept),
                        None => write_msg(out, ev.data.as_bytes()),
                    }
                }
                !done
            });
            if done || want_id.is_none() {
                return Ok(());
            }
            let Some(resume_from) = last_id.clone() else {
                return Err(Error::other(
                    "the server closed the response stream before answering",
                    "try again",
                ));
            };
            std::thread::sleep(Duration::from_millis(retry_ms.min(60_000)));
            let headers = {
                let s = lock(session);
                let mut h = self.headers(&s, "text/event-stream", "GET", &self.url);
                h.push(("Last-Event-ID".into(), resume_from));
                h
            };
            let refs: Vec<(&str, &str)> = headers
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            let r = self
                .http
                .send("GET", &self.url, &refs, None, true, "MCP stream resumption")?;
            if r.status != 200 {
                return Err(Error::other(
                    format!("resuming the response stream failed (HTTP {})", r.status),
                    "try again",
                ));
            }
            body = r.body;
        }
        Err(Error::other(
            "the response stream kept breaking",
            "try again later",
        ))
    }

    /// The GET stream for server-initiated messages; ends quietly when unsupported.
    fn get_stream(&self, session: &Mutex<Session>, out: &Out) {
        let mut last_id: Option<String> = None;
        let mut retry_ms: u64 = 1000;
        for _ in 0..20 {
            let headers = {
                let s = lock(session);
                let mut h = self.headers(&s, "text/event-stream", "GET", &self.url);
                if let Some(l) = &last_id {
                    h.push(("Last-Event-ID".into(), l.clone()));
                }
                h
            };
            let refs: Vec<(&str, &str)> = headers
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            let Ok(resp) = self
                .http
                .send("GET", &self.url, &refs, None, true, "MCP event stream")
            else {
                return;
            };
            if resp.status != 200 || resp.content_type() != "text/event-stream" {
                return;
            }
            read_sse(resp.body, |ev| {
                if let Some(id) = &ev.id {
                    last_id = Some(id.clone());
                }
                if let Some(r) = ev.retry {
                    retry_ms = r;
                }
                if (ev.event.is_empty() || ev.event == "message") && !ev.data.trim().is_empty() {
                    write_msg(out, ev.data.as_bytes());
                }
                true
            });
            std::thread::sleep(Duration::from_millis(retry_ms.min(60_000)));
        }
    }

    /// The server lost our session (404): initialize again with the host's original
    /// initialize request; the answer is not forwarded (the host already has one).
    fn reinitialize(&self, session: &Mutex<Session>, _out: &Out) -> Result<()> {
        let (init, note) = {
            let mut s = lock(session);
            s.id = None;
            (s.init_request.clone(), s.initialized_note.clone())
        };
        let Some(init) = init else {
            return Err(Error::other(
                "the server lost the session before it was initialized",
                "restart the host",
            ));
        };
        let sink: Out = Arc::new(Mutex::new(Box::new(std::io::sink())));
        let gate = Mutex::new(());
        let msg: Value = serde_json::from_slice(&init).unwrap_or(Value::Null);
        self.deliver_inner(session, &sink, &gate, &init, &msg)?;
        if let Some(note) = note {
            let v: Value = serde_json::from_slice(&note).unwrap_or(Value::Null);
            self.deliver_inner(session, &sink, &gate, &note, &v)?;
        }
        Ok(())
    }

    /// End the session: DELETE with its id (servers may answer 405; that is fine).
    fn close(&self, session: &Mutex<Session>) {
        let headers = {
            let s = lock(session);
            if s.id.is_none() || s.legacy_post.is_some() {
                return;
            }
            self.headers(&s, "application/json", "DELETE", &self.url)
        };
        let refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let _ = self
            .http
            .send("DELETE", &self.url, &refs, None, false, "MCP session end");
    }
}

fn lock(s: &Mutex<Session>) -> std::sync::MutexGuard<'_, Session> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

fn remember(_b: &Bridge, session: &Mutex<Session>, f: impl FnOnce(&mut Session)) {
    f(&mut lock(session));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_with_control_characters_are_invalid() {
        assert!(valid_session_id("abc-123_XYZ"));
        assert!(!valid_session_id("abc\r\nSet-Cookie: x"));
        assert!(!valid_session_id("a b"));
        assert!(!valid_session_id(""));
        assert!(!valid_session_id("caf\u{e9}"));
    }

    #[test]
    fn one_line_keeps_unknown_fields_and_string_escapes() {
        let pretty = b"{\n  \"jsonrpc\": \"2.0\",\r\n  \"id\": 1,\n  \"x-unknown\": {\"a\\nb\": [1.0, 1e3]}\n}";
        let line = one_line(pretty);
        assert!(!line.contains(&b'\n'));
        let a: Value = serde_json::from_slice(pretty).expect("json");
        let b: Value = serde_json::from_slice(&line).expect("json");
        assert_eq!(a, b);
        assert!(
            String::from_utf8_lossy(&line).contains("1e3"),
            "numbers are not re-encoded"
        );
    }

    #[test]
    fn sse_events_are_parsed_with_ids_retry_and_multiline_data() {
        let stream = b": comment\nid: 7\nretry: 500\n\nevent: message\ndata: {\"a\":\ndata: 1}\nid: 8\n\ndata: x\n\n";
        let mut got = Vec::new();
        read_sse(&stream[..], |e| {
            got.push(e);
            true
        });
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].retry, Some(500));
        assert_eq!(got[0].id.as_deref(), Some("7"));
        assert_eq!(got[1].data, "{\"a\":\n1}");
        assert_eq!(got[1].id.as_deref(), Some("8"));
        assert_eq!(got[2].data, "x");
    }
}
