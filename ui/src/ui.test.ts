import { describe, expect, it } from 'vitest';
import type { Api } from './api';
import { App } from './app';
import { h } from './dom';
import { toRfc3339 } from './views/audit';
import { type Call, fakeApi, flush, plan, servers } from './fake.test-util';
import type { PlanView, ServerView, ServersView } from './bindings';

async function mount(calls: Call[] = [], overrides: Partial<Api> = {}) {
  const root = document.createElement('div');
  document.body.replaceChildren(root);
  const app = new App(root, { ...fakeApi(calls), ...overrides });
  await app.show('servers');
  return { root, app };
}

/** A sign-in that waits (like the browser round trip) until the test settles it. */
function pendingSignIn(calls: Call[]) {
  const ctl = {} as { resolve: (msg: string) => void; reject: (e: unknown) => void };
  const signIn = (id: string) => {
    calls.push(['signIn', id]);
    return new Promise<string>((resolve, reject) => Object.assign(ctl, { resolve, reject }));
  };
  return { ctl, signIn };
}

const LINEAR = '[data-server="claude-desktop/linear"]';

describe('dom', () => {
  it('renders strings from configs as text, never as HTML', () => {
    const el = h('p', {}, '<img src=x onerror=alert(1)>');
    expect(el.querySelector('img')).toBeNull();
    expect(el.textContent).toBe('<img src=x onerror=alert(1)>');
  });
});

