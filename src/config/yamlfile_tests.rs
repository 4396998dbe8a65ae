use super::*;
use serde_json::json;

const GOOSE: &str = r#"# Goose settings
GOOSE_PROVIDER: anthropic   # keep
GOOSE_MODEL: 'claude-sonnet-4'
extensions:
  developer:
    bundled: true
    display_name: Developer
    enabled: true
    name: developer
    timeout: 300
    type: builtin
  github:
    args:
    - -y
    - "@modelcontextprotocol/server-github"
    cmd: npx
    enabled: true
    envs:
      GITHUB_PERSONAL_ACCESS_TOKEN: ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
    name: github
    timeout: 300   # seconds
    type: stdio
  fetch: {type: stdio, name: fetch, cmd: uvx, args: [mcp-server-fetch], enabled: true}
# trailing settings
GOOSE_MODE: smart_approve
"#;

const SERVERS: &[&str] = &["extensions"];

fn file(text: &str) -> YamlFile {
    YamlFile::parse(Path::new("/x/config.yaml"), text.as_bytes()).expect("parses")
}

fn text(f: &YamlFile) -> String {
    String::from_utf8(f.to_bytes()).expect("utf8")
}

#[test]
fn an_unchanged_yaml_file_round_trips_byte_identical() {
    for t in [
        GOOSE,
        "",
        "# only a comment\n",
        "\u{feff}a: 1\r\nb: [x, 'y']\r\n",
        "base: &b {x: 1}\nother: *b\n",
    ] {
        let bytes = t.as_bytes();
        let f = YamlFile::parse(Path::new("/x/c.yaml"), bytes).expect("parses");
        assert_eq!(f.to_bytes(), bytes);
    }
}

#[test]
fn entries_read_under_the_core_schema_in_file_order() {
    let f = file(GOOSE);
    let e = f.entries_at(SERVERS).expect("entries");
    let names: Vec<&str> = e.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["developer", "github", "fetch"]);
    assert_eq!(e[0].1["timeout"], 300);
    assert_eq!(e[0].1["enabled"], true);
    assert_eq!(
        e[1].1["args"],
        json!(["-y", "@modelcontextprotocol/server-github"])
    );
    assert_eq!(e[2].1["args"], json!(["mcp-server-fetch"]));
    let typed = file("a: {n: 1, f: 1.5, h: 0x1f, t: True, z: ~, q: '1', s: 1.2.3, e: }\n");
    assert_eq!(
        typed.entries_at(&["a"]).expect("a")[..],
        [
            ("n".to_string(), json!(1)),
            ("f".to_string(), json!(1.5)),
            ("h".to_string(), json!(31)),
            ("t".to_string(), json!(true)),
            ("z".to_string(), Json::Null),
            ("q".to_string(), json!("1")),
            ("s".to_string(), json!("1.2.3")),
            ("e".to_string(), Json::Null),
        ]
    );
    assert!(f.entries_at(&["nothing"]).expect("none").is_empty());
}

#[test]
fn a_block_entry_is_rewritten_in_block_style_and_nothing_else_changes() {
    let mut f = file(GOOSE);
    let mut v = f.entries_at(SERVERS).expect("entries")[1].1.clone();
    v["cmd"] = json!("/opt/kb/keybroker");
    v["args"] = json!([
        "run",
        "goose/github",
        "--binding",
        "b1",
        "--",
        "npx",
        "-y",
        "@modelcontextprotocol/server-github"
    ]);
    v["envs"] = json!({});
    f.set_entry_at(SERVERS, "github", &v).expect("set");
    let out = text(&f);
    let start = GOOSE.find("    args:\n    - -y").expect("entry start");
    let end = GOOSE.find("  fetch:").expect("next entry");
    assert!(out.starts_with(&GOOSE[..start]), "{out}");
    assert!(out.ends_with(&GOOSE[end..]), "{out}");
    assert!(!out.contains("ghp_"), "{out}");
    assert!(
        out.contains("    args:\n    - run\n    - goose/github\n"),
        "{out}"
    );
    assert!(
        out.contains("    - \"@modelcontextprotocol/server-github\"\n"),
        "{out}"
    );
    assert!(out.contains("    cmd: /opt/kb/keybroker\n"), "{out}");
    assert!(out.contains("    envs: {}\n"), "{out}");
    assert_eq!(file(&out).entries_at(SERVERS).expect("e")[1].1, v);
    // The same value again changes nothing.
    let mut same = file(&out);
    same.set_entry_at(SERVERS, "github", &v).expect("same");
    assert_eq!(text(&same), out);
}

