// What the dashboard does to a series before drawing it, as pure functions (tested without a browser):
// grouping metric names as TRL does, EMA smoothing, and downsampling for drawing. Downsampling happens
// only here, on the page's copy for one chart of a given width; the server keeps every point.

export interface Pt {
  x: number;
  y: number;
  /** The point's index in its series (drawPoints sets it): the tooltip's raw value and time. */
  i?: number;
}

/**
 * TRL's groups first, in its order; then any other prefix alphabetically; names without a prefix last.
 * 'online' (the online-feedback loop: label counts, reward-model version and accuracy; online DPO's rounds)
 * sits right after the rewards, because a reward curve only makes sense next to the reward model that
 * produced it. PPO's names carry their group (objective/kl, loss/value_avg); most of GRPO's and RLOO's do
 * not (reward, kl, loss, step_time), so NAMED puts each in the group it belongs to, first in it, and
 * rewards/<name>/* joins reward: reward and rewards/*, completions/*, clip_ratio/*, kl and entropy with
 * policy/*, loss, grad_norm and lr with loss/*, num_tokens and step_time with time/*. DPO's are TRL's
 * DPOTrainer names: its implicit rewards rewards/chosen, rewards/rejected, rewards/margins and
 * rewards/accuracies (two parts, unlike GRPO's three) are the group 'rewards', then logps/* and logits/*,
 * loss, grad_norm, lr (and RPO's nll_loss) with loss, and every eval/ name in 'eval'.
 */
const TRL_GROUPS = ['objective', 'reward', 'online', 'rewards', 'logps', 'logits', 'completions', 'clip_ratio', 'policy', 'loss', 'val', 'eval'];
/** Groups after every other prefix, before 'other': the run's process figures (sys/*, data/sys-metrics.ts). */
const LAST_GROUPS = ['sys'];
const NAMED: Record<string, string> = {
  reward: 'reward', reward_std: 'reward', frac_reward_zero_std: 'reward', gold_reward: 'reward',
  kl: 'policy', entropy: 'policy',
  loss: 'loss', grad_norm: 'loss', lr: 'loss', nll_loss: 'loss',
  num_tokens: 'time', step_time: 'time',
};
const NAMED_ORDER = Object.keys(NAMED);

export function groupOf(name: string): string {
  if (Object.hasOwn(NAMED, name)) return NAMED[name];
  const i = name.indexOf('/');
  if (i <= 0) return 'other';
  const prefix = name.slice(0, i);
  // GRPO's and RLOO's rewards/<function>/<stat> beside their reward; DPO's rewards/<name> a group of their own
  if (prefix === 'rewards') return name.indexOf('/', i + 1) > 0 ? 'reward' : 'rewards';
  return prefix;
}

export function groupMetrics(names: string[]): { group: string; names: string[] }[] {
  const by = new Map<string, string[]>();
  const rankName = (n: string) => (Object.hasOwn(NAMED, n) ? NAMED_ORDER.indexOf(n) : NAMED_ORDER.length);
  for (const n of [...names].sort((a, b) => rankName(a) - rankName(b) || (a < b ? -1 : a > b ? 1 : 0))) {
    const g = groupOf(n);
    (by.get(g) ?? by.set(g, []).get(g)!).push(n);
  }
  const rank = (g: string) => (TRL_GROUPS.includes(g) ? TRL_GROUPS.indexOf(g) : LAST_GROUPS.includes(g) ? TRL_GROUPS.length + 1 + LAST_GROUPS.indexOf(g) : g === 'other' ? 1e9 : TRL_GROUPS.length);
  return [...by.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)).map((group) => ({ group, names: by.get(group)! }));
}

/**
 * Exponential moving average with TensorBoard's debiasing (the first points are not pulled towards 0).
 * weight in [0, 1): 0 returns the values unchanged. Null (a non-finite value) stays null and is skipped.
 *
 * Computed as a running update of the debiased mean itself, d += (v - d) (1 - w) / (1 - w^n), which is the
 * same number as m_n / (1 - w^n) with m_n = w m_{n-1} + (1 - w) v, but exact where it matters: the first
 * point is the value itself, and a constant series stays that constant to the last bit (the ratio form
 * rounds differently at each point, and a constant kl_coef drew as a zig-zag once the y-axis zoomed in on
 * that rounding).
 */
export function ema(values: (number | null)[], weight: number): (number | null)[] {
  if (weight <= 0) return values.slice();
  const step = emaStepper(weight);
  return values.map((v) => (v === null || !Number.isFinite(v) ? null : step(v)));
}

/** One EMA as a function of the next finite value (ema() and drawPoints share it). */
function emaStepper(weight: number): (v: number) => number {
  let d = 0;
  let keep = 1; // weight ** n, kept as a running product (Math.pow per point costs more than the rest)
  return (v) => {
    keep *= weight;
    d += (v - d) * ((1 - weight) / (1 - keep));
    return d;
  };
}

