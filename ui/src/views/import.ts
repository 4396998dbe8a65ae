// Import view: every host config found on this machine (or all of them at once, one
// plan per file), the masked plan (what moves where, the new entries), findings that can
// be excluded, Apply and Undo. An entry whose brokered
// command changed is shown with both commands and left as is: it is approved (and its
// secrets moved) only from the Servers view's review, never by Apply.
import type { Api, Ui } from '../api';
import type { HostSummary, PlanView, ServerPlanView } from '../bindings';
import { h, replace } from '../dom';
import { type FixActions, asErrorView } from '../errors';

/** The radio value that selects every detected host at once. */
export const ALL = '*all*';

export class ImportPanel {
  readonly root: HTMLElement;
  private hosts: HostSummary[] = [];
  /** A host id, or [`ALL`]. */
  private host: string | null = null;
  private plans: PlanView[] = [];
  /** The findings the user unticked, by host id. */
  private exclude = new Map<string, Set<string>>();
  private result: string | null = null;
  private loaded = false;

  constructor(
    private readonly api: Api,
    private readonly ui: Ui,
  ) {
    this.root = h('section', { class: 'view', 'aria-labelledby': 'import-title' });
  }

  private excludeMap(): Record<string, string[]> {
    return Object.fromEntries([...this.exclude].map(([host, set]) => [host, [...set]]));
  }

  async refresh(): Promise<void> {
    try {
      this.hosts = (await this.api.firstRun()).hosts;
      if (this.host !== ALL && !this.hosts.some((x) => x.host === this.host)) this.host = null;
      this.host ??= this.hosts.length > 1 ? ALL : (this.hosts[0]?.host ?? null);
      if (this.host === ALL) this.plans = await this.api.importPlanAll(this.excludeMap());
      else if (this.host) this.plans = [await this.api.importPlan(this.host, this.excluded(this.host))];
      else this.plans = [];
    } catch (e) {
      this.plans = [];
      this.ui.fail(e);
    }
    this.loaded = true;
    this.render();
  }

  /** Selectors of the findings the user unticked (of one host, or of every host). */
  excluded(host?: string): string[] {
    if (host) return [...(this.exclude.get(host) ?? [])];
    return [...this.exclude.values()].flatMap((set) => [...set]);
  }

  setExcluded(selector: string, excluded: boolean, host = this.plans[0]?.host ?? ''): Promise<void> {
    const set = this.exclude.get(host) ?? new Set<string>();
    if (excluded) set.add(selector);
    else set.delete(selector);
    this.exclude.set(host, set);
    return this.refresh();
  }

  private hostRadio(value: string, label: string, detail: string, disabled = false): HTMLElement {
    return h(
      'label',
      { class: 'host' },
      h('input', {
        type: 'radio',
        name: 'host',
        value,
        checked: value === this.host,
        disabled,
        onchange: () => {
          this.host = value;
          void this.refresh();
        },
      }),
      h('strong', {}, label),
      h('span', { class: 'muted path' }, detail),
    );
  }

  render(): void {
    const changes = this.plans.some((p) => p.changes);
    const total = this.hosts.reduce((n, x) => n + x.plaintext, 0);
    replace(
      this.root,
      h('h2', { id: 'import-title' }, 'Import'),
      h('p', { class: 'muted' }, 'Keybroker moves plaintext secrets from host configs into the OS keychain and rewrites each entry to start through the keybroker launcher. Values are masked here.'),
      this.loaded && !this.hosts.length
        ? h('p', { class: 'empty', 'data-no-hosts': '' }, 'No MCP host config was found on this machine. Add a server, or start your host once so it creates its config.')
        : h(
            'div',
            { class: 'hosts', role: 'radiogroup', 'aria-label': 'Detected hosts' },
            this.hosts.length > 1 ? this.hostRadio(ALL, `All ${this.hosts.length} detected hosts`, `${total} plaintext secret(s) in all`) : null,
            ...this.hosts.map((d) =>
              this.hostRadio(d.host, d.label, d.error ? `${d.config}: ${d.error}` : `${d.config} (${d.plaintext} plaintext, ${d.brokered} brokered)`, !!d.error),
            ),
          ),
      ...this.plans.map((p) => this.planTable(p)),
      h(
        'div',
        { class: 'actions sticky' },
        h('button', { type: 'button', class: 'primary', 'data-action': 'apply', disabled: !changes, onclick: () => void this.apply() }, this.host === ALL ? 'Apply to all hosts' : 'Apply'),
        h('button', { type: 'button', 'data-action': 'undo', disabled: !this.host || this.host === ALL, onclick: () => void this.undo() }, 'Undo import…'),
        this.result ? h('span', { class: 'result', role: 'status' }, this.result) : null,
      ),
    );
  }

