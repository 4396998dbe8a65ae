// Servers view: servers grouped by host, their state and bound credential names (never
// values), and Connect / Move to keychain / Rotate / Disconnect / Approve / Repair /
// Sign in. Moving the secrets of an entry whose command changed is refused by the core
// (`needs_approval`): the view answers with the approval form instead.
// Sign in waits for the browser: the card shows that, with Cancel, until it comes back.
// Every server Keybroker starts has a Tools button (with the count of held tools) that
// opens its Tools panel.
import type { Api, Ui } from '../api';
import type { ServerAction, ServerView, ServersView, SpawnView } from '../bindings';
import { h, replace } from '../dom';
import { type FixActions, asErrorView, errorBlock, errorText } from '../errors';
import { receivedText } from '../received';

const ACTION_LABEL: Record<ServerAction, string> = {
  connect: 'Connect…',
  'move-to-keychain': 'Move secrets to keychain',
  rotate: 'Rotate…',
  disconnect: 'Disconnect…',
  approve: 'Review change…',
  'sign-in': 'Sign in…',
  repair: 'Repair launcher',
  tools: 'Tools',
};

/** Where the Servers view sends the user: a server's tools, the Health view. */
export interface ServersNav {
  tools: (serverId: string) => void;
  health?: () => void;
}

/** A masked secret field with a show/hide toggle; paste works as usual. */
export function secretField(env: string, label = env): { row: HTMLElement; input: HTMLInputElement } {
  const id = `secret-${env}-${Math.random().toString(36).slice(2, 8)}`;
  const input = h('input', {
    id,
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    'data-env': env,
    required: true,
  });
  const toggle = h(
    'button',
    {
      type: 'button',
      class: 'ghost',
      'aria-controls': id,
      'aria-pressed': 'false',
      onclick: () => {
        const show = input.type === 'password';
        input.type = show ? 'text' : 'password';
        toggle.textContent = show ? 'Hide' : 'Show';
        toggle.setAttribute('aria-pressed', String(show));
      },
    },
    'Show',
  );
  const row = h('div', { class: 'field' }, h('label', { for: id }, label), h('div', { class: 'secret' }, input, toggle));
  return { row, input };
}

/** Each command argument on its own line: nothing is hidden by wrapping or quoting. */
/** One side of an approval: the command line, then everything else that decides what runs
 *  (where the program resolved, env names and values, cwd, other keys), all as text. */
function commandBlock(title: string, cmd: string[], env: string[], spawn: SpawnView | null, cls: string): HTMLElement {
  const details: HTMLElement[] = [];
  if (spawn) {
    const line = (text: string) => details.push(h('p', { class: 'muted spawn' }, text));
    line(`program: ${spawn.program} (${spawn.resolved ?? 'not found'})`);
    const vars = Object.entries(spawn.env);
    if (vars.length === 0) line('env: (none)');
    for (const [k, v] of vars) line(`env: ${k}=${v}`);
    line(`cwd: ${spawn.cwd ?? '(not set)'}`);
    for (const [k, v] of Object.entries(spawn.keys)) line(`${k}: ${v}`);
    if (spawn.cwd_bound) line(`runs only from ${spawn.resolved_cwd}`);
  } else {
    details.push(h('p', { class: 'muted' }, env.length ? `env: ${env.join(', ')}` : 'env: (none)'));
  }
  return h('div', { class: `cmd ${cls}` }, h('h4', {}, title), h('pre', {}, cmd.join('\n')), ...details);
}

export class ServersPanel {
  private view: ServersView | null = null;
  private open: { id: string; action: ServerAction } | null = null;
  /** Sign-ins waiting for the browser, and the ones the user cancelled. */
  private readonly signing = new Set<string>();
  private readonly cancelled = new Set<string>();
  /** The last sign-in error per server, shown in its card as text. */
  private readonly signInErrors = new Map<string, string>();
  readonly root: HTMLElement;

  constructor(
    private readonly api: Api,
    private readonly ui: Ui,
    private readonly nav: ServersNav = { tools: () => {} },
  ) {
    this.root = h('section', { class: 'view', 'aria-labelledby': 'servers-title' });
  }

  async refresh(): Promise<void> {
    try {
      this.view = await this.api.serversList();
    } catch (e) {
      this.ui.fail(e);
    }
    this.render();
  }

  /** A form is open: a background refresh would wipe what the user is typing. */
  editing(): boolean {
    return this.open !== null;
  }