/**
 * Largest-Triangle-Three-Buckets (Steinarsson 2013): keeps `threshold` points that preserve the shape of
 * the line (peaks and dips survive, unlike taking every k-th point). Points must be in x order.
 */
export function lttb(data: Pt[], threshold: number): Pt[] {
  if (threshold >= data.length || threshold < 3) return data;
  const xs = Float64Array.from(data, (p) => p.x);
  const ys = Float64Array.from(data, (p) => p.y);
  return lttbIndices(xs, ys, data.length, threshold).map((i) => data[i]);
}

/** LTTB over the first n entries of parallel arrays: the indices kept, in order. */
function lttbIndices(xs: Float64Array, ys: Float64Array, n: number, threshold: number): number[] {
  const out = [0];
  const every = (n - 2) / (threshold - 2);
  let a = 0;
  for (let i = 0; i < threshold - 2; i++) {
    // the average of the next bucket is the third corner of the triangle
    const nextStart = Math.floor((i + 1) * every) + 1;
    const nextEnd = Math.min(Math.floor((i + 2) * every) + 1, n);
    let ax = 0;
    let ay = 0;
    for (let j = nextStart; j < nextEnd; j++) {
      ax += xs[j];
      ay += ys[j];
    }
    const len = nextEnd - nextStart || 1;
    ax /= len;
    ay /= len;
    const start = Math.floor(i * every) + 1;
    const end = Math.floor((i + 1) * every) + 1;
    let best = start;
    let area = -1;
    for (let j = start; j < end; j++) {
      const s = Math.abs((xs[a] - ax) * (ys[j] - ys[a]) - (xs[a] - xs[j]) * (ay - ys[a]));
      if (s > area) {
        area = s;
        best = j;
      }
    }
    out.push(best);
    a = best;
  }
  out.push(n - 1);
  return out;
}

export type XAxis = 'step' | 'relative' | 'wall';

/**
 * The points to draw for one series: x chosen by the axis, smoothed, gaps (null) and, on a log scale,
 * values <= 0 left out, then (a zoomed chart) only the points in `range` and one on either side, so the
 * line runs to the plot's edges, then at most `maxPoints` (about two per pixel of the chart's width).
 * Smoothing sees the whole series, so zooming never changes a smoothed value. Each point keeps its index
 * in the series (`i`).
 */
export function drawPoints(
  s: { step: number[]; time: number[]; value: (number | null)[] },
  o: { x: XAxis; smoothing: number; log: boolean; maxPoints: number; range?: [number, number] | null },
): Pt[] {
  // one pass into typed arrays (smoothing as in ema()), then objects only for the points kept
  const n0 = s.value.length;
  const xs = new Float64Array(n0);
  const ys = new Float64Array(n0);
  const src = new Int32Array(n0);
  const t0 = s.time[0] ?? 0;
  const smooth = o.smoothing > 0 ? emaStepper(o.smoothing) : null;
  let n = 0;
  for (let i = 0; i < n0; i++) {
    const v = s.value[i];
    if (v === null || !Number.isFinite(v)) continue;
    const y = smooth ? smooth(v) : v;
    if (o.log && y <= 0) continue;
    xs[n] = o.x === 'step' ? s.step[i] : o.x === 'relative' ? (s.time[i] - t0) / 1000 : s.time[i];
    ys[n] = y;
    src[n++] = i;
  }
  let lo = 0;
  let hi = n; // the points kept: [lo, hi)
  if (o.range) {
    const [a, b] = o.range;
    while (lo < n && xs[lo] < a) lo++;
    while (hi > lo && xs[hi - 1] > b) hi--;
    lo = Math.max(0, lo - 1);
    hi = Math.min(n, hi + 1);
  }
  const m = hi - lo;
  const idx = o.maxPoints >= 3 && m > o.maxPoints ? lttbIndices(xs.subarray(lo, hi), ys.subarray(lo, hi), m, o.maxPoints) : Array.from({ length: m }, (_, i) => i);
  return idx.map((k) => ({ x: xs[lo + k], y: ys[lo + k], i: src[lo + k] }));
}

/**
 * The chart groups with the pinned metrics taken out of theirs into a first group, 'pinned', in the order
 * they were pinned; a pinned name no run has is left out, and a group left empty goes.
 */
export function arrangeGroups(groups: { group: string; names: string[] }[], pinned: string[]): { group: string; names: string[] }[] {
  const have = new Set(groups.flatMap((g) => g.names));
  const pins = pinned.filter((n) => have.has(n));
  if (!pins.length) return groups;
  const set = new Set(pins);
  const rest = groups.map((g) => ({ group: g.group, names: g.names.filter((n) => !set.has(n)) })).filter((g) => g.names.length);
  return [{ group: 'pinned', names: pins }, ...rest];
}

