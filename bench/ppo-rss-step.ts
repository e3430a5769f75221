// One measurement of bench/ppo-rss.ts, in its own process (peak RSS only grows): one LoRA PPO step on a
// bench shape with random weights, what a PPO iteration of rl/ppo.ts computes for one batch:
//   1. rollout: generate B prompts × N new tokens (KV cache, temperature 0.7), pack them (rl/policy.ts pack);
//   2. old log-probs and values (policy with LoRA + value head) and reference log-probs (LoRA off), no
//      gradients, a minibatch at a time (rl/ppo.ts forwardChunks);
//   3. one PPO epoch: per minibatch, variableGrads of PPO's policy + value loss (rl/losses.ts) through the
//      policy log-probs on the response positions (hidden states → LM head → rl/logprobs.ts
//      logprobsAndEntropy), then AdamW on the LoRA and value-head parameters.
// The forwards are rl/policy.ts's: responseHidden, and PpoModels.policyForward / refLogprobs written out
// around it, because PpoModels loads from a checkpoint folder (a random 0.5B model would first be written to disk).
// Prints one JSON line: the kernel's peak resident set (process.resourceUsage().maxRSS: weights, the native
// pool, V8's heap and the activations) and RSS, time and live tensor bytes after each phase.
//   node --import tsx bench/ppo-rss-step.ts [--shape Qwen] [--prompts 8] [--prompt-tokens 64] [--new-tokens 64] [--lora-rank 8] [--minibatch 8] [--backend auto]
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { BackendName, initBackend } from '../backend/backend.js';
import { peakTensorBytes } from '../backend/engine-state.js';
import { generate } from '../lm/generate.js';
import { Lora } from '../lm/lora.js';
import { initModel } from '../lm/models/registry.js';
import { Rng } from '../lm/rng.js';
import { headLogprobsAndEntropy } from '../rl/logprobs.js';
import { maskedMeanT, policyLoss, valueLoss } from '../rl/losses.js';
import { pack, Packed, responseHidden, rowsOf, ValueHead } from '../rl/policy.js';
import { AdamW } from '../train/adamw.js';
import { SHAPES } from './shapes.js';

const { values: o } = parseArgs({
  options: {
    shape: { type: 'string', default: 'Qwen' },
    prompts: { type: 'string', default: '8' },
    'prompt-tokens': { type: 'string', default: '64' },
    'new-tokens': { type: 'string', default: '64' },
    'lora-rank': { type: 'string', default: '8' },
    // rows per forward chunk and per update (PPO's miniBatchSize; its default, 16, covers all 8 rows)
    minibatch: { type: 'string', default: '8' },
    backend: { type: 'string', default: 'auto' },
  },
});
const shape = SHAPES[o.shape!];
if (!shape) throw new Error(`unknown shape ${o.shape} (known: ${Object.keys(SHAPES).join(', ')})`);
const [B, Tq, newTokens, rank, mb] = [Number(o.prompts), Number(o['prompt-tokens']), Number(o['new-tokens']), Number(o['lora-rank']), Number(o.minibatch)];
if (!(mb >= 1 && B % mb === 0)) throw new Error(`--minibatch (${mb}) must divide --prompts (${B})`);
const c = shape.config;
if (Tq + newTokens > c.nPositions) throw new Error(`${Tq} prompt + ${newTokens} new tokens exceed the shape's context ${c.nPositions}`);
const TEMPERATURE = 0.7;

const info = await initBackend(o.backend as BackendName, { quiet: true });
const GB = 2 ** 30;
const peakGB = () => (process.resourceUsage().maxRSS * 1024) / GB;
const rssGB = () => process.memoryUsage().rss / GB;
const phases: { phase: string; seconds: number; rssGB: number; peakGB: number; tensorGB: number; peakTensorGB: number }[] = [];
const tensorPeak = peakTensorBytes();
let t = performance.now();
const mark = (phase: string) => {
  const now = performance.now();
  const peakTensorGB = tensorPeak() / GB; // the most tensor bytes live at once during the phase
  phases.push({ phase, seconds: (now - t) / 1000, rssGB: rssGB(), peakGB: peakGB(), tensorGB: tf.memory().numBytes / GB, peakTensorGB });
  process.stderr.write(`[rss] ${phase}: ${((now - t) / 1000).toFixed(1)} s, rss ${rssGB().toFixed(2)} GB, peak ${peakGB().toFixed(2)} GB, tensors ${(tf.memory().numBytes / GB).toFixed(2)} GB (at most ${peakTensorGB.toFixed(2)})\n`);
  t = now;
};
mark('backend');

const model = initModel(c, 0);
const lora = Lora.attach(model, { rank, alpha: 2 * rank, targets: ['attn', 'mlp'] }, 0);
const head = new ValueHead(c.nEmbd);
mark(`model (${(model.numParams() / 1e6).toFixed(0)}M parameters) + LoRA r${rank} (${[...lora.params.values()].reduce((a, v) => a + v.size, 0).toLocaleString('en')} parameters)`);

