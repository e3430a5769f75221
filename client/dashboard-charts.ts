// The dashboard's charts: one chart.js line chart per metric, grouped under TRL's headings, each
// overlaying the selected runs. Each redraw recomputes the drawn points from the page's full copy of the
// series (smoothing, x-axis, log scale, then LTTB down to one point per pixel), so a chart with 10k points
// per series draws a few hundred; the server and the page keep every point. Off-screen charts wait.
// A run's reward-model switches are drawn on each of its charts (dashboard-markers.ts).
import { Chart, Legend, LinearScale, LineController, LineElement, LogarithmicScale, PointElement, Tooltip } from 'chart.js';
import { drawPoints, groupMetrics, markerX, Pt, SwitchMarker, XAxis } from './chart-data.js';
import { DrawnMarker, setMarkers, switchMarkerPlugin } from './dashboard-markers.js';
import { h } from './dom.js';
import type { MetricSeries } from '../protocol/wire.js';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Legend, Tooltip);

export interface ChartRun {
  id: string;
  color: string;
  series: Record<string, MetricSeries>;
  /** The run's reward-model switches (online feedback) and DPO rounds, marked on every chart it has a series in. */
  markers?: SwitchMarker[];
}

export interface ChartOptions {
  x: XAxis;
  /** EMA weight in [0, 1). */
  smoothing: number;
  log: boolean;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
export const runColor = (i: number): string => PALETTE[i % PALETTE.length];

const clock = (ms: number) => new Date(ms).toLocaleTimeString([], { hour12: false });
const elapsed = (s: number) => {
  const m = Math.floor(s / 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}` : `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
};

/** A y tick in at most 4 significant digits (a flat series would otherwise show 0.050000000000001). */
const tick = (v: number) => (v === 0 ? '0' : Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3 ? v.toExponential(1) : String(Number(v.toPrecision(4))));

export class ChartGrid {
  private readonly charts = new Map<string, { fig: HTMLElement; chart: Chart<'line', { x: number; y: number }[]> }>();
  private groups = '';
  private readonly folded = new Set<string>();
  private readonly visible = new Set<Element>();
  private readonly stale = new Set<string>();
  private last: { runs: ChartRun[]; o: ChartOptions } | null = null;
  private readonly memo = new WeakMap<MetricSeries, Map<string, Pt[]>>();
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

  constructor(private readonly root: HTMLElement) {}

  /**
   * Redraw for these runs and options. Only charts on screen (or near it) are drawn now; the others are
   * marked stale and drawn when they scroll into view, so a redraw costs what is visible, not all metrics.
   */
  draw(runs: ChartRun[], o: ChartOptions): void {
    const t0 = performance.now();
    this.last = { runs, o };
    const names = [...new Set(runs.flatMap((r) => Object.keys(r.series)))];
    const groups = groupMetrics(names);
    const key = JSON.stringify(groups);
    if (key !== this.groups) this.layout(groups);
    this.groups = key;
    for (const name of names) {
      const c = this.charts.get(name)!;
      c.fig.dataset.points = String(runs.reduce((n, r) => n + (r.series[name]?.step.length ?? 0), 0));
      if (this.visible.has(c.fig)) this.drawOne(name);
      else this.stale.add(name);
    }
    this.root.dataset.drawMs = (performance.now() - t0).toFixed(1); // the last redraw's cost, for a look from outside
  }

  private drawOne(name: string): void {
    const { runs, o } = this.last!;
    this.stale.delete(name);
    const c = this.charts.get(name)!;
    // LTTB down to one point per pixel of the plot: the line looks the same, and chart.js draws less
    const maxPoints = Math.max(100, c.fig.clientWidth || 400);
    const datasets: Chart<'line', { x: number; y: number }[]>['data']['datasets'] = [];
    let drawn = 0;
    for (const r of runs) {
      const s = r.series[name];
      if (!s) continue;
      if (o.smoothing > 0) {
        // the raw line stays visible, faint, behind the smoothed one (as TensorBoard shows it)
        const raw = this.points(s, { ...o, smoothing: 0, maxPoints });
        datasets.push({ label: `${r.id} (raw)`, data: raw, borderColor: `${r.color}40`, borderWidth: 1, pointRadius: 0 });
        drawn += raw.length;
      }
      const pts = this.points(s, { ...o, maxPoints });
      datasets.push({ label: r.id, data: pts, borderColor: r.color, borderWidth: 1.5, pointRadius: pts.length < 40 ? 2 : 0, pointBackgroundColor: r.color });
      drawn += pts.length;
    }
    c.fig.dataset.drawn = String(drawn);
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
    setMarkers(c.chart, marks);
    c.fig.dataset.markers = String(marks.length);
    c.fig.dataset.markerX = marks.map((m) => m.x).join(','); // where they go on this axis, for a look from outside
    const scales = c.chart.options.scales!;
    // the x range stretches to take in every switch, so a series that starts after one still shows it
    const xs = marks.map((m) => m.x);
    scales.x = { type: 'linear', suggestedMin: xs.length ? Math.min(...xs) : undefined, suggestedMax: xs.length ? Math.max(...xs) : undefined, title: { display: true, text: o.x === 'step' ? 'step' : o.x === 'relative' ? 'time since start' : 'wall time' }, ticks: { maxTicksLimit: 6, callback: (v) => (o.x === 'wall' ? clock(Number(v)) : o.x === 'relative' ? elapsed(Number(v)) : String(v)) } };
    scales.y = { type: o.log ? 'logarithmic' : 'linear', ticks: { maxTicksLimit: 6, callback: (v) => tick(Number(v)) } };
    c.chart.update('none');
  }

  /**
   * drawPoints, remembered per series until it or the options change: a slider move recomputes only the
   * smoothed lines, and a live step only the running run's series.
   */
  private points(s: MetricSeries, o: ChartOptions & { maxPoints: number }): Pt[] {
    const n = s.step.length;
    const key = `${n}|${s.step[n - 1]}|${s.value[n - 1]}|${o.x}|${o.smoothing}|${o.log}|${o.maxPoints}`;
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

  private layout(groups: { group: string; names: string[] }[]): void {
    const sections: HTMLElement[] = [];
    for (const g of groups) {
      const figs = g.names.map((name) => {
        let c = this.charts.get(name);
        if (!c) {
          const canvas = h('canvas') as HTMLCanvasElement;
          const fig = h('figure', { class: 'chart', 'data-metric': name }, h('figcaption', {}, name), h('div', { class: 'chart-box' }, canvas));
          const chart = new Chart<'line', { x: number; y: number }[]>(canvas, {
            type: 'line',
            data: { datasets: [] },
            plugins: [switchMarkerPlugin],
            options: {
              animation: false, parsing: false, normalized: true, responsive: true, maintainAspectRatio: false, spanGaps: true,
              interaction: { mode: 'nearest', intersect: false },
              plugins: { legend: { display: false }, tooltip: { filter: (i) => !String(i.dataset.label).endsWith('(raw)') } },
              scales: { x: { type: 'linear' }, y: { type: 'linear' } },
            },
          });
          c = { fig, chart };
          this.charts.set(name, c);
          this.seen.observe(fig);
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
}