  /** Open an action's form for a server (from the tray). */
  async focus(id: string, action: ServerAction | null): Promise<void> {
    if (action === 'tools') {
      this.nav.tools(id);
      return;
    }
    this.open = action && action !== 'sign-in' && action !== 'repair' ? { id, action } : null;
    await this.refresh();
    const server = this.view?.groups.flatMap((g) => g.servers).find((s) => s.id === id);
    if (action === 'sign-in' && server) void this.signIn(server);
    if (action === 'repair' && server) this.onAction(server, 'repair');
    const card = [...this.root.querySelectorAll<HTMLElement>('[data-server]')].find((c) => c.dataset.server === id);
    card?.scrollIntoView?.({ block: 'center' });
    (card?.querySelector<HTMLElement>('input, .form button') ?? card?.querySelector<HTMLElement>('button'))?.focus();
  }

  render(): void {
    const v = this.view;
    replace(
      this.root,
      h('h2', { id: 'servers-title' }, 'Servers'),
      v
        ? h(
            'div',
            { class: 'card-head' },
            h('p', { class: v.status.level === 'attention' ? 'summary attention' : 'summary', 'data-status': v.status.level }, v.status.summary),
            v.status.level === 'attention' && this.nav.health
              ? h('button', { type: 'button', class: 'ghost', 'data-action': 'open-health', onclick: () => this.nav.health?.() }, 'What to do: Health')
              : null,
          )
        : h('p', { class: 'muted' }, 'Loading…'),
      v && !v.groups.length
        ? h('p', { class: 'empty' }, 'No MCP host config was found on this machine yet. Use Add server, or start your host once so it creates its config.')
        : null,
      ...(v?.groups ?? []).map((g) =>
        h(
          'div',
          { class: 'group' },
          h('h3', {}, g.label),
          h('p', { class: 'muted path' }, g.config_exists ? g.config : `${g.config} (not found)`),
          g.servers.length
            ? h('ul', { class: 'cards' }, ...g.servers.map((s) => this.card(s)))
            : h('p', { class: 'muted' }, 'No MCP servers in this config yet.'),
        ),
      ),
    );
  }

  private card(s: ServerView): HTMLElement {
    const form = this.open?.id === s.id ? this.form(s, this.open.action) : null;
    return h(
      'li',
      { class: `card state-${s.state}`, 'data-server': s.id, 'data-state': s.state },
      h(
        'div',
        { class: 'card-head' },
        h('strong', { class: 'name' }, s.name),
        h('span', { class: `badge ${s.needs_attention ? 'warn' : 'ok'}` }, s.state_text),
        h('span', { class: 'muted' }, s.transport),
      ),
      s.credentials.length
        ? h('ul', { class: 'creds', 'aria-label': 'Bound credentials' }, ...s.credentials.map((c) => h('li', {}, c)))
        : null,
      s.last_received
        ? h('p', { class: 'muted received', 'data-last-received': s.last_received.time }, receivedText(s.last_received))
        : null,
      // The core's detail names the CLI fix; here the buttons are the fix, so it shows only
      // when there is no button to press.
      s.detail && !s.actions.length ? h('p', { class: 'muted detail' }, s.detail) : null,
      this.signInErrors.has(s.id)
        ? h('p', { class: 'error', role: 'alert', 'data-sign-in-error': '' }, this.signInErrors.get(s.id))
        : null,
      this.actionsRow(s),
      form,
    );
  }

  /** The card's buttons, or, while a sign-in waits for the browser, that and Cancel. */
  private actionsRow(s: ServerView): HTMLElement | null {
    if (this.signing.has(s.id)) {
      return h(
        'div',
        { class: 'actions signing', role: 'status', 'aria-live': 'polite' },
        h('span', { class: 'muted', 'data-sign-in-progress': '' }, 'Waiting for the browser…'),
        h(
          'button',
          { type: 'button', class: 'ghost', 'data-cancel': 'sign-in', onclick: () => void this.cancelSignIn(s.id) },
          'Cancel',
        ),
      );
    }
    // Tools is the card's button whenever the server has a guard record; first (and the
    // fix) while tools are held.
    const actions = s.actions.filter((a) => a !== 'tools');
    const held = s.tools?.held ?? 0;
    const tools = s.tools
      ? h(
          'button',
          {
            type: 'button',
            class: held ? 'primary' : '',
            'data-action': 'tools',
            'data-held': String(held),
            onclick: () => this.onAction(s, 'tools'),
          },
          held ? `Tools (${held} held)` : s.tools.guarded ? 'Tools' : 'Tools (not guarded)',
        )
      : null;
    if (!actions.length && !tools) return null;
    return h(
      'div',
      { class: 'actions' },
      held ? tools : null,
      ...actions.map((a) =>
        h(
          'button',
          {
            type: 'button',
            'data-action': a,
            'aria-expanded': String(this.open?.id === s.id && this.open.action === a),
            onclick: () => this.onAction(s, a),
          },
          ACTION_LABEL[a],
        ),
      ),
      held ? null : tools,
    );
  }

