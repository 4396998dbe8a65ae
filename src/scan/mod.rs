//! Plaintext-secret detector for MCP server entries.
//!
//! AI hosts (Claude Desktop, Cursor, …) start MCP servers from JSON config
//! files, and people routinely paste API keys straight into those files: as
//! `env` values (plain or as JSON, like Notion's `OPENAPI_MCP_HEADERS`), as
//! positional args, as `--api-key X` flags, as `docker run -e NAME=value`, inside
//! DSNs, in URL query strings and path segments, or in
//! `mcp-remote --header "Authorization: Bearer …"`. This module finds those
//! plaintext credentials so Keybroker can offer to move them into the OS keychain.
//!
//! Two views of the same detection:
//! - [`detect_entry`], [`detect_stdio`], [`detect_env`], [`detect_args`], [`detect_url`],
//!   [`detect_header`] return [`Detection`]s: exactly which bytes of which string are
//!   the secret, and how the string can be rewritten ([`Form`]): the whole value, a
//!   part of it (a template with only the span replaced), or a `docker -e NAME=value`
//!   argument whose value can move into the child's environment.
//! - [`scan_server`], [`scan_env`], [`scan_args`] return [`Finding`]s, the unit the
//!   import planner moves today: a whole env value, or a span of an arg.
//!
//! What it deliberately does **not** do:
//! - No I/O. It never reads files, the environment or the keychain; callers
//!   hand it already-parsed strings.
//! - It never copies secret values. A finding is a place, a byte span and a [`Rule`],
//!   so logging or `Debug`-printing findings cannot leak a secret. Callers slice the
//!   original string with the span when they really need the value, and use [`mask`]
//!   for anything shown to a person.
//! - It does not judge whether a credential is live or valid. It flags known token
//!   formats, credential-bearing URL/header/flag syntax, and values whose *name* says
//!   they are secret. Shape alone counts only where a key is expected: a bare
//!   positional argument (`start <key>`) and a URL path segment, and there only for
//!   machine-made strings (long, mixed letters and digits, many case and digit
//!   switches), never for words, versions, paths or package names. A UUID or a hex id
//!   in those places is taken for an id, except after a path marker (`/s/`, `/u/`,
//!   `/key/`) or on a host whose URL is the credential (Pipedream, Composio, Zapier).
//! - It does not expand or resolve `${VAR}` references; a value that is only a
//!   reference is, by definition, not a plaintext secret. README placeholders
//!   (`YOUR_API_KEY`, `<token>`, `ntn_****`) are not secrets either.

mod args;
mod json;
mod names;
mod text;
mod tokens;

#[cfg(test)]
mod corpus;
#[cfg(test)]
mod props;
#[cfg(test)]
mod rules_tests;

use serde_json::Value;
use std::fmt;
use std::ops::Range;

/// Where a finding sits in a server entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Location {
    /// The value of the env var with this name.
    Env(String),
    /// The arg at this index of the server's `args` array.
    Arg(usize),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Env(name) => write!(f, "env {name}"),
            Location::Arg(index) => write!(f, "args[{index}]"),
        }
    }
}

/// Which detection rule produced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Env var whose name says "secret" (TOKEN, KEY, PASSWORD, …) with a
    /// secret-looking value.
    SecretEnvName,
    GithubToken,
    GitlabToken,
    OpenAiStyleKey,
    AnthropicKey,
    SlackToken,
    AwsAccessKeyId,
    StripeKey,
    GoogleApiKey,
    Jwt,
    PrivateKey,
    UrlPassword,
    SecretQueryParam,
    SecretFlagValue,
    AuthorizationHeader,
    SecretHeader,
    NotionToken,
    LinearKey,
    FigmaToken,
    HuggingFaceToken,
    SentryToken,
    NeonKey,
    ShopifyToken,
    AtlassianToken,
    AirtableToken,
    PerplexityKey,
    TavilyKey,
    FirecrawlKey,
    HubspotToken,
    GroqKey,
    XaiKey,
    ReplicateToken,
    DigitalOceanToken,
    NpmToken,
    PypiToken,
    GoogleOauthToken,
    SupabaseToken,
    ApifyToken,
    PostmanKey,
    HerokuKey,
    DatabricksToken,
    GrafanaToken,
    /// A token-like segment of a URL path (`/s/<token>/mcp`).
    UrlPathToken,
    /// A key-shaped bare argument (`mcp-server-neon start <key>`).
    PositionalKey,
    /// The secret of an `id:secret` pair (Twilio `AC…/SK…:secret`).
    CredentialPair,
    /// A value under a secret-named key inside a JSON value.
    SecretJsonKey,
}

impl Rule {
    /// Every rule, in a stable order (handy for docs and `--list-rules`).
    pub const ALL: [Rule; 46] = [
        Rule::SecretEnvName,
        Rule::GithubToken,
        Rule::GitlabToken,
        Rule::OpenAiStyleKey,
        Rule::AnthropicKey,
        Rule::SlackToken,
        Rule::AwsAccessKeyId,
        Rule::StripeKey,
        Rule::GoogleApiKey,
        Rule::Jwt,
        Rule::PrivateKey,
        Rule::UrlPassword,
        Rule::SecretQueryParam,
        Rule::SecretFlagValue,
        Rule::AuthorizationHeader,
        Rule::SecretHeader,
        Rule::NotionToken,
        Rule::LinearKey,
        Rule::FigmaToken,
        Rule::HuggingFaceToken,
        Rule::SentryToken,
        Rule::NeonKey,
        Rule::ShopifyToken,
        Rule::AtlassianToken,
        Rule::AirtableToken,
        Rule::PerplexityKey,
        Rule::TavilyKey,
        Rule::FirecrawlKey,
        Rule::HubspotToken,
        Rule::GroqKey,
        Rule::XaiKey,
        Rule::ReplicateToken,
        Rule::DigitalOceanToken,
        Rule::NpmToken,
        Rule::PypiToken,
        Rule::GoogleOauthToken,
        Rule::SupabaseToken,
        Rule::ApifyToken,
        Rule::PostmanKey,
        Rule::HerokuKey,
        Rule::DatabricksToken,
        Rule::GrafanaToken,
        Rule::UrlPathToken,
        Rule::PositionalKey,
        Rule::CredentialPair,
        Rule::SecretJsonKey,
    ];

