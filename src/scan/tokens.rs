//! Known token formats: a vendor's public prefix, then a body of a fixed charset and
//! length. One table row per format; each row's length and charset follow the vendor's
//! documented shape as public secret-scanning rule sets (gitleaks, Kingfisher) spell it,
//! so a lookalike that is too short or has the wrong alphabet is not a finding.

use super::Rule;
use std::ops::Range;

pub(super) fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

pub(super) fn is_b64url_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn is_alnum_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn is_alpha_byte(b: u8) -> bool {
    b.is_ascii_alphabetic()
}

fn is_lower_alnum_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

pub(super) fn is_hex_byte(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

fn is_lower_hex_byte(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

fn is_alnum_dash_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

fn is_upper_or_digit(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}

fn is_alnum_dot_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.'
}

fn is_b64_std_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'_')
}

fn is_atlassian_byte(b: u8) -> bool {
    is_b64url_byte(b) || b == b'='
}

/// Length of the run of bytes matching `pred` starting at `from`.
pub(super) fn run_len(bytes: &[u8], from: usize, pred: fn(u8) -> bool) -> usize {
    bytes
        .get(from..)
        .map_or(0, |rest| rest.iter().take_while(|&&b| pred(b)).count())
}

/// `8-4-4-4-12` hex digits.
pub(super) fn is_uuid(s: &[u8]) -> bool {
    s.len() == 36
        && s.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Extra shape checks on a body whose charset and length already match.
#[derive(Clone, Copy)]
enum Check {
    Any,
    /// Body has at least one ASCII digit and one ASCII letter; keeps prose like
    /// `sk-some-long-package-name` out.
    Mix,
    /// Body starts with these bytes (`sntrys_eyJ…`, `pypi-AgEIcHlwaS5vcmc…`).
    StartsWith(&'static str),
    /// Notion: 11 digits, then letters and digits.
    NotionNtn,
    /// Airtable: 14 letters/digits, `.`, 64 lowercase hex digits.
    AirtablePat,
    /// Postman: 24 hex digits, `-`, 34 hex digits.
    PostmanKey,
    /// Grafana service account: 32 letters/digits, `_`, 8 hex digits.
    GrafanaSa,
    /// The body is a UUID (HubSpot `pat-na1-<uuid>`).
    Uuid,
}

impl Check {
    fn holds(self, body: &[u8]) -> bool {
        match self {
            Check::Any => true,
            Check::Mix => {
                body.iter().any(u8::is_ascii_digit) && body.iter().any(u8::is_ascii_alphabetic)
            }
            Check::StartsWith(p) => body.starts_with(p.as_bytes()),
            Check::NotionNtn => body.iter().take(11).all(u8::is_ascii_digit),
            Check::AirtablePat => {
                body.len() == 79
                    && body[..14].iter().all(u8::is_ascii_alphanumeric)
                    && body[14] == b'.'
                    && body[15..].iter().all(|&b| is_lower_hex_byte(b))
            }
            Check::PostmanKey => {
                body.len() == 59
                    && body[24] == b'-'
                    && body[..24].iter().all(u8::is_ascii_hexdigit)
                    && body[25..].iter().all(u8::is_ascii_hexdigit)
            }
            Check::GrafanaSa => {
                body.len() == 41
                    && body[..32].iter().all(u8::is_ascii_alphanumeric)
                    && body[32] == b'_'
                    && body[33..].iter().all(u8::is_ascii_hexdigit)
            }
            Check::Uuid => is_uuid(body),
        }
    }
}

struct TokenFormat {
    prefix: &'static str,
    rule: Rule,
    body: fn(u8) -> bool,
    min: usize,
    max: usize,
    check: Check,
}

const fn fmt(
    prefix: &'static str,
    rule: Rule,
    body: fn(u8) -> bool,
    min: usize,
    max: usize,
    check: Check,
) -> TokenFormat {
    TokenFormat {
        prefix,
        rule,
        body,
        min,
        max,
        check,
    }
}

use Check::{Any, Mix};

/// Every format, longer or more specific prefixes first (`sk-ant-` before `sk-`). At a
/// position the first row whose prefix, body and check all match wins.
const TOKEN_FORMATS: &[TokenFormat] = &[
    fmt("github_pat_", Rule::GithubToken, is_word_byte, 22, 255, Any),
    fmt("ghp_", Rule::GithubToken, is_alnum_byte, 36, 251, Any),
    fmt("gho_", Rule::GithubToken, is_alnum_byte, 36, 251, Any),
    fmt("ghu_", Rule::GithubToken, is_alnum_byte, 36, 251, Any),
    fmt("ghs_", Rule::GithubToken, is_alnum_byte, 36, 251, Any),
    fmt("ghr_", Rule::GithubToken, is_alnum_byte, 36, 251, Any),
    fmt("glpat-", Rule::GitlabToken, is_b64url_byte, 20, 255, Any),
    fmt("sk-ant-", Rule::AnthropicKey, is_b64url_byte, 20, 400, Any),
    fmt("sk_live_", Rule::StripeKey, is_alnum_byte, 10, 255, Any),
    fmt("sk_test_", Rule::StripeKey, is_alnum_byte, 10, 255, Any),
    fmt("rk_live_", Rule::StripeKey, is_alnum_byte, 10, 255, Any),
    fmt("rk_test_", Rule::StripeKey, is_alnum_byte, 10, 255, Any),
    fmt("sk-", Rule::OpenAiStyleKey, is_b64url_byte, 20, 400, Mix),
    fmt("xoxa-", Rule::SlackToken, is_alnum_dash_byte, 10, 255, Mix),
    fmt("xoxb-", Rule::SlackToken, is_alnum_dash_byte, 10, 255, Mix),
    fmt("xoxp-", Rule::SlackToken, is_alnum_dash_byte, 10, 255, Mix),
    fmt("xoxo-", Rule::SlackToken, is_alnum_dash_byte, 10, 255, Mix),
    fmt("xoxs-", Rule::SlackToken, is_alnum_dash_byte, 10, 255, Mix),
    fmt("xoxr-", Rule::SlackToken, is_alnum_dash_byte, 10, 255, Mix),
    fmt("xapp-", Rule::SlackToken, is_alnum_dash_byte, 10, 255, Mix),
    fmt("AKIA", Rule::AwsAccessKeyId, is_upper_or_digit, 16, 16, Any),
    fmt("ASIA", Rule::AwsAccessKeyId, is_upper_or_digit, 16, 16, Any),
    fmt("AIza", Rule::GoogleApiKey, is_b64url_byte, 35, 35, Any),
    // Notion: internal integration secrets (`ntn_` since 2024, `secret_` before).
    fmt(
        "ntn_",
        Rule::NotionToken,
        is_alnum_byte,
        46,
        46,
        Check::NotionNtn,
    ),
    fmt("secret_", Rule::NotionToken, is_alnum_byte, 43, 43, Mix),
    fmt("lin_api_", Rule::LinearKey, is_alnum_byte, 40, 40, Any),
    fmt("figd_", Rule::FigmaToken, is_b64url_byte, 40, 48, Mix),
    // Hugging Face user and org tokens: letters only.
    fmt("hf_", Rule::HuggingFaceToken, is_alpha_byte, 34, 34, Any),
    fmt(
        "api_org_",
        Rule::HuggingFaceToken,
        is_alpha_byte,
        34,
        34,
        Any,
    ),
    fmt("sntryu_", Rule::SentryToken, is_lower_hex_byte, 64, 64, Any),
    fmt(
        "sntrys_",
        Rule::SentryToken,
        is_b64_std_byte,
        60,
        600,
        Check::StartsWith("eyJ"),
    ),
    fmt("napi_", Rule::NeonKey, is_lower_alnum_byte, 60, 80, Mix),
    fmt("shpat_", Rule::ShopifyToken, is_hex_byte, 32, 32, Any),
    fmt("shpca_", Rule::ShopifyToken, is_hex_byte, 32, 32, Any),
    fmt("shppa_", Rule::ShopifyToken, is_hex_byte, 32, 32, Any),
    fmt("shpss_", Rule::ShopifyToken, is_hex_byte, 32, 32, Any),
    fmt(
        "ATATT3",
        Rule::AtlassianToken,
        is_atlassian_byte,
        186,
        186,
        Any,
    ),
    fmt(
        "pat-na1-",
        Rule::HubspotToken,
        is_alnum_dash_byte,
        36,
        36,
        Check::Uuid,
    ),
    fmt(
        "pat-eu1-",
        Rule::HubspotToken,
        is_alnum_dash_byte,
        36,
        36,
        Check::Uuid,
    ),
    fmt(
        "pat",
        Rule::AirtableToken,
        is_alnum_dot_byte,
        79,
        79,
        Check::AirtablePat,
    ),
    fmt("pplx-", Rule::PerplexityKey, is_alnum_byte, 48, 48, Any),
    fmt("tvly-", Rule::TavilyKey, is_alnum_dash_byte, 32, 64, Mix),
    fmt("fc-", Rule::FirecrawlKey, is_lower_hex_byte, 32, 32, Any),
    fmt("gsk_", Rule::GroqKey, is_alnum_byte, 52, 52, Any),
    fmt("xai-", Rule::XaiKey, is_word_byte, 80, 80, Any),
    fmt("r8_", Rule::ReplicateToken, is_b64url_byte, 37, 37, Mix),
    fmt(
        "dop_v1_",
        Rule::DigitalOceanToken,
        is_lower_hex_byte,
        64,
        64,
        Any,
    ),
    fmt(
        "doo_v1_",
        Rule::DigitalOceanToken,
        is_lower_hex_byte,
        64,
        64,
        Any,
    ),
    fmt(
        "dor_v1_",
        Rule::DigitalOceanToken,
        is_lower_hex_byte,
        64,
        64,
        Any,
    ),
    fmt("npm_", Rule::NpmToken, is_alnum_byte, 36, 36, Any),
    fmt(
        "pypi-",
        Rule::PypiToken,
        is_b64url_byte,
        65,
        1015,
        Check::StartsWith("AgEIcHlwaS5vcmc"),
    ),
    fmt(
        "ya29.",
        Rule::GoogleOauthToken,
        is_b64url_byte,
        20,
        2048,
        Mix,
    ),
    fmt(
        "GOCSPX-",
        Rule::GoogleOauthToken,
        is_b64url_byte,
        28,
        28,
        Any,
    ),
    fmt(
        "sbp_",
        Rule::SupabaseToken,
        is_lower_alnum_byte,
        40,
        40,
        Any,
    ),
    fmt("apify_api_", Rule::ApifyToken, is_alnum_byte, 36, 36, Any),
    fmt(
        "PMAK-",
        Rule::PostmanKey,
        is_alnum_dash_byte,
        59,
        59,
        Check::PostmanKey,
    ),
    fmt("HRKU-AA", Rule::HerokuKey, is_b64url_byte, 58, 58, Any),
    fmt(
        "dapi",
        Rule::DatabricksToken,
        is_lower_hex_byte,
        32,
        32,
        Any,
    ),
    fmt(
        "glsa_",
        Rule::GrafanaToken,
        is_word_byte,
        41,
        41,
        Check::GrafanaSa,
    ),
];

/// Prefixes that are public parts of the formats above, safe for [`super::mask`] to show
/// (at most 4 chars of). Only distinctive ones: a bare `pat` or `dapi` could equally be
/// the start of a password.
pub(super) const MASK_PREFIXES: &[&str] = &[
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
    "ntn_",
    "lin_api_",
    "figd_",
    "hf_",
    "sntrys_",
    "sntryu_",
    "napi_",
    "shpat_",
    "ATATT",
    "pat-na1-",
    "pat-eu1-",
    "pplx-",
    "tvly-",
    "fc-",
    "gsk_",
    "xai-",
    "r8_",
    "dop_v1_",
    "doo_v1_",
    "dor_v1_",
    "npm_",
    "pypi-",
    "ya29.",
    "GOCSPX-",
    "sbp_",
    "apify_api_",
    "PMAK-",
    "HRKU-",
    "glsa_",
];

/// Every known-format token in `s`, left to right, non-overlapping.
pub(super) fn find_tokens(s: &str) -> Vec<(Range<usize>, Rule)> {
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

/// Does `s` start with a known format's prefix? Such a string is judged by that format
/// alone: a `ghp_` too short to be a GitHub token is not a generated key either.
pub(super) fn claims_known_prefix(s: &str) -> bool {
    s.starts_with("eyJ") || TOKEN_FORMATS.iter().any(|f| s.starts_with(f.prefix))
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
    TOKEN_FORMATS
        .iter()
        .filter(|f| rest.starts_with(f.prefix.as_bytes()))
        .find_map(|f| {
            let body_start = i + f.prefix.len();
            let n = run_len(bytes, body_start, f.body);
            let end = body_start + n;
            // Right boundary: the token must not run on into more word characters
            // (matters for AKIA…, whose body class excludes lowercase).
            let bounded = bytes.get(end).is_none_or(|&b| !b.is_ascii_alphanumeric());
            let fits = (f.min..=f.max).contains(&n) && bounded;
            (fits && f.check.holds(&bytes[body_start..end])).then_some((end, f.rule))
        })
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
