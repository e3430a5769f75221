// The Llama family (Touvron et al. 2023) and its relatives Mistral, Qwen2 and Qwen3, as transformers
// defines them: rotary positions (lm/rope.ts), pre-RMSNorm blocks, a SwiGLU MLP, grouped-query attention
// whose KV cache holds only the KV heads; Qwen2's q/k/v biases, Qwen3's per-head q/k RMSNorm and free
// head_dim; tied or untied LM head. Names are transformers' without the `model.` prefix; projection
// weights are held [in, out] (checkpoints store nn.Linear's [out, in]; lm/checkpoint.ts transposes).
import * as tf from '@tensorflow/tfjs';
import { hasFused, runFused } from '../../backend/accel.js';
import { GPTConfig, validateConfig } from '../config.js';
import { embedding, rmsNorm, swiglu } from '../ops.js';
import { attend, cacheLayout } from '../attention.js';
import { extend, reserve } from '../kv-cache.js';
import { BlockInputs, ForwardOptions, ForwardResult, GPT } from '../model.js';
import { applyRope, inverseFrequencies, ropeTables } from '../rope.js';

/** Parameter names and shapes (projections [in, out]) for a config, in transformers' order. */
export function llamaParameterShapes(c: GPTConfig): [string, number[]][] {
  const C = c.nEmbd;
  const q = c.nHead * c.headDim;
  const kv = c.nKvHead * c.headDim;
  const out: [string, number[]][] = [['embed_tokens.weight', [c.vocabSize, C]]];
  for (let i = 0; i < c.nLayer; i++) {
    const l = `layers.${i}.`;
    const proj = (name: string, inDim: number, outDim: number, bias: boolean) => {
      out.push([l + name + '.weight', [inDim, outDim]]);
      if (bias) out.push([l + name + '.bias', [outDim]]);
    };
    proj('self_attn.q_proj', C, q, c.qkvBias);
    proj('self_attn.k_proj', C, kv, c.qkvBias);
    proj('self_attn.v_proj', C, kv, c.qkvBias);
    proj('self_attn.o_proj', q, C, c.oBias);
    if (c.qkNorm) out.push([l + 'self_attn.q_norm.weight', [c.headDim]], [l + 'self_attn.k_norm.weight', [c.headDim]]);
    proj('mlp.gate_proj', C, c.nInner, c.mlpBias);
    proj('mlp.up_proj', C, c.nInner, c.mlpBias);
    proj('mlp.down_proj', c.nInner, C, c.mlpBias);
    out.push([l + 'input_layernorm.weight', [C]], [l + 'post_attention_layernorm.weight', [C]]);
  }
  out.push(['norm.weight', [C]]);
  if (!c.tieWordEmbeddings) out.push(['lm_head.weight', [c.vocabSize, C]]);
  return out;
}

export class Llama extends GPT {
  /** RoPE inverse frequencies of this config (float64; the tables are built per call from position ids). */
  private readonly invFreq: Float64Array;

  constructor(config: GPTConfig, values: Map<string, tf.Tensor>) {
    super(config, llamaParameterShapes, values);
    this.invFreq = inverseFrequencies(this.config.headDim, this.config.ropeTheta, this.config.ropeScaling);
  }

  /** transformers' initialisation: N(0, 0.02) weights, RMSNorm gains 1, biases 0. */
  static init(config: GPTConfig, seed = 0): Llama {
    const c = validateConfig(config);
    const values = new Map<string, tf.Tensor>();
    let s = seed * 1000 + 1; // tfjs treats a seed of 0 as "no seed" (Math.random): never pass 0
    for (const [name, shape] of llamaParameterShapes(c)) {
      if (name.endsWith('.bias')) values.set(name, tf.zeros(shape));
      else if (/norm\.weight$/.test(name)) values.set(name, tf.ones(shape));
      else values.set(name, tf.randomNormal(shape, 0, 0.02, 'float32', s++));
    }
    const m = new Llama(c, values);
    for (const t of values.values()) t.dispose();
    return m;
  }

  headWeight(): tf.Tensor2D {
    return this.p2(this.config.tieWordEmbeddings ? 'embed_tokens.weight' : 'lm_head.weight');
  }

