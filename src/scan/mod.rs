//! Plaintext-secret detector for MCP server entries.
//!
//! AI hosts (Claude Desktop, Cursor, …) start MCP servers from JSON config
//! files, and people routinely paste API keys straight into those files: as
//! `env` values, as positional args, as `--api-key X` flags, inside DSNs, in
//! URL query strings or in `mcp-remote --header "Authorization: Bearer …"`.
//! This module finds those plaintext credentials so Keybroker can offer to
//! move them into the OS keychain.
//!
//! What it deliberately does **not** do:
//! - No I/O. It never reads files, the environment or the keychain; callers
//!   hand it already-parsed strings.
//! - It never copies secret values. A [`Finding`] is only a [`Location`], a
//!   byte span and a [`Rule`], so logging or `Debug`-printing findings cannot
//!   leak a secret. Callers slice the original string with the span when they
//!   really need the value, and use [`mask`] for anything shown to a person.
//! - It does not judge whether a credential is live or valid, and does no
//!   entropy guessing on arbitrary strings: it flags known token formats,
//!   credential-bearing URL/header/flag syntax, and values whose *name* says
//!   they are secret. Anything else is left alone, on purpose, to keep false
//!   positives (paths, package names, log levels, ports) out of the way.
//! - It does not expand or resolve `${VAR}` references; a value that is only a
//!   reference is, by definition, not a plaintext secret.

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
}

