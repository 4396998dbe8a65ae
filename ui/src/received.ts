// How a hand-out from the audit log (a `released` event) reads in the views.
import type { ReleaseView } from './bindings';

/** "2026-01-01 10:05:00" from an RFC 3339 time, in local time. */
export function when(time: string): string {
  const t = new Date(time);
  if (Number.isNaN(t.getTime())) return time;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())} ${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}`;
}

/** "last received 2026-01-01 10:05:00 by node (pid 11, parent 9) for Claude Desktop". */
export function receivedText(r: ReleaseView | null): string {
  if (!r) return 'never received yet';
  return `last received ${when(r.time)} by ${r.by}${r.host ? ` for ${r.host}` : ''}`;
}
