// Perplexity of a model on data: every token of a text file (consecutive windows, each target counted
// once), or every completion token of a JSONL pairs file.
import * as tf from '@tensorflow/tfjs';
import { GPT } from '../lm/model.js';
import { Batch, loadSftData, splitText } from './sft-data.js';
import { Tokenizer } from '../lm/tokenizer.js';
import { batchLoss } from './train-step.js';

export interface Perplexity {
  tokens: number;
  loss: number;
  perplexity: number;
}

export function perplexity(model: GPT, tok: Tokenizer, sources: { name: string; text: string }[], seqLen: number, batchSize: number): Perplexity {
  const T = Math.min(seqLen, model.config.nPositions);
  let batches: Batch[];
  if (sources.every((s) => s.name.endsWith('.jsonl'))) {
    const data = loadSftData(sources, tok, { seqLen: T, batchSize, gradAccum: 1, heldOut: 1, seed: 0 }); // everything "held out"
    batches = data.evalBatches(Infinity);
  } else {
    batches = windowBatches(splitText(sources, tok, 0).train, T, batchSize, tok.eosId ?? 0);
  }
  return batchPerplexity(model, batches);
}

/** Consecutive windows over a token stream; each token after the first is a target exactly once. */
export function windowBatches(ids: ArrayLike<number>, T: number, batchSize: number, pad: number): Batch[] {
  const rows: number[][] = [];
  const masks: number[][] = [];
  for (let start = 0; start + 1 < ids.length; start += T) {
    const w = Array.from({ length: Math.min(T + 1, ids.length - start) }, (_, i) => ids[start + i]);
    masks.push(Array.from({ length: T }, (_, t) => (t + 1 < w.length ? 1 : 0)));
    rows.push([...w, ...new Array(T + 1 - w.length).fill(pad)]);
  }
  const batches: Batch[] = [];
  for (let i = 0; i < rows.length; i += batchSize) batches.push({ ids: rows.slice(i, i + batchSize), lossMask: masks.slice(i, i + batchSize) });
  return batches;
}

/** Token-weighted mean loss over batches, and its exponential. */
export function batchPerplexity(model: GPT, batches: Batch[]): Perplexity {
  let sum = 0;
  let count = 0;
  for (const b of batches) {
    const n = b.lossMask ? b.lossMask.flat().reduce((a, v) => a + v, 0) : b.ids.length * (b.ids[0].length - 1);
    if (!n) continue;
    const mean = tf.tidy(() => batchLoss(model, b).dataSync()[0]);
    sum += mean * n;
    count += n;
  }
  if (!count) throw new Error('no tokens to evaluate');
  return { tokens: count, loss: sum / count, perplexity: Math.exp(sum / count) };
}
