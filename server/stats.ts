// Project statistics: label counts, per-labeler speed, skip and tie rates and gold accuracy, and
// inter-annotator agreement on the top choice (data/agreement.ts): percent agreement over pairs of labels,
// Krippendorff's alpha (nominal) overall, Cohen's kappa for each pair of labelers and for each labeler
// against everyone else, and the tasks labelers disagree on most. A tie is a category; skips are left
// out of agreement and accuracy. Counts, rates, speed and gold accuracy are the labeler's record, so they
// include labels a lead rejected; agreement is about the data that is kept, so rejected labels leave it.
import type { LabelerFigures, ProjectStats } from '../protocol/project.js';
import type { LabelerStats, Stats } from '../protocol/wire.js';
import { cohensKappa, krippendorffAlpha, pairwiseAgreement, topChoice } from '../data/agreement.js';
import { Store } from '../data/store.js';

export type { LabelerFigures, LabelerStats, ProjectStats, Stats };
export { krippendorffAlpha };

/** How many of the most contested tasks Stats.disagreement lists. */
export const DISAGREEMENT_LIST = 20;

interface Per { labels: number; skips: number; ties: number; rejected: number; ms: number[]; answered: number; correct: number }

const median = (xs: number[]) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] / 1000;
};

export function projectStats(store: Store): ProjectStats {
  const db = store.db;
  const rows = db.prepare(`SELECT l.task_id, u.name, l.kind, l.ranking, l.ms, t.gold, r.label_id IS NOT NULL AS rejected FROM labels l
    JOIN users u ON u.id = l.user_id JOIN tasks t ON t.id = l.task_id LEFT JOIN label_rejections r ON r.label_id = l.id ORDER BY l.task_id, l.id`).all() as
    { task_id: number; name: string; kind: string; ranking: string | null; ms: number | null; gold: string | null; rejected: number }[];
  const byKind: Record<string, number> = {};
  const per = new Map<string, Per>();
  const units = new Map<number, { name: string; code: string }[]>(); // kept, non-skip labels by task
  for (const r of rows) {
    byKind[r.kind] = (byKind[r.kind] ?? 0) + 1;
    const p = per.get(r.name) ?? { labels: 0, skips: 0, ties: 0, rejected: 0, ms: [], answered: 0, correct: 0 };
    per.set(r.name, p);
    p.labels++;
    if (r.rejected) p.rejected++;
    if (r.ms !== null) p.ms.push(r.ms);
    const code = topChoice(r.kind, r.ranking ? (JSON.parse(r.ranking) as number[]) : null);
    if (code === null) {
      p.skips++;
      continue;
    }
    if (code === 'tie') p.ties++;
    if (r.gold) {
      p.answered++;
      if (code === String((JSON.parse(r.gold) as number[])[0])) p.correct++;
    }
    if (r.rejected) continue;
    if (!units.has(r.task_id)) units.set(r.task_id, []);
    units.get(r.task_id)!.push({ name: r.name, code });
  }

  let pairs = 0;
  let agree = 0;
  let multi = 0;
  const contested: { taskId: number; labels: number; agreement: number }[] = [];
  // [a's code, b's code] on every task both coded: for a pair of labelers (a < b) and for a labeler against the rest.
  const between = new Map<string, [string, string][]>();
  const against = new Map<string, [string, string][]>();
  const push = <K>(m: Map<K, [string, string][]>, k: K, p: [string, string]) => (m.get(k) ?? m.set(k, []).get(k)!).push(p);
  for (const [taskId, u] of units) {
    if (u.length < 2) continue;
    multi++;
    const a = pairwiseAgreement(u.map((x) => x.code))!;
    contested.push({ taskId, labels: u.length, agreement: a });
    for (let i = 0; i < u.length; i++) {
      for (let j = i + 1; j < u.length; j++) {
        pairs++;
        if (u[i].code === u[j].code) agree++;
        const [x, y] = u[i].name < u[j].name ? [u[i], u[j]] : [u[j], u[i]];
        push(between, `${x.name}\n${y.name}`, [x.code, y.code]);
        push(against, x.name, [x.code, y.code]);
        push(against, y.name, [y.code, x.code]);
      }
    }
  }
  const percent = (ps: [string, string][]) => (ps.length ? ps.filter(([x, y]) => x === y).length / ps.length : null);
  contested.sort((x, y) => x.agreement - y.agreement || y.labels - x.labels || x.taskId - y.taskId);
  const worst = contested.filter((c) => c.agreement < 1).slice(0, DISAGREEMENT_LIST);
  const promptOf = db.prepare('SELECT substr(p.text, 1, 200) FROM tasks t JOIN prompts p ON p.id = t.prompt_id WHERE t.id = ?').pluck();

  return {
    tasks: db.prepare('SELECT count(*) FROM tasks').pluck().get() as number,
    labels: rows.length,
    byKind,
    rejected: rows.filter((r) => r.rejected).length,
    goldQuestions: db.prepare('SELECT count(*) FROM tasks WHERE gold IS NOT NULL').pluck().get() as number,
    labelers: [...per].map(([name, p]): LabelerFigures => ({
      name, labels: p.labels, skips: p.skips, ties: p.ties, rejected: p.rejected, medianSeconds: median(p.ms),
      skipRate: p.labels ? p.skips / p.labels : null, tieRate: p.labels ? p.ties / p.labels : null,
      gold: { answered: p.answered, correct: p.correct, accuracy: p.answered ? p.correct / p.answered : null },
      agreement: { pairs: against.get(name)?.length ?? 0, percent: percent(against.get(name) ?? []), kappa: cohensKappa(against.get(name) ?? []) },
    })),
    agreement: {
      tasks: multi, pairs, percent: pairs ? agree / pairs : null, krippendorffAlpha: krippendorffAlpha([...units.values()].map((u) => u.map((x) => x.code))),
      pairwise: [...between].map(([k, ps]) => {
        const [a, b] = k.split('\n');
        return { a, b, tasks: ps.length, percent: percent(ps), kappa: cohensKappa(ps) };
      }),
    },
    disagreement: worst.map((c) => ({ ...c, prompt: promptOf.get(c.taskId) as string })),
  };
}
