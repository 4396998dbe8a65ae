//! `keybroker doctor --json` on one installation under three keychains: none (no session
//! bus at all, and a bus that nothing provides the Secret Service on), gnome-keyring with
//! its login collection locked (and unlocked again by the command the fix names), and
//! everything fine. Real gnome-keyring, real dbus-daemon, the real binary; the
//! installation has a brokered SDK echo server whose token must appear in no report.

use keybroker_test_support::world;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use world::World;

pub(crate) const TOKEN: &str = "ghp_KBCANARYdoctr000000000000000000000001";

/// One brokered echo server `echo` with its token.
pub(crate) fn world_with_echo() -> World {
    let w = World::new();
    let cfg = json!({"mcpServers": {"echo": {
        "command": "node", "args": [world::echo_server()],
        "env": {"GITHUB_TOKEN": TOKEN}
    }}});
    w.write_config(&serde_json::to_vec_pretty(&cfg).expect("json"));
    w
}

/// The environment `doctor` sees in these tests: this world's KEYBROKER_HOME, a HOME and
/// XDG_CONFIG_HOME under the world (so its Claude Desktop file is the only host file
/// found and no autostart entry of the machine is read), no host path overrides.
pub(crate) fn isolate(c: &mut Command, w: &World) {
    c.env("KEYBROKER_HOME", &w.home)
        .env("HOME", w.dir.path().join("home"))
        .env("XDG_CONFIG_HOME", w.dir.path())
        .env_remove("RUST_LOG");
    for h in keybroker::config::hosts::Host::ALL {
        for var in h.path_vars() {
            c.env_remove(var);
        }
    }
}

/// `keybroker doctor --json` as `c` starts it: exit code and report.
pub(crate) fn doctor_json(mut c: Command) -> (Option<i32>, Value) {
    let out = c.output().expect("doctor");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !stdout.contains("KBCANARY") && !String::from_utf8_lossy(&out.stderr).contains("KBCANARY"),
        "no secret in the report: {stdout}"
    );
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "doctor --json printed no JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), report)
}

pub(crate) fn doctor_cmd(w: &World) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("keybroker"));
    c.args(["doctor", "--json"]);
    isolate(&mut c, w);
    c
}

pub(crate) fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

