// DPO with ties and rankings (dpo/losses.ts under the ties and rankings options): values worked out by hand
// in float64 from the strength forms (Chen et al. 2024; the DPO paper's Plackett-Luce), gradients against
// central differences, the pair index of ties and rankings, Plackett-Luce = sigmoid at K = 2, the config's
// rules, and each option through the loader and the whole loop on tiny data with ties and rankings of 3
// (JSONL, and once a label store).
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { join } from 'node:path';
import { resolveDpoConfig } from '../../dpo/config.js';
import type { DpoExample } from '../../dpo/data.js';
import { loadDpoData } from '../../dpo/data.js';
import { runDpo } from '../../dpo/dpo.js';
import { chosenTokenCount, dpoLoss, LossParams, pairIndex } from '../../dpo/losses.js';
import { MemorySink } from '../../data/metrics-sink.js';
import { DEFAULT_TIE_STRENGTH } from '../../reward-models/preference-options.js';
import { tempDir, useBackend } from '../helpers.js';
import { smallTokenizer, tinyCheckpoint } from '../lm/fixtures.js';
import { tiedItems, tiedJsonl, tiedStore } from '../reward-models/tied-fixtures.js';

const ex = (ranking: number[] | null, lens: number[]): DpoExample => ({
  prompt: 'p', completions: lens.map((_, i) => `c${i}`), ranking, where: 't', promptIds: [1], completionIds: lens.map((l) => new Array(l).fill(2)),
});
// a ranking of 3 (rows 0-2: 2 > 0 > 1), a pair (rows 3-4: 4 > 3), a tie (rows 5-6)
const XS = [ex([2, 0, 1], [2, 3, 1]), ex([1, 0], [2, 4]), ex(null, [3, 2])];
const LENGTHS = [2, 3, 1, 2, 4, 3, 2];
const LOGPS = [-2.1, -3.0, -1.2, -2.6, -1.9, -2.2, -2.9];
const REF = [-2.4, -2.5, -1.9, -2.2, -2.3, -2.0, -2.3];
const P = pairIndex(XS, [0, 3, 5], 7, 3, 1 + 4);

const sig = (x: number) => 1 / (1 + Math.exp(-x));
/** The three models' P(win), P(tie) of rewards a, b in the paper's strength form. */
function strengths(a: number, b: number, ties: string, nu: number): { win: number; tie: number } {
  const [x, y] = [Math.exp(a), Math.exp(b)];
  if (ties === 'rao-kupper') return { win: x / (x + nu * y), tie: ((nu * nu - 1) * x * y) / ((x + nu * y) * (y + nu * x)) };
  if (ties === 'davidson') return { win: x / (x + y + 2 * nu * Math.sqrt(x * y)), tie: (2 * nu * Math.sqrt(x * y)) / (x + y + 2 * nu * Math.sqrt(x * y)) };
  return { win: x / (x + y), tie: NaN };
}

/** The loss by hand: each comparison weighs 1/3; its pairs share that; RPO over the 5 chosen tokens. */
function byHand(logps: number[], o: LossParams): number {
  const { beta: b, labelSmoothing: e } = o;
  const norm = o.lossType === 'ipo' || o.lossType === 'sigmoid_norm';
  const s = logps.map((v, i) => (v - REF[i]) / (norm ? LENGTHS[i] : 1));
  const ties = o.ties ?? 'drop';
  const nu = ties === 'davidson' || ties === 'rao-kupper' ? o.tieStrength ?? DEFAULT_TIE_STRENGTH[ties] : 0;
  const pairLoss = (d: number) => {
    if (ties === 'davidson' || ties === 'rao-kupper') return -Math.log(strengths(b * d, 0, ties, nu).win);
    switch (o.lossType) {
      case 'sigmoid': return -(1 - e) * Math.log(sig(b * d)) - e * Math.log(sig(-b * d));
      case 'robust': return (-(1 - e) * Math.log(sig(b * d)) + e * Math.log(sig(-b * d))) / (1 - 2 * e);
      case 'ipo': return (d - 1 / (2 * b)) ** 2;
      default: return -Math.log(sig(b * d));
    }
  };
  let loss = 0;
  if (o.rankings === 'plackett-luce') {
    for (const rows of [[2, 0, 1], [4, 3]]) {
      const w = rows.map((r) => Math.exp(b * s[r]));
      let p = 1;
      for (let k = 0; k < w.length - 1; k++) p *= w[k] / w.slice(k).reduce((a, v) => a + v, 0);
      loss -= Math.log(p) / 3;
    }
  } else {
    for (const [w, l] of [[2, 0], [2, 1], [0, 1]]) loss += pairLoss(s[w] - s[l]) / 9;
    loss += pairLoss(s[4] - s[3]) / 3;
  }
  const dt = s[5] - s[6];
  if (ties === 'equal') loss += (o.lossType === 'ipo' ? dt * dt : -0.5 * Math.log(sig(b * dt)) - 0.5 * Math.log(sig(-b * dt))) / 3;
  else if (ties !== 'drop') loss += -Math.log(strengths(b * dt, 0, ties, nu).tie) / 3;
  return loss + (o.rpoAlpha ?? 0) * -(logps[2] + logps[4]) / 5;
}

