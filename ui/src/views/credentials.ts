// Credentials view: each keychain item Keybroker holds (its name, never its value), the
// servers bound to it and when each last received it, from which host and process (the
// audit log's `released` events), with Rotate and Remove. Refreshed live on `kb-changed`,
// so a host starting a server shows up here as it happens.
import type { Api, Ui } from '../api';
import type { CredentialView, CredentialsView } from '../bindings';
import { h, replace } from '../dom';
import { receivedText, when } from '../received';
import { secretField } from './servers';

export class CredentialsPanel {
  readonly root: HTMLElement;
  private view: CredentialsView | null = null;
  private open: { id: string; action: 'rotate' | 'remove' } | null = null;

  constructor(
    private readonly api: Api,
    private readonly ui: Ui,
  ) {
    this.root = h('section', { class: 'view', 'aria-labelledby': 'credentials-title' });
  }

  /** A form is open: a background refresh would wipe what the user is typing. */
  editing(): boolean {
    return this.open !== null;
  }

  async refresh(): Promise<void> {
    try {
      this.view = await this.api.credentialsView();
    } catch (e) {
      this.ui.fail(e);
    }
    this.render();
  }

  render(): void {
    const v = this.view;
    replace(
      this.root,
      h('h2', { id: 'credentials-title' }, 'Credentials'),
      h(
        'p',
        { class: 'muted' },
        'Each secret Keybroker keeps in the OS keychain, by name (values are never shown), the servers it is bound to, and who last received it.',
      ),
      !v
        ? h('p', { class: 'muted' }, 'Loading…')
        : v.credentials.length
          ? h('ul', { class: 'cards' }, ...v.credentials.map((c) => this.card(c)))
          : h('p', { class: 'empty' }, 'No credentials yet. Import a host config or add a server to move its secrets into the keychain.'),
      v ? h('p', { class: 'muted' }, `${v.releases} hand-out(s) recorded in the audit log.`) : null,
    );
  }

  private card(c: CredentialView): HTMLElement {
    const isOpen = (a: 'rotate' | 'remove') => this.open?.id === c.id && this.open.action === a;
    return h(
      'li',
      { class: 'card credential', 'data-credential': c.id },
      h(
        'div',
        { class: 'card-head' },
        h('strong', { class: 'name mono' }, c.id),
        h('span', { class: `badge ${c.in_keychain === false ? 'warn' : 'ok'}` }, c.in_keychain === false ? 'missing from keychain' : c.kind === 'oauth' ? 'sign-in' : 'in keychain'),
        h('span', { class: 'muted' }, c.label),
      ),
      h('p', { class: 'muted' }, `created ${when(c.created)}`, c.rotated ? `, rotated ${when(c.rotated)}` : ''),
      c.servers.length
        ? h(
            'table',
            { class: 'bound' },
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Server'), h('th', { scope: 'col' }, 'As'), h('th', { scope: 'col' }, 'Last received'))),
            h(
              'tbody',
              {},
              ...c.servers.map((b) =>
                h(
                  'tr',
                  { 'data-bound-server': b.server },
                  h('td', { class: 'mono' }, b.server),
                  h('td', { class: 'mono' }, b.target),
                  h('td', { 'data-last-received': b.last ? b.last.time : '' }, receivedText(b.last)),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'Bound to no server.'),
      c.can_rotate || c.can_remove
        ? h(
            'div',
            { class: 'actions' },
            c.can_rotate
              ? h('button', { type: 'button', 'data-action': 'rotate', 'aria-expanded': String(isOpen('rotate')), onclick: () => this.toggle(c.id, 'rotate') }, 'Rotate…')
              : null,
            c.can_remove
              ? h('button', { type: 'button', 'data-action': 'remove', 'aria-expanded': String(isOpen('remove')), onclick: () => this.toggle(c.id, 'remove') }, 'Remove…')
              : null,
          )
        : null,
      isOpen('rotate') ? this.rotateForm(c) : null,
      isOpen('remove') ? this.removeForm(c) : null,
    );
  }

  private toggle(id: string, action: 'rotate' | 'remove'): void {
    this.open = this.open?.id === id && this.open.action === action ? null : { id, action };
    this.render();
  }

  private close(): HTMLElement {
    return h('button', { type: 'button', class: 'ghost', onclick: () => ((this.open = null), this.render()) }, 'Cancel');
  }

  private async run(label: string, work: () => Promise<string>): Promise<void> {
    try {
      this.ui.toast(await this.ui.busy(label, work), 'ok');
      this.open = null;
    } catch (e) {
      this.ui.fail(e);
    }
    await this.refresh();
  }

  private rotateForm(c: CredentialView): HTMLElement {
    const f = secretField(`rotate-${c.id}`, 'New value');
    const users = c.servers.map((b) => b.server).join(', ');
    return h(
      'form',
      {
        class: 'form',
        'aria-label': `Rotate ${c.id}`,
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const value = f.input.value;
          f.input.value = '';
          void this.run('Rotating…', () => this.api.credentialRotate(c.id, value));
        },
      },
      h('p', { class: 'muted' }, `Every server bound to it gets the new value at its next start: ${users}.`),
      f.row,
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', 'data-submit': 'rotate' }, 'Rotate'), this.close()),
    );
  }

  private removeForm(c: CredentialView): HTMLElement {
    return h(
      'div',
      { class: 'form', role: 'group', 'aria-label': `Remove ${c.id}` },
      h('p', {}, `Delete ${c.id} from the keychain and unbind it from ${c.servers.map((b) => b.server).join(', ')}?`),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'danger', 'data-confirm': 'remove', onclick: () => void this.run('Removing…', () => this.api.credentialRemove(c.id)) }, 'Remove'),
        this.close(),
      ),
    );
  }
}
