// Offline DPO from preference labels, top to bottom:
//   1. the run folder and its config; the policy, full or LoRA, from the model or the latest checkpoint;
//   2. data: comparisons from the label store or JSONL files, tokenized, split by prompt hash (dpo/data.ts);
//   3. reference log-probabilities, once, cached in the run folder (dpo/reference.ts);
//   4. epochs of seeded batches: each optimizer step is gradientAccumulationSteps micro-batches of batchSize
//      comparisons, every completion of one micro-batch scored in one forward; the loss (dpo/losses.ts);
//      gradients summed over the window; a NaN/Inf stop naming the last good checkpoint; AdamW;
//   5. TRL's metrics every loggingSteps; evaluation on the whole validation set every evalEvery steps with a
//      table of pairs and their implicit rewards; the best model by eval loss in best/; early stopping;
//   6. atomic checkpoints (weights, optimizer, data position, RNG, the logging window half done), so a
//      resumed run continues exactly as an unbroken one; final/ is best/ (the last model without validation).
import * as tf from '@tensorflow/tfjs';
import { cpSync, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { MetricsSink, SampleRow } from '../data/metrics-sink.js';
import { loadCheckpoint, saveCheckpoint, writeFileAtomic } from '../lm/checkpoint.js';
import { Lora } from '../lm/lora.js';
import type { GPT } from '../lm/model.js';
import { mix, permutation } from '../lm/rng.js';
import type { Tokenizer } from '../lm/tokenizer.js';
import { scheduledLr } from '../rl/lr-schedule.js';
import { AdamW, NonFiniteError } from '../train/adamw.js';
import { loadOptimizer, openRunFolder, readTrainerState, saveRunCheckpoint } from '../train/run-checkpoint.js';
import { DpoConfig, referenceOf } from './config.js';
import { DpoExample, loadDpoData } from './data.js';
import { seqBatch, SeqStats, sequenceStats } from './forward.js';
import { chosenTokenCount, dpoLoss, lossParams, pairIndex } from './losses.js';
import { addPairs, emptySums, pairMetrics, PairSums, sampleRow } from './metrics.js';
import { attachReference } from './reference.js';

export interface DpoOptions {
  resume?: boolean;
  sink?: MetricsSink;
  /** After every optimizer step (progress bars). */
  onStep?: (r: { step: number; total: number; loss: number; numTokens: number }) => void;
  /** Stop cleanly after this optimizer step, checkpointing it (tests simulate an interrupted run with it). */
  stopAfter?: number;
  /**
   * The reference's model folder when it is not c.model (reference copy or none only): an online DPO round
   * starts its policy from the previous round's and may keep the starting model as its reference.
   */
  referenceModel?: string;
}

export interface DpoResult {
  step: number;
  total: number;
  /** final/ (the best model by eval loss, else the last), or null when the run stopped before its end. */
  final: string | null;
  best: { evalLoss: number; step: number } | null;
  stoppedEarly: boolean;
  train: number;
  val: number;
  /** Whether the reference log-probabilities came from the run folder's cache. */
  referenceCached: boolean;
  /** The logged training metrics and evaluations of this call, in order. */
  history: Record<string, number>[];
  evals: Record<string, number>[];
}

interface DpoState {
  step: number;
  numTokens: number;
  seconds: number;
  /** Epoch e's order is permutation(train size, mix(seed, e)); dataPosition comparisons of epoch rng.epoch are done. */
  rng: { seed: number; epoch: number };
  dataPosition: number;
  best: { evalLoss: number; step: number } | null;
  badEvals: number;
  /** The logging window so far (steps since the last log). */
  window: PairSums;
}

export const STATE_FILE = 'dpo_state.json';

export async function runDpo(c: DpoConfig, o: DpoOptions = {}): Promise<DpoResult> {
  // 1. run folder and policy
  const cfgFile = join(c.out, 'dpo-config.json');
  const last = openRunFolder(c.out, cfgFile, c, Boolean(o.resume), 'epochs');
  const base = loadCheckpoint(last && !c.lora ? last : c.model);
  const policy: GPT = base.model;
  if (!base.tokenizer) {
    policy.dispose();
    throw new Error(`${c.model}: no tokenizer.json (DPO reads text)`);
  }
  const tok: Tokenizer = base.tokenizer;
  let lora: Lora | null = null;
  try {
    if (c.lora) lora = last ? Lora.load(last, policy) : Lora.attach(policy, c.lora, c.seed);
    return await train(c, o, last, policy, tok, lora);
  } finally {
    lora?.dispose();
    policy.dispose();
  }
}

async function train(c: DpoConfig, o: DpoOptions, last: string | null, policy: GPT, tok: Tokenizer, lora: Lora | null): Promise<DpoResult> {
  const sink = o.sink;
  const pad = tok.eosId ?? 0;
  // 2. data, and the schedule it gives
  const { train, val, dropped, ties } = await loadDpoData(c, tok, policy.config.nPositions, Boolean(last));
  writeFileAtomic(join(c.out, 'dpo-config.json'), JSON.stringify(c, null, 2) + '\n');
  const perStep = c.batchSize * c.gradientAccumulationSteps;
  const perEpoch = Math.ceil(train.length / perStep);
  const total = perEpoch * c.epochs;
  sink?.event(0, 'data', { train: train.length, val: val.length, ties, droppedTies: dropped.ties, droppedTooLong: dropped.tooLong, steps: total });

  // 3. reference log-probabilities, before any update
  const kind = referenceOf(c);
  const refDir = o.referenceModel ?? c.model;
  if (refDir !== c.model && kind === 'adapter-off') throw new Error(`a reference model of its own (${refDir}) needs reference copy or none, not adapter-off`);
  const ref = attachReference({ out: c.out, modelDir: refDir, kind, examples: [...train, ...val], batchSize: c.precomputeRefBatchSize ?? c.batchSize, pad, policy, lora, fresh: !last && refDir === c.model });
  sink?.event(0, 'reference', { kind, cached: ref.cached });

  const vars = [...(lora ? lora.params : policy.params).values()];
  const opt = new AdamW(lora ? lora.params : policy.params, { lr: c.lr, beta1: c.adamBeta1, beta2: c.adamBeta2, eps: c.adamEpsilon, weightDecay: c.weightDecay, maxGradNorm: c.maxGradNorm });
  let st: DpoState = { step: 0, numTokens: 0, seconds: 0, rng: { seed: c.seed, epoch: 0 }, dataPosition: 0, best: null, badEvals: 0, window: emptySums() };
  if (last) {
    loadOptimizer(last, opt);
    st = JSON.parse(readFileSync(join(last, STATE_FILE), 'utf8')) as DpoState;
    if (readTrainerState(last).step !== st.step) throw new Error(`${last}: ${STATE_FILE} and trainer_state.json disagree on the step`);
    sink?.event(st.step, 'resume', { from: last });
  }
  const rpo = c.rpoAlpha !== null;
  const loss = lossParams(c);
  const chosenTokens = chosenTokenCount;
  const where = (saved: string | null) => (saved ? `; the last good checkpoint is ${saved}` : '; no checkpoint was written');
  const history: Record<string, number>[] = [];
  const evals: Record<string, number>[] = [];
  const bestDir = join(c.out, 'best');

  /** The inputs of one forward over some examples: padded rows, their pairs (weighted over `comparisons`), reference log-probs [N]. */
  const forward = (xs: DpoExample[], comparisons: number, chosen: number) => {
    const b = seqBatch(xs, pad);
    const p = pairIndex(xs, b.offsets, b.ids.length, comparisons, chosen);
    const refs = tf.tensor1d(xs.flatMap((e) => e.refLogps!));
    return { b, p, refs };
  };
  const rowStats = (s: SeqStats, b: ReturnType<typeof seqBatch>, xs: DpoExample[]) => {
    const v = s.stats.dataSync(); // [N, 2]
    const col = (j: number) => Array.from({ length: b.lengths.length }, (_, i) => v[i * 2 + j]);
    return { logp: col(0), entropy: col(1), meanLogit: Array.from(s.meanLogit.dataSync()), ref: xs.flatMap((e) => e.refLogps!), lengths: b.lengths };
  };
  const logpsOf = (s: SeqStats) => tf.reshape(tf.slice(s.stats, [0, 0], [-1, 1]), [-1]) as tf.Tensor1D;

  // 5. evaluation on the whole validation set
  const evaluate = async (saved: string | null): Promise<boolean> => {
    if (!val.length) return false;
    const sums = emptySums();
    const rows: SampleRow[] = [];
    let value = 0;
    const chosen = chosenTokens(val);
    for (let i = 0; i < val.length; i += c.evalBatchSize) {
      const xs = val.slice(i, i + c.evalBatchSize);
      const { b, p, refs } = forward(xs, val.length, chosen);
      const [stats, meanLogit, l] = tf.tidy(() => {
        const s = sequenceStats(policy, b);
        return [s.stats, s.meanLogit, dpoLoss(logpsOf(s), refs, b.lengths, p, loss)];
      });
      const s: SeqStats = { stats: stats as tf.Tensor2D, meanLogit: meanLogit as tf.Tensor1D };
      value += l.dataSync()[0];
      const r = rowStats(s, b, xs);
      tf.dispose([s.stats, s.meanLogit, l, refs]);
      addPairs(sums, r, p, c.beta);
      xs.forEach((e, j) => e.ranking && rows.length < c.sampleRows && rows.push(sampleRow(e, e.completionIds.map((_, k) => c.beta * (r.logp[b.offsets[j] + k] - r.ref[b.offsets[j] + k])))));
    }
    const m = { ...pairMetrics(sums, 'eval/', value, rpo), 'eval/num_tokens': st.numTokens };
    sink?.metrics(st.step, m);
    if (rows.length) sink?.samples(st.step, rows);
    evals.push({ step: st.step, ...m });
    if (!Number.isFinite(value)) throw new NonFiniteError(`step ${st.step}: eval loss is ${value}, training stopped${where(saved)}`);
    if (st.best === null || value < st.best.evalLoss) {
      st.best = { evalLoss: value, step: st.step };
      st.badEvals = 0;
      await saveDir(bestDir, (d) => savePolicy(d, policy, tok, lora, c.model));
      sink?.event(st.step, 'best', { ...st.best });
      return false;
    }
    st.badEvals++;
    return c.patience > 0 && st.badEvals >= c.patience;
  };

  // 4. epochs of batches
  let saved = last;
  let stoppedEarly = false;
  let order: number[] = [];
  let orderEpoch = -1;
  while (st.step < total) {
    const step = st.step + 1;
    const t0 = performance.now();
    const epoch = Math.floor((step - 1) / perEpoch);
    if (epoch !== orderEpoch) [order, orderEpoch] = [permutation(train.length, mix(c.seed, epoch)), epoch];
    const k = (step - 1) % perEpoch;
    const window = order.slice(k * perStep, (k + 1) * perStep).map((i) => train[i]);
    opt.opts.lr = scheduledLr({ lr: c.lr, lrSchedule: c.lrSchedule, warmupSteps: c.warmupSteps, steps: total }, step);
    const chosen = chosenTokens(window);
    let acc: Record<string, tf.Tensor> | null = null;
    let value = 0;
    let tokens = 0;
    for (let m = 0; m < window.length; m += c.batchSize) {
      const xs = window.slice(m, m + c.batchSize);
      const { b, p, refs } = forward(xs, window.length, chosen);
      let kept: SeqStats | null = null;
      const { value: l, grads } = tf.tidy(() => tf.variableGrads(() => {
        const s = sequenceStats(policy, b);
        kept = { stats: tf.keep(s.stats), meanLogit: tf.keep(s.meanLogit) };
        return dpoLoss(logpsOf(s), refs, b.lengths, p, loss);
      }, vars));
      const s: SeqStats = kept!;
      value += l.dataSync()[0];
      addPairs(st.window, rowStats(s, b, xs), p, c.beta);
      tf.dispose([l, s.stats, s.meanLogit, refs]);
      tokens += b.tokens;
      if (!acc) acc = grads;
      else {
        const prev: Record<string, tf.Tensor> = acc;
        acc = tf.tidy(() => Object.fromEntries(Object.keys(grads).map((n) => [n, tf.add(prev[n], grads[n])])));
        tf.dispose([prev, grads]);
      }
    }
    let gradNorm: number;
    try {
      if (!Number.isFinite(value)) throw new NonFiniteError(`step ${step}: loss is ${value}, training stopped${where(saved)}`);
      try {
        gradNorm = opt.applyGradients(acc!).gradNorm;
      } catch (e) {
        if (e instanceof NonFiniteError) throw new NonFiniteError(`step ${step}: ${e.message}, training stopped${where(saved)}`);
        throw e;
      }
    } finally {
      tf.dispose(acc!);
    }
    st = { ...st, step, numTokens: st.numTokens + tokens, seconds: st.seconds + (performance.now() - t0) / 1000, rng: { seed: c.seed, epoch }, dataPosition: Math.min(train.length, (k + 1) * perStep) };
    st.window.steps++;
    st.window.loss += value;

    // 5. metrics, evaluation, early stopping
    const lastStep = step === total;
    if ((c.evalEvery && step % c.evalEvery === 0) || lastStep) {
      const stop = await evaluate(saved);
      stoppedEarly = stop && !lastStep;
    }
    if (step % c.loggingSteps === 0 || lastStep || stoppedEarly) {
      const m = { ...pairMetrics(st.window, '', st.window.loss / st.window.steps, rpo), grad_norm: gradNorm, lr: opt.opts.lr, num_tokens: st.numTokens, epoch: step / perEpoch };
      sink?.metrics(step, m);
      history.push({ step, ...m });
      st.window = emptySums();
    }
    o.onStep?.({ step, total, loss: value, numTokens: st.numTokens });

    // 6. checkpoints
    if (step % c.saveEvery === 0 || lastStep || step === o.stopAfter || stoppedEarly) {
      saved = await saveRunCheckpoint(c.out, { step, tokens: st.numTokens, seconds: st.seconds }, policy, tok, lora, opt, c.keepCheckpoints, async (d) => {
        writeFileAtomic(join(d, STATE_FILE), JSON.stringify(st) + '\n');
      });
    }
    if (stoppedEarly) {
      sink?.event(step, 'early_stop', { best: st.best, patience: c.patience });
      break;
    }
    if (step === o.stopAfter && !lastStep) {
      return { step, total, final: null, best: st.best, stoppedEarly: false, train: train.length, val: val.length, referenceCached: ref.cached, history, evals };
    }
  }

  const final = join(c.out, 'final');
  if (val.length && existsSync(bestDir)) await saveDir(final, async (d) => cpSync(bestDir, d, { recursive: true }));
  else await saveDir(final, (d) => savePolicy(d, policy, tok, lora, c.model));
  return { step: st.step, total, final, best: st.best, stoppedEarly, train: train.length, val: val.length, referenceCached: ref.cached, history, evals };
}

/** The policy as a model folder, or its adapter (PEFT layout, naming the base) under LoRA. */
async function savePolicy(dir: string, policy: GPT, tok: Tokenizer, lora: Lora | null, baseModel: string): Promise<void> {
  if (lora) await lora.save(dir, baseModel);
  else await saveCheckpoint(dir, policy, tok);
}

/** Write a folder whole or not at all: into a temporary sibling, then renamed over the old one. */
async function saveDir(dir: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  await write(tmp);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}
