// Preference data with ties and rankings of 3 that a tiny model can learn in seconds, as JSONL and as a real
// label store (tasks labelled through the store's own assignment and label calls, as a labeler would).
import { writeFileSync } from 'node:fs';
import { Store } from '../../data/store.js';

export interface TiedItem {
  prompt: string;
  /** Best first when ranked. */
  completions: string[];
  tie: boolean;
}

const WORDS = ['ship', 'deck', 'rope', 'mast', 'wind'];

/** n comparisons: every 3rd a tie of two "sea" lines, every 4th (else) a ranking whale > boat > sea, the rest whale > sea. */
export function tiedItems(n = 40): TiedItem[] {
  return Array.from({ length: n }, (_, i) => {
    const w = WORDS[i % WORDS.length];
    const prompt = `Prompt ${i}:`;
    if (i % 3 === 1) return { prompt, completions: [` sea ${w}`, ` sea old ${w}`], tie: true };
    if (i % 4 === 0) return { prompt, completions: [` whale ${w}`, ` boat ${w}`, ` sea ${w}`], tie: false };
    return { prompt, completions: [` whale ${w} night`, ` sea ${w} cold`], tie: false };
  });
}

/** The items as full-export JSONL lines (completions in a shuffled order, the ranking pointing into it). */
export function tiedJsonl(file: string, items = tiedItems()): void {
  writeFileSync(file, items.map((it) => {
    const shown = [...it.completions].reverse();
    return JSON.stringify(it.tie ? { prompt: it.prompt, completions: shown, kind: 'tie', ranking: null } : { prompt: it.prompt, completions: shown, kind: 'ranking', ranking: it.completions.map((t) => shown.indexOf(t)) });
  }).join('\n') + '\n');
}

/** A label store holding the items as tasks, each labelled once (a tie or the ranking). */
export function tiedStore(db: string, items = tiedItems()): void {
  const s = new Store(db);
  try {
    const token = s.addUser('tied-labeler', 'labeler');
    const user = s.authenticate(token)!.id;
    s.addTasks(items.map((it) => ({ prompt: it.prompt, completions: it.completions.map((text) => ({ text })) })));
    for (let t = s.nextTask(user); t; t = s.nextTask(user)) {
      const it = items.find((x) => x.prompt === t!.prompt)!;
      const ranking = it.completions.map((text) => t!.completions.find((c) => c.text === text)!.position);
      s.submitLabels(user, [it.tie ? { taskId: t.id, clientId: `c${t.id}`, kind: 'tie' } : { taskId: t.id, clientId: `c${t.id}`, kind: 'ranking', ranking }]);
    }
  } finally {
    s.close();
  }
}
