// The window's shell: navigation between the three views, the status line, the busy
// indicator and the start-at-login switch. No Tauri import here, so tests can mount it.
import type { Api, Ui } from './api';
import type { Navigate } from './bindings';
import { h, replace } from './dom';
import { errorBlock, type FixActions } from './errors';
import { AuditPanel } from './views/audit';
import { ImportPanel } from './views/import';
import { ServersPanel } from './views/servers';

export type ViewName = 'servers' | 'import' | 'audit';

export class App implements Ui {
  readonly servers: ServersPanel;
  readonly import: ImportPanel;
  readonly audit: AuditPanel;
  current: ViewName = 'servers';
  private readonly main: HTMLElement;
  private readonly status: HTMLElement;
  private readonly progress: HTMLElement;
  private readonly nav: Record<ViewName, HTMLButtonElement>;
  private pending = 0;

  constructor(
    readonly root: HTMLElement,
    private readonly api: Api,
  ) {
    this.servers = new ServersPanel(api, this);
    this.import = new ImportPanel(api, this);
    this.audit = new AuditPanel(api, this);
    const navButton = (view: ViewName, label: string) =>
      h('button', { type: 'button', 'data-view': view, onclick: () => void this.show(view) }, label);
    this.nav = {
      servers: navButton('servers', 'Servers'),
      import: navButton('import', 'Import'),
      audit: navButton('audit', 'Audit'),
    };
    const autostart = h('input', {
      type: 'checkbox',
      id: 'autostart',
      onchange: (ev: Event) => void this.setAutostart((ev.target as HTMLInputElement).checked),
    });
    void api.autostartGet().then(
      (on) => (autostart.checked = on),
      () => (autostart.disabled = true),
    );
    this.main = h('main', { id: 'main', tabindex: '-1' });
    this.status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite' });
    this.progress = h('div', { class: 'progress', hidden: true, 'aria-hidden': 'true' });
    replace(
      root,
      this.progress,
      h(
        'nav',
        { 'aria-label': 'Views' },
        h('div', { class: 'brand' }, 'Keybroker'),
        this.nav.servers,
        this.nav.import,
        this.nav.audit,
        h('label', { class: 'autostart', for: 'autostart' }, autostart, 'Start at login'),
      ),
      h('div', { class: 'content' }, this.status, this.main),
    );
  }

  async show(view: ViewName): Promise<void> {
    this.current = view;
    for (const [name, b] of Object.entries(this.nav)) {
      if (name === view) b.setAttribute('aria-current', 'page');
      else b.removeAttribute('aria-current');
    }
    const panel = this[view];
    replace(this.main, panel.root);
    await panel.refresh();
  }

  /** The file stamp moved (audit appended, config or state changed). */
  async changed(): Promise<void> {
    if (this.current === 'servers' && this.servers.editing()) return;
    await this[this.current].refresh();
  }

  async navigate(n: Navigate): Promise<void> {
    const view = (['servers', 'import', 'audit'] as const).find((v) => v === n.view) ?? 'servers';
    await this.show(view);
    if (view === 'servers' && n.server) await this.servers.focus(n.server, n.action);
  }

  toast(message: string, kind: 'ok' | 'error' = 'ok'): void {
    this.status.className = `status ${kind}`;
    replace(this.status, message);
  }

  fail(e: unknown, actions: FixActions = {}): void {
    this.status.className = 'status error';
    replace(this.status, errorBlock(e, actions, () => this.toast('')));
  }

  async busy<T>(label: string, work: () => Promise<T>): Promise<T> {
    this.pending++;
    this.progress.hidden = false;
    this.root.setAttribute('aria-busy', 'true');
    this.status.className = 'status';
    replace(this.status, label);
    try {
      return await work();
    } finally {
      this.pending--;
      if (!this.pending) {
        this.progress.hidden = true;
        this.root.removeAttribute('aria-busy');
      }
    }
  }

  private async setAutostart(on: boolean): Promise<void> {
    try {
      const now = await this.api.autostartSet(on);
      this.toast(now ? 'Keybroker will start at login.' : 'Keybroker will not start at login.');
    } catch (e) {
      this.fail(e);
    }
  }
}