  forward(ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
    const c = this.config;
    const [C, Hkv, hd, eps] = [c.nEmbd, c.nKvHead, c.headDim, c.layerNormEpsilon];
    const cache = opts.cache;
    const { B, T, past, pos, bias } = this.prologue(ids, opts); // pos [B, T], bias [B or 1, 1, T, past+T]
    const [cos, sin] = ropeTables(pos, this.invFreq); // [B, T, 1, hd]
    // In place where the native backend has the grouped-query decoding kernel: buffers of the Hkv KV heads only.
    const inPlace = cache ? cacheLayout(cache, hasFused('RlhfCachedAttnGqa')) === 'in-place' : false;
    if (cache && inPlace) reserve(cache, B, Hkv, hd, c.nLayer, past + T, c.nPositions);
    let x = embedding(tf.reshape(ids, [-1]) as tf.Tensor1D, this.p2('embed_tokens.weight')); // [B*T, C]

    // One tidy per block: outside a gradient tape a block's intermediates (the MLP's [B*T, I] among them)
    // are freed as it ends, not at the end of the caller's tidy; under a tape tfjs saves what backward needs.
    for (let i = 0; i < c.nLayer; i++) {
      const xIn = x;
      x = tf.tidy(() => this.block(i, xIn, { B, T, past, bias, cache, inPlace }, cos, sin));
    }
    if (cache) cache.length = past + T;
    const hidden = rmsNorm(x, this.p1('norm.weight'), eps); // [B*T, C]
    return { logits: this.logitsOf(hidden, B, T, opts.logits ?? 'all'), hidden: tf.reshape(hidden, [B, T, C]) };
  }

  /** Block i: x + attn(RMSNorm(x)), then + SwiGLU MLP(RMSNorm(·)). x [B*T, C] -> [B*T, C]; cos, sin [B, T, 1, hd]. */
  private block(i: number, x: tf.Tensor2D, s: BlockInputs, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor2D {
    const c = this.config;
    const [H, Hkv, hd, eps] = [c.nHead, c.nKvHead, c.headDim, c.layerNormEpsilon];
    const { B, T, past, bias, cache, inPlace } = s;
    const l = `layers.${i}.`;
    // Attention: x + o_proj(softmax(rope(q) rope(k)ᵀ / √hd + mask) v)
    const a = rmsNorm(x, this.p1(l + 'input_layernorm.weight'), eps); // [B*T, C]
    const heads = (name: string, n: number) => tf.reshape(this.linear(l + name, a), [B, T, n, hd]) as tf.Tensor4D; // [B, T, n, hd]
    let q = heads('self_attn.q_proj', H);
    let k = heads('self_attn.k_proj', Hkv);
    const v = heads('self_attn.v_proj', Hkv);
    if (c.qkNorm) {
      q = tf.reshape(rmsNorm(tf.reshape(q, [-1, hd]) as tf.Tensor2D, this.p1(l + 'self_attn.q_norm.weight'), eps), [B, T, H, hd]) as tf.Tensor4D;
      k = tf.reshape(rmsNorm(tf.reshape(k, [-1, hd]) as tf.Tensor2D, this.p1(l + 'self_attn.k_norm.weight'), eps), [B, T, Hkv, hd]) as tf.Tensor4D;
    }
    let y: tf.Tensor2D; // [B*T, H*hd]
    if (cache && inPlace) {
      // One kernel: rotated k and v written into the cache at [past, past+T), then query head h attends over KV head h / (H/Hkv).
      const rows = (t: tf.Tensor4D) => tf.reshape(t, [B * T, -1]) as tf.Tensor2D; // [B*T, n*hd]
      y = runFused('RlhfCachedAttnGqa', { q: rows(applyRope(q, cos, sin)), k: rows(applyRope(k, cos, sin)), v: rows(v), kCache: cache.k[i], vCache: cache.v[i], bias },
        { past, scale: 1 / Math.sqrt(hd) })[0] as tf.Tensor2D;
    } else {
      const toHeads = (t: tf.Tensor4D) => tf.transpose(t, [0, 2, 1, 3]) as tf.Tensor4D; // [B, n, T, hd]
      let kAll = toHeads(applyRope(k, cos, sin));
      let vAll = toHeads(v);
      if (cache) [kAll, vAll] = extend(cache, i, kAll, vAll, past); // [B, Hkv, past+T, hd]: keys cached after rotation
      y = attend(toHeads(applyRope(q, cos, sin)), kAll, vAll, bias, 1 / Math.sqrt(hd));
    }
    x = tf.add(x, this.linear(l + 'self_attn.o_proj', y));
    // MLP: x + down_proj(silu(gate_proj(h)) · up_proj(h)), h = RMSNorm(x)
    const m = rmsNorm(x, this.p1(l + 'post_attention_layernorm.weight'), eps);
    const f = swiglu(this.linear(l + 'mlp.gate_proj', m), this.linear(l + 'mlp.up_proj', m)) as tf.Tensor2D; // [B*T, I]
    return tf.add(x, this.linear(l + 'mlp.down_proj', f));
  }
}
