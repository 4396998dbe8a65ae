// First run: every MCP host config found on this machine, what each holds (servers,
// plaintext secrets, brokered entries: counts only, never a value), and one reviewed
// import for all of them. A machine without any host config is told so, with Add server.
import type { Api, Ui } from '../api';
import type { FirstRunView, HostSummary } from '../bindings';
import { h, replace } from '../dom';

export interface WelcomeNav {
  show(view: 'import' | 'add' | 'servers'): Promise<void>;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export class WelcomePanel {
  readonly root: HTMLElement;
  private view: FirstRunView | null = null;

  constructor(
    private readonly api: Api,
    private readonly ui: Ui,
    private readonly nav: WelcomeNav,
  ) {
    this.root = h('section', { class: 'view', 'aria-labelledby': 'welcome-title' });
  }

  async load(): Promise<FirstRunView | null> {
    try {
      this.view = await this.api.firstRun();
    } catch (e) {
      this.ui.fail(e);
    }
    return this.view;
  }

  async refresh(): Promise<void> {
    await this.load();
    this.render();
  }

  render(): void {
    const v = this.view;
    const hosts = v?.hosts ?? [];
    replace(
      this.root,
      h('h2', { id: 'welcome-title' }, 'Welcome to Keybroker'),
      h(
        'p',
        {},
        'Keybroker keeps the API keys and tokens of your MCP servers in the OS keychain and hands each server its secrets only when its host starts it.',
      ),
      !v
        ? h('p', { class: 'muted' }, 'Looking for host configs…')
        : hosts.length
          ? h(
              'div',
              {},
              h('p', {}, `Found ${plural(hosts.length, 'host config')} on this machine, with ${plural(v.plaintext, 'plaintext secret')}:`),
              h('ul', { class: 'cards found' }, ...hosts.map((x) => this.host(x))),
            )
          : h(
              'p',
              { class: 'empty', 'data-no-hosts': '' },
              'No MCP host config was found on this machine (Claude Desktop, Cursor, Claude Code, VS Code, Codex, Gemini CLI, …). Add a server to one, or start your host once so it creates its config.',
            ),
      h(
        'div',
        { class: 'actions' },
        hosts.length
          ? h(
              'button',
              { type: 'button', class: 'primary', 'data-action': 'review-import', disabled: !v?.plaintext, onclick: () => void this.nav.show('import') },
              v?.plaintext ? `Review the import of ${plural(hosts.filter((x) => x.plaintext).length, 'host')}…` : 'Nothing to import',
            )
          : null,
        h('button', { type: 'button', 'data-action': 'add-server', onclick: () => void this.nav.show('add') }, 'Add a server…'),
        h('button', { type: 'button', class: 'ghost', 'data-action': 'skip', onclick: () => void this.nav.show('servers') }, 'Go to Servers'),
      ),
    );
  }

  private host(x: HostSummary): HTMLElement {
    return h(
      'li',
      { class: 'card', 'data-found-host': x.host },
      h(
        'div',
        { class: 'card-head' },
        h('strong', {}, x.label),
        x.error
          ? h('span', { class: 'badge warn' }, 'cannot read')
          : h('span', { class: `badge ${x.plaintext ? 'warn' : 'ok'}` }, x.plaintext ? plural(x.plaintext, 'plaintext secret') : 'no plaintext'),
      ),
      h('p', { class: 'muted path' }, x.config),
      x.error
        ? h('p', { class: 'error' }, x.error)
        : h('p', { class: 'muted' }, `${plural(x.servers, 'server')}, ${x.brokered} brokered`),
    );
  }
}
