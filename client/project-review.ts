// The project page's review: labels under a filter (labeler, task, agreement, gold, status, time), newest
// first, a page at a time; one task with all its labels side by side (a row per completion, a column per
// label: the rank each labeler gave it, beside the gold answer and the ranked-pairs consensus); and
// rejecting a label, with a reason, so exports and training skip it (or restoring it). Model text is set
// as text, never markup (dom.ts). The filters and the open task survive the page's re-reads.
import type { ReviewLabel, ReviewPage, ReviewTask } from '../protocol/project.js';
import { api, h } from './dom.js';
import { Act, pct, UserRow } from './project-users.js';

const FIELDS = ['labeler', 'task', 'agreement', 'gold', 'status', 'from', 'to'] as const;
type Field = (typeof FIELDS)[number];
const filter: Record<Field, string> = { labeler: '', task: '', agreement: '', gold: '', status: 'all', from: '', to: '' };
let offset = 0;
let openId: number | null = null;
const PAGE = 50;

/** "2 > 1 > 3" (positions shown from 1), "tie" or "skip". */
export const answer = (l: Pick<ReviewLabel, 'kind' | 'ranking'>): string => (l.ranking ? l.ranking.map((p) => p + 1).join(' > ') : l.kind);
const ordinal = (n: number) => `${n}${['th', 'st', 'nd', 'rd'][n % 100 > 10 && n % 100 < 14 ? 0 : n % 10] ?? 'th'}`;

/** Asks for the reason of a rejection: the text (possibly empty), or null when cancelled. */
function askReason(l: ReviewLabel): Promise<string | null> {
  return new Promise((resolve) => {
    const reason = h('input', { id: 'reject-reason', maxlength: '500', size: '40', 'aria-label': 'reason (optional)' }) as HTMLInputElement;
    const el = h('dialog', { id: 'dialog', 'aria-labelledby': 'dialog-title' },
      h('h2', { id: 'dialog-title' }, `Reject ${l.labeler}'s label on task ${l.taskId}?`),
      h('p', {}, 'Exports and training skip it from now on; you can restore it later.'),
      h('form', { method: 'dialog' }, h('p', {}, 'Reason ', reason),
        h('button', { value: 'cancel' }, 'Cancel'), ' ', h('button', { value: 'reject' }, 'Reject label'))) as HTMLDialogElement;
    el.addEventListener('close', () => {
      el.remove();
      resolve(el.returnValue === 'reject' ? reason.value.trim() : null);
    });
    document.body.append(el);
    el.showModal();
    reason.focus();
  });
}

function actions(l: ReviewLabel, act: Act): HTMLElement {
  const base = `/api/review/labels/${l.id}`;
  return l.rejected
    ? h('button', { type: 'button', onclick: () => void act('POST', `${base}/restore`, undefined, () => `restored label ${l.id}`), 'aria-label': `restore label ${l.id}` }, 'Restore')
    : h('button', {
      type: 'button', 'aria-label': `reject label ${l.id}`,
      onclick: () => void askReason(l).then((reason) => {
        if (reason !== null) return act('POST', `${base}/reject`, reason ? { reason } : {}, () => `rejected label ${l.id}`);
      }),
    }, 'Reject');
}

const status = (l: ReviewLabel) => (l.rejected ? `rejected${l.rejected.by ? ` by ${l.rejected.by}` : ''}${l.rejected.reason ? `: ${l.rejected.reason}` : ''}` : 'kept');

function filterForm(users: UserRow[], reload: () => void): HTMLElement {
  const sel = (f: Field, label: string, options: [string, string][]) => {
    const s = h('select', { id: `review-${f}`, 'aria-label': label }, ...options.map(([v, t]) => h('option', { value: v, selected: filter[f] === v }, t))) as HTMLSelectElement;
    s.addEventListener('change', () => (filter[f] = s.value));
    return h('label', {}, `${label} `, s);
  };
  const input = (f: Field, label: string, attrs: Record<string, string>) => {
    const i = h('input', { id: `review-${f}`, value: filter[f], ...attrs }) as HTMLInputElement;
    i.addEventListener('input', () => (filter[f] = i.value));
    return h('label', {}, `${label} `, i);
  };
  return h('form', {
    id: 'review-filters', class: 'filters', 'aria-label': 'review filters',
    onsubmit: (e: Event) => {
      e.preventDefault();
      offset = 0;
      reload();
    },
  },
  sel('labeler', 'labeler', [['', 'anyone'], ...users.map((u): [string, string] => [u.name, u.name])]),
  input('task', 'task', { type: 'number', min: '1', class: 'short' }),
  sel('agreement', 'agreement', [['', 'any'], ['unanimous', 'unanimous'], ['contested', 'contested'], ['single', 'one label']]),
  sel('gold', 'gold', [['', 'any'], ['only', 'gold questions'], ['wrong', 'gold answered wrong'], ['correct', 'gold answered right'], ['none', 'not gold']]),
  sel('status', 'status', [['all', 'all'], ['kept', 'kept'], ['rejected', 'rejected']]),
  input('from', 'from', { type: 'date' }), input('to', 'to', { type: 'date' }),
  h('button', { type: 'submit' }, 'Apply filters'));
}

