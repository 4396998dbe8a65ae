// The first run, the import across hosts, the Credentials view, Add server, the one
// status line and the theme, against the fake API.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Api } from './api';
import { App } from './app';
import { type Call, credentials, fakeApi, flush, servers, twoHosts } from './fake.test-util';

async function mount(calls: Call[] = [], overrides: Partial<Api> = {}, first = 'start') {
  const root = document.createElement('div');
  document.body.replaceChildren(root);
  const app = new App(root, { ...fakeApi(calls), ...overrides });
  if (first === 'start') await app.start();
  else await app.show('servers');
  await flush();
  return { root, app };
}

const click = (root: Element, sel: string) => (root.querySelector(sel) as HTMLElement).click();

describe('first run', () => {
  it('opens on the hosts found, with counts only, and reviews one import of all of them', async () => {
    const calls: Call[] = [];
    const { root, app } = await mount(calls, { firstRun: () => Promise.resolve(twoHosts) });
    expect(app.current).toBe('welcome');
    const found = [...root.querySelectorAll<HTMLElement>('[data-found-host]')].map((e) => e.dataset.foundHost);
    expect(found).toEqual(['claude-desktop', 'cursor']);
    expect(root.textContent).toContain('Found 2 host configs on this machine, with 3 plaintext secrets');
    expect(root.textContent).toContain('/home/me/.cursor/mcp.json');
    click(root, '[data-action="review-import"]');
    await flush();
    await flush();
    expect(app.current).toBe('import');
    expect([...root.querySelectorAll<HTMLElement>('[data-plan-host]')].map((e) => e.dataset.planHost)).toEqual(['claude-desktop', 'cursor']);
    expect((root.querySelector('input[value="*all*"]') as HTMLInputElement).checked).toBe(true);
    // Leave Cursor's Slack token where it is, then apply to all hosts.
    const cursorBox = root.querySelector('[data-plan-host="cursor"] [data-selector]') as HTMLInputElement;
    cursorBox.checked = false;
    cursorBox.dispatchEvent(new Event('change'));
    await flush();
    expect(calls).toContainEqual(['importPlanAll', { cursor: ['slack:env:SLACK_BOT_TOKEN'] }]);
    click(root, '[data-action="apply"]');
    await flush();
    await flush();
    expect(calls).toContainEqual(['importApplyAll', { cursor: ['slack:env:SLACK_BOT_TOKEN'] }]);
    expect(root.textContent).toContain('Rewrote 2 entries in Claude Desktop, Cursor');
  });

  it('a machine without any host config says so instead of an empty "not found" page', async () => {
    const none = { first_run: true, plaintext: 0, hosts: [] };
    const { root, app } = await mount([], {
      firstRun: () => Promise.resolve(none),
      serversList: () => Promise.resolve({ ...servers, groups: [], attention: 0, summary: 'No MCP servers found yet', status: { level: 'empty', summary: 'No MCP servers found yet', attention: 0, total: 0, notice: null } }),
    });
    expect(app.current).toBe('welcome');
    expect(root.querySelector('[data-no-hosts]')?.textContent).toContain('No MCP host config was found');
    expect(root.textContent).not.toContain('not found)');
    await app.show('import');
    expect(root.querySelector('[data-no-hosts]')).not.toBeNull();
    expect(root.querySelector('input[name="host"]')).toBeNull();
    await app.show('servers');
    expect(root.textContent).toContain('No MCP host config was found on this machine yet');
  });
});

describe('one status', () => {
  it('the summary is the core status, and a server waiting for sign-in is not all good', async () => {
    const { root } = await mount([], {}, 'servers');
    const summary = root.querySelector('[data-status]') as HTMLElement;
    expect(summary.dataset.status).toBe('attention');
    expect(summary.textContent).toBe(servers.status.summary);
    expect(root.textContent).not.toContain('All good');
  });

  it('a server card says when it last received its secrets, and by which process', async () => {
    const { root } = await mount([], {}, 'servers');
    const card = root.querySelector('[data-server="claude-desktop/github"]')!;
    expect(card.querySelector('.received')?.textContent).toMatch(/^last received \d{4}-\d\d-\d\d \d\d:\d\d:\d\d by claude \(pid 11, parent 9\) for claude-desktop$/);
    expect(root.querySelector('[data-server="claude-desktop/echo"] .received')).toBeNull();
  });
});

