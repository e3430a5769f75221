// The whole loop, headless, on the embedded defaults (rlhf demo). Starter-model completions go into a
// label store; simulated labelers (sentiment rule, 10% noise) label them through a live server; a reward
// model learns the labels; PPO (a child process, as the run manager would start it) optimises the starter
// against it with online feedback: its samples go back to the labelers and refreshed reward models replace
// the reward as labels arrive. Ends with reward, gold reward and KL before and after. What a person sees
// (progress bars, the summary table, --json) is the CLI's: this file reports through DemoHooks.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BackendName, initBackend } from '../backend/backend.js';
import type { SinkRecord } from '../data/metrics-sink.js';
import { openRunSink } from '../data/sqlite-sink.js';
import { openingPrompts, OPENINGS, STARTER } from '../data/starter.js';
import { Store } from '../data/store.js';
import { simulateLabeler } from '../labelers/simulated-labeler.js';
import { loadCheckpoint } from '../lm/checkpoint.js';
import { generate } from '../lm/generate.js';
import { Lora } from '../lm/lora.js';
import { fillQueue } from '../queue/fill-queue.js';
import { RewardModel } from '../reward-models/reward-model.js';
import { resolveRmConfig } from '../reward-models/rm-config.js';
import { loadRule } from '../reward-models/rules.js';
import { trainRewardModel } from '../reward-models/train-rm.js';
import { startServer } from '../server/app.js';
import { defaultDemoFolder } from './folder.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'rlhf.js');

/** Sizes of the two demo profiles. */
export const PROFILES = {
  full: { prompts: 512, tasksPerPrompt: 3, rmEpochs: 4, ppoSteps: 60, batchSize: 32, miniBatchSize: 16, everySteps: 5, onlinePrompts: 32, refreshEveryLabels: 40, refreshEpochs: 1, evalPrompts: 128 },
  quick: { prompts: 160, tasksPerPrompt: 2, rmEpochs: 3, ppoSteps: 16, batchSize: 16, miniBatchSize: 8, everySteps: 4, onlinePrompts: 16, refreshEveryLabels: 24, refreshEpochs: 2, evalPrompts: 64 },
};

export interface DemoOptions {
  profile: keyof typeof PROFILES;
  /** Demo folder (default .rlhf/demo/<time>); refused if it already holds a demo. */
  out?: string;
  /** Port of the pages while the demo runs (0: any free port). */
  port: number;
  seed: number;
  backend: BackendName;
}

/** The demo's stages, in order; each begins once with its total, then updates. */
export type DemoStage = 'tasks' | 'labels' | 'reward model' | 'ppo';

export interface DemoHooks {
  /** The server is up: its dashboard, signed in as the demo's admin. */
  serving?(at: { out: string; dashboard: string }): void;
  begin?(stage: DemoStage, total: number): void;
  /** done of the stage's total; rateUnits: throughput so far (comparisons for the reward model); the rest per stage. */
  update?(stage: DemoStage, done: number, rateUnits: number, info?: { loss?: number; gold?: number; kl?: number; labels?: number }): void;
  /** The first reward model is trained. */
  rewardModel?(r: { accuracy: number | null; valComparisons: number }): void;
}

export interface DemoSummary {
  reward: [number, number];
  gold: [number, number];
  kl: [number, number];
  labels: number;
  rewardModels: number;
  rmAccuracy: number | null;
  seconds: number;
  out: string;
}

