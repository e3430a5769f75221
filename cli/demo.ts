// rlhf demo (npm run demo): the whole loop, headless, on the embedded defaults. Starter-model completions
// go into a label store; simulated labelers (sentiment rule, 10% noise) label them through a live server;
// a reward model learns the labels; PPO (a child process, as the run manager would start it) optimises the
// starter against it with online feedback: its samples go back to the labelers and refreshed reward models
// replace the reward as labels arrive. Ends with reward, gold reward and KL before and after.
import { Command } from 'commander';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { SinkRecord } from '../data/metrics-sink.js';
import { openRunSink } from '../data/sqlite-sink.js';
import { Store } from '../data/store.js';
import { BackendName, currentBackend, initBackend } from '../backend/backend.js';
import { loadCheckpoint } from '../lm/checkpoint.js';
import { generate } from '../lm/generate.js';
import { Lora } from '../lm/lora.js';
import { sampleTasks } from '../lm/sample-tasks.js';
import { RewardModel } from '../reward-models/reward-model.js';
import { resolveRmConfig } from '../reward-models/rm-config.js';
import { loadRule } from '../reward-models/rules.js';
import { simulateLabeler } from '../labelers/simulated-labeler.js';
import { trainRewardModel } from '../reward-models/train-rm.js';
import { startServer } from '../server/app.js';
import { backendOption, int } from './options.js';
import { Progress } from './progress.js';
import { OPENINGS, STARTER } from './start.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'rlhf.js');

/** Sizes of the two demo profiles. */
const PROFILES = {
  full: { prompts: 512, tasksPerPrompt: 3, rmEpochs: 4, ppoSteps: 60, batchSize: 32, miniBatchSize: 16, everySteps: 5, onlinePrompts: 32, refreshEveryLabels: 40, refreshEpochs: 1, evalPrompts: 128 },
  quick: { prompts: 160, tasksPerPrompt: 2, rmEpochs: 3, ppoSteps: 16, batchSize: 16, miniBatchSize: 8, everySteps: 4, onlinePrompts: 16, refreshEveryLabels: 24, refreshEpochs: 2, evalPrompts: 64 },
};

