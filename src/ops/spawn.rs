//! What an entry runs, whole, and what the launcher's own process must look like to run it.
//!
//! An approval covers the whole spawn ([`Spawn`], fingerprint v2): the program resolved to
//! an absolute path, every argument, the env names and values the entry sets, its `cwd`,
//! and every other key of the entry except a few that only the host reads
//! ([`COSMETIC_KEYS`]). At launch, [`check_process`] holds the launcher's real process
//! to it: the approved env values are the ones it was given, the program resolves to the
//! approved path from where it runs (and from the approved directory when a name is
//! relative), and variables that inject code into a program ([`is_injection_var`]) are
//! taken out of the server's environment unless the entry sets them.
//!
//! This module only reads: the entry, the process's env and cwd, and the file system to
//! resolve a program. It touches no keychain, state or audit, and refuses nothing itself
//! except through the `Denied` errors it returns.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::base::error::{Error, Result};
use crate::scan;
use crate::store::state::{Spawn, UNRECORDED};

/// Entry keys only the host reads (whether to start the server, how long to wait, which
/// tools to show or auto-approve, a label): changing them changes nothing that runs, so
/// they are not part of an approval. Every other key is, including ones Keybroker does not
/// know (`envFile`, `type`, `transport`, `settings`, Codex's `env_vars`, ...).
pub const COSMETIC_KEYS: &[&str] = &[
    "disabled",
    "enabled",
    "autoApprove",
    "alwaysAllow",
    "timeout",
    "startup_timeout_sec",
    "startup_timeout_ms",
    "tool_timeout_sec",
    "description",
    "trust",
    "includeTools",
    "excludeTools",
    "enabled_tools",
    "disabled_tools",
];

/// The keys a spawn is made of: the launcher's own `command`/`args` (the server's are
/// the words after `--`), and `env` and `cwd`, which [`Spawn`] keeps apart.
const SPAWN_KEYS: &[&str] = &["command", "args", "env", "cwd"];

/// Variables that make a program load or run code it was not asked to (the dynamic
/// loader's, and the start-up hooks of Node, Python, Perl, Ruby, the JVM and sh/bash).
/// The launcher removes the ones the approved entry does not set from the server's
/// environment: hosts leak some of them from their own environment (an editor's
/// `NODE_OPTIONS`), so refusing would break servers, and removing closes the hole just the
/// same. `GIT_*` hooks are left alone: hosts set them on purpose (VS Code's
/// `GIT_ASKPASS`), and they run only when a server calls git.
pub const INJECTION_VARS: &[&str] = &[
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
    "NODE_OPTIONS",
    "NODE_PATH",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PYTHONHOME",
    "PERL5OPT",
    "PERL5LIB",
    "RUBYOPT",
    "RUBYLIB",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "BASH_ENV",
    "ENV",
];

/// Name prefixes of the same kind: macOS's loader (`DYLD_INSERT_LIBRARIES`, ...), npm's
/// config (`npm_config_node_options`, `npm_config_script_shell`; npm reads them in any
/// case) and bash's exported functions (`BASH_FUNC_name%%`).
pub const INJECTION_PREFIXES: &[&str] = &["DYLD_", "npm_config_", "BASH_FUNC_"];

/// Whether `name` is one of [`INJECTION_VARS`] or starts with one of [`INJECTION_PREFIXES`].
pub fn is_injection_var(name: &str) -> bool {
    INJECTION_VARS.contains(&name)
        || INJECTION_PREFIXES.iter().any(|p| {
            name.len() > p.len()
                && name.is_char_boundary(p.len())
                && if *p == "npm_config_" {
                    name[..p.len()].eq_ignore_ascii_case(p)
                } else {
                    name.starts_with(p)
                }
        })
}

/// What an entry itself says about its spawn, before anything is resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct EntrySpawn {
    pub program: String,
    pub args: Vec<String>,
    /// As the file has it (values included; nothing here is stored as is).
    pub env: Vec<(String, String)>,
    pub cwd: Option<String>,
    pub keys: BTreeMap<String, Value>,
}

