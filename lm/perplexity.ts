// Perplexity of a model on data: every token of a text file (consecutive windows, each target counted
// once), or every completion token of a JSONL pairs file.
import * as tf from '@tensorflow/tfjs';
import { GPT } from './model.js';
import { Batch, loadSftData } from './sft-data.js';
import { Tokenizer } from './tokenizer.js';

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
    const ids: number[] = [];
    for (const s of sources) {
      ids.push(...tok.encode(s.text));
      if (tok.eosId !== null) ids.push(tok.eosId);
    }
    const rows: number[][] = [];
    const masks: number[][] = [];
    for (let start = 0; start + 1 < ids.length; start += T) {
      const w = ids.slice(start, start + T + 1);
      masks.push(Array.from({ length: T }, (_, t) => (t + 1 < w.length ? 1 : 0)));
      rows.push([...w, ...new Array(T + 1 - w.length).fill(tok.eosId ?? 0)]);
    }
    batches = [];
    for (let i = 0; i < rows.length; i += batchSize) batches.push({ ids: rows.slice(i, i + batchSize), lossMask: masks.slice(i, i + batchSize) });
  }
  let sum = 0;
  let count = 0;
  for (const b of batches) {
    const n = b.lossMask ? b.lossMask.flat().reduce((a, v) => a + v, 0) : b.ids.length * (b.ids[0].length - 1);
    if (!n) continue;
    const mean = tf.tidy(() => model.loss(
      tf.tensor2d(b.ids, undefined, 'int32'),
      b.lossMask ? tf.tensor2d(b.lossMask) : undefined,
      b.attentionMask ? tf.tensor2d(b.attentionMask, undefined, 'int32') : undefined,
    ).dataSync()[0]);
    sum += mean * n;
    count += n;
  }
  if (!count) throw new Error('no tokens to evaluate');
  return { tokens: count, loss: sum / count, perplexity: Math.exp(sum / count) };
}
