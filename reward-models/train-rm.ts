// Reward-model training, in order: comparisons (store or JSONL) split by prompt; backbone + head (and
// adapters); AdamW; then for each step: learning rate, a batch of comparisons scored in one forward pass,
// the preference loss (Bradley-Terry, or a tie model, Plackett-Luce rankings, reward centering: bt-loss.ts),
// NaN guard, update, metrics; validation with early stopping on accuracy; checkpoints.
// At the end the best model by validation accuracy is normalised on policy samples and saved as final/.
// The data order depends only on (seed, epoch), so a resumed run continues exactly as an unbroken one.
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { MetricsSink } from '../data/metrics-sink.js';
import { AdamW, NonFiniteError } from '../train/adamw.js';
import { loadCheckpoint, writeFileAtomic } from '../lm/checkpoint.js';
import { Lora } from '../lm/lora.js';
import { latestCheckpoint, loadOptimizer, openRunFolder, readTrainerState, saveRunCheckpoint } from '../train/run-checkpoint.js';
import { SafetensorsFile, serializeSafetensors } from '../lm/safetensors.js';
import { mix } from '../lm/rng.js';
import { btLoss, buildPairBatch, pairStats, PairStats, RmLossOptions, usable } from './bt-loss.js';
import { Comparison, readComparisonsDb, readComparisonsFile, splitByPrompt } from './comparisons.js';
import { RewardModel, RM_FIELD } from './reward-model.js';
import { RmConfig } from './rm-config.js';
import { parseJson } from '../lm/json-error.js';

export interface RmHooks {
  sink?: MetricsSink;
  /** After every step (progress display). */
  onStep?: (step: number, total: number, comparisons: number, loss: number) => void;
  /** Stop cleanly after this step (tests simulate an interrupted run with it). */
  stopAfter?: number;
}

export interface EvalResult {
  loss: number;
  accuracy: number;
  /** Mean r(chosen) − r(rejected) over preference pairs. */
  margin: number;
  rewardMin: number;
  rewardMean: number;
  rewardMax: number;
  pairs: number;
}

export interface RmResult {
  step: number;
  /** The normalised best model, or null when the run stopped before its last step. */
  final: string | null;
  /** Best validation accuracy and its step (null without validation data). */
  best: { accuracy: number; step: number } | null;
  trainComparisons: number;
  valComparisons: number;
}

interface RmState {
  bestAccuracy: number;
  bestStep: number;
  badEvals: number;
}

/** Learning rate at a step (1-based): linear warm-up, then linear decay to lr · minLrRatio. */
export function rmLrAt(c: RmConfig, step: number, total: number): number {
  if (step <= c.warmupSteps) return (c.lr * step) / Math.max(1, c.warmupSteps);
  const progress = Math.min(1, (step - c.warmupSteps) / Math.max(1, total - c.warmupSteps));
  return c.lr * (1 - (1 - c.minLrRatio) * progress);
}

export async function loadComparisons(c: Pick<RmConfig, 'db' | 'data'>): Promise<Comparison[]> {
  if (c.db) return readComparisonsDb(c.db);
  const out: Comparison[] = [];
  for (const f of c.data) out.push(...(await readComparisonsFile(f)));
  return out;
}

/** The same comparison with its completions in text order (the ranking follows them). */
export function canonical(c: Comparison): Comparison {
  const order = c.completions.map((_, i) => i).sort((a, b) => (c.completions[a] < c.completions[b] ? -1 : c.completions[a] > c.completions[b] ? 1 : a - b));
  const at = new Map(order.map((old, i) => [old, i]));
  return { ...c, completions: order.map((i) => c.completions[i]), ranking: c.ranking ? c.ranking.map((p) => at.get(p)!) : null };
}

/** Seeded permutation of 0..n-1 for an epoch. */
function epochOrder(n: number, seed: number, epoch: number): number[] {
  const keys = Array.from({ length: n }, (_, i) => mix(seed, epoch, i));
  return keys.map((_, i) => i).sort((a, b) => keys[a] - keys[b]);
}

/** The loss options of a config. */
export const lossOptions = (c: Pick<RmConfig, 'tieStrength' | 'rankings' | 'centerRewardsCoefficient'>): RmLossOptions => ({ tieStrength: c.tieStrength, rankings: c.rankings, centerRewardsCoefficient: c.centerRewardsCoefficient });

type LossConfig = Pick<RmConfig, 'ties' | 'margin' | 'tieStrength' | 'rankings' | 'centerRewardsCoefficient'>;