impl EntrySpawn {
    /// The entry `value` running `inner` (its command line; for a brokered entry the
    /// words after `--`). `None` when `inner` is empty.
    pub fn of(value: &Value, inner: &[String]) -> Option<EntrySpawn> {
        let (program, args) = inner.split_first()?;
        let obj = value.as_object();
        let env = obj
            .and_then(|o| o.get("env"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map_or_else(|| v.to_string(), str::to_string),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let cwd = obj
            .and_then(|o| o.get("cwd"))
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
        let keys = obj
            .map(|o| {
                o.iter()
                    .filter(|(k, _)| {
                        !SPAWN_KEYS.contains(&k.as_str()) && !COSMETIC_KEYS.contains(&k.as_str())
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Some(EntrySpawn {
            program: program.clone(),
            args: args.to_vec(),
            env,
            cwd,
            keys,
        })
    }

    /// The env as an approval records it: a value that looks like a secret (one left in
    /// the file on purpose) is kept as [`UNRECORDED`], so no state file holds it.
    fn recorded_env(&self) -> BTreeMap<String, String> {
        self.env
            .iter()
            .map(|(k, v)| {
                let kept = if scan::scan_env(k, v).is_some() {
                    UNRECORDED.to_string()
                } else {
                    v.clone()
                };
                (k.clone(), kept)
            })
            .collect()
    }

    fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// This entry under an existing approval's resolution: what the approval's
    /// fingerprint must still match when the entry has not changed.
    pub fn under(&self, approved: &Spawn) -> Spawn {
        Spawn {
            program: self.program.clone(),
            args: self.args.clone(),
            env: self.recorded_env(),
            cwd: self.cwd.clone(),
            keys: self.keys.clone(),
            ..approved.clone()
        }
    }
}

/// Where an approval resolves relative names: a PATH and a working directory.
#[derive(Debug, Clone)]
pub struct Context {
    pub path_var: Option<OsString>,
    pub cwd: PathBuf,
}

impl Context {
    /// This process's PATH and working directory.
    pub fn current() -> Context {
        Context {
            path_var: std::env::var_os("PATH"),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
        }
    }
}

/// Approve `entry` as it is: resolve its program in the entry's own `PATH` (else the
/// context's) from its `cwd` (else the context's), and note whether it depends on the
/// working directory.
pub fn approve(entry: &EntrySpawn, ctx: &Context) -> Spawn {
    let path_var = entry
        .env_var("PATH")
        .map(OsString::from)
        .or_else(|| ctx.path_var.clone());
    let cwd = match &entry.cwd {
        Some(c) => ctx.cwd.join(c),
        None => ctx.cwd.clone(),
    };
    let found = resolve(&entry.program, path_var.as_deref(), &cwd);
    let relative_program = found.as_ref().is_some_and(|(_, rel)| *rel);
    let cwd_bound = relative_program || entry.args.iter().any(|a| relative_path_arg(a, &cwd));
    Spawn {
        program: entry.program.clone(),
        resolved: found.map(|(p, _)| p.to_string_lossy().into_owned()),
        args: entry.args.clone(),
        env: entry.recorded_env(),
        cwd: entry.cwd.clone(),
        keys: entry.keys.clone(),
        path_var: path_var.map(|p| p.to_string_lossy().into_owned()),
        resolved_cwd: cwd.to_string_lossy().into_owned(),
        cwd_bound,
    }
}

/// The launcher's own process, read once.
#[derive(Debug, Clone)]
pub struct Process {
    pub cwd: Option<PathBuf>,
    pub vars: Vec<(OsString, OsString)>,
}

impl Process {
    pub fn current() -> Process {
        Process {
            cwd: std::env::current_dir().ok(),
            vars: std::env::vars_os().collect(),
        }
    }

    /// The value of `name` in this process's environment.
    pub fn var(&self, name: &str) -> Option<&OsString> {
        self.vars
            .iter()
            .find(|(k, _)| k.as_os_str() == std::ffi::OsStr::new(name))
            .map(|(_, v)| v)
    }
}

/// What the launcher runs once its process passed [`check_process`].
#[derive(Debug, Clone, PartialEq)]
pub struct Cleared {
    /// The approved program's absolute path.
    pub program: PathBuf,
    /// Injection variables the launcher inherited that the entry does not set: removed
    /// from the server's environment.
    pub removed: Vec<String>,
}

/// Hold the launcher's real process to the approved spawn: the entry's env values are
/// the ones it got (except values the host expands, `${...}`), it runs in the approved directory when the spawn is relative, and the
/// program resolves to the approved path. `entry` is the entry as the file has it now
/// (it matched the approval).
pub fn check_process(
    server_id: &str,
    approved: &Spawn,
    entry: &EntrySpawn,
    p: &Process,
) -> Result<Cleared> {
    let denied = |message: String, fix: String| Error::Denied { message, fix };
    for (name, value) in &entry.env {
        // A reference the host expands (`${env:HOME}`, `${input:x}`, `${VAR:-d}`) has a
        // value only the host knows; the entry's text is still covered by the approval.
        if value.contains("${") {
            continue;
        }
        if p.var(name).map(|v| v.as_os_str()) != Some(std::ffi::OsStr::new(value)) {
            return Err(denied(
                format!(
                    "env `{name}` of `{server_id}` is not the value its entry sets (the launcher was started with another value, or without it); no secrets released"
                ),
                "start the server from its host, which passes the entry's env; a wrapper must not change it".into(),
            ));
        }
    }
    let here = p.cwd.clone().unwrap_or_default();
    if approved.cwd_bound && !same_dir(&here, Path::new(&approved.resolved_cwd)) {
        return Err(denied(
            format!(
                "`{server_id}` runs a relative program or argument approved in {}, but the launcher runs in {}; no secrets released",
                approved.resolved_cwd,
                here.display()
            ),
            "give the entry absolute paths (or a `cwd`), then run `keybroker approve`".into(),
        ));
    }
    let Some(want) = approved.resolved.as_deref() else {
        return Err(denied(
            format!(
                "`{}` of `{server_id}` was not found when it was approved; no secrets released",
                approved.program
            ),
            format!(
                "install it or give its absolute path, then run `keybroker approve {server_id}`"
            ),
        ));
    };
    let path_now = p.var("PATH").cloned();
    let now = resolve(&approved.program, path_now.as_deref(), &here).map(|(p, _)| p);
    if !now
        .as_deref()
        .is_some_and(|n| same_file(n, Path::new(want)))
    {
        return Err(denied(
            format!(
                "`{}` of `{server_id}` resolves to {} here, not to the approved {want}; no secrets released",
                approved.program,
                now.map_or_else(|| "nothing".to_string(), |p| p.display().to_string())
            ),
            format!(
                "write the program's absolute path in the entry, or set `PATH` in its env, then run `keybroker approve {server_id}`"
            ),
        ));
    }
    let mut removed: Vec<String> = p
        .vars
        .iter()
        .filter_map(|(k, _)| k.to_str())
        .filter(|k| is_injection_var(k) && entry.env_var(k).is_none())
        .map(str::to_string)
        .collect();
    removed.sort();
    removed.dedup();
    Ok(Cleared {
        program: PathBuf::from(want),
        removed,
    })
}

/// The lines that differ between two approvals, for a person to read.
pub fn differences(old: &Spawn, new: &Spawn) -> Vec<String> {
    let mut out = Vec::new();
    let prog = |s: &Spawn| match &s.resolved {
        Some(r) if *r != s.program => format!("{} ({r})", s.program),
        Some(r) => r.clone(),
        None => format!("{} (not found)", s.program),
    };
    if prog(old) != prog(new) {
        out.push(format!("  program: {} -> {}", prog(old), prog(new)));
    }
    if old.args != new.args {
        out.push(format!(
            "  args:    {} -> {}",
            shell_words::join(&old.args),
            shell_words::join(&new.args)
        ));
    }
    let names: std::collections::BTreeSet<&String> = old.env.keys().chain(new.env.keys()).collect();
    for k in names {
        let (a, b) = (old.env.get(k), new.env.get(k));
        if a != b {
            out.push(format!("  env {k}: {} -> {}", shown(a), shown(b)));
        }
    }
    if old.cwd != new.cwd {
        out.push(format!(
            "  cwd: {} -> {}",
            shown(old.cwd.as_ref()),
            shown(new.cwd.as_ref())
        ));
    }
    let keys: std::collections::BTreeSet<&String> =
        old.keys.keys().chain(new.keys.keys()).collect();
    for k in keys {
        let (a, b) = (old.keys.get(k), new.keys.get(k));
        if a != b {
            let text =
                |v: Option<&Value>| v.map_or_else(|| "(not set)".to_string(), Value::to_string);
            out.push(format!("  key {k}: {} -> {}", text(a), text(b)));
        }
    }
    if old.cwd_bound && new.cwd_bound && old.resolved_cwd != new.resolved_cwd {
        out.push(format!(
            "  relative to: {} -> {}",
            old.resolved_cwd, new.resolved_cwd
        ));
    }
    out
}

fn shown(v: Option<&String>) -> String {
    v.map_or_else(|| "(not set)".to_string(), |s| format!("{s:?}"))
}

fn has_separator(s: &str) -> bool {
    s.contains('/') || (cfg!(windows) && s.contains('\\'))
}

/// Where `program` runs from: a name with a separator against `cwd`, a bare name through
/// `path_var` (as `execvp` looks it up). The flag is whether the answer depends on `cwd`
/// (a relative name, or a relative PATH entry such as `.` or an empty one).
pub fn resolve(
    program: &str,
    path_var: Option<&std::ffi::OsStr>,
    cwd: &Path,
) -> Option<(PathBuf, bool)> {
    if program.is_empty() {
        return None;
    }
    let p = Path::new(program);
    if has_separator(program) || p.is_absolute() {
        return if p.is_absolute() {
            Some((p.to_path_buf(), false))
        } else {
            Some((cwd.join(p), true))
        };
    }
    for dir in std::env::split_paths(path_var?) {
        let relative = !dir.is_absolute();
        let base = if dir.as_os_str().is_empty() {
            cwd.to_path_buf()
        } else if relative {
            cwd.join(&dir)
        } else {
            dir
        };
        for candidate in candidates(&base, program) {
            if is_executable(&candidate) {
                return Some((candidate, relative));
            }
        }
    }
    None
}

#[cfg(not(windows))]
fn candidates(dir: &Path, program: &str) -> Vec<PathBuf> {
    vec![dir.join(program)]
}

/// Windows finds `npx` as `npx.cmd`: try each of PATHEXT when the name has no extension.
#[cfg(windows)]
fn candidates(dir: &Path, program: &str) -> Vec<PathBuf> {
    if Path::new(program).extension().is_some() {
        return vec![dir.join(program)];
    }
    let exts = std::env::var("PATHEXT").unwrap_or_else(|_| ".COM;.EXE;.BAT;.CMD".into());
    exts.split(';')
        .filter(|e| !e.is_empty())
        .map(|e| dir.join(format!("{program}{e}")))
        .collect()
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

/// Extensions of scripts an interpreter takes as its argument (`node server.js`).
const SCRIPT_EXTENSIONS: &[&str] = &[
    "js", "mjs", "cjs", "ts", "mts", "py", "rb", "pl", "php", "sh", "jar", "lua",
];

/// Whether argument `arg` (or the value of `--opt=value`) names a relative path: one
/// starting with `./` or `../`, a script name (`server.js`), or a relative path with a
/// separator that exists in `cwd`. Package names (`@scope/pkg`), flags and bare words
/// do not count.
fn relative_path_arg(arg: &str, cwd: &Path) -> bool {
    let value = match arg.split_once('=') {
        Some((flag, v)) if flag.starts_with('-') => v,
        _ => arg,
    };
    if value.is_empty() || value.starts_with('-') || value.contains("${") || value.contains("://") {
        return false;
    }
    let p = Path::new(value);
    if p.is_absolute() {
        return false;
    }
    let dotted = ["./", "../", ".\\", "..\\"]
        .iter()
        .any(|d| value.starts_with(d));
    let script = !value.starts_with('@')
        && p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| SCRIPT_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
    let existing = has_separator(value) && !value.starts_with('@') && cwd.join(p).is_file();
    dotted || script || existing
}

/// The same file or directory: equal paths, or equal once symlinks are resolved.
fn same_file(a: &Path, b: &Path) -> bool {
    a == b || same_dir(a, b)
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn injection_vars_are_one_list_with_prefixes() {
        for n in [
            "LD_PRELOAD",
            "NODE_OPTIONS",
            "DYLD_INSERT_LIBRARIES",
            "npm_config_node_options",
            "NPM_CONFIG_SCRIPT_SHELL",
            "BASH_FUNC_ls%%",
            "ENV",
        ] {
            assert!(is_injection_var(n), "{n}");
        }
        for n in [
            "PATH",
            "HOME",
            "NODE_ENV",
            "DYLD_",
            "ENVIRONMENT",
            "GIT_ASKPASS",
        ] {
            assert!(!is_injection_var(n), "{n}");
        }
    }

    #[test]
    fn an_entry_spawn_keeps_every_key_but_the_cosmetic_ones() {
        let v = serde_json::json!({
            "command": "/bin/keybroker", "args": ["run", "x", "--", "node", "s.js"],
            "env": {"API_URL": "https://a.example"}, "cwd": "/srv", "envFile": ".env",
            "type": "stdio", "disabled": false, "autoApprove": ["t"], "timeout": 5
        });
        let e = EntrySpawn::of(&v, &w(&["node", "s.js"])).expect("spawn");
        assert_eq!(e.program, "node");
        assert_eq!(e.args, w(&["s.js"]));
        assert_eq!(e.cwd.as_deref(), Some("/srv"));
        assert_eq!(
            e.keys.keys().map(String::as_str).collect::<Vec<_>>(),
            vec!["envFile", "type"]
        );
        assert!(EntrySpawn::of(&v, &[]).is_none());
    }

    #[test]
    fn a_secret_looking_env_value_is_never_recorded() {
        let v = serde_json::json!({"env": {"GITHUB_TOKEN": "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "MODE": "plain"}});
        let e = EntrySpawn::of(&v, &w(&["env"])).expect("spawn");
        let s = approve(&e, &Context::current());
        assert_eq!(s.env["GITHUB_TOKEN"], UNRECORDED);
        assert_eq!(s.env["MODE"], "plain");
    }

    #[cfg(unix)]
    #[test]
    fn programs_resolve_through_path_and_relative_names_bind_the_cwd() -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).map_err(|e| Error::io(&bin, e))?;
        let tool = bin.join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").map_err(|e| Error::io(&tool, e))?;
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(&tool, e))?;
        std::fs::write(dir.path().join("server.js"), "").map_err(|e| Error::io("s", e))?;
        let path = std::env::join_paths([&bin]).map_err(|e| Error::other(e.to_string(), ""))?;
        let ctx = Context {
            path_var: Some(path.clone()),
            cwd: dir.path().to_path_buf(),
        };
        let v = serde_json::json!({});
        let s = approve(
            &EntrySpawn::of(&v, &w(&["tool", "-y", "@scope/pkg"])).expect("s"),
            &ctx,
        );
        assert_eq!(s.resolved.as_deref(), Some(tool.to_str().expect("utf8")));
        assert!(
            !s.cwd_bound,
            "bare names and package names do not bind the cwd"
        );
        let rel = approve(
            &EntrySpawn::of(&v, &w(&["tool", "server.js"])).expect("s"),
            &ctx,
        );
        assert!(rel.cwd_bound);
        let dotted = approve(&EntrySpawn::of(&v, &w(&["./bin/tool"])).expect("s"), &ctx);
        assert!(dotted.cwd_bound);
        assert_eq!(
            dotted.resolved.as_deref(),
            Some(dir.path().join("./bin/tool").to_str().expect("utf8"))
        );
        // A relative PATH entry makes even a bare name depend on the cwd.
        let ctx_dot = Context {
            path_var: Some(OsString::from("bin")),
            cwd: dir.path().to_path_buf(),
        };
        assert!(approve(&EntrySpawn::of(&v, &w(&["tool"])).expect("s"), &ctx_dot).cwd_bound);
        assert_eq!(resolve("nope-not-here", Some(&path), dir.path()), None);
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn the_process_check_wants_the_approved_env_cwd_and_program_and_strips_injection() {
        let v = serde_json::json!({"env": {"API_URL": "https://a.example", "NODE_OPTIONS": "--max-old-space-size=64"}});
        let e = EntrySpawn::of(&v, &w(&["/bin/sh", "x.js"])).expect("s");
        let ctx = Context {
            path_var: None,
            cwd: PathBuf::from("/"),
        };
        let approved = approve(&e, &ctx);
        assert!(approved.cwd_bound);
        let vars = |extra: &[(&str, &str)]| {
            let mut v: Vec<(OsString, OsString)> = vec![
                ("API_URL".into(), "https://a.example".into()),
                ("NODE_OPTIONS".into(), "--max-old-space-size=64".into()),
                ("LD_PRELOAD".into(), "/tmp/evil.so".into()),
                ("DYLD_INSERT_LIBRARIES".into(), "/tmp/evil.dylib".into()),
            ];
            v.extend(
                extra
                    .iter()
                    .map(|(k, x)| (OsString::from(k), OsString::from(x))),
            );
            v
        };
        let ok = Process {
            cwd: Some(PathBuf::from("/")),
            vars: vars(&[]),
        };
        let cleared = check_process("h/x", &approved, &e, &ok).expect("cleared");
        assert_eq!(cleared.program, PathBuf::from("/bin/sh"));
        assert_eq!(cleared.removed, w(&["DYLD_INSERT_LIBRARIES", "LD_PRELOAD"]));

        let mut other_value = ok.clone();
        other_value.vars[0].1 = "https://evil.example".into();
        let err = check_process("h/x", &approved, &e, &other_value).expect_err("env value");
        assert!(err.to_string().contains("API_URL"), "{err}");

        let elsewhere = Process {
            cwd: Some(PathBuf::from("/tmp")),
            ..ok
        };
        let err = check_process("h/x", &approved, &e, &elsewhere).expect_err("cwd");
        assert!(err.to_string().contains("relative"), "{err}");
    }

    #[test]
    fn differences_name_each_changed_part() {
        let v = serde_json::json!({"env": {"API_URL": "a"}});
        let ctx = Context::current();
        let old = approve(&EntrySpawn::of(&v, &w(&["/bin/x"])).expect("s"), &ctx);
        let v2 = serde_json::json!({"env": {"API_URL": "b"}, "cwd": "/srv", "envFile": ".env"});
        let new = approve(&EntrySpawn::of(&v2, &w(&["/bin/x"])).expect("s"), &ctx);
        let d = differences(&old, &new).join("\n");
        assert!(d.contains("env API_URL: \"a\" -> \"b\""), "{d}");
        assert!(d.contains("cwd: (not set) -> \"/srv\""), "{d}");
        assert!(d.contains("key envFile: (not set) -> \".env\""), "{d}");
    }
}
