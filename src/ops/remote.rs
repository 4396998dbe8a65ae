//! Remote (HTTP) servers: adding one by URL and writing the host entry that reaches it
//! through `keybroker bridge --binding <b> <server-id>`.
//!
//! The host config gets a plain stdio entry (`command` = this binary, `args` =
//! `["bridge", "--binding", "<b>", "<id>"]`), so hosts that only spawn stdio servers reach
//! remote servers too, and no URL token or header value is ever left in the file. The
//! binding id binds the entry to its file as it does for `keybroker run`: the bridge
//! refuses to attach a server's tokens for an entry that does not carry it. The entry is written
//! through the same conflict-checked atomic path as imports. Sign-in itself is
//! `oauth`'s job; carrying traffic is `bridge`'s.

use std::path::Path;

use serde_json::{Value, json};

use crate::base::error::{Error, Result};
use crate::base::fsutil;
use crate::base::paths::Paths;
use crate::base::report::Reporter;
use crate::base::secret::Secret;
use crate::config::doc::ConfigDoc;
use crate::config::hosts::Format;
use crate::config::hosts::Host;
use crate::net::{Policy, parse_proxy_url, parse_server_url, redact};
use crate::oauth::{ClientReg, Store, TokenSet};
use crate::store::audit::{AuditLog, Event, EventKind, Outcome};
pub use crate::store::state::Remote;
use crate::store::state::{self, Binding, Credential, Server, State, Transport};
use crate::store::vault::Vault;

/// A static header credential (API key, static bearer token).
pub struct HeaderSecret {
    pub name: String,
    pub value: Secret,
}

pub struct AddRequest<'a> {
    pub host: Host,
    pub config_path: &'a Path,
    pub name: &'a str,
    pub url: &'a str,
    pub allow_http: bool,
    pub launcher: &'a Path,
    pub headers: Vec<HeaderSecret>,
    /// A client registered by hand (`--client-id`, `--client-secret-stdin`).
    pub client: Option<(String, Option<Secret>)>,
    /// The authorization server that client was registered with (`--issuer`). Without
    /// it the client is bound to the issuer of its first successful sign-in.
    pub issuer: Option<&'a str>,
    pub client_metadata_url: Option<&'a str>,
    /// The HTTP proxy for this server only (`--proxy`); `None`: connect directly.
    pub proxy: Option<&'a str>,
    /// Replace an existing entry of the same name.
    pub replace: bool,
    pub now: &'a str,
}

/// What a static bearer token that is a JWT says about itself, read without verifying
/// the signature (only to warn and to show whom it is for; never to trust it).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct JwtInfo {
    pub exp: Option<i64>,
    pub aud: Option<String>,
    pub sub: Option<String>,
    pub scope: Option<String>,
}

pub fn peek_jwt(value: &str) -> Option<JwtInfo> {
    use base64::Engine;
    let token = value.strip_prefix("Bearer ").unwrap_or(value).trim();
    let mut parts = token.split('.');
    let (_h, p, _s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(p.trim_end_matches('='))
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    let text = |k: &str| match v.get(k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(a)) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => None,
    };
    Some(JwtInfo {
        exp: v.get("exp").and_then(Value::as_i64),
        aud: text("aud"),
        sub: text("sub"),
        scope: text("scope").or_else(|| text("scp")),
    })
}

/// A warning line for a static bearer token that expires within `days` (or already has).
pub fn jwt_expiry_warning(info: &JwtInfo, now: i64, days: i64) -> Option<String> {
    let exp = info.exp?;
    if exp <= now {
        Some("warning: this token has already expired".into())
    } else if exp - now < days * 86_400 {
        Some(format!(
            "warning: this token expires in {} hour(s)",
            (exp - now) / 3600
        ))
    } else {
        None
    }
}

/// A stdio entry that runs `keybroker bridge [--binding <b>] <id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bridged {
    /// The entry's `command`: the launcher it names.
    pub launcher: String,
    pub server_id: String,
    /// `None` in entries written before bridge entries carried binding ids.
    pub binding: Option<String>,
}

/// The bridge arguments of an entry: `bridge --binding <b> <id>` (the form import and
/// `add` write), the older `bridge <id>`, and `--binding` after the id; nothing else.
pub fn as_bridged(command: &str, args: &[String]) -> Option<Bridged> {
    let file = Path::new(command).file_name()?.to_str()?;
    let ours = file == "keybroker" || file == "keybroker.exe";
    if !ours || args.first().map(String::as_str) != Some("bridge") {
        return None;
    }
    let (server_id, binding) = crate::config::hosts::launcher_operands(&args[1..])?;
    Some(Bridged {
        launcher: command.to_string(),
        server_id,
        binding,
    })
}

