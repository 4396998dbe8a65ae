//! Every host's config file, end to end through the CLI on the real keychain: found in
//! its usual place under a temporary HOME (or, for a host that reads only its project's
//! file, in a project dir), counted by `keybroker hosts`, imported by `keybroker import
//! <host>` with only the secret-bearing entries' bytes changed, left byte-identical when
//! there is nothing to change, given back in its own shape by `keybroker restore`, and
//! watched for drift in that shape.
#![cfg(target_os = "linux")]

use keybroker_test_support::world;

use std::path::{Path, PathBuf};

use keybroker::config::doc::ConfigDoc;
use keybroker::config::hosts::shape::Collection;
use keybroker::config::hosts::{Format, Host};
use keybroker::config::jsonfile::JsonFile;
use keybroker::config::tomlfile::TomlFile;
use keybroker::config::yamlfile::YamlFile;
use world::World;

/// host id, fixture, path under HOME (under the project dir with `in_project`),
/// [(start, end)] markers around each entry that holds a secret or reaches a remote
/// server, servers, brokered after import.
struct Case {
    host: &'static str,
    fixture: &'static str,
    under_home: &'static str,
    in_project: bool,
    edited: &'static [(&'static str, &'static str)],
    servers: u64,
    brokered: u64,
}

const CASES: &[Case] = &[
    Case {
        host: "claude-code",
        fixture: "claude-code.json",
        under_home: ".claude.json",
        in_project: false,
        edited: &[
            ("\"github\"", "\"fetch\""),
            ("\"docs\"", "\n  },\n  \"projects\""),
            ("\"db\"", "\"hasTrustDialogAccepted\""),
        ],
        servers: 4,
        brokered: 2,
    },
    Case {
        host: "cursor",
        fixture: "cursor.json",
        under_home: ".cursor/mcp.json",
        in_project: false,
        edited: &[("\"github\"", "\"fetch\""), ("\"linear\"", "\n\t}")],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "vscode",
        fixture: "vscode.jsonc",
        under_home: ".config/Code/User/mcp.json",
        in_project: false,
        edited: &[("\"github\"", "/* uses"), ("\"remote\"", ",\n  },\n}")],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "windsurf",
        fixture: "windsurf.json",
        under_home: ".codeium/windsurf/mcp_config.json",
        in_project: false,
        edited: &[("\"github\"", "\"fetch\""), ("\"figma\"", "\n    }")],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "gemini-cli",
        fixture: "gemini-cli.json",
        under_home: ".gemini/settings.json",
        in_project: false,
        edited: &[
            ("\"github\"", "\"fetch\""),
            ("\"docs\"", "\n  },\n  \"telemetry\""),
        ],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "codex",
        fixture: "codex.toml",
        under_home: ".codex/config.toml",
        in_project: false,
        edited: &[
            ("[mcp_servers.github]", "[mcp_servers.fetch]"),
            ("[mcp_servers.docs]", "[profiles.fast]"),
        ],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "zed",
        fixture: "zed.jsonc",
        under_home: ".config/zed/settings.json",
        in_project: false,
        edited: &[("\"github\"", "// no secrets")],
        servers: 2,
        brokered: 1,
    },
    Case {
        host: "cline",
        fixture: "cline.json",
        under_home: ".config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
        in_project: false,
        edited: &[("\"github\"", "\"fetch\"")],
        servers: 2,
        brokered: 1,
    },
    Case {
        host: "copilot-cli",
        fixture: "copilot-cli.json",
        under_home: ".copilot/mcp-config.json",
        in_project: false,
        edited: &[("\"github\"", "\"fetch\""), ("\"docs\"", "\n  }\n}")],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "opencode",
        fixture: "opencode.jsonc",
        under_home: ".config/opencode/opencode.json",
        in_project: false,
        edited: &[
            ("\"github\"", "\"fetch\""),
            ("\"docs\"", "\n  },\n  \"autoupdate\""),
        ],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "kilo",
        fixture: "kilo.jsonc",
        under_home: ".config/kilo/kilo.json",
        in_project: false,
        edited: &[("\"github\"", "/* reads")],
        servers: 2,
        brokered: 1,
    },
    Case {
        host: "amp",
        fixture: "amp.json",
        under_home: ".config/amp/settings.json",
        in_project: false,
        edited: &[
            ("\"github\"", "\"playwright\""),
            ("\"linear\"", "\n  },\n  \"amp.dangerouslyAllowAll\""),
        ],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "kiro",
        fixture: "kiro.json",
        under_home: ".kiro/settings/mcp.json",
        in_project: false,
        edited: &[("\"github\"", "\"fetch\""), ("\"docs\"", "\n  }\n}")],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "junie",
        fixture: "junie.json",
        under_home: ".junie/mcp/mcp.json",
        in_project: false,
        edited: &[("\"github\"", "\"fetch\"")],
        servers: 2,
        brokered: 1,
    },
    Case {
        host: "lm-studio",
        fixture: "lm-studio.json",
        under_home: ".lmstudio/mcp.json",
        in_project: false,
        edited: &[
            ("\"github\"", "\"hf-mcp-server\""),
            ("\"hf-mcp-server\"", "\"fetch\""),
        ],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "roo-code",
        fixture: "roo-code.json",
        under_home: ".config/Code/User/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json",
        in_project: false,
        edited: &[("\"github\"", "\"fetch\""), ("\"remote\"", "\n  }\n}")],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "kilo-code",
        fixture: "kilo-code.json",
        under_home: ".config/Code/User/globalStorage/kilocode.kilo-code/settings/mcp_settings.json",
        in_project: false,
        edited: &[("\"github\"", "\"fetch\""), ("\"remote\"", "\n  }\n}")],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "amazon-q",
        fixture: "amazon-q.json",
        under_home: ".aws/amazonq/mcp.json",
        in_project: false,
        edited: &[("\"github\"", "\"aws-docs\"")],
        servers: 2,
        brokered: 1,
    },
    Case {
        host: "augment",
        fixture: "augment.json",
        under_home: ".augment/settings.json",
        in_project: false,
        edited: &[
            ("\"github\"", "\"context7\""),
            ("\"context7\"", "\"fetch\""),
        ],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "qwen-code",
        fixture: "qwen-code.json",
        under_home: ".qwen/settings.json",
        in_project: false,
        edited: &[
            ("\"github\"", "\"fetch\""),
            ("\"docs\"", "\n  },\n  \"ui\""),
        ],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "crush",
        fixture: "crush.json",
        under_home: ".config/crush/crush.json",
        in_project: false,
        edited: &[
            ("\"github\"", "\"fetch\""),
            ("\"linear\"", "\n  },\n  \"options\""),
        ],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "warp",
        fixture: "warp.json",
        under_home: ".warp/.mcp.json",
        in_project: false,
        edited: &[("\"github\"", "\"fetch\""), ("\"linear\"", "\n  }\n}")],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "kimi-cli",
        fixture: "kimi-cli.json",
        under_home: ".kimi/mcp.json",
        in_project: false,
        edited: &[
            ("\"github\"", "\"context7\""),
            ("\"context7\"", "\"chrome-devtools\""),
        ],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "factory",
        fixture: "factory.json",
        under_home: ".factory/mcp.json",
        in_project: false,
        edited: &[("\"github\"", "\"fetch\""), ("\"linear\"", "\n  }\n}")],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "grok-cli",
        fixture: "grok-cli.json",
        under_home: ".grok/settings.json",
        in_project: true,
        edited: &[
            ("\"github\": {", "\"fetch\": {"),
            ("\"linear\": {", "\n  }\n}"),
        ],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "mistral-vibe",
        fixture: "mistral-vibe.toml",
        under_home: ".vibe/config.toml",
        in_project: false,
        edited: &[
            ("name = \"github\"", "# a command line"),
            ("name = \"docs\"", "[tools.bash]"),
        ],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "antigravity",
        fixture: "antigravity.json",
        under_home: ".gemini/config/mcp_config.json",
        in_project: false,
        edited: &[("\"github\"", "\"fetch\""), ("\"figma\"", "\n  }\n}")],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "devin-desktop",
        fixture: "devin-desktop.json",
        under_home: ".config/devin/mcp_config.json",
        in_project: false,
        edited: &[("\"github\"", "\"fetch\""), ("\"vaadin\"", "\n    }\n}")],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "grok-dev",
        fixture: "grok-dev.json",
        under_home: ".grok/user-settings.json",
        in_project: false,
        edited: &[
            (
                "{\n        \"id\": \"github\"",
                "{\n        \"id\": \"fetch\"",
            ),
            ("{\n        \"id\": \"linear\"", "\n    ]\n  },\n  \"lsp\""),
        ],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "devin-cli",
        fixture: "devin-cli.jsonc",
        under_home: ".config/devin/config.json",
        in_project: false,
        edited: &[("\"github\"", "\"notion\""), ("\"notion\"", "\"my-tools\"")],
        servers: 3,
        brokered: 1,
    },
];

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(world::repo().join("tests/fixtures/hosts").join(name)).expect("fixture")
}

