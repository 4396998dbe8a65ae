//! Recall and precision of [`detect_entry`] over `tests/fixtures/scan-corpus.json`:
//! server entries shaped as popular MCP servers' READMEs show them, each with the exact
//! secrets it holds (or none). Both figures are printed and must be 100%.

use super::*;
use std::collections::BTreeMap;

/// The string a place names inside an entry, and the place as the corpus spells it.
fn place_key(place: &Place) -> String {
    match place {
        Place::Env(name) => format!("env:{name}"),
        Place::Arg(i) => format!("arg:{i}"),
        Place::Url(key) => format!("url:{key}"),
        Place::Header(name) => format!("header:{name}"),
    }
}

fn text_at(entry: &Value, place: &Place) -> Option<String> {
    let s = match place {
        Place::Env(name) => entry.get("env")?.get(name)?,
        Place::Arg(i) => entry.get("args")?.get(*i)?,
        Place::Url(key) => entry.get(key)?,
        Place::Header(name) => entry
            .get("headers")
            .and_then(|h| h.get(name))
            .or_else(|| entry.get("http_headers")?.get(name))?,
    };
    s.as_str().map(str::to_owned)
}

/// (place, secret, docker env name) of one finding.
type Item = (String, String, Option<String>);

fn expected(entry: &Value) -> Vec<Item> {
    let Some(list) = entry["expect"].as_array() else {
        assert_eq!(entry["expect"], "none", "{}", entry["server"]);
        return Vec::new();
    };
    list.iter()
        .map(|e| {
            let field = |k: &str| e[k].as_str().map(str::to_owned);
            (
                field("at").expect("expect.at"),
                field("secret").expect("expect.secret"),
                field("docker_env"),
            )
        })
        .collect()
}

fn actual(config: &Value) -> Vec<Item> {
    detect_entry(config)
        .iter()
        .map(|d| {
            let text = text_at(config, &d.place).expect("the place exists");
            let secret = d.secret_in(&text).expect("span in bounds").to_owned();
            let docker = match &d.form {
                Form::DockerEnv { name, .. } => Some(name.clone()),
                _ => None,
            };
            (place_key(&d.place), secret, docker)
        })
        .collect()
}

#[test]
fn the_scanner_finds_every_planted_secret_in_the_corpus_and_nothing_else() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/scan-corpus.json"
    );
    let raw = std::fs::read_to_string(path).expect("read the corpus");
    let doc: Value = serde_json::from_str(&raw).expect("the corpus is JSON");
    let entries = doc["entries"].as_array().expect("entries");
    assert!(entries.len() >= 60, "only {} entries", entries.len());

    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    let mut misses: Vec<String> = Vec::new();
    let mut negatives = 0;
    for entry in entries {
        let server = entry["server"].as_str().expect("server");
        let want = expected(entry);
        if want.is_empty() {
            negatives += 1;
        }
        let got = actual(&entry["config"]);
        let mut left: BTreeMap<&Item, usize> = BTreeMap::new();
        for w in &want {
            *left.entry(w).or_default() += 1;
        }
        for g in &got {
            match left.get_mut(g) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    tp += 1;
                }
                _ => {
                    fp += 1;
                    misses.push(format!("false positive in {server}: {} {:?}", g.0, g.2));
                }
            }
        }
        for (w, n) in left {
            fn_ += n;
            for _ in 0..n {
                misses.push(format!("missed in {server}: {} {:?}", w.0, w.2));
            }
        }
    }
    let recall = 100.0 * tp as f64 / (tp + fn_).max(1) as f64;
    let precision = 100.0 * tp as f64 / (tp + fp).max(1) as f64;
    println!(
        "scan corpus: {} entries ({negatives} without secrets), {} secrets; \
         recall {recall:.1}% ({tp}/{}), precision {precision:.1}% ({tp}/{})",
        entries.len(),
        tp + fn_,
        tp + fn_,
        tp + fp
    );
    // The messages name places and rules, never the secrets.
    assert!(misses.is_empty(), "{}", misses.join("\n"));
    assert_eq!((fp, fn_), (0, 0));
}

/// Does `secret` carry the canary marker, in the clear or inside base64, or is its
/// alphabet (after an uppercase vendor prefix like `PMAK-`) one that cannot hold it
/// (hex, lowercase, UUIDs)?
fn is_canary(secret: &str) -> bool {
    use base64::Engine as _;
    const MARKER: &str = "KBCANARY";
    let in_base64 = base64::engine::general_purpose::STANDARD
        .decode(secret)
        .is_ok_and(|b| String::from_utf8_lossy(&b).contains(MARKER));
    let body = secret.trim_start_matches(|c: char| c.is_ascii_uppercase() || c == '-' || c == '_');
    secret.contains(MARKER) || in_base64 || !body.bytes().any(|b| b.is_ascii_uppercase())
}

#[test]
fn every_corpus_secret_is_a_real_looking_canary() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/scan-corpus.json"
    );
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("JSON");
    for entry in doc["entries"].as_array().expect("entries") {
        assert!(
            entry["server"].as_str().is_some_and(|s| s.contains('(')),
            "name the server and the source: {}",
            entry["server"]
        );
        for (at, secret, _) in expected(entry) {
            let text = entry["config"].to_string();
            assert!(secret.len() >= 16, "{at} in {}", entry["server"]);
            assert!(is_canary(&secret), "{at} in {}", entry["server"]);
            assert!(
                text.contains(&secret) || text.contains(&secret.replace('"', "\\\"")),
                "{at} in {}",
                entry["server"]
            );
        }
    }
}
