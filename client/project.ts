// The project page (researcher and admin): labelers and tokens, overlap and guidelines, statistics
// (counts, speed, agreement, gold accuracy) and exports.
import { api, askToken, h, mount, token } from './dom.js';
import type { Stats } from '../protocol/wire.js';

interface UserRow { name: string; role: string; disabled: number; created_at: string }

const pct = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(1)}%`);
let note = '';

async function download(format: 'pairs' | 'full'): Promise<void> {
  const res = await fetch(`/api/export?format=${format}`, { headers: { Authorization: `Bearer ${localStorage.getItem('rlhf.token')}` } });
  const url = URL.createObjectURL(await res.blob());
  h('a', { href: url, download: `labels-${format}.jsonl` }).click();
  URL.revokeObjectURL(url);
}

async function render(): Promise<void> {
  const [users, stats, settings] = await Promise.all([
    api<UserRow[]>('GET', '/api/users'), api<Stats>('GET', '/api/stats'), api<{ guidelines: string; overlap: number }>('GET', '/api/guidelines'),
  ]);
  if (users.status === 401) return askToken(() => void render());
  if (users.status === 403) return mount(h('p', { class: 'error' }, 'The project page needs a researcher or admin token.'));
  const s = stats.data;
  const name = h('input', { placeholder: 'name', id: 'new-name' }) as HTMLInputElement;
  const role = h('select', { id: 'new-role' }, ...['labeler', 'researcher', 'admin'].map((r) => h('option', { value: r }, r))) as HTMLSelectElement;
  const overlap = h('input', { type: 'number', min: '1', value: String(settings.data.overlap), id: 'overlap' }) as HTMLInputElement;
  const guide = h('textarea', { id: 'guidelines' }) as HTMLTextAreaElement;
  guide.value = settings.data.guidelines;
  const act = async (method: string, path: string, body?: unknown) => {
    const r = await api<{ token?: string; error?: string }>(method, path, body);
    note = r.data?.error ? `error: ${r.data.error}` : r.data?.token ? `token (shown once): ${r.data.token}` : 'saved';
    await render();
  };
  mount(
    h('header', {}, h('h1', {}, 'Project'), h('span', { class: 'status' }, `${s.tasks} tasks · ${s.labels} labels`)),
    h('p', { class: note.startsWith('error') ? 'error' : 'status', id: 'note' }, note),
    h('h2', {}, 'Labelers'),
    h('table', {}, h('tr', {}, ...['name', 'role', 'labels', 'skips', 'median s/label', 'gold accuracy', ''].map((t) => h('th', {}, t))),
      ...users.data.map((u) => {
        const l = s.labelers.find((x) => x.name === u.name);
        return h('tr', {}, h('td', {}, u.name), h('td', {}, u.role + (u.disabled ? ' (disabled)' : '')), h('td', {}, String(l?.labels ?? 0)), h('td', {}, String(l?.skips ?? 0)),
          h('td', {}, l?.medianSeconds?.toFixed(1) ?? '–'), h('td', {}, l?.gold.answered ? `${pct(l.gold.accuracy)} of ${l.gold.answered}` : '–'),
          h('td', {}, h('button', { onclick: () => void act('POST', `/api/users/${encodeURIComponent(u.name)}/token`) }, 'new token'), ' ',
            u.disabled
              ? h('button', { onclick: () => void act('POST', `/api/users/${encodeURIComponent(u.name)}/enable`) }, 'enable')
              : h('button', { onclick: () => void act('POST', `/api/users/${encodeURIComponent(u.name)}/disable`) }, 'disable')));
      })),
    h('p', {}, name, ' ', role, ' ', h('button', { onclick: () => void act('POST', '/api/users', { name: name.value.trim(), role: role.value }) }, 'Add user')),
    h('h2', {}, 'Agreement'),
    h('p', {}, `${s.agreement.tasks} tasks with several labels, ${s.agreement.pairs} label pairs: ${pct(s.agreement.percent)} agree on the best completion; Krippendorff's alpha ${s.agreement.krippendorffAlpha?.toFixed(3) ?? '–'}.`),
    h('h2', {}, 'Settings'),
    h('p', {}, 'Labelers per task ', overlap), h('p', {}, 'Guidelines', guide),
    h('button', { onclick: () => void act('PUT', '/api/settings', { overlap: Number(overlap.value), guidelines: guide.value }) }, 'Save settings'),
    h('h2', {}, 'Export'),
    h('p', {}, h('button', { onclick: () => void download('pairs') }, 'Preference pairs (JSONL)'), ' ', h('button', { onclick: () => void download('full') }, 'Full labels (JSONL)')),
  );
}

if (token()) void render();
else askToken(() => void render());
