//! Any bytes as a host's JSON/JSONC file: parsing never panics; when it parses, rewriting
//! an entry (map and list form) yields a file that parses again, reads the entry back
//! as written and every other entry as it was.
#![no_main]

use keybroker::config::jsonfile::JsonFile;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("/fuzz/mcp.json");
    let Ok(file) = JsonFile::parse(path, data) else {
        return;
    };
    let path_keys: &[&str] = &["mcpServers"];
    if let Ok(before) = file.entries_at(path_keys) {
        let name = before.first().map_or("new".to_string(), |(n, _)| n.clone());
        let value = serde_json::json!({"command": "/opt/kb/keybroker", "args": ["run", name, "--", "x"], "env": {}});
        let mut edited = file.clone();
        if edited.set_entry_at(path_keys, &name, &value).is_ok() {
            let out = edited.to_bytes();
            let again = JsonFile::parse(path, &out).expect("an edited file parses");
            let after = again.entries_at(path_keys).expect("entries read back");
            check(&before, &after, &name, &value);
        }
    }
    if let Ok(before) = file.list_entries_at(&["mcp", "servers"], "id") {
        let name = before.first().map_or("new".to_string(), |(n, _)| n.clone());
        let value = serde_json::json!({"id": name, "command": "kb", "args": []});
        let mut edited = file.clone();
        if edited.set_list_entry_at(&["mcp", "servers"], "id", &name, &value).is_ok() {
            let again = JsonFile::parse(path, &edited.to_bytes()).expect("an edited file parses");
            let after = again.list_entries_at(&["mcp", "servers"], "id").expect("list reads back");
            check(&before, &after, &name, &value);
        }
    }
});

fn check(
    before: &[(String, serde_json::Value)],
    after: &[(String, serde_json::Value)],
    name: &str,
    value: &serde_json::Value,
) {
    for (n, v) in before.iter().filter(|(n, _)| n != name) {
        let found = after.iter().find(|(m, _)| m == n).map(|(_, v)| v);
        assert_eq!(found, Some(v), "entry {n} changed");
    }
    let edited = after.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    assert_eq!(edited, Some(value), "edited entry reads back differently");
}
