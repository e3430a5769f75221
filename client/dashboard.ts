// The run dashboard (researchers and admins): launch a run with a config, watch every metric live
// (WebSocket events appended to the page's copy), overlay runs, smooth, switch the x-axis and log scale,
// download a run's metrics as CSV, read its samples, config and log, stop and resume it. A run with online
// feedback has its reward-model switches marked on its charts, and its online/* metrics grouped as "online";
// an online DPO run has its rounds marked the same way. A GRPO or RLOO run's samples table has a column per
// reward function and per column its rewards logged; a DPO run's lists validation pairs (chosen, rejected,
// their implicit rewards, the margin and whether it is right).
// Model text (samples, logs, configs) only ever enters the page through textContent (dom.ts h()).
import { ChartGrid, runColor } from './dashboard-charts.js';
import type { RunEventLike, XAxis } from './chart-data.js';
import { eventRows, ShownRunEvents } from './dashboard-events.js';
import { api, askToken, h, mount, token } from './dom.js';
import { launchForm } from './launch-form.js';
import { MetricSeries, RunKindsView, RunServerEvent, RunView, SampleView, ServerEvent, WS_REVOKED, WS_TOKEN_PREFIX } from '../protocol/wire.js';

const TEMPLATES: Record<string, object> = {
  sft: { model: 'data/models/starter', data: ['corpus:moby-dick'], steps: 200, batchSize: 8, seqLen: 64, lr: 0.001, evalEvery: 20, saveEvery: 50, lora: { rank: 8, alpha: 16, targets: ['attn', 'mlp'] } },
  // labels come from the server's store (the run gets --db); give data files to train on exports instead
  'train-rm': { model: 'data/models/starter', epochs: 2, batchSize: 16, lr: 5e-5, evalEvery: 20 },
  ppo: {
    model: 'data/models/starter', prompts: 'data/prompts/demo.txt', reward: 'sentiment', steps: 100, batchSize: 16, miniBatchSize: 8,
    maxNewTokens: 24, lr: 1e-4, sampleEvery: 5, sampleRows: 4, saveEvery: 25, lora: { rank: 8, alpha: 16, targets: ['attn', 'mlp'] },
  },
  // reward is a list; a module in a folder an admin registered may be one (GET /api/reward-modules)
  grpo: {
    model: 'data/models/starter', prompts: 'data/prompts/demo.txt', reward: ['sentiment'], steps: 100, promptsPerStep: 4, numGenerations: 8,
    maxCompletionLength: 24, lr: 1e-4, sampleEvery: 5, sampleRows: 4, saveEvery: 25, lora: { rank: 8, alpha: 16, targets: ['attn', 'mlp'] },
  },
  rloo: {
    model: 'data/models/starter', prompts: 'data/prompts/demo.txt', reward: ['sentiment'], steps: 100, promptsPerStep: 4, numGenerations: 4,
    maxCompletionLength: 24, lr: 1e-4, sampleEvery: 5, sampleRows: 4, saveEvery: 25, lora: { rank: 8, alpha: 16, targets: ['attn', 'mlp'] },
  },
  // the labels of the server's store (db left out); add onlineFeedback ({"promptFile": ...}) for online iterative DPO
  dpo: { model: 'data/models/starter', epochs: 2, batchSize: 8, lr: 1e-4, beta: 0.1, evalEvery: 20, sampleRows: 8, saveEvery: 50, lora: { rank: 8, alpha: 16, targets: ['attn', 'mlp'] } },
};
const MAX_SAMPLE_ROWS = 200;

const runs = new Map<string, RunView>();
/** The page's full copy of each shown run's series (never downsampled). */
const series = new Map<string, Record<string, MetricSeries>>();
/** Events that arrived while a run's history was loading, applied after it. */
const pending = new Map<string, Extract<RunServerEvent, { type: 'metrics' }>[]>();
const shown: string[] = [];
let focus: string | null = null;
let samples: SampleView[] = [];
const view = { x: 'step' as XAxis, smoothing: 0.6, log: false };