    /// Stable kebab-case id, safe to use in config and output.
    pub fn id(self) -> &'static str {
        match self {
            Rule::SecretEnvName => "secret-env-name",
            Rule::GithubToken => "github-token",
            Rule::GitlabToken => "gitlab-token",
            Rule::OpenAiStyleKey => "openai-style-key",
            Rule::AnthropicKey => "anthropic-key",
            Rule::SlackToken => "slack-token",
            Rule::AwsAccessKeyId => "aws-access-key-id",
            Rule::StripeKey => "stripe-key",
            Rule::GoogleApiKey => "google-api-key",
            Rule::Jwt => "jwt",
            Rule::PrivateKey => "private-key",
            Rule::UrlPassword => "url-password",
            Rule::SecretQueryParam => "secret-query-param",
            Rule::SecretFlagValue => "secret-flag-value",
            Rule::AuthorizationHeader => "authorization-header",
            Rule::SecretHeader => "secret-header",
            Rule::NotionToken => "notion-token",
            Rule::LinearKey => "linear-key",
            Rule::FigmaToken => "figma-token",
            Rule::HuggingFaceToken => "hugging-face-token",
            Rule::SentryToken => "sentry-token",
            Rule::NeonKey => "neon-key",
            Rule::ShopifyToken => "shopify-token",
            Rule::AtlassianToken => "atlassian-token",
            Rule::AirtableToken => "airtable-token",
            Rule::PerplexityKey => "perplexity-key",
            Rule::TavilyKey => "tavily-key",
            Rule::FirecrawlKey => "firecrawl-key",
            Rule::HubspotToken => "hubspot-token",
            Rule::GroqKey => "groq-key",
            Rule::XaiKey => "xai-key",
            Rule::ReplicateToken => "replicate-token",
            Rule::DigitalOceanToken => "digitalocean-token",
            Rule::NpmToken => "npm-token",
            Rule::PypiToken => "pypi-token",
            Rule::GoogleOauthToken => "google-oauth-token",
            Rule::SupabaseToken => "supabase-token",
            Rule::ApifyToken => "apify-token",
            Rule::PostmanKey => "postman-key",
            Rule::HerokuKey => "heroku-key",
            Rule::DatabricksToken => "databricks-token",
            Rule::GrafanaToken => "grafana-token",
            Rule::UrlPathToken => "url-path-token",
            Rule::PositionalKey => "positional-key",
            Rule::CredentialPair => "credential-pair",
            Rule::SecretJsonKey => "secret-json-key",
        }
    }

    /// Human-readable description.
    pub fn describe(self) -> &'static str {
        match self {
            Rule::SecretEnvName => {
                "env var whose name marks it as a secret (TOKEN, KEY, PASSWORD, SECRET, …)"
            }
            Rule::GithubToken => "GitHub token (ghp_/gho_/ghu_/ghs_/ghr_/github_pat_)",
            Rule::GitlabToken => "GitLab personal access token (glpat-)",
            Rule::OpenAiStyleKey => "OpenAI-style secret key (sk-/sk-proj-)",
            Rule::AnthropicKey => "Anthropic API key (sk-ant-)",
            Rule::SlackToken => "Slack token (xoxb-/xoxp-/xoxa-/xoxo-/xoxs-/xoxr-/xapp-)",
            Rule::AwsAccessKeyId => "AWS access key id (AKIA/ASIA)",
            Rule::StripeKey => {
                "Stripe secret or restricted key (sk_live_/rk_live_/sk_test_/rk_test_)"
            }
            Rule::GoogleApiKey => "Google API key (AIza)",
            Rule::Jwt => "JSON Web Token (eyJ… header.payload.signature)",
            Rule::PrivateKey => "PEM private key block (-----BEGIN … PRIVATE KEY-----)",
            Rule::UrlPassword => "password in URL userinfo (scheme://user:password@host)",
            Rule::SecretQueryParam => {
                "secret URL query parameter (?api_key=, ?token=, ?key=, ?exaApiKey=, …)"
            }
            Rule::SecretFlagValue => {
                "value of a secret CLI flag (--api-key, --token, --password, …)"
            }
            Rule::AuthorizationHeader => {
                "credential in an Authorization header (Bearer/Basic/Token)"
            }
            Rule::SecretHeader => "value of an auth-like HTTP header (X-API-Key, X-Auth-Token, …)",
            Rule::NotionToken => "Notion integration secret (ntn_/secret_)",
            Rule::LinearKey => "Linear API key (lin_api_)",
            Rule::FigmaToken => "Figma personal access token (figd_)",
            Rule::HuggingFaceToken => "Hugging Face access token (hf_/api_org_)",
            Rule::SentryToken => "Sentry auth token (sntryu_/sntrys_)",
            Rule::NeonKey => "Neon API key (napi_)",
            Rule::ShopifyToken => "Shopify access token (shpat_/shpca_/shppa_/shpss_)",
            Rule::AtlassianToken => "Atlassian API token (ATATT3)",
            Rule::AirtableToken => "Airtable personal access token (pat….<64 hex>)",
            Rule::PerplexityKey => "Perplexity API key (pplx-)",
            Rule::TavilyKey => "Tavily API key (tvly-)",
            Rule::FirecrawlKey => "Firecrawl API key (fc-)",
            Rule::HubspotToken => "HubSpot private app token (pat-na1-/pat-eu1-)",
            Rule::GroqKey => "Groq API key (gsk_)",
            Rule::XaiKey => "xAI API key (xai-)",
            Rule::ReplicateToken => "Replicate API token (r8_)",
            Rule::DigitalOceanToken => "DigitalOcean token (dop_v1_/doo_v1_/dor_v1_)",
            Rule::NpmToken => "npm access token (npm_)",
            Rule::PypiToken => "PyPI API token (pypi-AgEIcHlwaS5vcmc…)",
            Rule::GoogleOauthToken => "Google OAuth access token or client secret (ya29./GOCSPX-)",
            Rule::SupabaseToken => "Supabase access token (sbp_)",
            Rule::ApifyToken => "Apify API token (apify_api_)",
            Rule::PostmanKey => "Postman API key (PMAK-)",
            Rule::HerokuKey => "Heroku API key (HRKU-AA)",
            Rule::DatabricksToken => "Databricks personal access token (dapi)",
            Rule::GrafanaToken => "Grafana service account token (glsa_)",
            Rule::UrlPathToken => {
                "token in a URL path (/s/<token>/mcp, or a generated key as a path segment)"
            }
            Rule::PositionalKey => "generated key passed as a bare argument (start <key>)",
            Rule::CredentialPair => "secret of an id:secret pair (Twilio AC…/SK…:secret)",
            Rule::SecretJsonKey => {
                "value under a secret-named key in a JSON value (api_key, token, X-API-Key, …)"
            }
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One detected plaintext secret. Carries no secret bytes by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub location: Location,
    /// Byte range of the secret inside the env value / the arg string. For env
    /// vars this is always the whole value (the unit a broker moves into the
    /// keychain, DSNs included); for args it is exactly the secret bytes, e.g.
    /// only the password part of a DSN.
    pub span: Range<usize>,
    pub rule: Rule,
}

