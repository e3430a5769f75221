// The labeling page. Keys: A / B better, T tie, S skip (pairs); 1..9 in order to rank K completions,
// Backspace to take the last one back; Enter submits; U undoes (re-opens) the last label. The mouse or a
// finger does the same: click or tap a completion to choose it (pairs) or to rank it next (K > 2, any K
// the API allows), drag the ranking to reorder it (label-rank.ts).
// A label waits in localStorage (label-outbox.ts) until the server has acknowledged it, and is resent
// after a network failure or a reload, so a blip loses nothing. The page holds a few tasks ahead (the
// server assigns them: ?hold=n), so labelling goes on while the network is down and the outbox fills;
// the "offline" notice clears when it has drained. Each label waits with the token of the user who made
// it and is sent with that token, so signing in as someone else (dom.ts asks first) never moves unsent
// labels to the new user. Undo and Edit re-open one of one's own recent labels; submitting stores a new
// version of it (the server keeps the old one in its audit log).
import type { LabelRequest, Me, MyLabel, ServerEvent, TaskView } from '../protocol/wire.js';
import { WS_REVOKED, WS_TOKEN_PREFIX } from '../protocol/wire.js';
import { api, askToken, h, mount, signIn } from './dom.js';
import { enqueue, mine, outbox, saveOutbox, signedIn } from './label-outbox.js';
import { mergeRecent, Recent, recentList, recordAck } from './label-recent.js';
import { Sync } from './label-sync.js';
import { Choice, complete, TaskActions, taskView } from './label-view.js';
import { markdown } from './markdown.js';

/** Tasks held at once: the one shown and two ahead, so a dropped network stops nobody for a while. */
const HOLD = 3;
const GUIDES_KEY = 'rlhf.guidelines.open';

let me: Me | null = null;
let held: TaskView[] = [];
let task: TaskView | null = null;
let editing: { replaces: string; version: number } | null = null;
let choice: Choice = null;
let ranking: number[] = [];
let rationale = '';
let shownAt = 0;
let sent = 0;
let message = '';
let isError = false;
let serverRecent: MyLabel[] = [];
let guidelines = '';
// Tasks labelled on this page: never shown again, though a held list fetched earlier may still name them.
const done = new Set<number>();

const recent = (): Recent[] => mergeRecent(serverRecent, mine());

function note(text: string, error = false): void {
  [message, isError] = [text, error];
}

const sync = new Sync({
  acknowledged: (q, ack) => {
    if (ack.created && !q.label.replaces) {
      sent++;
      sync.took();
    }
    serverRecent = recordAck(serverRecent, q, ack);
  },
  refused: (q) => void (q.label.replaces || done.delete(q.label.taskId)), // still held (a bad answer, say): it can be labelled again
  held: (tasks) => {
    held = tasks;
    if (!task) pickNext();
  },
  note,
  backOnline: () => void (isError || note('back online: every label sent')),
  changed: () => renderAround(),
}, HOLD);

// ---- the task ----

function available(): TaskView[] {
  const waiting = new Set(mine().filter((q) => !q.label.replaces).map((q) => q.label.taskId));
  return held.filter((t) => !done.has(t.id) && !waiting.has(t.id));
}

function pickNext(): void {
  show(available()[0] ?? null);
}

function show(t: TaskView | null): void {
  task = t;
  editing = null;
  [choice, ranking, rationale, shownAt] = [null, [], '', performance.now()];
  render(true);
}

function startEdit(r: Recent): void {
  task = r.task;
  editing = { replaces: r.label.clientId, version: r.version };
  [choice, ranking, rationale, shownAt] = [r.label.kind, r.label.ranking ?? [], r.label.rationale ?? '', performance.now()];
  note(`editing your label on task ${r.task.id}`);
  render(true);
}

async function submit(): Promise<void> {
  if (!task) return;
  if (!complete({ task, choice, ranking })) {
    note(`rank all ${task.completions.length} completions first, or choose tie or skip`, true);
    return renderStatus();
  }
  const plain = choice === 'tie' || choice === 'skip';
  const label: LabelRequest = {
    taskId: task.id, clientId: crypto.randomUUID(), kind: plain ? choice! : 'ranking', ...(plain ? {} : { ranking }),
    ...(rationale.trim() ? { rationale: rationale.trim() } : {}), ms: Math.round(performance.now() - shownAt), ...(editing ? { replaces: editing.replaces } : {}),
  };
  enqueue({ token: signedIn(), label, task }); // kept before it is sent
  done.add(task.id);
  note(editing ? `new version of your label on task ${task.id} saved` : `label for task ${task.id} saved`);
  pickNext(); // the next held task at once, online or not
  await sync.flush();
}

