//! The UI's TypeScript types, generated from the Rust types that cross IPC (ts-rs).
//! `ui/src/bindings.ts` is this text; a test fails when it is stale
//! (`KEYBROKER_UPDATE_BINDINGS=1 cargo test -p keybroker-app bindings` rewrites it).

use keybroker::app_api::add_server::{AddedServer, NewServer};
use keybroker::app_api::credentials::{BoundServerView, CredentialView, CredentialsView};
use keybroker::app_api::doctor::{
    HealthAction, HealthActionKind, HealthCheck, HealthLevel, HealthView,
};
use keybroker::app_api::first_run::{FirstRunView, HostSummary};
use keybroker::app_api::tools::{
    DiffKind, DiffRow, FieldChange, HeldToolView, PolicyChoice, PolicyMode, SeenTool, ToolRow,
    ToolsPanelView,
};
use keybroker::app_api::{
    ApprovalView, AuditFilter, AuditRow, AuditView, DetectedHost, ErrorView, ExportFormat,
    HostGroup, ImportResult, MoveView, Notice, PlanView, ReleaseView, ServerAction, ServerPlanView,
    ServerState, ServerView, ServersView, SpawnView, StatusLevel, StatusView, ToolsSummary,
};
use keybroker::base::error::ErrorCode;
use keybroker::mcp::guard::ToolState;
use ts_rs::TS;

use crate::commands::SecretInput;
use crate::tray::Navigate;

macro_rules! decls {
    ($($t:ty),* $(,)?) => {
        vec![$(format!("export {}", <$t as TS>::decl())),*]
    };
}

pub fn typescript() -> String {
    let decls: Vec<String> = decls![
        ErrorCode,
        ErrorView,
        ServerState,
        ServerAction,
        ReleaseView,
        ToolsSummary,
        StatusLevel,
        Notice,
        StatusView,
        ServerView,
        HostGroup,
        ServersView,
        SpawnView,
        ApprovalView,
        DetectedHost,
        MoveView,
        ServerPlanView,
        PlanView,
        ImportResult,
        HostSummary,
        FirstRunView,
        BoundServerView,
        CredentialView,
        CredentialsView,
        NewServer,
        AddedServer,
        ToolState,
        PolicyMode,
        PolicyChoice,
        DiffKind,
        DiffRow,
        FieldChange,
        HeldToolView,
        ToolRow,
        ToolsPanelView,
        SeenTool,
        AuditFilter,
        AuditRow,
        AuditView,
        ExportFormat,
        HealthLevel,
        HealthActionKind,
        HealthAction,
        HealthCheck,
        HealthView,
        SecretInput,
        Navigate,
    ];
    let mut out = String::from(
        "// Generated from the Rust types by src-tauri/src/bindings.rs (ts-rs). Do not edit:\n\
         // run `KEYBROKER_UPDATE_BINDINGS=1 cargo test -p keybroker-app bindings`.\n\n",
    );
    for d in decls {
        out.push_str(&d);
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    #[test]
    fn ui_bindings_are_current_with_the_rust_types() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings.ts");
        let want = super::typescript();
        if std::env::var_os("KEYBROKER_UPDATE_BINDINGS").is_some() {
            std::fs::write(&path, &want).expect("write bindings");
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "ui/src/bindings.ts is stale: run `KEYBROKER_UPDATE_BINDINGS=1 cargo test -p keybroker-app bindings`"
        );
    }
}
