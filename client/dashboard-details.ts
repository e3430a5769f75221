// The focused run's panel: its name, tags and notes (editable by any researcher, PUT /api/runs/:id/meta),
// state and error, stop and resume (a run without a checkpoint says that resuming starts it again from
// step 0), the CSV download, the samples (dashboard-samples.ts), its events, config and log.
// Model text (samples, logs, configs) only ever enters the page through textContent (dom.ts h()).
import type { RunDetailView, RunView } from '../protocol/wire.js';
import type { RunEventLike } from './chart-data.js';
import { eventRows } from './dashboard-events.js';
import type { SamplesPanel } from './dashboard-samples.js';
import { api, h, token } from './dom.js';
import { runLabel } from './run-table.js';

export interface DetailsDeps {
  runs: Map<string, RunView>;
  samples: SamplesPanel;
  /** Where the outcome of an action is written. */
  note: HTMLElement;
  /** A run's row changed (its name, tags or notes were saved). */
  changed(run: RunView): void;
}

/** Tags as typed: comma-separated, trimmed, empty ones dropped. */
export const parseTags = (text: string): string[] => [...new Set(text.split(',').map((t) => t.trim()).filter(Boolean))];

export class RunDetails {
  readonly el = h('section', { id: 'details' });
  private focus: string | null = null;
  private events: RunEventLike[] = [];
  private readonly eventsBody = h('tbody');
  private meta: { id: string; form: HTMLElement } | null = null;

  constructor(private readonly d: DetailsDeps) {}

  /** Events of the focused run (its config event left out), newest in the table first. */
  setEvents(id: string, events: RunEventLike[]): void {
    if (id !== this.focus) return;
    this.events = events.filter((e) => e.kind !== 'config');
    this.eventsBody.replaceChildren(...eventRows(this.events));
  }

  addEvent(id: string, e: RunEventLike): void {
    if (id !== this.focus || e.kind === 'config') return;
    this.events.push(e);
    this.eventsBody.replaceChildren(...eventRows(this.events));
  }

  async render(id: string): Promise<void> {
    this.focus = id;
    const r = this.d.runs.get(id);
    if (!r) return;
    const enc = encodeURIComponent(id);
    const info = await api<RunDetailView>('GET', `/api/runs/${enc}`);
    if (info.status !== 200 || this.focus !== id) return;
    this.setEvents(id, info.data.events);
    const log = await fetch(`/api/runs/${enc}/log`, { headers: { Authorization: `Bearer ${token()}` } }).then((x) => (x.ok ? x.text() : ''));
    if (this.focus !== id) return;
    const checkpoint = info.data.checkpoint;
    const act = async (what: 'stop' | 'resume') => {
      const res = await api<{ error?: string }>('POST', `/api/runs/${enc}/${what}`);
      this.d.note.textContent = res.data?.error ? `error: ${res.data.error}`
        : what === 'stop' ? 'stop requested'
        : checkpoint ? `resume requested: it continues from its checkpoint ${checkpoint}` : 'resume requested: it has no checkpoint, so it starts again from step 0';
    };
    const managed = r.origin === 'server';
    const canResume = managed && (r.state === 'stopped' || r.state === 'failed');
    this.el.replaceChildren(...[
      h('h2', {}, runLabel(r)), r.name ? h('p', { class: 'status', id: 'run-id' }, r.id) : null,
      this.metaForm(r),
      h('p', {}, `${r.kind} · `, h('span', { class: `state ${r.state}`, id: 'run-state' }, r.state), r.error ? h('span', { class: 'error', id: 'run-error' }, ` · ${r.error}`) : null),
      h('p', {},
        managed && (r.state === 'running' || r.state === 'queued') ? h('button', { id: 'stop', onclick: () => void act('stop') }, 'Stop') : null, ' ',
        canResume ? h('button', { id: 'resume', onclick: () => void act('resume') }, checkpoint ? 'Resume' : 'Start again (no checkpoint)') : null, ' ',
        h('button', { id: 'csv', onclick: () => void this.csv(id) }, 'Download metrics (CSV)')),
      canResume ? h('p', { class: 'status', id: 'resume-note' }, checkpoint ? `Resume continues from its checkpoint ${checkpoint}.` : 'This run has no checkpoint: resuming starts it again from step 0.') : null,
      this.d.samples.el,
      h('h3', {}, 'Events'),
      h('table', { class: 'events' }, h('thead', {}, h('tr', {}, ...['step', 'event', 'data'].map((t) => h('th', {}, t)))), this.eventsBody),
      h('h3', {}, 'Config'), h('pre', { id: 'config' }, JSON.stringify(r.config, null, 2)),
      h('h3', {}, 'Log'), h('pre', { id: 'log' }, log || '(empty)'),
    ].filter((x): x is HTMLElement => x !== null));
  }

  /** The name, tags and notes editor; kept while the same run stays focused, so a redraw never eats what is being typed. */
  private metaForm(r: RunView): HTMLElement {
    if (this.meta?.id === r.id) return this.meta.form;
    const name = h('input', { id: 'run-name', type: 'text', maxlength: '200', placeholder: r.id, value: r.name ?? '' }) as HTMLInputElement;
    const tags = h('input', { id: 'run-tags', type: 'text', placeholder: 'comma-separated', value: (r.tags ?? []).join(', ') }) as HTMLInputElement;
    const notes = h('textarea', { id: 'run-notes', rows: '2', maxlength: '10000' }) as HTMLTextAreaElement;
    notes.value = r.notes ?? '';
    const said = h('span', { class: 'status', id: 'meta-note', 'aria-live': 'polite' });
    const save = async (e: Event) => {
      e.preventDefault();
      const res = await api<RunView & { error?: string }>('PUT', `/api/runs/${encodeURIComponent(r.id)}/meta`, { name: name.value, tags: parseTags(tags.value), notes: notes.value });
      if (res.status !== 200) return void (said.textContent = `error: ${res.data?.error ?? res.status}`);
      said.textContent = 'saved';
      tags.value = (res.data.tags ?? []).join(', ');
      this.d.changed(res.data);
    };
    const form = h('form', { class: 'run-meta', id: 'run-meta', onsubmit: (e: Event) => void save(e) },
      h('label', {}, 'name ', name), ' ', h('label', {}, 'tags ', tags), ' ', h('label', { class: 'notes' }, 'notes ', notes), ' ',
      h('button', { type: 'submit', id: 'meta-save' }, 'Save'), ' ', said);
    this.meta = { id: r.id, form };
    return form;
  }

  private async csv(id: string): Promise<void> {
    const res = await fetch(`/api/runs/${encodeURIComponent(id)}/metrics.csv`, { headers: { Authorization: `Bearer ${token()}` } });
    const url = URL.createObjectURL(await res.blob());
    h('a', { href: url, download: `${id}-metrics.csv` }).click();
    URL.revokeObjectURL(url);
  }
}