fn commands(check: &Value) -> Vec<String> {
    check["fix"]["commands"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|c| c.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// A dbus-daemon with a session-bus policy and no service directories: nothing can be
/// activated on it. (`dbus-daemon --session` reads /usr/share/dbus-1/services, where
/// gnome-keyring's `org.freedesktop.secrets.service` would start a provider on demand.)
struct BareBus {
    child: std::process::Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl BareBus {
    fn start() -> BareBus {
        let dir = tempfile::tempdir().expect("tempdir");
        let conf = dir.path().join("bus.conf");
        std::fs::write(
            &conf,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                dir.path().display()
            ),
        )
        .expect("bus config");
        let mut child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", conf.display()))
            .args(["--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (package dbus)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("bus address");
        let address = line.trim().to_string();
        assert!(address.starts_with("unix:"), "bus address: {address:?}");
        BareBus {
            child,
            address,
            _dir: dir,
        }
    }
}

impl Drop for BareBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn without_a_secret_service_doctor_says_how_to_get_one_and_still_checks_the_rest() {
    let w = world_with_echo();
    w.import().success();

    // No session bus at all (SSH, WSL): no address, no $XDG_RUNTIME_DIR/bus.
    let runtime = tempfile::tempdir().expect("tempdir");
    let mut c = doctor_cmd(&w);
    c.env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("XDG_RUNTIME_DIR", runtime.path());
    let (code, r) = doctor_json(c);
    assert_eq!(code, Some(1), "something needs the user: {r:#}");
    assert_eq!(r["version"], 1);
    assert_eq!(r["status"], "problem");
    assert_eq!(r["needs_user"], true);
    assert_eq!(r["keychain"]["state"], "no-session-bus", "{r:#}");
    let kc = check(&r, "keychain");
    assert_eq!(kc["status"], "problem");
    let cmds = commands(kc).join("\n");
    for part in [
        "apt install gnome-keyring",
        "dbus-run-session",
        "gnome-keyring-daemon --unlock --components=secrets",
    ] {
        assert!(cmds.contains(part), "`{part}` in the fix: {cmds}");
    }
    // What needs no keychain is still checked; what needs one says it was not.
    assert_eq!(check(&r, "launcher")["status"], "ok", "{r:#}");
    assert!(
        check(&r, "launcher")["summary"]
            .as_str()
            .unwrap_or_default()
            .starts_with("1 brokered entry")
    );
    assert_eq!(check(&r, "audit")["status"], "ok");
    assert_eq!(check(&r, "secrets")["status"], "warn");
    assert_eq!(check(&r, "sign-in")["status"], "warn");

    // A bus, but nothing owns org.freedesktop.secrets and nothing can be activated.
    let bus = BareBus::start();
    let mut c = doctor_cmd(&w);
    c.env("DBUS_SESSION_BUS_ADDRESS", &bus.address);
    let (code, r) = doctor_json(c);
    assert_eq!(code, Some(1));
    assert_eq!(r["keychain"]["state"], "no-secret-service", "{r:#}");
    let kc = check(&r, "keychain");
    assert!(
        kc["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("no Secret Service"),
        "{kc:#}"
    );
    let cmds = commands(kc).join("\n");
    assert!(cmds.contains("gnome-keyring-daemon --unlock"), "{cmds}");
    assert!(
        !cmds.contains("dbus-run-session"),
        "there is a bus already: {cmds}"
    );
}

/// Lock the login collection of a fresh private keyring (scripts/with-keyring.sh), run
/// doctor, run the fix it names with the keyring's password, run doctor again.
#[test]
fn a_locked_keyring_is_reported_with_the_unlock_that_works() {
    let w = world_with_echo();
    w.import().success();
    let kb = assert_cmd::cargo::cargo_bin("keybroker");
    let script = r#"
        set -u
        dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
          org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null
        env HOME="$T_HOME" XDG_CONFIG_HOME="$T_CFG" KEYBROKER_HOME="$T_KB" "$KB" doctor --json > "$T_OUT/locked.json"
        echo $? > "$T_OUT/locked.rc"
        # The fix, as the report words it (the password comes from the variable it names).
        fix=$(node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1]));
          const c = r.checks.find(c => c.id === "keychain");
          process.stdout.write(c.fix.commands.find(x => x.includes("gnome-keyring-daemon")))' "$T_OUT/locked.json")
        KEYRING_PASSWORD=pw bash -c "$fix" >/dev/null 2>&1
        env HOME="$T_HOME" XDG_CONFIG_HOME="$T_CFG" KEYBROKER_HOME="$T_KB" "$KB" doctor --json > "$T_OUT/unlocked.json"
        echo $? > "$T_OUT/unlocked.rc"
    "#;
    let out_dir = tempfile::tempdir().expect("tempdir");
    let status = Command::new(world::repo().join("scripts/with-keyring.sh"))
        .args(["bash", "-c", script])
        .env("KB", &kb)
        .env("T_HOME", w.dir.path().join("home"))
        .env("T_CFG", w.dir.path())
        .env("T_KB", &w.home)
        .env("T_OUT", out_dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("with-keyring.sh");
    assert!(status.success(), "the script ran");
    let read = |name: &str| std::fs::read_to_string(out_dir.path().join(name)).expect(name);
    let locked: Value = serde_json::from_str(&read("locked.json")).expect("locked report");
    assert_eq!(read("locked.rc").trim(), "1");
    assert_eq!(locked["keychain"]["state"], "locked", "{locked:#}");
    assert_eq!(locked["keychain"]["provider"], "gnome-keyring-daemon");
    assert_eq!(locked["keychain"]["collection"], "login");
    let kc = check(&locked, "keychain");
    assert_eq!(kc["status"], "problem");
    assert!(
        kc["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("`login` collection is locked"),
        "{kc:#}"
    );
    assert!(
        commands(kc)
            .iter()
            .any(|c| c.contains("gnome-keyring-daemon --replace --unlock")),
        "{kc:#}"
    );
    // Locked: no secret was read, so none is reported missing.
    assert_eq!(check(&locked, "secrets")["status"], "warn");

    let unlocked: Value = serde_json::from_str(&read("unlocked.json")).expect("unlocked report");
    assert_eq!(
        unlocked["keychain"]["state"], "available",
        "the fix unlocked it: {unlocked:#}"
    );
    assert_eq!(check(&unlocked, "keychain")["status"], "ok");
    // A fresh keyring: the world's secret is not in it, and doctor says so.
    assert_eq!(read("unlocked.rc").trim(), "1");
    let secrets = check(&unlocked, "secrets");
    assert_eq!(secrets["status"], "problem", "{secrets:#}");
    assert!(
        commands(secrets)
            .iter()
            .any(|c| c.starts_with("keybroker secret set claude-desktop/echo GITHUB_TOKEN")),
        "{secrets:#}"
    );
}

#[test]
fn with_everything_fine_doctor_exits_0_and_names_the_provider_and_the_files() {
    let w = world_with_echo();
    w.import().success();
    let (code, r) = doctor_json(doctor_cmd(&w));
    assert_eq!(code, Some(0), "{r:#}");
    assert_eq!(r["status"], "ok", "{r:#}");
    assert_eq!(r["needs_user"], false);
    assert_eq!(r["keychain"]["state"], "available");
    assert_eq!(r["keychain"]["provider"], "gnome-keyring-daemon");
    for c in r["checks"].as_array().expect("checks") {
        assert_eq!(c["status"], "ok", "{c:#}");
        assert!(c["fix"].is_null(), "{c:#}");
    }
    let hosts = check(&r, "hosts");
    let config = w.config.display().to_string();
    assert!(
        hosts["details"]
            .as_array()
            .expect("details")
            .iter()
            .any(|d| {
                let d = d.as_str().unwrap_or_default();
                d.contains(&config) && d.contains("1 brokered")
            }),
        "{hosts:#}"
    );
    assert!(
        check(&r, "audit")["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("hash chain intact")
    );
    assert_eq!(
        r["launcher"],
        json!(std::fs::canonicalize(assert_cmd::cargo::cargo_bin("keybroker")).expect("exe")),
    );

    // The app's autostart entry is information, not a problem.
    let autostart = w.dir.path().join("home/.config/autostart");
    std::fs::create_dir_all(&autostart).expect("dir");
    std::fs::write(
        autostart.join("Keybroker.desktop"),
        "[Desktop Entry]\nType=Application\nExec=/nonexistent/keybroker-app --hidden\n",
    )
    .expect("autostart");
    let (code, r) = doctor_json(doctor_cmd(&w));
    assert_eq!(code, Some(0), "a warning needs nobody: {r:#}");
    assert_eq!(r["status"], "warn");
    assert_eq!(check(&r, "autostart")["status"], "warn");

    // A changed command waits for approval: a problem, with the command that approves it.
    let mut cfg = w.config_json();
    cfg["mcpServers"]["echo"]["args"]
        .as_array_mut()
        .expect("args")
        .push(json!("--extra"));
    w.write_config(&serde_json::to_vec_pretty(&cfg).expect("json"));
    let (code, r) = doctor_json(doctor_cmd(&w));
    assert_eq!(code, Some(1));
    let approvals = check(&r, "approvals");
    assert_eq!(approvals["status"], "problem");
    assert_eq!(
        commands(approvals),
        ["keybroker approve claude-desktop/echo"]
    );
    assert!(Path::new(&w.config).exists());
}

/// `keybroker import` on a machine with no session bus: `isolate`d, no bus address, an
/// empty runtime dir.
fn import_without_a_bus(
    w: &World,
    runtime: &Path,
    config: &Path,
    flag: &str,
) -> (Option<i32>, String, String) {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("keybroker"));
    c.args(["import", "claude-desktop", flag, "--config"])
        .arg(config);
    isolate(&mut c, w);
    c.env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("XDG_RUNTIME_DIR", runtime)
        .stdin(Stdio::null());
    let out = c.output().expect("import");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn import_dry_run_needs_no_keychain_and_reports_an_invalid_file_before_anything_else() {
    let w = world_with_echo();
    let runtime = tempfile::tempdir().expect("tempdir");
    let before = w.config_bytes();

    // Regression: this exited 69 (no keychain) before saying the file is invalid JSON.
    let bad = w.dir.path().join("bad.json");
    std::fs::write(&bad, b"{\n  \"mcpServers\": {,}\n}\n").expect("write");
    let (code, _, stderr) = import_without_a_bus(&w, runtime.path(), &bad, "--dry-run");
    assert_eq!(code, Some(65), "{stderr}");
    assert!(
        stderr.contains("bad.json: syntax error at line 2"),
        "{stderr}"
    );
    assert!(!stderr.contains("keychain"), "{stderr}");

    let (code, stdout, stderr) = import_without_a_bus(&w, runtime.path(), &w.config, "--dry-run");
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    for part in [
        "claude-desktop/echo  [move secrets to the keychain]",
        "env:GITHUB_TOKEN",
        "new entry:",
        "Applying this plan needs the keychain, which is not available",
        "fix: start a Secret Service provider",
        "Dry run: nothing was changed.",
    ] {
        assert!(stdout.contains(part), "`{part}` in:\n{stdout}");
    }
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN), "masked");
    assert_eq!(w.config_bytes(), before, "nothing changed");
    assert!(
        !w.home.join("config/state.json").exists(),
        "no state written"
    );

    // Applying: the plan, then the keychain's error (exit 69); the file is untouched.
    let (code, stdout, stderr) = import_without_a_bus(&w, runtime.path(), &w.config, "--yes");
    assert_eq!(code, Some(69), "{stdout}\n{stderr}");
    assert!(stdout.contains("env:GITHUB_TOKEN"), "{stdout}");
    assert!(
        stderr.contains("the OS keychain is not available"),
        "{stderr}"
    );
    assert_eq!(w.config_bytes(), before);
    assert!(w.files_containing(TOKEN.as_bytes()) == vec![w.config.clone()]);
}
