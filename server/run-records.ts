// Reading a child's stdout: a line is a SinkRecord (data/metrics-sink.ts) only when it parses and has the
// right shape; anything else is log output. Checked here because a child is a separate program whose
// output the server must never trust blindly (a malformed record must not reach the store or a page).
import type { SampleRow, SinkRecord } from '../data/metrics-sink.js';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const MAX_ROWS = 256;
const MAX_TEXT = 20_000;
const MAX_COLUMNS = 64;

/**
 * A sample row's extra cells (GRPO, RLOO: each reward's value, the columns reward functions logged): at most
 * MAX_COLUMNS, names up to 200 characters, values strings (cut to MAX_TEXT), numbers, booleans or null.
 * A Map first: a column may be called anything, `__proto__` included.
 */
function cells(v: Record<string, unknown>): Record<string, string | number | boolean | null> {
  const out = new Map<string, string | number | boolean | null>();
  for (const [k, x] of Object.entries(v)) {
    if (out.size >= MAX_COLUMNS) break;
    if (k.length > 200) continue;
    out.set(k, typeof x === 'string' ? x.slice(0, MAX_TEXT) : typeof x === 'number' || typeof x === 'boolean' ? x : null);
  }
  return Object.fromEntries(out);
}

export function parseRecord(line: string): SinkRecord | null {
  if (!line.startsWith('{')) return null;
  let r: unknown;
  try {
    r = JSON.parse(line);
  } catch {
    return null;
  }
  if (!isObj(r) || !Number.isInteger(r.step) || (r.step as number) < 0) return null;
  const step = r.step as number;
  const time = typeof r.time === 'number' && Number.isFinite(r.time) ? r.time : Date.now();
  if (r.type === 'metrics' && isObj(r.metrics)) {
    // JSON has no NaN: JSON.stringify wrote a non-finite value as null; keep it as null (a gap)
    // no prototype: a metric called `__proto__` or `constructor` is a metric like any other
    const metrics = Object.create(null) as Record<string, number>;
    for (const [k, v] of Object.entries(r.metrics)) {
      if (k.length > 200) continue;
      if (typeof v === 'number' || v === null) metrics[k] = v === null ? NaN : v;
    }
    return { type: 'metrics', step, time, metrics };
  }
  if (r.type === 'samples' && Array.isArray(r.rows)) {
    const rows: SampleRow[] = r.rows.slice(0, MAX_ROWS).filter(isObj).map((s) => ({
      prompt: String(s.prompt ?? '').slice(0, MAX_TEXT),
      completion: String(s.completion ?? '').slice(0, MAX_TEXT),
      score: typeof s.score === 'number' ? s.score : NaN,
      ...(typeof s.gold === 'number' ? { gold: s.gold } : {}),
      ...(isObj(s.columns) ? { columns: cells(s.columns) } : {}),
    }));
    return { type: 'samples', step, time, rows };
  }
  if (r.type === 'event' && typeof r.kind === 'string' && r.kind.length <= 100) {
    return { type: 'event', step, time, kind: r.kind, data: isObj(r.data) ? r.data : {} };
  }
  return null;
}
