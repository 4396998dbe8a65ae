//! Property tests of the three document editors: random JSON, JSONC, TOML and YAML host
//! documents (comments, blank lines, odd whitespace, unicode, quotes), one entry picked
//! and rewritten the way an import does, then restored. Every byte before and after
//! that entry stays as it was, the result still parses with a parser of its format, the
//! edited entry reads back as written and every other entry as it was.

use proptest::prelude::*;
use serde_json::{Value, json};
use std::path::Path;

use keybroker::config::jsonfile::JsonFile;
use keybroker::config::tomlfile::TomlFile;
use keybroker::config::yamlfile::YamlFile;

/// Text for names, values and comments: ASCII, accents, CJK, emoji, quotes and the
/// characters each format treats specially.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 _./:#{}\\[\\],'\"\\\\@*&!|>%=~éß中文🙂-]{0,12}"
}

/// A comment body: no line breaks.
fn comment() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 _./:#'\"é中🙂-]{0,16}"
}

/// A server entry as an import sees it: command, args, env, and sometimes other keys.
fn entry() -> impl Strategy<Value = Value> {
    (
        text(),
        prop::collection::vec(text(), 0..4),
        prop::collection::btree_map("[A-Z][A-Z_]{0,6}", text(), 0..3),
        prop::option::of(0u32..1000),
    )
        .prop_map(|(command, args, env, timeout)| {
            let mut v = json!({"command": command, "args": args, "env": env});
            if let Some(t) = timeout {
                v["timeout"] = json!(t);
            }
            v
        })
}

/// The entry an import writes in place of `old`.
fn rewritten(old: &Value, name: &str) -> Value {
    let mut args = vec![json!("run"), json!(format!("host/{name}")), json!("--")];
    args.push(old["command"].clone());
    args.extend(old["args"].as_array().cloned().unwrap_or_default());
    json!({"command": "/opt/Key Broker/keybroker", "args": args, "env": {}})
}

/// A generated document: its text and where each entry's text lies.
#[derive(Debug, Clone)]
struct Doc {
    text: String,
    names: Vec<String>,
    values: Vec<Value>,
    spans: Vec<(usize, usize)>,
}

#[derive(Debug, Clone)]
struct Parts {
    entries: Vec<Value>,
    comments: Vec<String>,
    head: String,
    tail: String,
    crlf: bool,
    pick: prop::sample::Index,
}

fn parts() -> impl Strategy<Value = Parts> {
    (
        prop::collection::vec(entry(), 1..5),
        prop::collection::vec(comment(), 6),
        text(),
        text(),
        any::<bool>(),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(entries, comments, head, tail, crlf, pick)| Parts {
            entries,
            comments,
            head,
            tail,
            crlf,
            pick,
        })
}

fn names(n: usize) -> Vec<String> {
    ["github", "fétch", "db-1", "srv_x", "中"]
        .iter()
        .take(n)
        .map(|s| s.to_string())
        .collect()
}

fn json_doc(p: &Parts, comments: bool) -> Doc {
    let nl = if p.crlf { "\r\n" } else { "\n" };
    let c = |i: usize| {
        if comments {
            format!("  // {}{nl}", p.comments[i])
        } else {
            String::new()
        }
    };
    let s = |v: &str| serde_json::to_string(v).expect("json string");
    let mut text = format!(
        "{{{nl}{}  \"head\": {},{nl}  \"mcpServers\": {{{nl}",
        c(0),
        s(&p.head)
    );
    let names = names(p.entries.len());
    let mut spans = Vec::new();
    for (i, (name, v)) in names.iter().zip(&p.entries).enumerate() {
        text.push_str(&c(1 + i % 3));
        text.push_str("    ");
        let start = text.len();
        let body = if i % 2 == 0 {
            serde_json::to_string(v).expect("json")
        } else {
            serde_json::to_string_pretty(v)
                .expect("json")
                .replace('\n', &format!("{nl}    "))
        };
        text.push_str(&format!("{}: {body}", s(name)));
        spans.push((start, text.len()));
        text.push_str(if i + 1 < p.entries.len() { "," } else { "" });
        text.push_str(nl);
    }
    text.push_str(&format!(
        "  }},{nl}{}  \"tail\": [{}, 1]{nl}}}{nl}",
        c(5),
        s(&p.tail)
    ));
    Doc {
        text,
        names,
        values: p.entries.clone(),
        spans,
    }
}