function pick(p: number): void {
  if (!task) return;
  const k = task.completions.length;
  if (k === 2) [choice, ranking] = ['ranking', [p, 1 - p]];
  else if (choice !== 'ranking') [choice, ranking] = ['ranking', [p]];
  else ranking = ranking.includes(p) ? ranking.filter((x) => x !== p) : [...ranking, p];
  if (choice === 'ranking' && !ranking.length) choice = null;
  render();
}

function press(key: string): void {
  const lower = key.toLowerCase();
  if (lower === 'u') {
    const last = recent()[0];
    return last ? startEdit(last) : undefined;
  }
  if (!task) return;
  const k = task.completions.length;
  if (k === 2 && (lower === 'a' || lower === 'b')) [choice, ranking] = ['ranking', lower === 'a' ? [0, 1] : [1, 0]];
  else if (lower === 't') [choice, ranking] = ['tie', []];
  else if (lower === 's') [choice, ranking] = ['skip', []];
  else if (/^[1-9]$/.test(key) && Number(key) <= k) {
    if (choice !== 'ranking') [choice, ranking] = ['ranking', []];
    if (!ranking.includes(Number(key) - 1)) ranking = [...ranking, Number(key) - 1];
  } else if (key === 'Backspace') ranking = ranking.slice(0, -1);
  else if (key === 'Enter') return void submit();
  else return;
  render();
}

const actions: TaskActions = {
  press, pick, submit: () => void submit(), rationale: (t) => (rationale = t),
  reorder: (order) => {
    [choice, ranking] = [order.length ? 'ranking' : null, order];
    render();
  },
  cancelEdit: () => {
    note('edit cancelled: your label stays as it was');
    pickNext();
  },
};

// ---- the page ----

function text(id: string, value: string): void {
  const el = document.getElementById(id);
  if (el && el.textContent !== value) el.textContent = value;
}

function renderStatus(): void {
  text('progress', `${me?.name ?? ''} · labeled ${(me?.labeled ?? 0) + sent} · waiting to send ${outbox().length}`);
  const waiting = mine().filter((q) => !q.label.replaces).length;
  const left = sync.left;
  text('left', left ? `${Math.max(0, left.left - waiting)}${left.capped ? '+' : ''} left in the queue` : '');
  const m = document.getElementById('message');
  if (m) {
    m.className = isError ? 'error' : 'status';
    text('message', message);
  }
}

/**
 * What a background event changes (a label sent, the network gone): the status, the recent list, and the
 * work area only when no task is shown there. A task being worked on (a drag in progress, say) is left alone.
 */
function renderAround(): void {
  if (!task) return render();
  renderStatus();
  renderRecent();
}

function renderRecent(): void {
  const box = document.getElementById('recent-box');
  if (!box) return;
  const was = document.activeElement?.id;
  box.replaceChildren(recentList(recent(), startEdit));
  if (was?.startsWith('edit-') && !box.contains(document.activeElement)) document.getElementById(was)?.focus({ preventScroll: true });
}

/** Everything from state. Focus stays where it was (the same control, by id); on a new task it goes to the task. */
function render(newTask = false): void {
  renderStatus();
  const work = document.getElementById('work');
  if (!work) return;
  const active = document.activeElement as (HTMLElement & Partial<HTMLTextAreaElement>) | null;
  const was = active?.id;
  const caret = active?.tagName === 'TEXTAREA' ? [active.selectionStart!, active.selectionEnd!] : null;
  const empty = h('p', { id: 'empty' }, outbox().length ? 'Sending…' : 'No task right now; new ones appear here as they arrive.');
  work.replaceChildren(task ? taskView({ task, choice, ranking, rationale, editing: editing && { version: editing.version }, canUndo: recent().length > 0 }, actions) : empty);
  renderRecent();
  if (newTask) return document.getElementById('task')?.focus();
  if (!was || document.getElementById(was) === active) return; // focus was outside what was rebuilt
  const same = document.getElementById(was) ?? document.getElementById('task'); // a control that went away: the task
  same?.focus({ preventScroll: true });
  if (caret && same instanceof HTMLTextAreaElement) same.setSelectionRange(caret[0], caret[1]); // typing goes on where it was
}

