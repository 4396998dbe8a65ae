//! Secrets inside one string, by syntax: known tokens, URL userinfo, secret query
//! parameters and token-like path segments, `Name: value` headers, `--flag=value`,
//! `NAME=value` and Twilio-style `SID/SID:secret` pairs.

use super::Rule;
use super::names::{
    Strength, classify_name, is_env_ref, is_ident, is_keyword, is_placeholder, is_random_token,
    name_segments, value_looks_secret,
};
use super::tokens::{claims_known_prefix, find_tokens, is_hex_byte, is_uuid};
use std::ops::Range;

/// A secret's byte range inside the string it was found in, and the rule that found it.
pub(super) type Hit = (Range<usize>, Rule);

/// All syntax-based detections inside one string, most specific first, with
/// overlapping lower-priority candidates, placeholders and empty spans dropped.
pub(super) fn detect_in_text(s: &str) -> Vec<Hit> {
    let mut candidates = find_tokens(s);
    candidates.extend(find_url_secrets(s));
    candidates.extend(find_credential_pair(s));
    candidates.extend(find_header(s));
    candidates.extend(find_flag_assignment(s));
    candidates.extend(find_env_assignment(s));
    accept(s, candidates)
}

/// Keep candidates in priority order, dropping empty spans, spans that are not on char
/// boundaries of `s`, README placeholders and anything overlapping an earlier one.
pub(super) fn accept(s: &str, candidates: Vec<Hit>) -> Vec<Hit> {
    let mut accepted: Vec<Hit> = Vec::new();
    for (span, rule) in candidates {
        let Some(text) = s.get(span.clone()) else {
            continue;
        };
        if text.trim().is_empty() || is_placeholder(text) || is_env_ref(text) {
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

/// The range of `s` without leading and trailing whitespace.
pub(super) fn trimmed_range(s: &str) -> Range<usize> {
    let start = s.len() - s.trim_start().len();
    start..start + s.trim().len()
}

// ---------------------------------------------------------------------------
// URLs: userinfo passwords, secret query parameters, token-like path segments
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
    "code",
    "sig",
    "signature",
    "x-amz-signature",
    "x-amz-security-token",
    "x-goog-signature",
];

/// First words of query names that mark a cursor, not a credential: `page_token`,
/// `nextPageToken`.
const CURSOR_WORDS: &[&str] = &["PAGE", "NEXT", "CURSOR", "CONTINUATION", "SYNC", "RESUME"];

/// Path segments after which the next segment is the credential whatever its shape
/// (Zapier's `/s/<token>/`, Make's `/u/<token>/`, `/key/<key>/`).
const PATH_MARKERS: &[&str] = &[
    "s", "u", "k", "t", "sk", "key", "keys", "token", "tokens", "secret", "secrets", "apikey",
    "api-key", "api_key",
];

/// Hosts whose MCP URL is itself the credential (their docs say to treat the URL like a
/// password): there the first id-shaped path segment, a UUID included, is the secret.
/// Elsewhere a UUID or a hex id in a path is an id (a project, a space, a commit).
const CAPABILITY_URL_HOSTS: &[&str] = &[
    "mcp.pipedream.net",
    "mcp.composio.dev",
    "backend.composio.dev",
    "mcp.zapier.com",
    "actions.zapier.com",
];

fn query_param_is_secret(name: &str, value: &str) -> bool {
    if value.is_empty() || is_env_ref(value) || is_keyword(value) {
        return false;
    }
    if SECRET_QUERY_PARAMS
        .iter()
        .any(|p| p.eq_ignore_ascii_case(name))
    {
        return true;
    }
    let segments = name_segments(name);
    if segments
        .first()
        .is_some_and(|w| CURSOR_WORDS.contains(&w.as_str()))
    {
        return false;
    }
    classify_name(name).is_some_and(|strength| value_looks_secret(strength, value))
}

fn is_path_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'=' | b'+' | b'~' | b'.')
}

/// Long enough and with a digit: an id or a token, not a word like `mcp` or `sse`.
fn is_id_or_token(seg: &str) -> bool {
    seg.len() >= 16
        && seg.bytes().all(is_path_token_byte)
        && seg.bytes().any(|b| b.is_ascii_digit())
}

