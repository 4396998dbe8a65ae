//! Generates Tauri's context and one permission per app command (see
//! `src/commands/names.rs`), so the capability file can grant exactly those.

include!("src/commands/names.rs");

fn main() {
    let attrs = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attrs) {
        panic!("tauri-build failed: {e:#}");
    }
}
