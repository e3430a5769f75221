// The one-command demo, quick mode: the whole loop runs and the gold reward ends higher than it started.
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'rlhf.js');

describe('cli: rlhf demo --quick', function () {
  this.timeout(15 * 60_000);

  it('labels, trains a reward model, runs PPO with online feedback, and raises the gold reward', () => {
    const out = join(tempDir(), 'demo');
    const stdout = execFileSync(process.execPath, [BIN, 'demo', '--quick', '--out', out, '--json', '--backend', process.env.RLHF_TEST_BACKEND ?? 'wasm'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const s = JSON.parse(stdout.trim().split('\n').at(-1)!) as { reward: number[]; gold: number[]; kl: number[]; labels: number; rewardModels: number; seconds: number };
    process.stderr.write(`      ${s.seconds.toFixed(0)} s: gold ${s.gold[0].toFixed(3)} -> ${s.gold[1].toFixed(3)}, reward ${s.reward[0].toFixed(3)} -> ${s.reward[1].toFixed(3)}, KL ${s.kl[1].toFixed(2)}, ${s.labels} labels\n`);
    expect(s.gold[1]).to.be.above(s.gold[0]);
    expect(s.reward[1]).to.be.above(s.reward[0]);
    expect(s.kl[1]).to.be.above(0).and.below(20);

    // The loop really closed: the policy's own samples went to the labelers and came back labelled,
    // and both runs are in the store for the dashboard.
    const db = new Database(join(out, 'rlhf.db'), { readonly: true });
    try {
      const fromPolicy = db.prepare("SELECT count(*) FROM labels l JOIN tasks t ON t.id = l.task_id WHERE t.source = 'run:demo-ppo'").pluck().get() as number;
      expect(fromPolicy).to.be.above(0);
      expect(s.labels).to.equal(db.prepare('SELECT count(*) FROM labels').pluck().get());
      const runs = db.prepare("SELECT id, state FROM runs WHERE id IN ('demo-rm', 'demo-ppo') ORDER BY id").all();
      expect(runs).to.deep.equal([{ id: 'demo-ppo', state: 'done' }, { id: 'demo-rm', state: 'done' }]);
      const steps = db.prepare("SELECT count(DISTINCT step) FROM metrics WHERE run_id = 'demo-ppo' AND name = 'objective/gold_scores'").pluck().get();
      expect(steps).to.equal(16);
    } finally {
      db.close();
    }
  });
});
