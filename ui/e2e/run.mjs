#!/usr/bin/env node
// End to end in the real webview: the built keybroker-app under Xvfb, driven by
// tauri-driver + WebKitWebDriver through WebdriverIO, against the real keychain and a
// real MCP client/server (the official SDK peers in tests/peers).
//
//   scripts/with-keyring.sh xvfb-run -a -s "-screen 0 1280x800x24" node ui/e2e/run.mjs
//
// (`make test-e2e` does exactly that, after building the UI and the app once.)
// Steps: import the fixture Claude Desktop config through the Import view; Disconnect
// echo-local and Connect it again by typing a secret; start it from the rewritten config
// with the real MCP client; watch its `released` row appear live in the Audit view;
// change its command in the file and see the app ask for approval (then approve).
// Saves {servers,import,audit,approval,tray,tray-menu}.png to $SCREENSHOT_DIR (default
// target/e2e-screenshots; `make screenshots` points it at docs/screenshots); fails when a
// view is blank. Exit code 0 only if every step passed.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

const dir = mkdtempSync(join(tmpdir(), 'kb-e2e-'));
const home = join(dir, 'home');
const config = join(dir, 'Claude', 'claude_desktop_config.json');
mkdirSync(dirname(config), { recursive: true });
const fixture = readFileSync(join(repo, 'tests/fixtures/claude_desktop_config.json'), 'utf8');
writeFileSync(config, fixture.replaceAll('__ECHO_SERVER__', join(peers, 'secret-echo-server.mjs')));
mkdirSync(shots, { recursive: true });

const env = {
  ...process.env,
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

/** Fails when a screenshot is (nearly) one colour: the view did not render. */
function assertNotBlank(file) {
  const r = spawnSync('convert', [file, '-colorspace', 'gray', '-format', '%[fx:standard_deviation]', 'info:'], { encoding: 'utf8' });
  const sd = Number(r.stdout);
  if (!(sd > 0.02)) throw new Error(`${file} looks blank (grey-level standard deviation ${r.stdout || r.stderr})`);
}

async function shot(browser, name) {
  await sleep(1000);
  const file = join(shots, `${name}.png`);
  await browser.saveScreenshot(file);
  assertNotBlank(file);
  const text = await browser.$('main').getText();
  if (text.trim().length < 40) throw new Error(`the ${name} view shows almost no text: ${JSON.stringify(text)}`);
}

let browser;
let code = 1;
try {
  if (spawnSync('sh', ['-c', 'command -v trayer']).status === 0) {
    start('trayer', ['--edge', 'top', '--align', 'right', '--widthtype', 'pixel', '--width', '120', '--height', '32']);
  }
  start('tauri-driver', ['--port', '4444']);
  await sleep(1500);
  browser = await remote({
    hostname: '127.0.0.1',
    port: 4444,
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

  await step('the Servers view lists the fixture servers with plaintext secrets', async () => {
    await $(server('echo-local')).waitForExist({ timeout: 20000 });
    await waitState('echo-local', 'plaintext-in-config');
  });

  await step('the Import view shows the masked plan and applies it', async () => {
    await $('[data-view="import"]').click();
    await $('[data-plan-server="echo-local"]').waitForExist({ timeout: 15000 });
    const text = await $('main').getText();
    if (text.includes('KBCANARY')) throw new Error('the plan shows a secret value');
    await shot(browser, 'import');
    await $('[data-action="apply"]').click();
    await browser.waitUntil(async () => (await $('.result').isExisting()) && (await $('.result').getText()).includes('Rewrote'), {
      timeout: 20000,
      timeoutMsg: 'no import result',
    });
    const cfg = readFileSync(config, 'utf8');
    if (cfg.includes('KBCANARY')) throw new Error('a canary is still in the config after the import');
  });

  await step('Disconnect then Connect echo-local by typing its secret', async () => {
    await $('[data-view="servers"]').click();
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

  await step('a real MCP client starts echo-local and its released row appears live in the Audit view', async () => {
    await $('[data-view="audit"]').click();
    await $('.chain.ok').waitForExist({ timeout: 10000 });
    const released = () => browser.$$('tr[data-event="released"][data-server="claude-desktop/echo-local"]').length;
    if ((await released()) !== 0) throw new Error('a released row exists before any spawn');
    const r = spawnSync('node', ['spawn-from-config.mjs', config, 'echo-local', 'env_sha256', JSON.stringify({ name: 'ECHO_API_TOKEN' })], {
      cwd: peers,
      env: { ...env, SPAWN_PASS_ENV: 'DBUS_SESSION_BUS_ADDRESS KEYBROKER_HOME' },
      encoding: 'utf8',
      timeout: 60000,
    });
    if (r.status !== 0) throw new Error(`spawn-from-config failed: ${r.stderr}`);
    const out = JSON.parse(r.stdout);
    if (out.results.env_sha256 !== sha256(TYPED)) throw new Error(`the server got another value: ${r.stdout}`);
    await browser.waitUntil(async () => (await released()) === 1, { timeout: 15000, timeoutMsg: 'no released row appeared' });
    await shot(browser, 'audit');
  });

  await step('a changed command in the file makes the app ask for approval', async () => {
    const cfg = JSON.parse(readFileSync(config, 'utf8'));
    cfg.mcpServers['echo-local'].args.push('--changed-by-e2e');
    writeFileSync(config, JSON.stringify(cfg, null, 2));
    await $('[data-view="servers"]').click();
    await waitState('echo-local', 'command-changed');
    await $(`${server('echo-local')} [data-action="approve"]`).click();
    await $('.compare pre').waitForExist({ timeout: 10000 });
    const newCmd = await browser.$$('.compare pre')[1].getText();
    if (!newCmd.includes('--changed-by-e2e')) throw new Error(`the new command is not shown: ${newCmd}`);
    await $('[data-confirm="approve"]').scrollIntoView({ block: 'end' });
    await shot(browser, 'approval');
    await $('[data-confirm="approve"]').click();
    await waitState('echo-local', 'brokered');
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
      if (text.includes('KBCANARY') || text.includes(TYPED)) throw new Error(`${f} holds a secret value`);
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
