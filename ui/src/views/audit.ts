// Audit view: the hash-chained log as a filterable table, the chain's verification
// state, export to JSON/CSV. Rows appear live: the app refreshes it on `kb-changed`.
// The Event filter lists the kinds the core writes (`released`, ..., `tool-call`,
// `tool-denied`, `tool-held`, `policy-changed`); tool events show their tool.
import type { Api, Ui } from '../api';
import type { AuditFilter, AuditRow, AuditView } from '../bindings';
import { h, replace } from '../dom';

/** `datetime-local` value (local time) to RFC 3339 UTC, or null when empty/invalid. */
export function toRfc3339(local: string): string | null {
  if (!local) return null;
  const t = new Date(local);
  return Number.isNaN(t.getTime()) ? null : t.toISOString();
}

const FIELDS: [keyof AuditFilter, string][] = [
  ['server', 'Server'],
  ['credential', 'Credential'],
  ['host', 'Host'],
];

/** What the Target / tool cell says: where a secret went, or which tool an event is about. */
function targetText(r: AuditRow): string {
  if (r.target) return r.target;
  if (!r.tool) return '';
  return r.duration_ms == null ? `tool ${r.tool}` : `tool ${r.tool} (${r.duration_ms} ms)`;
}

export class AuditPanel {
  readonly root: HTMLElement;
  private data: AuditView | null = null;
  private filter: AuditFilter = { server: null, credential: null, host: null, event: null, since: null, until: null };
  private readonly table: HTMLElement;
  private readonly chain: HTMLElement;
  private readonly eventSel: HTMLSelectElement;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly api: Api,
    private readonly ui: Ui,
  ) {
    this.root = h('section', { class: 'view', 'aria-labelledby': 'audit-title' });
    this.table = h('div', { class: 'table-wrap' });
    this.chain = h('p', { class: 'chain', role: 'status' });
    this.eventSel = h(
      'select',
      {
        id: 'filter-event',
        'data-filter': 'event',
        onchange: (ev: Event) => void this.setFilter({ event: (ev.target as HTMLSelectElement).value || null }),
      },
      h('option', { value: '' }, 'any'),
    );
    replace(
      this.root,
      h('h2', { id: 'audit-title' }, 'Audit log'),
      this.chain,
      this.filters(),
      this.table,
    );
  }

  private filters(): HTMLElement {
    const input = (key: keyof AuditFilter, label: string, type = 'text') => {
      const id = `filter-${key}`;
      const el = h('input', {
        id,
        type,
        'data-filter': key,
        oninput: (ev: Event) => {
          const v = (ev.target as HTMLInputElement).value;
          this.filter[key] = type === 'datetime-local' ? toRfc3339(v) : v.trim() || null;
          clearTimeout(this.timer);
          this.timer = setTimeout(() => void this.refresh(), 250);
        },
      });
      return h('div', { class: 'field' }, h('label', { for: id }, label), el);
    };
    return h(
      'div',
      { class: 'filters', role: 'search' },
      ...FIELDS.map(([k, l]) => input(k, l)),
      h('div', { class: 'field' }, h('label', { for: 'filter-event' }, 'Event'), this.eventSel),
      input('since', 'From', 'datetime-local'),
      input('until', 'To', 'datetime-local'),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', onclick: () => void this.export('json') }, 'Export JSON'),
        h('button', { type: 'button', onclick: () => void this.export('csv') }, 'Export CSV'),
      ),
    );
  }

  setFilter(f: Partial<AuditFilter>): Promise<void> {
    this.filter = { ...this.filter, ...f };
    return this.refresh();
  }

  async refresh(): Promise<void> {
    try {
      this.data = await this.api.auditView(this.filter);
    } catch (e) {
      this.ui.fail(e);
    }
    this.render();
  }

  /** The Event filter's options: "any", then every kind the core names. */
  private eventOptions(kinds: string[]): void {
    const have = [...this.eventSel.options].map((o) => o.value).slice(1);
    if (have.length === kinds.length && have.every((k, i) => k === kinds[i])) return;
    const chosen = this.filter.event ?? '';
    replace(
      this.eventSel,
      h('option', { value: '' }, 'any'),
      ...kinds.map((k) => h('option', { value: k }, k)),
    );
    this.eventSel.value = chosen;
  }

  private render(): void {
    const d = this.data;
    if (!d) return;
    this.eventOptions(d.event_kinds);
    this.eventSel.value = this.filter.event ?? '';
    this.chain.className = d.chain_ok ? 'chain ok' : 'chain broken';
    replace(
      this.chain,
      d.chain_ok
        ? `Chain verified: ${d.total_lines} event(s), none edited, removed or reordered.`
        : `Chain broken: ${d.problems.join(' ')}`,
    );
    if (!d.rows.length) {
      replace(this.table, h('p', { class: 'muted' }, d.total_lines ? 'No event matches the filters.' : 'No events yet.'));
      return;
    }
    const rows = [...d.rows].reverse();
    replace(
      this.table,
      h(
        'table',
        { class: 'audit' },
        h(
          'thead',
          {},
          h('tr', {}, ...['Time', 'Event', 'Server', 'Host', 'Credential', 'Target / tool', 'PID / parent', 'Outcome'].map((c) => h('th', { scope: 'col' }, c))),
        ),
        h('tbody', {}, ...rows.map((r) => this.row(r))),
      ),
    );
  }

  private row(r: AuditRow): HTMLElement {
    const pid = r.pid == null ? '' : `${r.pid}${r.parent ? ` / ${r.parent}` : r.ppid != null ? ` / ${r.ppid}` : ''}`;
    return h(
      'tr',
      { 'data-event': r.event, 'data-server': r.server ?? '', 'data-tool': r.tool ?? '', title: r.detail ?? '' },
      h('td', { class: 'mono' }, r.time),
      h('td', {}, h('span', { class: `badge ev-${r.event}` }, r.event)),
      h('td', {}, r.server ?? ''),
      h('td', {}, r.host ?? ''),
      h('td', { class: 'mono' }, r.credential ?? ''),
      h('td', { class: 'mono' }, targetText(r)),
      h('td', {}, pid),
      h('td', { class: r.outcome === 'ok' ? '' : 'error' }, r.outcome),
    );
  }

  private async export(format: 'json' | 'csv'): Promise<void> {
    try {
      const path = await this.ui.busy('Exporting…', () => this.api.auditExport(this.filter, format));
      this.ui.toast(`Saved ${path}`, 'ok');
    } catch (e) {
      this.ui.fail(e);
    }
  }
}
