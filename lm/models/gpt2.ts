// GPT-2 (Radford et al. 2019): learned positions, pre-LayerNorm blocks, tanh GELU, LM head tied to the
// token embedding, Conv1D weights stored [in, out]. Parameter names are Hugging Face's without the
// `transformer.` prefix, so checkpoints map one to one.
import * as tf from '@tensorflow/tfjs';
import { runFused } from '../../backend/accel.js';
import { GPTConfig, validateConfig } from '../config.js';
import { embedding, gelu, layerNorm } from '../ops.js';
import { attend, cacheLayout } from '../attention.js';
import { extend, reserve } from '../kv-cache.js';
import { BlockInputs, ForwardOptions, ForwardResult, GPT } from '../model.js';

/** GPT-2 parameter names and shapes for a config, in Hugging Face order. */
export function gpt2ParameterShapes(c: GPTConfig): [string, number[]][] {
  const C = c.nEmbd;
  const out: [string, number[]][] = [['wte.weight', [c.vocabSize, C]], ['wpe.weight', [c.nPositions, C]]];
  for (let i = 0; i < c.nLayer; i++) {
    const h = `h.${i}.`;
    out.push(
      [h + 'ln_1.weight', [C]], [h + 'ln_1.bias', [C]],
      [h + 'attn.c_attn.weight', [C, 3 * C]], [h + 'attn.c_attn.bias', [3 * C]],
      [h + 'attn.c_proj.weight', [C, C]], [h + 'attn.c_proj.bias', [C]],
      [h + 'ln_2.weight', [C]], [h + 'ln_2.bias', [C]],
      [h + 'mlp.c_fc.weight', [C, c.nInner]], [h + 'mlp.c_fc.bias', [c.nInner]],
      [h + 'mlp.c_proj.weight', [c.nInner, C]], [h + 'mlp.c_proj.bias', [C]],
    );
  }
  out.push(['ln_f.weight', [C]], ['ln_f.bias', [C]]);
  return out;
}

export class GPT2 extends GPT {
  constructor(config: GPTConfig, values: Map<string, tf.Tensor>) {
    super(config, gpt2ParameterShapes, values);
  }

  /** GPT-2 initialisation: N(0, 0.02), residual projections scaled by 1/√(2·nLayer), LayerNorm 1/0, biases 0. */
  static init(config: GPTConfig, seed = 0): GPT2 {
    const c = validateConfig(config);
    const values = new Map<string, tf.Tensor>();
    let s = seed * 1000 + 1; // tfjs treats a seed of 0 as "no seed" (Math.random): never pass 0
    for (const [name, shape] of gpt2ParameterShapes(c)) {
      if (name.endsWith('.bias')) values.set(name, tf.zeros(shape));
      else if (/ln_\w+\.weight$/.test(name)) values.set(name, tf.ones(shape));
      else {
        const std = name.endsWith('c_proj.weight') ? 0.02 / Math.sqrt(2 * c.nLayer) : 0.02;
        values.set(name, tf.randomNormal(shape, 0, std, 'float32', s++));
      }
    }
    const m = new GPT2(c, values);
    for (const t of values.values()) t.dispose();
    return m;
  }

  headWeight(): tf.Tensor2D {
    return this.p2('wte.weight');
  }

  forward(ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
    const c = this.config;
    const C = c.nEmbd;
    const H = c.nHead;
    const hd = C / H;
    const cache = opts.cache;
    const { B, T, past, pos, bias } = this.prologue(ids, opts); // pos [B, T], bias [B or 1, 1, T, past+T]
    const tok = embedding(tf.reshape(ids, [-1]) as tf.Tensor1D, this.p2('wte.weight')); // [B*T, C]
    const wpe = embedding(tf.reshape(pos, [-1]) as tf.Tensor1D, this.p2('wpe.weight')); //  [B*T, C]
    let x = tf.add(tok, wpe) as tf.Tensor2D; // [B*T, C]

    const inPlace = cache ? cacheLayout(cache) === 'in-place' : false;
    if (cache && inPlace) reserve(cache, B, H, hd, c.nLayer, past + T, c.nPositions);
    // One tidy per block: outside a gradient tape a block's intermediates (the MLP's [B*T, 4C] among them)
    // are freed as it ends, not at the end of the caller's tidy; under a tape tfjs saves what backward needs.
    for (let i = 0; i < c.nLayer; i++) {
      const xIn = x;
      x = tf.tidy(() => this.block(i, xIn, { B, T, past, bias, cache, inPlace }));
    }
    if (cache) cache.length = past + T;
    const hidden = layerNorm(x, this.p1('ln_f.weight'), this.p1('ln_f.bias'), c.layerNormEpsilon); // [B*T, C]
    return { logits: this.logitsOf(hidden, B, T, opts.logits ?? 'all'), hidden: tf.reshape(hidden, [B, T, C]) };
  }

  /** Block i: x + attn(ln_1(x)), then + mlp(ln_2(·)). x [B*T, C] -> [B*T, C]. */
  private block(i: number, x: tf.Tensor2D, s: BlockInputs): tf.Tensor2D {
    const c = this.config;
    const { B, T, past, bias, cache, inPlace } = s;
    const C = c.nEmbd;
    const H = c.nHead;
    const hd = C / H;
    const h = `h.${i}.`;
    const scale = 1 / Math.sqrt(hd) / (c.scaleAttnByInverseLayerIdx ? i + 1 : 1);
    // Attention: x + c_proj(softmax(q kᵀ / √hd + mask) v)
    const a = layerNorm(x, this.p1(h + 'ln_1.weight'), this.p1(h + 'ln_1.bias'), c.layerNormEpsilon);
    const qkv = this.linear(h + 'attn.c_attn', a); // [B*T, 3C]
    let y: tf.Tensor2D;
    if (cache && inPlace) {
      // One kernel: k, v written into the cache at [past, past+T), then attention over it.
      y = runFused('RlhfCachedAttn', { qkv, kCache: cache.k[i], vCache: cache.v[i], bias }, { past, scale })[0] as tf.Tensor2D; // [B*T, C]
    } else {
      let [q, k, v] = tf.split(tf.reshape(qkv, [B, T, 3 * C]), 3, 2).map(
        (t) => tf.transpose(tf.reshape(t, [B, T, H, hd]), [0, 2, 1, 3]) as tf.Tensor4D, // [B, H, T, hd]
      );
      if (cache) [k, v] = extend(cache, i, k, v, past); // [B, H, past+T, hd]
      y = attend(q, k, v, bias, scale); // [B*T, C]
    }
    x = tf.add(x, this.linear(h + 'attn.c_proj', y));
    // MLP: x + c_proj(gelu(c_fc(ln_2(x))))
    const m = layerNorm(x, this.p1(h + 'ln_2.weight'), this.p1(h + 'ln_2.bias'), c.layerNormEpsilon);
    const f = gelu(this.linear(h + 'mlp.c_fc', m)) as tf.Tensor2D; // [B*T, 4C]
    return tf.add(x, this.linear(h + 'mlp.c_proj', f));
  }
}