fn toml_doc(p: &Parts) -> Doc {
    let nl = if p.crlf { "\r\n" } else { "\n" };
    let s = |v: &str| serde_json::to_string(v).expect("string");
    let mut text = format!(
        "# {}{nl}head = {}   # {}{nl}{nl}",
        p.comments[0],
        s(&p.head),
        p.comments[1]
    );
    let names = names(p.entries.len());
    let mut spans = Vec::new();
    for (name, v) in names.iter().zip(&p.entries) {
        let start = text.len();
        text.push_str(&format!("[mcp_servers.{}]{nl}", s(name)));
        text.push_str(&format!(
            "command = {}{nl}",
            s(v["command"].as_str().unwrap_or(""))
        ));
        let args: Vec<String> = v["args"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| s(a.as_str().unwrap_or("")))
            .collect();
        text.push_str(&format!(
            "args = [{}]  # {}{nl}",
            args.join(", "),
            p.comments[2]
        ));
        let env: Vec<String> = v["env"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, x)| format!("{k} = {}", s(x.as_str().unwrap_or(""))))
            .collect();
        text.push_str(&format!("env = {{ {} }}{nl}", env.join(", ")));
        if let Some(t) = v.get("timeout") {
            text.push_str(&format!("timeout = {t}{nl}"));
        }
        spans.push((start, text.len()));
        text.push_str(nl);
    }
    text.push_str(&format!(
        "# {}{nl}[tail]{nl}x = {}{nl}",
        p.comments[5],
        s(&p.tail)
    ));
    Doc {
        text,
        names,
        values: p.entries.clone(),
        spans,
    }
}

fn yaml_doc(p: &Parts) -> Doc {
    let nl = if p.crlf { "\r\n" } else { "\n" };
    let s = |v: &str| serde_json::to_string(v).expect("string");
    let mut text = format!(
        "# {}{nl}head: {}   # {}{nl}extensions:{nl}",
        p.comments[0],
        s(&p.head),
        p.comments[1]
    );
    let names = names(p.entries.len());
    let mut spans = Vec::new();
    for (i, (name, v)) in names.iter().zip(&p.entries).enumerate() {
        text.push_str(&format!("  # {}{nl}", p.comments[2 + i % 3]));
        let start = text.len();
        if i % 2 == 1 {
            // Flow style, as JSON (valid YAML).
            text.push_str(&format!(
                "  {}: {}",
                s(name),
                serde_json::to_string(v).expect("json")
            ));
        } else {
            text.push_str(&format!("  {}:{nl}", s(name)));
            text.push_str(&format!(
                "    command: '{}'{nl}",
                v["command"].as_str().unwrap_or("").replace('\'', "''")
            ));
            let args = v["args"].as_array().cloned().unwrap_or_default();
            if args.is_empty() {
                text.push_str(&format!("    args: []{nl}"));
            } else {
                text.push_str(&format!("    args:{nl}"));
                for a in args {
                    text.push_str(&format!("    - {}{nl}", s(a.as_str().unwrap_or(""))));
                }
            }
            text.push_str(&format!(
                "    env: {}",
                serde_json::to_string(&v["env"]).expect("json")
            ));
            if let Some(t) = v.get("timeout") {
                text.push_str(&format!("{nl}    timeout: {t}"));
            }
        }
        spans.push((start, text.len()));
        text.push_str(&format!("   # {}{nl}", p.comments[(i + 1) % 6]));
    }
    text.push_str(&format!(
        "# {}{nl}tail: [{}, 1]{nl}",
        p.comments[5],
        s(&p.tail)
    ));
    Doc {
        text,
        names,
        values: p.entries.clone(),
        spans,
    }
}

/// The bytes before and after entry `i`'s span in `doc` are the head and tail of `out`.
fn kept_outside(doc: &Doc, i: usize, out: &str) -> Result<(), TestCaseError> {
    let (start, end) = doc.spans[i];
    let (head, tail) = (&doc.text[..start], &doc.text[end..]);
    prop_assert!(
        out.starts_with(head),
        "head changed:\n{}\n---\n{}",
        doc.text,
        out
    );
    prop_assert!(
        out.ends_with(tail),
        "tail changed:\n{}\n---\n{}",
        doc.text,
        out
    );
    prop_assert!(out.len() >= head.len() + tail.len());
    Ok(())
}

/// The entries read back from `entries`, with entry `i` set to `want`.
fn expect_entries(
    doc: &Doc,
    i: usize,
    want: &Value,
    entries: Vec<(String, Value)>,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(entries.len(), doc.names.len());
    for (j, (name, v)) in entries.iter().enumerate() {
        prop_assert_eq!(name, &doc.names[j]);
        let expected = if j == i { want } else { &doc.values[j] };
        prop_assert_eq!(v, expected, "entry {}", j);
    }
    Ok(())
}

