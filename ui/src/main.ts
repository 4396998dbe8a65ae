// Entry point in the webview: mount the app on the real IPC and follow the app's events.
import { listen } from '@tauri-apps/api/event';
import { tauriApi } from './api';
import { App } from './app';
import type { Navigate } from './bindings';

const root = document.getElementById('app');
if (root) {
  const app = new App(root, tauriApi);
  void app.start();
  void listen('kb-changed', () => void app.changed());
  void listen<Navigate>('kb-navigate', (e) => void app.navigate(e.payload));
}
