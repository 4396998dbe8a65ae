// Generated from the Rust types by src-tauri/src/bindings.rs (ts-rs). Do not edit:
// run `KEYBROKER_UPDATE_BINDINGS=1 cargo test -p keybroker-app bindings`.

export type ErrorCode = "config_syntax" | "config_shape" | "config_changed" | "keychain" | "denied" | "unknown_server" | "needs_approval" | "io" | "needs_sign_in" | "unsafe_dir" | "other";

export type ErrorView = { code: ErrorCode, message: string, fix: string | null, };

export type ServerState = "brokered" | "needs-secret" | "plaintext-in-config" | "command-changed" | "launcher-drift" | "needs-sign-in" | "no-secrets" | "missing-from-config" | "not-brokered" | "unsupported" | "tools-held";

export type ServerAction = "connect" | "move-to-keychain" | "rotate" | "disconnect" | "approve" | "sign-in" | "repair" | "tools";

export type ReleaseView = { time: string, server: string, host: string | null, credential: string | null, 
/**
 * `env:NAME`, `arg:N`, `header:NAME`.
 */
target: string | null, 
/**
 * The launcher's (then the server's) pid, its parent's pid and name: the host
 * process that started it.
 */
pid: number | null, ppid: number | null, parent: string | null, 
/**
 * "node (pid 4242, parent 4200)": who received it, in words.
 */
by: string, };

export type ToolsSummary = { guarded: boolean, 
/**
 * Tools held until the user approves them.
 */
held: number, };

export type StatusLevel = "ok" | "attention" | "empty";

export type Notice = { title: string, body: string, 
/**
 * The server to open the window on (the first that waits).
 */
server: string, 
/**
 * The action that fixes it, where there is a button for it.
 */
action: ServerAction | null, };

export type StatusView = { level: StatusLevel, 
/**
 * One line: the tray's status entry, its tooltip and the window's summary.
 */
summary: string, 
/**
 * How many servers wait for the user.
 */
attention: number, total: number, 
/**
 * What to notify about (`null` when nothing waits).
 */
notice: Notice | null, };

export type ServerView = { id: string, host: string, name: string, transport: string, state: ServerState, state_text: string, needs_attention: boolean, 
/**
 * `credential -> target`, never a value.
 */
credentials: Array<string>, 
/**
 * Env var names whose secret is bound but missing from the keychain.
 */
missing: Array<string>, 
/**
 * Env var names already bound (what Rotate offers).
 */
bound_env: Array<string>, detail: string | null, actions: Array<ServerAction>, 
/**
 * The last time a host started it with its secrets (the audit's `released`).
 */
last_received: ReleaseView | null, 
/**
 * Its tool guard, for a server Keybroker starts (`null`: not one of Keybroker's).
 */
tools: ToolsSummary | null, };

export type HostGroup = { host: string, label: string, config: string, config_exists: boolean, servers: Array<ServerView>, };

export type ServersView = { groups: Array<HostGroup>, 
/**
 * How many servers wait for the user (`status.attention`).
 */
attention: number, 
/**
 * One line for the tray's status entry (`status.summary`).
 */
summary: string, 
/**
 * The one status the tray, the window and the notifications show.
 */
status: StatusView, };

export type SpawnView = { 
/**
 * `command` as the entry writes it.
 */
program: string, 
/**
 * Where it resolved (`null`: not found).
 */
resolved: string | null, args: Array<string>, 
/**
 * Env names and values the entry sets.
 */
env: { [key in string]?: string }, cwd: string | null, 
/**
 * Other keys that change what runs, each value as JSON text.
 */
keys: { [key in string]?: string }, 
/**
 * The PATH and directory the program was resolved in.
 */
path_var: string | null, resolved_cwd: string, 
/**
 * It names something relative: it runs only from `resolved_cwd`.
 */
cwd_bound: boolean, };

