#!/usr/bin/env node
// End to end in the real webview: the built keybroker-app under Xvfb, driven by
// tauri-driver + WebKitWebDriver through WebdriverIO, against the real keychain and a
// real MCP client/server (the official SDK peers in tests/peers).
//
//   scripts/with-keyring.sh xvfb-run -a -s "-screen 0 1280x800x24" node ui/e2e/run.mjs
//
// (`make test-e2e` does exactly that, after building the UI and the app once.)
// Steps: the first run lists every detected host (Claude Desktop through its override,
// Cursor from the hosts table under a throwaway HOME) with counts; a notification reaches
// the desktop's notification daemon (dunst on the private session bus; dbus-monitor sees
// the Notify call); one reviewed import of all hosts; Disconnect echo-local and Connect
// it again by typing a secret; start it from the rewritten config with the real MCP
// client and see it appear as "last received" in the Credentials view, live, and as a
// `released` row in the Audit view; change its command in the file and follow the
// notification (dunstctl action) to the approval; Add server by URL in front of the SDK's
// OAuth example server and Sign in (the test plays the browser); Start at login writes
// and removes the autostart file; a second launch exits at once and shows the first
// window; the Health view reports every check ok but the sign-in the fixture waits for,
// then a launcher removed from under an entry, with its fix, and Repair fixes it; every
// view again in dark mode.
// The Tools panel: the real SDK client starts the guarded `notes` server (the SDK peer
// tool-guard-server.mjs) from the rewritten config; a tool switched off in the panel is
// gone from the next session's tools/list and its call is refused by the guard (the
// server's own counter shows it never arrived); a start that changes a tool's description
// holds it, the notification opens the panel on the old and new definition side by side,
// Approve lets the client list and call it; the Audit view's Event filter shows the
// tool-denied and policy-changed rows.
// Saves {welcome,servers,credentials,import,audit,approval,tools,add,sign-in,health,tray,tray-menu}.png
// and each view's -dark variant to $SCREENSHOT_DIR (default target/e2e-screenshots;
// `make screenshots` points it at docs/screenshots); fails when a view is blank.
// Exit code 0 only if every step passed.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { remote } from 'webdriverio';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const app = join(repo, 'target/debug/keybroker-app');
const launcher = join(repo, 'target/debug/keybroker');
const shots = resolve(repo, process.env.SCREENSHOT_DIR || 'target/e2e-screenshots');
const peers = join(repo, 'tests/peers');
const TYPED = 'kbt_e2e-typed-in-the-webview-0123456789';
const sha256 = (s) => createHash('sha256').update(s, 'utf8').digest('hex');

for (const [what, p] of [['app', app], ['launcher', launcher], ['MCP peers', join(peers, 'node_modules/@modelcontextprotocol/sdk')]]) {
  if (!existsSync(p)) {
    console.error(`e2e: ${what} missing at ${p} (run make test-e2e)`);
    process.exit(2);
  }
}
if (!process.env.DISPLAY || !process.env.DBUS_SESSION_BUS_ADDRESS) {
  console.error('e2e: needs an X display and the keyring session: scripts/with-keyring.sh xvfb-run -a node ui/e2e/run.mjs');
  process.exit(2);
}

for (const tool of ['dunst', 'dunstctl', 'dbus-monitor']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`e2e: ${tool} missing (run scripts/install-deps.sh: packages dunst, dbus)`);
    process.exit(2);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'kb-e2e-'));
const home = join(dir, 'home');
// A throwaway HOME: host files are found through the hosts table there (Cursor's
// ~/.cursor/mcp.json), and Start at login writes its file under it.
const user = join(dir, 'user');
const cursorConfig = join(user, '.cursor', 'mcp.json');
const CURSOR_CANARY = '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';
mkdirSync(dirname(cursorConfig), { recursive: true });
writeFileSync(
  cursorConfig,
  JSON.stringify({ mcpServers: { search: { command: 'npx', args: ['-y', 'tavily-mcp'], env: { TAVILY_API_KEY: CURSOR_CANARY } } } }, null, 2),
);
const config = join(dir, 'Claude', 'claude_desktop_config.json');
mkdirSync(dirname(config), { recursive: true });
const fixture = readFileSync(join(repo, 'tests/fixtures/claude_desktop_config.json'), 'utf8');
const claude = JSON.parse(fixture.replaceAll('__ECHO_SERVER__', join(peers, 'secret-echo-server.mjs')));
// A guarded stdio server with read-only and destructive tools whose delete_note changes
// its description from its third start on; it counts the calls that reach it.
const NOTES_TOKEN = 'kbt_KBCANARYnotesGuard7Qm2Vx9Lp4Tz';
const notesCalls = join(dir, 'notes-calls.json');
claude.mcpServers.notes = {
  command: 'node',
  args: [join(peers, 'tool-guard-server.mjs')],
  env: {
    NOTES_API_TOKEN: NOTES_TOKEN,
    GUARD_COUNTER_FILE: notesCalls,
    GUARD_STARTS_FILE: join(dir, 'notes-starts'),
    GUARD_CHANGE_FROM_START: '3',
  },
};
writeFileSync(config, JSON.stringify(claude, null, 2));
mkdirSync(shots, { recursive: true });

