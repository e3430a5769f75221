// The labeler's recent labels on the labeling page, newest first: the ones the server has (GET
// /api/me/labels: still editable) merged with the ones waiting in the outbox, each with an Edit button.
// Editing shows the task again with that answer chosen; submitting it posts a new version (`replaces`).
import type { LabelAck, LabelRequest, MyLabel, TaskView } from '../protocol/wire.js';
import { h } from './dom.js';
import type { Queued } from './label-outbox.js';

export interface Recent {
  task: TaskView;
  /** The current version (its clientId is what an edit replaces). */
  label: LabelRequest;
  version: number;
  /** Still in the outbox. */
  pending: boolean;
}

const MAX = 10;

/** The server's list and the waiting labels, one entry per task, the latest version winning. */
export function mergeRecent(server: MyLabel[], waiting: Queued[]): Recent[] {
  const byTask = new Map<number, Recent>();
  for (const m of [...server].reverse()) { // oldest first, so newer entries replace older ones
    byTask.set(m.taskId, { task: m.task, version: m.version, pending: false, label: { taskId: m.taskId, clientId: m.clientId, kind: m.kind, ...(m.ranking ? { ranking: m.ranking } : {}), ...(m.rationale ? { rationale: m.rationale } : {}) } });
  }
  for (const q of waiting) {
    const prior = byTask.get(q.label.taskId);
    const task = q.task ?? prior?.task;
    if (!task) continue; // a label queued by an older page, without its task: listed once the server has it
    byTask.delete(q.label.taskId); // re-inserted last: the newest
    byTask.set(q.label.taskId, { task, label: q.label, version: q.label.replaces ? (prior?.version ?? 1) + 1 : 1, pending: true });
  }
  return [...byTask.values()].reverse().slice(0, MAX);
}

/** The server's list after it acknowledged `q`: that task's entry is now this version, first. */
export function recordAck(list: MyLabel[], q: Queued, ack: LabelAck): MyLabel[] {
  const prior = list.find((m) => m.taskId === q.label.taskId);
  const task = q.task ?? prior?.task;
  if (!task) return list;
  const { taskId, clientId, kind, ranking, rationale } = q.label;
  const entry: MyLabel = {
    id: ack.id, taskId, clientId, kind, ranking: ranking ?? null, rationale: rationale ?? null, task,
    version: ack.version ?? prior?.version ?? 1, createdAt: prior?.createdAt ?? new Date().toISOString(),
  };
  return [entry, ...list.filter((m) => m.taskId !== taskId)];
}

export function describe(l: LabelRequest, k: number): string {
  if (l.kind === 'tie') return 'a tie';
  if (l.kind === 'skip') return 'skipped';
  const r = l.ranking ?? [];
  return k === 2 ? `${'AB'[r[0]]} is better` : `ranked ${r.map((p) => p + 1).join(' > ')}`;
}

let open = false;

export function recentList(items: Recent[], edit: (r: Recent) => void): HTMLElement {
  const details = h('details', { id: 'recent', class: 'recent', ontoggle: (e: Event) => (open = (e.target as HTMLDetailsElement).open) },
    h('summary', {}, `Your recent labels (${items.length})`),
    items.length
      ? h('ul', {}, ...items.map((r) => h('li', {},
        h('span', {}, `Task ${r.task.id}: ${describe(r.label, r.task.completions.length)}${r.version > 1 ? ` (version ${r.version})` : ''}${r.pending ? ' · waiting to send' : ''} `),
        h('button', { type: 'button', id: `edit-${r.task.id}`, 'aria-label': `Edit your label on task ${r.task.id}`, onclick: () => edit(r) }, 'Edit'))))
      : h('p', { class: 'hint' }, 'None in the last 24 hours.')) as HTMLDetailsElement;
  details.open = open;
  return details;
}