/// `keybroker` with a temporary HOME and nothing else that moves host files.
fn kb(w: &World, home: &Path) -> assert_cmd::Command {
    let mut c = w.kb();
    c.env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("CODEX_HOME")
        .env_remove("CLAUDE_CONFIG_DIR");
    for h in Host::ALL {
        for var in h.path_vars() {
            c.env_remove(var);
        }
    }
    c
}

/// Where a case's file goes: under HOME, or under the project dir, which the commands
/// then name with `--project`.
struct Placed {
    home: PathBuf,
    project: PathBuf,
    file: PathBuf,
    in_project: bool,
}

impl Placed {
    fn new(w: &World, case: &Case) -> Placed {
        let home = w.dir.path().join("home");
        let project = w.dir.path().join("proj");
        let base = if case.in_project { &project } else { &home };
        let file = base.join(case.under_home);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("dirs");
        std::fs::create_dir_all(&home).expect("home");
        std::fs::write(&file, fixture(case.fixture)).expect("write");
        Placed {
            home,
            project,
            file,
            in_project: case.in_project,
        }
    }

    /// `keybroker <args>`, with `--project` for a project file.
    fn kb(&self, w: &World, args: &[&str]) -> assert_cmd::Command {
        let mut c = kb(w, &self.home);
        c.args(args);
        if self.in_project {
            c.arg("--project").arg(&self.project);
        }
        c
    }
}

