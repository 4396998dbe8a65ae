// The IPC calls the UI makes, typed by the generated bindings. Views receive an `Api`
// so the unit tests can hand them a fake.
import { invoke } from '@tauri-apps/api/core';
import type {
  AddedServer,
  ApprovalView,
  CredentialsView,
  FirstRunView,
  HealthView,
  NewServer,
  PolicyChoice,
  SeenTool,
  ToolsPanelView,
  AuditFilter,
  AuditView,
  DetectedHost,
  ExportFormat,
  ImportResult,
  PlanView,
  SecretInput,
  ServersView,
} from './bindings';
import type { FixActions } from './errors';

export interface Api {
  serversList(): Promise<ServersView>;
  connect(serverId: string, secrets: SecretInput[]): Promise<string>;
  moveToKeychain(serverId: string): Promise<string>;
  rotate(serverId: string, secret: SecretInput): Promise<string>;
  disconnect(serverId: string): Promise<string>;
  pendingApproval(serverId: string): Promise<ApprovalView | null>;
  approve(serverId: string, newCommand: string[]): Promise<string>;
  /** Point the entry back at the app's launcher; nothing else in it changes. */
  repair(serverId: string): Promise<string>;
  /** Resolves when the browser came back (or fails: timeout, cancel, refusal). */
  signIn(serverId: string): Promise<string>;
  /** `false`: no sign-in of that server was waiting. */
  signInCancel(serverId: string): Promise<boolean>;
  importHosts(): Promise<DetectedHost[]>;
  importPlan(host: string, exclude: string[]): Promise<PlanView>;
  importApply(host: string, exclude: string[]): Promise<ImportResult>;
  importUndo(host: string): Promise<string>;
  /** The host configs found on this machine, with counts (never a value). */
  firstRun(): Promise<FirstRunView>;
  /** `exclude`: selectors to leave in place, by host id. */
  importPlanAll(exclude: Record<string, string[]>): Promise<PlanView[]>;
  importApplyAll(exclude: Record<string, string[]>): Promise<ImportResult>;
  credentialsView(): Promise<CredentialsView>;
  credentialRotate(credential: string, value: string): Promise<string>;
  credentialRemove(credential: string): Promise<string>;
  /** A remote server by URL, or a stdio server with its secrets (straight to the keychain). */
  addServer(server: NewServer, secrets: SecretInput[]): Promise<AddedServer>;
  /** A server's tools as the guard knows them, held ones first. */
  toolsView(serverId: string): Promise<ToolsPanelView>;
  /** Switch one tool on or off for the server's clients. */
  toolSetAllowed(serverId: string, tool: string, allowed: boolean): Promise<string>;
  /** Approve the held definitions shown (their hashes); one that changed since is refused. */
  toolsApprove(serverId: string, seen: SeenTool[]): Promise<string>;
  toolsSetPolicy(serverId: string, policy: PolicyChoice): Promise<string>;
  toolsSetHoldNew(serverId: string, hold: boolean): Promise<string>;
  toolsSetGuarded(serverId: string, on: boolean): Promise<string>;
  auditView(filter: AuditFilter): Promise<AuditView>;
  auditExport(filter: AuditFilter, format: ExportFormat): Promise<string>;
  autostartGet(): Promise<boolean>;
  autostartSet(enabled: boolean): Promise<boolean>;
  /** The doctor's report: every check with its level, fix and the buttons the app has. */
  health(): Promise<HealthView>;
}

export const tauriApi: Api = {
  serversList: () => invoke('servers_list'),
  connect: (serverId, secrets) => invoke('server_connect', { serverId, secrets }),
  moveToKeychain: (serverId) => invoke('server_move_to_keychain', { serverId }),
  rotate: (serverId, secret) => invoke('server_rotate', { serverId, secret }),
  disconnect: (serverId) => invoke('server_disconnect', { serverId }),
  pendingApproval: (serverId) => invoke('server_pending_approval', { serverId }),
  approve: (serverId, newCommand) => invoke('server_approve', { serverId, newCommand }),
  repair: (serverId) => invoke('server_repair', { serverId }),
  signIn: (serverId) => invoke('server_sign_in', { serverId }),
  signInCancel: (serverId) => invoke('server_sign_in_cancel', { serverId }),
  importHosts: () => invoke('import_hosts'),
  importPlan: (host, exclude) => invoke('import_plan', { host, exclude }),
  importApply: (host, exclude) => invoke('import_apply', { host, exclude }),
  importUndo: (host) => invoke('import_undo', { host }),
  firstRun: () => invoke('first_run_view'),
  importPlanAll: (exclude) => invoke('import_plan_all', { exclude }),
  importApplyAll: (exclude) => invoke('import_apply_all', { exclude }),
  credentialsView: () => invoke('credentials_view'),
  credentialRotate: (credential, value) => invoke('credential_rotate', { credential, value }),
  credentialRemove: (credential) => invoke('credential_remove', { credential }),
  addServer: (server, secrets) => invoke('server_add', { server, secrets }),
  toolsView: (serverId) => invoke('tools_view', { serverId }),
  toolSetAllowed: (serverId, tool, allowed) => invoke('tool_set_allowed', { serverId, tool, allowed }),
  toolsApprove: (serverId, seen) => invoke('tools_approve', { serverId, seen }),
  toolsSetPolicy: (serverId, policy) => invoke('tools_set_policy', { serverId, policy }),
  toolsSetHoldNew: (serverId, hold) => invoke('tools_set_hold_new', { serverId, hold }),
  toolsSetGuarded: (serverId, on) => invoke('tools_set_guarded', { serverId, on }),
  auditView: (filter) => invoke('audit_view', { filter }),
  auditExport: (filter, format) => invoke('audit_export', { filter, format }),
  autostartGet: () => invoke('autostart_get'),
  autostartSet: (enabled) => invoke('autostart_set', { enabled }),
  health: () => invoke('health'),
};

/** Feedback shown to the user: a status line and a busy indicator for slow calls. */
export interface Ui {
  toast(message: string, kind?: 'ok' | 'error'): void;
  /** An error in the status line: its message, and a button from `actions` for its code
   * or else its fix text. */
  fail(e: unknown, actions?: FixActions): void;
  busy<T>(label: string, work: () => Promise<T>): Promise<T>;
}