export type ApprovalView = { server_id: string, old_command: Array<string>, new_command: Array<string>, old_env_keys: Array<string>, new_env_keys: Array<string>, 
/**
 * The approved spawn in full; `null` for an approval from an earlier version, which
 * kept only the command line and env names.
 */
old: SpawnView | null, new: SpawnView, 
/**
 * The parts that differ, one line each.
 */
changes: Array<string>, 
/**
 * Where the new entry holds a plaintext secret (`env:NAME`, `arg:N`): it cannot be
 * approved until it is moved to the keychain.
 */
plaintext: Array<string>, };

export type DetectedHost = { host: string, label: string, config: string, exists: boolean, };

export type MoveView = { target: string, 
/**
 * What to send back in `exclude` to leave this finding alone.
 */
selector: string, rule_text: string, 
/**
 * The value, masked.
 */
masked: string, credential: string, reused: boolean, excluded: boolean, 
/**
 * What the string holding the secret becomes when only part of it moves or it
 * changes shape (placeholders where the secrets were; no secret in it).
 */
becomes: string | null, };

export type ServerPlanView = { name: string, id: string, action: string, action_text: string, changes: boolean, moves: Array<MoveView>, notes: Array<string>, 
/**
 * The rewritten entry (pretty JSON, no secret in it).
 */
new_entry: string | null, 
/**
 * For `needs-approval`: the approved and the new command, in full.
 */
approval: ApprovalView | null, };

export type PlanView = { host: string, config: string, changes: boolean, servers: Array<ServerPlanView>, };

export type ImportResult = { servers: Array<string>, credentials_stored: number, message: string, };

export type HostSummary = { host: string, label: string, config: string, servers: number, 
/**
 * Plaintext secrets the scanner found in the file (counted, never shown).
 */
plaintext: number, 
/**
 * Entries that already start through Keybroker.
 */
brokered: number, 
/**
 * The file could not be read (it says where and why); the others still count.
 */
error: string | null, };

export type FirstRunView = { 
/**
 * Nothing is brokered yet: the window opens on the welcome page.
 */
first_run: boolean, 
/**
 * Every host config that exists on this machine.
 */
hosts: Array<HostSummary>, 
/**
 * Plaintext secrets over all hosts.
 */
plaintext: number, };

export type BoundServerView = { server: string, target: string, 
/**
 * When this server last received this credential.
 */
last: ReleaseView | null, };

export type CredentialView = { 
/**
 * The keychain item's name (service `keybroker`); never its value.
 */
id: string, 
/**
 * `secret` or `oauth` (a token set from a sign-in).
 */
kind: string, label: string, created: string, rotated: string | null, 
/**
 * Whether the keychain holds a value for it (`null`: the keychain is unavailable).
 */
in_keychain: boolean | null, servers: Array<BoundServerView>, 
/**
 * The last hand-out to any of its servers.
 */
last: ReleaseView | null, 
/**
 * Rotate is offered for typed secrets bound to an env var; sign-ins are renewed
 * by signing in again.
 */
can_rotate: boolean, can_remove: boolean, };

export type CredentialsView = { credentials: Array<CredentialView>, 
/**
 * Hand-outs recorded in the audit log, all credentials together.
 */
releases: number, };

export type NewServer = { "kind": "remote", host: string, name: string, url: string, } | { "kind": "stdio", host: string, name: string, command: string, args: Array<string>, };

export type AddedServer = { id: string, 
/**
 * The server signs in with OAuth: the UI starts Sign in next.
 */
needs_sign_in: boolean, message: string, };

export type ToolState = "allowed" | "denied" | "held-new" | "held-changed" | "unknown";

export type PolicyMode = "allow-all" | "read-only" | "allow-list" | "deny-list";

export type PolicyChoice = "allow-all" | "read-only";

export type DiffKind = "same" | "removed" | "added" | "changed";

export type DiffRow = { kind: DiffKind, old: string | null, new: string | null, };

export type FieldChange = { field: string, rows: Array<DiffRow>, };

export type HeldToolView = { 
/**
 * The held definition's hash: what Approve sends back, so only this definition is
 * approved.
 */
hash: string, since: string, 
/**
 * Appeared after the first listing: nothing was approved before.
 */
new_tool: boolean, 
/**
 * Each changed field (`description`, `inputSchema`, ...), old and new side by side.
 */
changes: Array<FieldChange>, };

