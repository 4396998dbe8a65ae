//! `gen-audit-log PATH EVENTS [SERVERS]`: write a valid audit log (and its head) of
//! `EVENTS` chained events for `make bench-audit`.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(n)) = (args.get(1), args.get(2).and_then(|n| n.parse().ok())) else {
        eprintln!("usage: gen-audit-log PATH EVENTS [SERVERS]");
        std::process::exit(64);
    };
    let servers = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(50);
    match keybroker_test_support::audit_log::write(std::path::Path::new(path), n, servers) {
        Ok(last) => println!("{n} events, last hash {last}"),
        Err(e) => {
            eprintln!("gen-audit-log: {path}: {e}");
            std::process::exit(74);
        }
    }
}
