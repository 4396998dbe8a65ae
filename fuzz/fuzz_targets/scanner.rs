//! Any bytes as a server entry (JSON) and as env values, args, URLs and headers: the
//! scanner never panics, and every detection's span is a char range of its own string.
#![no_main]

use keybroker::scan;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = scan::detect_entry(&entry);
        let _ = scan::remote_plaintext(&entry);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for name in ["GITHUB_TOKEN", "DATABASE_URL", "OPENAPI_MCP_HEADERS", "X"] {
        for d in scan::detect_env(name, text) {
            assert!(text.get(d.span.clone()).is_some(), "env span {:?} off a char boundary", d.span);
        }
        let _ = scan::scan_env(name, text);
    }
    let args: Vec<String> = text.split([' ', '\n']).map(str::to_string).collect();
    for d in scan::detect_args(&args) {
        if let scan::Place::Arg(i) = d.place {
            assert!(args[i].get(d.span.clone()).is_some(), "arg span {:?} off a char boundary", d.span);
        }
    }
    let _ = scan::scan_args(&args);
    for d in scan::detect_url("url", text) {
        assert!(text.get(d.span.clone()).is_some(), "url span {:?}", d.span);
    }
    for d in scan::detect_header("Authorization", text) {
        assert!(text.get(d.span.clone()).is_some(), "header span {:?}", d.span);
    }
    let _ = scan::mask(text);
});