fn hosts_row(w: &World, home: &Path, host: &str) -> serde_json::Value {
    let mut c = kb(w, home);
    c.args(["hosts", "--json"]);
    hosts_row_with(c, host)
}

fn hosts_row_with(mut c: assert_cmd::Command, host: &str) -> serde_json::Value {
    let out = c.output().expect("hosts");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    rows.into_iter()
        .find(|r| r["host"] == host)
        .unwrap_or_else(|| panic!("{host} not detected"))
}

/// The entries at a host's servers path as its file holds them, before any shape
/// conversion.
fn host_entries(host: Host, path: &Path, bytes: &[u8]) -> Vec<(String, serde_json::Value)> {
    let servers: Vec<&str> = host.spec().servers.to_vec();
    match (host.format(), host.shape().collection) {
        (Format::Json, Collection::Map) => JsonFile::parse(path, bytes)
            .expect("json")
            .entries_at(&servers),
        (Format::Json, Collection::List { name_key }) => JsonFile::parse(path, bytes)
            .expect("json")
            .list_entries_at(&servers, name_key),
        (Format::Toml, Collection::Map) => TomlFile::parse(path, bytes)
            .expect("toml")
            .entries_at(&servers),
        (Format::Toml, Collection::List { name_key }) => TomlFile::parse(path, bytes)
            .expect("toml")
            .list_entries_at(&servers, name_key),
        (Format::Yaml, Collection::Map) => YamlFile::parse(path, bytes)
            .expect("yaml")
            .entries_at(&servers),
        (Format::Yaml, Collection::List { name_key }) => YamlFile::parse(path, bytes)
            .expect("yaml")
            .list_entries_at(&servers, name_key),
    }
    .expect("entries")
}

/// `after` equals `before` outside the `spans` of `before` (in order).
fn unchanged_outside(before: &str, after: &str, spans: &[(usize, usize)]) -> Result<(), String> {
    let mut pos_before = 0;
    let mut pos_after = 0;
    for (i, &(start, end)) in spans.iter().enumerate() {
        let keep = &before[pos_before..start];
        if i == 0 {
            if !after.starts_with(keep) {
                return Err(format!(
                    "text before the first edited entry changed:\n{after}"
                ));
            }
            pos_after = keep.len();
        } else {
            let Some(found) = after[pos_after..].find(keep) else {
                return Err(format!(
                    "text between edited entries changed: {keep:?}\n{after}"
                ));
            };
            pos_after += found + keep.len();
        }
        pos_before = end;
    }
    let tail = &before[pos_before..];
    if !after.ends_with(tail) || after.len() - tail.len() < pos_after {
        return Err(format!(
            "text after the last edited entry changed:\n{after}"
        ));
    }
    Ok(())
}