  private onAction(s: ServerView, a: ServerAction): void {
    if (a === 'tools') {
      this.open = null;
      this.nav.tools(s.id);
      return;
    }
    if (a === 'sign-in') {
      void this.signIn(s);
      return;
    }
    if (a === 'move-to-keychain') {
      void this.moveToKeychain(s);
      return;
    }
    if (a === 'repair') {
      void this.run(`Repairing ${s.name}'s entry…`, () => this.api.repair(s.id), this.fixes(s));
      return;
    }
    const same = this.open?.id === s.id && this.open.action === a;
    void this.focus(s.id, same ? null : a);
  }

  /** Errors about server `s` whose fix is a button this view has (instead of the CLI
   * remedy the core words the fix as). */
  private fixes(s: ServerView): FixActions {
    return {
      needs_sign_in: { label: ACTION_LABEL['sign-in'], run: () => void this.signIn(s) },
      config_changed: { label: 'Reload', run: () => void this.refresh() },
      needs_approval: { label: ACTION_LABEL.approve, run: () => void this.focus(s.id, 'approve') },
    };
  }

  /** Move the entry's secrets; a changed command opens the approval form instead (the
   * core moved nothing and approves nothing on its own). */
  private async moveToKeychain(s: ServerView): Promise<void> {
    try {
      const msg = await this.ui.busy(`Moving ${s.name}'s secrets…`, () => this.api.moveToKeychain(s.id));
      this.ui.toast(msg, 'ok');
      this.open = null;
      await this.refresh();
    } catch (e) {
      if (asErrorView(e).code === 'needs_approval') {
        this.ui.toast(errorText(e), 'error');
        await this.focus(s.id, 'approve');
        return;
      }
      this.ui.fail(e, this.fixes(s));
    }
  }

  private async run(label: string, work: () => Promise<string>, fixes: FixActions): Promise<boolean> {
    try {
      const msg = await this.ui.busy(label, work);
      this.ui.toast(msg, 'ok');
      this.open = null;
      await this.refresh();
      return true;
    } catch (e) {
      this.ui.fail(e, fixes);
      return false;
    }
  }

  /** Sign in in the system browser; the card shows progress until it comes back. */
  async signIn(s: ServerView): Promise<void> {
    if (this.signing.has(s.id)) return;
    this.signing.add(s.id);
    this.signInErrors.delete(s.id);
    this.render();
    try {
      this.ui.toast(await this.api.signIn(s.id), 'ok');
    } catch (e) {
      if (this.cancelled.has(s.id)) {
        this.ui.toast(`Sign-in to ${s.name} cancelled.`, 'ok');
      } else {
        // The card shows the message; its own Sign in button is the way to try again.
        this.signInErrors.set(s.id, errorText(e));
        this.ui.fail(e, this.fixes(s));
      }
    } finally {
      this.signing.delete(s.id);
      this.cancelled.delete(s.id);
    }
    await this.refresh();
  }

  private async cancelSignIn(id: string): Promise<void> {
    this.cancelled.add(id);
    try {
      await this.api.signInCancel(id);
    } catch (e) {
      this.cancelled.delete(id);
      this.ui.fail(e);
    }
  }

  private cancel(): HTMLElement {
    return h('button', { type: 'button', class: 'ghost', onclick: () => void this.focus('', null) }, 'Cancel');
  }

  private form(s: ServerView, action: ServerAction): HTMLElement | null {
    switch (action) {
      case 'connect':
        return this.connectForm(s);
      case 'rotate':
        return this.rotateForm(s);
      case 'disconnect':
        return h(
          'div',
          { class: 'form', role: 'group', 'aria-label': `Disconnect ${s.name}` },
          h('p', {}, `Remove ${s.name}'s secrets from the keychain? It will need Connect again to start with them.`),
          h(
            'div',
            { class: 'actions' },
            h(
              'button',
              {
                type: 'button',
                class: 'danger',
                'data-confirm': 'disconnect',
                onclick: () => void this.run('Disconnecting…', () => this.api.disconnect(s.id), this.fixes(s)),
              },
              'Disconnect',
            ),
            this.cancel(),
          ),
        );
      case 'approve':
        return this.approveForm(s);
      default:
        return null;
    }
  }