fn host_of(authority: &str) -> &str {
    let host = authority.rsplit('@').next().unwrap_or(authority);
    host.split(':').next().unwrap_or(host)
}

fn is_capability_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    CAPABILITY_URL_HOSTS
        .iter()
        .any(|h| host == *h || host.strip_suffix(h).is_some_and(|rest| rest.ends_with('.')))
}

/// Secret path segments between `start` and `end` (the URL's path) of a URL on `host`.
fn path_secrets(s: &str, start: usize, end: usize, host: &str, out: &mut Vec<Hit>) {
    let capability = is_capability_host(host);
    let mut prev: Option<&str> = None;
    let mut seg_start = start;
    let mut found_on_capability_host = false;
    for seg in s[start..end].split('/') {
        let range = seg_start..seg_start + seg.len();
        seg_start += seg.len() + 1;
        if seg.is_empty() {
            continue;
        }
        let after_marker =
            prev.is_some_and(|p| PATH_MARKERS.iter().any(|m| m.eq_ignore_ascii_case(p)));
        prev = Some(seg);
        let secret = if after_marker {
            is_id_or_token(seg)
        } else if capability && !found_on_capability_host && is_id_or_token(seg) {
            found_on_capability_host = true;
            true
        } else {
            let b = seg.as_bytes();
            is_random_token(seg, 20, true)
                && !is_uuid(b)
                && !b.iter().all(|&c| is_hex_byte(c))
                && !claims_known_prefix(seg)
        };
        if secret {
            out.push((range, Rule::UrlPathToken));
        }
    }
}