export async function runDemo(o: DemoOptions, hooks: DemoHooks = {}): Promise<DemoSummary> {
  const p = PROFILES[o.profile];
  const t0 = performance.now();
  const out = o.out ?? defaultDemoFolder();
  if (existsSync(join(out, 'rlhf.db'))) throw new Error(`${out} already holds a demo; choose another --out`);
  mkdirSync(out, { recursive: true });
  const db = join(out, 'rlhf.db');
  const prompts = openingPrompts();
  const be = await initBackend(o.backend);

  // A live server and four simulated labelers that keep labeling whatever arrives.
  const store = new Store(db);
  const admin = store.addUser('admin', 'admin');
  const labelers = [0, 1, 2, 3].map((i) => store.addUser(`sim${i}`, 'labeler'));
  const server = await startServer({ store, host: '127.0.0.1', port: o.port });
  hooks.serving?.({ out, dashboard: `${server.url}/dashboard#token=${admin}` });
  const stop = new AbortController();
  const rule = await loadRule('sentiment');
  // Errors are kept, not left unhandled: the wasm backend turns an unhandled rejection into a crash.
  const labelerErrors: string[] = [];
  const working = labelers.map((token) => simulateLabeler({ url: server.url, token, rule, noise: 0.1, count: Infinity, seed: o.seed, waitMs: 250, signal: stop.signal })
    .catch((e: Error) => void labelerErrors.push(e.message)));
  const labelCount = () => store.db.prepare('SELECT count(*) FROM labels').pluck().get() as number;
  try {
    // 1. Comparisons from the starter model (temperature 0.5: see the reward-model test for why).
    const { model, tokenizer } = loadCheckpoint(STARTER);
    hooks.begin?.('tasks', p.prompts * p.tasksPerPrompt);
    const made = await fillQueue(store, model, tokenizer!, prompts.slice(0, p.prompts), {
      k: 2, maxNewTokens: 16, temperature: 0.5, topP: 1, seed: o.seed, batch: 64, passes: p.tasksPerPrompt, source: 'demo', model: 'starter',
      onBatch: (added) => hooks.update?.('tasks', added, added),
    });
    // 2. Labels through the API.
    hooks.begin?.('labels', made);
    while (labelCount() < made) {
      if (labelerErrors.length === labelers.length) throw new Error(`every simulated labeler stopped: ${labelerErrors[0]}`);
      await new Promise((r) => setTimeout(r, 200));
      hooks.update?.('labels', labelCount(), labelCount());
    }
    hooks.update?.('labels', made, made);

    // 3. The first reward model.
    const rmConfig = resolveRmConfig({ model: STARTER, db, out: join(out, 'rm'), epochs: p.rmEpochs, batchSize: 16, lr: 1e-4, evalEvery: 40, valFraction: 0.2, seed: o.seed });
    const rmSink = openRunSink({ kind: 'train-rm', runId: 'demo-rm', json: false, db, config: rmConfig as unknown as Record<string, unknown>, dir: rmConfig.out });
    let begun = false;
    const rm = await trainRewardModel(rmConfig, false, {
      sink: rmSink,
      onStep: (s, total, n, loss) => {
        if (!begun) hooks.begin?.('reward model', total); // the total is known from the first step on
        begun = true;
        hooks.update?.('reward model', s, n, { loss });
      },
    });
    rmSink.finish('done');
    hooks.rewardModel?.({ accuracy: rm.best?.accuracy ?? null, valComparisons: rm.valComparisons });

    // 4. PPO with online feedback, as a child process recorded in the store (it shows on the dashboard).
    const ppoOut = join(out, 'ppo');
    const args = [BIN, 'ppo', '--model', STARTER, '--prompts', OPENINGS, '--reward', rm.final!, '--gold-reward', 'sentiment', '--out', ppoOut, '--db', db, '--run-id', 'demo-ppo',
      '--steps', String(p.ppoSteps), '--batch-size', String(p.batchSize), '--mini-batch-size', String(p.miniBatchSize), '--max-new-tokens', '16', '--temperature', '0.7',
      '--lr', '3e-4', '--kl-coef', '0.1', '--lora-rank', '8', '--sample-every', '4', '--save-every', String(p.ppoSteps), '--seed', String(o.seed),
      '--online-feedback', '--online-every-steps', String(p.everySteps), '--online-prompts', String(p.onlinePrompts), '--online-temperature', '0.5',
      '--online-refresh-every-labels', String(p.refreshEveryLabels), '--online-rm-epochs', String(p.refreshEpochs), '--json', '--backend', be.name];
    const ppo = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const orphan = () => ppo.kill('SIGTERM'); // the demo's PPO never outlives the demo
    process.once('exit', orphan);
    process.once('SIGINT', () => process.exit(130)); // so that Ctrl-C runs the 'exit' handler above
    let err = '';
    ppo.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    const history: Record<string, number>[] = [];
    let switches = 0;
    let lastAccuracy: number | null = rm.best?.accuracy ?? null;
    hooks.begin?.('ppo', p.ppoSteps);
    const lines = createInterface({ input: ppo.stdout! });
    lines.on('line', (line) => {
      let r: SinkRecord;
      try {
        r = JSON.parse(line) as SinkRecord;
      } catch {
        return;
      }
      if (r.type === 'metrics' && 'objective/scores' in r.metrics) {
        history.push(r.metrics);
        hooks.update?.('ppo', r.step, r.step, { gold: r.metrics['objective/gold_scores'], kl: r.metrics['objective/kl'], labels: labelCount() });
      }
      if (r.type === 'event' && r.kind === 'reward-switch') switches++;
      if (r.type === 'event' && r.kind === 'reward-model-ready') lastAccuracy = Number(r.data.accuracy);
    });
    const code = await new Promise<number | null>((resolve) => ppo.once('exit', resolve));
    process.off('exit', orphan);
    if (code !== 0) throw new Error(`ppo exited with code ${code}: ${err.trim().split('\n').filter((l) => l.startsWith('error:')).at(-1) ?? err.trim().split('\n').at(-1)}`);

    // 5. Before and after, on the same prompts and seed, scored by the reward model in use at the end.
    const state = existsSync(join(ppoOut, 'online-state.json')) ? (JSON.parse(readFileSync(join(ppoOut, 'online-state.json'), 'utf8')) as { current: string | null }) : { current: null };
    const judge = RewardModel.load(state.current ?? rm.final!);
    const evalPrompts = prompts.slice(-p.evalPrompts);
    const measure = async () => {
      const gen = await generate(model, tokenizer!, evalPrompts, { maxNewTokens: 16, temperature: 0.7, topK: 0, topP: 1, seed: o.seed + 99 });
      const texts = gen.map((g) => g.text);
      const gold = (await Promise.all(texts.map((t) => rule.score('', t)))).reduce((a, b) => a + b, 0) / texts.length;
      const reward = (await judge.score(evalPrompts, texts)).reduce((a, b) => a + b, 0) / texts.length;
      return { gold, reward };
    };
    const before = await measure();
    const lora = Lora.load(join(ppoOut, 'final'), model);
    const after = await measure();
    lora.dispose();
    judge.dispose();
    model.dispose();
    const tail = history.slice(-3);
    return {
      reward: [before.reward, after.reward], gold: [before.gold, after.gold],
      kl: [0, tail.reduce((a, m) => a + m['objective/kl'], 0) / Math.max(1, tail.length)],
      labels: labelCount(), rewardModels: 1 + switches, rmAccuracy: lastAccuracy, seconds: (performance.now() - t0) / 1000, out,
    };
  } finally {
    stop.abort();
    await Promise.allSettled(working);
    await server.close();
    store.close();
  }
}