/// The launcher arguments of a bridged server's entry.
pub fn bridge_args(server_id: &str, binding_id: &str) -> Vec<String> {
    ["bridge", "--binding", binding_id, server_id]
        .map(str::to_string)
        .to_vec()
}

/// The stdio entry a host runs for a bridged server.
pub fn bridge_entry(launcher: &Path, server_id: &str, binding_id: &str) -> Value {
    json!({"command": launcher.to_string_lossy(), "args": bridge_args(server_id, binding_id)})
}

/// Whether `keybroker bridge` may carry `server_id`'s credentials for the entry that
/// started it, which gave `binding` (`--binding`): the same rule as the launcher's
/// ([`crate::ops::launch::check_binding`], THREATS 7b). A refusal is audited (`denied`).
pub fn admit_bridge<'s>(
    state: &'s State,
    audit: &AuditLog,
    server_id: &str,
    binding: Option<&str>,
    now: &str,
) -> Result<&'s Server> {
    let checked = state.server(server_id).and_then(|server| {
        crate::ops::launch::check_binding(server, binding)?;
        Ok(server)
    });
    checked.map_err(|err| {
        let mut e = Event::new(EventKind::Denied, Outcome::Denied, now)
            .server(server_id)
            .process(std::process::id(), None, None)
            .detail(format!(
                "bridge: {}",
                err.to_string().lines().next().unwrap_or_default()
            ));
        if let Some((host, _)) = server_id.split_once('/') {
            e = e.host(host);
        }
        audit.append_refusal(vec![e], err)
    })
}

