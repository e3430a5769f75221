// The config diff of the runs overlaid on the charts: every field (nested objects flattened to dotted
// paths, lists kept whole) whose value is not the same in all of them, one row per field, one column per
// run. Pure functions, tested without a browser; the table's cells are text.
import { h } from './dom.js';

export interface DiffRow {
  key: string;
  /** Per run, the value as JSON, or undefined where the run's config has no such field. */
  values: (string | undefined)[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A config as dotted paths to JSON values: {lora: {rank: 8}} -> {"lora.rank": "8"}; an empty object stays "{}". */
export function flattenConfig(config: Record<string, unknown>, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(config)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isObject(v) && Object.keys(v).length) for (const [kk, vv] of flattenConfig(v, key)) out.set(kk, vv);
    else out.set(key, JSON.stringify(v) ?? 'undefined');
  }
  return out;
}

/**
 * The fields that differ between configs, sorted by path. A field some configs lack differs too. With
 * fewer than two configs nothing differs. `ignore` drops fields by path (the run's own folder, `out`, is
 * always different and says nothing).
 */
export function configDiff(configs: Record<string, unknown>[], ignore: string[] = ['out']): DiffRow[] {
  if (configs.length < 2) return [];
  const flat = configs.map((c) => flattenConfig(c));
  const keys = [...new Set(flat.flatMap((f) => [...f.keys()]))].filter((k) => !ignore.includes(k)).sort();
  return keys.flatMap((key) => {
    const values = flat.map((f) => f.get(key));
    return values.every((v) => v === values[0]) ? [] : [{ key, values }];
  });
}

/** The diff as a table: the field, then a column per run headed by its name; a missing field reads "(unset)". */
export function diffTable(runs: { id: string; label: string; config: Record<string, unknown> }[]): HTMLElement {
  const rows = configDiff(runs.map((r) => r.config));
  if (runs.length < 2) return h('p', { class: 'status', id: 'config-diff' }, 'Show two or more runs on the charts to compare their configs.');
  if (!rows.length) return h('p', { class: 'status', id: 'config-diff' }, 'The shown runs have the same config.');
  return h('table', { class: 'config-diff', id: 'config-diff' },
    h('thead', {}, h('tr', {}, h('th', {}, 'field'), ...runs.map((r) => h('th', { title: r.id }, r.label)))),
    h('tbody', {}, ...rows.map((r) => h('tr', { 'data-key': r.key }, h('th', { scope: 'row' }, r.key),
      ...r.values.map((v) => h('td', { class: v === undefined ? 'unset' : '' }, v === undefined ? '(unset)' : v))))));
}