const env = {
  ...process.env,
  HOME: user,
  // The test plays the browser (it follows the sign-in URL itself): xdg-open runs this.
  BROWSER: '/bin/true',
  KEYBROKER_HOME: home,
  KEYBROKER_CONFIG_CLAUDE_DESKTOP: config,
  KEYBROKER_LAUNCHER: launcher,
  NO_AT_BRIDGE: '1',
};
const children = [];
function start(cmd, args, opts = {}) {
  const c = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  c.stdout?.on('data', (d) => process.env.E2E_VERBOSE && process.stderr.write(d));
  c.stderr?.on('data', (d) => process.env.E2E_VERBOSE && process.stderr.write(d));
  children.push(c);
  return c;
}
function cleanup() {
  for (const c of children.reverse()) if (c.exitCode === null) c.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let passed = 0;
const failures = [];
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    console.log(`e2e: ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failures.push(name);
    console.log(`e2e: FAIL ${name}: ${e?.stack ?? e}`);
    throw e;
  }
}

/** A free TCP port on 127.0.0.1. */
function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** Mean grey level of a screenshot, 0 (black) to 1 (white). */
function meanGrey(file) {
  const r = spawnSync('convert', [file, '-colorspace', 'gray', '-format', '%[fx:mean]', 'info:'], { encoding: 'utf8' });
  return Number(r.stdout);
}

/** Fails when a screenshot is (nearly) one colour: the view did not render. */
function assertNotBlank(file) {
  const r = spawnSync('convert', [file, '-colorspace', 'gray', '-format', '%[fx:standard_deviation]', 'info:'], { encoding: 'utf8' });
  const sd = Number(r.stdout);
  if (!(sd > 0.02)) throw new Error(`${file} looks blank (grey-level standard deviation ${r.stdout || r.stderr})`);
}

const SECRETS = () => ['KBCANARY', TYPED, CURSOR_CANARY, NOTES_TOKEN];

/** One session of a real MCP client (the SDK's) with the notes server started from the
 * rewritten config as a host starts it: its tools/list and the answers to `calls`. */
function notesSession(calls) {
  const r = spawnSync('node', ['guard-client.mjs', config, 'notes', JSON.stringify(calls)], {
    cwd: peers,
    env: { ...env, SPAWN_PASS_ENV: 'DBUS_SESSION_BUS_ADDRESS KEYBROKER_HOME' },
    encoding: 'utf8',
    timeout: 60000,
  });
  if (r.status !== 0) throw new Error(`guard-client failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout);
  out.tools.sort();
  return out;
}

/** Calls per tool that reached the notes server (its own counter file). */
const notesCounts = () => (existsSync(notesCalls) ? JSON.parse(readFileSync(notesCalls, 'utf8')) : {});

async function shot(browser, name) {
  await sleep(1000);
  const file = join(shots, `${name}.png`);
  await browser.saveScreenshot(file);
  assertNotBlank(file);
  const text = await browser.$('main').getText();
  if (text.trim().length < 40) throw new Error(`the ${name} view shows almost no text: ${JSON.stringify(text)}`);
  const page = await browser.execute(() => document.body.innerText + document.body.innerHTML);
  for (const s of SECRETS()) if (page.includes(s)) throw new Error(`the ${name} view shows a secret value`);
  return file;
}

/** The diagnostic log's text (the app writes it under KEYBROKER_HOME/logs). */
function appLog() {
  const logs = join(home, 'logs');
  if (!existsSync(logs)) return '';
  return readdirSync(logs)
    .filter((f) => f.startsWith('keybroker-app'))
    .map((f) => readFileSync(join(logs, f), 'utf8'))
    .join('\n');
}

