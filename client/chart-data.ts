// What the dashboard does to a series before drawing it, as pure functions (tested without a browser):
// grouping metric names as TRL does, EMA smoothing, and downsampling for drawing. Downsampling happens
// only here, on the page's copy for one chart of a given width; the server keeps every point.

export interface Pt {
  x: number;
  y: number;
}

/** TRL's groups first, in its order; then any other prefix alphabetically; names without a prefix last. */
const TRL_GROUPS = ['objective', 'policy', 'loss', 'val'];

export function groupMetrics(names: string[]): { group: string; names: string[] }[] {
  const by = new Map<string, string[]>();
  for (const n of [...names].sort()) {
    const i = n.indexOf('/');
    const g = i > 0 ? n.slice(0, i) : 'other';
    (by.get(g) ?? by.set(g, []).get(g)!).push(n);
  }
  const rank = (g: string) => (TRL_GROUPS.includes(g) ? TRL_GROUPS.indexOf(g) : g === 'other' ? 1e9 : TRL_GROUPS.length);
  return [...by.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)).map((group) => ({ group, names: by.get(group)! }));
}

/**
 * Exponential moving average with TensorBoard's debiasing (the first points are not pulled towards 0).
 * weight in [0, 1): 0 returns the values unchanged. Null (a non-finite value) stays null and is skipped.
 */
export function ema(values: (number | null)[], weight: number): (number | null)[] {
  if (weight <= 0) return values.slice();
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return null;
    last = last * weight + (1 - weight) * v;
    n++;
    return last / (1 - weight ** n);
  });
}

/**
 * Largest-Triangle-Three-Buckets (Steinarsson 2013): keeps `threshold` points that preserve the shape of
 * the line (peaks and dips survive, unlike taking every k-th point). Points must be in x order.
 */
export function lttb(data: Pt[], threshold: number): Pt[] {
  const n = data.length;
  if (threshold >= n || threshold < 3) return data;
  const out: Pt[] = [data[0]];
  const every = (n - 2) / (threshold - 2);
  let a = 0;
  for (let i = 0; i < threshold - 2; i++) {
    // the average of the next bucket is the third corner of the triangle
    const nextStart = Math.floor((i + 1) * every) + 1;
    const nextEnd = Math.min(Math.floor((i + 2) * every) + 1, n);
    let ax = 0;
    let ay = 0;
    for (let j = nextStart; j < nextEnd; j++) {
      ax += data[j].x;
      ay += data[j].y;
    }
    const len = nextEnd - nextStart || 1;
    ax /= len;
    ay /= len;
    const start = Math.floor(i * every) + 1;
    const end = Math.floor((i + 1) * every) + 1;
    let best = start;
    let area = -1;
    for (let j = start; j < end; j++) {
      const s = Math.abs((data[a].x - ax) * (data[j].y - data[a].y) - (data[a].x - data[j].x) * (ay - data[a].y));
      if (s > area) {
        area = s;
        best = j;
      }
    }
    out.push(data[best]);
    a = best;
  }
  out.push(data[n - 1]);
  return out;
}

export type XAxis = 'step' | 'relative' | 'wall';

/**
 * The points to draw for one series: x chosen by the axis, smoothed, gaps (null) and, on a log scale,
 * values <= 0 left out, then at most `maxPoints` (about two per pixel of the chart's width).
 */
export function drawPoints(s: { step: number[]; time: number[]; value: (number | null)[] }, o: { x: XAxis; smoothing: number; log: boolean; maxPoints: number }): Pt[] {
  const ys = ema(s.value, o.smoothing);
  const t0 = s.time[0] ?? 0;
  const pts: Pt[] = [];
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (y === null || (o.log && y <= 0)) continue;
    pts.push({ x: o.x === 'step' ? s.step[i] : o.x === 'relative' ? (s.time[i] - t0) / 1000 : s.time[i], y });
  }
  return lttb(pts, o.maxPoints);
}