impl Finding {
    /// The secret bytes inside `text` (the env value or arg this finding was
    /// produced from). `None` if `text` is not the string that was scanned.
    pub fn secret_in<'a>(&self, text: &'a str) -> Option<&'a str> {
        text.get(self.span.clone())
    }
}

// ---------------------------------------------------------------------------
// Detections: exact spans anywhere in an entry
// ---------------------------------------------------------------------------

/// Where a [`Detection`] sits in a server entry, stdio or remote.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Place {
    /// The value of the env var with this name.
    Env(String),
    /// The arg at this index of the server's `args` array.
    Arg(usize),
    /// The entry's URL, under this key (`url`, `serverUrl`, `httpUrl`).
    Url(String),
    /// The value of the remote entry's HTTP header with this name.
    Header(String),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Env(name) => write!(f, "env {name}"),
            Place::Arg(index) => write!(f, "args[{index}]"),
            Place::Url(key) => write!(f, "{key}"),
            Place::Header(name) => write!(f, "header {name}"),
        }
    }
}

/// How the string holding a secret can be rewritten so the secret leaves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// The secret is the whole string (up to surrounding whitespace): replace the
    /// string by a reference.
    Whole,
    /// The secret is part of a larger string (a DSN password, a Bearer credential, a
    /// token in a URL or in JSON): the string becomes a template with only the span
    /// replaced.
    Part,
    /// A `docker run` env assignment (`-e NAME=VALUE`, `--env NAME=VALUE`,
    /// `--env=NAME=VALUE`): `value` is the range of VALUE in the arg, and the span
    /// lies inside it. The arg can become `NAME` (`--env=NAME`, see
    /// [`Detection::docker_env_arg`]) with NAME set in the child's environment to
    /// VALUE, templated like [`Form::Part`] when the span is not all of it.
    DockerEnv { name: String, value: Range<usize> },
}

/// One detected plaintext secret: exactly which bytes of which string. Carries no
/// secret bytes by construction (a docker env var's *name* is not secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub place: Place,
    /// Byte range of the secret inside the string at `place`: the env value, the
    /// arg, the URL or the header value. Only the secret: not `Bearer `, not the
    /// DSN's user or host, not the rest of a JSON value.
    pub span: Range<usize>,
    pub rule: Rule,
    pub form: Form,
    /// The span lies inside a JSON string literal (a JSON env value, or a JSON
    /// `docker -e` value): the program reads it JSON-unescaped; see
    /// [`Detection::secret_value`]. Anything written back into the span must be
    /// JSON-string safe (`${keybroker:…}` references are).
    pub json: bool,
}

impl Detection {
    /// The secret's bytes inside `text` (the string this detection was produced
    /// from). `None` if `text` is not that string.
    pub fn secret_in<'a>(&self, text: &'a str) -> Option<&'a str> {
        text.get(self.span.clone())
    }

    /// The secret as the program receives it: [`Detection::secret_in`], with JSON
    /// escapes decoded when the span lies in a JSON string.
    pub fn secret_value(&self, text: &str) -> Option<String> {
        let raw = self.secret_in(text)?;
        if self.json && raw.contains('\\') {
            return serde_json::from_str::<String>(&format!("\"{raw}\"")).ok();
        }
        Some(raw.to_owned())
    }

    /// `text` with the secret's span replaced by `with` (the template).
    pub fn replaced(&self, text: &str, with: &str) -> Option<String> {
        text.get(self.span.clone())?;
        let mut out = text.to_owned();
        out.replace_range(self.span.clone(), with);
        Some(out)
    }

    /// For a [`Form::DockerEnv`] detection, the arg without its `=VALUE`: `NAME`, or
    /// `--env=NAME`.
    pub fn docker_env_arg<'a>(&self, arg: &'a str) -> Option<&'a str> {
        match &self.form {
            Form::DockerEnv { value, .. } => arg.get(..value.start.checked_sub(1)?),
            _ => None,
        }
    }
}

fn form_of(text: &str, span: &Range<usize>) -> Form {
    if *span == text::trimmed_range(text) {
        Form::Whole
    } else {
        Form::Part
    }
}

fn sorted(mut v: Vec<Detection>) -> Vec<Detection> {
    v.sort_by_key(|d| d.span.start);
    v
}

/// Every secret in one env var's value, ordered by position. A JSON object or array
/// value is searched string by string.
pub fn detect_env(name: &str, value: &str) -> Vec<Detection> {
    let (hits, json) = args::env_value_hits(name, value);
    sorted(
        hits.into_iter()
            .map(|(span, rule)| Detection {
                place: Place::Env(name.to_owned()),
                form: form_of(value, &span),
                span,
                rule,
                json,
            })
            .collect(),
    )
}

/// Every secret in a server's args, ordered by (index, span.start), never
/// overlapping.
pub fn detect_args(args: &[String]) -> Vec<Detection> {
    args::arg_hits(args)
        .into_iter()
        .map(|h| {
            let form = match h.docker_env {
                Some((name, value)) => Form::DockerEnv { name, value },
                None => form_of(&args[h.index], &h.span),
            };
            Detection {
                place: Place::Arg(h.index),
                span: h.span,
                rule: h.rule,
                form,
                json: h.json,
            }
        })
        .collect()
}

/// Every secret in a remote entry's URL (userinfo, query, path), ordered by position.
/// `key` is the field the URL came from.
pub fn detect_url(key: &str, url: &str) -> Vec<Detection> {
    let hits = text::detect_in_text(url);
    sorted(
        hits.into_iter()
            .map(|(span, rule)| Detection {
                place: Place::Url(key.to_owned()),
                form: form_of(url, &span),
                span,
                rule,
                json: false,
            })
            .collect(),
    )
}

/// The secret in the value of a remote entry's HTTP header, if any.
pub fn detect_header(name: &str, value: &str) -> Vec<Detection> {
    let mut candidates = tokens::find_tokens(value);
    candidates.extend(text::header_secret(name, value));
    if !text::is_authorization(name) {
        candidates.extend(text::detect_in_text(value));
    }
    sorted(
        text::accept(value, candidates)
            .into_iter()
            .map(|(span, rule)| Detection {
                place: Place::Header(name.to_owned()),
                form: form_of(value, &span),
                span,
                rule,
                json: false,
            })
            .collect(),
    )
}

/// Every secret in one stdio entry: env findings in env order, then arg findings
/// by (index, span.start).
pub fn detect_stdio(env: &[(String, String)], args: &[String]) -> Vec<Detection> {
    let mut out: Vec<Detection> = env
        .iter()
        .flat_map(|(name, value)| detect_env(name, value))
        .collect();
    out.extend(detect_args(args));
    out
}

