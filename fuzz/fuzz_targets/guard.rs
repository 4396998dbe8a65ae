//! The tool guard on arbitrary input: every line goes to the client side and the server
//! side of a guard with pinned tools, a deny policy and requests in flight. It must never
//! panic, and whatever it sends instead of a line is one JSON line.
#![no_main]

use keybroker::mcp::guard::{FromClient, FromServer, Guard};
use keybroker::store::state::{ToolGuard, ToolPolicy};
use libfuzzer_sys::fuzz_target;

fn one_json_line(bytes: &[u8]) {
    assert!(!bytes.contains(&b'\n'), "a guard message is one line");
    assert!(
        serde_json::from_slice::<serde_json::Value>(bytes).is_ok(),
        "a guard message is JSON"
    );
}

fuzz_target!(|data: &[u8]| {
    let mut g: Guard<u32> = Guard::new("h/s", ToolGuard::default());
    // Pin two tools, then deny one.
    g.from_client(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, 0);
    g.from_server(
        br#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","inputSchema":{}},{"name":"rm","inputSchema":{}}]}}"#,
    );
    let mut cfg = g.config().clone();
    cfg.policy = ToolPolicy::Deny {
        names: vec!["rm".into()],
    };
    g.reload(cfg);
    g.from_client(br#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#, 0);
    g.from_client(
        br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"a"}}"#,
        0,
    );
    for (i, line) in data.split(|b| *b == b'\n').enumerate() {
        if i % 2 == 0 {
            if let FromClient::Answer { forward, reply } = g.from_client(line, 0) {
                if !reply.is_empty() {
                    one_json_line(&reply);
                }
                if let Some(f) = forward {
                    one_json_line(&f);
                }
            }
        } else if let FromServer::Replace(r) = g.from_server(line) {
            one_json_line(&r);
        }
    }
    let _ = g.take_notes();
    let _ = g.take_dirty();
});
