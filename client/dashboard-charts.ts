// The dashboard's charts: one chart.js line chart per metric, grouped under TRL's headings (pinned ones
// first), each overlaying the selected runs. Each redraw recomputes the drawn points from the page's full
// copy of the series (smoothing, x-axis, log scale, zoom, then LTTB down to one point per pixel), so a
// chart with 10k points per series draws a few hundred; the server and the page keep every point.
// Off-screen charts wait. Per chart: drag to zoom (chart-zoom.ts), its own log scale, pinning; a search
// hides the charts whose names do not match. The tooltip gives each run's smoothed and raw value and the
// point's time (chart-tooltip.ts); a click on a point asks for that step's samples.
// A run's reward-model switches are drawn on each of its charts (dashboard-markers.ts).
import { ActiveElement, Chart, Legend, LinearScale, LineController, LineElement, LogarithmicScale, PointElement, Tooltip, TooltipModel } from 'chart.js';
import { arrangeGroups, drawPoints, groupMetrics, markerX, metricMatcher, Pt, SwitchMarker, XAxis } from './chart-data.js';
import { makeFigure, Figure } from './chart-figure.js';
import { since, showTip, TipLine } from './chart-tooltip.js';
import { DrawnMarker, setMarkers } from './dashboard-markers.js';
import { h } from './dom.js';
import type { MetricSeries } from '../protocol/wire.js';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Legend, Tooltip);

export interface ChartRun {
  id: string;
  /** What the run is called on the page (its name, else its id). */
  label?: string;
  color: string;
  series: Record<string, MetricSeries>;
  /** The run's reward-model switches (online feedback) and DPO rounds, marked on every chart it has a series in. */
  markers?: SwitchMarker[];
}

