// The project page's agreement figures: percent agreement and Krippendorff's alpha overall, Cohen's
// kappa for every pair of labelers, and the tasks labelers disagree on most (each opens in the review).
// All on the top choice, over labels not rejected (server/stats.ts).
import type { ProjectStats } from '../protocol/project.js';
import { h } from './dom.js';
import { num, pct } from './project-users.js';

export function figuresSection(s: ProjectStats, openTask: (id: number) => void): HTMLElement[] {
  const a = s.agreement;
  return [
    h('h2', {}, 'Agreement'),
    h('p', { id: 'agreement' }, `${a.tasks} tasks with several labels, ${a.pairs} label pairs: ${pct(a.percent)} agree on the best completion; Krippendorff's alpha ${a.krippendorffAlpha?.toFixed(3) ?? '–'}.`,
      s.rejected ? ` (${s.rejected} rejected labels left out.)` : ''),
    a.pairwise.length
      ? h('table', { id: 'pairwise', 'aria-label': "Cohen's kappa for each pair of labelers" },
        h('tr', {}, ...['labelers', 'shared tasks', 'agreement', "Cohen's κ"].map((t) => h('th', { scope: 'col' }, t))),
        ...a.pairwise.map((p) => h('tr', {}, h('td', {}, `${p.a} · ${p.b}`), h('td', {}, String(p.tasks)), h('td', {}, pct(p.percent)), h('td', {}, num(p.kappa)))))
      : null,
    h('h3', {}, 'Most disagreement'),
    s.disagreement.length
      ? h('table', { id: 'contested', 'aria-label': 'tasks with the most disagreement' },
        h('tr', {}, ...['task', 'labels', 'agreement', 'prompt', ''].map((t) => h('th', { scope: 'col' }, t))),
        ...s.disagreement.map((d) => h('tr', {}, h('td', {}, String(d.taskId)), h('td', {}, String(d.labels)), h('td', {}, pct(d.agreement)),
          h('td', { class: 'text' }, d.prompt), h('td', {}, h('button', { type: 'button', onclick: () => openTask(d.taskId) }, `review task ${d.taskId}`)))))
      : h('p', { class: 'status' }, 'No task has labels that disagree.'),
  ].filter((x): x is HTMLElement => x !== null);
}