function listTable(p: ReviewPage, act: Act, open: (id: number) => void): HTMLElement {
  return h('table', { id: 'review-list', 'aria-label': 'labels' },
    h('tr', {}, ...['label', 'time', 'labeler', 'task', 'prompt', 'answer', 'gold', 'task agreement', 'status', ''].map((t) => h('th', { scope: 'col' }, t))),
    ...p.labels.map((l) => h('tr', { 'data-label': String(l.id), class: l.rejected ? 'rejected' : '' },
      h('td', {}, String(l.id)), h('td', {}, l.createdAt.replace('T', ' ').slice(0, 16)), h('td', {}, l.labeler),
      h('td', {}, h('button', { type: 'button', onclick: () => open(l.taskId), 'aria-label': `task ${l.taskId} side by side` }, `task ${l.taskId}`)),
      h('td', { class: 'text' }, l.prompt), h('td', {}, answer(l)),
      h('td', {}, l.goldCorrect === null ? '–' : l.goldCorrect ? 'right' : 'wrong'),
      h('td', {}, l.taskLabels < 2 ? 'one label' : pct(l.taskAgreement)), h('td', {}, status(l)), h('td', {}, actions(l, act)))));
}

function taskPanel(t: ReviewTask, act: Act, close: () => void): HTMLElement {
  const k = t.task.completions.length;
  const rankOf = (ranking: number[] | null, pos: number) => (ranking ? ordinal(ranking.indexOf(pos) + 1) : '');
  const prompt = t.task.messages
    ? h('ol', { class: 'conversation' }, ...t.task.messages.map((m) => h('li', { class: 'turn', 'data-role': m.role }, h('span', { class: 'role' }, m.role), m.content)))
    : h('div', { class: 'prompt' }, t.task.prompt);
  const cell = (l: ReviewLabel, pos: number) => h('td', { class: l.rejected ? 'rejected' : '' }, l.kind === 'ranking' ? rankOf(l.ranking, pos) : l.kind);
  return h('section', { id: 'open-task', 'aria-label': `task ${t.task.id} side by side` },
    h('h3', {}, `Task ${t.task.id}: ${t.labels.length} labels side by side`, ' ', h('button', { type: 'button', onclick: close }, 'Close task')),
    h('p', { class: 'status' }, `agreement ${t.agreement === null ? '– (fewer than two labels)' : pct(t.agreement)}`,
      t.gold ? ` · gold: ${t.gold.map((p) => p + 1).join(' > ')}` : '', t.consensus ? ` · consensus (ranked pairs): ${t.consensus.map((p) => p + 1).join(' > ')}` : ''),
    prompt,
    h('div', { class: 'side-by-side' }, h('table', { id: 'side-by-side' },
      h('tr', {}, h('th', { scope: 'col' }, 'completion'), ...t.labels.map((l) => h('th', { scope: 'col', class: l.rejected ? 'rejected' : '' }, l.labeler, h('br'), h('span', { class: 'status' }, status(l)))),
        t.gold ? h('th', { scope: 'col' }, 'gold') : null, t.consensus ? h('th', { scope: 'col' }, 'consensus') : null),
      ...Array.from({ length: k }, (_, pos) => h('tr', {},
        h('td', { class: 'completion-text' }, h('span', { class: 'tag' }, String(pos + 1)), t.task.completions[pos].text),
        ...t.labels.map((l) => cell(l, pos)), t.gold ? h('td', {}, rankOf(t.gold, pos)) : null, t.consensus ? h('td', {}, rankOf(t.consensus, pos)) : null)),
      h('tr', {}, h('th', { scope: 'row' }, 'rationale'), ...t.labels.map((l) => h('td', { class: 'text' }, l.rationale ?? ''))),
      h('tr', {}, h('th', { scope: 'row' }, 'seconds'), ...t.labels.map((l) => h('td', {}, l.ms === null ? '–' : (l.ms / 1000).toFixed(1)))),
      h('tr', {}, h('th', { scope: 'row' }, ''), ...t.labels.map((l) => h('td', {}, actions(l, act)))))));
}

/** The section; its list and open task are fetched after it is shown. `open` is set so other sections can open a task here. */
export function reviewSection(users: UserRow[], act: Act): { nodes: HTMLElement[]; open: (id: number) => void } {
  const list = h('div', { id: 'review-results', 'aria-live': 'polite' }, h('p', { class: 'status' }, 'Loading labels…'));
  const panel = h('div', { id: 'review-panel' });
  const fail = (where: HTMLElement, status: number, data: unknown) => where.replaceChildren(h('p', { class: 'error' }, `error ${status}: ${(data as { error?: string })?.error ?? ''}`));
  const showTask = async () => {
    if (openId === null) return void panel.replaceChildren();
    const r = await api<ReviewTask>('GET', `/api/review/tasks/${openId}`);
    if (r.status !== 200) return fail(panel, r.status, r.data);
    panel.replaceChildren(taskPanel(r.data, act, () => ((openId = null), void showTask())));
  };
  const open = (id: number) => {
    openId = id;
    void showTask().then(() => panel.scrollIntoView({ block: 'start' }));
  };
  const load = async () => {
    const q = new URLSearchParams(FIELDS.filter((f) => filter[f]).map((f) => [f, filter[f]]));
    q.set('offset', String(offset));
    q.set('limit', String(PAGE));
    const r = await api<ReviewPage>('GET', `/api/review/labels?${q}`);
    if (r.status !== 200) return fail(list, r.status, r.data);
    const p = r.data;
    const last = Math.min(p.offset + p.labels.length, p.total);
    list.replaceChildren(
      h('p', { id: 'review-count', class: 'status' }, p.total ? `labels ${p.offset + 1}–${last} of ${p.total}, newest first` : 'No label matches these filters.'),
      ...(p.labels.length ? [listTable(p, act, open)] : []),
      h('p', {}, h('button', { type: 'button', disabled: offset === 0, onclick: () => ((offset = Math.max(0, offset - PAGE)), void load()) }, 'Newer'), ' ',
        h('button', { type: 'button', disabled: last >= p.total, onclick: () => ((offset += PAGE), void load()) }, 'Older')));
  };
  void load();
  void showTask();
  return { nodes: [h('h2', {}, 'Review'), filterForm(users, () => void load()), list, panel], open };
}