  private connectForm(s: ServerView): HTMLElement {
    const fields: { env: () => string; input: HTMLInputElement }[] = [];
    const body: HTMLElement[] = [];
    if (s.missing.length) {
      for (const env of s.missing) {
        const f = secretField(env);
        fields.push({ env: () => env, input: f.input });
        body.push(f.row);
      }
    } else {
      const nameId = `env-${s.id}`;
      const name = h('input', { id: nameId, type: 'text', placeholder: 'GITHUB_TOKEN', 'data-env-name': '', required: true });
      const f = secretField('value', 'Value');
      fields.push({ env: () => name.value.trim(), input: f.input });
      body.push(h('div', { class: 'field' }, h('label', { for: nameId }, 'Environment variable'), name), f.row);
    }
    const form = h(
      'form',
      {
        class: 'form',
        'aria-label': `Connect ${s.name}`,
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const secrets = fields.map((f) => ({ env: f.env(), value: f.input.value }));
          for (const f of fields) f.input.value = '';
          void this.run(`Storing in the keychain…`, () => this.api.connect(s.id, secrets), this.fixes(s));
        },
      },
      h('p', { class: 'muted' }, 'Stored straight into the OS keychain; Keybroker never shows it again.'),
      ...body,
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', 'data-submit': 'connect' }, 'Connect'), this.cancel()),
    );
    return form;
  }

  private rotateForm(s: ServerView): HTMLElement {
    const selId = `rotate-${s.id}`;
    const select = h('select', { id: selId }, ...s.bound_env.map((e) => h('option', { value: e }, e)));
    const f = secretField('new-value', 'New value');
    return h(
      'form',
      {
        class: 'form',
        'aria-label': `Rotate ${s.name}`,
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const secret = { env: select.value, value: f.input.value };
          f.input.value = '';
          void this.run('Rotating…', () => this.api.rotate(s.id, secret), this.fixes(s));
        },
      },
      h('div', { class: 'field' }, h('label', { for: selId }, 'Secret'), select),
      f.row,
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Rotate'), this.cancel()),
    );
  }

  private approveForm(s: ServerView): HTMLElement {
    const box = h('div', { class: 'form', role: 'group', 'aria-label': `Review ${s.name}` }, h('p', { class: 'muted' }, 'Loading…'));
    void this.api
      .pendingApproval(s.id)
      .then((p) => {
        if (!p) {
          replace(box, h('p', {}, 'Nothing to approve.'));
          return;
        }
        replace(
          box,
          h('p', {}, `The command of ${s.name} changed in the config. Keybroker releases no secret to it until you approve.`),
          h(
            'div',
            { class: 'compare' },
            commandBlock('Approved command', p.old_command, p.old_env_keys, p.old, 'old'),
            commandBlock('Command in the config now', p.new_command, p.new_env_keys, p.new, 'new'),
          ),
          p.changes.length ? h('ul', { class: 'changes' }, ...p.changes.map((c) => h('li', {}, c.trim()))) : h('span', {}),
          p.plaintext.length
            ? h(
                'p',
                { class: 'error', 'data-plaintext': '' },
                `The entry also holds a plaintext secret (${p.plaintext.join(', ')}). It stays in the file until you approve; approving moves it into the keychain.`,
              )
            : h('span', {}),
          h(
            'div',
            { class: 'actions' },
            h(
              'button',
              {
                type: 'button',
                class: 'primary',
                'data-confirm': 'approve',
                onclick: () =>
                  void this.run('Approving…', () => this.api.approve(s.id, p.new_command), {
                    ...this.fixes(s),
                    // The config changed again: show the command it has now.
                    config_changed: { label: 'Review again', run: () => void this.focus(s.id, 'approve') },
                  }),
              },
              p.plaintext.length ? 'Approve and move secrets to keychain' : 'Approve new command',
            ),
            this.cancel(),
          ),
        );
      })
      .catch((e) => replace(box, h('p', { class: 'error' }, errorBlock(e))));
    return box;
  }
}
