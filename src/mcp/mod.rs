//! The MCP layer: protocol constants, the framing of messages on the wire (stdio
//! lines, server-sent events, session ids) and the tool guard's decisions (`guard`).
//!
//! Pure functions over bytes: no sockets, no tokens. Imports only `base`. Carrying a
//! session to a remote server is the bridge's job (`ops::bridge`).

use std::io::{BufRead, BufReader, Read};

pub mod guard;
pub mod headers;

/// The protocol version the bridge announces on its own metadata requests.
pub const PROTOCOL_VERSION: &str = "2025-11-25";

/// A session id must be visible ASCII (0x21-0x7E), THREATS 26.
pub fn valid_session_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 1024 && id.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// One message as one line: drop CR/LF (only ever whitespace between JSON tokens).
pub fn one_line(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .copied()
        .filter(|b| *b != b'\n' && *b != b'\r')
        .collect()
}

/// An SSE event as parsed from a stream.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
    pub id: Option<String>,
    pub retry: Option<u64>,
}

/// Read SSE events from `r`, calling `f` for each; returns at end of stream.
pub fn read_sse(r: impl Read, mut f: impl FnMut(SseEvent) -> bool) {
    let reader = BufReader::new(r);
    let mut ev = SseEvent::default();
    let mut has_data = false;
    for line in reader.lines() {
        let Ok(line) = line else { return };
        if line.is_empty() {
            if has_data || ev.id.is_some() || ev.retry.is_some() {
                let done = std::mem::take(&mut ev);
                has_data = false;
                if !f(done) {
                    return;
                }
            }
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_str(), ""),
        };
        match field {
            "event" => ev.event = value.to_string(),
            "data" => {
                if has_data {
                    ev.data.push('\n');
                }
                ev.data.push_str(value);
                has_data = true;
            }
            "id" if !value.contains('\0') => ev.id = Some(value.to_string()),
            "retry" => ev.retry = value.parse().ok(),
            _ => {}
        }
    }
}