interface Summary {
  reward: [number, number];
  gold: [number, number];
  kl: [number, number];
  labels: number;
  rewardModels: number;
  rmAccuracy: number | null;
  seconds: number;
  out: string;
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('the whole loop headless: starter completions, simulated labelers (sentiment, 10% noise) through a live server, a reward model, PPO with online feedback; reward, gold reward and KL before and after')
    .option('--quick', 'a smaller loop (under 3 minutes on 2 cores)')
    .option('--out <dir>', 'demo folder (default .rlhf/demo/<time>)')
    .option('--port <n>', 'port of the pages while the demo runs (0: any free port)', int(0), 0)
    .option('--seed <s>', 'seed', int(0), 1)
    .addOption(backendOption())
    .option('--json', 'print the summary as one JSON object')
    .action(async (o) => {
      const p = o.quick ? PROFILES.quick : PROFILES.full;
      const t0 = performance.now();
      const out = o.out ?? join('.rlhf', 'demo', new Date().toISOString().replace(/[:.]/g, '-'));
      if (existsSync(join(out, 'rlhf.db'))) throw new Error(`${out} already holds a demo; choose another --out`);
      mkdirSync(out, { recursive: true });
      const db = join(out, 'rlhf.db');
      const prompts = readFileSync(OPENINGS, 'utf8').split('\n').filter(Boolean);
      const be = await initBackend(o.backend as BackendName);
      const say = (s: string) => process.stderr.write(s + '\n');

      // A live server and four simulated labelers that keep labeling whatever arrives.
      const store = new Store(db);
      const admin = store.addUser('admin', 'admin');
      const labelers = [0, 1, 2, 3].map((i) => store.addUser(`sim${i}`, 'labeler'));
      const server = await startServer({ store, host: '127.0.0.1', port: o.port });
      say(`demo in ${out}; watch it at ${server.url}/dashboard#token=${admin}`);
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
        const bar1 = new Progress('tasks', p.prompts * p.tasksPerPrompt, 'tasks');
        let made = 0;
        for (let rep = 0; rep < p.tasksPerPrompt; rep++) {
          await sampleTasks(model, tokenizer!, prompts.slice(0, p.prompts), {
            k: 2, maxNewTokens: 16, temperature: 0.5, topP: 1, seed: o.seed + rep * 100_003, batch: 64,
            onBatch: (ts) => {
              made += store.addTasks(ts.map((t) => ({ prompt: t.prompt, source: 'demo', completions: t.completions.map((c) => ({ ...c, model: 'starter' })) }))).length;
              bar1.update(made, made);
            },
          });
        }
        // 2. Labels through the API.
        const bar2 = new Progress('labels', made, 'labels');
        while (labelCount() < made) {
          if (labelerErrors.length === labelers.length) throw new Error(`every simulated labeler stopped: ${labelerErrors[0]}`);
          await new Promise((r) => setTimeout(r, 200));
          bar2.update(labelCount(), labelCount());
        }
        bar2.update(made, made);

        // 3. The first reward model.
        const rmConfig = resolveRmConfig({ model: STARTER, db, out: join(out, 'rm'), epochs: p.rmEpochs, batchSize: 16, lr: 1e-4, evalEvery: 40, valFraction: 0.2, seed: o.seed });
        const rmSink = openRunSink({ kind: 'train-rm', runId: 'demo-rm', json: false, db, config: rmConfig as unknown as Record<string, unknown>, dir: rmConfig.out });
        let bar3: Progress | null = null;
        const rm = await trainRewardModel(rmConfig, false, { sink: rmSink, onStep: (s, total, n, loss) => (bar3 ??= new Progress('reward model', total, 'cmp')).update(s, n, `loss ${loss.toFixed(3)}`) });
        rmSink.finish('done');
        say(`reward model: validation accuracy ${((rm.best?.accuracy ?? NaN) * 100).toFixed(1)}% on ${rm.valComparisons} held-out comparisons`);

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
        process.once('SIGINT', () => process.exit(130));
        let err = '';
        ppo.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
        const history: Record<string, number>[] = [];
        let switches = 0;
        let lastAccuracy: number | null = rm.best?.accuracy ?? null;
        const bar4 = new Progress('ppo', p.ppoSteps, 'steps');
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
            bar4.update(r.step, r.step, `gold ${(r.metrics['objective/gold_scores'] ?? NaN).toFixed(2)} kl ${r.metrics['objective/kl'].toFixed(2)} labels ${labelCount()}`);
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
        const summary: Summary = {
          reward: [before.reward, after.reward], gold: [before.gold, after.gold],
          kl: [0, tail.reduce((a, m) => a + m['objective/kl'], 0) / Math.max(1, tail.length)],
          labels: labelCount(), rewardModels: 1 + switches, rmAccuracy: lastAccuracy, seconds: (performance.now() - t0) / 1000, out,
        };
        if (o.json) process.stdout.write(JSON.stringify(summary) + '\n');
        else {
          const f = (x: number) => x.toFixed(3).padStart(8);
          process.stdout.write([
            `\nthe loop, ${summary.seconds.toFixed(0)} s on ${currentBackend()?.name}: ${summary.labels} labels, ${summary.rewardModels} reward model(s) (last validation accuracy ${lastAccuracy === null ? 'n/a' : (lastAccuracy * 100).toFixed(1) + '%'})`,
            `                       before    after`,
            `reward (last RM)     ${f(summary.reward[0])} ${f(summary.reward[1])}`,
            `gold (sentiment)     ${f(summary.gold[0])} ${f(summary.gold[1])}`,
            `KL to the starter    ${f(summary.kl[0])} ${f(summary.kl[1])}   (nats per completion, PPO's last steps)`,
            `everything is in ${out}; rlhf serve --db ${db} shows the runs`, '',
          ].join('\n'));
        }
      } finally {
        stop.abort();
        await Promise.allSettled(working);
        await server.close();
        store.close();
      }
    });
}