/// The string values of an object field, in order.
fn string_map(obj: &serde_json::Map<String, Value>, key: &str) -> Vec<(String, String)> {
    obj.get(key)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// Every secret in one server entry as host config files write it: `env` (or
/// opencode's `environment`), `args`, the URL (`url`, `serverUrl`, `httpUrl`) and
/// the headers (`headers`, Codex's `http_headers`). Env first, then args, URLs and
/// headers, each in file order.
pub fn detect_entry(entry: &Value) -> Vec<Detection> {
    let Some(obj) = entry.as_object() else {
        return Vec::new();
    };
    let mut env = string_map(obj, "env");
    env.extend(string_map(obj, "environment"));
    let args: Vec<String> = obj
        .get("args")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    let mut out = detect_stdio(&env, &args);
    for key in ["url", "serverUrl", "httpUrl"] {
        if let Some(url) = obj.get(key).and_then(Value::as_str) {
            out.extend(detect_url(key, url));
        }
    }
    for key in ["headers", "http_headers"] {
        for (name, value) in string_map(obj, key) {
            out.extend(detect_header(&name, &value));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Findings: what the import planner moves
// ---------------------------------------------------------------------------

/// Scan one stdio server entry: its env map (in file order) and its args.
///
/// Env findings come first, in env order (at most one per var), then arg
/// findings ordered by (index, span.start).
pub fn scan_server(env: &[(String, String)], args: &[String]) -> Vec<Finding> {
    let mut out: Vec<Finding> = env
        .iter()
        .filter_map(|(name, value)| scan_env(name, value))
        .collect();
    out.extend(scan_args(args));
    out
}

/// Scan one env var. The span, if any, covers the whole value; the rule is the most
/// specific one that matched.
pub fn scan_env(name: &str, value: &str) -> Option<Finding> {
    let (hits, _) = args::env_value_hits(name, value);
    let (_, rule) = hits.into_iter().next()?;
    Some(Finding {
        location: Location::Env(name.to_owned()),
        span: 0..value.len(),
        rule,
    })
}

/// Scan a server's args. Findings are ordered by (index, span.start) and never
/// overlap.
pub fn scan_args(args: &[String]) -> Vec<Finding> {
    args::arg_hits(args)
        .into_iter()
        .map(|h| Finding {
            location: Location::Arg(h.index),
            span: h.span,
            rule: h.rule,
        })
        .collect()
}

/// Mask a value for display, e.g. `"ghp_…a1b2"`.
///
/// Values shorter than 16 chars are fully masked (`"••••"`). Longer values show
/// at most the first 4 chars of a known *public* prefix (`ghp_`, `sk-`, `xoxb`,
/// …; otherwise `"••••"`) plus the last 4 chars, so never more than 8 chars and
/// never most of the value. The output shape does not reveal the length.
pub fn mask(value: &str) -> String {
    const HIDDEN: &str = "••••";
    let len = value.chars().count();
    if len < 16 {
        return HIDDEN.to_owned();
    }
    let head: String = match tokens::MASK_PREFIXES
        .iter()
        .find(|p| value.starts_with(**p))
    {
        Some(prefix) => prefix.chars().take(4).collect(),
        None => HIDDEN.to_owned(),
    };
    let tail: String = value.chars().skip(len - 4).collect();
    format!("{head}…{tail}")
}

/// Plaintext secrets in a remote entry: in its URL (`url`, `serverUrl`, `httpUrl`) and
/// in its headers (`headers`, Codex's `http_headers`), counted once per header. Import
/// leaves remote entries as they are, so these are reported, not moved.
pub fn remote_plaintext(v: &Value) -> usize {
    let found = detect_entry(v);
    let in_urls = found
        .iter()
        .filter(|d| matches!(d.place, Place::Url(_)))
        .count();
    let mut headers: Vec<&str> = found
        .iter()
        .filter_map(|d| match &d.place {
            Place::Header(name) => Some(name.as_str()),
            _ => None,
        })
        .collect();
    headers.dedup();
    in_urls + headers.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---- canaries: clearly fake, but shaped like the real thing -----------

    const POOL: &str = "kbCANARY0123456789abcdefghijklmnopqrstuvwxyzZYXWVU";

    fn canary(prefix: &str, body_len: usize) -> String {
        let body: String = POOL.chars().cycle().take(body_len).collect();
        format!("{prefix}{body}")
    }

    fn github() -> String {
        canary("ghp_", 36)
    }
    fn openai() -> String {
        canary("sk-proj-", 40)
    }
    fn anthropic() -> String {
        canary("sk-ant-api03-", 60)
    }
    fn slack() -> String {
        "xoxb-000000000000-000000000000-kbCANARYkbCANARYkbCANARY".to_owned()
    }
    fn aws() -> String {
        "AKIAKBCANARY00000000".to_owned()
    }
    fn google() -> String {
        canary("AIza", 35)
    }
    fn jwt() -> String {
        // {"alg":"HS256"} . {"sub":"kbCANARY"} . fake signature
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJrYkNBTkFSWSJ9.a2JDQU5BUllzaWduYXR1cmUtZmFrZQ".to_owned()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn only_arg_finding(args: &[String]) -> Finding {
        let found = scan_args(args);
        assert_eq!(found.len(), 1, "expected one finding, got {found:?}");
        found.into_iter().next().expect("expected a finding")
    }

    fn secret_of<'a>(args: &'a [String], f: &Finding) -> &'a str {
        let Location::Arg(i) = f.location else {
            panic!("expected an arg finding: {f:?}");
        };
        &args[i][f.span.clone()]
    }

    // ---- known token formats ------------------------------------------------

    #[test]
    fn github_token_in_positional_arg_is_found() {
        let args = vec!["server".to_owned(), github()];
        let f = only_arg_finding(&args);
        assert_eq!(f.location, Location::Arg(1));
        assert_eq!(f.rule, Rule::GithubToken);
        assert_eq!(secret_of(&args, &f), github());
    }

    #[test]
    fn every_classic_github_prefix_is_recognised() {
        for prefix in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] {
            let token = canary(prefix, 36);
            let f = scan_env("X", &token).expect("expected a finding");
            assert_eq!(f.rule, Rule::GithubToken, "{prefix}");
        }
    }

    #[test]
    fn github_fine_grained_pat_in_env_value_is_found() {
        let token = canary("github_pat_", 82);
        let f = scan_env("GH", &token).expect("expected a finding");
        assert_eq!(f.rule, Rule::GithubToken);
        assert_eq!(f.span, 0..token.len());
    }

    #[test]
    fn github_prefix_with_short_body_is_not_a_finding() {
        let args = vec![canary("ghp_", 20)];
        assert!(scan_args(&args).is_empty());
    }

    #[test]
    fn openai_project_key_in_env_is_found_under_any_name() {
        let f = scan_env("SOME_SETTING", &openai()).expect("expected a finding");
        assert_eq!(f.rule, Rule::OpenAiStyleKey);
    }

    #[test]
    fn sk_dash_inside_ordinary_words_is_not_a_finding() {
        let args = strings(&[
            "risk-assessment-tool-version-2024-01",
            "sk-learn",
            "sk-some-long-package-name-without-digits",
            "@acme/mcp-desk-server",
        ]);
        assert!(scan_args(&args).is_empty());
    }

    #[test]
    fn anthropic_key_wins_over_openai_style_rule() {
        let f = scan_env("ANTHROPIC_API_KEY", &anthropic()).expect("expected a finding");
        assert_eq!(f.rule, Rule::AnthropicKey);
    }

    #[test]
    fn slack_bot_token_passed_as_positional_arg_is_found() {
        let args = vec!["slack-mcp".to_owned(), slack()];
        let f = only_arg_finding(&args);
        assert_eq!(f.rule, Rule::SlackToken);
        assert_eq!(f.span, 0..slack().len());
    }

    #[test]
    fn slack_prefix_without_digits_is_not_a_finding() {
        assert!(scan_args(&strings(&["xoxb-placeholder-value-here"])).is_empty());
    }

    #[test]
    fn aws_access_key_id_inside_an_arg_has_exact_span() {
        let args = vec![format!("aws-key:{}", aws())];
        let f = only_arg_finding(&args);
        assert_eq!(f.rule, Rule::AwsAccessKeyId);
        assert_eq!(secret_of(&args, &f), aws());
    }

    #[test]
    fn aws_like_string_running_into_lowercase_is_not_a_finding() {
        let args = strings(&["AKIAKBCANARY00000000xyz", "AKIASHORT1"]);
        assert!(scan_args(&args).is_empty());
    }

    #[test]
    fn stripe_secret_and_restricted_keys_are_found() {
        for prefix in ["sk_live_", "rk_live_", "sk_test_", "rk_test_"] {
            let key = canary(prefix, 24);
            assert_eq!(
                scan_env("X", &key).expect("expected a finding").rule,
                Rule::StripeKey,
                "{prefix}"
            );
        }
    }

    #[test]
    fn stripe_publishable_key_is_not_a_finding() {
        assert!(scan_env("STRIPE_PUBLISHABLE", &canary("pk_live_", 24)).is_none());
    }

    #[test]
    fn google_and_gitlab_keys_are_found() {
        assert_eq!(
            scan_env("X", &google()).expect("expected a finding").rule,
            Rule::GoogleApiKey
        );
        let gitlab = canary("glpat-", 20);
        assert_eq!(
            scan_env("X", &gitlab).expect("expected a finding").rule,
            Rule::GitlabToken
        );
    }

    #[test]
    fn jwt_inside_an_arg_has_exact_span() {
        let args = vec![format!("session={} ;", jwt())];
        let f = only_arg_finding(&args);
        assert_eq!(f.rule, Rule::Jwt);
        assert_eq!(secret_of(&args, &f), jwt());
    }

    #[test]
    fn jwt_like_string_without_three_parts_is_not_a_finding() {
        let args = strings(&["eyJhbGciOiJIUzI1NiJ9", "eyJhbGciOiJIUzI1NiJ9.only-two"]);
        assert!(scan_args(&args).is_empty());
    }

    #[test]
    fn pem_private_key_in_env_is_found() {
        let pem = "-----BEGIN PRIVATE KEY-----\nkbCANARYkbCANARY\n-----END PRIVATE KEY-----\n";
        let f = scan_env("SERVICE_ACCOUNT", pem).expect("expected a finding");
        assert_eq!(f.rule, Rule::PrivateKey);
        let public = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
        assert!(scan_env("CA_BUNDLE", public).is_none());
    }

    #[test]
    fn token_inside_a_clone_url_spans_exactly_the_token() {
        let args = vec![format!(
            "https://x-access-token:{}@github.com/o/r.git",
            github()
        )];
        let f = only_arg_finding(&args);
        assert_eq!(f.rule, Rule::GithubToken);
        assert_eq!(secret_of(&args, &f), github());
    }

    // ---- env names -----------------------------------------------------------

    #[test]
    fn secret_env_names_match_on_whole_segments() {
        let value = "kbCANARY-value-1234";
        for name in [
            "API_KEY",
            "APIKEY",
            "MY_SERVICE_TOKEN",
            "BRAVE_API_KEY",
            "DB_PASSWORD",
            "DB_PASSWD",
            "SMTP_PASS",
            "CLIENT_SECRET",
            "GITLAB_PAT",
            "MCP_AUTH",
            "SERVICE_CREDENTIAL",
            "SERVICE_CREDENTIALS",
            "SIGNING_PRIVATE_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "SESSION",
            "SESSION_ID",
            "COOKIE",
            "BEARER",
            "SENTRY-DSN",
            "AZURE_CONNECTION_STRING",
            "OPENAIAPIKEY",
            "authtoken",
        ] {
            let f = scan_env(name, value).unwrap_or_else(|| panic!("{name} should match"));
            assert_eq!(f.rule, Rule::SecretEnvName, "{name}");
            assert_eq!(f.span, 0..value.len(), "{name}");
        }
    }

    #[test]
    fn camel_case_env_names_are_split_into_words() {
        for name in [
            "apiKey",
            "githubToken",
            "OAuthToken",
            "APIKey",
            "dbPassword",
        ] {
            assert!(scan_env(name, "kbCANARY12345").is_some(), "{name}");
        }
    }

    #[test]
    fn names_that_merely_contain_secret_words_do_not_match() {
        let value = "kbCANARY-value-1234";
        for name in [
            "PATH",
            "PYTHONPATH",
            "FILE_PATTERN",
            "PWD",
            "KEYBOARD_LAYOUT",
            "AUTHOR_NAME",
            "TOKENIZERS_PARALLELISM",
            "MONKEY",
            "BYPASS_CACHE",
            "PASSENGER_COUNT",
        ] {
            assert!(scan_env(name, value).is_none(), "{name} should not match");
        }
    }

    #[test]
    fn names_describing_a_secret_rather_than_holding_it_do_not_match() {
        for (name, value) in [
            ("TOKEN_LIMIT", "4096"),
            ("AUTH_TYPE", "oauth"),
            ("AUTH_METHOD", "client-credentials"),
            ("API_KEY_FILE", "./k.txt"),
            ("SECRET_NAME", "prod/mcp/github"),
            ("KEY_ID", "kbCANARY1234"),
            ("GITHUB_TOKEN_ENV", "GITHUB_TOKEN_VALUE"),
            ("SESSION_TIMEOUT", "30minutes"),
        ] {
            assert!(scan_env(name, value).is_none(), "{name}={value}");
        }
    }

    /// Regression: an entry that carried its session bus (hosts that start servers with
    /// only the entry's env) had `DBUS_SESSION_BUS_ADDRESS` moved into the keychain, which
    /// the launcher can then never reach.
    #[test]
    fn the_session_bus_address_stays_in_the_entry() {
        for (name, value) in [
            (
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/tmp/dbus-PEaXk2yD3N,guid=5d41402abc4b2a76b9719d911017c592",
            ),
            ("SESSION_SERVER_ADDR", "unix:abstract=/tmp/dbus-x9Q2kLmN7a"),
        ] {
            assert!(scan_env(name, value).is_none(), "{name}={value}");
        }
        assert!(scan_env("SESSION", "5d41402abc4b2a76b9719d911017c592aQ").is_some());
    }

    #[test]
    fn brief_negative_examples_are_not_findings() {
        for (name, value) in [
            ("GOOGLE_APPLICATION_CREDENTIALS", "/home/u/key.json"),
            ("API_KEY_FILE", "./k.txt"),
            ("AUTH_TYPE", "oauth"),
            ("TOKEN_LIMIT", "4096"),
            ("LOG_LEVEL", "debug"),
            ("GITHUB_TOKEN", "${GITHUB_TOKEN}"),
        ] {
            assert!(scan_env(name, value).is_none(), "{name}={value}");
        }
    }

    #[test]
    fn env_reference_values_are_not_findings() {
        for value in [
            "${API_KEY}",
            "$API_KEY",
            "%API_KEY%",
            "$env:API_KEY",
            "${input:token}",
        ] {
            assert!(scan_env("API_KEY", value).is_none(), "{value}");
            assert!(scan_env("PASSWORD", value).is_none(), "{value}");
        }
    }

    #[test]
    fn boolean_numeric_and_log_level_values_are_not_findings() {
        for value in [
            "true", "FALSE", "yes", "off", "null", "None", "4096", "-1", "0.75", "debug", "WARN",
            "", "   ",
        ] {
            assert!(scan_env("SECRET", value).is_none(), "{value:?}");
            assert!(scan_env("AUTH_TOKEN", value).is_none(), "{value:?}");
        }
    }

    #[test]
    fn path_values_are_not_findings() {
        for value in [
            "/etc/mcp/key.pem",
            "~/keys/k.json",
            "./k.txt",
            "../k.txt",
            "C:\\Users\\u\\key.json",
            "D:/k.json",
        ] {
            assert!(scan_env("PRIVATE_KEY", value).is_none(), "{value}");
            assert!(scan_env("DB_PASSWORD", value).is_none(), "{value}");
        }
    }

    #[test]
    fn password_names_accept_short_values() {
        assert!(scan_env("DB_PASSWORD", "hunter2").is_some());
        assert!(scan_env("SMTP_PASS", "pw").is_some());
        assert!(scan_env("APP_SECRET", "two words").is_some());
    }

    #[test]
    fn key_and_token_names_require_eight_chars_without_whitespace() {
        assert!(scan_env("API_KEY", "abc123").is_none());
        assert!(scan_env("API_KEY", "has some spaces in it").is_none());
        assert!(scan_env("API_KEY", "kbCANARY").is_some());
    }

    #[test]
    fn bearer_value_under_auth_name_is_found() {
        let f = scan_env("MCP_AUTH", "Bearer kbCANARY").expect("expected a finding");
        assert_eq!(f.rule, Rule::SecretEnvName);
        assert!(scan_env("MCP_AUTH", "Bearer ${TOKEN}").is_none());
    }

    #[test]
    fn non_secret_env_with_ordinary_value_is_not_a_finding() {
        assert!(scan_env("NODE_ENV", "production").is_none());
        assert!(scan_env("ALLOWED_DIRS", "/home/u/projects").is_none());
    }

    #[test]
    fn dsn_password_in_env_is_found_under_any_name_and_spans_the_whole_value() {
        let value = "postgresql://app:s3cr3t-pw@db.internal:5432/app";
        let f = scan_env("DATABASE_URL", value).expect("expected a finding");
        assert_eq!(f.rule, Rule::UrlPassword);
        assert_eq!(f.span, 0..value.len());
    }

    #[test]
    fn plain_urls_in_env_are_not_findings() {
        assert!(scan_env("API_URL", "https://api.example.com/v1").is_none());
        assert!(scan_env("AUTH", "https://login.example.com/oauth").is_none());
        // Sentry-style DSN: public key as username, no password.
        assert!(scan_env("SENTRY_DSN", "https://abc123@o1.ingest.sentry.io/1").is_none());
    }

    #[test]
    fn secret_query_param_in_env_url_is_found() {
        let f = scan_env("MCP_ENDPOINT", "https://x.example/mcp?token=kbCANARY99")
            .expect("expected a finding");
        assert_eq!(f.rule, Rule::SecretQueryParam);
    }

    // ---- URLs in args ----------------------------------------------------------

    #[test]
    fn url_password_in_arg_spans_only_the_password() {
        let args = strings(&["--db", "postgresql://user:kbCANARY-pw@db.host:5432/app"]);
        let f = only_arg_finding(&args);
        assert_eq!(f.location, Location::Arg(1));
        assert_eq!(f.rule, Rule::UrlPassword);
        assert_eq!(secret_of(&args, &f), "kbCANARY-pw");
    }

    #[test]
    fn url_password_containing_at_sign_spans_up_to_the_last_at() {
        let args = strings(&["redis://:kb@CANARY@cache:6379/0"]);
        let f = only_arg_finding(&args);
        assert_eq!(secret_of(&args, &f), "kb@CANARY");
    }

    #[test]
    fn urls_without_password_are_not_findings() {
        let args = strings(&[
            "https://host/path",
            "https://user@host/path",
            "postgresql://user:${DB_PASSWORD}@db/app",
            "https://host/search?q=rust&page=2",
        ]);
        assert!(scan_args(&args).is_empty());
    }

    #[test]
    fn secret_query_parameter_value_is_found() {
        let args = strings(&["https://api.example.com/mcp?api_key=XYZ123456&region=eu"]);
        let f = only_arg_finding(&args);
        assert_eq!(f.rule, Rule::SecretQueryParam);
        assert_eq!(secret_of(&args, &f), "XYZ123456");
    }

    #[test]
    fn query_param_names_are_case_insensitive_and_all_are_reported() {
        let args = strings(&["https://h.example/x?API_KEY=kbA1&Signature=kbS2#frag"]);
        let found = scan_args(&args);
        let secrets: Vec<&str> = found.iter().map(|f| secret_of(&args, f)).collect();
        assert_eq!(secrets, ["kbA1", "kbS2"]);
    }

    #[test]
    fn non_secret_and_templated_query_params_are_ignored() {
        let args = strings(&["https://h.example/x?page_token=abc&key=${KEY}&auth=true&region=eu"]);
        assert!(scan_args(&args).is_empty());
    }

    // ---- flags -------------------------------------------------------------------

    #[test]
    fn separate_flag_value_is_found_on_the_next_arg() {
        for flag in [
            "--api-key",
            "--token",
            "--password",
            "--secret",
            "--access-token",
            "--auth",
            "--github-token",
        ] {
            let args = strings(&["server", flag, "kbCANARY-value-1"]);
            let f = only_arg_finding(&args);
            assert_eq!(f.location, Location::Arg(2), "{flag}");
            assert_eq!(f.rule, Rule::SecretFlagValue, "{flag}");
            assert_eq!(f.span, 0..args[2].len(), "{flag}");
        }
    }

    #[test]
    fn flag_with_equals_spans_the_value_only() {
        for arg in [
            "--token=kbCANARY-value-1",
            "--api-key=kbCANARY-value-1",
            "--api_key=kbCANARY-value-1",
        ] {
            let args = strings(&[arg]);
            let f = only_arg_finding(&args);
            assert_eq!(f.rule, Rule::SecretFlagValue);
            assert_eq!(secret_of(&args, &f), "kbCANARY-value-1");
        }
    }

    #[test]
    fn flag_followed_by_a_flag_or_env_ref_is_not_a_finding() {
        let args = strings(&[
            "--token",
            "--verbose",
            "--api-key",
            "${API_KEY}",
            "--password=${PW}",
        ]);
        assert!(scan_args(&args).is_empty());
    }

    #[test]
    fn flag_value_that_is_a_known_token_reports_the_token_rule() {
        let args = vec!["--token".to_owned(), github(), "--other".to_owned()];
        let f = only_arg_finding(&args);
        assert_eq!(f.location, Location::Arg(1));
        assert_eq!(f.rule, Rule::GithubToken);
    }

    #[test]
    fn flags_about_secrets_rather_than_holding_them_are_not_findings() {
        let args = strings(&[
            "--api-key-file",
            "./k.txt",
            "--token-limit",
            "4096",
            "--auth",
            "oauth",
        ]);
        assert!(scan_args(&args).is_empty());
    }

    #[test]
    fn docker_style_env_assignment_arg_is_found() {
        let args = strings(&[
            "run",
            "-e",
            "API_KEY=kbCANARY-value-1",
            "-e",
            "GITHUB_TOKEN",
            "img",
        ]);
        let f = only_arg_finding(&args);
        assert_eq!(f.location, Location::Arg(2));
        assert_eq!(f.rule, Rule::SecretEnvName);
        assert_eq!(secret_of(&args, &f), "kbCANARY-value-1");
    }

    // ---- headers -------------------------------------------------------------------

    #[test]
    fn mcp_remote_authorization_header_spans_the_bearer_credential() {
        let args = strings(&[
            "mcp-remote",
            "https://x/mcp",
            "--header",
            "Authorization: Bearer abc.def-123456",
        ]);
        let f = only_arg_finding(&args);
        assert_eq!(f.location, Location::Arg(3));
        assert_eq!(f.rule, Rule::AuthorizationHeader);
        assert_eq!(secret_of(&args, &f), "abc.def-123456");
    }

    #[test]
    fn authorization_header_without_space_is_found() {
        let args = strings(&["--header", "Authorization:Bearer abc"]);
        let f = only_arg_finding(&args);
        assert_eq!(secret_of(&args, &f), "abc");
        let args = strings(&["--header=Authorization: Token kbCANARY"]);
        let f = only_arg_finding(&args);
        assert_eq!(secret_of(&args, &f), "kbCANARY");
    }

    #[test]
    fn basic_scheme_spans_only_the_credential() {
        let args = strings(&["Authorization: Basic a2JDQU5BUlk6cHc="]);
        let f = only_arg_finding(&args);
        assert_eq!(secret_of(&args, &f), "a2JDQU5BUlk6cHc=");
    }

    #[test]
    fn api_key_style_headers_span_the_whole_value() {
        for header in [
            "X-API-Key: kbKEY",
            "Api-Key:kbKEY",
            "X-Auth-Token:   kbKEY  ",
        ] {
            let args = strings(&["--header", header]);
            let f = only_arg_finding(&args);
            assert_eq!(f.rule, Rule::SecretHeader, "{header}");
            assert_eq!(secret_of(&args, &f), "kbKEY", "{header}");
        }
    }

    #[test]
    fn headers_with_env_references_or_harmless_names_are_not_findings() {
        let args = strings(&[
            "--header",
            "Authorization: Bearer ${AUTH_TOKEN}",
            "--header",
            "Authorization:${AUTH_HEADER}",
            "--header",
            "X-API-Key: ${API_KEY}",
            "--header",
            "Content-Type: application/json",
        ]);
        assert!(scan_args(&args).is_empty());
    }

    #[test]
    fn bearer_jwt_reports_the_jwt_rule_with_exact_span() {
        let args = vec![
            "--header".to_owned(),
            format!("Authorization: Bearer {}", jwt()),
        ];
        let f = only_arg_finding(&args);
        assert_eq!(f.rule, Rule::Jwt);
        assert_eq!(secret_of(&args, &f), jwt());
    }

    // ---- non-secrets, ordering, invariants ---------------------------------------------

    #[test]
    fn typical_server_args_have_no_findings() {
        let args = strings(&[
            "-y",
            "@modelcontextprotocol/server-github",
            "@modelcontextprotocol/server-filesystem",
            "/Users/me/Desktop",
            "C:\\Users\\me\\Documents",
            "--port",
            "8080",
            "--log-level",
            "debug",
            "https://mcp.example.com/sse",
            "uvx",
            "mcp-server-git==1.2.3",
            "--repository",
            "~/code/repo",
        ]);
        assert!(scan_args(&args).is_empty(), "{:?}", scan_args(&args));
    }

    #[test]
    fn scan_server_orders_env_then_args_by_index_and_offset() {
        let env = vec![
            ("ZED_TOKEN".to_owned(), "kbCANARY-zed-1".to_owned()),
            ("LOG_LEVEL".to_owned(), "info".to_owned()),
            ("A_PASSWORD".to_owned(), "hunter2".to_owned()),
        ];
        let args = vec![
            format!("https://u:kbpw@h/x?token=kbTOK&sig=kbSIG {}", github()),
            "--token".to_owned(),
            "kbCANARY-value-1".to_owned(),
        ];
        let found = scan_server(&env, &args);
        let locations: Vec<(Location, usize)> = found
            .iter()
            .map(|f| (f.location.clone(), f.span.start))
            .collect();
        assert_eq!(locations[0].0, Location::Env("ZED_TOKEN".into()));
        assert_eq!(locations[1].0, Location::Env("A_PASSWORD".into()));
        let arg_part = &locations[2..];
        assert_eq!(arg_part.len(), 5, "{found:?}");
        let mut sorted = arg_part.to_vec();
        sorted.sort();
        assert_eq!(arg_part, sorted.as_slice());
        assert_eq!(
            arg_part.last().expect("expected a finding").0,
            Location::Arg(2)
        );
    }

    #[test]
    fn arg_findings_never_overlap() {
        let args = vec![
            format!("--token={}", github()),
            format!("X-API-Key: {}", openai()),
            format!("https://u:{}@h/?key={}", aws(), google()),
        ];
        let found = scan_args(&args);
        for (i, a) in found.iter().enumerate() {
            for b in &found[i + 1..] {
                if a.location == b.location {
                    assert!(
                        a.span.end <= b.span.start || b.span.end <= a.span.start,
                        "{a:?} {b:?}"
                    );
                }
            }
        }
        assert_eq!(found.len(), 4, "{found:?}");
        assert_eq!(found[0].rule, Rule::GithubToken);
        assert_eq!(found[1].rule, Rule::OpenAiStyleKey);
    }

    #[test]
    fn at_most_one_finding_per_env_var() {
        let value = format!("{} {} postgres://u:p@h/db", github(), slack());
        let env = vec![("GITHUB_TOKEN".to_owned(), value)];
        assert_eq!(scan_server(&env, &[]).len(), 1);
    }

    #[test]
    fn finding_debug_output_never_contains_the_secret() {
        let env = vec![("OPENAI_API_KEY".to_owned(), openai())];
        let args = vec![
            "--password".to_owned(),
            "kbCANARY-pw-1".to_owned(),
            github(),
        ];
        let found = scan_server(&env, &args);
        assert_eq!(found.len(), 3);
        let debug = format!("{found:?}");
        for secret in [openai(), "kbCANARY-pw-1".to_owned(), github()] {
            assert!(!debug.contains(&secret));
        }
        assert!(!debug.contains("kbCANARY"));
    }

    #[test]
    fn secret_in_slices_the_original_text() {
        let value = "postgresql://app:s3cr3t@db/app";
        let args = vec![value.to_owned()];
        let f = only_arg_finding(&args);
        assert_eq!(f.secret_in(value), Some("s3cr3t"));
        assert_eq!(f.secret_in("short"), None);
    }

    #[test]
    fn non_ascii_input_never_panics_and_spans_stay_on_char_boundaries() {
        let args = vec![
            format!("é{}ü", github()),
            "Authorization: Bearer 🔑ключ".to_owned(),
            "пароль://ü:ß@ö/?token=€€".to_owned(),
            "--token=日本語のトークン値".to_owned(),
        ];
        for f in scan_args(&args) {
            let Location::Arg(i) = f.location else {
                unreachable!()
            };
            assert!(args[i].get(f.span.clone()).is_some(), "{f:?}");
        }
        assert!(scan_env("ПАРОЛЬ_PASSWORD", "значение").is_some());
    }

    #[test]
    fn every_truncation_of_tricky_inputs_scans_without_panicking() {
        let tricky = format!(
            "é--token=ü {} Authorization:Bearer ß https://u:pé@h/?key=€&sig= \
             -----BEGIN RSA PRIVATE KEY-----\nkb\n-----END  {} AKIA{} eyJ",
            github(),
            jwt(),
            "\u{1F511}"
        );
        let cuts = tricky.char_indices().map(|(i, _)| i).chain([tricky.len()]);
        for cut in cuts {
            for text in [&tricky[..cut], &tricky[cut..]] {
                let args = vec![text.to_owned()];
                for f in scan_args(&args) {
                    assert!(text.get(f.span.clone()).is_some(), "{f:?} in {text:?}");
                }
                let _ = scan_env("API_KEY", text);
            }
        }
    }

    #[test]
    fn rule_ids_are_unique_kebab_case_and_described() {
        let mut ids: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
        for id in &ids {
            assert!(
                id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{id}"
            );
            assert!(!id.starts_with('-') && !id.ends_with('-'), "{id}");
        }
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), Rule::ALL.len());
        assert!(Rule::ALL.iter().all(|r| !r.describe().is_empty()));
        assert_eq!(Rule::GithubToken.to_string(), "github-token");
    }

    // ---- mask --------------------------------------------------------------------------

    fn revealed(masked: &str) -> usize {
        masked.chars().filter(|c| *c != '•' && *c != '…').count()
    }

    #[test]
    fn mask_shows_known_prefix_and_last_four() {
        let token = github();
        let masked = mask(&token);
        assert_eq!(masked, format!("ghp_…{}", &token[token.len() - 4..]));
        assert!(mask(&slack()).starts_with("xoxb…"));
        assert!(mask(&openai()).starts_with("sk-p…"));
        assert!(mask(&canary("sk-", 40)).starts_with("sk-…"));
    }

    #[test]
    fn mask_hides_unknown_prefixes() {
        assert_eq!(mask("kbCANARY-long-value-a1b2"), "••••…a1b2");
    }

    #[test]
    fn mask_fully_masks_short_values() {
        for v in ["", "a", "hunter2", "ghp_short", "sk-123456789012"] {
            assert_eq!(mask(v), "••••", "{v}");
        }
    }

    #[test]
    fn mask_never_reveals_more_than_eight_chars_or_most_of_a_value() {
        let long = canary("github_pat_", 200);
        for len in 0..long.len() {
            let v = &long[..len];
            let masked = mask(v);
            let shown = revealed(&masked);
            assert!(shown <= 8, "{len}: {masked}");
            assert!(shown * 2 <= len || shown == 0, "{len}: {masked}");
        }
    }

    #[test]
    fn mask_handles_multibyte_values() {
        let v = "пароль-пароль-пароль";
        assert_eq!(mask(v), "••••…роль");
        assert_eq!(mask("ключ"), "••••");
    }

    #[test]
    fn a_secret_in_remote_headers_or_url_is_counted() {
        let v = serde_json::json!({"serverUrl": "https://x.example/mcp", "headers": {"Authorization": "Bearer ghp_KBCANARYghEbNXbnFJZlruZPOSZfkleGN4jF", "Accept": "text/plain"}});
        assert_eq!(remote_plaintext(&v), 1);
        let clean = serde_json::json!({"httpUrl": "https://x.example/mcp"});
        assert_eq!(remote_plaintext(&clean), 0);
    }
}