#[test]
fn a_flow_entry_stays_one_flow_line() {
    let mut f = file(GOOSE);
    let mut v = f.entries_at(SERVERS).expect("entries")[2].1.clone();
    v["cmd"] = json!("/opt/kb/keybroker");
    v["args"] = json!(["run", "goose/fetch", "--", "uvx", "mcp-server-fetch"]);
    f.set_entry_at(SERVERS, "fetch", &v).expect("set");
    let out = text(&f);
    assert!(
        out.contains("  fetch: {type: stdio, name: fetch, cmd: /opt/kb/keybroker, args: [run, goose/fetch, --, uvx, mcp-server-fetch], enabled: true}\n# trailing"),
        "{out}"
    );
    assert_eq!(file(&out).entries_at(SERVERS).expect("e")[2].1, v);
}

#[test]
fn a_new_entry_goes_after_the_last_one_and_missing_maps_are_created() {
    let v = json!({"type": "stdio", "name": "new", "cmd": "kb", "args": ["bridge", "goose/new"], "enabled": true});
    let mut f = file(GOOSE);
    f.set_entry_at(SERVERS, "new", &v).expect("add");
    let out = text(&f);
    let at = GOOSE.find("# trailing").expect("tail");
    assert!(out.starts_with(&GOOSE[..at]), "{out}");
    assert!(out.ends_with(&GOOSE[at..]), "{out}");
    assert!(
        out.contains("\n  new:\n    type: stdio\n    name: new\n"),
        "{out}"
    );
    assert_eq!(file(&out).entries_at(SERVERS).expect("e")[3].1, v);

    for start in [
        "",
        "GOOSE_MODEL: x # keep",
        "GOOSE_MODEL: x\nextensions:\n",
        "extensions: {}\n",
    ] {
        let mut f = file(start);
        f.set_entry_at(SERVERS, "new", &v).expect("add");
        let out = text(&f);
        assert!(
            out.starts_with(
                start
                    .trim_end_matches("extensions:\n")
                    .trim_end_matches("extensions: {}\n")
            ),
            "{out}"
        );
        assert_eq!(
            file(&out).entries_at(SERVERS).expect("e"),
            [("new".to_string(), v.clone())],
            "{out}"
        );
    }
    let mut deep = file("mcp:\n  other: 1\n");
    deep.set_entry_at(&["mcp", "servers"], "a", &json!({"command": "x"}))
        .expect("deep");
    let out = text(&deep);
    assert!(
        out.starts_with("mcp:\n  other: 1\n  servers:\n    a:\n"),
        "{out}"
    );
}

const CONTINUE: &str = "name: Local config   # Continue\nversion: 1.0.0\nschema: v1\nmodels: []\nmcpServers:\n  # GitHub\n  - name: github\n    command: npx\n    args:\n      - \"-y\"\n      - \"@modelcontextprotocol/server-github\"\n    env:\n      GITHUB_PERSONAL_ACCESS_TOKEN: \"ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n  - {name: fetch, command: uvx, args: [mcp-server-fetch]}\nrules:\n  - be brief\n";

#[test]
fn list_elements_are_found_by_name_replaced_in_place_and_appended() {
    let mut f = file(CONTINUE);
    let e = f.list_entries_at(&["mcpServers"], "name").expect("list");
    assert_eq!(e.len(), 2);
    assert_eq!(
        e[0].1["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"],
        "ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    );
    let mut v = e[0].1.clone();
    v["command"] = json!("/opt/kb/keybroker");
    v["args"] = json!(["run", "continue/github", "--", "npx", "-y", "srv"]);
    v["env"] = json!({});
    f.set_list_entry_at(&["mcpServers"], "name", "github", &v)
        .expect("set");
    let out = text(&f);
    let start = CONTINUE.find("name: github").expect("start");
    let end = CONTINUE.find("\n  - {name: fetch").expect("end");
    assert!(out.starts_with(&CONTINUE[..start]), "{out}");
    assert!(out.ends_with(&CONTINUE[end..]), "{out}");
    // Sequences are indented here, as the file does.
    assert!(out.contains("    args:\n      - run\n"), "{out}");
    assert_eq!(
        file(&out)
            .list_entries_at(&["mcpServers"], "name")
            .expect("e")[0]
            .1,
        v
    );

    let new = json!({"name": "api", "command": "kb", "args": ["bridge", "continue/api"]});
    let mut f = file(&out);
    f.set_list_entry_at(&["mcpServers"], "name", "api", &new)
        .expect("append");
    let appended = text(&f);
    assert!(appended.contains("  - {name: fetch, command: uvx, args: [mcp-server-fetch]}\n  - name: api\n    command: kb\n"), "{appended}");
    assert!(appended.ends_with("rules:\n  - be brief\n"), "{appended}");
    let names: Vec<String> = file(&appended)
        .list_entries_at(&["mcpServers"], "name")
        .expect("e")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["github", "fetch", "api"]);

    let mut flow = file("mcpServers: [{name: a, command: x}]  # one\n");
    flow.set_list_entry_at(
        &["mcpServers"],
        "name",
        "b",
        &json!({"name": "b", "command": "y"}),
    )
    .expect("flow");
    assert_eq!(
        text(&flow),
        "mcpServers: [{name: a, command: x}, {name: b, command: y}]  # one\n"
    );
    let mut none = file("name: x\n");
    none.set_list_entry_at(
        &["mcpServers"],
        "name",
        "b",
        &json!({"name": "b", "command": "y"}),
    )
    .expect("create");
    assert_eq!(
        text(&none),
        "name: x\nmcpServers:\n  - name: b\n    command: y\n"
    );
}