describe('servers view', () => {
  it('groups servers by host and shows credential names but no values', async () => {
    const { root } = await mount();
    expect(root.querySelector('h3')?.textContent).toBe('Claude Desktop');
    expect(root.querySelectorAll('[data-server]')).toHaveLength(4);
    expect(root.textContent).toContain('github-personal-access-token -> env:GITHUB_PERSONAL_ACCESS_TOKEN');
    expect(root.querySelector('img')).toBeNull();
    expect(root.textContent).toContain('<img src=x onerror=alert(1)>');
  });

  it('connect asks one masked field per missing secret and sends the typed values', async () => {
    const calls: Call[] = [];
    const { root } = await mount(calls);
    const card = root.querySelector('[data-server="claude-desktop/echo"]')!;
    (card.querySelector('[data-action="connect"]') as HTMLButtonElement).click();
    await flush();
    const fields = root.querySelectorAll<HTMLInputElement>('[data-server="claude-desktop/echo"] input[data-env]');
    expect([...fields].map((f) => f.dataset.env)).toEqual(['ECHO_API_TOKEN', 'OTHER_TOKEN']);
    expect([...fields].every((f) => f.type === 'password')).toBe(true);
    const toggle = fields[0].parentElement!.querySelector('button')!;
    toggle.click();
    expect(fields[0].type).toBe('text');
    toggle.click();
    expect(fields[0].type).toBe('password');
    fields[0].value = 'one';
    fields[1].value = 'two';
    fields[0].form!.requestSubmit();
    await flush();
    expect(calls).toContainEqual(['connect', 'claude-desktop/echo', [{ env: 'ECHO_API_TOKEN', value: 'one' }, { env: 'OTHER_TOKEN', value: 'two' }]]);
    expect(fields[0].value).toBe('');
  });

  it('a background change does not wipe a secret being typed', async () => {
    const { root, app } = await mount();
    (root.querySelector('[data-server="claude-desktop/echo"] [data-action="connect"]') as HTMLButtonElement).click();
    await flush();
    const field = root.querySelector<HTMLInputElement>('input[data-env="ECHO_API_TOKEN"]')!;
    field.value = 'half-typed';
    await app.changed();
    expect(root.querySelector<HTMLInputElement>('input[data-env="ECHO_API_TOKEN"]')).toBe(field);
    expect(field.value).toBe('half-typed');
  });

  it('approve shows the approved and the new command side by side and sends the one shown', async () => {
    const calls: Call[] = [];
    const { root } = await mount(calls);
    (root.querySelector('[data-server="claude-desktop/changed"] [data-action="approve"]') as HTMLButtonElement).click();
    await flush();
    await flush();
    const pres = [...root.querySelectorAll('.compare pre')].map((p) => p.textContent);
    expect(pres).toEqual(['node\n/srv/echo.mjs', 'node\n/srv/echo.mjs\n--evil']);
    const details = [...root.querySelectorAll('.compare .spawn')].map((p) => p.textContent);
    expect(details).toContain('program: node (/usr/bin/node)');
    expect(details).toContain('env: PLAIN=https://api.example');
    expect(details).toContain('env: PLAIN=https://evil.example');
    expect(details).toContain('type: "stdio"');
    const changes = [...root.querySelectorAll('.changes li')].map((li) => li.textContent);
    expect(changes).toContain('env PLAIN: "https://api.example" -> "https://evil.example"');
    (root.querySelector('[data-confirm="approve"]') as HTMLButtonElement).click();
    await flush();
    expect(calls).toContainEqual(['approve', 'claude-desktop/changed', ['node', '/srv/echo.mjs', '--evil']]);
  });

  it('moving the secrets of an entry whose command changed opens the review, and only approving moves them', async () => {
    const calls: Call[] = [];
    const gained: ServerView = {
      ...servers.groups[0].servers[2],
      id: 'claude-desktop/gained',
      name: 'gained',
      state: 'plaintext-in-config',
      state_text: 'plaintext in config',
      actions: ['move-to-keychain'],
    };
    const view: ServersView = { ...servers, groups: [{ ...servers.groups[0], servers: [gained] }] };
    const base = fakeApi(calls);
    const { root } = await mount(calls, {
      serversList: () => Promise.resolve(view),
      moveToKeychain: (id: string) => {
        calls.push(['moveToKeychain', id]);
        return Promise.reject({
          code: 'needs_approval',
          message: 'the command of claude-desktop/gained changed since you approved it; its secrets stay in the file until you review and approve the new command',
          fix: 'review it: `keybroker import claude-desktop --approve claude-desktop/gained`',
        });
      },
      pendingApproval: async (id: string) => {
        const p = await base.pendingApproval(id);
        return p && { ...p, plaintext: ['env:NEW_TOKEN'] };
      },
    });
    (root.querySelector('[data-server="claude-desktop/gained"] [data-action="move-to-keychain"]') as HTMLButtonElement).click();
    await flush();
    await flush();
    await flush();
    expect(calls).toContainEqual(['moveToKeychain', 'claude-desktop/gained']);
    expect(calls.some((c) => c[0] === 'approve')).toBe(false);
    const pres = [...root.querySelectorAll('[data-server="claude-desktop/gained"] .compare pre')].map((p) => p.textContent);
    expect(pres).toEqual(['node\n/srv/echo.mjs', 'node\n/srv/echo.mjs\n--evil']);
    expect(root.querySelector('[data-plaintext]')?.textContent).toContain('env:NEW_TOKEN');
    const approve = root.querySelector('[data-confirm="approve"]') as HTMLButtonElement;
    expect(approve.textContent).toBe('Approve and move secrets to keychain');
    approve.click();
    await flush();
    expect(calls).toContainEqual(['approve', 'claude-desktop/gained', ['node', '/srv/echo.mjs', '--evil']]);
  });

  it('an entry that starts another keybroker offers Repair, which repairs only that server', async () => {
    const calls: Call[] = [];
    const drift: ServerView = {
      ...servers.groups[0].servers[0],
      id: 'claude-desktop/moved',
      name: 'moved',
      state: 'launcher-drift',
      state_text: 'launcher moved',
      needs_attention: true,
      actions: ['repair'],
    };
    const view: ServersView = { ...servers, attention: 1, groups: [{ ...servers.groups[0], servers: [drift] }] };
    const { root } = await mount(calls, { serversList: () => Promise.resolve(view) });
    const button = root.querySelector('[data-server="claude-desktop/moved"] [data-action="repair"]') as HTMLButtonElement;
    expect(button.textContent).toBe('Repair launcher');
    expect(root.querySelector('[data-server="claude-desktop/moved"]')?.getAttribute('data-state')).toBe('launcher-drift');
    button.click();
    await flush();
    expect(calls).toContainEqual(['repair', 'claude-desktop/moved']);
  });

  it('disconnect asks for confirmation before removing anything', async () => {
    const calls: Call[] = [];
    const { root } = await mount(calls);
    (root.querySelector('[data-server="claude-desktop/github"] [data-action="disconnect"]') as HTMLButtonElement).click();
    await flush();
    expect(calls.some((c) => c[0] === 'disconnect')).toBe(false);
    (root.querySelector('[data-confirm="disconnect"]') as HTMLButtonElement).click();
    await flush();
    expect(calls).toContainEqual(['disconnect', 'claude-desktop/github']);
  });
});