fn find_url_secrets(s: &str) -> Vec<Hit> {
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

        // /s/<token>/mcp
        let path_end = s[auth_end..url_end]
            .find(['?', '#'])
            .map_or(url_end, |e| auth_end + e);
        if bytes.get(auth_end) == Some(&b'/') {
            path_secrets(s, auth_end + 1, path_end, host_of(authority), &mut out);
        }

        // ?api_key=…&token=…
        from = from.max(url_end);
        if bytes.get(path_end) != Some(&b'?') {
            continue;
        }
        let query_start = path_end + 1;
        let query_end = s[query_start..url_end]
            .find('#')
            .map_or(url_end, |e| query_start + e);
        let mut part_start = query_start;
        for part in s[query_start..query_end].split(['&', ';']) {
            if let Some(eq) = part.find('=') {
                let (name, value) = (&part[..eq], &part[eq + 1..]);
                if query_param_is_secret(name, value) {
                    let value_start = part_start + eq + 1;
                    out.push((
                        value_start..value_start + value.len(),
                        Rule::SecretQueryParam,
                    ));
                }
            }
            part_start += part.len() + 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Twilio-style credential pairs: `ACCOUNT_SID/API_KEY_SID:API_SECRET`
// ---------------------------------------------------------------------------

/// Public id prefixes that may stand before the `:` of a credential pair: Twilio's
/// account (`AC`) and API key (`SK`) SIDs, each followed by 32 hex digits.
const PAIR_ID_PREFIXES: &[&str] = &["AC", "SK"];

fn is_pair_id(s: &str) -> bool {
    PAIR_ID_PREFIXES.iter().any(|p| {
        s.strip_prefix(p)
            .is_some_and(|rest| rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
    })
}

/// `AC…/SK…:secret` or `AC…:auth_token` as the whole (trimmed) string: the part after `:`.
fn find_credential_pair(s: &str) -> Option<Hit> {
    let whole = trimmed_range(s);
    let t = &s[whole.clone()];
    let colon = t.find(':')?;
    let (ids, secret) = (&t[..colon], &t[colon + 1..]);
    if !ids.split('/').all(is_pair_id)
        || !(16..=128).contains(&secret.len())
        || !secret.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return None;
    }
    let start = whole.start + colon + 1;
    Some((start..start + secret.len(), Rule::CredentialPair))
}

// ---------------------------------------------------------------------------
// Headers (`mcp-remote --header "Authorization: Bearer …"`, a remote entry's headers)
// ---------------------------------------------------------------------------

const AUTH_SCHEMES: &[&str] = &["bearer", "basic", "token", "bot", "digest", "negotiate"];

pub(super) fn is_authorization(name: &str) -> bool {
    name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("proxy-authorization")
}

/// The credential inside an `Authorization` value: what follows the scheme word
/// (`Bearer`, `Basic`, `Token`, …), or the whole value when it has none.
pub(super) fn authorization_credential(value: &str) -> Option<Range<usize>> {
    let whole = trimmed_range(value);
    let v = &value[whole.clone()];
    if v.is_empty() || is_env_ref(v) {
        return None;
    }
    let (cred, start) = match v.find(char::is_whitespace) {
        Some(ws) if v[..ws].bytes().all(|b| b.is_ascii_alphabetic()) => {
            let rest = &v[ws..];
            let lead = rest.len() - rest.trim_start().len();
            (rest.trim(), whole.start + ws + lead)
        }
        Some(_) => (v, whole.start),
        None => {
            if AUTH_SCHEMES.iter().any(|sch| sch.eq_ignore_ascii_case(v)) {
                return None;
            }
            (v, whole.start)
        }
    };
    if cred.is_empty() || is_env_ref(cred) {
        return None;
    }
    Some(start..start + cred.len())
}

/// The secret in the value of header `name`, as a range of `value`.
pub(super) fn header_secret(name: &str, value: &str) -> Option<Hit> {
    if is_authorization(name) {
        return authorization_credential(value).map(|r| (r, Rule::AuthorizationHeader));
    }
    classify_name(name)?;
    let whole = trimmed_range(value);
    let v = &value[whole.clone()];
    if v.is_empty() || is_env_ref(v) || is_keyword(v) {
        return None;
    }
    Some((whole, Rule::SecretHeader))
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `Name: value` (optionally as `--header=Name: value`), or a comma-separated list of
/// them (`Authorization:Bearer …,X-API-Key:…`, as OpenAPI proxy servers take it).
fn find_header(s: &str) -> Vec<Hit> {
    let base = ["--header=", "--headers=", "-H="]
        .iter()
        .find_map(|p| s.strip_prefix(p).map(|_| p.len()))
        .unwrap_or(0);
    let body = &s[base..];
    let parts: Vec<&str> = body.split(',').collect();
    let is_list = parts.len() > 1
        && parts
            .iter()
            .all(|p| p.find(':').is_some_and(|c| is_header_name(p[..c].trim())));
    let mut out = Vec::new();
    let mut start = base;
    for part in if is_list { parts } else { vec![body] } {
        out.extend(one_header(part).map(|(r, rule)| (start + r.start..start + r.end, rule)));
        start += part.len() + 1;
    }
    out
}

fn one_header(s: &str) -> Option<Hit> {
    let colon = s.find(':')?;
    if !is_header_name(s[..colon].trim()) {
        return None;
    }
    let value_start = colon + 1;
    let (span, rule) = header_secret(s[..colon].trim(), &s[value_start..])?;
    Some((value_start + span.start..value_start + span.end, rule))
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
pub(super) fn secret_flag_name(arg: &str) -> Option<Strength> {
    let name = arg.strip_prefix("--")?;
    if !is_flag_name(name) {
        return None;
    }
    classify_name(name)
}

/// `--token=X`: span of X.
fn find_flag_assignment(s: &str) -> Option<Hit> {
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

/// `NAME=VALUE` as a whole string: the name, and where the value starts.
pub(super) fn split_assignment(s: &str) -> Option<(&str, usize)> {
    let eq = s.find('=')?;
    let name = &s[..eq];
    is_ident(name).then_some((name, eq + 1))
}

/// `API_KEY=X` as a single arg (`env API_KEY=X node server.js`): span of X.
fn find_env_assignment(s: &str) -> Option<Hit> {
    let (name, value_start) = split_assignment(s)?;
    let strength = classify_name(name)?;
    let value_raw = &s[value_start..];
    if !value_looks_secret(strength, value_raw) {
        return None;
    }
    let start = value_start + (value_raw.len() - value_raw.trim_start().len());
    Some((start..start + value_raw.trim().len(), Rule::SecretEnvName))
}
