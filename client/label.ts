// The labeling page. Keys: A / B better, T tie, S skip (pairs); 1..K in order to rank K completions,
// Backspace to undo; Enter submits. A label waits in localStorage (the outbox) until the server has
// acknowledged it, and is resent after a network failure or a reload, so a blip loses nothing. Each
// label waits with the token of the user who made it and is sent with that token, so signing in as
// someone else (dom.ts asks first) never moves unsent labels to the new user. A task whose prompt came
// from a conversation shows it as turns, each labelled with its role, and the completions under it as the
// assistant's candidate replies; a plain prompt is one block of text.
import type { LabelAck, LabelRequest, Me, ServerEvent, TaskView, Turn } from '../protocol/wire.js';
import { WS_REVOKED, WS_TOKEN_PREFIX } from '../protocol/wire.js';
import { api, askToken, h, mount, signIn, TOKEN_KEY } from './dom.js';

const OUTBOX = 'rlhf.outbox';
let me: Me | null = null;
let task: TaskView | null = null;
let shownAt = 0;
let choice: LabelRequest['kind'] | null = null;
let ranking: number[] = [];
let sent = 0;
let message = '';

interface Queued {
  token: string;
  label: LabelRequest;
}
const signedIn = () => localStorage.getItem(TOKEN_KEY) ?? '';
// Entries written before labels carried a token are bare LabelRequests: start() tags them with the token
// signed in at load, before any switch.
const outbox = (): Queued[] => (JSON.parse(localStorage.getItem(OUTBOX) ?? '[]') as (Queued | LabelRequest)[])
  .map((q) => ('label' in q ? q : { token: signedIn(), label: q }));
const saveOutbox = (o: Queued[]) => localStorage.setItem(OUTBOX, JSON.stringify(o));

/**
 * Send everything in the outbox; a label leaves it only when the server acknowledged or refused it.
 * When no task is shown, the last label asks for the next one in the same request (submit-and-next),
 * so labeling takes one round trip per label. false when sending has to be retried later.
 */
async function flush(): Promise<boolean> {
  const box = outbox();
  const current = signedIn();
  let got = false;
  for (const [i, { token, label: l }] of box.entries()) {
    // Only the signed-in user's label may ask for the next task: another user's would assign a task to
    // them and show it here.
    const mine = token === current;
    const andNext = i === box.length - 1 && !task && mine;
    let r: { status: number; data: LabelAck & { error?: string } };
    try {
      r = await api<LabelAck & { error?: string }>('POST', andNext ? '/api/labels?next=true' : '/api/labels', l, token);
    } catch {
      message = `offline: ${outbox().length} label(s) kept, retrying`;
      retryLater();
      render();
      return false;
    }
    if (r.status === 429 || r.status >= 500) {
      retryLater();
      return false;
    }
    saveOutbox(outbox().filter((x) => x.label.clientId !== l.clientId));
    if (r.status >= 400) message = `label for task ${l.taskId} refused: ${r.data.error}`;
    else {
      if (mine) sent += r.data.created ? 1 : 0;
      if (r.data.next !== undefined && !task) {
        show(r.data.next);
        got = true;
      }
    }
  }
  if (!got && !task) await next();
  return true;
}

function retryLater(): void {
  setTimeout(() => void flush(), 2000);
}

async function next(): Promise<void> {
  const r = await api<TaskView>('GET', '/api/tasks/next');
  show(r.status === 200 ? r.data : null);
}

function show(t: TaskView | null): void {
  task = t;
  [choice, ranking, shownAt] = [null, [], performance.now()];
  render();
}

async function submit(): Promise<void> {
  if (!task) return;
  const k = task.completions.length;
  const complete = choice === 'tie' || choice === 'skip' || ranking.length === k;
  if (!complete) return;
  const rationale = (document.getElementById('rationale') as HTMLTextAreaElement | null)?.value.trim();
  const label: LabelRequest = {
    taskId: task.id, clientId: crypto.randomUUID(), kind: choice === 'tie' || choice === 'skip' ? choice : 'ranking',
    ...(choice === 'tie' || choice === 'skip' ? {} : { ranking }), ...(rationale ? { rationale } : {}), ms: Math.round(performance.now() - shownAt),
  };
  saveOutbox([...outbox(), { token: signedIn(), label }]); // kept before it is sent
  task = null;
  render();
  await flush();
}

function press(key: string): void {
  if (!task) return;
  const k = task.completions.length;
  const lower = key.toLowerCase();
  if (k === 2 && (lower === 'a' || lower === 'b')) [choice, ranking] = ['ranking', lower === 'a' ? [0, 1] : [1, 0]];
  else if (lower === 't') [choice, ranking] = ['tie', []];
  else if (lower === 's') [choice, ranking] = ['skip', []];
  else if (/^[1-9]$/.test(key) && Number(key) <= k && !ranking.includes(Number(key) - 1)) {
    choice = 'ranking';
    ranking = [...ranking, Number(key) - 1];
  } else if (key === 'Backspace') ranking = ranking.slice(0, -1);
  else if (key === 'Enter') return void submit();
  else return;
  render();
}

