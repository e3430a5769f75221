// The project page (researchers and admins; a labeler is refused, here and by every route it reads):
// labelers with their figures, invite links and tokens (project-users.ts), agreement (project-figures.ts),
// the review of labels (project-review.ts), gold questions, settings, and exports (project-export.ts).
// An action shows the server's answer in the note, then the page reads everything again; the invite links,
// the review's filters and its open task stay as they were.
import type { ProjectStats } from '../protocol/project.js';
import type { Me } from '../protocol/wire.js';
import { api, askToken, h, mount, token } from './dom.js';
import { exportSection, goldSection } from './project-export.js';
import { figuresSection } from './project-figures.js';
import { reviewSection } from './project-review.js';
import { invitesSection, UserRow, usersSection } from './project-users.js';

let note = '';

async function render(): Promise<void> {
  const [me, users, stats, settings] = await Promise.all([
    api<Me>('GET', '/api/me'), api<UserRow[]>('GET', '/api/users'), api<ProjectStats>('GET', '/api/stats'), api<{ guidelines: string; overlap: number }>('GET', '/api/guidelines'),
  ]);
  if (users.status === 401) return askToken(() => void render());
  if (users.status === 403) return mount(h('p', { class: 'error', role: 'alert' }, 'The project page needs a researcher or admin token.'));
  const s = stats.data;
  const say = (text: string) => {
    note = text;
    const el = document.getElementById('note');
    if (!el) return;
    el.textContent = text;
    el.className = text.startsWith('error') ? 'error' : 'status';
  };
  /** An action: its answer (or `done`'s reading of it) in the note, then everything read again. */
  const act = async (method: string, path: string, body?: unknown, done?: (data: Record<string, unknown>) => string) => {
    const r = await api<Record<string, unknown> & { error?: string }>(method, path, body);
    note = r.status >= 400 ? `error: ${r.data?.error ?? r.status}` : done ? done(r.data ?? {}) : 'saved';
    await render();
  };
  const overlap = h('input', { type: 'number', min: '1', value: String(settings.data.overlap), id: 'overlap', 'aria-label': 'labelers per task' }) as HTMLInputElement;
  const guide = h('textarea', { id: 'guidelines', 'aria-label': 'guidelines' }) as HTMLTextAreaElement;
  guide.value = settings.data.guidelines;
  const review = reviewSection(users.data, act);
  mount(
    h('header', {}, h('h1', {}, 'Project'), h('span', { class: 'status' }, `${s.tasks} tasks · ${s.labels} labels`),
      h('nav', {}, h('a', { href: '/label' }, 'Label'), ' · ', h('a', { href: '/dashboard' }, 'Runs'))),
    h('p', { class: note.startsWith('error') ? 'error' : 'status', id: 'note', role: 'status', 'aria-live': 'polite' }, note),
    invitesSection(),
    ...usersSection(users.data, s, me.data?.role === 'admin', act),
    ...figuresSection(s, review.open),
    ...review.nodes,
    ...goldSection(s.goldQuestions, act, say),
    h('h2', {}, 'Settings'),
    h('p', {}, h('label', {}, 'Labelers per task ', overlap)), h('p', {}, h('label', {}, 'Guidelines', guide)),
    h('button', { type: 'button', onclick: () => void act('PUT', '/api/settings', { overlap: Number(overlap.value), guidelines: guide.value }) }, 'Save settings'),
    ...exportSection(users.data, say),
  );
}

document.body.classList.add('project');
if (token()) void render();
else askToken(() => void render());
