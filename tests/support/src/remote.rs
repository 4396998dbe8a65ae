//! Shared pieces of the remote-server tests: free loopback ports, the TypeScript SDK's
//! OAuth example server, a browser stand-in that follows the printed sign-in URL, and a
//! tiny scripted HTTP peer for hostile-server cases. Everything listens on 127.0.0.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn remote_peers() -> PathBuf {
    let p = crate::world::repo().join("tests/remote-peers");
    assert!(
        p.join("node_modules/@modelcontextprotocol/sdk").exists(),
        "tests/remote-peers is not installed: run `make peers` (make test does it)"
    );
    p
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

pub fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "port {port} never opened");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process killed on drop.
pub struct Peer(pub Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The TypeScript SDK's `simpleStreamableHttp` example with `--oauth`: an MCP server and
/// its demo authorization server. Returns (peer, MCP URL).
pub fn ts_oauth_server() -> (Peer, String) {
    let (mcp, auth) = (free_port(), free_port());
    let child = Command::new("node")
        .current_dir(remote_peers())
        .arg("node_modules/@modelcontextprotocol/sdk/dist/esm/examples/server/simpleStreamableHttp.js")
        .arg("--oauth")
        .env("MCP_PORT", mcp.to_string())
        .env("MCP_AUTH_PORT", auth.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("node");
    let peer = Peer(child);
    wait_port(mcp);
    wait_port(auth);
    (peer, format!("http://localhost:{mcp}/mcp"))
}

/// Follow a sign-in URL like a browser would, through redirects, to the loopback
/// callback; returns the final status.
pub fn follow(url: &str) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let mut current = url::Url::parse(url).expect("url");
    // A browser's cookie jar (one host in practice: the authorization server's).
    let mut jar: Vec<(String, String)> = Vec::new();
    for _ in 0..10 {
        let cookie = jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut req = agent.get(current.as_str());
        if !cookie.is_empty() {
            req = req.header("Cookie", &cookie);
        }
        let resp = req
            .call()
            .unwrap_or_else(|e| panic!("browser GET {current}: {e}"));
        for sc in resp.headers().get_all("set-cookie") {
            let pair = sc.to_str().unwrap_or("").split(';').next().unwrap_or("");
            if let Some((k, v)) = pair.split_once('=') {
                jar.retain(|(n, _)| n != k.trim());
                jar.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let status = resp.status().as_u16();
        if (300..400).contains(&status) {
            let loc = resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .expect("location")
                .to_string();
            current = current.join(&loc).expect("join");
            continue;
        }
        return status;
    }
    panic!("too many redirects")
}

/// Run `keybroker connect <id> --no-browser` and play the browser for it.
pub fn connect(mut cmd: Command) -> (std::process::ExitStatus, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("keybroker connect");
    let stderr = child.stderr.take().expect("stderr");
    let mut text = String::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("line");
        text.push_str(&line);
        text.push('\n');
        if line.starts_with("http://") || line.starts_with("https://") {
            follow(&line);
        }
    }
    (child.wait().expect("wait"), text)
}

/// One request as the scripted peer saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Handler = dyn Fn(&Seen) -> String + Send + Sync;

/// A scripted HTTP/1.1 peer on 127.0.0.1: every request is recorded and answered with
/// the raw response `handler` returns (connection closed after each).
pub struct Scripted {
    pub port: u16,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Scripted {
    pub fn start(handler: impl Fn(&Seen) -> String + Send + Sync + 'static) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (s, h): (_, Arc<Handler>) = (seen.clone(), Arc::new(handler));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (s, h) = (s.clone(), h.clone());
                std::thread::spawn(move || serve(conn, &s, &*h));
            }
        });
        Scripted { port, seen }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

fn serve(conn: TcpStream, seen: &Mutex<Vec<Seen>>, handler: &Handler) {
    let mut reader = BufReader::new(conn.try_clone().expect("clone"));
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    let _ = reader.read_exact(&mut body);
    let req = Seen {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    seen.lock().expect("lock").push(req.clone());
    let resp = handler(&req);
    let mut conn = conn;
    let _ = conn.write_all(resp.as_bytes());
    let _ = conn.flush();
}

/// A complete HTTP response with a JSON body.
pub fn json_response(status: u16, extra_headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra_headers}\r\n{body}",
        body.len()
    )
}
