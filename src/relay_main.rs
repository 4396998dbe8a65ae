//! `keybroker-relay`: what a guarded `keybroker run` becomes once its server runs. It
//! adopts the server (its pid and pipes, passed by the launcher) and relays its stdio
//! through the tool guard until it exits (`keybroker::ops::relay::relay_main`).
//!
//! A program of its own, not `keybroker __relay`, so the process that lives as long as
//! each guarded server maps only what relaying needs: no CLI parser, keychain client,
//! HTTP client or host-file editors (the linker leaves out what this never calls). It is
//! only ever started by `keybroker run`, which finds it beside itself or in
//! `../libexec/keybroker/` (`keybroker::ops::relay::relay_program`).

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let code = run(&args);
    std::process::exit(code)
}

#[cfg(unix)]
fn run(args: &[std::ffi::OsString]) -> i32 {
    use keybroker::ops::relay;
    match relay::RelayArgs::from_positional(args)
        .and_then(|a| relay::relay_main(&a, keybroker::base::clock::now_rfc3339))
    {
        Ok(code) => code,
        Err(err) => {
            eprintln!("keybroker: error: {err}");
            if let Some(fix) = err.fix() {
                eprintln!("  fix: {fix}");
            }
            err.exit_code()
        }
    }
}

#[cfg(not(unix))]
fn run(_args: &[std::ffi::OsString]) -> i32 {
    eprintln!("keybroker: error: keybroker-relay is only used on Unix");
    eprintln!("  fix: start servers with `keybroker run`");
    2
}
