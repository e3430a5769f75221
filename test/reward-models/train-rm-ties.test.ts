// rlhf train-rm's ties and rankings options (reward-models/train-rm.ts with bt-loss.ts) on a tiny label store
// holding ties and rankings of 3: under each option a run completes, the ties are counted (and left out only
// under drop), its metrics are finite, the tensor count stays flat, and the whale data is learnt; centering
// pulls the rewards' mean towards 0. The losses themselves are checked by hand in tie-models.test.ts.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { join } from 'node:path';
import { MemorySink } from '../../data/metrics-sink.js';
import { resolveRmConfig } from '../../reward-models/rm-config.js';
import { trainRewardModel } from '../../reward-models/train-rm.js';
import { tempDir, useBackend } from '../helpers.js';
import { tinyCheckpoint } from '../lm/fixtures.js';
import { tiedItems, tiedJsonl, tiedStore } from './tied-fixtures.js';

describe('reward-models/train-rm: ties and rankings options', function () {
  this.timeout(300_000);
  before(useBackend);
  let model: string;
  let db: string;
  const ties = tiedItems().filter((x) => x.tie).length;
  before(async () => {
    model = await tinyCheckpoint(23);
    db = join(tempDir(), 'tied.db');
    tiedStore(db);
  });
  const config = (over: Record<string, unknown>) => resolveRmConfig({ model, db, out: tempDir(), epochs: 4, batchSize: 8, lr: 3e-3, warmupSteps: 2, evalEvery: 5, valFraction: 0.25, ...over });

  const runs: [string, Record<string, unknown>][] = [
    ['drop', {}],
    ['equal', { ties: 'equal' }],
    ['davidson', { ties: 'davidson' }],
    ['rao-kupper ν 2', { ties: 'rao-kupper', tieStrength: 2 }],
    ['drop, plackett-luce', { rankings: 'plackett-luce' }],
    ['equal, plackett-luce, centering 0.01', { ties: 'equal', rankings: 'plackett-luce', centerRewardsCoefficient: 0.01 }],
  ];
  for (const [name, over] of runs) {
    it(`ties ${name}: completes on the store with the ties counted, finite metrics, flat tensors, and learns the data`, async () => {
      const sink = new MemorySink();
      const c = config(over);
      const before = tf.memory().numTensors;
      const r = await trainRewardModel(c, false, { sink });
      expect(tf.memory().numTensors).to.equal(before);
      expect(r.final).to.be.a('string');
      const kept = c.ties === 'drop' ? 0 : ties;
      expect(r.trainComparisons + r.valComparisons).to.equal(40 - ties + kept);
      const ev = sink.records.find((x) => x.type === 'event' && x.kind === 'data');
      const info = ev?.type === 'event' ? (ev.data as Record<string, number>) : {};
      expect(info.trainTies + info.valTies).to.equal(kept);
      const metrics = sink.records.flatMap((x) => (x.type === 'metrics' ? [x.metrics] : []));
      for (const m of metrics) for (const [k, v] of Object.entries(m)) expect(v, k).to.satisfy(Number.isFinite);
      expect(r.best!.accuracy).to.be.at.least(0.75); // chance is 0.5; the validation pairs are few (about 10)
    });
  }

  it('reads the same comparisons from JSONL as from the store', async () => {
    const file = join(tempDir(), 'tied.jsonl');
    tiedJsonl(file);
    const [a, b] = [new MemorySink(), new MemorySink()];
    await trainRewardModel(config({ ties: 'davidson', epochs: 1 }), false, { sink: a });
    await trainRewardModel(resolveRmConfig({ ...config({ ties: 'davidson', epochs: 1 }), db: null, data: [file] }), false, { sink: b });
    expect(b.series('train/loss')).to.have.length(a.series('train/loss').length);
    b.series('train/loss').forEach((v, i) => expect(v).to.be.closeTo(a.series('train/loss')[i], 1e-5));
  });

  it('centering pulls the mean reward towards 0', async () => {
    const mean = async (coef: number | null) => {
      const sink = new MemorySink();
      await trainRewardModel(config({ centerRewardsCoefficient: coef, epochs: 6 }), false, { sink });
      const m = sink.series('train/reward_mean');
      return Math.abs(m.slice(-5).reduce((s, v) => s + v, 0) / 5);
    };
    const [free, centred] = [await mean(null), await mean(1)];
    process.stderr.write(`      |mean reward| over the last 5 steps: ${free.toFixed(3)} free, ${centred.toFixed(3)} with centerRewardsCoefficient 1\n`);
    expect(centred).to.be.below(free);
  });
});