impl Rule {
    /// Every rule, in a stable order (handy for docs and `--list-rules`).
    pub const ALL: [Rule; 16] = [
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
            Rule::SecretQueryParam => "secret URL query parameter (?api_key=, ?token=, ?sig=, …)",
            Rule::SecretFlagValue => {
                "value of a secret CLI flag (--api-key, --token, --password, …)"
            }
            Rule::AuthorizationHeader => {
                "credential in an Authorization header (Bearer/Basic/Token)"
            }
            Rule::SecretHeader => "value of an auth-like HTTP header (X-API-Key, X-Auth-Token, …)",
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

/// Scan one env var. The span, if any, covers the whole value.
pub fn scan_env(name: &str, value: &str) -> Option<Finding> {
    let trimmed = value.trim();
    if trimmed.is_empty() || is_env_ref(trimmed) {
        return None;
    }
    let rule = match detect_in_text(value).first() {
        // Recognisable whatever the name: known token, DSN password, header…
        Some((_, rule)) => *rule,
        None => {
            let strength = classify_name(name)?;
            if !value_looks_secret(strength, value) {
                return None;
            }
            Rule::SecretEnvName
        }
    };
    Some(Finding {
        location: Location::Env(name.to_owned()),
        span: 0..value.len(),
        rule,
    })
}

/// Scan a server's args. Findings are ordered by (index, span.start) and never
/// overlap.
pub fn scan_args(args: &[String]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        push_arg_findings(&mut out, i, detect_in_text(arg));

        // `--api-key X`: the secret is the next arg.
        if let (Some(strength), Some(next)) = (secret_flag_name(arg), args.get(i + 1)) {
            let next_trimmed = next.trim();
            if !next_trimmed.starts_with('-') && value_looks_secret(strength, next) {
                let inner = detect_in_text(next);
                if inner.is_empty() {
                    let start = next.len() - next.trim_start().len();
                    let span = start..start + next_trimmed.len();
                    push_arg_findings(&mut out, i + 1, vec![(span, Rule::SecretFlagValue)]);
                } else {
                    push_arg_findings(&mut out, i + 1, inner);
                }
                i += 2;
                continue;
            }
        }
        i += 1;
    }
    out.sort_by(|a, b| (&a.location, a.span.start).cmp(&(&b.location, b.span.start)));
    out
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
    let head: String = match MASK_PREFIXES.iter().find(|p| value.starts_with(**p)) {
        Some(prefix) => prefix.chars().take(4).collect(),
        None => HIDDEN.to_owned(),
    };
    let tail: String = value.chars().skip(len - 4).collect();
    format!("{head}…{tail}")
}

/// Public, non-secret prefixes that [`mask`] may show (at most 4 chars of).
const MASK_PREFIXES: &[&str] = &[
    "github_pat_",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "glpat-",
    "sk-ant-",
    "sk-proj-",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "rk_test_",
    "sk-",
    "xoxa-",
    "xoxb-",
    "xoxp-",
    "xoxo-",
    "xoxs-",
    "xoxr-",
    "xapp-",
    "AKIA",
    "ASIA",
    "AIza",
    "eyJ",
];

// ---------------------------------------------------------------------------
// Per-string detection (shared by args and env values)
// ---------------------------------------------------------------------------

fn push_arg_findings(out: &mut Vec<Finding>, index: usize, found: Vec<(Range<usize>, Rule)>) {
    out.extend(found.into_iter().map(|(span, rule)| Finding {
        location: Location::Arg(index),
        span,
        rule,
    }));
}

/// All syntax-based detections inside one string, most specific first, with
/// overlapping lower-priority candidates dropped.
fn detect_in_text(s: &str) -> Vec<(Range<usize>, Rule)> {
    let mut candidates = find_tokens(s);
    candidates.extend(find_url_secrets(s));
    candidates.extend(find_header(s));
    candidates.extend(find_flag_assignment(s));
    candidates.extend(find_env_assignment(s));

    let mut accepted: Vec<(Range<usize>, Rule)> = Vec::new();
    for (span, rule) in candidates {
        if span.is_empty() {
            continue;
        }
        let overlaps = accepted
            .iter()
            .any(|(a, _)| a.start < span.end && span.start < a.end);
        if !overlaps {
            accepted.push((span, rule));
        }
    }
    accepted
}

// ---------------------------------------------------------------------------
// Known token formats
// ---------------------------------------------------------------------------

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_b64url_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn is_alnum_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn is_slack_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

fn is_upper_or_digit(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}

/// Length of the run of bytes matching `pred` starting at `from`.
fn run_len(bytes: &[u8], from: usize, pred: fn(u8) -> bool) -> usize {
    bytes
        .get(from..)
        .map_or(0, |rest| rest.iter().take_while(|&&b| pred(b)).count())
}

struct TokenFormat {
    prefix: &'static str,
    rule: Rule,
    body: fn(u8) -> bool,
    min: usize,
    max: usize,
    /// Body must contain at least one ASCII digit and one ASCII letter; keeps
    /// prose like `sk-some-long-package-name` out.
    needs_mix: bool,
}

const fn fmt(
    prefix: &'static str,
    rule: Rule,
    body: fn(u8) -> bool,
    min: usize,
    max: usize,
    needs_mix: bool,
) -> TokenFormat {
    TokenFormat {
        prefix,
        rule,
        body,
        min,
        max,
        needs_mix,
    }
}

/// Order matters: longer/more specific prefixes first (`sk-ant-` before `sk-`).
const TOKEN_FORMATS: &[TokenFormat] = &[
    fmt(
        "github_pat_",
        Rule::GithubToken,
        is_word_byte,
        22,
        255,
        false,
    ),
    fmt("ghp_", Rule::GithubToken, is_alnum_byte, 36, 251, false),
    fmt("gho_", Rule::GithubToken, is_alnum_byte, 36, 251, false),
    fmt("ghu_", Rule::GithubToken, is_alnum_byte, 36, 251, false),
    fmt("ghs_", Rule::GithubToken, is_alnum_byte, 36, 251, false),
    fmt("ghr_", Rule::GithubToken, is_alnum_byte, 36, 251, false),
    fmt("glpat-", Rule::GitlabToken, is_b64url_byte, 20, 255, false),
    fmt(
        "sk-ant-",
        Rule::AnthropicKey,
        is_b64url_byte,
        20,
        400,
        false,
    ),
    fmt("sk_live_", Rule::StripeKey, is_alnum_byte, 10, 255, false),
    fmt("sk_test_", Rule::StripeKey, is_alnum_byte, 10, 255, false),
    fmt("rk_live_", Rule::StripeKey, is_alnum_byte, 10, 255, false),
    fmt("rk_test_", Rule::StripeKey, is_alnum_byte, 10, 255, false),
    fmt("sk-", Rule::OpenAiStyleKey, is_b64url_byte, 20, 400, true),
    fmt("xoxa-", Rule::SlackToken, is_slack_byte, 10, 255, true),
    fmt("xoxb-", Rule::SlackToken, is_slack_byte, 10, 255, true),
    fmt("xoxp-", Rule::SlackToken, is_slack_byte, 10, 255, true),
    fmt("xoxo-", Rule::SlackToken, is_slack_byte, 10, 255, true),
    fmt("xoxs-", Rule::SlackToken, is_slack_byte, 10, 255, true),
    fmt("xoxr-", Rule::SlackToken, is_slack_byte, 10, 255, true),
    fmt("xapp-", Rule::SlackToken, is_slack_byte, 10, 255, true),
    fmt(
        "AKIA",
        Rule::AwsAccessKeyId,
        is_upper_or_digit,
        16,
        16,
        false,
    ),
    fmt(
        "ASIA",
        Rule::AwsAccessKeyId,
        is_upper_or_digit,
        16,
        16,
        false,
    ),
    fmt("AIza", Rule::GoogleApiKey, is_b64url_byte, 35, 35, false),
];

/// Every known-format token in `s`, left to right, non-overlapping.
fn find_tokens(s: &str) -> Vec<(Range<usize>, Rule)> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        // Left boundary: a token never starts in the middle of a word.
        if (i == 0 || !is_word_byte(bytes[i - 1]))
            && let Some((end, rule)) = token_at(s, i)
        {
            out.push((i..end, rule));
            i = end;
            continue;
        }
        i += 1;
    }
    out
}

