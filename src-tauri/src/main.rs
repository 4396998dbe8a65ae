//! The `keybroker-app` binary: see the library for everything it does.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    keybroker_app::run();
}
