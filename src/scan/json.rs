//! Secrets inside an env value that is a JSON object or array, such as Notion's
//! `OPENAPI_MCP_HEADERS={"Authorization": "Bearer ntn_…", "Notion-Version": "…"}`.
//!
//! Every string in the document is judged with the key it sits under: an
//! `Authorization` key yields only the credential after the scheme, a secret-named key
//! (`api_key`, `token`, `X-API-Key`, …) its value, and any string its known tokens,
//! DSN passwords and URL secrets. Spans are byte ranges of the raw JSON text, inside a
//! string literal, so the value can become a template with only that part replaced.

use super::Rule;
use super::names::{classify_name, is_auth_scheme_value, value_looks_secret};
use super::text::{Hit, accept, authorization_credential, detect_in_text, is_authorization};
use super::tokens::find_tokens;
use std::ops::Range;

/// The hits inside `value` if it is a JSON object or array; `None` if it is not JSON.
pub(super) fn json_hits(value: &str) -> Option<Vec<Hit>> {
    let t = value.trim_start();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    serde_json::from_str::<serde::de::IgnoredAny>(value).ok()?;
    let mut out = Vec::new();
    for (raw, key) in string_values(value) {
        let key_text = key.and_then(|k| decode(value, k));
        let contents = &value[raw.clone()];
        for (span, rule) in string_hits(contents, key_text.as_deref()) {
            if cuts_no_escape(contents, &span) {
                out.push((raw.start + span.start..raw.start + span.end, rule));
            }
        }
    }
    Some(out)
}

/// Does `span` of a string literal's raw contents start and end on the boundaries of
/// its escape sequences (`\"`, `\u00e9`), so that it decodes on its own?
fn cuts_no_escape(contents: &str, span: &Range<usize>) -> bool {
    let bytes = contents.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let unit = match (bytes[i], bytes.get(i + 1)) {
            (b'\\', Some(b'u')) => 6,
            (b'\\', _) => 2,
            _ => 1,
        };
        let inside = |p: usize| i < p && p < i + unit;
        if inside(span.start) || inside(span.end) {
            return false;
        }
        i += unit;
    }
    serde_json::from_str::<String>(&format!("\"{}\"", &contents[span.clone()])).is_ok()
}

/// The JSON-decoded text of the string literal whose contents are `raw`.
pub(super) fn decode(doc: &str, raw: Range<usize>) -> Option<String> {
    let quoted = doc.get(raw.start.checked_sub(1)?..raw.end + 1)?;
    serde_json::from_str::<String>(quoted).ok()
}

/// Hits in one string value (its raw, still escaped, contents) under `key`.
fn string_hits(raw: &str, key: Option<&str>) -> Vec<Hit> {
    if key.is_some_and(is_authorization) {
        let mut candidates = find_tokens(raw);
        candidates.extend(authorization_credential(raw).map(|r| (r, Rule::AuthorizationHeader)));
        return accept(raw, candidates);
    }
    let found = detect_in_text(raw);
    if !found.is_empty() {
        return found;
    }
    let Some(strength) = key.and_then(classify_name) else {
        return Vec::new();
    };
    let decoded = serde_json::from_str::<String>(&format!("\"{raw}\"")).unwrap_or_default();
    if !value_looks_secret(strength, &decoded) {
        return Vec::new();
    }
    let span = if is_auth_scheme_value(raw.trim()) {
        authorization_credential(raw)
    } else {
        let start = raw.len() - raw.trim_start().len();
        Some(start..start + raw.trim().len())
    };
    accept(
        raw,
        span.map(|s| (s, Rule::SecretJsonKey)).into_iter().collect(),
    )
}

/// Every string *value* of a valid JSON document: the range of its raw contents
/// (between the quotes) and the range of the raw contents of the key it is the value
/// of (`None` inside arrays).
fn string_values(doc: &str) -> Vec<(Range<usize>, Option<Range<usize>>)> {
    // One entry per open container: `Some(last key)` for objects, `None` for arrays.
    let mut stack: Vec<Option<Option<Range<usize>>>> = Vec::new();
    let bytes = doc.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => stack.push(Some(None)),
            b'[' => stack.push(None),
            b'}' | b']' => {
                stack.pop();
            }
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                let end = j.min(bytes.len());
                let raw = start..end;
                let next = bytes[end.saturating_add(1).min(bytes.len())..]
                    .iter()
                    .find(|b| !b.is_ascii_whitespace());
                match stack.last_mut() {
                    Some(Some(key)) if next == Some(&b':') => *key = Some(raw),
                    Some(Some(key)) => out.push((raw, key.clone())),
                    _ => out.push((raw, None)),
                }
                i = end;
            }
            _ => {}
        }
        i += 1;
    }
    out
}