/// Add a remote server: state record, keychain items, and the host entry.
pub fn add(req: &AddRequest<'_>, paths: &Paths, vault: &Vault, audit: &AuditLog) -> Result<String> {
    let url = parse_server_url(req.url, req.allow_http)?;
    // Resolving now tells the user early when the host is unreachable or forbidden.
    Policy::for_server(&url, req.allow_http)?;
    let proxy = req
        .proxy
        .map(|p| parse_proxy_url(p).map(|_| p.trim().to_string()))
        .transpose()?;
    let issuer = req.issuer.map(check_issuer).transpose()?;
    if issuer.is_some() && req.client.is_none() {
        return Err(Error::other(
            "--issuer names the authorization server of a client registered by hand",
            "pass it together with --client-id",
        ));
    }
    let id = format!("{}/{}", req.host.id(), req.name);
    let empty: &[u8] = match req.host.format() {
        Format::Json => b"{}\n",
        Format::Toml => b"",
    };
    let bytes = fsutil::read_optional(req.config_path)?.unwrap_or_else(|| empty.to_vec());
    let mut file = ConfigDoc::parse(req.host, req.config_path, &bytes)?;
    let key = req.host.servers_path();
    if !req.replace && file.entries_at(&key)?.iter().any(|(n, _)| n == req.name) {
        return Err(Error::other(
            format!(
                "{} already has a server named `{}`",
                req.config_path.display(),
                req.name
            ),
            "pick another name, or pass --replace",
        ));
    }
    let binding_id = state::new_binding_id()?;
    let entry = bridge_entry(req.launcher, &id, &binding_id);
    file.set_entry_at(&key, req.name, &entry)?;

    let oauth_cred = format!("{}-oauth", state::slug(&id));
    let mut bindings = Vec::new();
    let mut creds = Vec::new();
    for h in &req.headers {
        let cid = format!("{}-{}", state::slug(&id), state::slug(&h.name));
        vault.set(&cid, &h.value)?;
        bindings.push(Binding {
            target: format!("header:{}", h.name),
            credential: cid.clone(),
        });
        creds.push(Credential {
            id: cid,
            kind: "secret".into(),
            label: format!("{} header {}", id, h.name),
            created: req.now.into(),
            rotated: None,
        });
    }
    let uses_oauth = req
        .headers
        .iter()
        .all(|h| !h.name.eq_ignore_ascii_case("authorization"));
    if uses_oauth {
        if let Some((client_id, secret)) = &req.client {
            let ts = TokenSet {
                client: Some(ClientReg {
                    issuer: issuer.clone(),
                    client_id: client_id.clone(),
                    client_secret: secret.as_ref().map(|s| s.expose().to_string()),
                    auth_method: if secret.is_some() {
                        "client_secret_basic".into()
                    } else {
                        "none".into()
                    },
                    redirect_uri: None,
                    source: "pre-registered".into(),
                }),
                ..TokenSet::default()
            };
            let store = Store {
                paths: paths.clone(),
                vault: vault.clone(),
                audit: audit.clone(),
                server_id: id.clone(),
                credential: oauth_cred.clone(),
                // Only saves the registration: nothing here audits or reports.
                report: Reporter::silent(),
            };
            store.save(&ts)?;
        }
        bindings.push(Binding {
            target: "header:Authorization".into(),
            credential: oauth_cred.clone(),
        });
        creds.push(Credential {
            id: oauth_cred.clone(),
            kind: "oauth".into(),
            label: format!("{id} sign-in"),
            created: req.now.into(),
            rotated: None,
        });
    }
    let command = vec!["bridge".to_string(), id.clone()];
    let record = Server {
        id: id.clone(),
        host: req.host.id().into(),
        name: req.name.into(),
        config_path: req.config_path.to_path_buf(),
        transport: Transport::Http,
        fingerprint: state::fingerprint_v1(&command, &[]),
        command,
        env_keys: Vec::new(),
        spawn: None,
        binding_id: Some(binding_id),
        bindings,
        original: json!({"url": redact(&url)}),
        remote: Some(Remote {
            url: url.to_string(),
            allow_http: req.allow_http,
            oauth_credential: uses_oauth.then(|| oauth_cred.clone()),
            client_metadata_url: req.client_metadata_url.map(str::to_string),
            proxy,
        }),
    };
    State::update(paths, |s| {
        for c in creds {
            s.credentials.insert(c.id.clone(), c);
        }
        s.servers.insert(id.clone(), record);
        Ok(())
    })?;
    let expect = if bytes == b"{}\n" && fsutil::read_optional(req.config_path)?.is_none() {
        fsutil::Expect::Anything
    } else {
        fsutil::Expect::Hash(fsutil::sha256(&bytes))
    };
    fsutil::replace_file(req.config_path, &file.to_bytes(), expect)?;
    // The config and state are already written and stay so; an audit failure is returned
    // so the caller reports the unrecorded change instead of it passing silently.
    audit.append(vec![
        Event::new(EventKind::Rewritten, Outcome::Ok, req.now)
            .server(&id)
            .host(req.host.id())
            .process(std::process::id(), None, None)
            .detail(format!(
                "added remote server {} through keybroker bridge",
                redact(&url)
            )),
    ])?;
    Ok(id)
}

/// The issuer of a client registered by hand, as typed (issuers are compared exactly,
/// so it is not normalized): an http(s) URL without credentials, query or fragment.
fn check_issuer(raw: &str) -> Result<String> {
    let issuer = raw.trim();
    let url = parse_server_url(issuer, false).map_err(|e| {
        Error::other(
            format!("--issuer {issuer}: {e}"),
            "give the authorization server's issuer URL exactly as its metadata names it",
        )
    })?;
    if url.query().is_some() {
        return Err(Error::other(
            format!("--issuer {issuer} has a query"),
            "give the authorization server's issuer URL exactly as its metadata names it",
        ));
    }
    Ok(issuer.to_string())
}

/// What importing one remote entry does: the bridge entry, the server record, and the
/// header values that move to the keychain (credential id, label, target, value).
pub struct ImportPlan {
    pub new_entry: Value,
    pub record: Server,
    pub secrets: Vec<(String, String, String, Secret)>,
    /// A pre-registered OAuth client (`mcp-remote --static-oauth-client-info`): the
    /// oauth credential id and its initial token set (registration only).
    pub oauth_client: Option<(String, Secret)>,
    pub notes: Vec<String>,
}