/// A known token starting exactly at byte `i`: its end and rule.
fn token_at(s: &str, i: usize) -> Option<(usize, Rule)> {
    let bytes = s.as_bytes();
    let rest = bytes.get(i..)?;
    if rest.starts_with(b"-----BEGIN ") {
        return pem_end(s, i).map(|end| (end, Rule::PrivateKey));
    }
    if rest.starts_with(b"eyJ") {
        return jwt_end(bytes, i).map(|end| (end, Rule::Jwt));
    }
    let format = TOKEN_FORMATS
        .iter()
        .find(|f| rest.starts_with(f.prefix.as_bytes()))?;
    let body_start = i + format.prefix.len();
    let n = run_len(bytes, body_start, format.body);
    let end = body_start + n;
    // Right boundary: the token must not run on into more word characters
    // (matters for AKIA…, whose body class excludes lowercase).
    let bounded = bytes.get(end).is_none_or(|&b| !b.is_ascii_alphanumeric());
    if n < format.min || n > format.max || !bounded {
        return None;
    }
    if format.needs_mix {
        let body = &bytes[body_start..end];
        let has_digit = body.iter().any(u8::is_ascii_digit);
        let has_alpha = body.iter().any(u8::is_ascii_alphabetic);
        if !(has_digit && has_alpha) {
            return None;
        }
    }
    Some((end, format.rule))
}

/// `eyJ<b64url>.<b64url>.<b64url>` starting at `i`.
fn jwt_end(bytes: &[u8], i: usize) -> Option<usize> {
    let header = run_len(bytes, i, is_b64url_byte);
    if header < 10 {
        return None;
    }
    let mut p = i + header;
    if bytes.get(p) != Some(&b'.') {
        return None;
    }
    p += 1;
    let payload = run_len(bytes, p, is_b64url_byte);
    if payload < 2 {
        return None;
    }
    p += payload;
    if bytes.get(p) != Some(&b'.') {
        return None;
    }
    p += 1;
    Some(p + run_len(bytes, p, is_b64url_byte))
}

/// `-----BEGIN … PRIVATE KEY-----` block starting at `i`; runs to the matching
/// END line, or to the end of the string if it is truncated.
fn pem_end(s: &str, i: usize) -> Option<usize> {
    const BEGIN: &str = "-----BEGIN ";
    let rest = s.get(i..)?;
    let label_len = rest[BEGIN.len()..].find("-----")?;
    let label = &rest[BEGIN.len()..BEGIN.len() + label_len];
    if label.len() > 40 || !label.ends_with("PRIVATE KEY") {
        return None;
    }
    let body_start = BEGIN.len() + label_len + 5;
    let Some(end_rel) = rest[body_start..].find("-----END ") else {
        return Some(s.len());
    };
    let end_line = body_start + end_rel + "-----END ".len();
    let close = rest[end_line..]
        .find("-----")
        .map_or(rest.len(), |c| end_line + c + 5);
    Some(i + close)
}