function render(): void {
  const head = h('header', {}, h('h1', {}, 'Label'), h('span', { class: 'status', id: 'progress' },
    `${me?.name ?? ''} · labeled ${(me?.labeled ?? 0) + sent} · waiting to send ${outbox().length}`));
  const status = h('p', { class: message.startsWith('label') ? 'error' : 'status', id: 'message' }, message);
  if (!task) return mount(head, status, h('p', { id: 'empty' }, outbox().length ? 'Sending…' : 'No task right now; new ones appear here as they arrive.'));
  const k = task.completions.length;
  const tag = (p: number) => (k === 2 ? 'AB'[p] : String(p + 1));
  const cards = task.completions.map((c) => {
    const rank = ranking.indexOf(c.position);
    return h('div', { class: `completion${rank === 0 ? ' chosen' : ''}`, 'data-position': String(c.position) },
      h('span', { class: 'tag' }, `${tag(c.position)}${rank >= 0 && k > 2 ? ` · rank ${rank + 1}` : ''}`), c.text);
  });
  const btn = (label: string, key: string, on: boolean) => h('button', { type: 'button', class: on ? 'on' : '', onclick: () => press(key) }, label, ' ', h('kbd', {}, key));
  const actions = k === 2
    ? [btn('A is better', 'a', choice === 'ranking' && ranking[0] === 0), btn('B is better', 'b', choice === 'ranking' && ranking[0] === 1)]
    : [h('span', {}, `Press 1–${k} from best to worst (${ranking.map((p) => p + 1).join(' > ') || 'nothing yet'}). `)];
  const turns = task.messages?.length ? task.messages : null;
  const replies = turns ? [h('p', { class: 'replies', id: 'replies' }, 'assistant: candidate replies'), h('div', { class: 'completions', role: 'group', 'aria-labelledby': 'replies' }, ...cards)] : [h('div', { class: 'completions' }, ...cards)];
  mount(head, status, turns ? conversation(turns) : h('div', { class: 'prompt', id: 'prompt' }, task.prompt), ...replies,
    h('div', { class: 'actions' }, ...actions, btn('Tie', 't', choice === 'tie'), btn('Skip', 's', choice === 'skip'), h('button', { type: 'button', onclick: () => void submit(), id: 'submit' }, 'Submit ', h('kbd', {}, 'Enter'))),
    h('p', {}, h('textarea', { id: 'rationale', placeholder: 'Why? (optional)' })), guidelines ?? h('span'));
}

/** The turns in order, as a list: each its own block with its role shown (and as its accessible name), text as text. */
function conversation(turns: Turn[]): HTMLElement {
  return h('ol', { class: 'conversation', id: 'prompt', 'aria-label': `conversation, ${turns.length} ${turns.length === 1 ? 'turn' : 'turns'}` },
    ...turns.map((m) => h('li', { class: 'turn', 'data-role': m.role, 'aria-label': m.role }, h('span', { class: 'role' }, m.role), m.content)));
}

let guidelines: HTMLElement | null = null;

function connect(): void {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`, [WS_TOKEN_PREFIX + signedIn()]);
  ws.onmessage = (e) => {
    const ev = JSON.parse(e.data) as ServerEvent;
    if (ev.type === 'tasks' && !task) void next();
  };
  ws.onclose = (e) => {
    if (e.code !== WS_REVOKED) return void setTimeout(connect, 3000);
    message = 'signed out: your token no longer works (ask your project lead for a new link)';
    render();
  };
}

async function start(): Promise<void> {
  saveOutbox(outbox()); // untagged entries belong to whoever was signed in when they were queued: now
  if (!(await signIn())) return askToken(() => void start());
  const r = await api<Me>('GET', '/api/me');
  if (r.status === 401) return askToken(() => void start());
  me = r.data;
  const g = await api<{ guidelines: string }>('GET', '/api/guidelines');
  guidelines = h('details', { class: 'guidelines' }, h('summary', {}, 'Guidelines'), g.data.guidelines || 'No guidelines yet.');
  document.addEventListener('keydown', (e) => {
    if ((e.target as HTMLElement).tagName === 'TEXTAREA' && e.key !== 'Enter') return;
    if ((e.target as HTMLElement).tagName === 'TEXTAREA' && e.shiftKey) return; // Shift+Enter: newline
    if (e.key === 'Enter' || e.key === 'Backspace') e.preventDefault();
    press(e.key);
  });
  connect();
  await flush();
}

void start();