/// The URL and header values of an `mcp-remote` stdio entry
/// (`npx [-y] mcp-remote[@v] URL [--header "Name: value"]...`), if it is one.
pub fn mcp_remote_args(command: &str, args: &[String]) -> Option<(String, Vec<(String, String)>)> {
    let mut all = vec![command.to_string()];
    all.extend(args.iter().cloned());
    let pos = all.iter().position(|a| {
        let base = a.rsplit('/').next().unwrap_or(a);
        base == "mcp-remote" || base.starts_with("mcp-remote@")
    })?;
    let rest = &all[pos + 1..];
    let url = rest
        .iter()
        .find(|a| a.starts_with("http://") || a.starts_with("https://"))?
        .clone();
    let mut headers = Vec::new();
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        if a == "--header"
            && let Some((k, v)) = it.next().and_then(|h| h.split_once(':'))
        {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Some((url, headers))
}

/// Plan the import of a remote entry (`url`/`serverUrl`/`httpUrl` with optional
/// `headers`, or `mcp-remote`) as a `keybroker bridge` entry. Header values (which may
/// contain `${VAR}` references to the entry's own `env`, as mcp-remote configs do) are
/// resolved and moved to the keychain.
pub fn plan_import(
    value: &Value,
    host: Host,
    name: &str,
    launcher: &str,
    fresh_id: &mut dyn FnMut(&str) -> String,
) -> Result<Option<ImportPlan>> {
    let obj = value.as_object();
    let env = string_pairs(obj, "env");
    let (url, headers) = if let Some(url) = ["url", "serverUrl", "httpUrl"]
        .iter()
        .find_map(|k| obj.and_then(|o| o.get(*k)).and_then(Value::as_str))
    {
        let headers = string_pairs(obj, "headers");
        (url.to_string(), headers)
    } else {
        let command = obj
            .and_then(|o| o.get("command"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let args: Vec<String> = obj
            .and_then(|o| o.get("args"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        match mcp_remote_args(command, &args) {
            Some(x) => x,
            None => return Ok(None),
        }
    };
    let parsed = match parse_server_url(&url, false) {
        Ok(u) => u,
        Err(e) => {
            return Err(Error::other(
                format!("entry `{name}`: {e}"),
                "fix the URL, or exclude the entry with --exclude",
            ));
        }
    };
    let id = format!("{}/{}", host.id(), name);
    let mut secrets = Vec::new();
    let mut bindings = Vec::new();
    let mut notes = Vec::new();
    // What `restore` writes back: the entry with each header value as a placeholder and
    // the env values the headers used emptied.
    let mut original = value.clone();
    for (hname, raw) in headers {
        let mut v = raw.clone();
        for (k, val) in &env {
            let (a, b) = (format!("${{{k}}}"), format!("${k}"));
            if (v.contains(&a) || v.contains(&b))
                && let Some(e) = original.pointer_mut(&format!("/env/{k}"))
            {
                *e = Value::String(String::new());
            }
            v = v.replace(&a, val).replace(&b, val);
        }
        let cid = fresh_id(&format!("{}-{}", state::slug(&id), state::slug(&hname)));
        let ph = state::placeholder(&cid);
        if let Some(h) = original.pointer_mut(&format!(
            "/headers/{}",
            hname.replace('~', "~0").replace('/', "~1")
        )) {
            *h = Value::String(ph.clone());
        }
        if let Some(args) = original.get_mut("args").and_then(Value::as_array_mut) {
            for a in args.iter_mut() {
                if a.as_str() == Some(raw.as_str())
                    || a.as_str()
                        .is_some_and(|s| s.starts_with(&format!("{hname}:")))
                {
                    *a = Value::String(format!("{hname}: {ph}"));
                }
            }
        }
        bindings.push(Binding {
            target: format!("header:{hname}"),
            credential: cid.clone(),
        });
        secrets.push((
            cid,
            format!("{id} header {hname}"),
            format!("header:{hname}"),
            Secret::new(v),
        ));
    }
    let uses_oauth = !bindings
        .iter()
        .any(|b| b.target.eq_ignore_ascii_case("header:authorization"));
    let oauth_cred = format!("{}-oauth", state::slug(&id));
    if uses_oauth {
        bindings.push(Binding {
            target: "header:Authorization".into(),
            credential: oauth_cred.clone(),
        });
        notes.push(format!("sign in with `keybroker connect {id}`"));
    }
    let mut oauth_client = None;
    if uses_oauth
        && let Some(args) = original.get_mut("args").and_then(Value::as_array_mut)
        && let Some(i) = args
            .iter()
            .position(|a| a.as_str() == Some("--static-oauth-client-info"))
        && let Some(raw) = args.get(i + 1).and_then(Value::as_str).map(str::to_string)
    {
        let text = match raw.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?,
            None => raw.clone(),
        };
        let bad = || {
            Error::other(
                format!("entry `{name}`: --static-oauth-client-info is not a JSON client"),
                "fix it, or exclude the entry with --exclude",
            )
        };
        let info: Value = serde_json::from_str(&text).map_err(|_| bad())?;
        let client_id = info
            .get("client_id")
            .and_then(Value::as_str)
            .ok_or_else(bad)?;
        let client_secret = info
            .get("client_secret")
            .and_then(Value::as_str)
            .map(str::to_string);
        let ts = TokenSet {
            client: Some(ClientReg {
                issuer: None,
                client_id: client_id.to_string(),
                auth_method: if client_secret.is_some() {
                    "client_secret_basic".into()
                } else {
                    "none".into()
                },
                client_secret,
                redirect_uri: None,
                source: "pre-registered".into(),
            }),
            ..TokenSet::default()
        };
        let json = serde_json::to_string(&ts)
            .map_err(|e| Error::other(format!("cannot encode a client: {e}"), "report this bug"))?;
        oauth_client = Some((oauth_cred.clone(), Secret::new(json)));
        if !raw.starts_with('@') {
            // Inline JSON may hold a client secret: it moves too (restore can give it back).
            let cid = fresh_id(&format!("{}-static-oauth-client-info", state::slug(&id)));
            args[i + 1] = Value::String(state::placeholder(&cid));
            let target = "arg:static-oauth-client-info".to_string();
            bindings.push(Binding {
                target: target.clone(),
                credential: cid.clone(),
            });
            secrets.push((
                cid,
                format!("{id} static OAuth client"),
                target,
                Secret::new(raw),
            ));
        }
        notes.push(
            "its pre-registered OAuth client is used for sign-in, and only with the authorization server of its first sign-in"
                .into(),
        );
    }
    let command = vec!["bridge".to_string(), id.clone()];
    let binding_id = state::new_binding_id()?;
    let new_entry = json!({"command": launcher, "args": bridge_args(&id, &binding_id)});
    let record = Server {
        id: id.clone(),
        host: host.id().into(),
        name: name.into(),
        config_path: std::path::PathBuf::new(),
        transport: Transport::Http,
        fingerprint: state::fingerprint_v1(&command, &[]),
        command,
        env_keys: Vec::new(),
        spawn: None,
        binding_id: Some(binding_id),
        bindings,
        original,
        remote: Some(Remote {
            url: parsed.to_string(),
            allow_http: false,
            oauth_credential: uses_oauth.then_some(oauth_cred),
            client_metadata_url: None,
            proxy: None,
        }),
    };
    Ok(Some(ImportPlan {
        new_entry,
        record,
        secrets,
        oauth_client,
        notes,
    }))
}

/// The string values of the object at `key` (`env`, `headers`), in file order.
fn string_pairs(obj: Option<&serde_json::Map<String, Value>>, key: &str) -> Vec<(String, String)> {
    obj.and_then(|o| o.get(key))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_static_jwt_is_read_without_trust_and_its_expiry_warned_about() {
        use base64::Engine;
        let enc = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let jwt = format!(
            "{}.{}.sig",
            enc(r#"{"alg":"none"}"#),
            enc(r#"{"exp":1000,"aud":["api","mcp"],"sub":"alice","scope":"read"}"#)
        );
        let info = peek_jwt(&format!("Bearer {jwt}")).expect("jwt");
        assert_eq!(info.sub.as_deref(), Some("alice"));
        assert_eq!(info.aud.as_deref(), Some("api mcp"));
        assert_eq!(info.scope.as_deref(), Some("read"));
        assert!(
            jwt_expiry_warning(&info, 2000, 7)
                .expect("w")
                .contains("expired")
        );
        assert!(
            jwt_expiry_warning(&info, 1000 - 7200, 7)
                .expect("w")
                .contains("2 hour")
        );
        assert_eq!(jwt_expiry_warning(&info, 1000 - 30 * 86_400, 7), None);
        assert_eq!(peek_jwt("ghp_notajwt"), None);
    }

    struct Sandbox {
        dir: tempfile::TempDir,
        paths: Paths,
        vault: Vault,
        audit: AuditLog,
    }

    fn sandbox() -> Sandbox {
        let dir = tempfile::tempdir().expect("tmp");
        let mock: std::sync::Arc<keyring_core::api::CredentialStore> =
            keyring_core::mock::Store::new().expect("mock store");
        let paths = Paths::under(&dir.path().join("home"));
        Sandbox {
            audit: AuditLog::new(paths.audit_file()),
            vault: Vault::with_store(mock, "keybroker-test"),
            paths,
            dir,
        }
    }

    fn add_with(sb: &Sandbox, issuer: Option<&str>, client: bool) -> Result<String> {
        add_via(sb, issuer, client, None)
    }

    fn add_via(
        sb: &Sandbox,
        issuer: Option<&str>,
        client: bool,
        proxy: Option<&str>,
    ) -> Result<String> {
        let config = sb.dir.path().join("claude_desktop_config.json");
        let launcher = sb.dir.path().join("keybroker");
        let req = AddRequest {
            host: Host::ClaudeDesktop,
            config_path: &config,
            name: "s",
            url: "http://127.0.0.1:9/mcp",
            allow_http: false,
            launcher: &launcher,
            headers: Vec::new(),
            client: client.then(|| ("kb-hand".to_string(), Some(Secret::new("cs")))),
            issuer,
            client_metadata_url: None,
            proxy,
            replace: true,
            now: "2026-01-01T00:00:00Z",
        };
        add(&req, &sb.paths, &sb.vault, &sb.audit)
    }

    fn stored_client(sb: &Sandbox) -> ClientReg {
        let item = sb
            .vault
            .get("claude-desktop-s-oauth")
            .expect("vault")
            .expect("token set");
        let ts: TokenSet = serde_json::from_str(item.expose()).expect("json");
        ts.client.expect("client")
    }

    #[test]
    fn a_hand_registered_client_is_stored_with_the_issuer_given_exactly_as_typed() {
        let sb = sandbox();
        add_with(&sb, Some(" https://as.example "), true).expect("add");
        let client = stored_client(&sb);
        assert_eq!(client.issuer.as_deref(), Some("https://as.example"));
        assert_eq!(client.source, "pre-registered");
        add_with(&sb, None, true).expect("add");
        assert_eq!(
            stored_client(&sb).issuer,
            None,
            "bound by its first sign-in"
        );
    }

    #[test]
    fn an_issuer_without_a_client_or_that_is_not_an_issuer_url_is_refused() {
        let sb = sandbox();
        assert!(add_with(&sb, Some("https://as.example"), false).is_err());
        for bad in [
            "as.example",
            "http://as.example",
            "https://u:p@as.example",
            "https://as.example/#x",
            "https://as.example/?tenant=1",
        ] {
            assert!(add_with(&sb, Some(bad), true).is_err(), "{bad}");
        }
        assert!(
            State::load(&sb.paths).expect("state").servers.is_empty(),
            "nothing was added"
        );
    }

    #[test]
    fn a_proxy_is_kept_for_its_server_only_and_one_with_credentials_is_refused() {
        let sb = sandbox();
        let remote = |sb: &Sandbox| {
            State::load(&sb.paths).expect("state").servers["claude-desktop/s"]
                .remote
                .clone()
                .expect("remote")
        };
        add_via(&sb, None, false, None).expect("add");
        assert_eq!(remote(&sb).proxy, None);
        add_via(&sb, None, false, Some("http://127.0.0.1:3128")).expect("add");
        assert_eq!(remote(&sb).proxy.as_deref(), Some("http://127.0.0.1:3128"));
        let err = add_via(&sb, None, false, Some("http://u:KBCANARY@127.0.0.1:3128"))
            .expect_err("credentials refused");
        assert!(err.to_string().contains("user name or password"), "{err}");
        let state = std::fs::read_to_string(sb.paths.state_file()).expect("state");
        assert!(!state.contains("KBCANARY"));
        assert_eq!(remote(&sb).proxy.as_deref(), Some("http://127.0.0.1:3128"));
    }

    #[test]
    fn server_urls_with_credentials_fragments_or_remote_plain_http_are_refused() {
        assert!(parse_server_url("https://mcp.example/mcp", false).is_ok());
        assert!(parse_server_url("http://127.0.0.1:3000/mcp", false).is_ok());
        assert!(parse_server_url("http://mcp.example/mcp", false).is_err());
        assert!(parse_server_url("http://mcp.example/mcp", true).is_ok());
        assert!(parse_server_url("https://u:p@mcp.example/mcp", false).is_err());
        assert!(parse_server_url("https://mcp.example/mcp#x", false).is_err());
        assert!(parse_server_url("file:///etc/passwd", true).is_err());
    }
}
