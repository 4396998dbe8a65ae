//! The YAML hosts (Goose, Continue, fast-agent), end to end through the CLI on the real
//! keychain: each fixture sits at its real path under a temporary HOME or project dir, is
//! listed by `keybroker hosts --supported` and counted by `keybroker hosts`, imported with
//! only the secret-bearing or remote entries' bytes changed, left byte-identical when
//! there is nothing to change, watched for drift, and given back by `keybroker restore`.
#![cfg(target_os = "linux")]

use keybroker_test_support::world;

use std::path::{Path, PathBuf};

use keybroker::config::doc::ConfigDoc;
use keybroker::config::hosts::Host;
use keybroker::config::hosts::shape::Collection;
use keybroker::config::yamlfile::YamlFile;
use world::World;

/// host id, fixture, path under HOME (or the project dir), [(start, end)] markers around
/// each entry that holds a secret or reaches a remote server, servers, brokered after.
struct Case {
    host: &'static str,
    fixture: &'static str,
    rel: &'static str,
    in_project: bool,
    edited: &'static [(&'static str, &'static str)],
    servers: u64,
    brokered: u64,
}

const CASES: &[Case] = &[
    Case {
        host: "goose",
        fixture: "goose.yaml",
        rel: ".config/goose/config.yaml",
        in_project: false,
        edited: &[
            ("  github:\n", "  fetch:"),
            ("  linear:\n", "# telemetry off"),
        ],
        servers: 4,
        brokered: 1,
    },
    Case {
        host: "continue",
        fixture: "continue.yaml",
        rel: ".continue/config.yaml",
        in_project: false,
        edited: &[
            ("name: github", "\n  - name: fetch"),
            ("name: linear", "\ncontext:"),
        ],
        servers: 3,
        brokered: 1,
    },
    Case {
        host: "continue",
        fixture: "continue-block.yaml",
        rel: ".continue/mcpServers/github.yaml",
        in_project: true,
        edited: &[("name: github", "\r\n  - name: fetch")],
        servers: 2,
        brokered: 1,
    },
    Case {
        host: "fast-agent",
        fixture: "fast-agent.yaml",
        rel: "fastagent.config.yaml",
        in_project: true,
        edited: &[
            ("command: \"npx\"", "\n    fetch:"),
            ("transport: http", "\n\nopenai:"),
        ],
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
    c.env("HOME", home).env_remove("XDG_CONFIG_HOME");
    for h in Host::ALL {
        for var in h.path_vars() {
            c.env_remove(var);
        }
    }
    c
}

/// A case's file at its real place, and the commands that name it.
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
        let file = if case.in_project { &project } else { &home }.join(case.rel);
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

    fn kb(&self, w: &World, args: &[&str]) -> assert_cmd::Command {
        let mut c = kb(w, &self.home);
        c.args(args);
        if self.in_project {
            c.arg("--project").arg(&self.project);
        }
        c
    }

    fn hosts_row(&self, w: &World, host: &str) -> serde_json::Value {
        let out = self.kb(w, &["hosts", "--json"]).output().expect("hosts");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
        rows.into_iter()
            .find(|r| r["host"] == host && r["path"] == self.file.to_str().expect("utf-8"))
            .unwrap_or_else(|| panic!("{host} not detected at {}", self.file.display()))
    }
}

/// The entries as the file holds them, before any shape conversion.
fn host_entries(host: Host, path: &Path, bytes: &[u8]) -> Vec<(String, serde_json::Value)> {
    let servers: Vec<&str> = host.spec().servers.to_vec();
    let f = YamlFile::parse(path, bytes).expect("yaml");
    match host.shape().collection {
        Collection::Map => f.entries_at(&servers),
        Collection::List { name_key } => f.list_entries_at(&servers, name_key),
    }
    .expect("entries")
}

/// `after` equals `before` outside the `spans` of `before` (in order).
fn unchanged_outside(before: &str, after: &str, spans: &[(usize, usize)]) -> Result<(), String> {
    let mut pos_before = 0;
    let mut pos_after = 0;
    for &(start, end) in spans {
        let keep = &before[pos_before..start];
        let Some(found) = after[pos_after..].find(keep) else {
            return Err(format!(
                "text before an edited entry changed: {keep:?}\n{after}"
            ));
        };
        if pos_before == 0 && found != 0 {
            return Err(format!("the file's head changed:\n{after}"));
        }
        pos_after += found + keep.len();
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
            let start = text.find(a).unwrap_or_else(|| panic!("start marker {a:?}"));
            let end = start
                + text[start..]
                    .find(b)
                    .unwrap_or_else(|| panic!("end marker {b:?}"));
            (start, end)
        })
        .collect()
}

