// The Health view against the fake API: levels in words and icons, the fix under each
// check, and each button calling the API (or opening the view) that fixes it.
import { describe, expect, it } from 'vitest';
import type { Api } from './api';
import { App } from './app';
import type { HealthView } from './bindings';
import { type Call, fakeApi, flush, health } from './fake.test-util';

async function mount(calls: Call[] = [], overrides: Partial<Api> = {}) {
  const root = document.createElement('div');
  document.body.replaceChildren(root);
  const app = new App(root, { ...fakeApi(calls), ...overrides });
  await app.show('health');
  await flush();
  return { root, app };
}

const row = (root: Element, id: string) => root.querySelector(`[data-check="${id}"]`) as HTMLElement;
const click = (root: Element, sel: string) => (root.querySelector(sel) as HTMLElement).click();

describe('health view', () => {
  it('shows every check with its level in words and an icon, not colour alone', async () => {
    const { root } = await mount();
    const rows = [...root.querySelectorAll<HTMLElement>('[data-check]')];
    expect(rows.map((r) => r.dataset.check)).toEqual(health.checks.map((c) => c.id));
    expect(rows.map((r) => r.dataset.level)).toEqual(['ok', 'problem', 'ok', 'problem', 'problem', 'ok', 'ok', 'warning']);
    const text = (id: string) => row(root, id).querySelector('[data-level-text]')?.textContent;
    expect(text('keychain')).toBe('OK');
    expect(text('launcher')).toBe('Needs you');
    expect(text('autostart')).toBe('Warning');
    expect(row(root, 'keychain').querySelector('.check-icon')?.textContent).toBe('✓');
    expect(row(root, 'launcher').querySelector('.check-icon')?.textContent).toBe('✕');
    expect(row(root, 'autostart').querySelector('.check-icon')?.textContent).toBe('!');
    expect(root.querySelector('[data-health]')?.textContent).toBe(health.summary);
    // The fix in words under a check that needs the user; none under an ok one.
    expect(row(root, 'launcher').querySelector('[data-fix]')?.textContent).toContain('point the entries Keybroker wrote at /opt/keybroker/keybroker');
    expect(row(root, 'launcher').textContent).toContain('claude-desktop/echo: starts /old/keybroker');
    expect(row(root, 'keychain').querySelector('[data-fix]')).toBeNull();
    expect(row(root, 'keychain').querySelector('button')).toBeNull();
  });

  it('a check the app cannot fix (a locked keychain) shows its fix and commands, and no button', async () => {
    const locked: HealthView = {
      ...health,
      checks: [
        {
          id: 'keychain',
          title: 'Keychain',
          level: 'problem',
          level_text: 'Needs you',
          summary: 'GNOME Keyring is running but its `login` collection is locked',
          details: [],
          fix: 'unlock the `login` keyring',
          commands: ['read -rs KEYRING_PASSWORD', 'gnome-keyring-daemon --replace --unlock'],
          actions: [],
        },
      ],
    };
    const { root } = await mount([], { health: () => Promise.resolve(locked) });
    const kc = row(root, 'keychain');
    expect(kc.querySelector('[data-fix]')?.textContent).toContain('unlock the `login` keyring');
    expect(kc.querySelector('[data-commands]')?.textContent).toContain('gnome-keyring-daemon --replace --unlock');
    expect(kc.querySelector('button')).toBeNull();
  });

  it('Repair calls the repair API for the server the check names, then runs the checks again', async () => {
    const calls: Call[] = [];
    const { root } = await mount(calls);
    expect(calls.filter((c) => c[0] === 'health')).toHaveLength(1);
    click(root, '[data-check="launcher"] [data-health-action="repair"]');
    await flush();
    await flush();
    expect(calls).toContainEqual(['repair', 'claude-desktop/echo']);
    expect(calls.filter((c) => c[0] === 'health')).toHaveLength(2);
    expect(root.querySelector('.status')?.textContent).toBe('repaired');
  });

  it('Review opens the approval in the Servers view, Sign in starts the sign-in there', async () => {
    const calls: Call[] = [];
    const { root, app } = await mount(calls);
    click(root, '[data-check="approvals"] [data-health-action="approve"]');
    await flush();
    await flush();
    expect(app.current).toBe('servers');
    expect(calls).toContainEqual(['pendingApproval', 'claude-desktop/changed']);
    await app.show('health');
    await flush();
    click(root, '[data-check="sign-in"] [data-health-action="sign-in"]');
    await flush();
    await flush();
    expect(app.current).toBe('servers');
    expect(calls).toContainEqual(['signIn', 'claude-desktop/linear']);
  });

  it('Rewrite the login entry turns Start at login on through the settings command', async () => {
    const calls: Call[] = [];
    const { root } = await mount(calls);
    click(root, '[data-check="autostart"] [data-health-action="autostart"]');
    await flush();
    await flush();
    expect(calls).toContainEqual(['autostartSet', true]);
  });

  it('Refresh runs the checks again; a file change does not', async () => {
    const calls: Call[] = [];
    const { root, app } = await mount(calls);
    await app.changed();
    expect(calls.filter((c) => c[0] === 'health')).toHaveLength(1);
    click(root, '[data-action="health-refresh"]');
    await flush();
    expect(calls.filter((c) => c[0] === 'health')).toHaveLength(2);
  });

  it('the window summary links to Health when something waits for the user', async () => {
    const { root, app } = await mount();
    await app.show('servers');
    await flush();
    click(root, '[data-action="open-health"]');
    await flush();
    expect(app.current).toBe('health');
  });

  it('the nav has a Health entry', async () => {
    const { root } = await mount();
    expect(root.querySelector('nav [data-view="health"]')?.textContent).toBe('Health');
    expect(root.querySelector('nav [data-view="health"]')?.getAttribute('aria-current')).toBe('page');
  });
});
