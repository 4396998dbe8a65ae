//! Properties over arbitrary input: the scanner never panics, every span is inside the
//! string it names and on char boundaries, and `mask` never gives a secret back.

use super::*;
use proptest::prelude::*;
use proptest::string::string_regex;

/// Strings built from the pieces the rules look for, glued with multi-byte chars and
/// JSON/URL punctuation, so the interesting code paths are hit far more often than by
/// uniformly random text.
fn tricky() -> impl Strategy<Value = String> {
    let pieces = "(ghp_|ntn_|sk-|xoxb-|AKIA|eyJ|pat|fc-|tvly-|Bearer |Authorization: |\
                  X-API-Key:|https://|postgres://u:|@|\\?api_key=|&token=|#|/s/|/u/|/|-e|\
                  --env=|--token=|API_KEY=|\\{\"|\":\"|\"|\\}|\\[|\\]|,|:|=|\\\\|\\\\u00e9|\
                  [A-Za-z0-9]{1,48}|[0-9a-f]{32}|[é🔑ß€]| |\n){0,16}";
    prop_oneof![any::<String>(), string_regex(pieces).expect("valid regex"),]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        tricky().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((tricky(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// An entry shaped like a host config's, with arbitrary contents.
fn arb_entry() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec((tricky(), tricky()), 0..4),
        prop::collection::vec(tricky(), 0..5),
        tricky(),
        prop::collection::vec((tricky(), tricky()), 0..3),
        arb_json(),
    )
        .prop_map(|(env, args, url, headers, json)| {
            let mut env: serde_json::Map<String, Value> = env
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            env.insert("JSON_VALUE".into(), Value::String(json.to_string()));
            serde_json::json!({
                "command": "npx",
                "args": args,
                "env": env,
                "url": url,
                "headers": headers
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect::<serde_json::Map<String, Value>>(),
            })
        })
}

/// The string a detection's place names inside `entry`.
fn text_at(entry: &Value, place: &Place) -> Option<String> {
    let s = match place {
        Place::Env(name) => entry.get("env")?.get(name)?,
        Place::Arg(i) => entry.get("args")?.get(*i)?,
        Place::Url(key) => entry.get(key)?,
        Place::Header(name) => entry.get("headers")?.get(name)?,
    };
    s.as_str().map(str::to_owned)
}

fn check(found: &[Detection], text_of: impl Fn(&Place) -> Option<String>) {
    for (i, d) in found.iter().enumerate() {
        let text = text_of(&d.place).expect("the place exists");
        let secret = d.secret_in(&text);
        assert!(secret.is_some(), "{d:?} outside {text:?}");
        let secret = secret.unwrap_or_default();
        assert!(!secret.trim().is_empty(), "{d:?} in {text:?}");
        assert!(d.secret_value(&text).is_some(), "{d:?} in {text:?}");
        if secret.chars().count() > 8 {
            assert_ne!(mask(secret), secret);
        }
        if let Form::DockerEnv { value, .. } = &d.form {
            assert!(text.get(value.clone()).is_some(), "{d:?}");
            assert!(
                value.start <= d.span.start && d.span.end <= value.end,
                "{d:?}"
            );
            assert!(d.docker_env_arg(&text).is_some(), "{d:?}");
        }
        for other in &found[i + 1..] {
            if other.place == d.place {
                let apart = d.span.end <= other.span.start || other.span.end <= d.span.start;
                assert!(apart, "{d:?} overlaps {other:?}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn env_values_never_panic_and_spans_stay_in_bounds(name in tricky(), value in tricky()) {
        let found = detect_env(&name, &value);
        check(&found, |_| Some(value.clone()));
        if let Some(f) = scan_env(&name, &value) {
            prop_assert_eq!(f.span, 0..value.len());
        }
    }

    #[test]
    fn json_env_values_never_panic_and_spans_stay_in_bounds(json in arb_json(), pretty in any::<bool>()) {
        let value = if pretty {
            serde_json::to_string_pretty(&json).unwrap_or_default()
        } else {
            json.to_string()
        };
        let found = detect_env("OPENAPI_MCP_HEADERS", &value);
        check(&found, |_| Some(value.clone()));
    }

    #[test]
    fn args_never_panic_and_spans_stay_in_bounds(args in prop::collection::vec(tricky(), 0..8)) {
        let found = detect_args(&args);
        check(&found, |p| match p {
            Place::Arg(i) => args.get(*i).cloned(),
            _ => None,
        });
        for f in scan_args(&args) {
            let Location::Arg(i) = f.location else { unreachable!() };
            prop_assert!(args[i].get(f.span.clone()).is_some());
        }
    }

    #[test]
    fn urls_and_headers_never_panic_and_spans_stay_in_bounds(url in tricky(), name in tricky(), value in tricky()) {
        check(&detect_url("url", &url), |_| Some(url.clone()));
        check(&detect_header(&name, &value), |_| Some(value.clone()));
    }

    #[test]
    fn whole_entries_never_panic_and_spans_stay_in_bounds(entry in arb_entry()) {
        let found = detect_entry(&entry);
        check(&found, |p| text_at(&entry, p));
        let _ = remote_plaintext(&entry);
    }

    #[test]
    fn arbitrary_json_as_an_entry_never_panics(json in arb_json()) {
        let found = detect_entry(&json);
        check(&found, |p| text_at(&json, p));
    }

    #[test]
    fn mask_never_returns_a_value_longer_than_eight_chars(value in tricky()) {
        if value.chars().count() > 8 {
            prop_assert_ne!(mask(&value), value);
        }
    }
}