describe('sign in', () => {
  it('shows that it waits for the browser, then reports success and refreshes', async () => {
    const calls: Call[] = [];
    const { ctl, signIn } = pendingSignIn(calls);
    const { root } = await mount(calls, { signIn });
    const button = root.querySelector(`${LINEAR} [data-action="sign-in"]`) as HTMLButtonElement;
    expect(button.textContent).toBe('Sign in…');
    button.click();
    await flush();
    expect(calls).toContainEqual(['signIn', 'claude-desktop/linear']);
    expect(root.querySelector(`${LINEAR} [data-sign-in-progress]`)?.textContent).toBe('Waiting for the browser…');
    expect(root.querySelector(`${LINEAR} [data-action="sign-in"]`)).toBeNull();
    const lists = calls.filter((c) => c[0] === 'serversList').length;
    ctl.resolve('Signed in: claude-desktop/linear can now use https://as.example.');
    await flush();
    await flush();
    expect(root.querySelector('.status')?.textContent).toContain('Signed in: claude-desktop/linear');
    expect(calls.filter((c) => c[0] === 'serversList').length).toBeGreaterThan(lists);
    expect(root.querySelector(`${LINEAR} [data-sign-in-progress]`)).toBeNull();
  });

  it('cancel asks the core to stop waiting and says it was cancelled', async () => {
    const calls: Call[] = [];
    const { ctl, signIn } = pendingSignIn(calls);
    const signInCancel = (id: string) => {
      calls.push(['signInCancel', id]);
      ctl.reject({ code: 'other', message: 'sign-in cancelled', fix: 'connect again when you are ready' });
      return Promise.resolve(true);
    };
    const { root } = await mount(calls, { signIn, signInCancel });
    (root.querySelector(`${LINEAR} [data-action="sign-in"]`) as HTMLButtonElement).click();
    await flush();
    (root.querySelector(`${LINEAR} [data-cancel="sign-in"]`) as HTMLButtonElement).click();
    await flush();
    await flush();
    expect(calls).toContainEqual(['signInCancel', 'claude-desktop/linear']);
    expect(root.querySelector('.status')?.textContent).toBe('Sign-in to linear cancelled.');
    expect(root.querySelector(`${LINEAR} [data-sign-in-error]`)).toBeNull();
    expect(root.querySelector(`${LINEAR} [data-action="sign-in"]`)).not.toBeNull();
  });

  it('a failed sign-in shows the error as text in the card', async () => {
    const calls: Call[] = [];
    const { ctl, signIn } = pendingSignIn(calls);
    const { root } = await mount(calls, { signIn });
    (root.querySelector(`${LINEAR} [data-action="sign-in"]`) as HTMLButtonElement).click();
    await flush();
    ctl.reject({ code: 'denied', message: 'refused to open an authorization URL: <b>scheme `javascript:`</b>' });
    await flush();
    await flush();
    const err = root.querySelector(`${LINEAR} [data-sign-in-error]`);
    expect(err?.textContent).toBe('refused to open an authorization URL: <b>scheme `javascript:`</b>');
    expect(err?.querySelector('b')).toBeNull();
    expect(root.querySelector('.status')?.className).toContain('error');
    expect(root.querySelector(`${LINEAR} [data-action="sign-in"]`)).not.toBeNull();
  });

  it('a tray click on Sign in starts it in the window', async () => {
    const calls: Call[] = [];
    const { ctl, signIn } = pendingSignIn(calls);
    const { root, app } = await mount(calls, { signIn });
    await app.navigate({ view: 'servers', server: 'claude-desktop/linear', action: 'sign-in' });
    await flush();
    expect(calls).toContainEqual(['signIn', 'claude-desktop/linear']);
    expect(root.querySelector(`${LINEAR} [data-sign-in-progress]`)).not.toBeNull();
    ctl.resolve('Signed in.');
    await flush();
  });
});

