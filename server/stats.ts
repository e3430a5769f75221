// Project statistics: label counts, per-labeler speed, inter-annotator agreement on the top choice
// (percent agreement over pairs of labels, and Krippendorff's alpha for nominal data), and each
// labeler's accuracy on gold questions. Skips are left out of agreement and accuracy; a tie is a category.
import type { LabelerStats, Stats } from '../protocol/wire.js';
import { Store } from '../data/store.js';

export type { LabelerStats, Stats };

/** Krippendorff's alpha for nominal values; units are lists of the values coded for one item. */
export function krippendorffAlpha(units: string[][]): number | null {
  const coinc = new Map<string, Map<string, number>>();
  const add = (a: string, b: string, w: number) => {
    if (!coinc.has(a)) coinc.set(a, new Map());
    coinc.get(a)!.set(b, (coinc.get(a)!.get(b) ?? 0) + w);
  };
  for (const u of units) {
    if (u.length < 2) continue; // unpairable
    for (let i = 0; i < u.length; i++) for (let j = 0; j < u.length; j++) if (i !== j) add(u[i], u[j], 1 / (u.length - 1));
  }
  const nc = new Map<string, number>();
  let n = 0;
  for (const [c, row] of coinc) {
    const s = [...row.values()].reduce((a, b) => a + b, 0);
    nc.set(c, s);
    n += s;
  }
  if (n <= 1) return null;
  let observed = 0; // off-diagonal mass
  for (const [c, row] of coinc) for (const [k, v] of row) if (c !== k) observed += v;
  let expected = 0;
  for (const [c, a] of nc) for (const [k, b] of nc) if (c !== k) expected += a * b;
  expected /= n - 1;
  if (expected === 0) return observed === 0 ? 1 : null; // everyone always chose one category: alpha undefined unless perfect
  return 1 - observed / expected;
}

const top = (kind: string, ranking: string | null) => (kind === 'tie' ? 'tie' : String((JSON.parse(ranking!) as number[])[0]));

export function projectStats(store: Store): Stats {
  const db = store.db;
  const rows = db.prepare(`SELECT l.task_id, u.name, l.kind, l.ranking, l.ms, t.gold FROM labels l
    JOIN users u ON u.id = l.user_id JOIN tasks t ON t.id = l.task_id ORDER BY l.task_id`).all() as
    { task_id: number; name: string; kind: string; ranking: string | null; ms: number | null; gold: string | null }[];
  const byKind: Record<string, number> = {};
  const per = new Map<string, { labels: number; skips: number; ms: number[]; answered: number; correct: number }>();
  const units = new Map<number, string[]>();
  for (const r of rows) {
    byKind[r.kind] = (byKind[r.kind] ?? 0) + 1;
    const p = per.get(r.name) ?? { labels: 0, skips: 0, ms: [], answered: 0, correct: 0 };
    per.set(r.name, p);
    p.labels++;
    if (r.ms !== null) p.ms.push(r.ms);
    if (r.kind === 'skip') {
      p.skips++;
      continue;
    }
    const choice = top(r.kind, r.ranking);
    if (r.gold) {
      p.answered++;
      if (choice === String((JSON.parse(r.gold) as number[])[0])) p.correct++;
    }
    if (!units.has(r.task_id)) units.set(r.task_id, []);
    units.get(r.task_id)!.push(choice);
  }
  let pairs = 0;
  let agree = 0;
  let multi = 0;
  for (const u of units.values()) {
    if (u.length < 2) continue;
    multi++;
    for (let i = 0; i < u.length; i++) for (let j = i + 1; j < u.length; j++) {
      pairs++;
      if (u[i] === u[j]) agree++;
    }
  }
  const median = (xs: number[]) => {
    if (!xs.length) return null;
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)] / 1000;
  };
  return {
    tasks: db.prepare('SELECT count(*) FROM tasks').pluck().get() as number,
    labels: rows.length,
    byKind,
    labelers: [...per].map(([name, p]) => ({
      name, labels: p.labels, skips: p.skips, medianSeconds: median(p.ms),
      gold: { answered: p.answered, correct: p.correct, accuracy: p.answered ? p.correct / p.answered : null },
    })),
    agreement: { tasks: multi, pairs, percent: pairs ? agree / pairs : null, krippendorffAlpha: krippendorffAlpha([...units.values()]) },
  };
}
