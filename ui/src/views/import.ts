// Import view: the detected host configs, the masked plan (what moves where, the new
// entries), findings that can be excluded, Apply and Undo. An entry whose brokered
// command changed is shown with both commands and left as is: it is approved (and its
// secrets moved) only from the Servers view's review, never by Apply.
import type { Api, Ui } from '../api';
import type { DetectedHost, PlanView, ServerPlanView } from '../bindings';
import { h, replace } from '../dom';
import { type FixActions, asErrorView } from '../errors';

export class ImportPanel {
  readonly root: HTMLElement;
  private hosts: DetectedHost[] = [];
  private host: string | null = null;
  private plan: PlanView | null = null;
  private exclude = new Set<string>();
  private result: string | null = null;

  constructor(
    private readonly api: Api,
    private readonly ui: Ui,
  ) {
    this.root = h('section', { class: 'view', 'aria-labelledby': 'import-title' });
  }

  async refresh(): Promise<void> {
    try {
      this.hosts = await this.api.importHosts();
      this.host ??= this.hosts.find((x) => x.exists)?.host ?? null;
      if (this.host) this.plan = await this.api.importPlan(this.host, [...this.exclude]);
    } catch (e) {
      this.plan = null;
      this.ui.fail(e);
    }
    this.render();
  }

  /** Selectors of the findings the user unticked. */
  excluded(): string[] {
    return [...this.exclude];
  }

  setExcluded(selector: string, excluded: boolean): Promise<void> {
    if (excluded) this.exclude.add(selector);
    else this.exclude.delete(selector);
    return this.refresh();
  }

  render(): void {
    const plan = this.plan;
    replace(
      this.root,
      h('h2', { id: 'import-title' }, 'Import'),
      h('p', { class: 'muted' }, 'Keybroker moves plaintext secrets from a host config into the OS keychain and rewrites each entry to start through the keybroker launcher. Values are masked here.'),
      h(
        'div',
        { class: 'hosts', role: 'radiogroup', 'aria-label': 'Detected hosts' },
        ...this.hosts.map((d) =>
          h(
            'label',
            { class: 'host' },
            h('input', {
              type: 'radio',
              name: 'host',
              value: d.host,
              checked: d.host === this.host,
              disabled: !d.exists,
              onchange: () => {
                this.host = d.host;
                void this.refresh();
              },
            }),
            h('strong', {}, d.label),
            h('span', { class: 'muted path' }, d.exists ? d.config : `${d.config} (not found)`),
          ),
        ),
      ),
      plan ? this.planTable(plan) : null,
      h(
        'div',
        { class: 'actions sticky' },
        h('button', { type: 'button', class: 'primary', 'data-action': 'apply', disabled: !plan?.changes, onclick: () => void this.apply() }, 'Apply'),
        h('button', { type: 'button', 'data-action': 'undo', disabled: !this.host, onclick: () => void this.undo() }, 'Undo import…'),
        this.result ? h('span', { class: 'result', role: 'status' }, this.result) : null,
      ),
    );
  }

  private planTable(plan: PlanView): HTMLElement {
    const changing = plan.servers.filter((s) => s.changes || s.moves.length);
    const rest = plan.servers.filter((s) => !(s.changes || s.moves.length));
    return h(
      'div',
      { class: 'plan' },
      h('p', {}, plan.changes ? `Planned changes to ${plan.config}:` : `Nothing to change in ${plan.config}.`),
      ...changing.map((s) => this.serverPlan(s)),
      rest.length
        ? h('p', { class: 'muted' }, 'Left as is: ', rest.map((s) => `${s.name} (${s.action_text})`).join(', '))
        : null,
    );
  }

  private serverPlan(s: ServerPlanView): HTMLElement {
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
                      onchange: (ev: Event) => void this.setExcluded(m.selector, !(ev.target as HTMLInputElement).checked),
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
      const r = await this.ui.busy('Importing…', () => this.api.importApply(host, [...this.exclude]));
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
    if (!this.host) return;
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