fn spans(text: &str, markers: &[(&str, &str)]) -> Vec<(usize, usize)> {
    markers
        .iter()
        .map(|(a, b)| {
            let start = text.find(a).expect("start marker");
            let end = start + text[start..].find(b).expect("end marker");
            (start, end)
        })
        .collect()
}

#[test]
fn every_fixture_round_trips_byte_identical_through_its_document() {
    for case in CASES {
        let bytes = fixture(case.fixture);
        let host = Host::parse(case.host).expect("host");
        let path = PathBuf::from("/nowhere").join(case.fixture);
        let doc = ConfigDoc::parse(host, &path, &bytes).expect("parses");
        assert_eq!(doc.to_bytes(), bytes, "{}", case.host);
        let found = doc.servers(host, &path).expect("servers");
        assert_eq!(found.len() as u64, case.servers, "{}", case.host);
    }
}

#[test]
fn import_of_each_host_edits_only_the_entries_that_held_a_secret_or_reach_a_remote_server() {
    for case in CASES {
        let w = World::new();
        let placed = Placed::new(&w, case);
        let file = placed.file.clone();
        let before = fixture(case.fixture);

        let row = hosts_row_with(placed.kb(&w, &["hosts", "--json"]), case.host);
        assert_eq!(row["servers"], case.servers, "{}: {row}", case.host);
        assert!(
            row["plaintext_secrets"].as_u64() >= Some(1),
            "{}: {row}",
            case.host
        );
        assert_eq!(row["brokered"], 0, "{}", case.host);

        placed
            .kb(&w, &["import", case.host, "--dry-run"])
            .assert()
            .success();
        assert_eq!(
            std::fs::read(&file).expect("read"),
            before,
            "{}: dry run wrote",
            case.host
        );

        let out = placed
            .kb(&w, &["import", case.host, "--yes"])
            .output()
            .expect("import");
        assert!(
            out.status.success(),
            "{}: {}",
            case.host,
            String::from_utf8_lossy(&out.stderr)
        );
        let after = std::fs::read(&file).expect("read");
        let before_text = String::from_utf8(before.clone()).expect("utf8");
        let after_text = String::from_utf8(after.clone()).expect("utf8");
        assert!(
            !after_text.contains(world::CANARY_MARKER),
            "{}: {after_text}",
            case.host
        );
        assert!(after_text.contains("\"run\"") || after_text.contains("args = [\"run\""));
        if let Err(e) =
            unchanged_outside(&before_text, &after_text, &spans(&before_text, case.edited))
        {
            panic!("{}: {e}", case.host);
        }
        // The host's own format still parses, with the same servers.
        let host = Host::parse(case.host).expect("host");
        let doc = ConfigDoc::parse(host, &file, &after).expect("rewritten file parses");
        assert_eq!(
            doc.servers(host, &file).expect("servers").len() as u64,
            case.servers
        );

        let row = hosts_row_with(placed.kb(&w, &["hosts", "--json"]), case.host);
        assert_eq!(row["brokered"], case.brokered, "{}: {row}", case.host);
        assert_eq!(row["plaintext_secrets"], 0, "{}: {row}", case.host);
        assert_eq!(row["drifted"], 0, "{}: {row}", case.host);

        // Nothing left to do: a second import leaves every byte as it is.
        let again = placed
            .kb(&w, &["import", case.host, "--yes"])
            .output()
            .expect("import again");
        assert!(again.status.success());
        assert!(
            String::from_utf8_lossy(&again.stdout).contains("Nothing to change."),
            "{}",
            case.host
        );
        assert_eq!(std::fs::read(&file).expect("read"), after, "{}", case.host);

        // Drift in the host's own shape is seen, and restore gives its entries back.
        check_drift_seen(&w, &placed, host);
        check_restored(&w, &placed, host, &before);
    }
}