  private planTable(plan: PlanView): HTMLElement {
    const changing = plan.servers.filter((s) => s.changes || s.moves.length);
    const rest = plan.servers.filter((s) => !(s.changes || s.moves.length));
    const label = this.hosts.find((x) => x.host === plan.host)?.label ?? plan.host;
    return h(
      'div',
      { class: 'plan', 'data-plan-host': plan.host },
      this.plans.length > 1 ? h('h3', { class: 'plan-host' }, label) : null,
      h('p', {}, plan.changes ? `Planned changes to ${plan.config}:` : `Nothing to change in ${plan.config}.`),
      ...changing.map((s) => this.serverPlan(plan.host, s)),
      rest.length
        ? h('p', { class: 'muted' }, 'Left as is: ', rest.map((s) => `${s.name} (${s.action_text})`).join(', '))
        : null,
    );
  }

  private serverPlan(host: string, s: ServerPlanView): HTMLElement {
    const a = s.approval;
    return h(
      'div',
      { class: 'plan-server', 'data-plan-server': s.name, 'data-plan-action': s.action },
      h('h3', {}, s.name, ' ', h('span', { class: 'badge' }, s.action_text)),
      a && s.action === 'needs-approval'
        ? h(
            'div',
            { class: 'needs-approval', 'data-needs-approval': s.id },
            h('p', {}, `Its command changed since you approved it. Its plaintext secrets (${a.plaintext.join(', ')}) stay in the file until you review and approve the change in Servers.`),
            h(
              'div',
              { class: 'compare' },
              h('div', { class: 'cmd old' }, h('h4', {}, 'Approved command'), h('pre', {}, a.old_command.join('\n'))),
              h('div', { class: 'cmd new' }, h('h4', {}, 'Command in the config now'), h('pre', {}, a.new_command.join('\n'))),
            ),
            a.changes.length ? h('ul', { class: 'changes' }, ...a.changes.map((c) => h('li', {}, c.trim()))) : null,
          )
        : null,
      s.moves.length && s.action !== 'needs-approval'

        ? h(
            'table',
            {},
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Move'), h('th', { scope: 'col' }, 'From'), h('th', { scope: 'col' }, 'Found'), h('th', { scope: 'col' }, 'Value'), h('th', { scope: 'col' }, 'Keychain item'))),
            h(
              'tbody',
              {},
              ...s.moves.map((m) =>
                h(
                  'tr',
                  { class: m.excluded ? 'excluded' : '' },
                  h(
                    'td',
                    {},
                    h('input', {
                      type: 'checkbox',
                      'aria-label': `Move ${m.target} of ${s.name}`,
                      'data-selector': m.selector,
                      checked: !m.excluded,
                      onchange: (ev: Event) => void this.setExcluded(m.selector, !(ev.target as HTMLInputElement).checked, host),
                    }),
                  ),
                  h('td', {}, m.target),
                  h('td', {}, m.rule_text),
                  h('td', { class: 'mono' }, m.masked),
                  h('td', { class: 'mono' }, m.credential, m.reused ? ' (reused)' : ''),
                ),
              ),
            ),
          )
        : null,
      // What each partly moved string becomes (placeholders where the secrets were).
      ...[...new Set(s.moves.filter((m) => !m.excluded && m.becomes).map((m) => m.becomes as string))].map((b) =>
        h('p', { class: 'becomes' }, 'Becomes: ', h('code', { class: 'mono' }, b)),
      ),
      ...s.notes.map((n) => h('p', { class: 'muted' }, n)),
      s.new_entry ? h('details', {}, h('summary', {}, 'New entry'), h('pre', {}, s.new_entry)) : null,
    );
  }

  private async apply(): Promise<void> {
    if (!this.host) return;
    const host = this.host;
    try {
      const r = await this.ui.busy('Importing…', () =>
        host === ALL ? this.api.importApplyAll(this.excludeMap()) : this.api.importApply(host, this.excluded(host)),
      );
      this.result = r.message;
      this.ui.toast(r.message, 'ok');
    } catch (e) {
      // The host saved the file since the plan was made: nothing was written, and the
      // plan on screen is stale until the user asks for a new one.
      this.ui.fail(e, { config_changed: { label: 'Re-plan', run: () => void this.refresh() } });
      if (asErrorView(e).code === 'config_changed') return;
    }
    await this.refresh();
  }

  private async undo(): Promise<void> {
    if (!this.host || this.host === ALL) return;
    const host = this.host;
    try {
      const msg = await this.ui.busy('Restoring the original entries…', () => this.api.importUndo(host));
      this.result = msg;
      this.ui.toast(msg, 'ok');
    } catch (e) {
      const retry: FixActions = { config_changed: { label: 'Undo again', run: () => void this.undo() } };
      this.ui.fail(e, retry);
    }
    await this.refresh();
  }
}
