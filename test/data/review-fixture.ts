// A small label store whose agreement figures are worked by hand in the tests that use it
// (test/data/label-review.test.ts, test/server/project-stats.test.ts, test/client/project-review.test.ts).
// Three labelers, overlap 3, completions in input order (no shuffle). Top choices (t: tie, -: skip):
//   task 1 (gold: 0 best)   ann 0  bob 1  cat 0      agreement 1/3
//   task 2                  ann 1  bob 1  cat t      1/3
//   task 3 (K = 3)          ann 0  bob 0  cat 1      1/3   (rankings 012, 021, 102: ranked pairs 0, 1, 2)
//   task 4                  ann 0  bob 0  cat -      1
//   task 5                  ann 1  bob -  cat -      single
import type { LabelInput, Store } from '../../data/store.js';

export const PROMPTS = ['Which is kinder?', 'Pick the shorter one', 'Rank these three', 'Which is correct?', 'Only ann answered'];

type Plan = Omit<LabelInput, 'taskId' | 'clientId'>;
const r = (...ranking: number[]): Plan => ({ kind: 'ranking', ranking, ms: 2000 });
const tie: Plan = { kind: 'tie', ms: 3000 };
const skip: Plan = { kind: 'skip', ms: 500 };

export const PLAN: Record<string, Plan[]> = {
  ann: [r(0, 1), r(1, 0), r(0, 1, 2), r(0, 1), r(1, 0)],
  bob: [r(1, 0), r(1, 0), r(0, 2, 1), r(0, 1), skip],
  cat: [r(0, 1), tie, r(1, 0, 2), skip, skip],
};

/** Fills `store` as above; returns the task ids and each labeler's user id and token. */
export function fillReviewStore(store: Store): { tasks: number[]; users: Record<string, { id: number; token: string }> } {
  store.setSetting('overlap', '3', null);
  const tasks = store.addTasks(PROMPTS.map((prompt, i) => ({
    prompt,
    completions: (i === 2 ? ['first', 'second', 'third'] : ['yes <b>bold</b>', 'no']).map((text) => ({ text: `${text} (${i + 1})` })),
    gold: i === 0 ? [0, 1] : undefined,
  })), () => 0.99);
  const users: Record<string, { id: number; token: string }> = {};
  for (const [name, plan] of Object.entries(PLAN)) {
    const token = store.addUser(name, 'labeler');
    const id = store.users().find((u) => u.name === name)!.id;
    users[name] = { id, token };
    for (let t = store.nextTask(id); t; t = store.nextTask(id)) {
      store.submitLabels(id, [{ ...plan[tasks.indexOf(t.id)], taskId: t.id, clientId: `${name}-${t.id}` }]);
    }
  }
  return { tasks, users };
}

/** The id of `name`'s label on task `taskId`. */
export function labelId(store: Store, name: string, taskId: number): number {
  return store.db.prepare('SELECT l.id FROM labels l JOIN users u ON u.id = l.user_id WHERE u.name = ? AND l.task_id = ?').pluck().get(name, taskId) as number;
}