#[test]
fn claude_code_project_servers_get_ids_naming_their_project() {
    let w = World::new();
    let home = w.dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    std::fs::write(home.join(".claude.json"), fixture("claude-code.json")).expect("write");
    kb(&w, &home)
        .args(["import", "claude-code", "--yes"])
        .assert()
        .success();
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.join(".claude.json")).expect("read"))
            .expect("json");
    assert_eq!(
        cfg["projects"]["/home/me/app"]["mcpServers"]["db"]["args"][1],
        "claude-code/db@app"
    );
    assert_eq!(cfg["mcpServers"]["github"]["args"][1], "claude-code/github");
}

#[test]
fn import_all_plans_every_detected_file_and_shares_one_credential_for_one_value() {
    let w = World::new();
    let home = w.dir.path().join("home");
    let project = w.dir.path().join("proj");
    for (under, name) in [
        (".cursor/mcp.json", "cursor.json"),
        (".gemini/settings.json", "gemini-cli.json"),
        (".codex/config.toml", "codex.toml"),
    ] {
        let f = home.join(under);
        std::fs::create_dir_all(f.parent().expect("parent")).expect("dirs");
        std::fs::write(&f, fixture(name)).expect("write");
    }
    let vs = project.join(".vscode/mcp.json");
    std::fs::create_dir_all(vs.parent().expect("parent")).expect("dirs");
    std::fs::write(&vs, fixture("vscode.jsonc")).expect("write");

    let out = kb(&w, &home)
        .args(["import", "--all", "--yes", "--project"])
        .arg(&project)
        .output()
        .expect("import --all");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("vscode/github@proj"), "{stdout}");
    assert!(
        // Four GitHub entries through `keybroker run`, four remote entries through the bridge.
        stdout.contains("Done: 8 server(s) rewritten, 1 secret(s) stored"),
        "{stdout}"
    );
    for f in [
        home.join(".cursor/mcp.json"),
        home.join(".gemini/settings.json"),
        home.join(".codex/config.toml"),
        vs,
    ] {
        let text = std::fs::read_to_string(&f).expect("read");
        assert!(!text.contains(world::CANARY_MARKER), "{}", f.display());
    }
}