#[test]
fn crlf_files_get_crlf_lines_and_keep_their_bom() {
    let t = "\u{feff}# c\r\nextensions:\r\n  a:\r\n    cmd: x\r\n    args: []\r\n";
    let mut f = YamlFile::parse(Path::new("/x/c.yaml"), t.as_bytes()).expect("parses");
    f.set_entry_at(SERVERS, "b", &json!({"cmd": "y", "args": ["1"]}))
        .expect("add");
    let out = text(&f);
    assert!(out.starts_with(t), "{out:?}");
    assert_eq!(
        &out[t.len()..],
        "  b:\r\n    cmd: y\r\n    args:\r\n      - \"1\"\r\n"
    );
}

#[test]
fn strings_that_yaml_would_read_otherwise_are_quoted() {
    let tricky = [
        "true",
        "1",
        "0x1",
        "null",
        "",
        " pad",
        "a: b",
        "#x",
        "- x",
        "x #y",
        "@at",
        "*star",
        "1e3",
        "~",
        "line\nbreak",
        "tab\tx",
        "quote\"s",
        "ünï",
        "{x}",
    ];
    let mut f = file("a: {}\n");
    let v = Json::Object(
        tricky
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("k{i}"), json!(s)))
            .collect(),
    );
    f.set_entry_at(&["a"], "b", &v).expect("set");
    let out = text(&f);
    assert_eq!(file(&out).entries_at(&["a"]).expect("e")[0].1, v, "{out}");
    let keys = Json::Object(
        tricky
            .iter()
            .map(|s| ((*s).to_string(), json!(1)))
            .collect(),
    );
    let mut f = file("a:\n  x: 1\n");
    f.set_entry_at(&["a"], "x", &keys).expect("keys");
    let out = text(&f);
    assert_eq!(
        file(&out).entries_at(&["a"]).expect("e")[0].1,
        keys,
        "{out}"
    );
}

#[test]
fn invalid_yaml_is_a_syntax_error_naming_line_and_column() {
    let err =
        YamlFile::parse(Path::new("/x/c.yaml"), b"a: 1\nb: [x, y\nc: 2\n").expect_err("invalid");
    match &err {
        Error::ConfigSyntax { line, message, .. } => {
            assert!(*line >= 2, "{err}");
            assert!(message.starts_with("invalid YAML"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let err = YamlFile::parse(Path::new("/x/c.yaml"), b"a: 1\n  b: 2\n").expect_err("bad indent");
    assert!(
        matches!(err, Error::ConfigSyntax { line: 2, .. }),
        "{err:?}"
    );
    for (bad, field) in [("- a\n- b\n", "(root)"), ("a: 1\n---\nb: 2\n", "(root)")] {
        match YamlFile::parse(Path::new("/x/c.yaml"), bad.as_bytes()) {
            Err(Error::ConfigShape { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{bad}: {other:?}"),
        }
    }
    let f = file("extensions: [1, 2]\n");
    assert!(matches!(
        f.entries_at(SERVERS),
        Err(Error::ConfigShape { .. })
    ));
    let mut f = file("extensions: 3\n");
    assert!(f.set_entry_at(SERVERS, "a", &json!({"cmd": "x"})).is_err());
    assert_eq!(text(&f), "extensions: 3\n");
}

#[test]
fn aliases_read_as_their_anchor_and_an_expansion_bomb_is_refused() {
    let f = file("base: &b {cmd: x, args: [1]}\nextensions:\n  a: *b\n  b:\n    <<: *b\n");
    let e = f.entries_at(SERVERS).expect("entries");
    assert_eq!(e[0].1, json!({"cmd": "x", "args": [1]}));
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 0..8 {
        let prev = if i == 0 {
            "a".to_string()
        } else {
            format!("l{}", i - 1)
        };
        bomb.push_str(&format!("l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
    }
    bomb.push_str("extensions:\n  x: *l7\n");
    let f = file(&bomb);
    assert!(matches!(
        f.entries_at(SERVERS),
        Err(Error::ConfigShape { .. })
    ));
}

#[test]
fn an_anchored_block_entry_keeps_its_anchor() {
    let t = "extensions:\n  a: &gh\n    cmd: x\n    args: []\n  b: 1\n";
    let mut f = file(t);
    f.set_entry_at(SERVERS, "a", &json!({"cmd": "y", "args": []}))
        .expect("set");
    assert_eq!(
        text(&f),
        "extensions:\n  a: &gh\n    cmd: y\n    args: []\n  b: 1\n"
    );
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let deep = format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    assert!(YamlFile::parse(Path::new("/x/c.yaml"), deep.as_bytes()).is_err());
}