const el = {
  runs: h('tbody'),
  charts: h('div', { id: 'charts' }),
  details: h('section', { id: 'details' }),
  note: h('p', { id: 'launch-note', class: 'status' }),
  status: h('span', { class: 'status', id: 'live' }, 'connecting…'),
};
const grid = new ChartGrid(el.charts);
/** Each shown run's events, for its switch markers; a CLI run's are refetched as its metrics arrive. */
const shownEvents = new ShownRunEvents((id) => {
  scheduleDraw();
  if (id === focus) {
    events = shownEvents.list(id).slice();
    renderEvents();
  }
});

let drawTimer: ReturnType<typeof setTimeout> | null = null;
function scheduleDraw(): void {
  drawTimer ??= setTimeout(() => {
    drawTimer = null;
    grid.draw(shown.filter((id) => series.has(id)).map((id, i) => ({ id, color: runColor(i), series: series.get(id)!, markers: shownEvents.markers(id) })), view);
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

async function show(id: string): Promise<void> {
  if (shown.includes(id)) return;
  shown.push(id);
  pending.set(id, []);
  const [r] = await Promise.all([api<{ series: Record<string, MetricSeries> }>('GET', `/api/runs/${encodeURIComponent(id)}/metrics`), shownEvents.load(id)]);
  series.set(id, r.data.series);
  for (const e of pending.get(id) ?? []) append(id, e.step, e.time, e.metrics);
  pending.delete(id);
  renderRuns();
  scheduleDraw();
}

function hide(id: string): void {
  shown.splice(shown.indexOf(id), 1);
  series.delete(id);
  shownEvents.forget(id);
  renderRuns();
  scheduleDraw();
}

function onEvent(e: ServerEvent): void {
  if (e.type === 'run') {
    runs.set(e.run.id, e.run);
    renderRuns();
    if (e.run.id === focus) void renderDetails();
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
  } else if (e.type === 'samples' && e.run_id === focus) {
    samples = [...e.rows, ...samples].slice(0, MAX_SAMPLE_ROWS);
    renderSamples();
  } else if (e.type === 'run-event') {
    if (shownEvents.add(e.run_id, e)) scheduleDraw();
    if (e.run_id === focus && e.kind !== 'config') {
      events.push(e);
      renderEvents();
    }
  }
}

function connect(): void {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`, [WS_TOKEN_PREFIX + token()]);
  ws.onopen = () => (el.status.textContent = 'live');
  ws.onmessage = (m) => onEvent(JSON.parse(String(m.data)) as ServerEvent);
  ws.onclose = (e) => {
    if (e.code === WS_REVOKED) return void (el.status.textContent = 'signed out: this token no longer works');
    el.status.textContent = 'reconnecting…';
    setTimeout(() => {
      connect();
      for (const id of [...shown]) {
        hide(id); // reload what the socket missed while it was down
        void show(id);
      }
    }, 2000);
  };
}

function renderRuns(): void {
  const rows = [...runs.values()].sort((a, b) => b.created_at.localeCompare(a.created_at));
  el.runs.replaceChildren(...rows.map((r) => {
    const box = h('input', { type: 'checkbox', class: 'overlay', onchange: (ev: Event) => ((ev.target as HTMLInputElement).checked ? void show(r.id) : hide(r.id)) }) as HTMLInputElement;
    box.checked = shown.includes(r.id);
    const i = shown.indexOf(r.id);
    const swatch = h('span', { class: 'swatch' });
    if (i >= 0) swatch.style.background = runColor(i);
    return h('tr', { 'data-run': r.id, class: r.id === focus ? 'focus' : '' },
      h('td', {}, box, swatch),
      h('td', {}, h('a', { href: '#', onclick: (ev: Event) => (ev.preventDefault(), void setFocus(r.id)) }, r.id)),
      h('td', {}, r.kind), h('td', { class: `state ${r.state}` }, r.state), h('td', { class: 'step' }, r.last_step === null ? '–' : String(r.last_step)),
      h('td', {}, r.origin));
  }));
}

async function setFocus(id: string): Promise<void> {
  focus = id;
  await show(id);
  const s = await api<SampleView[]>('GET', `/api/runs/${encodeURIComponent(id)}/samples?steps=10`);
  samples = s.data;
  renderRuns();
  await renderDetails();
}

/** Checkpoints, reward-model switches, early stops: what a run reports besides numbers (not its config). */
let events: RunEventLike[] = [];
const eventsBody = h('tbody');
function renderEvents(): void {
  eventsBody.replaceChildren(...eventRows(events));
}

const samplesHead = h('thead');
const samplesBody = h('tbody');
/**
 * The samples table: step, prompt, completion, reward, gold, then every extra column of the rows shown
 * (GRPO and RLOO: each reward function's value and the columns reward functions logged; DPO: the rejected
 * completion, its implicit reward, the margin, correct), in the order they first appear. A DPO run's rows
 * are validation pairs, so its completion is the chosen one and its reward the chosen implicit reward.
 * Every cell is text (h() sets textContent): a logged column is model or data text.
 */
function renderSamples(): void {
  const num = (v: number | null) => (v === null ? '–' : v.toFixed(3));
  const cell = (v: string | number | boolean | null | undefined) => (v === null || v === undefined ? '–' : typeof v === 'number' ? String(Number(v.toPrecision(6))) : String(v));
  const extra = [...new Set(samples.flatMap((s) => Object.keys(s.columns ?? {})))];
  const dpo = focus !== null && runs.get(focus)?.kind === 'dpo';
  const head = dpo ? ['step', 'prompt', 'chosen', 'chosen reward', 'gold'] : ['step', 'prompt', 'completion', 'reward', 'gold'];
  samplesHead.replaceChildren(h('tr', {}, ...head.map((t) => h('th', {}, t)), ...extra.map((c) => h('th', { class: 'column', 'data-column': c }, c))));
  samplesBody.replaceChildren(...samples.map((s) => h('tr', {},
    h('td', {}, String(s.step)), h('td', { class: 'text' }, s.prompt), h('td', { class: 'text' }, s.completion), h('td', {}, num(s.score)), h('td', {}, num(s.gold)),
    ...extra.map((c) => h('td', { class: typeof s.columns?.[c] === 'string' ? 'text column' : 'column' }, cell(s.columns && Object.hasOwn(s.columns, c) ? s.columns[c] : undefined))))));
}

async function csv(id: string): Promise<void> {
  const res = await fetch(`/api/runs/${encodeURIComponent(id)}/metrics.csv`, { headers: { Authorization: `Bearer ${token()}` } });
  const url = URL.createObjectURL(await res.blob());
  h('a', { href: url, download: `${id}-metrics.csv` }).click();
  URL.revokeObjectURL(url);
}

async function renderDetails(): Promise<void> {
  if (!focus) return;
  const id = focus;
  const r = runs.get(id)!;
  const info = await api<{ events: RunEventLike[] }>('GET', `/api/runs/${encodeURIComponent(id)}`);
  events = info.data.events.filter((e) => e.kind !== 'config');
  renderEvents();
  const log = await fetch(`/api/runs/${encodeURIComponent(id)}/log`, { headers: { Authorization: `Bearer ${token()}` } }).then((x) => x.text());
  const act = async (what: 'stop' | 'resume') => {
    const res = await api<{ error?: string }>('POST', `/api/runs/${encodeURIComponent(id)}/${what}`);
    el.note.textContent = res.data?.error ? `error: ${res.data.error}` : `${what} requested`;
  };
  const managed = r.origin === 'server';
  renderSamples();
  el.details.replaceChildren(
    h('h2', {}, id),
    h('p', {}, `${r.kind} · `, h('span', { class: `state ${r.state}`, id: 'run-state' }, r.state), r.error ? h('span', { class: 'error', id: 'run-error' }, ` · ${r.error}`) : null),
    h('p', {},
      managed && (r.state === 'running' || r.state === 'queued') ? h('button', { id: 'stop', onclick: () => void act('stop') }, 'Stop') : null, ' ',
      managed && (r.state === 'stopped' || r.state === 'failed') ? h('button', { id: 'resume', onclick: () => void act('resume') }, 'Resume') : null, ' ',
      h('button', { id: 'csv', onclick: () => void csv(id) }, 'Download metrics (CSV)')),
    h('h3', {}, 'Samples'),
    h('table', { class: 'samples' }, samplesHead, samplesBody),
    h('h3', {}, 'Events'),
    h('table', { class: 'events' }, h('thead', {}, h('tr', {}, ...['step', 'event', 'data'].map((t) => h('th', {}, t)))), eventsBody),
    h('h3', {}, 'Config'), h('pre', { id: 'config' }, JSON.stringify(r.config, null, 2)),
    h('h3', {}, 'Log'), h('pre', { id: 'log' }, log || '(empty)'),
  );
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
  const log = h('input', { type: 'checkbox', id: 'log-scale', onchange: (e: Event) => ((view.log = (e.target as HTMLInputElement).checked), scheduleDraw()) });
  return h('p', { class: 'controls' }, h('label', {}, 'smoothing ', smooth, ' ', smoothOut), ' ', h('label', {}, 'x-axis ', x), ' ', h('label', {}, log, ' log scale'));
}

/** The launch panel: the kind, a form built from its config schema (launch-form.ts), and the config's JSON. */
function launcher(kinds: RunKindsView['kinds'] | null): HTMLElement {
  const kind = h('select', { id: 'launch-kind' }, ...Object.keys(TEMPLATES).map((k) => h('option', { value: k }, k))) as HTMLSelectElement;
  const config = h('textarea', { id: 'launch-config', rows: '6', spellcheck: 'false' }) as HTMLTextAreaElement;
  // folded until asked for: open, a PPO config's ~45 fields would push the charts off the first screen
  const formBox = h('details', { class: 'launch-fields', id: 'launch-fields' }, h('summary', {}, 'edit the config field by field'));
  let form: ReturnType<typeof launchForm> | null = null;
  const pick = () => {
    config.value = JSON.stringify(TEMPLATES[kind.value], null, 2);
    const schema = kinds?.[kind.value as keyof RunKindsView['kinds']];
    form = schema ? launchForm(schema, config) : null;
    formBox.replaceChildren(formBox.firstChild!, ...(form ? [form.form] : [h('p', { class: 'status' }, 'no schema for this kind: edit the JSON')]));
  };
  kind.addEventListener('change', pick);
  config.addEventListener('input', () => form?.sync());
  pick();
  const start = async () => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(config.value);
    } catch (e) {
      el.note.textContent = `error: the config is not JSON: ${(e as Error).message}`;
      return;
    }
    const r = await api<RunView & { error?: string }>('POST', '/api/runs', { kind: kind.value, config: parsed });
    if (r.status !== 201) {
      el.note.textContent = `error: ${r.data.error}`;
      return;
    }
    el.note.textContent = `started ${r.data.id}`;
    runs.set(r.data.id, r.data);
    await setFocus(r.data.id);
  };
  return h('details', { class: 'launch', open: true }, h('summary', {}, 'Launch a run'),
    h('p', {}, 'kind ', kind, ' · config (the fields of rlhf <kind> --config FILE): the form and the JSON below are the same config'), formBox, config,
    h('p', {}, h('button', { id: 'launch', onclick: () => void start() }, 'Start run')), el.note);
}

async function main(): Promise<void> {
  const r = await api<RunView[]>('GET', '/api/runs');
  if (r.status === 401) return askToken(() => void main());
  if (r.status === 403) return mount(h('p', { class: 'error' }, 'The dashboard needs a researcher or admin token.'));
  document.body.classList.add('dashboard');
  for (const run of r.data) runs.set(run.id, run);
  const kinds = await api<RunKindsView>('GET', '/api/run-kinds');
  mount(
    h('header', {}, h('h1', {}, 'Runs'), el.status),
    launcher(kinds.status === 200 ? kinds.data.kinds : null),
    h('table', { class: 'runs' }, h('thead', {}, h('tr', {}, ...['show', 'run', 'kind', 'state', 'step', 'origin'].map((t) => h('th', {}, t)))), el.runs),
    controls(), el.charts, el.details,
  );
  renderRuns();
  connect();
  const latest = r.data.find((x) => x.state === 'running') ?? r.data[0];
  if (latest) await setFocus(latest.id);
}

if (token()) void main();
else askToken(() => void main());
