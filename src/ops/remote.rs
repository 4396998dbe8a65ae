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
use crate::oauth::grants::{JwtSource, MachineGrant};
use crate::oauth::keys::{self, Key};
use crate::oauth::{ClientReg, Store, TokenSet};
use crate::scan;
use crate::store::audit::{AuditLog, Event, EventKind, Outcome};
pub use crate::store::state::Remote;
use crate::store::state::{self, Binding, Credential, Server, State, ToolGuard, Transport};
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
    /// A machine client (`--client-credentials`, `--workload-jwt-*`, `--idp`): tokens
    /// without a browser. Needs `client`.
    pub machine: Option<MachineClient>,
    /// Replace an existing entry of the same name.
    pub replace: bool,
    pub now: &'a str,
}

/// How a machine client gets its tokens, and its signing key if it authenticates with
/// one (`private_key_jwt`).
pub struct MachineClient {
    pub grant: MachineGrant,
    pub key: Option<KeySource>,
}

/// Where a `private_key_jwt` client's key comes from.
pub enum KeySource {
    /// Keybroker makes one; its public key is printed for the user to register.
    Generate,
    /// A PEM private key the authorization server issued (`--private-key-stdin`).
    Pem(Secret),
}

/// What adding a server produced.
#[derive(Debug)]
pub struct Added {
    pub id: String,
    /// The public key to register with the authorization server (`private_key_jwt`).
    pub jwks: Option<Value>,
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
pub fn add(req: &AddRequest<'_>, paths: &Paths, vault: &Vault, audit: &AuditLog) -> Result<Added> {
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
    let machine = req.machine.as_ref().map(check_machine).transpose()?;
    if machine.is_some() && req.client.is_none() {
        return Err(Error::other(
            "a machine client needs the client id it was registered with",
            "pass --client-id",
        ));
    }
    let id = format!("{}/{}", req.host.id(), req.name);
    let empty: &[u8] = match req.host.format() {
        Format::Json => b"{}\n",
        Format::Toml | Format::Yaml => b"",
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

    let slug = state::slug(&id);
    let oauth_cred = format!("{slug}-oauth");
    let mut bindings = Vec::new();
    let mut creds = Vec::new();
    let mut jwks = None;
    // A key in the URL (a path token, an `api_key` parameter) goes to the keychain; the
    // state keeps the URL as a template the bridge fills in.
    let mut taken = Vec::new();
    let (url_template, url_secrets) = template_url(req.url.trim(), &slug, &mut |base| {
        let n = taken
            .iter()
            .filter(|t: &&String| t.starts_with(base))
            .count();
        let cid = if n == 0 {
            base.to_string()
        } else {
            format!("{base}-{}", n + 1)
        };
        taken.push(cid.clone());
        cid
    });
    let url_keyed = !url_secrets.is_empty();
    for (_, cid, value) in &url_secrets {
        vault.set(cid, value)?;
        bindings.push(Binding {
            target: URL_TARGET.into(),
            credential: cid.clone(),
        });
        creds.push(Credential {
            id: cid.clone(),
            kind: "secret".into(),
            label: format!("{id} URL"),
            created: req.now.into(),
            rotated: None,
        });
    }
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
    let uses_oauth = !url_keyed
        && req
            .headers
            .iter()
            .all(|h| !h.name.eq_ignore_ascii_case("authorization"));
    if uses_oauth {
        if let Some((client_id, secret)) = &req.client {
            let key = machine.as_ref().and_then(|(_, k)| k.as_ref());
            if let Some(k) = key {
                jwks = Some(keys::jwks(k));
            }
            let ts = TokenSet {
                client: Some(ClientReg {
                    issuer: issuer.clone(),
                    client_id: client_id.clone(),
                    client_secret: secret.as_ref().map(|s| s.expose().to_string()),
                    auth_method: if key.is_some() {
                        "private_key_jwt".into()
                    } else if secret.is_some() {
                        "client_secret_basic".into()
                    } else {
                        "none".into()
                    },
                    redirect_uri: None,
                    source: "pre-registered".into(),
                }),
                client_key: key.map(Key::to_pem).transpose()?,
                machine: machine.as_ref().map(|(g, _)| g.clone()),
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
        original: json!({"url": if url_keyed { url_template.clone() } else { redact(&url) }}),
        remote: Some(Remote {
            url: if url_keyed {
                url_template
            } else {
                url.to_string()
            },
            allow_http: req.allow_http,
            oauth_credential: uses_oauth.then(|| oauth_cred.clone()),
            client_metadata_url: req.client_metadata_url.map(str::to_string),
            proxy,
        }),
        guard: Some(ToolGuard::default()),
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
                "added remote server {} through keybroker bridge{}",
                redact(&url),
                machine
                    .as_ref()
                    .map(|(g, _)| format!(", tokens from {}", g.describe()))
                    .unwrap_or_default()
            )),
    ])?;
    Ok(Added { id, jwks })
}

/// The grant as it will be stored (a workload token file by absolute path) and the
/// client's signing key, made or read now.
fn check_machine(m: &MachineClient) -> Result<(MachineGrant, Option<Key>)> {
    let grant = match &m.grant {
        MachineGrant::WorkloadJwt {
            source: JwtSource::File(p),
        } => {
            let abs = std::fs::canonicalize(p).map_err(|e| Error::io(p, e))?;
            MachineGrant::WorkloadJwt {
                source: JwtSource::File(abs.to_string_lossy().into_owned()),
            }
        }
        MachineGrant::WorkloadJwt {
            source: JwtSource::Command(argv),
        } if argv.is_empty() => {
            return Err(Error::other(
                "--workload-jwt-command is empty",
                "name the program that prints the workload token",
            ));
        }
        other => other.clone(),
    };
    let key = match &m.key {
        None => None,
        Some(KeySource::Generate) => Some(Key::generate()?),
        Some(KeySource::Pem(pem)) => Some(Key::from_pem(pem.expose())?),
    };
    Ok((grant, key))
}

/// Give a `private_key_jwt` client a new signing key (the old one is gone at once:
/// register the printed public key before the next token request). Returns the JWKS.
pub fn rotate_key(
    paths: &Paths,
    vault: &Vault,
    audit: &AuditLog,
    server_id: &str,
    now: &str,
) -> Result<Value> {
    let state = State::load(paths)?;
    let server = state.server(server_id)?;
    let Some(credential) = server
        .remote
        .as_ref()
        .and_then(|r| r.oauth_credential.clone())
    else {
        return Err(Error::other(
            format!("{server_id} has no OAuth client"),
            "only servers added with --private-key-jwt have a signing key",
        ));
    };
    let store = Store {
        paths: paths.clone(),
        vault: vault.clone(),
        audit: audit.clone(),
        server_id: server_id.to_string(),
        credential: credential.clone(),
        report: crate::base::report::Reporter::silent(),
    };
    let mut ts = store.load()?.unwrap_or_default();
    if ts.client.as_ref().map(|c| c.auth_method.as_str()) != Some("private_key_jwt") {
        return Err(Error::other(
            format!("{server_id}'s client does not authenticate with a signing key"),
            format!(
                "add it with --client-credentials --private-key-jwt to use one: `keybroker add {} --url <url> --replace ...`",
                server_id.replacen('/', " ", 1)
            ),
        ));
    }
    let key = Key::generate()?;
    ts.client_key = Some(key.to_pem()?);
    store.save(&ts)?;
    audit.append(vec![
        Event::new(EventKind::Rotated, Outcome::Ok, now)
            .server(server_id)
            .host(&server.host)
            .credential(&credential)
            .target(crate::store::audit::Target::Header("Authorization".into()))
            .process(std::process::id(), None, None)
            .detail(format!(
                "new private_key_jwt signing key {}",
                key.thumbprint()
            )),
    ])?;
    Ok(keys::jwks(&key))
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

/// One secret a remote import moves to the keychain.
pub struct MovedSecret {
    pub credential: String,
    pub label: String,
    /// `header:NAME`, `url`, or where else in the entry it was (`arg:N`, `env:NAME`,
    /// `key:/json/pointer`): those are kept only for `restore`.
    pub target: String,
    pub rule: &'static str,
    pub rule_text: &'static str,
    pub value: Secret,
    /// What the string that held it becomes, placeholders in place of the secrets.
    pub becomes: Option<String>,
}

/// What importing one remote entry does: the bridge entry, the server record, and the
/// values that move to the keychain.
pub struct ImportPlan {
    pub new_entry: Value,
    pub record: Server,
    pub secrets: Vec<MovedSecret>,
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
/// resolved and moved to the keychain. A secret in the URL (a path segment, a query
/// parameter) moves too: the state keeps the URL as a template and the bridge fills it in
/// when it connects; such a server is keyed by its URL and is not signed in with OAuth.
/// Whatever else in the entry the scanner flags is moved, so the state's copy of the
/// original entry (for `restore`) holds placeholders only.
pub fn plan_import(
    value: &Value,
    host: Host,
    name: &str,
    launcher: &str,
    fresh_id: &mut dyn FnMut(&str) -> String,
) -> Result<Option<ImportPlan>> {
    let obj = value.as_object();
    let env = string_pairs(obj, "env");
    // Where the URL sits: under an entry key, or as an `mcp-remote` argument.
    let (url, url_at, headers) = if let Some((key, url)) = URL_KEYS.iter().find_map(|k| {
        obj.and_then(|o| o.get(*k))
            .and_then(Value::as_str)
            .map(|u| (*k, u))
    }) {
        let headers = string_pairs(obj, "headers");
        (url.to_string(), format!("/{key}"), headers)
    } else {
        let command = obj
            .and_then(|o| o.get("command"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let args = string_args(obj);
        let Some((url, headers)) = mcp_remote_args(command, &args) else {
            return Ok(None);
        };
        let at = args
            .iter()
            .position(|a| *a == url)
            .map_or_else(|| "/command".to_string(), |i| format!("/args/{i}"));
        (url, at, headers)
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
    let slug = state::slug(&id);
    // Credential ids are unique within this entry too (two secrets under one key).
    let mut taken: Vec<String> = Vec::new();
    let mut new_id = |base: &str| {
        let mut cid = fresh_id(base);
        let mut n = 2;
        while taken.contains(&cid) {
            cid = fresh_id(&format!("{base}-{n}"));
            n += 1;
        }
        taken.push(cid.clone());
        cid
    };
    let mut secrets = Vec::new();
    let mut bindings = Vec::new();
    let mut notes = Vec::new();
    // What `restore` writes back: the entry with each secret as a placeholder and the env
    // values the headers used emptied.
    let mut original = value.clone();

    // The URL: only the secret parts move, the rest stays readable.
    let (url_template, url_moves) = template_url(&url, &slug, &mut new_id);
    let url_keyed = !url_moves.is_empty();
    if url_keyed {
        if let Some(at) = original.pointer_mut(&url_at) {
            *at = Value::String(url_template.clone());
        }
        for (rule, cid, secret) in url_moves {
            bindings.push(Binding {
                target: URL_TARGET.into(),
                credential: cid.clone(),
            });
            secrets.push(MovedSecret {
                credential: cid,
                label: format!("{id} URL"),
                target: URL_TARGET.into(),
                rule: rule.id(),
                rule_text: rule.describe(),
                value: secret,
                becomes: Some(format!("url = {url_template}")),
            });
        }
        notes.push(
            "its URL carries its credential: that part moves to the keychain and the bridge puts it back when it connects (no sign-in)".into(),
        );
    }

    for (hname, raw) in headers {
        let mut v = raw.clone();
        for (k, val) in &env {
            let (a, b) = (format!("${{{k}}}"), format!("${k}"));
            if (v.contains(&a) || v.contains(&b))
                && let Some(e) = original.pointer_mut(&format!("/env/{}", pointer_escape(k)))
            {
                *e = Value::String(String::new());
            }
            v = v.replace(&a, val).replace(&b, val);
        }
        let cid = new_id(&format!("{slug}-{}", state::slug(&hname)));
        let ph = state::placeholder(&cid);
        if let Some(h) = original.pointer_mut(&format!("/headers/{}", pointer_escape(&hname))) {
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
        secrets.push(MovedSecret {
            credential: cid,
            label: format!("{id} header {hname}"),
            target: format!("header:{hname}"),
            rule: "remote-header",
            rule_text: "header value of a remote server",
            value: Secret::new(v),
            becomes: None,
        });
    }
    let uses_oauth = !url_keyed
        && !bindings
            .iter()
            .any(|b| b.target.eq_ignore_ascii_case("header:authorization"));
    let oauth_cred = format!("{slug}-oauth");
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
            let cid = new_id(&format!("{slug}-static-oauth-client-info"));
            args[i + 1] = Value::String(state::placeholder(&cid));
            let target = "arg:static-oauth-client-info".to_string();
            bindings.push(Binding {
                target: target.clone(),
                credential: cid.clone(),
            });
            secrets.push(MovedSecret {
                credential: cid,
                label: format!("{id} static OAuth client"),
                target,
                rule: "static-oauth-client",
                rule_text: "pre-registered OAuth client of mcp-remote (with its client secret)",
                value: Secret::new(raw),
                becomes: None,
            });
        }
        notes.push(
            "its pre-registered OAuth client is used for sign-in, and only with the authorization server of its first sign-in"
                .into(),
        );
    }
    for m in scrub(&mut original, &slug, &mut new_id) {
        bindings.push(Binding {
            target: m.target.clone(),
            credential: m.credential.clone(),
        });
        secrets.push(MovedSecret {
            label: format!("{id} {}", m.target),
            ..m
        });
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
            url: if url_keyed {
                url_template
            } else {
                parsed.to_string()
            },
            allow_http: false,
            oauth_credential: uses_oauth.then_some(oauth_cred),
            client_metadata_url: None,
            proxy: None,
        }),
        guard: Some(ToolGuard::default()),
    };
    Ok(Some(ImportPlan {
        new_entry,
        record,
        secrets,
        oauth_client,
        notes,
    }))
}

/// `url` with each secret the scanner finds in it (a path token, a query key) replaced by
/// the placeholder of a new credential from `new_id`: the template, and each secret's
/// rule, credential and value (in URL order).
fn template_url(
    url: &str,
    slug: &str,
    new_id: &mut dyn FnMut(&str) -> String,
) -> (String, Vec<(scan::Rule, String, Secret)>) {
    let found: Vec<_> = scan::detect_url("url", url)
        .into_iter()
        .filter_map(|d| {
            let secret = d.secret_in(url)?.to_string();
            Some((d, new_id(&format!("{slug}-url")), secret))
        })
        .collect();
    let mut template = url.to_string();
    // Last span first, so earlier spans keep their offsets.
    for (d, cid, _) in found.iter().rev() {
        template.replace_range(d.span.clone(), &state::placeholder(cid));
    }
    let moved = found
        .into_iter()
        .map(|(d, cid, secret)| (d.rule, cid, Secret::new(secret)))
        .collect();
    (template, moved)
}

/// The keys a remote entry names its URL with.
const URL_KEYS: [&str; 3] = ["url", "serverUrl", "httpUrl"];

/// The binding target of a secret inside a remote server's URL.
pub const URL_TARGET: &str = "url";

/// `~` and `/` escaped for a JSON pointer segment.
fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The string args of an entry.
fn string_args(obj: Option<&serde_json::Map<String, Value>>) -> Vec<String> {
    obj.and_then(|o| o.get("args"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Every secret the scanner still finds in `entry` (the original entry, its URL and
/// headers already templated): replaced by placeholders, each returned with a fresh
/// credential and its place (`arg:N`, `env:NAME`, `key:/pointer`). The bridge never
/// uses these; they are there so that `restore --reveal` gives the entry back whole.
fn scrub(
    entry: &mut Value,
    slug: &str,
    new_id: &mut dyn FnMut(&str) -> String,
) -> Vec<MovedSecret> {
    let mut out = Vec::new();
    let Some(obj) = entry.as_object_mut() else {
        return out;
    };
    for (key, v) in obj.iter_mut() {
        if key == "args"
            && let Value::Array(items) = v
        {
            let args: Vec<String> = items
                .iter()
                .map(|x| x.as_str().unwrap_or_default().to_string())
                .collect();
            let mut by_arg: std::collections::BTreeMap<usize, Vec<scan::Detection>> =
                std::collections::BTreeMap::new();
            for d in scan::detect_args(&args) {
                if let scan::Place::Arg(i) = d.place {
                    by_arg.entry(i).or_default().push(d);
                }
            }
            for (i, found) in by_arg {
                let target = format!("arg:{i}");
                let base = format!("{slug}-arg-{i}");
                if let Some(t) = template_moves(&args[i], &found, &target, &base, new_id, &mut out)
                {
                    items[i] = Value::String(t);
                }
            }
            continue;
        }
        let target_of = |pointer: &str| match pointer.strip_prefix("/env/") {
            Some(name) if !name.contains('/') => format!("env:{name}"),
            _ => format!("key:{pointer}"),
        };
        walk_strings(
            v,
            key,
            &format!("/{}", pointer_escape(key)),
            &mut |s, key, pointer| {
                let found = if URL_KEYS.contains(&key) {
                    scan::detect_url(key, s)
                } else {
                    scan::detect_env(key, s)
                };
                let base = format!("{slug}-{}", state::slug(key));
                template_moves(s, &found, &target_of(pointer), &base, new_id, &mut out)
            },
        );
    }
    out
}

/// `text` with the secrets `found` in it replaced by placeholders of fresh credentials
/// (pushed to `out`), or `None` when nothing was found.
fn template_moves(
    text: &str,
    found: &[scan::Detection],
    target: &str,
    base: &str,
    new_id: &mut dyn FnMut(&str) -> String,
    out: &mut Vec<MovedSecret>,
) -> Option<String> {
    if found.is_empty() {
        return None;
    }
    let moved: Vec<_> = found
        .iter()
        .filter_map(|d| Some((d, new_id(base), d.secret_value(text)?)))
        .collect();
    let mut template = text.to_string();
    for (d, cid, _) in moved.iter().rev() {
        template.replace_range(d.span.clone(), &state::placeholder(cid));
    }
    for (d, cid, value) in moved {
        let rule = d.rule;
        out.push(MovedSecret {
            credential: cid,
            label: String::new(),
            target: target.to_string(),
            rule: rule.id(),
            rule_text: rule.describe(),
            value: Secret::new(value),
            becomes: Some(format!("{target} = {template}")),
        });
    }
    Some(template)
}

/// Call `f(string, key it sits under, JSON pointer)` on every string in `v`, replacing
/// the string when `f` returns a new one. Strings in arrays sit under the array's key.
fn walk_strings(
    v: &mut Value,
    key: &str,
    pointer: &str,
    f: &mut dyn FnMut(&str, &str, &str) -> Option<String>,
) {
    match v {
        Value::String(s) => {
            if let Some(t) = f(s, key, pointer) {
                *s = t;
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter_mut().enumerate() {
                walk_strings(x, key, &format!("{pointer}/{i}"), f);
            }
        }
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                walk_strings(x, k, &format!("{pointer}/{}", pointer_escape(k)), f);
            }
        }
        _ => {}
    }
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
            machine: None,
            replace: true,
            now: "2026-01-01T00:00:00Z",
        };
        add(&req, &sb.paths, &sb.vault, &sb.audit).map(|a| a.id)
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
    fn a_server_added_with_a_key_in_its_url_keeps_the_key_in_the_keychain_only() {
        let sb = sandbox();
        let config = sb.dir.path().join("claude_desktop_config.json");
        let launcher = sb.dir.path().join("keybroker");
        let key = "KBCANARYiEXpVdE58zHYprM8nkSCV3zwgIj85ZrHnoA8weZP";
        let url = format!("http://127.0.0.1:9/s/{key}/mcp?api_key=KBCANARYq7Xv2Lm9Pz4Rt6Wy8Bn3");
        let req = AddRequest {
            host: Host::ClaudeDesktop,
            config_path: &config,
            name: "k",
            url: &url,
            allow_http: false,
            launcher: &launcher,
            headers: Vec::new(),
            client: None,
            issuer: None,
            client_metadata_url: None,
            proxy: None,
            machine: None,
            replace: false,
            now: "2026-01-01T00:00:00Z",
        };
        add(&req, &sb.paths, &sb.vault, &sb.audit).expect("add");
        for file in [sb.paths.state_file(), config, sb.paths.audit_file()] {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            assert!(!text.contains("KBCANARY"), "{}: {text}", file.display());
        }
        let state = State::load(&sb.paths).expect("state");
        let server = &state.servers["claude-desktop/k"];
        let remote = server.remote.as_ref().expect("remote");
        assert_eq!(
            remote.url,
            "http://127.0.0.1:9/s/${keybroker:claude-desktop-k-url}/mcp?api_key=${keybroker:claude-desktop-k-url-2}"
        );
        assert_eq!(
            remote.oauth_credential, None,
            "keyed by its URL: no sign-in"
        );
        let got = sb
            .vault
            .get("claude-desktop-k-url")
            .expect("vault")
            .expect("key");
        assert_eq!(got.expose(), key);
        assert_eq!(server.original["url"], remote.url.as_str());
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
