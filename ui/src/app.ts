// The window's shell: navigation between the views, the status line, the busy indicator,
// the theme and the start-at-login switch. No Tauri import here, so tests can mount it.
import type { Api, Ui } from './api';
import type { Navigate } from './bindings';
import { h, replace } from './dom';
import { errorBlock, type FixActions } from './errors';
import { AddServerPanel } from './views/add';
import { AuditPanel } from './views/audit';
import { CredentialsPanel } from './views/credentials';
import { HealthPanel } from './views/health';
import { ImportPanel } from './views/import';
import { ServersPanel } from './views/servers';
import { ToolsPanel } from './views/tools';
import { WelcomePanel } from './views/welcome';

/** The views in the sidebar. */
export type NavView = 'welcome' | 'servers' | 'credentials' | 'import' | 'add' | 'audit' | 'health';
/** Every view; a server's Tools panel is reached from its card (the sidebar shows Servers). */
export type ViewName = NavView | 'tools';
const VIEWS: readonly NavView[] = ['welcome', 'servers', 'credentials', 'import', 'add', 'audit', 'health'];

export type Theme = 'system' | 'light' | 'dark';
const THEME_KEY = 'keybroker-theme';

/** Light, dark, or the desktop's preference (`prefers-color-scheme`), on `<html>`. */
export function applyTheme(theme: Theme, doc: Document = document): void {
  if (theme === 'system') doc.documentElement.removeAttribute('data-theme');
  else doc.documentElement.setAttribute('data-theme', theme);
}

function storedTheme(): Theme {
  try {
    const t = localStorage.getItem(THEME_KEY);
    return t === 'light' || t === 'dark' ? t : 'system';
  } catch {
    return 'system';
  }
}

export class App implements Ui {
  readonly welcome: WelcomePanel;
  readonly servers: ServersPanel;
  readonly credentials: CredentialsPanel;
  readonly import: ImportPanel;
  readonly add: AddServerPanel;
  readonly audit: AuditPanel;
  readonly tools: ToolsPanel;
  readonly health: HealthPanel;
  current: ViewName = 'servers';
  private readonly main: HTMLElement;
  private readonly status: HTMLElement;
  private readonly progress: HTMLElement;
  private readonly nav: Record<NavView, HTMLButtonElement>;
  private pending = 0;

  constructor(
    readonly root: HTMLElement,
    private readonly api: Api,
  ) {
    this.welcome = new WelcomePanel(api, this, this);
    this.servers = new ServersPanel(api, this, {
      tools: (id) => void this.showTools(id),
      health: () => void this.show('health'),
    });
    this.tools = new ToolsPanel(api, this, { back: () => void this.show('servers') });
    this.credentials = new CredentialsPanel(api, this);
    this.import = new ImportPanel(api, this);
    this.add = new AddServerPanel(api, this, {
      added: (id, signIn) => this.navigate({ view: 'servers', server: id, action: signIn ? 'sign-in' : null }),
    });
    this.audit = new AuditPanel(api, this);
    this.health = new HealthPanel(api, this, { navigate: (n) => void this.navigate(n) });
    const navButton = (view: NavView, label: string) =>
      h('button', { type: 'button', 'data-view': view, onclick: () => void this.show(view) }, label);
    this.nav = {
      welcome: navButton('welcome', 'Welcome'),
      servers: navButton('servers', 'Servers'),
      credentials: navButton('credentials', 'Credentials'),
      import: navButton('import', 'Import'),
      add: navButton('add', 'Add server'),
      audit: navButton('audit', 'Audit'),
      health: navButton('health', 'Health'),
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
    const theme = storedTheme();
    applyTheme(theme);
    const themeSel = h(
      'select',
      {
        id: 'theme',
        'data-setting': 'theme',
        onchange: (ev: Event) => {
          const t = (ev.target as HTMLSelectElement).value as Theme;
          applyTheme(t);
          try {
            localStorage.setItem(THEME_KEY, t);
          } catch {
            /* a webview without storage keeps the choice for this window only */
          }
        },
      },
      ...(['system', 'light', 'dark'] as const).map((t) =>
        h('option', { value: t, selected: t === theme }, t === 'system' ? 'System' : t === 'light' ? 'Light' : 'Dark'),
      ),
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
        this.nav.welcome,
        this.nav.servers,
        this.nav.credentials,
        this.nav.import,
        this.nav.add,
        this.nav.audit,
        this.nav.health,
        h(
          'div',
          { class: 'settings' },
          h('label', { class: 'theme', for: 'theme' }, 'Theme', themeSel),
          h('label', { class: 'autostart', for: 'autostart' }, autostart, 'Start at login'),
        ),
      ),
      h('div', { class: 'content' }, this.status, this.main),
    );
  }

  /** The first view: Welcome on a first run (nothing brokered yet), else Servers. */
  async start(): Promise<void> {
    const first = await this.welcome.load();
    await this.show(first?.first_run ? 'welcome' : 'servers');
  }

  async show(view: ViewName): Promise<void> {
    this.select(view);
    const panel = this[view];
    replace(this.main, panel.root);
    await panel.refresh();
  }

  /** The Tools panel of one server (from its card, the tray or a notification). */
  async showTools(serverId: string): Promise<void> {
    this.select('tools');
    replace(this.main, this.tools.root);
    await this.tools.open(serverId);
  }

  private select(view: ViewName): void {
    this.current = view;
    const lit = view === 'tools' ? 'servers' : view;
    for (const [name, b] of Object.entries(this.nav)) {
      if (name === lit) b.setAttribute('aria-current', 'page');
      else b.removeAttribute('aria-current');
    }
  }

  /** The file stamp moved (audit appended, config or state changed). */
  async changed(): Promise<void> {
    const v = this.current;
    if (v === 'servers' && this.servers.editing()) return;
    if (v === 'credentials' && this.credentials.editing()) return;
    if (v === 'add' && this.add.editing()) return;
    if (v === 'tools' && this.tools.editing()) return;
    // The doctor asks the keychain and reads every host file: it runs on open and Refresh.
    if (v === 'health') return;
    await this[v].refresh();
  }

  async navigate(n: Navigate): Promise<void> {
    if (n.action === 'tools' && n.server) return this.showTools(n.server);
    const view = VIEWS.find((v) => v === n.view) ?? 'servers';
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
