//! A minimal Tauri 2 app: one window, one tray icon. Prints `tray ready` once the tray
//! icon exists, which is what `bench/app.sh` times.

fn main() {
    tauri::Builder::default()
        .setup(|app| {
            let icon = tauri::image::Image::from_bytes(include_bytes!("../../../icons/tray-ok.png"))?;
            tauri::tray::TrayIconBuilder::new().icon(icon).build(app)?;
            println!("tray ready");
            Ok(())
        })
        .run(tauri::generate_context!())
        .unwrap_or_else(|e| eprintln!("minimal-tauri: {e}"));
}
