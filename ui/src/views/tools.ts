// Tools panel of one server, opened from its card in the Servers view: every tool the
// guard has seen with its description, read-only / destructive badges, an allow switch,
// calls in the last 7 days and the last call; held tools first, each with the approved and
// the offered definition side by side and Approve. The policy (every tool, read-only
// only), holding new tools, and the guard itself are set here too. Every change is one
// call to the core, which audits it; this only renders and calls.
import type { Api, Ui } from '../api';
import type { FieldChange, PolicyChoice, ToolRow, ToolsPanelView } from '../bindings';
import { h, replace } from '../dom';
import { errorBlock } from '../errors';
import { when } from '../received';

export interface ToolsNav {
  /** Back to the Servers view. */
  back: () => void;
}

const POLICY_LABEL: Record<PolicyChoice, string> = {
  'allow-all': 'Every tool (switch single tools off below)',
  'read-only': 'Read-only tools only (readOnlyHint)',
};

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** One changed field as two columns: the approved lines and the offered ones. */
function fieldDiff(c: FieldChange, newTool: boolean): HTMLElement {
  return h(
    'div',
    { class: 'field-diff', 'data-field': c.field },
    h('h4', {}, c.field),
    h(
      'table',
      { class: 'diff' },
      h(
        'thead',
        {},
        h('tr', {}, h('th', { scope: 'col' }, newTool ? 'Approved (new tool: nothing yet)' : 'Approved'), h('th', { scope: 'col' }, 'Offered now')),
      ),
      h(
        'tbody',
        {},
        ...c.rows.map((r) =>
          h(
            'tr',
            { class: `diff-${r.kind}`, 'data-kind': r.kind },
            h('td', { class: 'old' }, r.old === null ? '' : h('pre', {}, r.old)),
            h('td', { class: 'new' }, r.new === null ? '' : h('pre', {}, r.new)),
          ),
        ),
      ),
    ),
  );
}

export class ToolsPanel {
  readonly root: HTMLElement;
  private serverId: string | null = null;
  private view: ToolsPanelView | null = null;
  private error: unknown = null;
  /** "Stop guarding" asks first; a background refresh must not close the question. */
  private confirmUnguard = false;

  constructor(
    private readonly api: Api,
    private readonly ui: Ui,
    private readonly nav: ToolsNav,
  ) {
    this.root = h('section', { class: 'view tools-view', 'aria-labelledby': 'tools-title' });
  }

  /** Show the panel of `serverId` (from its card, the tray or a notification). */
  async open(serverId: string): Promise<void> {
    if (serverId !== this.serverId) {
      this.view = null;
      this.confirmUnguard = false;
    }
    this.serverId = serverId;
    await this.refresh();
  }

  editing(): boolean {
    return this.confirmUnguard;
  }

  async refresh(): Promise<void> {
    const id = this.serverId;
    if (!id) return this.render();
    try {
      this.view = await this.api.toolsView(id);
      this.error = null;
    } catch (e) {
      this.error = e;
    }
    this.render();
  }

  private render(): void {
    const v = this.view;
    const name = v?.name ?? this.serverId ?? '';
    replace(
      this.root,
      h(
        'div',
        { class: 'back-row' },
        h('button', { type: 'button', class: 'ghost', 'data-action': 'back', onclick: () => this.nav.back() }, '← Servers'),
      ),
      h('h2', { id: 'tools-title' }, `Tools of ${name}`),
      h('p', { class: 'muted path' }, this.serverId ?? ''),
      this.error ? h('p', { class: 'error', role: 'alert' }, errorBlock(this.error)) : null,
      !v ? (this.error ? null : h('p', { class: 'muted' }, 'Loading…')) : v.guarded ? this.guarded(v) : this.unguarded(v),
    );
  }

  private unguarded(v: ToolsPanelView): HTMLElement {
    return h(
      'div',
      { class: 'empty', 'data-unguarded': '' },
      h('p', {}, `${v.name} is not guarded: Keybroker starts it without checking its tools, so its clients see and call every tool it offers.`),
      h(
        'button',
        {
          type: 'button',
          class: 'primary',
          'data-action': 'guard',
          onclick: () => void this.run('Guarding…', () => this.api.toolsSetGuarded(v.server_id, true)),
        },
        'Guard its tools from its next start',
      ),
    );
  }

  private guarded(v: ToolsPanelView): HTMLElement {
    const held = v.tools.filter((t) => t.held);
    return h(
      'div',
      {},
      this.settings(v),
      h(
        'p',
        { class: 'muted', 'data-policy-text': '' },
        `Policy: ${v.policy_text}. Calls counted since ${when(v.calls_since)}.`,
      ),
      held.length
        ? h(
            'div',
            { class: 'held-banner', role: 'status', 'data-held-count': String(held.length) },
            h(
              'span',
              {},
              `${plural(held.length, 'tool')} held: the guard hides ${held.length === 1 ? 'it' : 'them'} from clients and refuses ${held.length === 1 ? 'its' : 'their'} calls until you approve the change below.`,
            ),
            held.length > 1
              ? h(
                  'button',
                  { type: 'button', class: 'primary', 'data-action': 'approve-all', onclick: () => void this.approve(v, held) },
                  `Approve all ${held.length}`,
                )
              : null,
          )
        : null,
      v.tools.length
        ? h('ul', { class: 'cards tools' }, ...v.tools.map((t) => this.tool(v, t)))
        : h('p', { class: 'empty' }, 'No tools seen yet: the guard pins them the first time the server lists them (at its next start).'),
    );
  }