#[test]
fn every_yaml_fixture_round_trips_byte_identical_through_its_document() {
    for case in CASES {
        let bytes = fixture(case.fixture);
        let host = Host::parse(case.host).expect("host");
        let path = PathBuf::from("/nowhere").join(case.rel);
        let doc = ConfigDoc::parse(host, &path, &bytes).expect("parses");
        assert_eq!(doc.to_bytes(), bytes, "{}", case.fixture);
        let found = doc.servers(host, &path).expect("servers");
        assert_eq!(found.len() as u64, case.servers, "{}", case.fixture);
    }
}

#[test]
fn import_of_each_yaml_host_edits_only_its_secret_and_remote_entries_and_restore_undoes_it() {
    for case in CASES {
        let w = World::new();
        let placed = Placed::new(&w, case);
        let file = placed.file.clone();
        let host = Host::parse(case.host).expect("host");
        let before = fixture(case.fixture);

        let row = placed.hosts_row(&w, case.host);
        assert_eq!(row["servers"], case.servers, "{}: {row}", case.fixture);
        assert!(
            row["plaintext_secrets"].as_u64() >= Some(1),
            "{}: {row}",
            case.fixture
        );
        assert_eq!(row["brokered"], 0, "{}", case.fixture);

        placed
            .kb(&w, &["import", case.host, "--dry-run"])
            .assert()
            .success();
        assert_eq!(
            std::fs::read(&file).expect("read"),
            before,
            "{}: dry run wrote",
            case.fixture
        );

        let out = placed
            .kb(&w, &["import", case.host, "--yes"])
            .output()
            .expect("import");
        assert!(
            out.status.success(),
            "{}: {}",
            case.fixture,
            String::from_utf8_lossy(&out.stderr)
        );
        let after = std::fs::read(&file).expect("read");
        let before_text = String::from_utf8(before.clone()).expect("utf8");
        let after_text = String::from_utf8(after.clone()).expect("utf8");
        assert!(
            !after_text.contains(world::CANARY_MARKER),
            "{}: {after_text}",
            case.fixture
        );
        if let Err(e) =
            unchanged_outside(&before_text, &after_text, &spans(&before_text, case.edited))
        {
            panic!("{}: {e}", case.fixture);
        }
        let doc = ConfigDoc::parse(host, &file, &after).expect("rewritten file parses");
        let servers = doc.servers(host, &file).expect("servers");
        assert_eq!(servers.len() as u64, case.servers, "{}", case.fixture);
        let github = servers.iter().find(|s| s.name == "github").expect("github");
        assert_eq!(
            github.value["args"][0], "run",
            "{}: {after_text}",
            case.fixture
        );
        // The env names stay; their values moved to the keychain. A host that starts
        // servers with the entry's env only also gets `KEYBROKER_HOME` (not a secret).
        assert!(
            github.value["env"].as_object().is_some_and(|e| e
                .iter()
                .all(|(k, v)| v == "" || (k == "KEYBROKER_HOME" && host.entry_env_only()))),
            "{}: {}",
            case.fixture,
            github.value
        );
        if let Some(linear) = servers.iter().find(|s| s.name == "linear") {
            world::assert_bridge_args(&linear.value["args"], &linear.id);
        }

        let row = placed.hosts_row(&w, case.host);
        assert_eq!(row["brokered"], case.brokered, "{}: {row}", case.fixture);
        assert_eq!(row["plaintext_secrets"], 0, "{}: {row}", case.fixture);
        assert_eq!(row["drifted"], 0, "{}: {row}", case.fixture);

        let again = placed
            .kb(&w, &["import", case.host, "--yes"])
            .output()
            .expect("import again");
        assert!(again.status.success());
        assert!(
            String::from_utf8_lossy(&again.stdout).contains("Nothing to change."),
            "{}: {}",
            case.fixture,
            String::from_utf8_lossy(&again.stdout)
        );
        assert_eq!(
            std::fs::read(&file).expect("read"),
            after,
            "{}",
            case.fixture
        );

        check_drift_seen(&w, &placed, host, &github.id);
        check_restored(&w, &placed, host, &before);
        assert!(
            w.files_containing(world::CANARY_MARKER.as_bytes())
                .iter()
                .all(|p| *p == file)
        );
    }
}

