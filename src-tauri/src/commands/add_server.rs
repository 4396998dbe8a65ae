//! Add server: a remote server by URL or a stdio server by command, to any detected host.

use keybroker::app_api::add_server::{self, AddedServer, NewServer};
use tauri::State;

use super::{ErrorView, SecretInput, now};
use crate::AppState;

/// `secrets`: a stdio server's env vars and their typed values, straight to the keychain.
#[tauri::command]
pub async fn server_add(
    state: State<'_, AppState>,
    server: NewServer,
    secrets: Vec<SecretInput>,
) -> Result<AddedServer, ErrorView> {
    let secrets = secrets.into_iter().map(SecretInput::into_pair).collect();
    add_server::add_server(&state.ctx, &server, secrets, &now()).map_err(ErrorView::from)
}