#[test]
fn invalid_toml_and_jsonc_are_refused_with_line_and_column_and_left_untouched() {
    for (host, under, bad, line) in [
        (
            "codex",
            ".codex/config.toml",
            "model = \"x\"\n[mcp_servers.a\ncommand = \"npx\"\n",
            2,
        ),
        (
            "vscode",
            ".config/Code/User/mcp.json",
            "// c\n{\n  \"servers\": { \"a\": { \"command\": 'npx' } }\n}\n",
            3,
        ),
    ] {
        let w = World::new();
        let home = w.dir.path().join("home");
        let file = home.join(under);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("dirs");
        std::fs::write(&file, bad).expect("write");
        let out = kb(&w, &home)
            .args(["import", host, "--yes"])
            .output()
            .expect("import");
        assert_eq!(out.status.code(), Some(65), "{host}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("line {line}")), "{host}: {err}");
        assert_eq!(
            std::fs::read(&file).expect("read"),
            bad.as_bytes(),
            "{host}"
        );
    }
}

#[test]
fn after_importing_every_host_no_file_anywhere_holds_a_canary() {
    let w = World::new();
    let home = w.dir.path().join("home");
    let project = w.dir.path().join("proj");
    for case in CASES {
        Placed::new(&w, case);
    }
    let out = kb(&w, &home)
        .args(["import", "--all", "--yes", "--project"])
        .arg(&project)
        .output()
        .expect("import --all");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        w.files_containing(world::CANARY_MARKER.as_bytes()),
        Vec::<PathBuf>::new()
    );
    // Every file shares one GitHub token, Claude Code adds a DSN password: two values.
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("2 secret(s) stored in the keychain"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_secret_in_a_remote_entrys_headers_moves_to_the_keychain_and_the_entry_to_the_bridge() {
    let w = World::new();
    let home = w.dir.path().join("home");
    let file = home.join(".gemini/settings.json");
    std::fs::create_dir_all(file.parent().expect("parent")).expect("dirs");
    let text = "{\n  \"mcpServers\": {\n    \"api\": { \"httpUrl\": \"https://api.example.com/mcp\", \"headers\": { \"Authorization\": \"Bearer ghp_KBCANARYghEbNXbnFJZlruZPOSZfkleGN4jF\" } }\n  }\n}\n";
    std::fs::write(&file, text).expect("write");
    let row = hosts_row(&w, &home, "gemini-cli");
    assert_eq!(row["plaintext_secrets"], 1, "{row}");
    let out = kb(&w, &home)
        .args(["import", "gemini-cli", "--dry-run"])
        .output()
        .expect("import");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("header:Authorization"), "{stdout}");
    assert!(!stdout.contains("KBCANARY"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        text,
        "a dry run writes nothing"
    );

    kb(&w, &home)
        .args(["import", "gemini-cli", "--yes"])
        .assert()
        .success();
    let after = std::fs::read_to_string(&file).expect("read");
    assert!(!after.contains("KBCANARY"), "{after}");
    let cfg: serde_json::Value = serde_json::from_str(&after).expect("json");
    world::assert_bridge_args(&cfg["mcpServers"]["api"]["args"], "gemini-cli/api");
    assert!(w.files_containing(b"KBCANARY").is_empty());
}

#[test]
fn import_all_skips_a_file_it_cannot_parse_and_imports_the_others() {
    let w = World::new();
    let home = w.dir.path().join("home");
    let zed = home.join(".config/zed/settings.json");
    let cursor = home.join(".cursor/mcp.json");
    for f in [&zed, &cursor] {
        std::fs::create_dir_all(f.parent().expect("parent")).expect("dirs");
    }
    let broken = "{ \"context_servers\": { \"a\": { \"command\": \"x\" } \n";
    std::fs::write(&zed, broken).expect("write");
    std::fs::write(&cursor, fixture("cursor.json")).expect("write");
    let out = kb(&w, &home)
        .args(["import", "--all", "--yes"])
        .output()
        .expect("import --all");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains("skipped") && stderr.contains("settings.json"),
        "{stderr}"
    );
    assert!(stdout.contains("1 file(s) skipped"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&zed).expect("read"), broken);
    let text = std::fs::read_to_string(&cursor).expect("read");
    assert!(text.contains("cursor/github") && !text.contains(world::CANARY_MARKER));
}

#[test]
fn a_codex_save_between_plan_and_apply_is_kept_and_a_symlinked_toml_stays_a_link() {
    use keybroker::base::paths::Paths;
    use keybroker::ops::import::{self, ImportRequest};
    use keybroker::store::audit::AuditLog;
    use keybroker::store::state::State;
    use keybroker::store::vault::Vault;

    let w = World::new();
    let dotfiles = w.dir.path().join("dotfiles");
    std::fs::create_dir_all(&dotfiles).expect("dotfiles");
    let target = dotfiles.join("codex.toml");
    std::fs::write(&target, fixture("codex.toml")).expect("write");
    let link = w.dir.path().join("config.toml");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");

    let paths = Paths::under(&w.home);
    let vault = Vault::open(&paths.keychain_service()).expect("real keychain");
    let audit = AuditLog::new(paths.audit_file());
    let launcher = PathBuf::from("/opt/keybroker/keybroker");
    let req = ImportRequest {
        host: Host::Codex,
        config_path: &link,
        exclude: &[],
        launcher: &launcher,
        only: None,
        set_env: None,
        approve: &[],
        keybroker_home: None,
    };
    let plan =
        import::plan_import(&req, &State::load(&paths).expect("state"), &vault).expect("plan");
    // Codex (or the user) saves the file in the meantime.
    let saved = format!(
        "{}\n# saved by codex\n",
        String::from_utf8(fixture("codex.toml")).expect("utf8")
    );
    std::fs::write(&target, &saved).expect("save");
    let err = import::apply_import(&plan, &vault, &paths, &audit, "2026-11-26T00:00:00Z")
        .expect_err("must refuse");
    assert!(
        matches!(err, keybroker::Error::ConfigChanged { .. }),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&target).expect("read"), saved);

    // Re-planned, it applies through the link.
    let plan =
        import::plan_import(&req, &State::load(&paths).expect("state"), &vault).expect("plan");
    import::apply_import(&plan, &vault, &paths, &audit, "2026-11-26T00:00:00Z").expect("apply");
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink()
    );
    let text = std::fs::read_to_string(&target).expect("read");
    assert!(
        text.ends_with("# saved by codex\n") && text.contains("codex/github"),
        "{text}"
    );
    assert!(!text.contains(world::CANARY_MARKER));
}