fn string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("utf-8")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn json_and_jsonc_edits_keep_every_byte_outside_the_entry(p in parts(), comments in any::<bool>()) {
        let doc = json_doc(&p, comments);
        let path = Path::new("/x/mcp.json");
        let mut f = JsonFile::parse(path, doc.text.as_bytes()).expect("generated JSON parses");
        prop_assert_eq!(string(f.to_bytes()), doc.text.clone());
        let i = p.pick.index(doc.names.len());
        let name = doc.names[i].clone();
        for want in [rewritten(&doc.values[i], &name), doc.values[i].clone()] {
            f.set_entry_at(&["mcpServers"], &name, &want).expect("set");
            let out = string(f.to_bytes());
            kept_outside(&doc, i, &out)?;
            let ast = jsonc_parser::parse_to_ast(&out, &Default::default(), &Default::default())
                .expect("jsonc-parser parses");
            let parsed = Value::from(ast.value.expect("a value"));
            if !comments {
                let strict: Value = serde_json::from_str(&out).expect("serde_json parses");
                prop_assert_eq!(&strict, &parsed);
            }
            prop_assert_eq!(&parsed["mcpServers"][&name], &want);
            let again = JsonFile::parse(path, out.as_bytes()).expect("reparses");
            expect_entries(&doc, i, &want, again.entries_at(&["mcpServers"]).expect("entries"))?;
        }
    }

    #[test]
    fn toml_edits_keep_every_byte_outside_the_entry(p in parts()) {
        let doc = toml_doc(&p);
        let path = Path::new("/x/config.toml");
        let mut f = TomlFile::parse(path, doc.text.as_bytes()).expect("generated TOML parses");
        prop_assert_eq!(string(f.to_bytes()), doc.text.clone());
        let i = p.pick.index(doc.names.len());
        let name = doc.names[i].clone();
        for want in [rewritten(&doc.values[i], &name), doc.values[i].clone()] {
            f.set_entry_at(&["mcp_servers"], &name, &want).expect("set");
            let out = string(f.to_bytes());
            kept_outside(&doc, i, &out)?;
            let parsed: toml_edit::DocumentMut = out.parse().expect("toml parses");
            prop_assert!(parsed.get("mcp_servers").and_then(|s| s.get(&name)).is_some());
            let again = TomlFile::parse(path, out.as_bytes()).expect("reparses");
            expect_entries(&doc, i, &want, again.entries_at(&["mcp_servers"]).expect("entries"))?;
        }
    }

    #[test]
    fn yaml_edits_keep_every_byte_outside_the_entry(p in parts()) {
        let doc = yaml_doc(&p);
        let path = Path::new("/x/config.yaml");
        let mut f = YamlFile::parse(path, doc.text.as_bytes()).expect("generated YAML parses");
        prop_assert_eq!(string(f.to_bytes()), doc.text.clone());
        let i = p.pick.index(doc.names.len());
        let name = doc.names[i].clone();
        for want in [rewritten(&doc.values[i], &name), doc.values[i].clone()] {
            f.set_entry_at(&["extensions"], &name, &want).expect("set");
            let out = string(f.to_bytes());
            kept_outside(&doc, i, &out)?;
            // saphyr-parser, event by event: the whole stream is valid YAML.
            for event in saphyr_parser::Parser::new_from_str(&out) {
                prop_assert!(event.is_ok(), "{:?}\n{}", event.err(), out);
            }
            let again = YamlFile::parse(path, out.as_bytes()).expect("reparses");
            expect_entries(&doc, i, &want, again.entries_at(&["extensions"]).expect("entries"))?;
        }
    }

    #[test]
    fn yaml_list_edits_keep_every_byte_outside_the_element(p in parts()) {
        let nl = if p.crlf { "\r\n" } else { "\n" };
        let names = names(p.entries.len());
        let mut text = format!("name: x # {}{nl}mcpServers:{nl}", p.comments[0]);
        let mut spans = Vec::new();
        let mut values = Vec::new();
        for (name, v) in names.iter().zip(&p.entries) {
            let mut v = v.clone();
            v.as_object_mut().expect("object").insert("name".into(), json!(name));
            text.push_str("  - ");
            let start = text.len();
            text.push_str(&serde_json::to_string(&v).expect("json"));
            spans.push((start, text.len()));
            text.push_str(&format!("  # {}{nl}", p.comments[1]));
            values.push(v);
        }
        text.push_str(&format!("rules: [{}]{nl}", serde_json::to_string(&p.tail).expect("json")));
        let doc = Doc { text, names, values, spans };
        let path = Path::new("/x/config.yaml");
        let mut f = YamlFile::parse(path, doc.text.as_bytes()).expect("parses");
        let i = p.pick.index(doc.names.len());
        let name = doc.names[i].clone();
        let mut new = rewritten(&doc.values[i], &name);
        new["name"] = json!(name);
        for want in [new, doc.values[i].clone()] {
            f.set_list_entry_at(&["mcpServers"], "name", &name, &want).expect("set");
            let out = string(f.to_bytes());
            kept_outside(&doc, i, &out)?;
            let again = YamlFile::parse(path, out.as_bytes()).expect("reparses");
            expect_entries(&doc, i, &want, again.list_entries_at(&["mcpServers"], "name").expect("entries"))?;
        }
    }
}