// ---------------------------------------------------------------------------
// URLs: userinfo passwords and secret query parameters
// ---------------------------------------------------------------------------

const SECRET_QUERY_PARAMS: &[&str] = &[
    "api_key",
    "apikey",
    "api-key",
    "key",
    "token",
    "access_token",
    "auth",
    "auth_token",
    "secret",
    "password",
    "passwd",
    "client_secret",
    "sig",
    "signature",
    "x-amz-signature",
    "x-amz-security-token",
    "x-goog-signature",
];

fn find_url_secrets(s: &str) -> Vec<(Range<usize>, Rule)> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(rel) = s[from..].find("://") {
        let sep = from + rel;
        from = sep + 3;

        let mut scheme_start = sep;
        while scheme_start > 0
            && (bytes[scheme_start - 1].is_ascii_alphanumeric()
                || matches!(bytes[scheme_start - 1], b'+' | b'-' | b'.'))
        {
            scheme_start -= 1;
        }
        if scheme_start == sep || !bytes[scheme_start].is_ascii_alphabetic() {
            continue;
        }

        let auth_start = sep + 3;
        let url_end = s[auth_start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>'))
            .map_or(s.len(), |e| auth_start + e);
        let auth_end = s[auth_start..url_end]
            .find(['/', '?', '#'])
            .map_or(url_end, |e| auth_start + e);
        let authority = &s[auth_start..auth_end];

        // scheme://user:password@host
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            if let Some(colon) = userinfo.find(':') {
                let password = &userinfo[colon + 1..];
                if !password.is_empty() && !is_env_ref(password) {
                    out.push((auth_start + colon + 1..auth_start + at, Rule::UrlPassword));
                }
            }
        }

        // ?api_key=…&token=…
        let Some(q) = s[auth_end..url_end].find('?') else {
            continue;
        };
        let query_start = auth_end + q + 1;
        let query_end = s[query_start..url_end]
            .find('#')
            .map_or(url_end, |e| query_start + e);
        let mut part_start = query_start;
        for part in s[query_start..query_end].split(['&', ';']) {
            if let Some(eq) = part.find('=') {
                let name = &part[..eq];
                let value = &part[eq + 1..];
                let secret_name = SECRET_QUERY_PARAMS
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(name));
                if secret_name && !value.is_empty() && !is_env_ref(value) && !is_keyword(value) {
                    let value_start = part_start + eq + 1;
                    out.push((
                        value_start..value_start + value.len(),
                        Rule::SecretQueryParam,
                    ));
                }
            }
            part_start += part.len() + 1;
        }
        from = from.max(url_end);
    }
    out
}

// ---------------------------------------------------------------------------
// Headers (`mcp-remote --header "Authorization: Bearer …"`)
// ---------------------------------------------------------------------------

const AUTH_SCHEMES: &[&str] = &["bearer", "basic", "token", "bot", "digest", "negotiate"];

fn find_header(s: &str) -> Option<(Range<usize>, Rule)> {
    let base = ["--header=", "--headers=", "-H="]
        .iter()
        .find_map(|p| s.strip_prefix(p).map(|_| p.len()))
        .unwrap_or(0);
    let body = &s[base..];
    let colon = body.find(':')?;
    let name = body[..colon].trim();
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }

    let value_raw = &s[base + colon + 1..];
    let value = value_raw.trim();
    let value_start = base + colon + 1 + (value_raw.len() - value_raw.trim_start().len());
    if value.is_empty() || is_env_ref(value) {
        return None;
    }

    let is_authorization = name.eq_ignore_ascii_case("authorization")
        || name.eq_ignore_ascii_case("proxy-authorization");
    if is_authorization {
        let (cred, cred_start) = match value.find(char::is_whitespace) {
            Some(ws) if value[..ws].bytes().all(|b| b.is_ascii_alphabetic()) => {
                let rest = &value[ws..];
                let lead = rest.len() - rest.trim_start().len();
                (rest.trim(), value_start + ws + lead)
            }
            Some(_) => (value, value_start),
            None => {
                if AUTH_SCHEMES
                    .iter()
                    .any(|sch| sch.eq_ignore_ascii_case(value))
                {
                    return None;
                }
                (value, value_start)
            }
        };
        if cred.is_empty() || is_env_ref(cred) {
            return None;
        }
        return Some((
            cred_start..cred_start + cred.len(),
            Rule::AuthorizationHeader,
        ));
    }

    classify_name(name)?;
    if is_keyword(value) {
        return None;
    }
    Some((value_start..value_start + value.len(), Rule::SecretHeader))
}

