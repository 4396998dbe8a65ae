// Add server: to any host config found on this machine, a remote server by URL (then
// Sign in, the Servers view's flow) or a stdio server by command and arguments, its
// secrets typed into masked fields and stored straight into the keychain.
import type { Api, Ui } from '../api';
import type { DetectedHost, NewServer, SecretInput } from '../bindings';
import { h, replace } from '../dom';
import { secretField } from './servers';

export interface AddNav {
  /** Open the Servers view on the new server (and start Sign in when it needs it). */
  added(id: string, signIn: boolean): Promise<void>;
}

export class AddServerPanel {
  readonly root: HTMLElement;
  private hosts: DetectedHost[] = [];
  private kind: 'remote' | 'stdio' = 'remote';
  private secrets: { name: HTMLInputElement; value: HTMLInputElement }[] = [];

  constructor(
    private readonly api: Api,
    private readonly ui: Ui,
    private readonly nav: AddNav,
  ) {
    this.root = h('section', { class: 'view', 'aria-labelledby': 'add-title' });
  }

  /** Typing is under way: a background refresh would wipe it. */
  editing(): boolean {
    return [...this.root.querySelectorAll('input, textarea')].some((i) => (i as HTMLInputElement).value !== '');
  }

  async refresh(): Promise<void> {
    try {
      const found = await this.api.firstRun();
      const all = await this.api.importHosts();
      // Hosts whose file exists first; every known host can take a new file.
      const exists = new Set(found.hosts.map((x) => x.host));
      this.hosts = [...all.filter((d) => exists.has(d.host)), ...all.filter((d) => !exists.has(d.host))];
    } catch (e) {
      this.ui.fail(e);
    }
    this.render();
  }

  render(): void {
    this.secrets = [];
    const hostSel = h(
      'select',
      { id: 'add-host', 'data-field': 'host' },
      ...this.hosts.map((d) => h('option', { value: d.host }, `${d.label} (${d.config})`)),
    );
    const name = h('input', { id: 'add-name', type: 'text', 'data-field': 'name', placeholder: 'github', required: true, spellcheck: 'false' });
    const url = h('input', { id: 'add-url', type: 'text', 'data-field': 'url', placeholder: 'https://mcp.example.com/mcp', spellcheck: 'false' });
    const command = h('input', { id: 'add-command', type: 'text', 'data-field': 'command', placeholder: 'npx', spellcheck: 'false' });
    const args = h('textarea', { id: 'add-args', 'data-field': 'args', rows: '3', placeholder: '-y\n@modelcontextprotocol/server-github', spellcheck: 'false' });
    const secretRows = h('div', { class: 'secret-rows' });
    const addSecret = () => {
      const n = this.secrets.length;
      const envName = h('input', { id: `add-secret-name-${n}`, type: 'text', 'data-secret-name': String(n), placeholder: 'GITHUB_TOKEN', spellcheck: 'false' });
      const f = secretField(`add-secret-${n}`, 'Value');
      this.secrets.push({ name: envName, value: f.input });
      secretRows.append(h('div', { class: 'secret-row' }, h('div', { class: 'field' }, h('label', { for: envName.id }, 'Environment variable'), envName), f.row));
    };
    const kindRadio = (k: 'remote' | 'stdio', label: string) =>
      h(
        'label',
        { class: 'host' },
        h('input', {
          type: 'radio',
          name: 'add-kind',
          value: k,
          'data-kind': k,
          checked: this.kind === k,
          onchange: () => {
            this.kind = k;
            this.render();
          },
        }),
        label,
      );
    const form = h(
      'form',
      {
        class: 'form add-form',
        'aria-label': 'Add server',
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const base = { host: hostSel.value, name: name.value.trim() };
          const server: NewServer =
            this.kind === 'remote'
              ? { kind: 'remote', ...base, url: url.value.trim() }
              : {
                  kind: 'stdio',
                  ...base,
                  command: command.value.trim(),
                  args: args.value.split('\n').map((a) => a.trim()).filter((a) => a !== ''),
                };
          const secrets: SecretInput[] = this.secrets
            .filter((s) => s.name.value.trim() !== '' || s.value.value !== '')
            .map((s) => ({ env: s.name.value.trim(), value: s.value.value }));
          for (const s of this.secrets) s.value.value = '';
          void this.submit(server, secrets);
        },
      },
      h('div', { class: 'field' }, h('label', { for: 'add-host' }, 'Host'), hostSel),
      h('div', { class: 'hosts', role: 'radiogroup', 'aria-label': 'Kind of server' }, kindRadio('remote', 'Remote server (URL, signs in with OAuth)'), kindRadio('stdio', 'Local server (a command the host starts)')),
      h('div', { class: 'field' }, h('label', { for: 'add-name' }, 'Name'), name),
      ...(this.kind === 'remote'
        ? [h('div', { class: 'field' }, h('label', { for: 'add-url' }, 'URL'), url)]
        : [
            h('div', { class: 'field' }, h('label', { for: 'add-command' }, 'Command'), command),
            h('div', { class: 'field' }, h('label', { for: 'add-args' }, 'Arguments, one per line'), args),
            h('h3', {}, 'Secrets'),
            h('p', { class: 'muted' }, 'Each goes straight into the OS keychain and reaches the server as an environment variable when the host starts it; it is never written to the config.'),
            secretRows,
            h('button', { type: 'button', class: 'ghost', 'data-action': 'add-secret', onclick: addSecret }, 'Add a secret'),
          ]),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', 'data-submit': 'add' }, 'Add server')),
    );
    if (this.kind === 'stdio') addSecret();
    replace(
      this.root,
      h('h2', { id: 'add-title' }, 'Add server'),
      h('p', { class: 'muted' }, 'Adds an entry to the host config you pick; it starts through Keybroker from the first launch.'),
      form,
    );
  }

  private async submit(server: NewServer, secrets: SecretInput[]): Promise<void> {
    try {
      const r = await this.ui.busy('Adding the server…', () => this.api.addServer(server, secrets));
      this.ui.toast(r.message, 'ok');
      this.render();
      await this.nav.added(r.id, r.needs_sign_in);
    } catch (e) {
      this.ui.fail(e);
    }
  }
}
