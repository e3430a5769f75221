// The run dashboard (researchers and admins): launch a run with a config, watch every metric live
// (WebSocket events appended to the page's copy), overlay runs, smooth, switch the x-axis and log scale,
// zoom, search and pin charts, name, tag and annotate runs, filter and sort the run table, compare the
// shown runs' configs, read the alerts and system figures, download a run's metrics as CSV, read its
// samples, config and log, stop and resume it. A run with online feedback has its reward-model switches
// marked on its charts, and its online/* metrics grouped as "online"; an online DPO run has its rounds
// marked the same way. When the server goes away (a restart), the page keeps its charts and reconnects
// with the same token; once back it fetches what it missed.
// Model text (samples, logs, configs) only ever enters the page through textContent (dom.ts h()).
import type { XAxis } from './chart-data.js';
import { diffTable } from './config-diff.js';
import { ChartGrid, runColor } from './dashboard-charts.js';
import { RunDetails } from './dashboard-details.js';
import { ShownRunEvents } from './dashboard-events.js';
import { SamplesPanel } from './dashboard-samples.js';
import { api, askToken, h, mount, token } from './dom.js';
import { launchPanel } from './launch-panel.js';
import { LiveSocket } from './live-socket.js';
import { navBar } from './nav.js';
import { RunLegend } from './run-legend.js';
import { filterRuns, runLabel, runTableHead, SortOrder, sortRuns } from './run-table.js';
import type { MetricSeries, RunKindsView, RunServerEvent, RunView, ServerEvent } from '../protocol/wire.js';

const KL_KEY = 'rlhf.klThreshold';

const runs = new Map<string, RunView>();
/** The page's full copy of each shown run's series (never downsampled). */
const series = new Map<string, Record<string, MetricSeries>>();
/** Events that arrived while a run's history was loading, applied after it. */
const pending = new Map<string, Extract<RunServerEvent, { type: 'metrics' }>[]>();
const shown: string[] = [];
let focus: string | null = null;
const view = { x: 'step' as XAxis, smoothing: 0.6, log: false };
let order: SortOrder = { key: 'created', desc: true };
let klMax = Number(localStorage.getItem(KL_KEY) ?? 10) || 10;

const el = {
  runsHead: h('thead'),
  runs: h('tbody'),
  runFilter: h('input', { type: 'search', id: 'run-filter', placeholder: 'filter runs: words, tag:x, kind:ppo, state:done, -word', 'aria-label': 'filter the runs' }) as HTMLInputElement,
  runCount: h('span', { class: 'status', id: 'run-count' }),
  diff: h('div', { id: 'config-diff-box' }),
  diffBox: h('details', { class: 'config-diff', open: true, hidden: true }),
  charts: h('div', { id: 'charts' }),
  note: h('p', { id: 'launch-note', class: 'status', 'aria-live': 'polite' }),
  status: h('span', { class: 'status', id: 'live', role: 'status' }, 'connecting…'),
};
const live = new LiveSocket({
  onEvent: (e) => onEvent(e),
  onStatus: (_state, text) => (el.status.textContent = text),
  onReopen: () => void resync(),
});
const nav = navBar('dashboard', () => live.stop());
const grid = new ChartGrid(el.charts, (run, step) => void pointClicked(run, step));
const samples = new SamplesPanel();
const legend = new RunLegend((id) => hide(id));
const details = new RunDetails({
  runs, samples, note: el.note,
  changed: (r) => {
    runs.set(r.id, r);
    renderRuns();
    scheduleDraw();
    if (r.id === focus) void details.render(r.id).catch(() => {});
  },
});
/** Each shown run's events, for its switch markers; a CLI run's are refetched as its metrics arrive. */
const shownEvents = new ShownRunEvents((id) => {
  scheduleDraw();
  details.setEvents(id, shownEvents.list(id));
});

let drawTimer: ReturnType<typeof setTimeout> | null = null;
let diffKey = '';
function scheduleDraw(): void {
  drawTimer ??= setTimeout(() => {
    drawTimer = null;
    const on = shown.filter((id) => series.has(id) && runs.has(id));
    grid.draw(on.map((id) => ({ id, label: runLabel(runs.get(id)!), color: runColor(shown.indexOf(id)), series: series.get(id)!, markers: shownEvents.markers(id) })), view);
    legend.render(on.map((id) => ({ run: runs.get(id)!, color: runColor(shown.indexOf(id)), series: series.get(id)! })), klMax);
    const diffRuns = on.map((id) => ({ id, label: runLabel(runs.get(id)!), config: runs.get(id)!.config }));
    const key = JSON.stringify(diffRuns);
    if (key !== diffKey) el.diff.replaceChildren(diffTable(diffRuns));
    diffKey = key;
    el.diffBox.hidden = diffRuns.length < 2; // nothing to compare: no room taken above the charts
  }, 150);
}

