// The optimisation phase of one PPO iteration: epochs × shuffled minibatches of the rollout batch,
// each a variableGrads -> applyGradients -> dispose step on
//   loss = policy loss + vfCoef · value loss − entCoef · entropy
// with two guards from TRL's older PPOTrainer: a minibatch whose mean ratio exceeds ratioThreshold is
// skipped (no optimizer step at all), and once a minibatch's old-to-new KL (targetKlEstimator: approxkl,
// k1 or k3) exceeds 1.5 × targetKl the iteration's remaining updates are dropped. The check is per
// minibatch, after its update (old TRL checked the last minibatch of each epoch).
import * as tf from '@tensorflow/tfjs';
import { AdamW, NonFiniteError } from '../train/adamw.js';
import { permutation } from '../lm/rng.js';
import { maskedMeanT, PolicyKlEstimator, policyKl, policyLoss, valueLoss } from './losses.js';
import { Packed, PpoModels, rowsOf } from './policy.js';

export interface Rollouts {
  packed: Packed;
  /** [B][R] rollout-time values: old logprobs, values, advantages (whitened), returns. */
  logprobs: number[][];
  values: number[][];
  advantages: number[][];
  returns: number[][];
  /** [B][R] where the value loss counts (the score-after-last-token convention adds one position); default packed.mask. */
  valueMask?: number[][];
}

export interface UpdateSettings {
  ppoEpochs: number;
  miniBatchSize: number;
  temperature: number;
  cliprange: number;
  cliprangeValue: number;
  vfCoef: number;
  entCoef: number;
  targetKl: number | null;
  /** Which estimate of KL(π_old ‖ π) targetKl is compared with; default approxkl. */
  targetKlEstimator?: PolicyKlEstimator;
  ratioThreshold: number;
  /** Learning rate of the k-th planned update of this call (epoch · minibatches + j), set before it; absent leaves opt.opts.lr. */
  lrAt?: (k: number) => number;
}

/** Averages over the applied minibatches: absent (never NaN) when none was applied. */
export interface UpdateStats {
  'policy/approxkl_avg'?: number;
  'policy/clipfrac_avg'?: number;
  'policy/entropy_avg'?: number;
  'loss/policy_avg'?: number;
  'loss/value_avg'?: number;
  'val/clipfrac_avg'?: number;
  'val/ratio'?: number;
  'val/ratio_var'?: number;
  'policy/early_stopped': number;
  'policy/skipped_minibatches': number;
  /** Mean ratio of each skipped minibatch, in order (for the event that reports them). */
  skippedRatios: number[];
  /** Minibatch updates applied. */
  updates: number;
  /** Tokens through forward + backward (for tokens/s). */
  tokens: number;
}

const STAT_NAMES = ['loss/policy_avg', 'loss/value_avg', 'policy/clipfrac_avg', 'val/clipfrac_avg', 'policy/approxkl_avg', 'policy/entropy_avg', 'val/ratio', 'val/ratio_var'] as const;

/** Run the epochs; `shuffleSeed(epoch)` orders the minibatches. Throws NonFiniteError (with `where`) on NaN/Inf. */
export function ppoUpdate(m: PpoModels, opt: AdamW, r: Rollouts, s: UpdateSettings, shuffleSeed: (epoch: number) => number, where: string): UpdateStats {
  const vars = [...m.trainable().values()];
  const B = r.packed.ids.length;
  const sums = new Array<number>(STAT_NAMES.length).fill(0);
  let counted = 0;
  const skippedRatios: number[] = [];
  let early = false;
  let tokens = 0;
  const flat = (rows: number[][], idx: number[]) => tf.tensor1d(idx.flatMap((i) => rows[i]));
  const perEpoch = Math.ceil(B / s.miniBatchSize);
  for (let epoch = 0; epoch < s.ppoEpochs && !early; epoch++) {
    const order = permutation(B, shuffleSeed(epoch));
    for (let start = 0; start < B && !early; start += s.miniBatchSize) {
      if (s.lrAt) opt.opts.lr = s.lrAt(epoch * perEpoch + start / s.miniBatchSize);
      const idx = order.slice(start, start + s.miniBatchSize);
      const sub = rowsOf(r.packed, idx);
      tokens += idx.length * (r.packed.Tp + r.packed.R - 1);
      const hold: { stats?: tf.Tensor } = {};
      const { value, grads } = tf.tidy(() => {
        const oldLogp = flat(r.logprobs, idx);
        const oldV = flat(r.values, idx);
        const adv = flat(r.advantages, idx);
        const ret = flat(r.returns, idx);
        const mask = tf.tensor1d(sub.mask.flat());
        const vMask = r.valueMask ? flat(r.valueMask, idx) : mask;
        return tf.variableGrads(() => {
          const out = m.policyForward(sub, s.temperature);
          const logp = tf.reshape(tf.slice(out.le, [0, 0], [-1, 1]), [-1]) as tf.Tensor1D;
          const ent = tf.reshape(tf.slice(out.le, [0, 1], [-1, 1]), [-1]);
          const v = out.values ?? m.criticForward(sub);
          const pl = policyLoss(logp, oldLogp, adv, mask, s.cliprange);
          const vl = valueLoss(v, oldV, ret, vMask, s.cliprangeValue);
          const entMean = maskedMeanT(ent, mask);
          const stopKl = policyKl(logp, oldLogp, mask, s.targetKlEstimator ?? 'approxkl');
          hold.stats = tf.keep(tf.stack([pl.loss, vl.loss, pl.clipfrac, vl.clipfrac, pl.approxkl, entMean, pl.ratioMean, pl.ratioVar, stopKl]));
          let loss = tf.add(pl.loss, tf.mul(vl.loss, s.vfCoef));
          if (s.entCoef > 0) loss = tf.sub(loss, tf.mul(entMean, s.entCoef));
          return loss as tf.Scalar;
        }, vars);
      });
      try {
        const loss = value.dataSync()[0];
        const st = Array.from(hold.stats!.dataSync());
        if (!Number.isFinite(loss)) throw new NonFiniteError(`loss is ${loss}, training stopped${where}`);
        if (s.ratioThreshold > 0 && st[6] > s.ratioThreshold) {
          skippedRatios.push(st[6]);
          continue;
        }
        try {
          opt.applyGradients(grads);
        } catch (e) {
          if (e instanceof NonFiniteError) throw new NonFiniteError(`${e.message}, training stopped${where}`);
          throw e;
        }
        STAT_NAMES.forEach((_, i) => (sums[i] += st[i]));
        counted++;
        if (s.targetKl !== null && st[8] > 1.5 * s.targetKl) early = true;
      } finally {
        value.dispose();
        tf.dispose(grads);
        hold.stats?.dispose();
      }
    }
  }
  const averages = counted ? Object.fromEntries(STAT_NAMES.map((n, i) => [n, sums[i] / counted])) : {};
  return { ...averages, 'policy/early_stopped': early ? 1 : 0, 'policy/skipped_minibatches': skippedRatios.length, skippedRatios, updates: counted, tokens };
}
