import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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

describe('cli ppo', () => {
  it('runs from a config file with flag overrides, prints JSON records, writes the resolved config, and resumes', async () => {
    const model = await tinyCheckpoint(3);
    const dir = tempDir();
    const cfg = join(dir, 'ppo.json');
    const out = join(dir, 'run');
    writeFileSync(cfg, JSON.stringify({ model, prompts: promptsFile(), reward: 'length', out, steps: 2, batchSize: 4, miniBatchSize: 2, ppoEpochs: 1, maxNewTokens: 4, saveEvery: 1 }));
    const r = rlhf('ppo', '--config', cfg, '--kl-coef', '0.2', '--kl-target', 'none', '--gold-reward', 'sentiment', '--json', '--backend', 'wasm');
    expect(r.code, r.err).to.equal(0);
    const recs = r.out.trim().split('\n').map((l) => JSON.parse(l));
    const metrics = recs.filter((x) => x.type === 'metrics');
    expect(metrics.map((x) => x.step)).to.deep.equal([1, 2]);
    expect(metrics[0].metrics['objective/kl_coef']).to.equal(0.2);
    expect(metrics[0].metrics).to.have.property('objective/gold_scores');
    const saved = JSON.parse(readFileSync(join(out, 'ppo-config.json'), 'utf8'));
    expect(saved).to.include({ klCoef: 0.2, klTarget: null, goldReward: 'sentiment', steps: 2 });
    expect(existsSync(join(out, 'final', 'value_head.safetensors'))).to.equal(true);
    // a longer run continues from the checkpoint at step 2
    const more = rlhf('ppo', '--config', cfg, '--kl-coef', '0.2', '--kl-target', 'none', '--gold-reward', 'sentiment', '--steps', '3', '--resume', '--json', '--backend', 'wasm');
    expect(more.code, more.err).to.equal(0);
    expect(more.out.trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.type === 'metrics').map((x) => x.step)).to.deep.equal([3]);
  });

  it('--db records the run, its metrics under TRL names, samples and its end state in the store', async () => {
    const model = await tinyCheckpoint(4);
    const dir = tempDir();
    const db = join(dir, 'rlhf.db');
    const r = rlhf('ppo', '--model', model, '--prompts', promptsFile(), '--reward', 'length', '--out', join(dir, 'run'), '--steps', '2', '--batch-size', '4',
      '--mini-batch-size', '2', '--ppo-epochs', '1', '--max-new-tokens', '4', '--sample-every', '1', '--db', db, '--run-id', 'ppo-a', '--backend', 'wasm');
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/done at step 2; final model in .*mean score/);
    const store = new RunsStore(openDb(db));
    try {
      expect(store.get('ppo-a')).to.include({ kind: 'ppo', state: 'done' });
      const series = store.metrics('ppo-a');
      expect(Object.keys(series)).to.include.members(['objective/kl', 'objective/scores', 'loss/value_avg', 'val/ratio']);
      expect(store.samples('ppo-a').length).to.be.greaterThan(0);
    } finally {
      store.db.close();
    }
  });

  it('bad input: one error line naming the field or file, exit 1', () => {
    const dir = tempDir();
    const cfg = join(dir, 'ppo.json');
    writeFileSync(cfg, JSON.stringify({ model: 'm', prompts: 'p.txt', reward: 'sentiment', out: dir, cliprange: -1 }));
    const r = rlhf('ppo', '--config', cfg);
    expect(r.code).to.equal(1);
    expect(r.err.trim().split('\n')).to.have.length(1);
    expect(r.err).to.match(/^error: .*ppo\.json: cliprange must be a number/);
    const missing = rlhf('ppo', '--model', 'm', '--reward', 'sentiment', '--out', dir);
    expect(missing.code).to.equal(1);
    expect(missing.err).to.match(/^error: flags: prompts is required/);
  });

  it('has --help', () => {
    const r = rlhf('ppo', '--help');
    expect(r.code).to.equal(0);
    expect(r.out).to.include('--kl-estimator').and.include('--value-model').and.include('--resume').and.include('--json');
  });
});
