// The whole labeling half of the loop without people: K-completion tasks sampled from a model go into a
// label store, a server comes up on loopback, and simulated labelers label every task through its HTTP
// API. Used by the reward-model end-to-end test, its benchmark and the demo.
import { Store } from '../data/store.js';
import { simulateLabeler } from '../labelers/simulated-labeler.js';
import { loadCheckpoint } from '../lm/checkpoint.js';
import { fillQueue } from '../queue/fill-queue.js';
import { loadRule } from '../reward-models/rules.js';
import { startServer } from '../server/app.js';

export interface SimulatedLabelsOptions {
  /** SQLite file (created when missing). */
  db: string;
  /** Model folder that writes the completions. */
  model: string;
  prompts: string[];
  /** Tasks per prompt (each with its own samples). */
  tasksPerPrompt: number;
  /** Completions per task. */
  k: number;
  maxNewTokens: number;
  /** Sampling temperature of the completions. */
  temperature: number;
  /** Simulated labelers working at once. */
  labelers: number;
  rule: string;
  noise: number;
  seed: number;
  onProgress?: (what: 'tasks' | 'labels', done: number, total: number) => void;
}

export interface SimulatedLabelsResult {
  tasks: number;
  labels: number;
  ties: number;
  flipped: number;
}

export async function collectSimulatedLabels(o: SimulatedLabelsOptions): Promise<SimulatedLabelsResult> {
  const store = new Store(o.db);
  try {
    const tokens = Array.from({ length: o.labelers }, (_, i) => store.addUser(`sim-${o.seed}-${i}-${Date.now().toString(36)}`, 'labeler'));
    const { model, tokenizer } = loadCheckpoint(o.model);
    if (!tokenizer) throw new Error(`${o.model}: no tokenizer.json`);
    const total = o.prompts.length * o.tasksPerPrompt;
    let tasks = 0;
    try {
      tasks = await fillQueue(store, model, tokenizer, o.prompts, {
        k: o.k, maxNewTokens: o.maxNewTokens, temperature: o.temperature, topP: 1, seed: o.seed + 1, batch: 64, passes: o.tasksPerPrompt,
        source: `sim:${o.model}`, model: o.model, onBatch: (added) => o.onProgress?.('tasks', (tasks = added), total),
      });
    } finally {
      model.dispose();
    }
    const server = await startServer({ store, host: '127.0.0.1', port: 0, rateLimit: 100_000 });
    try {
      const rule = await loadRule(o.rule);
      let labels = 0;
      const rs = await Promise.all(tokens.map((token) => simulateLabeler({
        url: server.url, token, rule, noise: o.noise, count: Infinity, seed: o.seed, // one seed: flips depend on the task, not the labeler
        onLabel: () => o.onProgress?.('labels', ++labels, tasks),
      })));
      return { tasks, labels: rs.reduce((a, r) => a + r.labels, 0), ties: rs.reduce((a, r) => a + r.ties, 0), flipped: rs.reduce((a, r) => a + r.flipped, 0) };
    } finally {
      await server.close();
    }
  } finally {
    store.close();
  }
}
