// The project page's gold questions and exports. A gold question is a prompt with a better and a worse
// answer, added as a task whose known best answer scores each labeler (shown in the labelers' table);
// the CLI's rlhf tasks gold does the same from a file. The export is GET /api/export's JSONL (rejected
// labels never in it) as pairs, full records, or one ranked-pairs consensus per task, filtered by time,
// labeler and agreement, downloaded as a file.
import { h, TOKEN_KEY } from './dom.js';
import type { Act, UserRow } from './project-users.js';

const form = { format: 'pairs', labeler: '', from: '', to: '', minAgreement: '', agreement: '' };

export function goldSection(count: number, act: Act, say: (text: string) => void): HTMLElement[] {
  const prompt = h('textarea', { id: 'gold-prompt', 'aria-label': 'gold question prompt' }) as HTMLTextAreaElement;
  const better = h('textarea', { id: 'gold-better', 'aria-label': 'the better answer' }) as HTMLTextAreaElement;
  const worse = h('textarea', { id: 'gold-worse', 'aria-label': 'the worse answer' }) as HTMLTextAreaElement;
  const add = () => {
    if (!prompt.value.trim() || !better.value.trim() || !worse.value.trim()) return say('error: a gold question needs a prompt, a better and a worse answer');
    if (better.value === worse.value) return say('error: the better and the worse answer are the same text');
    // Completions are shown in a shuffled order; gold is given against this input order: the first is best.
    void act('POST', '/api/tasks', { tasks: [{ prompt: prompt.value, completions: [{ text: better.value }, { text: worse.value }], gold: [0, 1], source: 'gold' }] },
      (d) => `added gold question (task ${(d.ids as number[])[0]})`);
  };
  return [
    h('h2', {}, 'Gold questions'),
    h('p', { class: 'status', id: 'gold-count' }, `${count} gold questions. Mixed into the queue like any task; each labeler's accuracy on them is in the table above.`),
    h('div', { class: 'gold-form' }, h('label', {}, 'Prompt', prompt), h('label', {}, 'Better answer', better), h('label', {}, 'Worse answer', worse)),
    h('button', { type: 'button', onclick: add }, 'Add gold question'),
  ];
}

async function download(say: (text: string) => void): Promise<void> {
  const q = new URLSearchParams(Object.entries(form).filter(([, v]) => v));
  const res = await fetch(`/api/export?${q}`, { headers: { Authorization: `Bearer ${localStorage.getItem(TOKEN_KEY)}` } });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: string };
    return say(`error: ${body.error ?? res.status}`);
  }
  const url = URL.createObjectURL(await res.blob());
  const a = h('a', { href: url, download: `labels-${form.format}.jsonl` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000); // the download reads it after the click returns
}

export function exportSection(users: UserRow[], say: (text: string) => void): HTMLElement[] {
  const field = (k: keyof typeof form, el: HTMLInputElement | HTMLSelectElement) => {
    el.id = `export-${k}`;
    el.value = form[k];
    el.addEventListener('change', () => (form[k] = el.value.trim()));
    el.addEventListener('input', () => (form[k] = el.value.trim()));
    return el;
  };
  const opts = (pairs: [string, string][]) => pairs.map(([v, t]) => h('option', { value: v }, t));
  return [
    h('h2', {}, 'Export'),
    h('p', { class: 'status' }, 'Labels rejected in the review are never exported, nor trained on (train-rm and dpo read the store through this export).'),
    h('form', {
      class: 'filters', id: 'export-form', 'aria-label': 'export',
      onsubmit: (e: Event) => {
        e.preventDefault();
        void download(say);
      },
    },
    h('label', {}, 'format ', field('format', h('select', {}, ...opts([['pairs', 'preference pairs'], ['full', 'full labels'], ['aggregated', 'one ranking per task (ranked pairs)']])) as HTMLSelectElement)),
    h('label', {}, 'labeler ', field('labeler', h('select', {}, ...opts([['', 'everyone'], ...users.map((u): [string, string] => [u.name, u.name])])) as HTMLSelectElement)),
    h('label', {}, 'from ', field('from', h('input', { type: 'date' }) as HTMLInputElement)),
    h('label', {}, 'to ', field('to', h('input', { type: 'date' }) as HTMLInputElement)),
    h('label', {}, 'agreement ', field('agreement', h('select', {}, ...opts([['', 'any'], ['unanimous', 'unanimous'], ['contested', 'contested'], ['single', 'one label']])) as HTMLSelectElement)),
    h('label', {}, 'at least ', field('minAgreement', h('input', { type: 'number', min: '0', max: '1', step: '0.05', placeholder: '0–1', class: 'short' }) as HTMLInputElement), ' agreement'),
    h('button', { type: 'submit' }, 'Download JSONL')),
  ];
}
