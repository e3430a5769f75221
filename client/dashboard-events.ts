// What runs report besides numbers: checkpoints, early stops, and the online-feedback loop's events
// (tasks sent, reward-model refreshes, the switches PPO makes to a refreshed reward model, and online
// DPO's rounds). Each shown run's events are kept here so its charts can mark its switches and rounds; the
// focused run's go in the events table.
import { eventMarks, RunEventLike, switchMarkers, SwitchMarker } from './chart-data.js';
import { api, h } from './dom.js';

/** A run started by hand with --db has its metrics pushed by the server but not its events: refetch them this often at most. */
const CLI_REFETCH_MS = 3000;

export class ShownRunEvents {
  private readonly byRun = new Map<string, RunEventLike[]>();
  private readonly fetchedAt = new Map<string, number>();

  /** `changed` is told which run's events changed (a redraw, and the table if it is the focused run). */
  constructor(private readonly changed: (runId: string) => void) {}

  /**
   * Fetch a run's events (GET /api/runs/:id, its config event left out) and keep them. Events pushed over
   * the socket while the request was out are kept too, unless the answer already holds them.
   */
  async load(id: string): Promise<void> {
    this.fetchedAt.set(id, Date.now());
    if (!this.byRun.has(id)) this.byRun.set(id, []);
    const r = await api<{ events?: RunEventLike[] }>('GET', `/api/runs/${encodeURIComponent(id)}`);
    const during = this.byRun.get(id);
    if (!during) return; // hidden meanwhile
    const fetched = (r.data.events ?? []).filter((e) => e.kind !== 'config');
    const key = (e: RunEventLike) => `${e.step}|${e.kind}|${JSON.stringify(e.data)}`;
    const have = new Set(fetched.map(key));
    this.byRun.set(id, [...fetched, ...during.filter((e) => !have.has(key(e)))]);
  }

  /** An event pushed over the WebSocket; true when it is a reward-model switch or a DPO round of a run kept here. */
  add(id: string, e: RunEventLike): boolean {
    const list = this.byRun.get(id);
    if (!list || e.kind === 'config') return false;
    list.push(e);
    return e.kind === 'reward-switch' || e.kind === 'dpo-round';
  }

  /** New metrics of a CLI run with an online-feedback loop: its events may have moved on too. */
  poke(id: string): void {
    if (!this.byRun.has(id) || Date.now() - (this.fetchedAt.get(id) ?? 0) < CLI_REFETCH_MS) return;
    void this.load(id).then(() => this.changed(id));
  }

  forget(id: string): void {
    this.byRun.delete(id);
    this.fetchedAt.delete(id);
  }

  list(id: string): RunEventLike[] {
    return this.byRun.get(id) ?? [];
  }

  markers(id: string): SwitchMarker[] {
    return switchMarkers(this.list(id));
  }
}

/**
 * The events table's rows, newest first: every reward-model switch and DPO round (so a long run's
 * feedback-task events never push them out), and the latest `limit` other events. A switch row names its
 * version, a round row its round.
 */
export function eventRows(events: RunEventLike[], limit = 50): HTMLElement[] {
  const marks = eventMarks(events);
  const others = events.map((_, i) => i).filter((i) => marks[i] === null).slice(-limit);
  const keep = new Set([...others, ...events.map((_, i) => i).filter((i) => marks[i] !== null)]);
  return [...keep].sort((a, b) => b - a).map((i) => {
    const e = events[i];
    const m = marks[i];
    return h('tr', { class: m?.kind ?? '', 'data-kind': e.kind },
      h('td', {}, String(e.step)),
      h('td', {}, m === null ? e.kind : `${e.kind}: ${m.label}`),
      h('td', { class: 'text' }, JSON.stringify(e.data)));
  });
}