const lossAt = (x: number[], o: LossParams, p = P) => tf.tidy(() => dpoLoss(tf.tensor1d(x), tf.tensor1d(REF), LENGTHS, p, o).dataSync()[0]);
const base = { beta: 0.7, labelSmoothing: 0, rpoAlpha: null, tieStrength: null, rankings: 'all-pairs' as const };
const CASES: LossParams[] = [
  { ...base, lossType: 'sigmoid', ties: 'equal' },
  { ...base, lossType: 'sigmoid', ties: 'equal', labelSmoothing: 0.1 },
  { ...base, lossType: 'robust', ties: 'equal', labelSmoothing: 0.2 },
  { ...base, lossType: 'ipo', ties: 'equal' },
  { ...base, lossType: 'sigmoid', ties: 'davidson' },
  { ...base, lossType: 'sigmoid_norm', ties: 'davidson', tieStrength: 0.3, beta: 2 },
  { ...base, lossType: 'sigmoid', ties: 'rao-kupper' },
  { ...base, lossType: 'sigmoid', ties: 'rao-kupper', tieStrength: 1.8, rpoAlpha: 0.5 },
  { ...base, lossType: 'sigmoid', ties: 'equal', rankings: 'plackett-luce' },
  { ...base, lossType: 'sigmoid_norm', ties: 'equal', rankings: 'plackett-luce', beta: 1.5, rpoAlpha: 0.2 },
];

describe('dpo/losses: ties and rankings', () => {
  before(useBackend);

  it('indexes preference pairs, tied pairs and whole rankings apart; a tie has no chosen completion', () => {
    expect([P.winner, P.loser]).to.deep.equal([[2, 2, 0, 4], [0, 1, 1, 3]]);
    expect(P.weight.map((w) => +w.toFixed(9))).to.deep.equal([1 / 9, 1 / 9, 1 / 9, 1 / 3].map((w) => +w.toFixed(9)));
    expect(P.ties).to.deep.equal({ a: [5], b: [6], weight: [1 / 3] });
    expect(P.rankings).to.deep.equal([{ rows: [2, 0, 1], weight: 1 / 3 }, { rows: [4, 3], weight: 1 / 3 }]);
    expect(P.chosenWeight).to.deep.equal([0, 0, 1 / 5, 0, 1 / 5, 0, 0]);
    expect(chosenTokenCount(XS)).to.equal(1 + 4);
  });

  for (const o of CASES) {
    const name = `${o.lossType}${o.labelSmoothing ? ` ε ${o.labelSmoothing}` : ''}, ties ${o.ties}${o.tieStrength ? ` ν ${o.tieStrength}` : ''}, ${o.rankings}${o.rpoAlpha ? `, rpoAlpha ${o.rpoAlpha}` : ''}`;
    it(`${name}: the value by hand, and the gradient by central differences`, () => {
      expect(lossAt(LOGPS, o)).to.be.closeTo(byHand(LOGPS, o), 1e-5);
      const before = tf.memory().numTensors;
      const g = tf.tidy(() => tf.grad((x: tf.Tensor) => dpoLoss(x as tf.Tensor1D, tf.tensor1d(REF), LENGTHS, P, o))(tf.tensor1d(LOGPS)).dataSync());
      expect(tf.memory().numTensors).to.equal(before);
      const h = 1e-3;
      LOGPS.forEach((_, i) => {
        const fd = (byHand(LOGPS.map((v, j) => (j === i ? v + h : v)), o) - byHand(LOGPS.map((v, j) => (j === i ? v - h : v)), o)) / (2 * h);
        expect(g[i], `∂/∂logp[${i}]`).to.be.closeTo(fd, 1e-4);
      });
    });
  }

  it('Plackett-Luce on pairs only is sigmoid (and sigmoid_norm); a tie under drop is refused', () => {
    const pairs = [ex([1, 0], [2, 4]), ex([0, 1], [1, 3])];
    const p = pairIndex(pairs, [0, 2], 4, 2, 4 + 1);
    const x = [-2.0, -1.1, -0.7, -3.2];
    const at = (o: LossParams) => tf.tidy(() => dpoLoss(tf.tensor1d(x), tf.tensor1d([-1, -1, -1, -1]), [2, 4, 1, 3], p, o).dataSync()[0]);
    for (const lossType of ['sigmoid', 'sigmoid_norm'] as const) {
      expect(at({ ...base, lossType, rankings: 'plackett-luce' })).to.be.closeTo(at({ ...base, lossType }), 1e-6);
    }
    expect(() => lossAt(LOGPS, { ...base, lossType: 'sigmoid', ties: 'drop' })).to.throw(/a tie reached the DPO loss under ties drop/);
  });

  it('the config: defaults drop and all-pairs; the combinations that have no meaning are refused, naming the fields', () => {
    const c = { model: 'm', data: ['x'], out: 'o' };
    expect(resolveDpoConfig(c)).to.include({ ties: 'drop', rankings: 'all-pairs', tieStrength: null });
    expect(resolveDpoConfig({ ...c, ties: 'rao-kupper', tieStrength: 3 })).to.include({ ties: 'rao-kupper', tieStrength: 3 });
    expect(() => resolveDpoConfig({ ...c, ties: 'davidson', lossType: 'ipo' })).to.throw(/config: ties davidson replaces the Bradley-Terry likelihood of lossType sigmoid or sigmoid_norm \(labelSmoothing 0\), not ipo/);
    expect(() => resolveDpoConfig({ ...c, ties: 'rao-kupper', labelSmoothing: 0.1 })).to.throw(/not sigmoid with labelSmoothing 0.1/);
    expect(() => resolveDpoConfig({ ...c, rankings: 'plackett-luce', lossType: 'hinge' })).to.throw(/rankings plackett-luce replaces the Bradley-Terry likelihood/);
    expect(() => resolveDpoConfig({ ...c, ties: 'equal', lossType: 'hinge' })).to.throw(/ties equal has no hinge form/);
    expect(() => resolveDpoConfig({ ...c, ties: 'davidson', rankings: 'plackett-luce' })).to.throw(/plackett-luce has no tie probability/);
    expect(() => resolveDpoConfig({ ...c, tieStrength: 2 })).to.throw(/tieStrength applies to ties davidson and rao-kupper only, not drop/);
    expect(() => resolveDpoConfig({ ...c, ties: 'maybe' })).to.throw(/ties must be one of drop, equal, davidson, rao-kupper/);
  });
});

