// The app's IPC command names: `build.rs` turns them into permissions, the capability
// file grants them, and a test checks both against the handler.
pub const COMMANDS: &[&str] = &[
    "servers_list",
    "server_connect",
    "server_move_to_keychain",
    "server_rotate",
    "server_disconnect",
    "server_pending_approval",
    "server_approve",
    "server_repair",
    "server_sign_in",
    "server_sign_in_cancel",
    "import_hosts",
    "import_plan",
    "import_apply",
    "import_undo",
    "audit_view",
    "audit_export",
    "autostart_get",
    "autostart_set",
];
