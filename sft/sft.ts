// Supervised fine-tuning, in order: load model (and adapters), data, optimizer; then for each step:
// learning rate, micro-batches (gradient accumulation), NaN guard, AdamW, metrics, evaluation, checkpoint.
// Resuming reloads weights, optimizer moments and the step, and batches depend only on (seed, step),
// so a resumed run continues exactly as an unbroken one would.
import * as tf from '@tensorflow/tfjs';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdamW, NonFiniteError } from '../train/adamw.js';
import { loadCheckpoint, saveCheckpoint, writeFileAtomic } from '../lm/checkpoint.js';
import { ModelType, validateConfig } from '../lm/config.js';
import { Lora } from '../lm/lora.js';
import type { GPT } from '../lm/model.js';
import { initModel } from '../lm/models/registry.js';
import { batchPerplexity } from './perplexity.js';
import { loadOptimizer, openRunFolder, readTrainerState, saveRunCheckpoint, TrainerState } from '../train/run-checkpoint.js';
import { SftConfig } from './sft-config.js';
import { Batch, loadSftData, readSources } from './sft-data.js';
import { Tokenizer } from '../lm/tokenizer.js';
import { batchLoss } from './train-step.js';

export type Metrics = Record<string, number | string>;

export interface SftHooks {
  /** Resolves corpus:NAME data entries to text. */
  corpus: (name: string) => string;
  /** Called with every metrics record (one per step, plus evaluations). */
  onMetrics?: (m: Metrics) => void;
  /** Called after every step (progress display). */
  onStep?: (step: number, total: number, tokens: number, loss: number) => void;
  /** Stop cleanly after this step (tests simulate an interrupted run with it). */
  stopAfter?: number;
}

export interface SftResult {
  step: number;
  final: string | null;
  evalLoss: number | null;
  losses: number[];
}