/**
 * Which metric names a search shows: every word of the query must match (case-insensitively) as a
 * regular expression, or as plain text when it is not a valid one. An empty query shows all.
 */
export function metricMatcher(query: string): (name: string) => boolean {
  const words = query.trim().split(/\s+/).filter(Boolean);
  const tests = words.map((w) => {
    try {
      const re = new RegExp(w, 'i');
      return (n: string) => re.test(n);
    } catch {
      const low = w.toLowerCase();
      return (n: string) => n.toLowerCase().includes(low);
    }
  });
  return (name) => tests.every((t) => t(name));
}

/** A run event as the API (with its time) or the WebSocket (without) delivers it. */
export interface RunEventLike {
  step: number;
  kind: string;
  data: Record<string, unknown>;
  /** Unix milliseconds; absent on events pushed over the WebSocket. */
  time?: number;
}

/** A reward-model switch, or an online DPO round, to be drawn as a vertical line on every chart of its run. */
export interface SwitchMarker {
  step: number;
  time: number | null;
  /** The reward model's version, or the DPO round. */
  version: number;
  /** "reward model vN", "DPO round N" */
  label: string;
  /** What the line is labelled with on the chart: "vN", "rN". */
  tag: string;
}

/**
 * The reward-model version each 'reward-switch' event switched to (null for other events), aligned with
 * `events`. The event carries only the reward's name (`reward-model:<dir>`, the refresh's folder
 * `.../reward-models/vN/final`), so the version comes from that folder; failing that, from the
 * 'reward-model-ready' event with the same path, or the latest one before it; failing all, from the
 * switch's ordinal.
 */
export function switchVersions(events: RunEventLike[]): (number | null)[] {
  let lastReady: number | null = null;
  let switches = 0;
  const readyByPath = new Map<string, number>();
  return events.map((e) => {
    if (e.kind === 'reward-model-ready' && typeof e.data.version === 'number') {
      lastReady = e.data.version;
      if (typeof e.data.path === 'string') readyByPath.set(e.data.path, e.data.version);
    }
    if (e.kind !== 'reward-switch') return null;
    switches++;
    const dir = (typeof e.data.name === 'string' ? e.data.name : '').replace(/^reward-model:/, '');
    const m = /(?:^|[\\/])v(\d+)(?:[\\/]|$)/.exec(dir);
    return m ? Number(m[1]) : readyByPath.get(dir) ?? lastReady ?? switches;
  });
}

/** What each event marks on the charts (null for most), aligned with `events`: a reward-model switch, or the end of an online DPO round ('dpo-round', dpo/online.ts). */
export function eventMarks(events: RunEventLike[]): ({ kind: 'reward-switch' | 'dpo-round'; version: number; label: string; tag: string } | null)[] {
  const versions = switchVersions(events);
  return events.map((e, i) => {
    const v = versions[i];
    if (v !== null) return { kind: 'reward-switch', version: v, label: `reward model v${v}`, tag: `v${v}` };
    if (e.kind === 'dpo-round' && typeof e.data.round === 'number') return { kind: 'dpo-round', version: e.data.round, label: `DPO round ${e.data.round}`, tag: `r${e.data.round}` };
    return null;
  });
}

/**
 * A run's reward-model switches and DPO rounds as markers, in event order. A resumed run repeats its
 * steps, and with them a switch at the same step to the same version: that one is shown once.
 */
export function switchMarkers(events: RunEventLike[]): SwitchMarker[] {
  const marks = eventMarks(events);
  const out: SwitchMarker[] = [];
  const seen = new Set<string>();
  events.forEach((e, i) => {
    const m = marks[i];
    const key = `${m?.kind}|${e.step}|${m?.version}`;
    if (m === null || seen.has(key)) return;
    seen.add(key);
    out.push({ step: e.step, time: e.time ?? null, version: m.version, label: m.label, tag: m.tag });
  });
  return out;
}

/**
 * Where a marker goes on a chart's x-axis, matching drawPoints: its step, or on a time axis its own time
 * (or, for a live event without one, the time of the series' last point at or before its step; the
 * switch happens at that step boundary), relative to the series' first point for 'relative'.
 * Null when a time axis has no point to place it by.
 */
export function markerX(m: SwitchMarker, s: { step: number[]; time: number[] }, x: XAxis): number | null {
  if (x === 'step') return m.step;
  let t = m.time;
  if (t === null) {
    let i = s.step.length - 1;
    while (i >= 0 && s.step[i] > m.step) i--;
    if (i < 0) return null;
    t = s.time[i];
  }
  if (x === 'wall') return t;
  return s.time.length ? (t - s.time[0]) / 1000 : null;
}
