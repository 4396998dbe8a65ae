//! What a name says about its value (`API_KEY`, `apiKey`, `X-Auth-Token`) and whether a
//! value is plausibly a credential at all (not a path, a number, a log level, a
//! reference like `${VAR}` or a README placeholder like `YOUR_API_KEY`).

/// How much evidence a secret-ish name needs from its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Strength {
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
    // Where something is reached: the launcher needs `DBUS_SESSION_BUS_ADDRESS` to reach
    // the keychain, so moving it there would lock every start out.
    "ADDRESS",
    "ADDR",
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
pub(super) fn name_segments(name: &str) -> Vec<String> {
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
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
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

pub(super) fn classify_name(name: &str) -> Option<Strength> {
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
        let after = |word: &str| k > 0 && segments[k - 1] == word;
        let connection_string = seg == "STRING" && (after("CONNECTION") || after("CONN"));
        // Telegram's `API_HASH` is the app's secret, unlike a `FILE_HASH`.
        let api_hash = seg == "HASH" && after("API");
        if WEAK_WORDS.contains(&seg)
            || WEAK_SUFFIXES.iter().any(|x| seg.ends_with(x))
            || connection_string
            || api_hash
        {
            found = Some(Strength::Weak);
        }
    }
    found
}

/// Would a value under a secret-ish name plausibly be the secret itself?
pub(super) fn value_looks_secret(strength: Strength, value: &str) -> bool {
    let t = value.trim();
    if t.is_empty()
        || is_env_ref(t)
        || is_placeholder(t)
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

pub(super) fn is_ident(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A value that is only a reference to something else: `${FOO}`,
/// `${input:token}`, `$FOO`, `$env:FOO`, `%FOO%`.
pub(super) fn is_env_ref(s: &str) -> bool {
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

pub(super) fn is_keyword(s: &str) -> bool {
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

pub(super) fn is_log_level(s: &str) -> bool {
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

pub(super) fn is_number(s: &str) -> bool {
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

pub(super) fn looks_like_path(s: &str) -> bool {
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
pub(super) fn is_plain_url(s: &str) -> bool {
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
pub(super) fn is_auth_scheme_value(s: &str) -> bool {
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

/// A README placeholder left in place of the real value: `YOUR_API_KEY`,
/// `<your-token>`, `ntn_****`, `ghp_xxxxxxxxxxxx`, `sk-...`, `{{API_KEY}}`,
/// `changeme`. Configs are often saved before the user pastes the key; such a value is
/// no secret and moving it into the keychain would only hide the mistake.
pub(super) fn is_placeholder(s: &str) -> bool {
    let t = s.trim();
    let wrapped = [("<", ">"), ("[", "]"), ("{", "}")]
        .iter()
        .any(|(open, close)| t.len() >= 2 && t.starts_with(open) && t.ends_with(close));
    if wrapped {
        return true;
    }
    let lower = t.to_ascii_lowercase();
    const MARKS: &[&str] = &[
        "****",
        "xxxx",
        "....",
        "…",
        "your-",
        "your_",
        "your ",
        "yourapikey",
        "yourtoken",
        "-here",
        "_here",
        "placeholder",
        "changeme",
        "change-me",
        "change_me",
        "replace-me",
        "replace_me",
        "replaceme",
        "example",
        "redacted",
        "<",
        ">",
    ];
    MARKS.iter().any(|m| lower.contains(m))
}

/// A string shaped like a machine-made credential rather than a word, a name, a
/// version or a path: at least `min_len` chars of `A-Za-z0-9-_` (plus `=` padding and
/// `+~` when `extended`), letters and digits mixed, a long alphanumeric run, and the
/// frequent switches between digits, lower and upper case that random text has and
/// words like `internationalization2024` do not.
pub(super) fn is_random_token(s: &str, min_len: usize, extended: bool) -> bool {
    let b = s.as_bytes();
    if b.len() < min_len || b.len() > 512 {
        return false;
    }
    let allowed = |c: u8| {
        c.is_ascii_alphanumeric()
            || matches!(c, b'-' | b'_')
            || (extended && matches!(c, b'=' | b'+' | b'~'))
    };
    if !b.iter().all(|&c| allowed(c)) {
        return false;
    }
    let body = s.trim_end_matches('=');
    let mut longest_run = 0;
    let mut run = 0;
    for c in body.bytes() {
        if c.is_ascii_alphanumeric() {
            run += 1;
            longest_run = longest_run.max(run);
        } else {
            run = 0;
        }
    }
    let class = |c: u8| match c {
        b'0'..=b'9' => 0,
        b'a'..=b'z' => 1,
        b'A'..=b'Z' => 2,
        _ => 3,
    };
    let switches = body
        .as_bytes()
        .windows(2)
        .filter(|w| class(w[0]) != class(w[1]))
        .count();
    let mut seen = [false; 256];
    for c in body.bytes() {
        seen[usize::from(c)] = true;
    }
    let distinct = seen.iter().filter(|x| **x).count();
    let has_digit = body.bytes().any(|c| c.is_ascii_digit());
    let has_letter = body.bytes().any(|c| c.is_ascii_alphabetic());
    has_digit && has_letter && longest_run >= 16 && switches >= 4 && distinct >= 10
}