describe('credentials view', () => {
  it('lists each credential by name with its servers and last hand-out, never a value', async () => {
    const calls: Call[] = [];
    const { root, app } = await mount(calls);
    await app.show('credentials');
    const cards = [...root.querySelectorAll<HTMLElement>('[data-credential]')];
    expect(cards.map((c) => c.dataset.credential)).toEqual(credentials.credentials.map((c) => c.id));
    const gh = cards[0];
    const rows = [...gh.querySelectorAll<HTMLElement>('[data-bound-server]')];
    expect(rows.map((r) => r.dataset.boundServer)).toEqual(['claude-desktop/github', 'cursor/github']);
    expect(rows[0].textContent).toContain('by claude (pid 11, parent 9)');
    expect(rows[1].textContent).toContain('never received yet');
    // A sign-in is renewed by signing in again: no Rotate or Remove for it.
    expect(cards[1].querySelector('[data-action]')).toBeNull();
    expect(cards[1].textContent).toContain('missing from keychain');
  });

  it('rotate takes the new value in a masked field, sends it once and clears it', async () => {
    const calls: Call[] = [];
    const { root, app } = await mount(calls);
    await app.show('credentials');
    click(root, '[data-credential="github-personal-access-token"] [data-action="rotate"]');
    const field = root.querySelector('[data-credential="github-personal-access-token"] input[type="password"]') as HTMLInputElement;
    expect(field).not.toBeNull();
    expect(root.textContent).toContain('claude-desktop/github, cursor/github');
    field.value = 'ghp_rotatedrotatedrotatedrotated0000';
    click(root, '[data-submit="rotate"]');
    expect(field.value).toBe('');
    await flush();
    expect(calls).toContainEqual(['credentialRotate', 'github-personal-access-token', 'ghp_rotatedrotatedrotatedrotated0000']);
  });

  it('remove asks before deleting anything', async () => {
    const calls: Call[] = [];
    const { root, app } = await mount(calls);
    await app.show('credentials');
    click(root, '[data-credential="github-personal-access-token"] [data-action="remove"]');
    expect(calls.some((c) => c[0] === 'credentialRemove')).toBe(false);
    click(root, '[data-confirm="remove"]');
    await flush();
    expect(calls).toContainEqual(['credentialRemove', 'github-personal-access-token']);
  });
});

describe('add server', () => {
  it('adds a remote server by URL, then starts Sign in on its card', async () => {
    const calls: Call[] = [];
    const { root, app } = await mount(calls);
    await app.show('add');
    (root.querySelector('[data-field="name"]') as HTMLInputElement).value = 'linear';
    (root.querySelector('[data-field="url"]') as HTMLInputElement).value = ' https://mcp.linear.app/mcp ';
    click(root, '[data-submit="add"]');
    await flush();
    await flush();
    await flush();
    expect(calls).toContainEqual(['addServer', { kind: 'remote', host: 'claude-desktop', name: 'linear', url: 'https://mcp.linear.app/mcp' }, []]);
    expect(app.current).toBe('servers');
    expect(calls).toContainEqual(['signIn', 'claude-desktop/linear']);
  });

  it('adds a stdio server with its secrets typed into masked fields', async () => {
    const calls: Call[] = [];
    const { root, app } = await mount(calls);
    await app.show('add');
    const stdio = root.querySelector('[data-kind="stdio"]') as HTMLInputElement;
    stdio.checked = true;
    stdio.dispatchEvent(new Event('change'));
    (root.querySelector('[data-field="name"]') as HTMLInputElement).value = 'github';
    (root.querySelector('[data-field="command"]') as HTMLInputElement).value = 'npx';
    (root.querySelector('[data-field="args"]') as HTMLTextAreaElement).value = '-y\n@modelcontextprotocol/server-github\n';
    (root.querySelector('[data-secret-name="0"]') as HTMLInputElement).value = 'GITHUB_TOKEN';
    const value = root.querySelector('.secret-row input[type="password"]') as HTMLInputElement;
    expect(value).not.toBeNull();
    value.value = 'ghp_typedtypedtypedtypedtypedtyped00';
    click(root, '[data-submit="add"]');
    expect(value.value).toBe('');
    await flush();
    await flush();
    expect(calls).toContainEqual([
      'addServer',
      { kind: 'stdio', host: 'claude-desktop', name: 'github', command: 'npx', args: ['-y', '@modelcontextprotocol/server-github'] },
      [{ env: 'GITHUB_TOKEN', value: 'ghp_typedtypedtypedtypedtypedtyped00' }],
    ]);
    expect(calls.some((c) => c[0] === 'signIn')).toBe(false);
  });

  it('an error names the field and is shown as text', async () => {
    const { root, app } = await mount([], {
      addServer: () => Promise.reject({ code: 'other', message: 'Name: `a b` is not a server name', fix: 'use letters, digits, - and _' }),
    });
    await app.show('add');
    (root.querySelector('[data-field="name"]') as HTMLInputElement).value = 'a b';
    click(root, '[data-submit="add"]');
    await flush();
    await flush();
    expect(root.querySelector('.status')?.textContent).toContain('Name: `a b` is not a server name');
  });
});

describe('theme', () => {
  it('the Theme setting switches <html> to dark and back to the desktop preference', async () => {
    const { root } = await mount([], {}, 'servers');
    const sel = root.querySelector('[data-setting="theme"]') as HTMLSelectElement;
    sel.value = 'dark';
    sel.dispatchEvent(new Event('change'));
    expect(document.documentElement.dataset.theme).toBe('dark');
    sel.value = 'system';
    sel.dispatchEvent(new Event('change'));
    expect(document.documentElement.hasAttribute('data-theme')).toBe(false);
  });

  it('dark mode is real CSS: the desktop preference and the setting both set dark colours', () => {
    const css = readFileSync(join(process.cwd(), 'src/styles.css'), 'utf8');
    const dark = css.slice(css.indexOf("[data-theme='dark']"));
    expect(css).toMatch(/@media \(prefers-color-scheme: dark\)\s*{\s*:root:not\(\[data-theme='light'\]\)/);
    expect(dark).toContain('--bg: #17191c');
    expect(dark).toContain('color-scheme: dark');
  });
});