/// A brokered entry changed, then replaced, the way a host (or someone) would edit the
/// file in its own shape: `watch` reports a change, then a drop. The file is put back as
/// it was.
fn check_drift_seen(w: &World, placed: &Placed, host: Host) {
    use keybroker::base::paths::Paths;
    use keybroker::ops::watch::{self, DriftKind};
    use keybroker::store::state::State;

    let state = State::load(&Paths::under(&w.home)).expect("state");
    let files = [(host, placed.file.clone())];
    // The launcher the import wrote into the entries: this installation's.
    let launcher = assert_cmd::cargo::cargo_bin("keybroker");
    let (start, errors) = watch::snapshot(&state, &files, &launcher);
    assert!(errors.is_empty(), "{}: {errors:?}", host.id());
    assert!(start.problems().is_empty(), "{}", host.id());
    let github = start
        .servers()
        .find(|s| s.name == "github")
        .unwrap_or_else(|| panic!("{}: no github", host.id()))
        .id
        .clone();
    let text = std::fs::read_to_string(&placed.file).expect("read");

    // The program inside the brokered entry is swapped.
    let swapped = text.replace("@modelcontextprotocol/server-github", "@evil/server-github");
    assert_ne!(swapped, text, "{}", host.id());
    std::fs::write(&placed.file, &swapped).expect("write");
    let (changed, _) = watch::snapshot(&state, &files, &launcher);
    let drifts = watch::diff(&start, &changed);
    assert!(
        drifts
            .iter()
            .any(|d| d.kind == DriftKind::Changed && d.server == github),
        "{}: {drifts:?}",
        host.id()
    );

    // Our entry is replaced with one Keybroker never wrote: ours is dropped.
    let ours = format!("\"{github}\"");
    assert!(text.contains(&ours), "{}", host.id());
    std::fs::write(&placed.file, text.replace(&ours, "\"someone/else\"")).expect("write");
    let (dropped, _) = watch::snapshot(&state, &files, &launcher);
    let drifts = watch::diff(&start, &dropped);
    assert!(
        drifts
            .iter()
            .any(|d| d.kind == DriftKind::Dropped && d.server == github),
        "{}: {drifts:?}",
        host.id()
    );
    std::fs::write(&placed.file, &text).expect("put back");
}

/// `keybroker restore --reveal` gives the host the entries of `before` back, in its
/// own shape with its own key order.
fn check_restored(w: &World, placed: &Placed, host: Host, before: &[u8]) {
    let out = placed
        .kb(w, &["restore", host.id(), "--reveal", "--yes"])
        .output()
        .expect("restore");
    assert!(
        out.status.success(),
        "{}: {}",
        host.id(),
        String::from_utf8_lossy(&out.stderr)
    );
    let after = std::fs::read(&placed.file).expect("read");
    let want = host_entries(host, &placed.file, before);
    let got = host_entries(host, &placed.file, &after);
    assert_eq!(got, want, "{}", host.id());
    let keys = |v: &serde_json::Value| -> Vec<String> {
        v.as_object().expect("object").keys().cloned().collect()
    };
    for ((_, g), (_, w)) in got.iter().zip(&want) {
        assert_eq!(keys(g), keys(w), "{}", host.id());
    }
}

/// Regression: a remote entry in a project file was bridged under the id of the user
/// file's entry (`cursor/linear`, not `cursor/linear@proj`), so the next import took it
/// for a dropped entry and wrote it back a second time.
#[test]
fn a_remote_entry_in_a_project_file_is_bridged_under_the_projects_id_once() {
    let w = World::new();
    let home = w.dir.path().join("home");
    let project = w.dir.path().join("proj");
    let file = project.join(".cursor/mcp.json");
    std::fs::create_dir_all(file.parent().expect("parent")).expect("dirs");
    std::fs::create_dir_all(&home).expect("home");
    std::fs::write(&file, fixture("cursor.json")).expect("write");
    kb(&w, &home)
        .args(["import", "cursor", "--yes", "--project"])
        .arg(&project)
        .assert()
        .success();
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
    world::assert_bridge_args(&cfg["mcpServers"]["linear"]["args"], "cursor/linear@proj");
    let after = std::fs::read(&file).expect("read");
    let again = kb(&w, &home)
        .args(["import", "cursor", "--yes", "--project"])
        .arg(&project)
        .output()
        .expect("import again");
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("Nothing to change."),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert_eq!(std::fs::read(&file).expect("read"), after);
}