describe('dpo: ties and rankings through the loader and the loop', function () {
  this.timeout(300_000);
  before(useBackend);
  let model: string;
  let data: string;
  let db: string;
  const counts = { ties: tiedItems().filter((x) => x.tie).length };
  before(async () => {
    model = await tinyCheckpoint(17);
    data = join(tempDir(), 'tied.jsonl');
    tiedJsonl(data);
    db = join(tempDir(), 'tied.db');
    tiedStore(db);
  });
  const config = (over: Record<string, unknown>) => resolveDpoConfig({
    model, data: [data], out: join(tempDir('rlhf-dpo-ties-'), 'run'), lr: 3e-3, epochs: 2, batchSize: 4, gradientAccumulationSteps: 2, loggingSteps: 1, evalEvery: 2, valFraction: 0.2, sampleRows: 4, ...over,
  });

  it('the loader drops ties under drop only, and counts what it keeps', async () => {
    const tok = smallTokenizer();
    const drop = await loadDpoData({ ...config({}), out: tempDir() }, tok, 128, false);
    expect(drop.dropped.ties).to.equal(counts.ties);
    expect(drop.ties).to.equal(0);
    expect([...drop.train, ...drop.val].every((e) => e.ranking)).to.equal(true);
    for (const ties of ['equal', 'davidson', 'rao-kupper']) {
      const d = await loadDpoData({ ...config({ ties }), out: tempDir() }, tok, 128, false);
      expect(d.dropped.ties, ties).to.equal(0);
      expect(d.ties, ties).to.equal(counts.ties);
      expect(d.train.length + d.val.length).to.equal(40);
    }
  });

  const runs: [string, Record<string, unknown>][] = [
    ['drop', {}],
    ['equal', { ties: 'equal' }],
    ['equal under ipo', { ties: 'equal', lossType: 'ipo', beta: 0.5 }],
    ['davidson', { ties: 'davidson' }],
    ['rao-kupper', { ties: 'rao-kupper', tieStrength: 2 }],
    ['davidson, from a label store', { ties: 'davidson', data: [], db: '' }],
    ['plackett-luce with ties equal and RPO', { ties: 'equal', rankings: 'plackett-luce', rpoAlpha: 0.5 }],
  ];
  for (const [name, over] of runs) {
    it(`ties ${name}: a run completes with the ties counted, finite metrics and flat tensor counts`, async () => {
      const sink = new MemorySink();
      const c = config(over.db === '' ? { ...over, db } : over);
      const before = tf.memory().numTensors;
      const r = await runDpo(c, { sink });
      expect(tf.memory().numTensors).to.equal(before);
      expect(r.final).to.be.a('string');
      const ev = sink.records.find((x) => x.type === 'event' && x.kind === 'data');
      const info = ev && ev.type === 'event' ? (ev.data as Record<string, number>) : {};
      const kept = c.ties === 'drop' ? 0 : counts.ties;
      expect(info).to.include({ ties: kept, droppedTies: counts.ties - kept });
      expect(r.train + r.val).to.equal(40 - counts.ties + kept);
      const metrics = sink.records.flatMap((x) => (x.type === 'metrics' ? [x.metrics] : []));
      expect(metrics.length).to.be.above(2);
      for (const m of metrics) for (const [k, v] of Object.entries(m)) expect(v, k).to.satisfy(Number.isFinite);
      // validation sample rows come from preferences only (a tie has no chosen and rejected)
      const rows = sink.records.flatMap((x) => (x.type === 'samples' ? x.rows : []));
      expect(rows.length).to.be.above(0);
      for (const row of rows) expect(row.completion).to.match(/^ whale/);
    });
  }
});