// ---------------------------------------------------------------------------
// Flags and NAME=VALUE assignments
// ---------------------------------------------------------------------------

fn is_flag_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `--api-key` (no `=`): its strength if the next arg is a secret.
fn secret_flag_name(arg: &str) -> Option<Strength> {
    let name = arg.strip_prefix("--")?;
    if !is_flag_name(name) {
        return None;
    }
    classify_name(name)
}

/// `--token=X`: span of X.
fn find_flag_assignment(s: &str) -> Option<(Range<usize>, Rule)> {
    let body = s.strip_prefix("--")?;
    let eq = body.find('=')?;
    let name = &body[..eq];
    if !is_flag_name(name) {
        return None;
    }
    let strength = classify_name(name)?;
    let value_raw = &body[eq + 1..];
    if value_raw.trim_start().starts_with('-') || !value_looks_secret(strength, value_raw) {
        return None;
    }
    let start = 2 + eq + 1 + (value_raw.len() - value_raw.trim_start().len());
    Some((start..start + value_raw.trim().len(), Rule::SecretFlagValue))
}

/// `API_KEY=X` as a single arg (e.g. `docker run -e API_KEY=X`): span of X.
fn find_env_assignment(s: &str) -> Option<(Range<usize>, Rule)> {
    let eq = s.find('=')?;
    let name = &s[..eq];
    if !is_ident(name) {
        return None;
    }
    let strength = classify_name(name)?;
    let value_raw = &s[eq + 1..];
    if !value_looks_secret(strength, value_raw) {
        return None;
    }
    let start = eq + 1 + (value_raw.len() - value_raw.trim_start().len());
    Some((start..start + value_raw.trim().len(), Rule::SecretEnvName))
}

// ---------------------------------------------------------------------------
// Name classification
// ---------------------------------------------------------------------------

/// How much evidence a secret-ish name needs from its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strength {
    /// PASSWORD/SECRET…: any real (non-placeholder-ish) value counts.
    Strong,
    /// TOKEN/KEY/AUTH…: value must also look like a credential.
    Weak,
}

const STRONG_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWORDS",
    "PASSWD",
    "PASS",
    "PASSPHRASE",
    "SECRET",
    "SECRETS",
];
/// Compounds written as one word: `DBPASSWORD`, `CLIENTSECRET`.
const STRONG_SUFFIXES: &[&str] = &["PASSWORD", "PASSWD", "PASSPHRASE", "SECRET"];

const WEAK_WORDS: &[&str] = &[
    "TOKEN",
    "KEY",
    "KEYS",
    "APIKEY",
    "PAT",
    "AUTH",
    "CREDENTIAL",
    "CREDENTIALS",
    "CREDS",
    "SESSION",
    "COOKIE",
    "COOKIES",
    "BEARER",
    "DSN",
    "JWT",
    "CONNECTIONSTRING",
    "CONNSTR",
];
/// Compounds written as one word: `AUTHTOKEN`, `OPENAIAPIKEY`, `SECRETKEY`.
/// Deliberately not plain `KEY` (MONKEY) nor a `TOKEN` prefix (TOKENIZERS).
const WEAK_SUFFIXES: &[&str] = &[
    "TOKEN",
    "APIKEY",
    "ACCESSKEY",
    "SECRETKEY",
    "PRIVATEKEY",
    "AUTHKEY",
    "CREDENTIALS",
];

