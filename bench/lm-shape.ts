// One benchmark shape in its own process (the wasm heap never shrinks, so shapes must not share one).
// Any family of bench/shapes.ts (GPT-2 or the Llama family). Prints one JSON line: plain matMul GFLOP/s, training tokens/s, generation tokens/s with and without the KV cache.
import * as tf from '@tensorflow/tfjs';
import { AdamW } from '../train/adamw.js';
import { BackendName, initBackend } from '../backend/backend.js';
import { generate } from '../lm/generate.js';
import { initModel } from '../lm/models/registry.js';
import { Rng } from '../lm/rng.js';
import { trainStep } from '../sft/train-step.js';
import { forwardFlopsPerToken, SHAPES, trainFlopsPerToken } from './shapes.js';

const [shapeName, backendName = 'auto', trainSteps = '3', recomputeArg] = process.argv.slice(2);
const shape = SHAPES[shapeName];
if (!shape) throw new Error(`unknown shape ${shapeName} (known: ${Object.keys(SHAPES).join(', ')})`);
const recomputeTokens = recomputeArg ?? String(shape.recomputeTokens ?? 64);
const backend = await initBackend(backendName as BackendName, { quiet: true });
const c = shape.config;
const log = (s: string) => process.stderr.write(`[${shapeName}] ${s}\n`);

// 1. Plain 2-D matMul on the same backend: the ceiling the model's GFLOP/s is compared with.
function matmulGflops(n: number, reps: number): number {
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  tf.matMul(a, b).dataSync();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) {
    const y = tf.matMul(a, b);
    // Wait for the result by reading one element: reading all 4 MB would time a copy too (on native,
    // a fresh buffer whose pages fault in). Never return a TypedArray from tf.tidy.
    tf.tidy(() => tf.slice(y, [0, 0], [1, 1])).dataSync();
    y.dispose();
  }
  const s = (performance.now() - t0) / 1000 / reps;
  tf.dispose([a, b]);
  return (2 * n ** 3) / s / 1e9;
}
const matmul = matmulGflops(1024, 5);
log(`matMul 1024³: ${matmul.toFixed(1)} GFLOP/s`);

// 2. Training: forward + backward + AdamW on random tokens, one warm-up step, then the median of the rest.
const model = initModel(c, 0); // GPT-2 or the Llama family, by c.modelType
const opt = new AdamW(model.params, { lr: 1e-4, weightDecay: 0.1, maxGradNorm: 1 });
const rng = new Rng(0);
const batch = () => Array.from({ length: shape.batch }, () => Array.from({ length: c.nPositions + 1 }, () => Math.floor(rng.next() * c.vocabSize)));
const times: number[] = [];
const heapMB = () => (tf.getBackend() === 'wasm' ? ((tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length / 2 ** 20).toFixed(0) + ' MB wasm heap' : '');
for (let i = 0; i <= Number(trainSteps); i++) {
  const b = batch();
  const t0 = performance.now();
  trainStep(model, opt, b);
  if (i > 0) times.push((performance.now() - t0) / 1000);
  log(`train step ${i}: ${((performance.now() - t0) / 1000).toFixed(2)}s${i === 0 ? ' (warm-up)' : ''} ${heapMB()}`);
}
times.sort((x, y) => x - y);
const stepS = times[Math.floor(times.length / 2)];
const trainTokS = (shape.batch * c.nPositions) / stepS;
const trainGflops = (trainTokS * trainFlopsPerToken(c)) / 1e9;

// 3. Generation: batch 16, 16-token prompts, 64 new tokens, with the KV cache and with full recompute.
const prompts = Array.from({ length: 16 }, () => Array.from({ length: 16 }, () => Math.floor(rng.next() * (c.vocabSize - 1))));
/** Timed generation calls with the KV cache: the median is reported (this VM's speed varies between calls). */
const GEN_REPS = 3;
async function genTokS(useCache: boolean, maxNewTokens: number): Promise<number> {
  const opts = { maxNewTokens, temperature: 1, topK: 0, topP: 1, seed: 1, eosId: null, useCache };
  // Warm-up: with the KV cache one whole call, so the timed calls run in the steady state that repeated
  // generation (PPO rollouts) sees, with every buffer size already met; bench/torch-gpt.py does the same.
  // Recomputing is too slow on G for a whole extra call (or more than one timed call): a short one.
  await generate(model, null, useCache ? prompts : prompts.map((p) => p.slice(0, 4)), useCache ? opts : { ...opts, maxNewTokens: 4 });
  const rates: number[] = [];
  for (let i = 0; i < (useCache ? GEN_REPS : 1); i++) {
    const t0 = performance.now();
    const out = await generate(model, null, prompts, opts);
    rates.push(out.reduce((a, o) => a + o.ids.length, 0) / ((performance.now() - t0) / 1000));
  }
  if (rates.length > 1) log(`generate with KV cache, ${rates.length} calls: ${rates.map((r) => r.toFixed(0)).join(', ')} tokens/s`);
  return rates.sort((a, b) => a - b)[Math.floor(rates.length / 2)];
}
const genCache = await genTokS(true, 64);
log(`generate with KV cache: ${genCache.toFixed(1)} tokens/s`);
const genFull = await genTokS(false, Number(recomputeTokens));
log(`generate recomputing (${recomputeTokens} new tokens): ${genFull.toFixed(1)} tokens/s`);
// average context during generation is 16 + 32 tokens
const genGflops = (genCache * forwardFlopsPerToken(c, 48)) / 1e9;

process.stdout.write(JSON.stringify({
  shape: shapeName, backend: backend.detail, params: model.numParams(), matmulGflops: matmul,
  trainStepS: stepS, trainTokS, trainGflops, genCacheTokS: genCache, genFullTokS: genFull, recomputeTokens: Number(recomputeTokens), genGflops,
  heapMB: tf.memory().numBytes / 2 ** 20,
  // peak resident set of this process (KiB -> MiB): the model, AdamW's state and the largest step's activations
  maxRssMB: process.resourceUsage().maxRSS / 1024,
}) + '\n');
model.dispose();
