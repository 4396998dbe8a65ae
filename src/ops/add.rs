//! Add a stdio server to a host config: the entry (program and arguments) goes into the
//! file, its secrets straight into the keychain, and the entry is brokered through the
//! same planner an import uses (so it starts with `keybroker run` and an approval of
//! exactly what was added). A secret is never written to the file, not even for a moment:
//! the entry is written without them and Connect (`secrets::connect`) adds them.
//!
//! Remote servers are added by URL with `remote::add`; this is the stdio counterpart the
//! app's Add server form calls.

use crate::base::error::{Error, Result};
use crate::base::fsutil;
use crate::base::secret::Secret;
use crate::config::doc::ConfigDoc;
use crate::config::hosts::{Format, Host};
use crate::ops::context::Context;
use crate::ops::secrets;
use crate::store::audit::{Event, EventKind, Outcome};
use serde_json::json;

/// A server name a host config can hold and a server id can carry: letters, digits,
/// `-`, `_` and `.`, at most 64 characters. `field` names the input in the error.
pub fn check_server_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(Error::other(
            format!("Name: `{name}` is not a server name"),
            "use letters, digits, - and _ (for example github), at most 64 characters",
        ))
    }
}

/// A stdio server to add.
pub struct StdioServer<'a> {
    pub host: Host,
    pub name: &'a str,
    /// The program, as the host will start it (`npx`, `/usr/bin/node`).
    pub command: &'a str,
    pub args: &'a [String],
    /// Env var names and their values, stored in the keychain.
    pub secrets: Vec<(String, Secret)>,
}

/// Add `req` to its host's config (the file `ctx` names for that host) and store its
/// secrets. Returns the server id.
pub fn add_stdio(ctx: &Context, req: StdioServer<'_>, now: &str) -> Result<String> {
    check_server_name(req.name)?;
    let command = req.command.trim();
    if command.is_empty() {
        return Err(Error::other(
            "Command: empty",
            "type the program that starts the server, e.g. npx",
        ));
    }
    for (env, value) in &req.secrets {
        secrets::check_env_name(env).map_err(|e| {
            Error::other(
                format!("Secret name: {e}"),
                e.fix()
                    .unwrap_or_else(|| "use letters, digits and _".into()),
            )
        })?;
        if value.is_empty() {
            return Err(Error::other(
                format!("Secret value for {env}: empty"),
                "paste or type the secret's value",
            ));
        }
    }
    let mut names: Vec<&str> = req.secrets.iter().map(|(e, _)| e.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err(Error::other(
            "Secret name: the same name is given twice",
            "give each environment variable once",
        ));
    }
    ctx.launcher()?;
    let path = ctx.config_for(req.host)?;
    let empty: &[u8] = match req.host.format() {
        Format::Json => b"{}\n",
        Format::Toml | Format::Yaml => b"",
    };
    let existing = fsutil::read_optional(&path)?;
    let bytes = existing.clone().unwrap_or_else(|| empty.to_vec());
    let mut file = ConfigDoc::parse(req.host, &path, &bytes)?;
    let key = req.host.servers_path();
    if file.entries_at(&key)?.iter().any(|(n, _)| n == req.name) {
        return Err(Error::other(
            format!(
                "Name: {} already has a server named `{}`",
                path.display(),
                req.name
            ),
            "pick another name",
        ));
    }
    let entry = json!({ "command": command, "args": req.args, "env": {} });
    file.set_entry_at(&key, req.name, &entry)?;
    let expect = match &existing {
        Some(b) => fsutil::Expect::Hash(fsutil::sha256(b)),
        None => fsutil::Expect::Anything,
    };
    fsutil::replace_file(&path, &file.to_bytes(), expect)?;
    let id = format!("{}/{}", req.host.id(), req.name);
    ctx.audit.append(vec![
        Event::new(EventKind::Rewritten, Outcome::Ok, now)
            .server(&id)
            .host(req.host.id())
            .process(std::process::id(), None, None)
            .detail(format!(
                "added stdio server `{command}` to {}",
                path.display()
            )),
    ])?;
    if !req.secrets.is_empty() {
        secrets::connect(ctx, &id, req.secrets, now)?;
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::paths::Paths;

    fn ctx(dir: &std::path::Path, config: &std::path::Path) -> Context {
        let launcher = dir.join("keybroker");
        std::fs::write(&launcher, "#!/bin/sh\n").expect("launcher");
        Context::new(Paths::under(&dir.join("home")), launcher)
            .with_config(Host::ClaudeDesktop, config.to_path_buf())
            .only_configured()
    }

    #[test]
    fn a_stdio_server_is_added_without_touching_the_rest_of_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("c.json");
        let before = "{\n  \"globalShortcut\": \"Ctrl+Space\",\n  \"mcpServers\": {}\n}\n";
        std::fs::write(&config, before).expect("config");
        let ctx = ctx(dir.path(), &config);
        let args = ["-y".to_string(), "server-x".to_string()];
        let req = |name| StdioServer {
            host: Host::ClaudeDesktop,
            name,
            command: "npx",
            args: &args,
            secrets: Vec::new(),
        };
        let id = add_stdio(&ctx, req("x"), "2026-01-01T00:00:00Z").expect("added");
        assert_eq!(id, "claude-desktop/x");
        let after = std::fs::read_to_string(&config).expect("read");
        assert!(
            after.starts_with("{\n  \"globalShortcut\": \"Ctrl+Space\","),
            "{after}"
        );
        let v: serde_json::Value = serde_json::from_str(&after).expect("json");
        assert_eq!(v["mcpServers"]["x"]["command"], "npx");
        assert_eq!(v["mcpServers"]["x"]["args"], json!(["-y", "server-x"]));

        let again = add_stdio(&ctx, req("x"), "2026-01-01T00:00:00Z").expect_err("duplicate");
        assert!(again.to_string().starts_with("Name:"), "{again}");
        let empty = StdioServer {
            command: " ",
            ..req("y")
        };
        let e = add_stdio(&ctx, empty, "2026-01-01T00:00:00Z").expect_err("no command");
        assert!(e.to_string().starts_with("Command:"), "{e}");
        let bad_secret = StdioServer {
            secrets: vec![("1X".into(), Secret::new("v".to_string()))],
            ..req("z")
        };
        let e = add_stdio(&ctx, bad_secret, "2026-01-01T00:00:00Z").expect_err("bad env");
        assert!(e.to_string().starts_with("Secret name:"), "{e}");
        assert_eq!(
            std::fs::read_to_string(&config).expect("read"),
            after,
            "refused adds change nothing"
        );
    }

    #[test]
    fn server_names_are_checked_and_the_error_names_the_field() {
        for ok in ["github", "my-server_2", "a.b"] {
            assert!(check_server_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a/b", "a b", ".hidden", "é", &"x".repeat(65)] {
            let e = check_server_name(bad).expect_err(bad);
            assert!(e.to_string().starts_with("Name:"), "{e}");
            assert!(e.fix().is_some());
        }
    }
}
