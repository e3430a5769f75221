// rlhf grpo / rlhf rloo: config file with flag overrides (a repeated --reward, comma-separated weights),
// JSON records, the resolved config beside the run, resume, the store (--db), and one-line errors.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb } from '../../data/db.js';
import { RunsStore } from '../../data/runs-store.js';
import { tempDir } from '../helpers.js';
import { tinyCheckpoint } from '../lm/fixtures.js';
import { promptsFile } from '../rl/fixtures.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'rlhf.js');
function rlhf(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const records = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number; metrics: Record<string, number>; kind?: string });

describe('cli grpo and rloo', function () {
  this.timeout(180_000);

  it('grpo: config + flags (two rewards, weights), JSON records with TRL names, the resolved config, and resume', async () => {
    const model = await tinyCheckpoint(3);
    const dir = tempDir();
    const cfg = join(dir, 'grpo.json');
    const out = join(dir, 'run');
    writeFileSync(cfg, JSON.stringify({ model, prompts: promptsFile(), reward: 'length', out, steps: 2, promptsPerStep: 2, numGenerations: 3, maxCompletionLength: 4, saveEvery: 1 }));
    const r = rlhf('grpo', '--config', cfg, '--reward', 'length', '--reward', 'sentiment', '--reward-weights', '1,0.5', '--beta', '0.1', '--json', '--backend', 'wasm');
    expect(r.code, r.err).to.equal(0);
    const metrics = records(r.out).filter((x) => x.type === 'metrics');
    expect(metrics.map((x) => x.step)).to.deep.equal([1, 2]);
    expect(metrics[0].metrics).to.include.keys('reward', 'rewards/length/mean', 'rewards/sentiment/mean', 'kl', 'frac_reward_zero_std', 'completions/clipped_ratio');
    const saved = JSON.parse(readFileSync(join(out, 'grpo-config.json'), 'utf8'));
    expect(saved).to.deep.include({ reward: ['length', 'sentiment'], rewardWeights: [1, 0.5], beta: 0.1, lossType: 'dapo', numGenerations: 3 });
    const more = rlhf('grpo', '--config', cfg, '--reward', 'length', '--reward', 'sentiment', '--reward-weights', '1,0.5', '--beta', '0.1', '--steps', '3', '--resume', '--json', '--backend', 'wasm');
    expect(more.code, more.err).to.equal(0);
    expect(records(more.out).filter((x) => x.type === 'metrics').map((x) => x.step)).to.deep.equal([3]);
    expect(records(more.out).some((x) => x.type === 'event' && x.kind === 'resume')).to.equal(true);
  });

  it('rloo --db records the run, its metrics and samples in the store', async () => {
    const model = await tinyCheckpoint(4);
    const dir = tempDir();
    const db = join(dir, 'rlhf.db');
    const r = rlhf('rloo', '--model', model, '--prompts', promptsFile(), '--reward', 'length', '--out', join(dir, 'run'), '--steps', '2', '--prompts-per-step', '2',
      '--num-generations', '2', '--max-completion-length', '4', '--sample-every', '1', '--db', db, '--run-id', 'rloo-a', '--backend', 'wasm');
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/done at step 2; final model in .*mean reward/);
    const store = new RunsStore(openDb(db));
    try {
      expect(store.get('rloo-a')).to.include({ kind: 'rloo', state: 'done' });
      expect(Object.keys(store.metrics('rloo-a'))).to.include.members(['reward', 'kl', 'loss', 'clip_ratio/region_mean']);
      expect(store.samples('rloo-a').length).to.be.greaterThan(0);
    } finally {
      store.db.close();
    }
  });

  it('bad input: one error line naming the field, exit 1', async () => {
    const model = await tinyCheckpoint(3);
    const dir = tempDir();
    const cases: [string[], RegExp][] = [
      [['--reward-weights', '1,x'], /comma-separated numbers/],
      [['--reward-weights', '1,2'], /rewardWeights has 2 entries for 1 reward/],
      [['--num-generations', '1'], /--num-generations/],
      [['--loss-type', 'ppo'], /loss-type/],
      [['--prompts-per-step', '3', '--gradient-accumulation-steps', '2'], /promptsPerStep \(3\) must be a multiple of gradientAccumulationSteps \(2\)/],
    ];
    for (const [extra, want] of cases) {
      const r = rlhf('grpo', '--model', model, '--prompts', promptsFile(), '--reward', 'length', '--out', join(dir, 'x'), ...extra, '--backend', 'wasm');
      expect(r.code, `${extra.join(' ')}: ${r.err}`).to.equal(1);
      expect(r.err, extra.join(' ')).to.match(want);
      expect(r.err.trim().split('\n').length, r.err).to.be.at.most(2);
    }
    const help = rlhf('grpo', '--help');
    expect(help.out).to.match(/--num-generations/).and.to.match(/--epsilon-high/).and.to.match(/--reward-weights/);
  });
});