function toggleGuidelines(open: boolean): void {
  localStorage.setItem(GUIDES_KEY, open ? '1' : '');
  document.getElementById('layout')?.classList.toggle('with-guidelines', open);
  const panel = document.getElementById('guidelines')!;
  panel.hidden = !open;
  document.getElementById('guidelines-toggle')?.setAttribute('aria-expanded', String(open));
  if (open) panel.focus();
}

function skeleton(): void {
  const open = localStorage.getItem(GUIDES_KEY) === '1';
  const panel = h('aside', { id: 'guidelines', class: 'guidelines-panel', 'aria-labelledby': 'guidelines-title', tabindex: '-1' },
    h('h2', { id: 'guidelines-title' }, 'Guidelines'),
    h('div', { class: 'guidelines-text' }, ...(guidelines ? markdown(guidelines) : ['No guidelines yet.'])),
    h('button', { type: 'button', id: 'guidelines-close', onclick: () => toggleGuidelines(false) }, 'Close guidelines'));
  panel.hidden = !open;
  mount(
    h('header', {}, h('h1', {}, 'Label'), h('span', { class: 'status', id: 'progress' }), h('span', { class: 'status', id: 'left' }),
      h('button', { type: 'button', id: 'guidelines-toggle', 'aria-expanded': String(open), 'aria-controls': 'guidelines', onclick: () => toggleGuidelines(document.getElementById('guidelines')!.hidden) }, 'Guidelines')),
    // the one live region: progress ("saved", "back online") and errors are announced from here
    h('p', { id: 'message', class: 'status', role: 'status', 'aria-live': 'polite' }),
    h('div', { id: 'layout', class: `label-layout${open ? ' with-guidelines' : ''}` }, h('div', { id: 'work' }), panel),
    h('div', { id: 'recent-box' }));
}

function connect(): void {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`, [WS_TOKEN_PREFIX + signedIn()]);
  ws.onopen = () => void (task ? undefined : sync.flush()); // after a server restart: anything new?
  ws.onmessage = (e) => {
    const ev = JSON.parse(e.data) as ServerEvent;
    if (ev.type !== 'tasks') return;
    if (available().length < HOLD) void sync.flush();
    void sync.refreshLeft();
  };
  ws.onclose = (e) => {
    if (e.code !== WS_REVOKED) return void setTimeout(connect, 3000);
    note('signed out: your token no longer works (ask your project lead for a new link)', true);
    renderStatus();
  };
}

function onKey(e: KeyboardEvent): void {
  const t = e.target as HTMLElement;
  if (e.ctrlKey || e.metaKey || e.altKey || document.querySelector('dialog[open]')) return;
  if (t.tagName === 'TEXTAREA' || t.tagName === 'INPUT') {
    if (e.key !== 'Enter' || e.shiftKey) return; // typing; Shift+Enter: newline; Enter submits
  } else if ((t.tagName === 'BUTTON' || t.tagName === 'SUMMARY') && (e.key === 'Enter' || e.key === ' ')) return; // a focused control does what it says
  if (e.key === 'Enter' || e.key === 'Backspace') e.preventDefault();
  press(e.key);
}

async function start(): Promise<void> {
  saveOutbox(outbox()); // untagged entries belong to whoever was signed in when they were queued: now
  if (!(await signIn())) return askToken(() => void start());
  const r = await api<Me>('GET', '/api/me');
  if (r.status === 401) return askToken(() => void start());
  me = r.data;
  const [g, recentR] = await Promise.all([api<{ guidelines: string }>('GET', '/api/guidelines'), api<MyLabel[]>('GET', '/api/me/labels')]);
  guidelines = g.data.guidelines;
  serverRecent = recentR.status === 200 ? recentR.data : [];
  document.body.classList.add('label-page');
  skeleton();
  render();
  document.addEventListener('keydown', onKey);
  window.addEventListener('online', () => void sync.flush());
  setInterval(() => void (task ? sync.refreshLeft() : sync.flush()), 30_000); // a missed event costs at most this long
  connect();
  await sync.flush();
}

void start();