/// A brokered entry changed, then its id replaced, as someone editing the YAML would:
/// `watch` reports a change, then a drop. The file is put back as it was.
fn check_drift_seen(w: &World, placed: &Placed, host: Host, github: &str) {
    use keybroker::base::paths::Paths;
    use keybroker::ops::watch::{self, DriftKind};
    use keybroker::store::state::State;

    let state = State::load(&Paths::under(&w.home)).expect("state");
    let files = [(host, placed.file.clone())];
    let launcher = assert_cmd::cargo::cargo_bin("keybroker");
    let (start, errors) = watch::snapshot(&state, &files, &launcher);
    assert!(errors.is_empty(), "{}: {errors:?}", host.id());
    assert!(start.problems().is_empty(), "{}", host.id());
    let text = std::fs::read_to_string(&placed.file).expect("read");

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

    assert!(text.contains(github), "{}: {text}", host.id());
    std::fs::write(&placed.file, text.replace(github, "someone/else")).expect("write");
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

/// `keybroker restore --reveal` gives back the entries of `before` with their key order.
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

#[test]
fn supported_lists_the_yaml_hosts_at_their_real_paths() {
    let w = World::new();
    let home = w.dir.path().join("home");
    let project = w.dir.path().join("my-app");
    let block = project.join(".continue/mcpServers/github.yaml");
    std::fs::create_dir_all(block.parent().expect("parent")).expect("dirs");
    std::fs::create_dir_all(&home).expect("home");
    std::fs::write(&block, fixture("continue-block.yaml")).expect("write");
    let out = kb(&w, &home)
        .args(["hosts", "--supported", "--json", "--project"])
        .arg(&project)
        .output()
        .expect("hosts --supported");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    let find = |host: &str, path: &Path| -> &serde_json::Value {
        rows.iter()
            .find(|r| r["host"] == host && r["path"] == path.to_str().expect("utf-8"))
            .unwrap_or_else(|| panic!("no {host} row for {}", path.display()))
    };
    let goose = find("goose", &home.join(".config/goose/config.yaml"));
    assert_eq!(
        (goose["format"].as_str(), goose["scope"].as_str()),
        (Some("yaml"), Some("user"))
    );
    assert_eq!(
        find("continue", &home.join(".continue/config.yaml"))["exists"],
        false
    );
    let found = find("continue", &block);
    assert_eq!(
        (found["exists"].as_bool(), found["scope"].as_str()),
        (Some(true), Some("project"))
    );
    for name in [
        "fastagent.config.yaml",
        "fast-agent.yaml",
        ".fast-agent/fast-agent.yaml",
    ] {
        let r = find("fast-agent", &project.join(name));
        assert_eq!(
            (r["format"].as_str(), r["exists"].as_bool()),
            (Some("yaml"), Some(false))
        );
    }
    assert!(
        !rows
            .iter()
            .any(|r| r["host"] == "fast-agent" && r["scope"] == "user")
    );

    // Without a match the pattern itself is listed, so the place is still shown.
    std::fs::remove_file(&block).expect("remove");
    let out = kb(&w, &home)
        .args(["hosts", "--supported", "--json", "--project"])
        .arg(&project)
        .output()
        .expect("hosts --supported");
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    let pattern = project.join(".continue/mcpServers/*.yaml");
    assert!(rows.iter().any(|r| r["host"] == "continue"
        && r["path"] == pattern.to_str().expect("utf-8")
        && r["exists"] == false));
}

#[test]
fn invalid_yaml_is_refused_with_its_line_and_column_and_left_untouched() {
    for (host, rel, bad, line) in [
        (
            "goose",
            ".config/goose/config.yaml",
            "GOOSE_MODEL: x\nextensions:\n  github: {cmd: npx, args: [-y]\n  fetch: 1\n",
            4,
        ),
        (
            "continue",
            ".continue/config.yaml",
            "name: c\nmcpServers:\n  - name: a\n   command: x\n",
            4,
        ),
    ] {
        let w = World::new();
        let home = w.dir.path().join("home");
        let file = home.join(rel);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("dirs");
        std::fs::write(&file, bad).expect("write");
        let out = kb(&w, &home)
            .args(["import", host, "--yes"])
            .output()
            .expect("import");
        assert_eq!(out.status.code(), Some(65), "{host}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("line {line}")), "{host}: {err}");
        assert!(err.contains("column"), "{host}: {err}");
        assert!(err.contains(&*file.to_string_lossy()), "{host}: {err}");
        assert_eq!(
            std::fs::read(&file).expect("read"),
            bad.as_bytes(),
            "{host}"
        );
    }
}

#[test]
fn importing_every_yaml_host_at_once_leaves_no_canary_in_any_file() {
    let w = World::new();
    let home = w.dir.path().join("home");
    let project = w.dir.path().join("proj");
    let mut files = Vec::new();
    for case in CASES {
        files.push(Placed::new(&w, case).file);
    }
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
    assert_eq!(
        w.files_containing(world::CANARY_MARKER.as_bytes()),
        Vec::<PathBuf>::new()
    );
    // Four files share one GitHub token; fast-agent's remote header is a second value
    // (every header of a remote entry moves to the keychain).
    assert!(
        stdout.contains("2 secret(s) stored in the keychain"),
        "{stdout}"
    );
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        assert!(text.contains("github"), "{}", f.display());
    }
}