/// A trailing segment that makes the name describe *metadata about* a secret
/// rather than the secret itself: `TOKEN_LIMIT`, `AUTH_TYPE`, `API_KEY_FILE`.
const DESCRIPTORS: &[&str] = &[
    "FILE",
    "FILES",
    "FILENAME",
    "PATH",
    "DIR",
    "DIRECTORY",
    "FOLDER",
    "LOCATION",
    "TYPE",
    "KIND",
    "LIMIT",
    "LIMITS",
    "MODE",
    "LEVEL",
    "LENGTH",
    "LEN",
    "SIZE",
    "COUNT",
    "NUM",
    "MAX",
    "MIN",
    "TIMEOUT",
    "TTL",
    "EXPIRY",
    "EXPIRES",
    "EXPIRATION",
    "LIFETIME",
    "NAME",
    "ID",
    "IDS",
    "ARN",
    "URL",
    "URI",
    "ENDPOINT",
    "HOST",
    "PORT",
    "REGION",
    "VERSION",
    "FORMAT",
    "METHOD",
    "PROVIDER",
    "ENABLED",
    "DISABLED",
    "REQUIRED",
    "PREFIX",
    "ALGORITHM",
    "ALG",
    "SCHEME",
    "STRATEGY",
    "FIELD",
    "PARAM",
    "ENV",
    "VAR",
    "VARIABLE",
    "ISSUER",
    "AUDIENCE",
    "SCOPE",
    "SCOPES",
    "USER",
    "USERNAME",
    "EMAIL",
    "COMMAND",
    "CMD",
    "HELPER",
];

/// Split a name into upper-cased words on `_`, `-`, `.`, whitespace and
/// camelCase boundaries (`apiKey`, `OAuthToken`, `APIKey`). All-caps runs are
/// not split, so `MONKEY` stays one word.
fn name_segments(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut segments = Vec::new();
    let mut current = String::new();
    for (idx, &c) in chars.iter().enumerate() {
        if matches!(c, '_' | '-' | '.') || c.is_whitespace() {
            if !current.is_empty() {
                segments.push(std::mem::take(&mut current));
            }
            continue;
        }
        if c.is_uppercase() && !current.is_empty() && idx > 0 {
            let prev = chars[idx - 1];
            let next_lower = chars.get(idx + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || (prev.is_uppercase() && next_lower) {
                segments.push(std::mem::take(&mut current));
            }
        }
        current.extend(c.to_uppercase());
    }
    if !current.is_empty() {
        segments.push(current);
    }
    segments
}

fn classify_name(name: &str) -> Option<Strength> {
    let segments = name_segments(name);
    let last = segments.last()?;
    if segments.len() > 1 && DESCRIPTORS.contains(&last.as_str()) {
        // SESSION_ID is the session credential itself, not a label for one.
        let session_id = last == "ID" && segments[segments.len() - 2] == "SESSION";
        if !session_id {
            return None;
        }
    }
    let mut found = None;
    for (k, segment) in segments.iter().enumerate() {
        let seg = segment.as_str();
        if STRONG_WORDS.contains(&seg) || STRONG_SUFFIXES.iter().any(|x| seg.ends_with(x)) {
            return Some(Strength::Strong);
        }
        let connection_string =
            seg == "STRING" && k > 0 && matches!(segments[k - 1].as_str(), "CONNECTION" | "CONN");
        if WEAK_WORDS.contains(&seg)
            || WEAK_SUFFIXES.iter().any(|x| seg.ends_with(x))
            || connection_string
        {
            found = Some(Strength::Weak);
        }
    }
    found
}

// ---------------------------------------------------------------------------
// Value plausibility
// ---------------------------------------------------------------------------

/// Would a value under a secret-ish name plausibly be the secret itself?
fn value_looks_secret(strength: Strength, value: &str) -> bool {
    let t = value.trim();
    if t.is_empty()
        || is_env_ref(t)
        || is_keyword(t)
        || is_number(t)
        || looks_like_path(t)
        || is_log_level(t)
        || is_plain_url(t)
    {
        return false;
    }
    match strength {
        Strength::Strong => true,
        Strength::Weak => {
            is_auth_scheme_value(t)
                || (t.chars().count() >= 8 && !t.chars().any(char::is_whitespace))
        }
    }
}

fn is_ident(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A value that is only a reference to something else: `${FOO}`,
/// `${input:token}`, `$FOO`, `$env:FOO`, `%FOO%`.
fn is_env_ref(s: &str) -> bool {
    let t = s.trim();
    if let Some(inner) = t.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        return !inner.is_empty() && !inner.contains(['{', '}']);
    }
    if let Some(inner) = t.strip_prefix("$env:") {
        return is_ident(inner);
    }
    if let Some(inner) = t.strip_prefix('$') {
        return is_ident(inner);
    }
    if let Some(inner) = t.strip_prefix('%').and_then(|r| r.strip_suffix('%')) {
        return is_ident(inner);
    }
    false
}

fn is_keyword(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "true",
        "false",
        "yes",
        "no",
        "y",
        "n",
        "on",
        "off",
        "null",
        "none",
        "nil",
        "undefined",
        "enabled",
        "disabled",
        "enable",
        "disable",
    ];
    WORDS.iter().any(|w| w.eq_ignore_ascii_case(s.trim()))
}