/** Append one step's metrics; a step at or before the last one (a resumed run repeats steps) replaces from there. */
function append(runId: string, step: number, time: number, metrics: Record<string, number | null>): void {
  const all = series.get(runId)!;
  for (const [name, v] of Object.entries(metrics)) {
    const s = (all[name] ??= { step: [], time: [], value: [] });
    let n = s.step.length;
    while (n > 0 && s.step[n - 1] >= step) n--;
    if (n < s.step.length) for (const k of ['step', 'time', 'value'] as const) s[k].length = n;
    s.step.push(step);
    s.time.push(time);
    s.value.push(v);
  }
}

/** (Re)load a shown run's series and events. On failure (the server away) the page keeps the copy it has. */
async function load(id: string): Promise<void> {
  pending.set(id, []);
  try {
    const [r] = await Promise.all([api<{ series: Record<string, MetricSeries> }>('GET', `/api/runs/${encodeURIComponent(id)}/metrics`), shownEvents.load(id)]);
    if (r.status === 200 && shown.includes(id)) series.set(id, r.data.series);
  } catch {
    // no answer: the live socket reconnects and calls resync()
  } finally {
    const missed = pending.get(id) ?? [];
    pending.delete(id);
    if (series.has(id)) for (const e of missed) append(id, e.step, e.time, e.metrics);
  }
  renderRuns();
  scheduleDraw();
}

async function show(id: string): Promise<void> {
  if (shown.includes(id)) return;
  shown.push(id);
  renderRuns();
  await load(id);
}

function hide(id: string): void {
  if (!shown.includes(id)) return;
  shown.splice(shown.indexOf(id), 1);
  series.delete(id);
  shownEvents.forget(id);
  renderRuns();
  scheduleDraw();
}

/** The socket is back after a drop: the run list, every shown run's series and events, the focused run's panel. */
async function resync(): Promise<void> {
  try {
    const r = await api<RunView[]>('GET', '/api/runs');
    if (r.status === 200) for (const run of r.data) runs.set(run.id, run);
  } catch {
    return; // gone again; the next reopen tries again
  }
  renderRuns();
  await Promise.all(shown.map((id) => load(id)));
  if (focus && runs.has(focus)) {
    try {
      await samples.setRun(focus, runs.get(focus)!.kind);
      await details.render(focus);
    } catch {
      // as above
    }
  }
}

function onEvent(e: ServerEvent): void {
  if (e.type === 'hello') nav.setUser(e.name, e.role);
  else if (e.type === 'run') {
    runs.set(e.run.id, e.run);
    renderRuns();
    scheduleDraw();
    if (e.run.id === focus) void details.render(focus).catch(() => {});
  } else if (e.type === 'metrics') {
    if (pending.has(e.run_id)) pending.get(e.run_id)!.push(e);
    else if (series.has(e.run_id)) {
      append(e.run_id, e.step, e.time, e.metrics);
      scheduleDraw();
    }
    const r = runs.get(e.run_id);
    // the server pushes a hand-started run's metrics but not its events: look for new switches and rounds
    if (r?.origin === 'cli' && ('online/rm_version' in e.metrics || 'online/round' in e.metrics)) shownEvents.poke(e.run_id);
    if (r && (r.last_step ?? -1) < e.step) {
      r.last_step = e.step;
      const cell = document.querySelector(`tr[data-run="${CSS.escape(e.run_id)}"] .step`);
      if (cell) cell.textContent = String(e.step);
    }
  } else if (e.type === 'samples') samples.live(e.run_id, e.rows);
  else if (e.type === 'run-event') {
    if (shownEvents.add(e.run_id, e)) scheduleDraw();
    details.addEvent(e.run_id, e);
  }
}

function renderRuns(): void {
  el.runsHead.replaceChildren(...runTableHead(order, (o) => ((order = o), renderRuns())).childNodes);
  const all = [...runs.values()];
  const rows = sortRuns(filterRuns(all, el.runFilter.value), order);
  el.runCount.textContent = rows.length === all.length ? `${all.length} runs` : `${rows.length} of ${all.length} runs`;
  el.runs.replaceChildren(...rows.map((r) => {
    const label = runLabel(r);
    const box = h('input', { type: 'checkbox', class: 'overlay', 'aria-label': `show ${label} on the charts`, onchange: (ev: Event) => ((ev.target as HTMLInputElement).checked ? void show(r.id) : hide(r.id)) }) as HTMLInputElement;
    box.checked = shown.includes(r.id);
    const i = shown.indexOf(r.id);
    const swatch = h('span', { class: 'swatch' });
    if (i >= 0) swatch.style.background = runColor(i);
    return h('tr', { 'data-run': r.id, class: r.id === focus ? 'focus' : '' },
      h('td', {}, box, swatch),
      h('td', {}, h('a', { href: '#', title: r.id, onclick: (ev: Event) => (ev.preventDefault(), void setFocus(r.id)) }, label)),
      h('td', { class: 'tags' }, ...(r.tags ?? []).map((t) => h('span', { class: 'tag' }, t))),
      h('td', {}, r.kind), h('td', { class: `state ${r.state}` }, r.state), h('td', { class: 'step' }, r.last_step === null ? '–' : String(r.last_step)),
      h('td', {}, r.origin), h('td', { class: 'created' }, new Date(r.created_at).toLocaleString([], { hour12: false })));
  }));
}