export type ToolRow = { name: string, state: ToolState, 
/**
 * The state in words ("held: changed since you approved it").
 */
state_text: string, title: string | null, description: string | null, 
/**
 * `readOnlyHint: true`.
 */
read_only: boolean, 
/**
 * `destructiveHint: true` on a tool that is not read-only.
 */
destructive: boolean, 
/**
 * The policy lets clients use it (the panel's switch). A held tool also waits for
 * approval.
 */
allowed: boolean, 
/**
 * `tool-call` events of this tool since `calls_since`.
 */
calls_7d: number, 
/**
 * The last `tool-call` the audit log records, at any time.
 */
last_call: string | null, 
/**
 * The definition waiting for approval, next to the approved one.
 */
held: HeldToolView | null, };

export type ToolsPanelView = { server_id: string, 
/**
 * The server's name in its host config.
 */
name: string, guarded: boolean, 
/**
 * `null` when unguarded.
 */
policy: PolicyMode | null, 
/**
 * The policy in words ("every tool but: delete_note").
 */
policy_text: string, hold_new: boolean, 
/**
 * When the guard first listed (and pinned) the server's tools; `null`: not yet.
 */
first_seen: string | null, 
/**
 * How many tools are held until approved.
 */
held: number, 
/**
 * The start of the window `calls_7d` counts (RFC 3339).
 */
calls_since: string, 
/**
 * Held tools first, then the others, each group by name.
 */
tools: Array<ToolRow>, };

export type SeenTool = { tool: string, hash: string, };

export type AuditFilter = { server: string | null, credential: string | null, host: string | null, event: string | null, 
/**
 * RFC 3339, inclusive.
 */
since: string | null, 
/**
 * RFC 3339, inclusive.
 */
until: string | null, };

export type AuditRow = { time: string, event: string, server: string | null, host: string | null, credential: string | null, target: string | null, 
/**
 * The MCP tool a tool-guard event is about.
 */
tool: string | null, 
/**
 * How long a tool call took.
 */
duration_ms: number | null, pid: number | null, ppid: number | null, parent: string | null, outcome: string, detail: string | null, hash: string, };

export type AuditView = { rows: Array<AuditRow>, 
/**
 * Every line in the log (not just the filtered rows).
 */
total_lines: number, chain_ok: boolean, problems: Array<string>, notes: Array<string>, path: string, 
/**
 * Every event kind the filter offers (`released`, ..., `tool-call`, `policy-changed`).
 */
event_kinds: Array<string>, };

export type ExportFormat = "json" | "csv";

export type HealthLevel = "ok" | "warning" | "problem";

export type HealthActionKind = "repair" | "approve" | "sign-in" | "autostart";

export type HealthAction = { kind: HealthActionKind, 
/**
 * The server it acts on (`null` for Start at login).
 */
server: string | null, 
/**
 * The button's text.
 */
label: string, };

export type HealthCheck = { 
/**
 * The doctor's check id: `keychain`, `launcher`, `hosts`, `approvals`, `sign-in`,
 * `secrets`, `audit`, `autostart` (or `state`).
 */
id: string, 
/**
 * A few words naming the check ("Keychain", "Launcher").
 */
title: string, level: HealthLevel, 
/**
 * The level in words, so no row says it by colour alone.
 */
level_text: string, summary: string, 
/**
 * One line per thing found (a server, a file, an audit problem).
 */
details: Array<string>, 
/**
 * What to do, in words (`null` when ok).
 */
fix: string | null, 
/**
 * The commands to run for it, in order, for when there is no button.
 */
commands: Array<string>, actions: Array<HealthAction>, };

export type HealthView = { 
/**
 * The worst check's level.
 */
level: HealthLevel, 
/**
 * At least one check is a problem.
 */
needs_user: boolean, 
/**
 * One line for the top of the view.
 */
summary: string, 
/**
 * The launcher entries should start.
 */
launcher: string, checks: Array<HealthCheck>, };

export type SecretInput = { env: string, value: string, };

export type Navigate = { view: string, server: string | null, action: ServerAction | null, };