/** Scores all completions of the comparisons and returns loss and pair statistics (no gradients). */
export async function evaluateRm(rm: RewardModel, cs: Comparison[], c: LossConfig, batchSize: number): Promise<EvalResult> {
  const flat = cs.flatMap((c) => c.completions.map((t) => [c.prompt, t] as const));
  const raw = await rm.scoreRaw(flat.map((f) => f[0]), flat.map((f) => f[1]), batchSize);
  const offsets: number[] = [];
  cs.reduce((o, c) => (offsets.push(o), o + c.completions.length), 0);
  const b = buildPairBatch(cs, offsets, raw.length, c.ties, c.margin);
  const loss = b.winner.length ? tf.tidy(() => btLoss(tf.tensor1d(raw), b, lossOptions(c)).dataSync()[0]) : NaN;
  const s = pairStats(raw, b);
  return {
    loss, accuracy: s.total ? s.correct / s.total : NaN, margin: s.total ? s.marginSum / s.total : NaN,
    rewardMin: Math.min(...raw), rewardMean: raw.reduce((a, x) => a + x, 0) / raw.length, rewardMax: Math.max(...raw), pairs: s.total,
  };
}

export async function trainRewardModel(c: RmConfig, resume: boolean, hooks: RmHooks = {}): Promise<RmResult> {
  const cfgFile = join(c.out, 'rm-config.json');
  const last = openRunFolder(c.out, cfgFile, c, resume, 'epochs');

  // Data: every usable comparison, split by prompt.
  // Ordered by content, not by arrival or display order: the same labels train the same model whichever
  // labeler sent them first and however the page shuffled the completions.
  const key = (x: Comparison) => JSON.stringify([x.prompt, x.completions, x.ranking]);
  const all = (await loadComparisons(c)).filter((x) => usable(x, c.ties)).map(canonical).map((x) => [key(x), x] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, x]) => x);
  if (c.rankings === 'plackett-luce' && all.some((x) => x.ranking && x.margin)) throw new Error('rankings plackett-luce takes no margins, and the data holds lines with a "margin" (use rankings all-pairs)');
  const { train, val } = splitByPrompt(all, c.valFraction, c.seed);
  if (!train.length) throw new Error(`no training comparisons (${all.length} usable in total, ${val.length} went to validation)`);
  writeFileAtomic(cfgFile, JSON.stringify(c, null, 2) + '\n');

  // Model: backbone (a reward model or an LM) + head; from the latest checkpoint when resuming.
  const rm = resume && last ? loadRunCheckpointModel(c, last) : startModel(c);
  const lora = c.lora ? (resume && last ? Lora.load(last, rm.backbone) : Lora.attach(rm.backbone, c.lora, c.seed)) : null;
  if (lora) rm.backbone.setFrozen(true);
  const trainable = lora ? new Map([...lora.params, ['score.weight', rm.head]]) : rm.params();
  const opt = new AdamW(trainable, { lr: c.lr, weightDecay: c.weightDecay, maxGradNorm: c.maxGradNorm, decay: (n, s) => n !== 'score.weight' && s.length >= 2, lrScale: (n) => (n === 'score.weight' ? c.headLrScale : 1) });
  let step = 0;
  let st: RmState = { bestAccuracy: -1, bestStep: 0, badEvals: 0 };
  if (resume && last) {
    step = readTrainerState(last).step;
    loadOptimizer(last, opt);
    st = JSON.parse(readFileSync(join(last, 'rm_state.json'), 'utf8')) as RmState;
  }
  const encoded = new Map<Comparison, number[][]>(train.map((x) => [x, x.completions.map((t) => rm.encode(x.prompt, t))]));
  const perEpoch = Math.ceil(train.length / c.batchSize);
  const total = perEpoch * c.epochs;
  const bestDir = join(c.out, 'best');
  const sink = hooks.sink;
  const ties = (xs: Comparison[]) => xs.filter((x) => !x.ranking).length; // 0 under ties: drop, which leaves them out
  sink?.event(step, 'data', { train: train.length, val: val.length, steps: total, ties: c.ties, trainTies: ties(train), valTies: ties(val) });

  const validate = async (): Promise<boolean> => {
    if (!val.length) return false;
    const e = await evaluateRm(rm, val, c, c.scoreBatchSize);
    sink?.metrics(step, { 'eval/loss': e.loss, 'eval/accuracy': e.accuracy, 'eval/margin': e.margin, 'eval/reward_min': e.rewardMin, 'eval/reward_mean': e.rewardMean, 'eval/reward_max': e.rewardMax });
    if (e.accuracy > st.bestAccuracy) {
      st = { bestAccuracy: e.accuracy, bestStep: step, badEvals: 0 };
      await saveAtomicDir(bestDir, async (d) => {
        const merged = lora?.mergedWeights(rm.backbone); // adapters folded in: best/ is a plain reward model
        await rm.save(d, 'F32', merged);
        if (merged) tf.dispose([...merged.values()]);
      });
      return false;
    }
    st.badEvals++;
    return c.patience > 0 && st.badEvals >= c.patience;
  };

  let stoppedEarly = false;
  try {
    while (step < total) {
      const s = step + 1;
      const epoch = Math.floor((s - 1) / perEpoch);
      const order = epochOrder(train.length, c.seed, epoch);
      const k = (s - 1) % perEpoch;
      const batch = order.slice(k * c.batchSize, (k + 1) * c.batchSize).map((i) => train[i]);
      opt.opts.lr = rmLrAt(c, s, total);
      const r = trainBatch(rm, opt, trainable, batch, encoded, c, s, last);
      step = s;
      sink?.metrics(step, {
        'train/loss': r.loss, 'train/accuracy': r.stats.total ? r.stats.correct / r.stats.total : NaN,
        'train/margin': r.stats.total ? r.stats.marginSum / r.stats.total : NaN, 'train/reward_min': r.min, 'train/reward_mean': r.mean,
        'train/reward_max': r.max, 'train/grad_norm': r.gradNorm, lr: opt.opts.lr, epoch: step / perEpoch,
      });
      hooks.onStep?.(step, total, step * c.batchSize, r.loss);
      if (step % c.evalEvery === 0 || step % perEpoch === 0 || step === total) stoppedEarly = await validate();
      if (step % c.saveEvery === 0 || step === total || step === hooks.stopAfter || stoppedEarly) {
        await saveRunCheckpoint(c.out, { step, tokens: 0, seconds: 0 }, rm.backbone, rm.tokenizer, lora, opt, 2, async (d) => {
          writeFileAtomic(join(d, 'score.safetensors'), serializeSafetensors([{ name: 'score.weight', shape: rm.head.shape, data: (await rm.head.data()) as Float32Array }]));
          writeFileAtomic(join(d, 'rm_state.json'), JSON.stringify(st) + '\n');
        });
      }
      if (stoppedEarly) {
        sink?.event(step, 'early_stop', { bestAccuracy: st.bestAccuracy, bestStep: st.bestStep });
        break;
      }
      if (step === hooks.stopAfter) return { step, final: null, best: null, trainComparisons: train.length, valComparisons: val.length };
    }
  } finally {
    lora?.dispose();
    rm.dispose();
  }

  // The best model by validation accuracy (or the last, without validation), normalised on policy samples.
  const finalDir = join(c.out, 'final');
  const best = val.length && existsSync(bestDir) ? RewardModel.load(bestDir) : loadRunCheckpointModel(c, latestCheckpoint(c.out)!, true);
  try {
    const ref = c.reference ? await readReference(c.reference) : uniqueSamples(all);
    const norm = best.normalizeOn(await best.scoreRaw(ref.map((r) => r.prompt), ref.map((r) => r.completion), c.scoreBatchSize));
    sink?.event(step, 'normalized', { ...norm });
    await saveAtomicDir(finalDir, (d) => best.save(d));
  } finally {
    best.dispose();
  }
  return { step, final: finalDir, best: val.length ? { accuracy: st.bestAccuracy, step: st.bestStep } : null, trainComparisons: train.length, valComparisons: val.length };
}

