// Above the charts: the legend (each shown run's colour, name, kind and state, and its system figures:
// CPU, memory, tokens/s), and the alerts the page raises about the shown runs (alerts.ts). Re-rendered as
// metrics arrive; the alerts list only changes the page when an alert comes or goes, so a screen reader
// (aria-live) hears each once.
import type { MetricSeries, RunView } from '../protocol/wire.js';
import { Alert, runAlerts } from './alerts.js';
import { h } from './dom.js';
import { runLabel } from './run-table.js';

/** Where each figure is read from, first present wins: the trainers' own tokens/s before one derived from a token count. */
const TOKENS_PER_SEC = ['sys/tokens_per_sec', 'perf/rollout_tokens_per_sec', 'train/tokens_per_sec', 'perf/train_tokens_per_sec'];
const TOKEN_COUNTS = ['num_tokens', 'tokens'];

const lastFinite = (s: MetricSeries | undefined): { i: number; v: number } | null => {
  if (!s) return null;
  for (let i = s.value.length - 1; i >= 0; i--) {
    const v = s.value[i];
    if (v !== null && Number.isFinite(v)) return { i, v };
  }
  return null;
};

export interface SystemFigures {
  cpuPercent: number | null;
  rssMb: number | null;
  tokensPerSec: number | null;
}

/**
 * A run's latest system figures: CPU percent and resident MB (sys/*, data/sys-metrics.ts), and tokens/s
 * from the trainer's own figure, or else from its cumulative token count over the last (at most 10) steps.
 */
export function systemFigures(series: Record<string, MetricSeries>): SystemFigures {
  const get = (n: string) => (Object.hasOwn(series, n) ? series[n] : undefined);
  let tokensPerSec: number | null = null;
  for (const n of TOKENS_PER_SEC) {
    const l = lastFinite(get(n));
    if (l) {
      tokensPerSec = l.v;
      break;
    }
  }
  for (const n of tokensPerSec === null ? TOKEN_COUNTS : []) {
    const s = get(n);
    const l = lastFinite(s);
    if (!s || !l) continue;
    let j = Math.max(0, l.i - 10);
    while (j < l.i && (s.value[j] === null || !Number.isFinite(s.value[j]!))) j++;
    const dt = (s.time[l.i] - s.time[j]) / 1000;
    if (j < l.i && dt > 0) {
      tokensPerSec = (l.v - s.value[j]!) / dt;
      break;
    }
  }
  return { cpuPercent: lastFinite(get('sys/cpu_percent'))?.v ?? null, rssMb: lastFinite(get('sys/rss_mb'))?.v ?? null, tokensPerSec };
}

/** The figures as one line of text: "CPU 143% · RSS 512 MB · 2,100 tokens/s"; the missing ones left out. */
export function systemLine(f: SystemFigures): string {
  const parts = [
    f.cpuPercent === null ? null : `CPU ${Math.round(f.cpuPercent)}%`,
    f.rssMb === null ? null : `RSS ${Math.round(f.rssMb)} MB`,
    f.tokensPerSec === null ? null : `${Math.round(f.tokensPerSec).toLocaleString('en-US')} tokens/s`,
  ].filter(Boolean);
  return parts.length ? parts.join(' · ') : 'no system figures';
}

export interface LegendRun {
  run: RunView;
  color: string;
  series: Record<string, MetricSeries>;
}

export class RunLegend {
  readonly legend = h('ul', { id: 'legend', class: 'legend', 'aria-label': 'runs on the charts' });
  readonly alerts = h('ul', { id: 'alerts', class: 'alerts', 'aria-live': 'polite', 'aria-label': 'alerts' });
  private alertKey = '';

  /** `hide` takes a run off the charts. */
  constructor(private readonly hide: (id: string) => void) {}

  render(runs: LegendRun[], klMax: number): void {
    this.legend.replaceChildren(...runs.map(({ run, color, series }) => {
      const sw = h('span', { class: 'swatch' });
      sw.style.background = color; // CSSOM: the pages' CSP allows no inline style attribute
      return h('li', { 'data-run': run.id },
        sw, h('span', { class: 'legend-name' }, runLabel(run)), ' ', h('span', { class: 'status' }, `${run.kind} · ${run.state}`), ' ',
        h('span', { class: 'sys', 'data-run': run.id }, systemLine(systemFigures(series))), ' ',
        h('button', { type: 'button', class: 'legend-hide', 'aria-label': `take ${runLabel(run)} off the charts`, onclick: () => this.hide(run.id) }, '×'));
    }));
    const all: { run: RunView; a: Alert }[] = runs.flatMap(({ run, series }) => runAlerts(run, series, { klMax }).map((a) => ({ run, a })));
    const key = JSON.stringify(all.map(({ run, a }) => [run.id, a.kind, a.message]));
    if (key === this.alertKey) return;
    this.alertKey = key;
    this.alerts.replaceChildren(...all.map(({ run, a }) => h('li', { class: `alert ${a.kind}`, 'data-kind': a.kind, 'data-run': run.id }, h('strong', {}, `${runLabel(run)}: `), a.message)));
    this.alerts.hidden = all.length === 0;
  }
}