export interface ChartOptions {
  x: XAxis;
  /** EMA weight in [0, 1). */
  smoothing: number;
  /** Every chart's scale, unless the chart has its own (its log button). */
  log: boolean;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
export const runColor = (i: number): string => PALETTE[i % PALETTE.length];

const clock = (ms: number) => new Date(ms).toLocaleTimeString([], { hour12: false });

/** A y tick in at most 4 significant digits (a flat series would otherwise show 0.050000000000001). */
const tick = (v: number) => (v === 0 ? '0' : Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3 ? v.toExponential(1) : String(Number(v.toPrecision(4))));

const PINS_KEY = 'rlhf.pinnedMetrics';

/** Which run and series a drawn line is, for its tooltip and clicks. */
interface LineInfo {
  run: ChartRun;
  s: MetricSeries;
  smoothed: boolean;
}

/** The index of the point of `pts` (in x order) nearest x. */
function nearest(pts: Pt[], x: number): number {
  let lo = 0;
  let hi = pts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (pts[mid].x < x) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && Math.abs(pts[lo - 1].x - x) <= Math.abs(pts[lo].x - x) ? lo - 1 : lo;
}

export class ChartGrid {
  private readonly charts = new Map<string, Figure>();
  private groups = '';
  private readonly folded = new Set<string>();
  private readonly visible = new Set<Element>();
  private readonly stale = new Set<string>();
  private last: { runs: ChartRun[]; o: ChartOptions } | null = null;
  private readonly memo = new WeakMap<MetricSeries, Map<string, Pt[]>>();
  private readonly lines = new WeakMap<object, LineInfo>();
  /** Per chart: its zoomed x range (in the current axis's units), its own log scale. */
  private readonly zoom = new Map<string, [number, number]>();
  private readonly logOf = new Map<string, boolean>();
  private pinned: string[] = JSON.parse(localStorage.getItem(PINS_KEY) ?? '[]') as string[];
  private match: (name: string) => boolean = () => true;
  private axis: XAxis | null = null;
  private readonly seen = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting) {
        this.visible.delete(e.target);
        continue;
      }
      this.visible.add(e.target);
      const name = (e.target as HTMLElement).dataset.metric!;
      if (this.stale.has(name) && this.last) this.drawOne(name);
    }
  }, { rootMargin: '400px 0px' });

  /** `onPoint` is told the run and step of a clicked point. */
  constructor(private readonly root: HTMLElement, private readonly onPoint: (runId: string, step: number) => void = () => {}) {}

  /**
   * Redraw for these runs and options. Only charts on screen (or near it) are drawn now; the others are
   * marked stale and drawn when they scroll into view, so a redraw costs what is visible, not all metrics.
   */
  draw(runs: ChartRun[], o: ChartOptions): void {
    const t0 = performance.now();
    if (this.axis !== o.x) this.zoom.clear(); // a zoom is a span of one axis's units
    this.axis = o.x;
    this.last = { runs, o };
    const names = [...new Set(runs.flatMap((r) => Object.keys(r.series)))];
    const groups = arrangeGroups(groupMetrics(names), this.pinned);
    const key = JSON.stringify(groups);
    if (key !== this.groups) this.layout(groups);
    this.groups = key;
    for (const name of names) this.redraw(name);
    this.filter();
    this.root.dataset.drawMs = (performance.now() - t0).toFixed(1); // the last redraw's cost, for a look from outside
  }

  /** Show only the charts whose names match the search (chart-data.ts metricMatcher); returns how many match. */
  search(query: string): number {
    this.match = metricMatcher(query);
    return this.filter();
  }

  /** Every chart follows the global log scale again (the global checkbox changed). */
  clearLogOverrides(): void {
    this.logOf.clear();
  }

  private filter(): number {
    let shown = 0;
    for (const [name, c] of this.charts) {
      const on = this.match(name);
      c.fig.hidden = !on;
      if (on && this.root.contains(c.fig)) shown++;
    }
    for (const sec of this.root.querySelectorAll<HTMLElement>('.chart-group')) sec.hidden = !sec.querySelector('figure.chart:not([hidden])');
    this.root.dataset.shown = String(shown);
    return shown;
  }

  private redraw(name: string): void {
    const c = this.charts.get(name);
    if (!c || !this.last) return;
    c.fig.dataset.points = String(this.last.runs.reduce((n, r) => n + (r.series[name]?.step.length ?? 0), 0));
    if (this.visible.has(c.fig)) this.drawOne(name);
    else this.stale.add(name);
  }

  private drawOne(name: string): void {
    const { runs, o } = this.last!;
    this.stale.delete(name);
    const c = this.charts.get(name)!;
    const log = this.logOf.get(name) ?? o.log;
    const range = this.zoom.get(name) ?? null;
    // LTTB down to one point per pixel of the plot: the line looks the same, and chart.js draws less
    const maxPoints = Math.max(100, c.fig.clientWidth || 400);
    const datasets: Chart<'line', Pt[]>['data']['datasets'] = [];
    let drawn = 0;
    for (const r of runs) {
      const s = r.series[name];
      if (!s) continue;
      const label = r.label ?? r.id;
      if (o.smoothing > 0) {
        // the raw line stays visible, faint, behind the smoothed one (as TensorBoard shows it)
        const raw = this.points(s, { ...o, log, range, smoothing: 0, maxPoints });
        const ds = { label: `${label} (raw)`, data: raw, borderColor: `${r.color}40`, borderWidth: 1, pointRadius: 0 };
        this.lines.set(ds, { run: r, s, smoothed: false });
        datasets.push(ds);
        drawn += raw.length;
      }
      const pts = this.points(s, { ...o, log, range, maxPoints });
      const ds = { label, data: pts, borderColor: r.color, borderWidth: 1.5, pointRadius: pts.length < 40 ? 2 : 0, pointBackgroundColor: r.color };
      this.lines.set(ds, { run: r, s, smoothed: o.smoothing > 0 });
      datasets.push(ds);
      drawn += pts.length;
    }
    c.fig.dataset.drawn = String(drawn);
    // the drawn lines' y extent (a constant series must read "v,v"), for a look from outside
    let [ylo, yhi] = [Infinity, -Infinity];
    for (const ds of datasets) if (!String(ds.label).endsWith('(raw)')) for (const p of ds.data) [ylo, yhi] = [Math.min(ylo, p.y), Math.max(yhi, p.y)];
    c.fig.dataset.yRange = ylo <= yhi ? `${ylo},${yhi}` : '';
    c.chart.data.datasets = datasets;
    const marks: DrawnMarker[] = [];
    for (const r of runs) {
      const s = r.series[name];
      if (!s) continue;
      for (const m of r.markers ?? []) {
        const x = markerX(m, s, o.x);
        if (x !== null) marks.push({ x, color: r.color, label: m.label, tag: m.tag, version: m.version, run: r.id, step: m.step });
      }
    }
    setMarkers(c.chart as unknown as Chart, marks);
    c.fig.dataset.markers = String(marks.length);
    c.fig.dataset.markerX = marks.map((m) => m.x).join(','); // where they go on this axis, for a look from outside
    const scales = c.chart.options.scales!;
    // the x range stretches to take in every switch, so a series that starts after one still shows it; a zoom sets it
    const xs = marks.map((m) => m.x);
    const title = { display: true, text: o.x === 'step' ? 'step' : o.x === 'relative' ? 'time since start' : 'wall time' };
    const ticks = { maxTicksLimit: 6, callback: (v: string | number) => (o.x === 'wall' ? clock(Number(v)) : o.x === 'relative' ? since(Number(v)) : String(v)) };
    scales.x = range
      ? { type: 'linear', min: range[0], max: range[1], title, ticks }
      : { type: 'linear', suggestedMin: xs.length ? Math.min(...xs) : undefined, suggestedMax: xs.length ? Math.max(...xs) : undefined, title, ticks };
    scales.y = { type: log ? 'logarithmic' : 'linear', ticks: { maxTicksLimit: 6, callback: (v) => tick(Number(v)) } };
    c.fig.dataset.scale = log ? 'logarithmic' : 'linear';
    if (range) c.fig.dataset.zoom = range.join(',');
    else delete c.fig.dataset.zoom;
    c.show({ pinned: this.pinned.includes(name), log, zoomed: range !== null });
    c.chart.update('none');
  }

  /**
   * drawPoints, remembered per series until it or the options change: a slider move recomputes only the
   * smoothed lines, and a live step only the running run's series.
   */
  private points(s: MetricSeries, o: ChartOptions & { maxPoints: number; range: [number, number] | null }): Pt[] {
    const n = s.step.length;
    const key = `${n}|${s.step[n - 1]}|${s.value[n - 1]}|${o.x}|${o.smoothing}|${o.log}|${o.maxPoints}|${o.range?.join(',')}`;
    let memo = this.memo.get(s);
    if (!memo) this.memo.set(s, (memo = new Map()));
    let pts = memo.get(key);
    if (!pts) {
      pts = drawPoints(s, o);
      if (memo.size >= 8) memo.clear(); // a dragged slider leaves many stale keys
      memo.set(key, pts);
    }
    return pts;
  }

  /** The tooltip: at the hovered point's x, every run's nearest point on this chart. */
  private tooltip(chart: Chart<'line', Pt[]>, t: TooltipModel<'line'>, box: HTMLElement): void {
    const first = t.opacity === 0 ? undefined : t.dataPoints?.[0];
    if (!first) return showTip(box, null, 0, 0);
    const x = (first.raw as Pt).x;
    const lines: TipLine[] = [];
    for (const ds of chart.data.datasets) {
      const info = this.lines.get(ds);
      if (!info || String(ds.label).endsWith('(raw)') || !ds.data.length) continue;
      const p = ds.data[nearest(ds.data, x)];
      const i = p.i!;
      lines.push({ color: info.run.color, run: info.run.label ?? info.run.id, value: p.y, raw: info.smoothed ? info.s.value[i] : null, step: info.s.step[i], time: info.s.time[i], start: info.s.time[0] });
    }
    // the hovered run first
    const hovered = this.lines.get(first.dataset)?.run;
    lines.sort((a, b) => Number(b.run === (hovered?.label ?? hovered?.id)) - Number(a.run === (hovered?.label ?? hovered?.id)));
    showTip(box, lines, t.caretX, t.caretY);
  }

  private click(chart: Chart<'line', Pt[]>, elements: ActiveElement[]): void {
    for (const e of elements) {
      const ds = chart.data.datasets[e.datasetIndex];
      const info = ds && this.lines.get(ds);
      const p = ds?.data[e.index];
      if (info && p?.i !== undefined) return this.onPoint(info.run.id, info.s.step[p.i]);
    }
  }

  private layout(groups: { group: string; names: string[] }[]): void {
    const sections: HTMLElement[] = [];
    for (const g of groups) {
      const figs = g.names.map((name) => {
        let c = this.charts.get(name);
        if (!c) {
          c = makeFigure(name, {
            togglePin: (n) => this.togglePin(n),
            toggleLog: (n) => {
              this.logOf.set(n, !(this.logOf.get(n) ?? this.last?.o.log ?? false));
              this.redraw(n);
            },
            zoom: (n, range) => {
              if (range) this.zoom.set(n, range);
              else this.zoom.delete(n);
              this.redraw(n);
            },
            click: (_n, chart, els) => this.click(chart, els),
            tooltip: (_n, chart, t, box) => this.tooltip(chart, t, box),
          });
          this.charts.set(name, c);
          this.seen.observe(c.fig);
        }
        return c.fig;
      });
      // a group folds away (its open state survives re-layouts, which happen when new metric names appear)
      const open = !this.folded.has(g.group);
      const sec = h('details', { class: 'chart-group', 'data-group': g.group, open }, h('summary', {}, g.group), h('div', { class: 'chart-grid' }, ...figs));
      sec.addEventListener('toggle', () => ((sec as HTMLDetailsElement).open ? this.folded.delete(g.group) : this.folded.add(g.group)));
      sections.push(sec);
    }
    this.root.replaceChildren(...sections);
  }

  private togglePin(name: string): void {
    this.pinned = this.pinned.includes(name) ? this.pinned.filter((n) => n !== name) : [...this.pinned, name];
    localStorage.setItem(PINS_KEY, JSON.stringify(this.pinned));
    if (this.last) this.draw(this.last.runs, this.last.o);
  }
}