/** One optimizer step on a batch of comparisons. Throws NonFiniteError (naming the last checkpoint) on NaN/Inf. */
function trainBatch(
  rm: RewardModel, opt: AdamW, trainable: Map<string, tf.Variable>, batch: Comparison[], encoded: Map<Comparison, number[][]>,
  c: RmConfig, step: number, lastSaved: string | null,
): { loss: number; gradNorm: number; stats: PairStats; min: number; mean: number; max: number } {
  const seqs = batch.flatMap((x) => encoded.get(x)!);
  const offsets: number[] = [];
  batch.reduce((o, x) => (offsets.push(o), o + x.completions.length), 0);
  const pairs = buildPairBatch(batch, offsets, seqs.length, c.ties, c.margin);
  let rewards: tf.Tensor | null = null;
  const { value, grads } = tf.tidy(() => tf.variableGrads(() => {
    const { ids, mask, lengths } = RewardModel.pad(seqs, rm.backbone.config.eosTokenId);
    const r = rm.rewards(ids, mask, lengths);
    rewards = tf.keep(r);
    return btLoss(r, pairs, lossOptions(c));
  }, [...trainable.values()]));
  const where = lastSaved ? `; the last good checkpoint is ${lastSaved}` : '; no checkpoint was written';
  try {
    const loss = value.dataSync()[0];
    const r = rewards!.dataSync();
    if (!Number.isFinite(loss)) throw new NonFiniteError(`step ${step}: loss is ${loss}, training stopped${where}`);
    let gradNorm: number;
    try {
      gradNorm = opt.applyGradients(grads).gradNorm;
    } catch (e) {
      if (e instanceof NonFiniteError) throw new NonFiniteError(`step ${step}: ${e.message}, training stopped${where}`);
      throw e;
    }
    const arr = Array.from(r);
    return { loss, gradNorm, stats: pairStats(arr, pairs), min: Math.min(...arr), mean: arr.reduce((a, x) => a + x, 0) / arr.length, max: Math.max(...arr) };
  } finally {
    tf.dispose([value, grads, rewards!]);
  }
}