async function setFocus(id: string): Promise<void> {
  focus = id;
  await show(id);
  renderRuns();
  const r = runs.get(id);
  if (!r || focus !== id) return; // another run was picked meanwhile: its call fills the panels
  await samples.setRun(id, r.kind);
  if (focus === id) await details.render(id);
}

/** A click on a chart point: that run's samples of that step. */
async function pointClicked(id: string, step: number): Promise<void> {
  const r = runs.get(id);
  if (!r) return;
  if (focus !== id) await setFocus(id);
  await samples.showStep(id, r.kind, step);
}

function controls(): HTMLElement {
  const smooth = h('input', { type: 'range', min: '0', max: '0.99', step: '0.01', value: String(view.smoothing), id: 'smoothing' }) as HTMLInputElement;
  const smoothOut = h('span', {}, view.smoothing.toFixed(2));
  smooth.addEventListener('input', () => {
    view.smoothing = Number(smooth.value);
    smoothOut.textContent = view.smoothing.toFixed(2);
    scheduleDraw();
  });
  const x = h('select', { id: 'x-axis', onchange: (e: Event) => ((view.x = (e.target as HTMLSelectElement).value as XAxis), scheduleDraw()) },
    h('option', { value: 'step' }, 'step'), h('option', { value: 'relative' }, 'time since start'), h('option', { value: 'wall' }, 'wall time'));
  const log = h('input', {
    type: 'checkbox', id: 'log-scale',
    onchange: (e: Event) => {
      view.log = (e.target as HTMLInputElement).checked;
      grid.clearLogOverrides(); // the checkbox sets every chart; a chart's own log button sets just that one
      scheduleDraw();
    },
  });
  const search = h('input', { type: 'search', id: 'metric-search', placeholder: 'search metrics (text or regex)', 'aria-label': 'search the charts by metric name' }) as HTMLInputElement;
  const found = h('span', { class: 'status', id: 'metric-count' });
  search.addEventListener('input', () => {
    const n = grid.search(search.value);
    found.textContent = search.value.trim() ? `${n} charts` : '';
  });
  const kl = h('input', { type: 'number', id: 'kl-threshold', min: '0', step: 'any', value: String(klMax), size: '5' }) as HTMLInputElement;
  kl.addEventListener('change', () => {
    const v = Number(kl.value);
    if (!(v > 0)) return;
    klMax = v;
    localStorage.setItem(KL_KEY, String(v));
    scheduleDraw();
  });
  return h('p', { class: 'controls' }, h('label', {}, 'smoothing ', smooth, ' ', smoothOut), ' ', h('label', {}, 'x-axis ', x), ' ', h('label', {}, log, ' log scale'), ' ',
    search, ' ', found, ' ', h('label', {}, 'alert when KL > ', kl));
}

async function main(): Promise<void> {
  let r: { status: number; data: RunView[] };
  try {
    r = await api<RunView[]>('GET', '/api/runs');
  } catch {
    mount(h('p', { class: 'error' }, 'The server does not answer; reload the page when it is back.'));
    return;
  }
  if (r.status === 401) return askToken(() => void main());
  if (r.status === 403) return mount(nav.nav, h('p', { class: 'error' }, 'The dashboard needs a researcher or admin token.'));
  document.body.classList.add('dashboard');
  for (const run of r.data) runs.set(run.id, run);
  const kinds = await api<RunKindsView>('GET', '/api/run-kinds');
  el.runFilter.addEventListener('input', () => renderRuns());
  el.diffBox.append(h('summary', {}, 'Config diff of the runs on the charts'), el.diff);
  mount(
    h('header', {}, h('h1', {}, 'Runs'), nav.nav, el.status),
    launchPanel(kinds.status === 200 ? kinds.data.kinds : null, el.note, async (run) => {
      runs.set(run.id, run);
      await setFocus(run.id);
    }),
    h('p', { class: 'controls' }, el.runFilter, ' ', el.runCount),
    h('table', { class: 'runs' }, el.runsHead, el.runs),
    el.diffBox,
    controls(), legend.alerts, legend.legend, el.charts, details.el,
  );
  renderRuns();
  live.start();
  const latest = r.data.find((x) => x.state === 'running') ?? r.data[0];
  if (latest) await setFocus(latest.id);
}

if (token()) void main();
else askToken(() => void main());
