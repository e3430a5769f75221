// The reward model's learning curve: starter-model completions labelled by simulated labelers (sentiment
// rule, 10% noise) through a live server, then one reward model per label budget (the first N labels),
// each scored on the same held-out prompts against the noise-free rule.
//   node --import tsx bench/rm-curve.ts [--budgets 100,250,500,1000,1400] [--record]   (npm run bench -- --parts rm)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { collectSimulatedLabels } from '../demo/simulated-labels.js';
import { exportLines, openReader } from '../data/export.js';
import { initBackend } from '../backend/backend.js';
import { Comparison, parseComparison, splitByPrompt } from '../reward-models/comparisons.js';
import { RewardModel } from '../reward-models/reward-model.js';
import { resolveRmConfig } from '../reward-models/rm-config.js';
import { sentimentScore } from '../reward-models/rules.js';
import { trainRewardModel } from '../reward-models/train-rm.js';
import { machine, recordBlock } from './record.js';

const { values: o } = parseArgs({ options: { budgets: { type: 'string', default: '100,250,500,1000,1400' }, record: { type: 'boolean', default: false }, backend: { type: 'string', default: 'auto' } } });
const root = join(import.meta.dirname, '..');
const starter = join(root, 'data', 'models', 'starter');
const prompts = readFileSync(join(root, 'data', 'prompts', 'openings.txt'), 'utf8').split('\n').filter(Boolean);
const be = await initBackend(o.backend as 'auto');
const dir = mkdtempSync(join(tmpdir(), 'rlhf-rm-curve-'));
const db = join(dir, 'rlhf.db');
const t0 = performance.now();
const sim = await collectSimulatedLabels({ db, model: starter, prompts, tasksPerPrompt: 4, k: 2, maxNewTokens: 16, temperature: 0.5, labelers: 4, rule: 'sentiment', noise: 0.1, seed: 1 });
const labelSecs = (performance.now() - t0) / 1000;
process.stderr.write(`${sim.labels} labels (${sim.labels - sim.ties} preferences) in ${labelSecs.toFixed(0)} s\n`);

// Labels in the order they were acknowledged; preferences only (ties carry no preference under "drop").
const reader = openReader(db);
const all: Comparison[] = [...exportLines(reader, 'full')].map((l, i) => parseComparison(l, `label ${i + 1}`)).filter((c): c is Comparison => c !== null && c.ranking !== null);
reader.close();
const heldOut = splitByPrompt(all, 0.2, 0).val;
const rows: string[] = [];
let recipe = '';
for (const n of o.budgets!.split(',').map(Number)) {
  const data = join(dir, `prefs-${n}.jsonl`);
  writeFileSync(data, all.slice(0, n).map((c) => JSON.stringify({ prompt: c.prompt, chosen: c.completions[c.ranking![0]], rejected: c.completions[c.ranking![1]] })).join('\n') + '\n');
  const t = performance.now();
  // The defaults of reward-models/rm-config.ts (epochs, batch size, lr), as `rlhf train-rm` uses them.
  const cfg = resolveRmConfig({ model: starter, data: [data], out: join(dir, `rm-${n}`), evalEvery: 40, valFraction: 0.2 });
  recipe = `${cfg.epochs} epochs, batch ${cfg.batchSize}, lr ${cfg.lr}`;
  const r = await trainRewardModel(cfg, false);
  const secs = (performance.now() - t) / 1000;
  const rm = RewardModel.load(r.final!);
  const flat = heldOut.flatMap((c) => c.completions.map((x) => [c.prompt, x] as const));
  const s = await rm.scoreRaw(flat.map((f) => f[0]), flat.map((f) => f[1]));
  rm.dispose();
  const agree = heldOut.filter((c, i) => (s[2 * i] > s[2 * i + 1]) === (sentimentScore(c.completions[0]) > sentimentScore(c.completions[1]))).length;
  const row = `| ${n} | ${r.trainComparisons} | ${(100 * agree / heldOut.length).toFixed(1)}% | ${r.best ? (100 * r.best.accuracy).toFixed(1) + '%' : 'n/a'} | ${secs.toFixed(0)} |`;
  process.stdout.write(row + '\n');
  rows.push(row);
}
rmSync(dir, { recursive: true, force: true });
const block = [
  '## Reward model: accuracy vs. number of labels',
  '',
  `Run ${new Date().toISOString().slice(0, 10)} on ${machine()}, backend ${be.name}, sharing the machine with other work. ` +
    `${sim.tasks} tasks (two 16-token starter completions at temperature 0.5 after each of 512 corpus openings, four times) labelled through a live server by 4 simulated labelers ` +
    `(sentiment rule, 10% of choices flipped) in ${labelSecs.toFixed(0)} s: ${sim.labels - sim.ties} preferences, ${sim.ties} rule ties. ` +
    `Each row trains the starter backbone + head on the first N preference labels (the train-rm defaults: ${recipe}; 20% of prompts held out, best checkpoint by validation accuracy) and scores the ` +
    `same ${heldOut.length} held-out pairs against the noise-free rule.`,
  '',
  '| labels | training comparisons | held-out accuracy vs. clean rule | validation accuracy vs. noisy labels (best) | training s |',
  '|---|---|---|---|---|',
  ...rows,
].join('\n');
process.stdout.write('\n' + block + '\n');
if (o.record) recordBlock('rm', block);