/** A fresh head on an LM backbone, or a reward model to train further. */
function startModel(c: RmConfig): RewardModel {
  const cfg = JSON.parse(readFileSync(join(c.model, 'config.json'), 'utf8')) as Record<string, unknown>;
  if (RM_FIELD in cfg) return RewardModel.load(c.model);
  const { model, tokenizer } = loadCheckpoint(c.model);
  if (!tokenizer) {
    model.dispose();
    throw new Error(`${c.model}: no tokenizer.json (a reward model keeps its own tokenizer)`);
  }
  const head = tf.tidy(() => tf.randomNormal([1, model.config.nEmbd], 0, 0.02, 'float32', c.seed * 7919 + 3) /* never 0: tfjs reads 0 as unseeded */);
  try {
    return new RewardModel(model, tokenizer, head);
  } finally {
    head.dispose();
  }
}

/** The model of a run checkpoint: the saved backbone (or base + adapter, merged when `merge`) and head. */
function loadRunCheckpointModel(c: RmConfig, dir: string, merge = false): RewardModel {
  const headFile = join(dir, 'score.safetensors');
  const head = new SafetensorsFile(readFileSync(headFile), headFile).float32('score.weight');
  let rm: RewardModel;
  if (c.lora) {
    rm = startModel(c);
    if (merge) {
      const lora = Lora.load(dir, rm.backbone);
      const merged = lora.mergedWeights(rm.backbone);
      for (const [name, w] of merged) rm.backbone.p(name).assign(w);
      tf.dispose([...merged.values()]);
      lora.dispose();
      rm.backbone.adapter = null;
      rm.backbone.setFrozen(false);
    } // else the caller attaches the checkpoint's adapter itself
  } else {
    const { model, tokenizer } = loadCheckpoint(dir);
    rm = new RewardModel(model, tokenizer!);
  }
  tf.tidy(() => rm.head.assign(tf.tensor2d(head, [1, rm.backbone.config.nEmbd])));
  return rm;
}

/** Write a folder whole or not at all: into a temporary sibling, then renamed over the old one. */
async function saveAtomicDir(dir: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  await write(tmp);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

function uniqueSamples(cs: Comparison[]): { prompt: string; completion: string }[] {
  const seen = new Set<string>();
  const out: { prompt: string; completion: string }[] = [];
  for (const x of cs) {
    for (const t of x.completions) {
      const key = JSON.stringify([x.prompt, t]);
      if (!seen.has(key)) (seen.add(key), out.push({ prompt: x.prompt, completion: t }));
    }
  }
  return out;
}

async function readReference(file: string): Promise<{ prompt: string; completion: string }[]> {
  if (!existsSync(file)) throw new Error(`${file}: not found`);
  return readFileSync(file, 'utf8').split('\n').flatMap((line, i) => {
    if (!line.trim()) return [];
    const r = parseJson(line, `${file}:${i + 1}`) as { prompt?: unknown; completion?: unknown };
    if (typeof r.prompt !== 'string' || typeof r.completion !== 'string') throw new Error(`${file}:${i + 1}: expected {"prompt","completion"} strings`);
    return [{ prompt: r.prompt, completion: r.completion }];
  });
}
