// The focused run's samples table: the latest steps' rows (live rows arrive over the socket), searched
// and filtered by step in the page; one prompt followed across every step the run sampled it at (GET
// ...samples?prompt=); or the rows of one step, asked for by a click on a chart point (?step=).
// Columns: step, prompt, completion, reward, gold, then every extra column of the rows shown (GRPO and
// RLOO: each reward function's value and the columns reward functions logged; DPO: the rejected
// completion, its implicit reward, the margin, correct), in the order they first appear. A DPO run's rows
// are validation pairs, so its completion is the chosen one and its reward the chosen implicit reward.
// Every cell is text (h() sets textContent): a prompt, a completion or a logged column is model or data text.
import type { SampleView } from '../protocol/wire.js';
import { api, h } from './dom.js';

const MAX_ROWS = 200;
const MAX_PROMPT_QUERY = 8000; // the route's limit on ?prompt=

/** The rows a search keeps: every word must be a case-insensitive part of the prompt, completion or a text column; and the step, when given. */
export function filterSamples(rows: SampleView[], query: string, step: number | null): SampleView[] {
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  return rows.filter((r) => {
    if (step !== null && r.step !== step) return false;
    if (!words.length) return true;
    const text = [r.prompt, r.completion, ...Object.values(r.columns ?? {}).filter((v): v is string => typeof v === 'string')].join('\n').toLowerCase();
    return words.every((w) => text.includes(w));
  });
}

type Mode = { kind: 'latest' } | { kind: 'step'; asked: number } | { kind: 'prompt'; prompt: string };

export class SamplesPanel {
  readonly el: HTMLElement;
  private runId: string | null = null;
  private dpo = false;
  private latest: SampleView[] = [];
  private other: SampleView[] = [];
  private mode: Mode = { kind: 'latest' };
  private readonly search = h('input', { type: 'search', id: 'sample-search', placeholder: 'search prompts and completions', 'aria-label': 'search the samples' }) as HTMLInputElement;
  private readonly step = h('select', { id: 'sample-step', 'aria-label': 'show the samples of one step' }) as HTMLSelectElement;
  private readonly modeLine = h('p', { class: 'status', id: 'samples-mode', 'aria-live': 'polite' });
  private readonly head = h('thead');
  private readonly body = h('tbody');

  constructor() {
    this.search.addEventListener('input', () => this.render());
    this.step.addEventListener('change', () => this.render());
    this.el = h('section', { class: 'samples-panel', id: 'samples' },
      h('h3', {}, 'Samples'),
      h('p', { class: 'controls' }, this.search, ' ', h('label', {}, 'step ', this.step)), this.modeLine,
      h('table', { class: 'samples' }, this.head, this.body));
  }

  /** Show a run's latest rows (the newest `steps` steps with samples). */
  async setRun(runId: string, kind: string, steps = 10): Promise<void> {
    const changed = runId !== this.runId;
    this.runId = runId;
    this.dpo = kind === 'dpo';
    if (changed) this.mode = { kind: 'latest' };
    const r = await api<SampleView[]>('GET', `/api/runs/${encodeURIComponent(runId)}/samples?steps=${steps}`);
    if (this.runId !== runId) return;
    this.latest = r.status === 200 ? r.data : [];
    this.render();
  }

  /** Rows pushed over the socket (a bounded preview of each row; the stored rows are whole). */
  live(runId: string, rows: SampleView[]): void {
    if (runId !== this.runId) return;
    this.latest = [...rows, ...this.latest].slice(0, MAX_ROWS);
    if (this.mode.kind === 'latest') this.render();
  }

  /** The rows of the step nearest `step` that has any (a chart point's), scrolled into view. */
  async showStep(runId: string, kind: string, step: number): Promise<void> {
    if (runId !== this.runId) await this.setRun(runId, kind);
    const r = await api<SampleView[]>('GET', `/api/runs/${encodeURIComponent(runId)}/samples?step=${step}`);
    this.other = r.status === 200 ? r.data : [];
    this.mode = { kind: 'step', asked: step };
    this.search.value = '';
    this.render();
    this.el.scrollIntoView({ block: 'start' });
  }

