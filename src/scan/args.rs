//! Secrets in env values and in a server's argument list: what each value's syntax
//! shows, what a flag or env name says about the next value, `docker run -e NAME=value`,
//! and key-shaped positional arguments (`mcp-server-neon start <key>`).

use super::Rule;
use super::json::json_hits;
use super::names::{classify_name, is_auth_scheme_value, is_env_ref, value_looks_secret};
use super::names::{is_placeholder, is_random_token};
use super::text::{
    Hit, authorization_credential, detect_in_text, secret_flag_name, split_assignment,
    trimmed_range,
};
use super::tokens::{claims_known_prefix, is_uuid};
use std::ops::Range;

/// Hits in one env var's value, most specific first. A JSON object or array is judged
/// string by string; anything else by its syntax, then by the variable's name.
pub(super) fn env_value_hits(name: &str, value: &str) -> (Vec<Hit>, bool) {
    let trimmed = value.trim();
    if trimmed.is_empty() || is_env_ref(trimmed) {
        return (Vec::new(), false);
    }
    if let Some(hits) = json_hits(value) {
        return (hits, true);
    }
    let found = detect_in_text(value);
    if !found.is_empty() {
        return (found, false);
    }
    let Some(strength) = classify_name(name) else {
        return (Vec::new(), false);
    };
    if !value_looks_secret(strength, value) {
        return (Vec::new(), false);
    }
    // `Bearer X` under a secret name: only X is the secret.
    let span = if is_auth_scheme_value(trimmed) {
        authorization_credential(value)
    } else {
        Some(trimmed_range(value))
    };
    let hits = span
        .filter(|s| !is_placeholder(&value[s.clone()]))
        .map(|s| (s, Rule::SecretEnvName));
    (hits.into_iter().collect(), false)
}

/// One hit in an argument list.
pub(super) struct ArgHit {
    pub(super) index: usize,
    pub(super) span: Range<usize>,
    pub(super) rule: Rule,
    /// `docker run -e NAME=VALUE`: NAME and the range of VALUE in the arg.
    pub(super) docker_env: Option<(String, Range<usize>)>,
    pub(super) json: bool,
}

fn plain(index: usize, (span, rule): Hit) -> ArgHit {
    ArgHit {
        index,
        span,
        rule,
        docker_env: None,
        json: false,
    }
}

/// `-e NAME=VALUE`, `--env NAME=VALUE` or `--env=NAME=VALUE` at `args[i]`: NAME and
/// where VALUE starts in the arg.
fn docker_env_assignment(args: &[String], i: usize) -> Option<(&str, usize)> {
    let arg = args.get(i)?;
    if let Some(rest) = arg.strip_prefix("--env=") {
        let (name, value_start) = split_assignment(rest)?;
        return Some((name, "--env=".len() + value_start));
    }
    let prev = args.get(i.checked_sub(1)?)?;
    if prev == "-e" || prev == "--env" {
        return split_assignment(arg);
    }
    None
}

/// A bare argument in a key's place: not a flag, not the value of a flag that names
/// something else (`--project-ref <id>`), and shaped like a generated key. UUIDs in
/// this place are taken for ids (workspace, project) and left alone.
fn is_positional_key(args: &[String], i: usize) -> bool {
    let arg = args[i].trim();
    let after_flag = i
        .checked_sub(1)
        .and_then(|p| args.get(p))
        .is_some_and(|prev| prev.starts_with('-') && prev != "--" && !prev.contains('='));
    !arg.starts_with('-')
        && !after_flag
        && is_random_token(arg, 20, false)
        && !is_uuid(arg.as_bytes())
        && !claims_known_prefix(arg)
        && !is_placeholder(arg)
}

/// Every hit in a server's args, ordered by (index, span.start), never overlapping.
pub(super) fn arg_hits(args: &[String]) -> Vec<ArgHit> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if let Some((name, value_start)) = docker_env_assignment(args, i) {
            let (hits, json) = env_value_hits(name, &arg[value_start..]);
            let value = value_start..arg.len();
            out.extend(hits.into_iter().map(|(span, rule)| ArgHit {
                index: i,
                span: value_start + span.start..value_start + span.end,
                rule,
                docker_env: Some((name.to_owned(), value.clone())),
                json,
            }));
            i += 1;
            continue;
        }

        // `--config '{"braveApiKey": "…"}'` (Smithery): a JSON argument is judged string
        // by string, like a JSON env value.
        if let Some(hits) = json_hits(arg) {
            out.extend(hits.into_iter().map(|h| ArgHit {
                json: true,
                ..plain(i, h)
            }));
            i += 1;
            continue;
        }
        let found = detect_in_text(arg);
        let found_any = !found.is_empty();
        out.extend(found.into_iter().map(|h| plain(i, h)));

        // `--api-key X`: the secret is the next arg.
        if let (Some(strength), Some(next)) = (secret_flag_name(arg), args.get(i + 1)) {
            let next_trimmed = next.trim();
            if !next_trimmed.starts_with('-') && value_looks_secret(strength, next) {
                let inner = detect_in_text(next);
                if inner.is_empty() {
                    out.push(plain(i + 1, (trimmed_range(next), Rule::SecretFlagValue)));
                } else {
                    out.extend(inner.into_iter().map(|h| plain(i + 1, h)));
                }
                i += 2;
                continue;
            }
        }

        if !found_any && is_positional_key(args, i) {
            out.push(plain(i, (trimmed_range(arg), Rule::PositionalKey)));
        }
        i += 1;
    }
    out.sort_by_key(|h| (h.index, h.span.start));
    out
}