  private settings(v: ToolsPanelView): HTMLElement {
    const custom = v.policy === 'allow-list' || v.policy === 'deny-list';
    const policy = h(
      'select',
      {
        id: 'tools-policy',
        'data-setting': 'policy',
        onchange: (ev: Event) => {
          const p = (ev.target as HTMLSelectElement).value as PolicyChoice;
          void this.run('Changing the policy…', () => this.api.toolsSetPolicy(v.server_id, p));
        },
      },
      ...(Object.keys(POLICY_LABEL) as PolicyChoice[]).map((p) => h('option', { value: p, selected: v.policy === p }, POLICY_LABEL[p])),
      custom ? h('option', { value: '', disabled: true, selected: true }, `Your choice per tool (${v.policy_text})`) : null,
    );
    const holdNew = h('input', {
      type: 'checkbox',
      id: 'tools-hold-new',
      'data-setting': 'hold-new',
      checked: v.hold_new,
      onchange: (ev: Event) => {
        const hold = (ev.target as HTMLInputElement).checked;
        void this.run('Saving…', () => this.api.toolsSetHoldNew(v.server_id, hold));
      },
    });
    return h(
      'div',
      { class: 'tool-settings' },
      h('div', { class: 'field' }, h('label', { for: 'tools-policy' }, 'Policy'), policy),
      h('label', { class: 'tool-check', for: 'tools-hold-new' }, holdNew, 'Hold tools that appear later until I approve them'),
      this.confirmUnguard
        ? h(
            'div',
            { class: 'form', role: 'group', 'aria-label': `Stop guarding ${v.name}` },
            h('p', {}, `Start ${v.name} without the tool guard from its next start? Its policy and pinned tool definitions are dropped, and its clients see every tool it offers.`),
            h(
              'div',
              { class: 'actions' },
              h(
                'button',
                {
                  type: 'button',
                  class: 'danger',
                  'data-confirm': 'unguard',
                  onclick: () => {
                    this.confirmUnguard = false;
                    void this.run('Stopping the guard…', () => this.api.toolsSetGuarded(v.server_id, false));
                  },
                },
                'Stop guarding',
              ),
              h(
                'button',
                {
                  type: 'button',
                  class: 'ghost',
                  onclick: () => {
                    this.confirmUnguard = false;
                    this.render();
                  },
                },
                'Cancel',
              ),
            ),
          )
        : h(
            'button',
            {
              type: 'button',
              class: 'ghost',
              'data-action': 'unguard',
              onclick: () => {
                this.confirmUnguard = true;
                this.render();
              },
            },
            'Stop guarding…',
          ),
    );
  }

  private tool(v: ToolsPanelView, t: ToolRow): HTMLElement {
    const stateClass = t.held ? 'warn' : t.state === 'denied' ? 'denied' : 'ok';
    return h(
      'li',
      { class: `card tool state-${t.state}`, 'data-tool': t.name, 'data-state': t.state },
      h(
        'div',
        { class: 'card-head' },
        h('strong', { class: 'name mono' }, t.name),
        t.title ? h('span', { class: 'muted' }, t.title) : null,
        h('span', { class: `badge ${stateClass}`, 'data-tool-state': '' }, t.state_text),
        t.read_only ? h('span', { class: 'badge ok', 'data-badge': 'read-only' }, 'read-only') : null,
        t.destructive ? h('span', { class: 'badge destructive', 'data-badge': 'destructive' }, 'destructive') : null,
      ),
      t.description ? h('p', { class: 'description' }, t.description) : null,
      h(
        'div',
        { class: 'tool-meta' },
        h(
          'label',
          { class: 'switch' },
          h('input', {
            type: 'checkbox',
            role: 'switch',
            'data-toggle': t.name,
            checked: t.allowed,
            'aria-checked': String(t.allowed),
            onchange: (ev: Event) => {
              const on = (ev.target as HTMLInputElement).checked;
              void this.run(on ? `Allowing ${t.name}…` : `Switching ${t.name} off…`, () => this.api.toolSetAllowed(v.server_id, t.name, on));
            },
          }),
          t.allowed ? (t.held ? 'Allowed once approved' : 'Allowed') : 'Switched off',
        ),
        h('span', { class: 'muted', 'data-calls': String(t.calls_7d) }, `${plural(t.calls_7d, 'call')} in 7 days`),
        h('span', { class: 'muted', 'data-last-call': t.last_call ?? '' }, t.last_call ? `last call ${when(t.last_call)}` : 'never called'),
      ),
      t.held
        ? h(
            'div',
            { class: 'held', 'data-held': t.name },
            h(
              'p',
              {},
              t.held.new_tool
                ? `New since the first listing (held since ${when(t.held.since)}). Clients see it once you approve it.`
                : `Its definition changed since you approved it (held since ${when(t.held.since)}). Clients keep seeing nothing of it until you approve the new one.`,
            ),
            ...t.held.changes.map((c) => fieldDiff(c, t.held?.new_tool ?? false)),
            h(
              'div',
              { class: 'actions' },
              h(
                'button',
                { type: 'button', class: 'primary', 'data-approve': t.name, onclick: () => void this.approve(v, [t]) },
                t.held.new_tool ? `Approve ${t.name}` : `Approve the new ${t.name}`,
              ),
            ),
          )
        : null,
    );
  }

  private approve(v: ToolsPanelView, tools: ToolRow[]): Promise<void> {
    const seen = tools.flatMap((t) => (t.held ? [{ tool: t.name, hash: t.held.hash }] : []));
    return this.run('Approving…', () => this.api.toolsApprove(v.server_id, seen));
  }

  /** One change, then the panel as the core has it now (also after a refusal: a tool
   * that changed again shows its newest definition). */
  private async run(label: string, work: () => Promise<string>): Promise<void> {
    try {
      this.ui.toast(await this.ui.busy(label, work), 'ok');
    } catch (e) {
      this.ui.fail(e);
    }
    await this.refresh();
  }
}
