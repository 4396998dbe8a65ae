//! Valid audit logs of any size, written the way Keybroker writes them (the same line
//! format and hash chain), for the scale tests and `make bench-audit`. It does not use the
//! `keybroker` crate, so a test that reads the result proves the format, not a shared
//! helper.

use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

/// The `prev` of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The id of server `k` in a generated log (`claude-desktop/server-7`).
pub fn server_id(k: usize) -> String {
    format!("claude-desktop/server-{k}")
}

/// Write `n` chained events for `servers` servers (event `i` is server `i % servers`;
/// every 50th is a `denied`) to `path`, and its head file (`<path>.head`). Returns the
/// last hash.
pub fn write(path: &Path, n: usize, servers: usize) -> std::io::Result<String> {
    let file = std::fs::File::create(path)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut prev = GENESIS.to_string();
    let fingerprint = hex::encode(Sha256::digest(b"approved spawn"));
    for i in 0..n {
        let k = i % servers.max(1);
        let (day, rest) = (1 + i / 86_400, i % 86_400);
        let time = format!(
            "2026-03-{day:02}T{:02}:{:02}:{:02}Z",
            rest / 3600,
            rest / 60 % 60,
            rest % 60
        );
        let (event, outcome, detail) = if i % 50 == 49 {
            (
                "denied",
                "denied",
                "the command changed since you approved it",
            )
        } else {
            ("released", "ok", "released to the server")
        };
        let body = format!(
            "{{\"time\":\"{time}\",\"event\":\"{event}\",\"server\":\"{server}\",\"host\":\"claude-desktop\",\
             \"credential\":\"server-{k}-token\",\"target\":\"env:GITHUB_PERSONAL_ACCESS_TOKEN\",\
             \"pid\":{pid},\"ppid\":{ppid},\"parent\":\"claude\",\"fingerprint\":\"v2:sha256:{fingerprint}\",\
             \"outcome\":\"{outcome}\",\"detail\":\"{detail}\",\"prev\":\"{prev}\"}}",
            server = server_id(k),
            pid = 10_000 + i % 50_000,
            ppid = 900 + k,
        );
        let hash = hex::encode(Sha256::digest(body.as_bytes()));
        out.write_all(&body.as_bytes()[..body.len() - 1])?;
        out.write_all(b",\"hash\":\"")?;
        out.write_all(hash.as_bytes())?;
        out.write_all(b"\"}\n")?;
        prev = hash;
    }
    out.flush()?;
    let mut head = path.as_os_str().to_owned();
    head.push(".head");
    std::fs::write(head, format!("{{\"lines\":{n},\"hash\":\"{prev}\"}}\n"))?;
    Ok(prev)
}
