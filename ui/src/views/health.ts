// Health view: `keybroker doctor`'s report in the window. Each check is a row with an
// icon and its level in words (never colour alone), what was found, the fix, and a button
// where the app can fix it itself: Repair calls the same command as the server card,
// Review and Sign in open the server's card in the Servers view, Start at login writes
// the login entry again. The doctor runs when the view is opened and on Refresh only (it
// asks the keychain and reads every host file), not on every file change.
import type { Api, Ui } from '../api';
import type { HealthAction, HealthCheck, HealthLevel, HealthView, Navigate } from '../bindings';
import { h, replace } from '../dom';

const ICON: Record<HealthLevel, string> = { ok: '✓', warning: '!', problem: '✕' };

/** Where the view sends the user for a fix another view owns. */
export interface HealthLinks {
  navigate(n: Navigate): void;
}

export class HealthPanel {
  readonly root: HTMLElement;
  private view: HealthView | null = null;
  private failed = false;

  constructor(
    private readonly api: Api,
    private readonly ui: Ui,
    private readonly links: HealthLinks,
  ) {
    this.root = h('section', { class: 'view', 'aria-labelledby': 'health-title' });
  }

  async refresh(): Promise<void> {
    this.failed = false;
    this.render(true);
    try {
      this.view = await this.ui.busy('Checking…', () => this.api.health());
      this.ui.toast('');
    } catch (e) {
      this.failed = true;
      this.ui.fail(e);
    }
    this.render(false);
  }

  render(checking = false): void {
    const v = this.view;
    replace(
      this.root,
      h(
        'div',
        { class: 'card-head' },
        h('h2', { id: 'health-title' }, 'Health'),
        h('button', { type: 'button', 'data-action': 'health-refresh', disabled: checking, onclick: () => void this.refresh() }, checking ? 'Checking…' : 'Refresh'),
      ),
      h('p', { class: 'muted' }, 'Everything that can stop a server from getting its secrets: the keychain, the launcher, host configs, approvals, sign-ins, the audit log and start at login.'),
      v
        ? h('p', { class: `summary health-${v.level}`, 'data-health': v.level }, v.summary)
        : h('p', { class: 'muted' }, this.failed ? 'The checks could not run; see the message above.' : 'Checking…'),
      v ? h('ul', { class: 'cards checks' }, ...v.checks.map((c) => this.row(c))) : null,
    );
  }

  private row(c: HealthCheck): HTMLElement {
    return h(
      'li',
      { class: `card check ${c.level}`, 'data-check': c.id, 'data-level': c.level },
      h(
        'div',
        { class: 'card-head' },
        h('span', { class: `check-icon ${c.level}`, 'aria-hidden': 'true' }, ICON[c.level]),
        h('strong', {}, c.title),
        h('span', { class: `badge ${c.level}`, 'data-level-text': '' }, c.level_text),
      ),
      h('p', { class: 'detail', 'data-summary': '' }, c.summary),
      c.details.length ? h('ul', { class: 'creds details' }, ...c.details.map((d) => h('li', {}, d))) : null,
      c.fix ? h('p', { class: 'detail', 'data-fix': '' }, h('strong', {}, 'Fix: '), c.fix) : null,
      c.commands.length && !c.actions.length
        ? h('pre', { class: 'commands', 'data-commands': '' }, c.commands.join('\n'))
        : null,
      c.actions.length ? h('div', { class: 'actions' }, ...c.actions.map((a) => this.button(a))) : null,
    );
  }

  private button(a: HealthAction): HTMLElement {
    return h(
      'button',
      {
        type: 'button',
        class: a.kind === 'repair' || a.kind === 'autostart' ? 'primary' : '',
        'data-health-action': a.kind,
        'data-server': a.server ?? undefined,
        onclick: () => void this.act(a),
      },
      a.label,
    );
  }

  private async act(a: HealthAction): Promise<void> {
    const server = a.server;
    switch (a.kind) {
      case 'repair':
        if (server) await this.run('Repairing…', () => this.api.repair(server));
        return;
      case 'autostart':
        await this.run('Writing the login entry…', async () =>
          (await this.api.autostartSet(true)) ? 'Keybroker will start at login from where it is installed now.' : 'Start at login is off.',
        );
        return;
      case 'approve':
        if (server) this.links.navigate({ view: 'servers', server, action: 'approve' });
        return;
      case 'sign-in':
        if (server) this.links.navigate({ view: 'servers', server, action: 'sign-in' });
        return;
    }
  }

  private async run(label: string, work: () => Promise<string>): Promise<void> {
    let message = '';
    try {
      message = await this.ui.busy(label, work);
    } catch (e) {
      this.ui.fail(e);
      return;
    }
    await this.refresh();
    this.ui.toast(message, 'ok');
  }
}