let browser;
let code = 1;
let notifyCalls = '';
try {
  if (spawnSync('sh', ['-c', 'command -v trayer']).status === 0) {
    start('trayer', ['--edge', 'top', '--align', 'right', '--widthtype', 'pixel', '--width', '120', '--height', '32']);
  }
  // The desktop's notification service on the private session bus, and a monitor that
  // records every Notify call made to it.
  start('dunst', []);
  const monitor = start('dbus-monitor', ['--session', "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"]);
  monitor.stdout.on('data', (d) => (notifyCalls += d.toString()));
  await sleep(500);
  // Free ports, so two runs on one machine do not meet.
  const driverPort = await freePort();
  const nativePort = await freePort();
  start('tauri-driver', ['--port', String(driverPort), '--native-port', String(nativePort)]);
  await sleep(1500);
  browser = await remote({
    hostname: '127.0.0.1',
    port: driverPort,
    logLevel: 'warn',
    capabilities: {
      browserName: 'wry',
      'tauri:options': { application: app },
      'wdio:enforceWebDriverClassic': true,
    },
  });
  const $ = (s) => browser.$(s);
  const server = (id) => `[data-server="claude-desktop/${id}"]`;
  const waitState = (id, state) =>
    browser.waitUntil(async () => (await $(server(id)).getAttribute('data-state')) === state, {
      timeout: 15000,
      timeoutMsg: `${id} never became ${state}`,
    });

  await step('the first run lists every detected host with its plaintext counts, values never shown', async () => {
    await $('[data-found-host="cursor"]').waitForExist({ timeout: 20000 });
    await $('[data-found-host="claude-desktop"]').waitForExist({ timeout: 5000 });
    const text = await $('main').getText();
    if (!/Found 2 host configs/.test(text)) throw new Error(`the welcome page does not list both hosts: ${text}`);
    const cursor = await $('[data-found-host="cursor"]').getText();
    if (!cursor.includes('1 plaintext secret') || !cursor.includes(cursorConfig)) throw new Error(`Cursor's counts are wrong: ${cursor}`);
    await shot(browser, 'welcome');
  });

  await step('a notification about the waiting servers reached the desktop notification daemon (dunst)', async () => {
    await browser.waitUntil(async () => notifyCalls.includes('need your attention') || notifyCalls.includes('needs your attention'), {
      timeout: 15000,
      timeoutMsg: `no org.freedesktop.Notifications.Notify call was seen: ${notifyCalls.slice(0, 400)}`,
    });
    const shown = spawnSync('dunstctl', ['count', 'displayed'], { env, encoding: 'utf8' });
    const history = spawnSync('dunstctl', ['count', 'history'], { env, encoding: 'utf8' });
    if (Number(shown.stdout) + Number(history.stdout) < 1) throw new Error(`dunst holds no notification (${shown.stdout}, ${history.stdout})`);
    for (const s of SECRETS()) if (notifyCalls.includes(s)) throw new Error('a notification carries a secret value');
  });

  await step('one reviewed import covers every detected host and applies to all of them', async () => {
    await $('[data-action="review-import"]').click();
    await $('[data-plan-host="cursor"] [data-plan-server="search"]').waitForExist({ timeout: 15000 });
    await $('[data-plan-host="claude-desktop"] [data-plan-server="echo-local"]').waitForExist({ timeout: 5000 });
    if (!(await $('input[value="*all*"]').isSelected())) throw new Error('the import does not cover all hosts');
    await shot(browser, 'import');
    await $('[data-action="apply"]').click();
    await browser.waitUntil(async () => (await $('.result').isExisting()) && (await $('.result').getText()).includes('Rewrote'), {
      timeout: 20000,
      timeoutMsg: 'no import result',
    });
    for (const f of [config, cursorConfig]) {
      const cfg = readFileSync(f, 'utf8');
      if (cfg.includes('KBCANARY')) throw new Error(`a canary is still in ${f} after the import`);
    }
  });

  await step('the window, tray and notifications share one status: a server waiting for sign-in is not "All good"', async () => {
    await $('[data-view="servers"]').click();
    await waitState('echo-local', 'brokered');
    const summary = await $('[data-status]').getText();
    const level = await $('[data-status]').getAttribute('data-status');
    const signIn = await browser.$$('[data-state="needs-sign-in"]').length;
    if (signIn < 1) throw new Error('the fixture has no server waiting for sign-in');
    if (level !== 'attention' || summary.includes('All good')) throw new Error(`the summary says ${summary} (${level}) while a server needs sign-in`);
    await browser.waitUntil(async () => appLog().includes('notified:'), { timeout: 10000, timeoutMsg: 'the app logged no notification' });
  });

  await step('Disconnect then Connect echo-local by typing its secret', async () => {
    await waitState('echo-local', 'brokered');
    await $(`${server('echo-local')} [data-action="disconnect"]`).click();
    await $('[data-confirm="disconnect"]').click();
    await waitState('echo-local', 'needs-secret');
    await $(`${server('echo-local')} [data-action="connect"]`).click();
    const field = $(`${server('echo-local')} input[data-env="ECHO_API_TOKEN"]`);
    await field.waitForExist({ timeout: 10000 });
    await field.setValue(TYPED);
    await $(`${server('echo-local')} [data-submit="connect"]`).click();
    await waitState('echo-local', 'brokered');
    await browser.execute(() => document.querySelector('.content')?.scrollTo(0, 0));
    await shot(browser, 'servers');
  });

  await step('a real MCP client starts echo-local and it appears live as "last received" in the Credentials view', async () => {
    await $('[data-view="credentials"]').click();
    const cell = () => $('tr[data-bound-server="claude-desktop/echo-local"] td[data-last-received]');
    await cell().waitForExist({ timeout: 10000 });
    if ((await cell().getAttribute('data-last-received')) !== '') throw new Error('echo-local shows a hand-out before any spawn');
    const r = spawnSync('node', ['spawn-from-config.mjs', config, 'echo-local', 'env_sha256', JSON.stringify({ name: 'ECHO_API_TOKEN' })], {
      cwd: peers,
      env: { ...env, SPAWN_PASS_ENV: 'DBUS_SESSION_BUS_ADDRESS KEYBROKER_HOME' },
      encoding: 'utf8',
      timeout: 60000,
    });
    if (r.status !== 0) throw new Error(`spawn-from-config failed: ${r.stderr}`);
    const out = JSON.parse(r.stdout);
    if (out.results.env_sha256 !== sha256(TYPED)) throw new Error(`the server got another value: ${r.stdout}`);
    await browser.waitUntil(async () => (await cell().getAttribute('data-last-received')) !== '', { timeout: 15000, timeoutMsg: 'no "last received" appeared' });
    const text = await cell().getText();
    if (!/^last received .* by node \(pid \d+, parent \d+\)/.test(text)) throw new Error(`unexpected hand-out text: ${text}`);
    await shot(browser, 'credentials');
    await $('[data-view="servers"]').click();
    await $(`${server('echo-local')} .received`).waitForExist({ timeout: 10000 });
  });

  await step('the launch is a released row in the Audit view', async () => {
    await $('[data-view="audit"]').click();
    await $('.chain.ok').waitForExist({ timeout: 10000 });
    const released = () => browser.$$('tr[data-event="released"][data-server="claude-desktop/echo-local"]').length;
    await browser.waitUntil(async () => (await released()) === 1, { timeout: 15000, timeoutMsg: 'no released row appeared' });
    await shot(browser, 'audit');
  });

  await step('a changed command is notified, and clicking the notification opens its approval', async () => {
    spawnSync('dunstctl', ['close-all'], { env });
    const before = notifyCalls.length;
    await $('[data-view="audit"]').click(); // away from Servers: the click must bring it back
    const cfg = JSON.parse(readFileSync(config, 'utf8'));
    cfg.mcpServers['echo-local'].args.push('--changed-by-e2e');
    writeFileSync(config, JSON.stringify(cfg, null, 2));
    await browser.waitUntil(async () => notifyCalls.slice(before).includes('echo-local needs your attention'), {
      timeout: 15000,
      timeoutMsg: `no notification about echo-local: ${notifyCalls.slice(before, before + 600)}`,
    });
    await browser.waitUntil(async () => Number(spawnSync('dunstctl', ['count', 'displayed'], { env, encoding: 'utf8' }).stdout) >= 1, {
      timeout: 10000,
      timeoutMsg: 'dunst does not display the notification',
    });
    // A click on the notification: dunst invokes its default action.
    const clicked = spawnSync('dunstctl', ['action', '0'], { env, encoding: 'utf8' });
    if (clicked.status !== 0) throw new Error(`dunstctl action failed: ${clicked.stderr}`);
    await $('.compare pre').waitForExist({ timeout: 10000, timeoutMsg: 'the notification did not open the approval' });
    await waitState('echo-local', 'command-changed');
    const newCmd = await browser.$$('.compare pre')[1].getText();
    if (!newCmd.includes('--changed-by-e2e')) throw new Error(`the new command is not shown: ${newCmd}`);
    await $('[data-confirm="approve"]').scrollIntoView({ block: 'end' });
    await shot(browser, 'approval');
    await $('[data-confirm="approve"]').click();
    await waitState('echo-local', 'brokered');
  });

  await step('Tools panel: a tool switched off vanishes from a real client, a changed one is held, shown side by side and approved', async () => {
    const all = ['calls', 'delete_note', 'env_sha256', 'list_notes', 'read_note'];
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
    // The first start pins every tool.
    const first = notesSession([{ tool: 'read_note' }]);
    if (!same(first.tools, all)) throw new Error(`the first session lists ${first.tools}`);
    if (first.results[0].text !== 'note') throw new Error(`read_note answered ${JSON.stringify(first.results)}`);
    await $('[data-view="servers"]').click();
    await waitState('notes', 'brokered');
    await $(`${server('notes')} [data-action="tools"]`).click();
    const tool = (name) => `[data-tool="${name}"]`;
    await $(tool('list_notes')).waitForExist({ timeout: 10000, timeoutMsg: 'the Tools panel does not list the pinned tools' });
    if (!(await $(`${tool('read_note')} [data-badge="read-only"]`).isExisting())) throw new Error('read_note has no read-only badge');
    if (!(await $(`${tool('delete_note')} [data-badge="destructive"]`).isExisting())) throw new Error('delete_note has no destructive badge');
    await browser.waitUntil(async () => (await $(`${tool('read_note')} [data-calls]`).getAttribute('data-calls')) === '1', {
      timeout: 15000,
      timeoutMsg: 'the panel does not count the call of read_note',
    });

    // Switch list_notes off: the next session does not list it and the guard refuses it.
    await $(`${tool('list_notes')} [data-toggle="list_notes"]`).click();
    await browser.waitUntil(async () => (await $(tool('list_notes')).getAttribute('data-state')) === 'denied', {
      timeout: 10000,
      timeoutMsg: 'list_notes was not switched off',
    });
    const second = notesSession([{ tool: 'list_notes' }, { tool: 'read_note' }]);
    if (second.tools.includes('list_notes') || !second.tools.includes('read_note')) throw new Error(`the client still lists ${second.tools}`);
    const refused = second.results[0];
    if (refused.ok || refused.code !== -32602 || !/not allowed by its tool policy/.test(refused.message)) {
      throw new Error(`list_notes was not refused by the guard: ${JSON.stringify(refused)}`);
    }
    if (second.results[1].text !== 'note') throw new Error(`read_note answered ${JSON.stringify(second.results[1])}`);
    if (notesCounts().list_notes) throw new Error(`the refused call reached the server: ${JSON.stringify(notesCounts())}`);

    // The third start offers a changed description of delete_note: held, and the
    // notification about it opens the panel on both definitions.
    await $('[data-action="back"]').click();
    await $(server('notes')).waitForExist({ timeout: 10000, timeoutMsg: 'Back did not return to the Servers view' });
    spawnSync('dunstctl', ['close-all'], { env });
    const before = notifyCalls.length;
    const third = notesSession([{ tool: 'delete_note', args: { name: 'x' } }]);
    if (third.tools.includes('delete_note')) throw new Error('the changed delete_note is still listed');
    if (!/changed since you approved it/.test(third.results[0].message ?? '')) throw new Error(`delete_note was not held: ${JSON.stringify(third.results)}`);
    if (notesCounts().delete_note) throw new Error('the held call reached the server');
    await browser.waitUntil(async () => notifyCalls.slice(before).includes('notes needs your attention'), {
      timeout: 15000,
      timeoutMsg: `no notification about notes: ${notifyCalls.slice(before, before + 600)}`,
    });
    await browser.waitUntil(async () => Number(spawnSync('dunstctl', ['count', 'displayed'], { env, encoding: 'utf8' }).stdout) >= 1, {
      timeout: 10000,
      timeoutMsg: 'dunst does not display the notification',
    });
    await waitState('notes', 'tools-held');
    const button = await $(`${server('notes')} [data-action="tools"]`).getText();
    if (!button.includes('1 held')) throw new Error(`the card's Tools button says ${button}`);
    if (!(await $('[data-status]').getText()).includes('need')) throw new Error('the summary does not say a server needs attention');
    const clicked = spawnSync('dunstctl', ['action', '0'], { env, encoding: 'utf8' });
    if (clicked.status !== 0) throw new Error(`dunstctl action failed: ${clicked.stderr}`);
    const held = '[data-held="delete_note"]';
    await $(`${held} [data-field="description"]`).waitForExist({ timeout: 10000, timeoutMsg: 'the notification did not open the held tool' });
    const oldText = await $(`${held} [data-field="description"] td.old`).getText();
    const newText = await $(`${held} [data-field="description"] td.new`).getText();
    if (oldText !== 'Delete a note' || !newText.includes('~/.ssh/id_rsa')) throw new Error(`the diff shows ${oldText} | ${newText}`);
    const top = await browser.$$('[data-tool]')[0].getAttribute('data-tool');
    if (top !== 'delete_note') throw new Error(`the held tool is not listed first (${top})`);
    await browser.execute(() => document.querySelector('.content')?.scrollTo(0, 0));
    await shot(browser, 'tools');

    // Approve: the next session lists it and its call reaches the server.
    await $(`[data-approve="delete_note"]`).click();
    await browser.waitUntil(async () => (await $(tool('delete_note')).getAttribute('data-state')) === 'allowed', {
      timeout: 10000,
      timeoutMsg: 'delete_note was not approved',
    });
    const fourth = notesSession([{ tool: 'delete_note', args: { name: 'x' } }]);
    if (!fourth.tools.includes('delete_note') || fourth.tools.includes('list_notes')) throw new Error(`after approval the client lists ${fourth.tools}`);
    if (fourth.results[0].text !== 'deleted x') throw new Error(`delete_note answered ${JSON.stringify(fourth.results)}`);
    if (notesCounts().delete_note !== 1) throw new Error(`the server counted ${JSON.stringify(notesCounts())}`);
  });

  await step('the Audit view lists the tool-denied and policy-changed rows with the Event filter set', async () => {
    await $('[data-view="audit"]').click();
    const pick = async (kind) => {
      await $('[data-filter="event"]').selectByAttribute('value', kind);
      await browser.waitUntil(
        async () => {
          const rows = await browser.$$('tbody tr');
          if (!rows.length) return false;
          for (const r of rows) if ((await r.getAttribute('data-event')) !== kind) return false;
          return true;
        },
        { timeout: 10000, timeoutMsg: `the table does not show only ${kind} rows` },
      );
    };
    await pick('tool-denied');
    const denied = await browser.$$('tr[data-event="tool-denied"][data-tool="list_notes"]');
    if (!denied.length) throw new Error('no tool-denied row for list_notes');
    if (!(await denied[0].getText()).includes('denied')) throw new Error(`the row has no outcome: ${await denied[0].getText()}`);
    await pick('policy-changed');
    // What changed is the row's detail (its tooltip).
    const details = [];
    for (const r of await browser.$$('tr[data-event="policy-changed"]')) details.push(await r.getAttribute('title'));
    if (!details.includes('denied: list_notes')) throw new Error(`no policy-changed row for the switch: ${details}`);
    if (!(await $('tr[data-event="policy-changed"][data-tool="delete_note"]').isExisting())) throw new Error('no policy-changed row for the approval');
    await $('[data-filter="event"]').selectByAttribute('value', '');
    await $('tr[data-event="released"]').waitForExist({ timeout: 10000, timeoutMsg: '"any" does not show every event again' });
  });

  await step('Add server by URL to Cursor, then Sign in: the card waits for the browser, the test plays it', async () => {
    const mcpPort = await freePort();
    const authPort = await freePort();
    const sdk = start('node', [join(peers, 'node_modules/@modelcontextprotocol/sdk/dist/esm/examples/server/simpleStreamableHttp.js'), '--oauth'], {
      env: { ...env, MCP_PORT: String(mcpPort), MCP_AUTH_PORT: String(authPort) },
    });
    await browser.waitUntil(
      async () => {
        try {
          return (await fetch(`http://127.0.0.1:${mcpPort}/.well-known/oauth-protected-resource/mcp`)).ok;
        } catch {
          return false;
        }
      },
      { timeout: 20000, timeoutMsg: `the SDK's OAuth example server did not start (exit ${sdk.exitCode})` },
    );
    await $('[data-view="add"]').click();
    await $('[data-field="host"]').waitForExist({ timeout: 10000 });
    await $('[data-field="host"]').selectByAttribute('value', 'cursor');
    await $('[data-field="name"]').setValue('notes');
    // The demo server names its resource by `localhost`: the URL must match it exactly.
    await $('[data-field="url"]').setValue(`http://localhost:${mcpPort}/mcp`);
    await shot(browser, 'add');
    await $('[data-submit="add"]').click();
    const card = '[data-server="cursor/notes"]';
    await $(`${card} [data-sign-in-progress]`).waitForExist({ timeout: 20000, timeoutMsg: 'Sign in did not start on the new server' });
    await $(card).scrollIntoView({ block: 'center' });
    await shot(browser, 'sign-in');
    // Play the browser: the authorization URL the app would have opened is in its log.
    let authUrl;
    await browser.waitUntil(
      async () => {
        const m = appLog().match(/sign in to cursor\/notes in your browser:\s+(\S+)/);
        authUrl = m?.[1];
        return !!authUrl;
      },
      { timeout: 10000, timeoutMsg: `no sign-in URL in the diagnostic log: ${appLog().slice(-1500)}` },
    );
    // Follow redirects as a browser does (with its cookies) until the loopback callback.
    let url = authUrl;
    let cookies = '';
    let reached = false;
    for (let i = 0; i < 10 && !reached; i++) {
      const res = await fetch(url, { redirect: 'manual', headers: cookies ? { cookie: cookies } : {} });
      const set = res.headers.getSetCookie?.() ?? [];
      if (set.length) cookies = set.map((c) => c.split(';')[0]).join('; ');
      const next = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && next) {
        url = new URL(next, url).toString();
        continue;
      }
      reached = /^http:\/\/(127\.0\.0\.1|\[::1\])[:/]/.test(url);
      if (!reached) throw new Error(`the browser stopped at ${res.status} ${url}`);
    }
    if (!reached) throw new Error('too many redirects');
    await browser.waitUntil(async () => (await $(card).getAttribute('data-state')) === 'brokered', {
      timeout: 20000,
      timeoutMsg: 'the server did not become brokered after sign-in',
    });
    const entry = JSON.parse(readFileSync(cursorConfig, 'utf8')).mcpServers.notes;
    if (!entry.args.includes('bridge')) throw new Error(`the Cursor entry does not start the bridge: ${JSON.stringify(entry)}`);
  });

  await step('Start at login writes the autostart file, and unticking it removes the file', async () => {
    const dir = join(user, '.config', 'autostart');
    const files = () => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.desktop')) : []);
    if (files().length) throw new Error(`an autostart file exists before the switch: ${files()}`);
    await $('#autostart').click();
    await browser.waitUntil(async () => files().length === 1, { timeout: 10000, timeoutMsg: 'no autostart file appeared' });
    const text = readFileSync(join(dir, files()[0]), 'utf8');
    if (!text.includes('keybroker-app') || !text.includes('--hidden')) throw new Error(`unexpected autostart file: ${text}`);
    if (!(await $('#autostart').isSelected())) throw new Error('the switch is not on');
    await $('#autostart').click();
    await browser.waitUntil(async () => files().length === 0, { timeout: 10000, timeoutMsg: 'the autostart file was not removed' });
  });

  await step('a second launch of the app exits at once with status 0 and shows the first window', async () => {
    const seen = (appLog().match(/second instance: showing the window/g) ?? []).length;
    const t0 = Date.now();
    const second = spawnSync(app, [], { env, encoding: 'utf8', timeout: 20000 });
    const took = Date.now() - t0;
    if (second.status !== 0) throw new Error(`the second instance exited with ${second.status} (${second.signal ?? ''}): ${second.stderr}`);
    if (took > 15000) throw new Error(`the second instance took ${took} ms to exit`);
    await browser.waitUntil(async () => (appLog().match(/second instance: showing the window/g) ?? []).length === seen + 1, {
      timeout: 10000,
      timeoutMsg: 'the first instance was not told about the second launch',
    });
    if (!(await browser.execute(() => document.visibilityState === 'visible'))) throw new Error('the first window is not visible');
  });

  await step('Health: every check ok but the waiting sign-in; a removed launcher is reported with its fix, and Repair fixes it', async () => {
    const levels = () =>
      browser.execute(() => Object.fromEntries([...document.querySelectorAll('[data-check]')].map((e) => [e.dataset.check, e.dataset.level])));
    const level = async (id) => (await levels())[id];
    await $('[data-view="health"]').click();
    await $('[data-check="launcher"]').waitForExist({ timeout: 20000, timeoutMsg: 'the Health view shows no checks' });
    const first = await levels();
    for (const id of ['keychain', 'launcher', 'hosts', 'approvals', 'sign-in', 'secrets', 'audit', 'autostart']) {
      if (!(id in first)) throw new Error(`no ${id} check: ${JSON.stringify(first)}`);
    }
    // The fixture's remote servers wait for sign-in; everything else is fine.
    const notOk = Object.entries(first).filter(([id, l]) => l !== 'ok' && id !== 'sign-in');
    if (notOk.length) throw new Error(`checks not ok before any problem was made: ${JSON.stringify(first)}: ${await $('main').getText()}`);
    if (first['sign-in'] !== 'ok' && !(await $('[data-check="sign-in"] [data-health-action="sign-in"]').isExisting())) {
      throw new Error('the waiting sign-in has no Sign in button');
    }
    if (!(await $('[data-check="keychain"] [data-level-text]').getText()).match(/^OK$/i)) throw new Error('the keychain row does not say OK in words');
    // The app moved: the launcher copy echo-local's entry names is gone.
    const old = join(dir, 'old-install', 'keybroker');
    mkdirSync(dirname(old), { recursive: true });
    writeFileSync(old, readFileSync(launcher));
    const cfg = JSON.parse(readFileSync(config, 'utf8'));
    cfg.mcpServers['echo-local'].command = old;
    writeFileSync(config, JSON.stringify(cfg, null, 2));
    rmSync(old);
    await $('[data-action="health-refresh"]').click();
    await browser.waitUntil(async () => (await level('launcher')) === 'problem', {
      timeout: 20000,
      timeoutMsg: `the drifted launcher was not reported: ${JSON.stringify(await levels())}`,
    });
    const row = await $('[data-check="launcher"]').getText();
    for (const want of ['Needs you', 'claude-desktop/echo-local', old, 'point the entries Keybroker wrote at', launcher]) {
      if (!row.includes(want)) throw new Error(`the launcher row does not say ${want}: ${row}`);
    }
    if ((await $('[data-health]').getAttribute('data-health')) !== 'problem') throw new Error('the summary does not say a check needs the user');
    await browser.execute(() => document.querySelector('.content')?.scrollTo(0, 0));
    await shot(browser, 'health');
    await $('[data-check="launcher"] [data-health-action="repair"][data-server="claude-desktop/echo-local"]').click();
    await browser.waitUntil(async () => JSON.parse(readFileSync(config, 'utf8')).mcpServers['echo-local'].command === launcher, {
      timeout: 15000,
      timeoutMsg: 'Repair did not point the entry at the launcher',
    });
    await $('[data-action="health-refresh"]').click();
    await browser.waitUntil(async () => (await level('launcher')) === 'ok', {
      timeout: 20000,
      timeoutMsg: `the launcher check is not ok after Repair: ${JSON.stringify(await levels())}`,
    });
    const after = await levels();
    const still = Object.entries(after).filter(([id, l]) => l !== first[id]);
    if (still.length) throw new Error(`checks changed besides the launcher: ${JSON.stringify(after)} vs ${JSON.stringify(first)}`);
  });

  await step('every view in dark mode (the Theme setting): dark CSS, nothing blank, no secret', async () => {
    await $('[data-setting="theme"]').selectByAttribute('value', 'dark');
    const bg = await browser.execute(() => getComputedStyle(document.body).backgroundColor || getComputedStyle(document.documentElement).backgroundColor);
    for (const [view, name] of [
      ['welcome', 'welcome'],
      ['servers', 'servers'],
      ['credentials', 'credentials'],
      ['import', 'import'],
      ['add', 'add'],
      ['audit', 'audit'],
      ['health', 'health'],
    ]) {
      await $(`[data-view="${view}"]`).click();
      await sleep(500);
      const file = await shot(browser, `${name}-dark`);
      const light = join(shots, `${name}.png`);
      const [d, l] = [meanGrey(file), meanGrey(light)];
      if (!(d < 0.35 && l > 0.6)) throw new Error(`${name}: dark ${d.toFixed(2)} vs light ${l.toFixed(2)} mean grey (background ${bg})`);
    }
    // The Tools panel, reached from the notes card.
    await $('[data-view="servers"]').click();
    await $(`${server('notes')} [data-action="tools"]`).click();
    await $('[data-tool="delete_note"]').waitForExist({ timeout: 10000 });
    await browser.execute(() => document.querySelector('.content')?.scrollTo(0, 0));
    const file = await shot(browser, 'tools-dark');
    const [d, l] = [meanGrey(file), meanGrey(join(shots, 'tools.png'))];
    if (!(d < 0.35 && l > 0.6)) throw new Error(`tools: dark ${d.toFixed(2)} vs light ${l.toFixed(2)} mean grey`);
    await $('[data-setting="theme"]').selectByAttribute('value', 'system');
    await $('[data-view="servers"]').click();
  });

  await step('the tray icon is on screen (full-screen capture)', async () => {
    await sleep(2000); // the watcher polls once a second; let the tray catch up
    const file = join(shots, 'tray.png');
    const r = spawnSync('import', ['-window', 'root', file]);
    if (r.status !== 0) throw new Error(`import failed: ${r.stderr}`);
    assertNotBlank(file);
  });
  await step('clicking the tray icon opens its menu (screen capture before and after differ)', async () => {
    const where = spawnSync('xdotool', ['search', '--onlyvisible', '--class', 'trayer'], { encoding: 'utf8' });
    if (where.status !== 0) throw new Error('trayer is not running (install trayer)');
    spawnSync('xdotool', ['mousemove', '1262', '16']);
    spawnSync('xdotool', ['click', '1']);
    await sleep(1500);
    const file = join(shots, 'tray-menu.png');
    spawnSync('import', ['-window', 'root', file]);
    spawnSync('xdotool', ['key', 'Escape']);
    const diff = spawnSync('compare', ['-metric', 'AE', join(shots, 'tray.png'), file, 'null:'], { encoding: 'utf8' });
    const changed = Number(diff.stderr.trim().split(/\s/)[0]);
    if (!(changed > 1000)) throw new Error(`the screen did not change after clicking the tray icon (${diff.stderr})`);
  });

  await step('no file the app wrote (state, audit, diagnostic logs, exports) holds a secret value', async () => {
    const walk = (d) =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
    const files = walk(home);
    if (!files.some((f) => f.includes('/logs/keybroker-app'))) throw new Error(`no diagnostic log in ${home}/logs`);
    for (const f of files) {
      const text = readFileSync(f, 'latin1');
      for (const secret of SECRETS()) if (text.includes(secret)) throw new Error(`${f} holds a secret value`);
    }
  });
  code = 0;
} catch {
  code = 1;
} finally {
  try {
    await browser?.deleteSession();
  } catch {
    /* the driver may be gone already */
  }
  cleanup();
}
console.log(`e2e: ${passed} passed, ${failures.length} failed`);
process.exit(code);