describe('errors', () => {
  const status = (root: HTMLElement) => root.querySelector('.status') as HTMLElement;

  it('config_changed on Apply offers Re-plan instead of the command-line remedy', async () => {
    const calls: Call[] = [];
    const importApply = (host: string, exclude: string[]) => {
      calls.push(['importApply', host, exclude]);
      return Promise.reject({
        code: 'config_changed',
        message: '/cfg.json changed while Keybroker was editing it (another program saved it)',
        fix: 'nothing was written; run the command again to re-plan against the new contents',
      });
    };
    const { root, app } = await mount(calls, { importApply });
    await app.show('import');
    (root.querySelector('[data-action="apply"]') as HTMLButtonElement).click();
    await flush();
    await flush();
    expect(status(root).className).toContain('error');
    expect(status(root).textContent).toContain('changed while Keybroker was editing it');
    expect(status(root).textContent).not.toContain('run the command again');
    const replan = status(root).querySelector('[data-fix="config_changed"]') as HTMLButtonElement;
    expect(replan.textContent).toBe('Re-plan');
    const plans = calls.filter((c) => c[0] === 'importPlan').length;
    replan.click();
    await flush();
    expect(calls.filter((c) => c[0] === 'importPlan').length).toBe(plans + 1);
    expect(status(root).querySelector('[data-fix]')).toBeNull();
  });

  it('needs_sign_in offers the Sign in action, which starts a sign-in', async () => {
    const calls: Call[] = [];
    const { ctl, signIn } = pendingSignIn(calls);
    const { root } = await mount(calls, { signIn });
    (root.querySelector(`${LINEAR} [data-action="sign-in"]`) as HTMLButtonElement).click();
    await flush();
    ctl.reject({
      code: 'needs_sign_in',
      message: 'claude-desktop/linear needs sign-in: the server rejected the new token',
      fix: 'run `keybroker connect claude-desktop/linear`',
    });
    await flush();
    await flush();
    expect(status(root).textContent).toContain('needs sign-in: the server rejected the new token');
    expect(status(root).textContent).not.toContain('keybroker connect');
    const button = status(root).querySelector('[data-fix="needs_sign_in"]') as HTMLButtonElement;
    expect(button.textContent).toBe('Sign in…');
    button.click();
    await flush();
    expect(calls.filter((c) => c[0] === 'signIn')).toHaveLength(2);
    expect(root.querySelector(`${LINEAR} [data-sign-in-progress]`)).not.toBeNull();
    ctl.resolve('Signed in.');
    await flush();
  });

  it('a code without a button here shows the fix as text, and no fix shows nothing more', async () => {
    const { root, app } = await mount([], {
      auditExport: () =>
        Promise.reject({
          code: 'keychain',
          message: 'the OS keychain is not available: locked',
          fix: 'unlock your keychain, then try again',
        }),
    });
    await app.show('audit');
    (root.querySelector('.filters button') as HTMLButtonElement).click();
    await flush();
    await flush();
    expect(status(root).querySelector('.message')?.textContent).toBe('the OS keychain is not available: locked');
    expect(status(root).querySelector('[data-fix-text]')?.textContent).toBe('unlock your keychain, then try again');
    expect(status(root).querySelector('button')).toBeNull();

    app.fail({ code: 'io', message: '/audit.jsonl: permission denied', fix: null });
    expect(status(root).textContent).toBe('/audit.jsonl: permission denied');
    app.fail('plain failure');
    expect(status(root).textContent).toBe('plain failure');
  });
});