// 1. Rollout.
const rng = new Rng(0);
const queries = Array.from({ length: B }, () => Array.from({ length: Tq }, () => Math.floor(rng.next() * (c.vocabSize - 1))));
const comps = await generate(model, null, queries, { maxNewTokens: newTokens, temperature: TEMPERATURE, topK: 0, topP: 1, seed: 1, eosId: null });
const packed = pack(queries, comps.map((x) => x.ids), c.eosTokenId);
mark(`generate ${B} × ${newTokens} tokens`);

/** rl/policy.ts PpoModels.policyForward (values on the policy's backbone): [N, 2] log π and entropy, [N] values. */
function policyForward(p: Packed): { le: tf.Tensor2D; values: tf.Tensor1D } {
  const h = responseHidden(model, p);
  const le = headLogprobsAndEntropy(h, model.headWeight(), tf.tensor1d(p.responses.flat(), 'int32'), TEMPERATURE);
  return { le, values: head.forward(h) };
}

// 2. Old log-probs and values, and the reference (LoRA off), without gradients, a minibatch at a time
//    (rl/ppo.ts forwardChunks), read back into flat [B*R] arrays as the rollout keeps them.
const chunks = Array.from({ length: B / mb }, (_, k) => Array.from({ length: mb }, (_, i) => k * mb + i));
const firstCol = (le: tf.Tensor2D) => tf.reshape(tf.slice(le, [0, 0], [-1, 1]), [-1]);
const oldLogp: number[] = [];
const oldV: number[] = [];
const refLogp: number[] = [];
for (const idx of chunks) {
  const sub = rowsOf(packed, idx);
  const [lp, v] = tf.tidy(() => {
    const out = policyForward(sub);
    return [firstCol(out.le), out.values];
  });
  oldLogp.push(...lp.dataSync());
  oldV.push(...v.dataSync());
  tf.dispose([lp, v]);
  lora.enabled = false;
  const ref = tf.tidy(() => firstCol(headLogprobsAndEntropy(responseHidden(model, sub), model.headWeight(), tf.tensor1d(sub.responses.flat(), 'int32'), TEMPERATURE)));
  lora.enabled = true;
  refLogp.push(...ref.dataSync());
  ref.dispose();
}
const kl = oldLogp.reduce((a, x, i) => a + x - refLogp[i], 0) / oldLogp.length;
mark(`old log-probs, values and reference log-probs (${chunks.length} × ${mb} rows)`);

// 3. One PPO epoch: an update per minibatch (variableGrads of PPO's policy + value loss, AdamW on the
//    adapter and value head); random advantages and returns stand in for GAE's.
const trainable = new Map([...lora.params, ...head.params]);
const opt = new AdamW(trainable, { lr: 1e-4, maxGradNorm: 1 });
const R = packed.R;
const rowsFlat = (xs: number[], idx: number[]) => tf.tensor1d(idx.flatMap((b) => xs.slice(b * R, (b + 1) * R)));
const noise = new Rng(7);
const adv = Array.from({ length: B * R }, () => noise.next() * 2 - 1);
const ret = Array.from({ length: B * R }, () => noise.next() * 2 - 1);
let loss = NaN;
let gradNorm = NaN;
let ent = NaN;
for (const idx of chunks) {
  const sub = rowsOf(packed, idx);
  const { value, grads } = tf.tidy(() => {
    const mask = tf.tensor1d(sub.mask.flat());
    const [olp, ov, a, r] = [rowsFlat(oldLogp, idx), rowsFlat(oldV, idx), rowsFlat(adv, idx), rowsFlat(ret, idx)] as tf.Tensor1D[];
    return tf.variableGrads(() => {
      const out = policyForward(sub);
      const logp = firstCol(out.le) as tf.Tensor1D;
      const pl = policyLoss(logp, olp, a, mask, 0.2);
      const vl = valueLoss(out.values, ov, r, mask, 0.2);
      // PPO's defaults (rl/ppo-config.ts): vf_coef 0.1, no entropy bonus (its mean is logged, as here)
      ent = maskedMeanT(tf.reshape(tf.slice(out.le, [0, 1], [-1, 1]), [-1]), mask).dataSync()[0];
      return tf.add(pl.loss, tf.mul(vl.loss, 0.1)) as tf.Scalar;
    }, [...trainable.values()]);
  });
  try {
    loss = value.dataSync()[0];
    gradNorm = opt.applyGradients(grads).gradNorm;
  } finally {
    tf.dispose([value, grads]);
  }
}
mark(`forward + backward + AdamW of the policy log-probs on ${B * R} response positions (${chunks.length} × ${mb} rows)`);

const result = {
  shape: shape.name, backend: info.detail, params: model.numParams(), prompts: B, promptTokens: Tq, newTokens, loraRank: rank, minibatch: mb,
  peakRssGB: peakGB(), phases, loss, gradNorm, kl, entropy: ent, tensorsLeft: tf.memory().numTensors,
};
process.stdout.write(JSON.stringify(result) + '\n');

lora.dispose();
head.dispose();
model.dispose();