  /** Every row of one prompt across the run's steps. */
  async follow(prompt: string): Promise<void> {
    if (!this.runId) return;
    if (prompt.length > MAX_PROMPT_QUERY) {
      this.modeLine.textContent = `this prompt is too long to follow (${prompt.length} characters; at most ${MAX_PROMPT_QUERY})`;
      return;
    }
    const r = await api<SampleView[]>('GET', `/api/runs/${encodeURIComponent(this.runId)}/samples?prompt=${encodeURIComponent(prompt)}`);
    this.other = r.status === 200 ? r.data : [];
    this.mode = { kind: 'prompt', prompt };
    this.search.value = '';
    this.render();
  }

  private back(): void {
    this.mode = { kind: 'latest' };
    this.render();
  }

  private render(): void {
    const rows = this.mode.kind === 'latest' ? this.latest : this.other;
    const steps = [...new Set(rows.map((r) => r.step))];
    const picked = this.step.value === '' ? null : Number(this.step.value);
    this.step.replaceChildren(h('option', { value: '' }, 'all'), ...steps.map((s) => h('option', { value: String(s) }, String(s))));
    this.step.value = picked !== null && steps.includes(picked) ? String(picked) : '';
    const shown = filterSamples(rows, this.search.value, this.step.value === '' ? null : Number(this.step.value));
    const back = h('button', { type: 'button', id: 'samples-latest', onclick: () => this.back() }, 'back to the latest');
    const m = this.mode;
    const where = m.kind === 'latest' ? `the latest ${steps.length} steps with samples`
      : m.kind === 'step' ? `step ${steps[0] ?? m.asked}${steps.length && steps[0] !== m.asked ? ` (the nearest step with samples to ${m.asked})` : ''}${rows.length ? '' : `: no samples near step ${m.asked}`}`
      : `one prompt across ${steps.length} steps`;
    this.modeLine.replaceChildren(`${shown.length} of ${rows.length} rows · ${where}`, ...(m.kind === 'latest' ? [] : [' · ', back]));
    this.modeLine.dataset.mode = m.kind;
    const num = (v: number | null) => (v === null ? '–' : v.toFixed(3));
    const cell = (v: string | number | boolean | null | undefined) => (v === null || v === undefined ? '–' : typeof v === 'number' ? String(Number(v.toPrecision(6))) : String(v));
    const extra = [...new Set(shown.flatMap((s) => Object.keys(s.columns ?? {})))];
    const head = this.dpo ? ['step', 'prompt', 'chosen', 'chosen reward', 'gold'] : ['step', 'prompt', 'completion', 'reward', 'gold'];
    this.head.replaceChildren(h('tr', {}, ...head.map((t) => h('th', {}, t)), ...extra.map((c) => h('th', { class: 'column', 'data-column': c }, c))));
    this.body.replaceChildren(...shown.map((s) => h('tr', {},
      h('td', {}, String(s.step)),
      // the follow button's visible label is CSS generated content, so the cell's text stays the prompt's
      h('td', { class: 'text' }, h('span', { class: 'prompt-text' }, s.prompt), h('button', { type: 'button', class: 'follow', 'aria-label': 'follow this prompt across steps', title: 'follow this prompt across steps', onclick: () => void this.follow(s.prompt) })),
      h('td', { class: 'text' }, s.completion), h('td', {}, num(s.score)), h('td', {}, num(s.gold)),
      ...extra.map((c) => h('td', { class: typeof s.columns?.[c] === 'string' ? 'text column' : 'column' }, cell(s.columns && Object.hasOwn(s.columns, c) ? s.columns[c] : undefined))))));
  }
}