describe('import view', () => {
  it('unticking a finding re-plans without it and Apply sends the exclusion', async () => {
    const calls: Call[] = [];
    const { root, app } = await mount(calls);
    await app.show('import');
    expect(root.textContent).toContain('xoxb…0SD');
    const apply = () => root.querySelector('[data-action="apply"]') as HTMLButtonElement;
    expect(apply().disabled).toBe(false);
    const box = root.querySelector('[data-selector="slack:env:SLACK_BOT_TOKEN"]') as HTMLInputElement;
    box.checked = false;
    box.dispatchEvent(new Event('change'));
    await flush();
    expect(calls).toContainEqual(['importPlan', 'claude-desktop', ['slack:env:SLACK_BOT_TOKEN']]);
    expect(apply().disabled).toBe(true);
    box.checked = true;
    (root.querySelector('[data-selector]') as HTMLInputElement).checked = true;
    (root.querySelector('[data-selector]') as HTMLInputElement).dispatchEvent(new Event('change'));
    await flush();
    apply().click();
    await flush();
    expect(calls).toContainEqual(['importApply', 'claude-desktop', []]);
    expect(root.textContent).toContain('Rewrote 1 entry');
  });
  it('an entry whose command changed shows both commands and is left as is by Apply', async () => {
    const calls: Call[] = [];
    const base = fakeApi(calls);
    const approval = await base.pendingApproval('claude-desktop/gained');
    const needs = (ex: string[]): PlanView => {
      const p = plan(ex);
      return {
        ...p,
        servers: [
          ...p.servers,
          {
            name: 'gained',
            id: 'claude-desktop/gained',
            action: 'needs-approval',
            action_text: 'command changed: left as is until you approve it',
            changes: false,
            moves: [{ ...p.servers[0].moves[0], target: 'env:NEW_TOKEN', selector: 'gained:env:NEW_TOKEN' }],
            notes: [],
            new_entry: null,
            approval: approval && { ...approval, plaintext: ['env:NEW_TOKEN'] },
          },
        ],
      };
    };
    const { root, app } = await mount(calls, { importPlan: (_h: string, ex: string[]) => Promise.resolve(needs(ex)) });
    await app.show('import');
    const block = root.querySelector('[data-needs-approval="claude-desktop/gained"]')!;
    expect(block.textContent).toContain('env:NEW_TOKEN');
    expect([...block.querySelectorAll('pre')].map((p) => p.textContent)).toEqual(['node\n/srv/echo.mjs', 'node\n/srv/echo.mjs\n--evil']);
    expect(root.querySelector('[data-selector="gained:env:NEW_TOKEN"]')).toBeNull();
    expect(root.querySelector('[data-plan-server="gained"] [data-confirm]')).toBeNull();
  });
});

