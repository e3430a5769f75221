// The dashboard's run table: filter and sort as pure functions (tested without a browser), and the
// table's head with sortable columns. A run shows by its name when it has one, its tags beside it.
import type { RunView } from '../protocol/wire.js';
import { h } from './dom.js';

export type SortKey = 'created' | 'name' | 'kind' | 'state' | 'step';
export interface SortOrder {
  key: SortKey;
  desc: boolean;
}

/** What a run is called on the page: its name, else its id. */
export const runLabel = (r: Pick<RunView, 'id' | 'name'>): string => r.name || r.id;

/**
 * The runs a filter query keeps. Every word must match: `tag:x` a tag exactly, `kind:x`, `state:x` and
 * `origin:x` that field exactly, any other word a case-insensitive part of the id, name, kind, state,
 * origin, tags or notes. A leading `-` negates a word.
 */
export function filterRuns(runs: RunView[], query: string): RunView[] {
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return runs;
  const tests = words.map((w) => {
    const neg = w.startsWith('-') && w.length > 1;
    const word = neg ? w.slice(1) : w;
    const m = /^(tag|kind|state|origin):(.+)$/.exec(word);
    const test = (r: RunView): boolean => {
      if (m) {
        const [, field, want] = m;
        if (field === 'tag') return (r.tags ?? []).some((t) => t.toLowerCase() === want);
        return String(r[field as 'kind' | 'state' | 'origin']).toLowerCase() === want;
      }
      return [r.id, r.name ?? '', r.kind, r.state, r.origin, ...(r.tags ?? []), r.notes ?? ''].some((f) => f.toLowerCase().includes(word));
    };
    return neg ? (r: RunView) => !test(r) : test;
  });
  return runs.filter((r) => tests.every((t) => t(r)));
}

/** The runs in this order; ties go newest first, then by id, so the order is stable. */
export function sortRuns(runs: RunView[], o: SortOrder): RunView[] {
  const val = (r: RunView): string | number => {
    switch (o.key) {
      case 'created': return r.created_at;
      case 'name': return runLabel(r).toLowerCase();
      case 'kind': return r.kind;
      case 'state': return r.state;
      case 'step': return r.last_step ?? -1;
    }
  };
  const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
  return [...runs].sort((a, b) => (o.desc ? -1 : 1) * cmp(val(a), val(b)) || cmp(b.created_at, a.created_at) || cmp(a.id, b.id));
}

const COLUMNS: [label: string, key: SortKey | null][] = [['show', null], ['run', 'name'], ['tags', null], ['kind', 'kind'], ['state', 'state'], ['step', 'step'], ['origin', null], ['created', 'created']];

/** The table's head: a button per sortable column (aria-sort on the sorted one); `pick` is told the new order. */
export function runTableHead(order: SortOrder, pick: (o: SortOrder) => void): HTMLElement {
  return h('thead', {}, h('tr', {}, ...COLUMNS.map(([label, key]) => {
    if (!key) return h('th', {}, label);
    const on = order.key === key;
    const th = h('th', { 'aria-sort': on ? (order.desc ? 'descending' : 'ascending') : 'none' },
      h('button', { class: 'sort', 'data-sort': key, onclick: () => pick({ key, desc: on ? !order.desc : key === 'created' || key === 'step' }) }, label, on ? (order.desc ? ' ▼' : ' ▲') : ''));
    return th;
  })));
}