/** Learning rate at a step (1-based): linear warm-up, then cosine decay to lr · minLrRatio. */
export function lrAt(c: SftConfig, step: number): number {
  if (step <= c.warmupSteps) return (c.lr * step) / Math.max(1, c.warmupSteps);
  const span = Math.max(1, c.steps - c.warmupSteps);
  const progress = Math.min(1, (step - c.warmupSteps) / span);
  return c.lr * (c.minLrRatio + (1 - c.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

export async function runSft(c: SftConfig, resume: boolean, hooks: SftHooks): Promise<SftResult> {
  const runId = c.out.split(/[\\/]/).filter(Boolean).at(-1) ?? 'sft';
  const cfgFile = join(c.out, 'sft-config.json');
  const last = openRunFolder(c.out, cfgFile, c, resume, 'steps');
  writeFileAtomic(cfgFile, JSON.stringify(c, null, 2) + '\n');

  // Model, tokenizer, adapters: from the latest checkpoint when resuming, else from the config.
  let model: GPT;
  let tok: Tokenizer;
  let lora: Lora | null = null;
  const fullFrom = resume && last && !c.lora ? last : c.model;
  if (fullFrom) {
    const ck = loadCheckpoint(fullFrom);
    if (!ck.tokenizer) throw new Error(`${fullFrom}: no tokenizer.json`);
    [model, tok] = [ck.model, ck.tokenizer];
  } else {
    const i = c.init!;
    tok = Tokenizer.load(i.tokenizer);
    const eos = tok.eosId ?? undefined;
    model = initModel(validateConfig({
      modelType: i.modelType as ModelType | undefined, vocabSize: tok.vocabSize, nPositions: i.nPositions, nEmbd: i.nEmbd, nLayer: i.nLayer, nHead: i.nHead,
      nKvHead: i.nKvHead, nInner: i.nInner, ropeTheta: i.ropeTheta, tieWordEmbeddings: i.tieWordEmbeddings ?? true, eosTokenId: eos, bosTokenId: eos,
    }), c.seed);
  }
  if (c.seqLen > model.config.nPositions) throw new Error(`seqLen ${c.seqLen} exceeds the model's n_positions ${model.config.nPositions}`);
  if (c.lora) lora = resume && last ? Lora.load(last, model) : Lora.attach(model, c.lora, c.seed);
  const trainable = lora ? lora.params : model.params;
  const opt = new AdamW(trainable, { lr: c.lr, beta1: c.beta1, beta2: c.beta2, weightDecay: c.weightDecay, maxGradNorm: c.maxGradNorm });
  let state: TrainerState = { step: 0, tokens: 0, seconds: 0 };
  const metricsFile = join(c.out, 'metrics.jsonl');
  if (resume && last) {
    state = readTrainerState(last);
    loadOptimizer(last, opt);
    // Steps after the checkpoint will run again: drop their records so each step is logged once.
    if (existsSync(metricsFile)) {
      const keep = readFileSync(metricsFile, 'utf8').split('\n').filter((l) => l.trim() && (JSON.parse(l) as { step: number }).step <= state.step);
      writeFileAtomic(metricsFile, keep.map((l) => l + '\n').join(''));
    }
  }

  const data = loadSftData(readSources(c.data, hooks.corpus), tok, c);
  const evalSet = data.evalBatches(c.evalBatches);
  const emit = (m: Metrics) => {
    const rec = { step: state.step, time: new Date().toISOString(), run_id: runId, ...m };
    appendFileSync(metricsFile, JSON.stringify(rec) + '\n'); // O_APPEND: whole lines
    hooks.onMetrics?.(rec);
  };
  const evaluate = () => {
    if (!evalSet.length) return null;
    const { loss } = batchPerplexity(model, evalSet); // token-weighted mean over the held-out batches
    emit({ 'eval/loss': loss, 'eval/perplexity': Math.exp(loss) });
    return loss;
  };

  const losses: number[] = [];
  let lastSaved: string | null = last;
  let evalLoss: number | null = null;
  try {
    while (state.step < c.steps) {
      const step = state.step + 1;
      const t0 = performance.now();
      opt.opts.lr = lrAt(c, step);
      const { loss, tokens } = accumulate(model, opt, trainable, c.gradAccum, (micro) => data.trainBatch(step, micro), step, lastSaved);
      const secs = (performance.now() - t0) / 1000;
      state = { step, tokens: state.tokens + tokens, seconds: state.seconds + secs };
      losses.push(loss.loss);
      emit({ 'train/loss': loss.loss, 'train/grad_norm': loss.gradNorm, lr: opt.opts.lr, 'train/tokens_per_sec': tokens / secs, tokens: state.tokens });
      hooks.onStep?.(step, c.steps, state.tokens, loss.loss);
      if (c.evalEvery && step % c.evalEvery === 0 && step < c.steps) evalLoss = evaluate();
      if (step % c.saveEvery === 0 || step === c.steps || step === hooks.stopAfter) {
        lastSaved = await saveRunCheckpoint(c.out, state, model, tok, lora, opt, c.keepCheckpoints);
      }
      if (step === hooks.stopAfter) break;
    }
    let final: string | null = null;
    if (state.step >= c.steps) {
      evalLoss = evaluate();
      final = join(c.out, 'final');
      if (lora) await lora.save(final, c.model ?? '');
      else await saveCheckpoint(final, model, tok);
    }
    return { step: state.step, final, evalLoss, losses };
  } finally {
    lora?.dispose();
    model.dispose();
  }
}

/** Loss tokens of a micro-batch: its loss mask's ones, or every target when it has none. */
export function lossTokens(b: Batch): number {
  if (!b.lossMask) return b.ids.length * (b.ids[0].length - 1);
  let n = 0;
  for (const row of b.lossMask) for (const v of row) n += v ? 1 : 0;
  return n;
}

/**
 * One optimizer step over gradAccum micro-batches, then a guarded AdamW update. Each micro-batch's mean
 * loss is weighted by its share of the window's loss tokens, so the step's loss and gradient are the
 * token mean over the whole window, exactly what one batch of all the rows would give. (Averaging the
 * micro-batch means instead, transformers' behaviour before 4.46, over-weights the tokens of
 * micro-batches with few of them.) Batches are pure functions of (step, micro), so counting them first
 * keeps resume exact.
 */
export function accumulate(
  model: GPT, opt: AdamW, trainable: Map<string, tf.Variable>, micro: number, batch: (m: number) => Batch, step: number, lastSaved: string | null,
): { loss: { loss: number; gradNorm: number }; tokens: number } {
  const vars = [...trainable.values()];
  const batches = Array.from({ length: micro }, (_, m) => batch(m));
  const counts = batches.map(lossTokens);
  const total = counts.reduce((a, b) => a + b, 0);
  let acc: Record<string, tf.Tensor> | null = null;
  let loss = 0;
  let tokens = 0;
  for (let m = 0; m < micro; m++) {
    const b = batches[m];
    tokens += b.ids.length * (b.ids[0].length - 1);
    const weight = total > 0 ? counts[m] / total : 1 / micro; // a window without loss tokens: plain mean
    const { value, grads } = tf.tidy(() => tf.variableGrads(() => (weight === 1 ? batchLoss(model, b) : tf.mul(batchLoss(model, b), weight) as tf.Scalar), vars));
    loss += value.dataSync()[0];
    value.dispose();
    if (!acc) acc = grads;
    else {
      const prev: Record<string, tf.Tensor> = acc;
      acc = tf.tidy(() => Object.fromEntries(Object.keys(grads).map((k) => [k, tf.add(prev[k], grads[k])])));
      tf.dispose([prev, grads]);
    }
  }
  const where = lastSaved ? `; the last good checkpoint is ${lastSaved}` : '; no checkpoint was written';
  try {
    if (!Number.isFinite(loss)) throw new NonFiniteError(`step ${step}: loss is ${loss}, training stopped${where}`);
    try {
      const { gradNorm } = opt.applyGradients(acc!);
      return { loss: { loss, gradNorm }, tokens };
    } catch (e) {
      if (e instanceof NonFiniteError) throw new NonFiniteError(`step ${step}: ${e.message}, training stopped${where}`);
      throw e;
    }
  } finally {
    tf.dispose(acc!);
  }
}