fn is_log_level(s: &str) -> bool {
    const LEVELS: &[&str] = &[
        "trace",
        "debug",
        "info",
        "information",
        "notice",
        "warn",
        "warning",
        "error",
        "err",
        "fatal",
        "critical",
        "crit",
        "silent",
        "quiet",
        "verbose",
    ];
    LEVELS.iter().any(|l| l.eq_ignore_ascii_case(s.trim()))
}

fn is_number(s: &str) -> bool {
    let t = s.trim();
    let t = t.strip_prefix(['-', '+']).unwrap_or(t);
    let mut dots = 0;
    let mut digits = 0;
    for b in t.bytes() {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => dots += 1,
            _ => return false,
        }
    }
    digits > 0 && dots <= 1
}

fn looks_like_path(s: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "/", "~/", "~\\", "./", "../", ".\\", "..\\", "\\\\", "file://",
    ];
    if PREFIXES.iter().any(|p| s.starts_with(p)) || matches!(s, "~" | "." | "..") {
        return true;
    }
    // Windows drive: C:\… or C:/…
    let b = s.as_bytes();
    b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && matches!(b[2], b'\\' | b'/')
}

/// `scheme://…` with nothing else around it. Only called after credential
/// syntax inside URLs has already been ruled out.
fn is_plain_url(s: &str) -> bool {
    let Some(sep) = s.find("://") else {
        return false;
    };
    let scheme = &s[..sep];
    let valid_scheme = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    valid_scheme && !s.chars().any(char::is_whitespace)
}

/// `Bearer xyz`, `Basic xyz`, `Token xyz` with a concrete credential.
fn is_auth_scheme_value(s: &str) -> bool {
    let mut words = s.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(scheme), Some(cred), None) => {
            ["bearer", "basic", "token"]
                .iter()
                .any(|x| x.eq_ignore_ascii_case(scheme))
                && !is_env_ref(cred)
        }
        _ => false,
    }
}

/// Plaintext secrets in a remote entry: in its URL (`url`, `serverUrl`, `httpUrl`) and
/// in its headers (`headers`, Codex's `http_headers`). Import leaves remote entries as
/// they are, so these are reported, not moved.
pub fn remote_plaintext(v: &Value) -> usize {
    let Some(obj) = v.as_object() else {
        return 0;
    };
    let urls: Vec<String> = ["url", "serverUrl", "httpUrl"]
        .iter()
        .filter_map(|k| obj.get(*k).and_then(Value::as_str).map(String::from))
        .collect();
    let mut n = scan_args(&urls).len();
    for key in ["headers", "http_headers"] {
        if let Some(h) = obj.get(key).and_then(Value::as_object) {
            n += h
                .iter()
                .filter_map(|(name, value)| Some((name, value.as_str()?)))
                .filter(|(name, value)| scan_env(name, value).is_some())
                .count();
        }
    }
    n
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