describe('import plan', () => {
  it('shows what a partly moved value becomes, with placeholders and masked values only', async () => {
    const base = plan([]);
    const template = '{"Authorization": "Bearer ${keybroker:openapi-mcp-headers}", "Notion-Version": "2022-06-28"}';
    const notion: PlanView = {
      ...base,
      servers: [
        {
          ...base.servers[0],
          name: 'notion',
          id: 'claude-desktop/notion',
          moves: [
            {
              target: 'env:OPENAPI_MCP_HEADERS',
              selector: 'notion:env:OPENAPI_MCP_HEADERS',
              rule_text: 'Notion integration secret (ntn_/secret_)',
              masked: 'ntn_…IrhH',
              credential: 'openapi-mcp-headers',
              reused: false,
              excluded: false,
              becomes: `env OPENAPI_MCP_HEADERS = ${template}`,
            },
          ],
        },
      ],
    };
    const { root, app } = await mount([], { importPlan: () => Promise.resolve(notion) });
    await app.show('import');
    const becomes = root.querySelector('.becomes');
    expect(becomes?.textContent).toBe(`Becomes: env OPENAPI_MCP_HEADERS = ${template}`);
    expect(root.textContent).toContain('ntn_…IrhH');
  });
});

describe('audit view', () => {
  it('shows rows newest first with the chain state and passes filters through', async () => {
    const calls: Call[] = [];
    const { root, app } = await mount(calls);
    await app.show('audit');
    const events = [...root.querySelectorAll('tbody tr')].map((r) => r.getAttribute('data-event'));
    expect(events).toEqual(['tool-denied', 'released', 'imported']);
    expect(root.querySelector('.chain')?.textContent).toContain('Chain verified: 3 event(s)');
    expect(root.textContent).toContain('11 / node');
    await app.audit.setFilter({ server: 'claude-desktop/echo' });
    expect(calls.at(-1)?.[1]).toMatchObject({ server: 'claude-desktop/echo' });
  });

  it('the Event filter is a list of the kinds the core writes, and tool events show their tool and outcome', async () => {
    const calls: Call[] = [];
    const { root, app } = await mount(calls);
    await app.show('audit');
    const sel = root.querySelector('select[data-filter="event"]') as HTMLSelectElement;
    const options = [...sel.options].map((o) => o.value);
    expect(options[0]).toBe('');
    expect(sel.options[0].textContent).toBe('any');
    for (const k of ['tool-call', 'tool-denied', 'tool-held', 'policy-changed']) expect(options).toContain(k);
    sel.value = 'tool-denied';
    sel.dispatchEvent(new Event('change'));
    await flush();
    expect(calls.at(-1)).toEqual(['auditView', expect.objectContaining({ event: 'tool-denied' })]);
    expect(sel.value).toBe('tool-denied');
    const row = root.querySelector('tr[data-event="tool-denied"]') as HTMLElement;
    expect(row.dataset.tool).toBe('delete_repo');
    const cells = [...row.querySelectorAll('td')].map((c) => c.textContent);
    expect(cells).toContain('tool delete_repo');
    expect(cells).toContain('denied');
    expect(row.title).toBe('not allowed by its tool policy');
    sel.value = '';
    sel.dispatchEvent(new Event('change'));
    await flush();
    expect(calls.at(-1)).toEqual(['auditView', expect.objectContaining({ event: null })]);
  });

  it('turns local date-times into RFC 3339 and ignores empty ones', () => {
    expect(toRfc3339('')).toBeNull();
    expect(toRfc3339('not a date')).toBeNull();
    expect(toRfc3339('2026-01-02T03:04')).toMatch(/^2026-01-0[12]T\d\d:04:00\.000Z$/);
  });
});

describe('app shell', () => {
  it('shows progress while a slow call runs and hides it after', async () => {
    const { root, app } = await mount();
    let release!: () => void;
    const p = app.busy('Working…', () => new Promise<void>((r) => (release = r)));
    expect((root.querySelector('.progress') as HTMLElement).hidden).toBe(false);
    expect(root.getAttribute('aria-busy')).toBe('true');
    release();
    await p;
    expect((root.querySelector('.progress') as HTMLElement).hidden).toBe(true);
  });

  it('follows a tray click to the server and opens its form', async () => {
    const { root, app } = await mount();
    await app.navigate({ view: 'servers', server: 'claude-desktop/echo', action: 'connect' });
    expect(root.querySelectorAll('[data-server="claude-desktop/echo"] input[data-env]')).toHaveLength(2);
  });
});
