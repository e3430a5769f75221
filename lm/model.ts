// GPT-2 on TensorFlow.js: learned positions, pre-LayerNorm blocks, tanh GELU, tied LM head.
// Parameters are tf.Variables keyed by GPT-2's Hugging Face names (without the `transformer.` prefix),
// so checkpoints map one to one. The forward pass returns logits and the final hidden states, takes an
// attention mask and position ids for left-padded batches, and can extend a KV cache.
import * as tf from '@tensorflow/tfjs';
import { GPTConfig, validateConfig } from './config.js';
import { attnProbs, crossEntropy, embedding, gelu, layerNorm, linear, taping, tiedHead } from './ops.js';

/** Large negative added to masked attention scores; finite so that a fully masked row stays finite. */
const MASKED = -1e9;

/**
 * Per-layer keys and values of everything seen so far, owned by the caller. Two layouts:
 *  - where the backend has the fused decoding kernel (native), buffers that each call writes in place
 *    (no copy of the whole cache per token): keys transposed [B, H, hd, capacity], values [B, H, capacity, hd];
 *  - elsewhere tensors [B, H, length, hd] that each call extends with tf.concat.
 */
export class KVCache {
  k: tf.Tensor4D[] = [];
  v: tf.Tensor4D[] = [];
  /** Positions cached so far. */
  length = 0;
  /** Which layout the first call chose (kept for the cache's life). */
  layout: 'in-place' | 'concat' | null = null;
  /** @param capacity positions to reserve in the in-place layout (default: the model's nPositions). */
  constructor(readonly capacity?: number) {}
  dispose(): void {
    for (const t of [...this.k, ...this.v]) t.dispose();
    this.k = [];
    this.v = [];
    this.length = 0;
    this.layout = null;
  }
}

/** The native backend's decoding kernel, used outside gradient recording (it has no gradient). */
function fusedDecoding(): boolean {
  return !taping() && tf.getKernel('RlhfCachedAttn', tf.getBackend()) !== undefined;
}

export interface ForwardOptions {
  /** [B, Tpast + T] with 1 for real tokens and 0 for padding; covers the cached positions too. */
  attentionMask?: tf.Tensor2D;
  /** [B, T] position of each token; by default derived from the mask (left padding) or counted from Tpast. */
  positionIds?: tf.Tensor2D;
  /** Extended in place with this call's keys and values. */
  cache?: KVCache;
  /** Which positions get logits: all (default), only the last one, or none (hidden states only). */
  logits?: 'all' | 'last' | 'none';
}

export interface ForwardResult {
  /** [B, T, V], [B, 1, V] when logits='last', or null when 'none'. */
  logits: tf.Tensor3D | null;
  /** Final hidden states after ln_f: [B, T, C]. Value and reward heads read these. */
  hidden: tf.Tensor3D;
}

/** GPT-2 parameter names and shapes for a config, in Hugging Face order. */
export function parameterShapes(c: GPTConfig): [string, number[]][] {
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

/** Low-rank updates added to chosen linear layers (LoRA); lm/lora.ts implements it. */
export interface LinearAdapter {
  /** scale · (x A) B for the linear layer `prefix` (e.g. 'h.0.attn.c_attn'), or null when it has none or is off. */
  delta(prefix: string, x: tf.Tensor2D): tf.Tensor2D | null;
}

/** 1 where key j may be seen by query i (j <= past + i), else 0: [T, past + T]. Built in JS: tf.linalg.bandPart is a chain of small kernels. */
function causalMask(T: number, past: number): tf.Tensor2D {
  const S = past + T;
  const m = new Float32Array(T * S);
  for (let i = 0; i < T; i++) m.fill(1, i * S, i * S + past + i + 1);
  return tf.tensor2d(m, [T, S]);
}

export class GPT {
  readonly config: GPTConfig;
  /** Parameters by HF name. */
  readonly params: Map<string, tf.Variable>;
  /** Attached adapter (LoRA), consulted by every linear layer of the blocks. */
  adapter: LinearAdapter | null = null;

  /** Wrap existing values (name -> tensor); each is copied into a tf.Variable. */
  constructor(config: GPTConfig, values: Map<string, tf.Tensor>) {
    this.config = validateConfig(config);
    this.params = new Map();
    for (const [name, shape] of parameterShapes(this.config)) {
      const t = values.get(name);
      if (!t) throw new Error(`missing parameter '${name}'`);
      if (!tf.util.arraysEqual(t.shape, shape)) throw new Error(`parameter '${name}' has shape [${t.shape}], expected [${shape}]`);
      this.params.set(name, tf.variable(t, true, name + '_' + Math.random().toString(36).slice(2)));
    }
  }

  /** GPT-2 initialisation: N(0, 0.02), residual projections scaled by 1/√(2·nLayer), LayerNorm 1/0, biases 0. */
  static init(config: GPTConfig, seed = 0): GPT {
    const c = validateConfig(config);
    const values = new Map<string, tf.Tensor>();
    let s = seed * 1000 + 1; // tfjs treats a seed of 0 as "no seed" (Math.random): never pass 0
    for (const [name, shape] of parameterShapes(c)) {
      if (name.endsWith('.bias')) values.set(name, tf.zeros(shape));
      else if (/ln_\w+\.weight$/.test(name)) values.set(name, tf.ones(shape));
      else {
        const std = name.endsWith('c_proj.weight') ? 0.02 / Math.sqrt(2 * c.nLayer) : 0.02;
        values.set(name, tf.randomNormal(shape, 0, std, 'float32', s++));
      }
    }
    const m = new GPT(c, values);
    for (const t of values.values()) t.dispose();
    return m;
  }

  p(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`no parameter '${name}'`);
    return v;
  }

  /** Freeze (or unfreeze) every base parameter: frozen weights get no gradient, and ops skip their products. */
  setFrozen(frozen: boolean): void {
    for (const v of this.params.values()) v.trainable = !frozen;
  }

  numParams(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  /** ids [B, T] int32 -> logits and hidden states. Call inside tf.tidy. */
  forward(ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
    const c = this.config;
    const [B, T] = ids.shape;
    const C = c.nEmbd;
    const H = c.nHead;
    const hd = C / H;
    const cache = opts.cache;
    const past = cache?.length ?? 0;
    if (past + T > c.nPositions) throw new Error(`sequence of ${past + T} tokens exceeds nPositions ${c.nPositions}`);
    if (opts.attentionMask && opts.attentionMask.shape[1] !== past + T) {
      throw new Error(`attentionMask covers ${opts.attentionMask.shape[1]} positions, expected ${past + T}`);
    }

    const pos = opts.positionIds ?? this.positionIds(B, T, past, opts.attentionMask); // [B, T]
    const tok = embedding(tf.reshape(ids, [-1]) as tf.Tensor1D, this.p('wte.weight') as tf.Tensor2D); // [B*T, C]
    const wpe = embedding(tf.reshape(pos, [-1]) as tf.Tensor1D, this.p('wpe.weight') as tf.Tensor2D); //  [B*T, C]
    let x = tf.add(tok, wpe) as tf.Tensor2D; // [B*T, C]

    // Additive mask [B or 1, 1, T, past+T]: causal, and padded keys removed.
    const causal = causalMask(T, past); // [T, past+T]
    const allowed = opts.attentionMask
      ? tf.mul(tf.reshape(causal, [1, 1, T, past + T]), tf.reshape(tf.cast(opts.attentionMask, 'float32'), [B, 1, 1, past + T]))
      : tf.reshape(causal, [1, 1, T, past + T]);
    const bias = tf.mul(tf.sub(1, allowed), MASKED);

    if (cache && !cache.layout) cache.layout = fusedDecoding() ? 'in-place' : 'concat';
    const inPlace = cache?.layout === 'in-place';
    if (cache && inPlace) {
      if (!fusedDecoding()) throw new Error('this KV cache was filled by the fused decoding kernel, which has no gradient and needs the native backend');
      this.reserve(cache, B, past + T);
    }
    for (let i = 0; i < c.nLayer; i++) {
      const h = `h.${i}.`;
      const scale = 1 / Math.sqrt(hd) / (c.scaleAttnByInverseLayerIdx ? i + 1 : 1);
      // Attention: x + c_proj(softmax(q kᵀ / √hd + mask) v)
      const a = layerNorm(x, this.p1(h + 'ln_1.weight'), this.p1(h + 'ln_1.bias'), c.layerNormEpsilon);
      const qkv = this.linear(h + 'attn.c_attn', a); // [B*T, 3C]
      let y: tf.Tensor2D;
      if (cache && inPlace) {
        // One kernel: k, v written into the cache at [past, past+T), then attention over it.
        y = tf.engine().runKernel('RlhfCachedAttn', { qkv, kCache: cache.k[i], vCache: cache.v[i], bias }, { past, scale }) as tf.Tensor2D; // [B*T, C]
      } else {
        const [q, k, v] = tf.split(tf.reshape(qkv, [B, T, 3 * C]), 3, 2).map(
          (t) => tf.transpose(tf.reshape(t, [B, T, H, hd]), [0, 2, 1, 3]) as tf.Tensor4D, // [B, H, T, hd]
        );
        let kAll = k;
        let vAll = v;
        if (cache) {
          if (past) {
            kAll = tf.concat([cache.k[i], k], 2);
            vAll = tf.concat([cache.v[i], v], 2);
            cache.k[i].dispose();
            cache.v[i].dispose();
          }
          cache.k[i] = tf.keep(kAll);
          cache.v[i] = tf.keep(vAll);
        }
        const att = attnProbs(tf.matMul(q, kAll, false, true), bias, scale); // [B, H, T, past+T]
        y = tf.reshape(tf.transpose(tf.matMul(att, vAll), [0, 2, 1, 3]), [B * T, C]) as tf.Tensor2D; // [B*T, C]
      }
      x = tf.add(x, this.linear(h + 'attn.c_proj', y));
      // MLP: x + c_proj(gelu(c_fc(ln_2(x))))
      const m = layerNorm(x, this.p1(h + 'ln_2.weight'), this.p1(h + 'ln_2.bias'), c.layerNormEpsilon);
      const f = gelu(this.linear(h + 'mlp.c_fc', m)) as tf.Tensor2D; // [B*T, 4C]
      x = tf.add(x, this.linear(h + 'mlp.c_proj', f));
    }
    if (cache) cache.length = past + T;
    const hidden = layerNorm(x, this.p1('ln_f.weight'), this.p1('ln_f.bias'), c.layerNormEpsilon); // [B*T, C]
    const mode = opts.logits ?? 'all';
    let logits: tf.Tensor3D | null = null;
    if (mode === 'all') {
      logits = tf.reshape(tiedHead(hidden, this.p2('wte.weight')), [B, T, c.vocabSize]);
    } else if (mode === 'last') {
      const last = tf.reshape(tf.slice(tf.reshape(hidden, [B, T, C]), [0, T - 1, 0], [B, 1, C]), [B, C]) as tf.Tensor2D;
      logits = tf.reshape(tiedHead(last, this.p2('wte.weight')), [B, 1, c.vocabSize]);
    }
    return { logits, hidden: tf.reshape(hidden, [B, T, C]) };
  }

  /**
   * Mean next-token cross-entropy. ids [B, T+1]: inputs are ids[:, :-1], targets ids[:, 1:].
   * lossMask [B, T] (optional) weights each target; 0 drops it (padding, prompt tokens).
   */
  loss(ids: tf.Tensor2D, lossMask?: tf.Tensor2D, attentionMask?: tf.Tensor2D): tf.Scalar {
    const [B, T1] = ids.shape;
    const T = T1 - 1;
    const inputs = tf.slice(ids, [0, 0], [B, T]) as tf.Tensor2D;
    const targets = tf.reshape(tf.slice(ids, [0, 1], [B, T]), [-1]) as tf.Tensor1D;
    const mask = attentionMask ? (tf.slice(attentionMask, [0, 0], [B, T]) as tf.Tensor2D) : undefined;
    const { hidden } = this.forward(inputs, { attentionMask: mask, logits: 'none' });
    const logits = tiedHead(tf.reshape(hidden, [B * T, this.config.nEmbd]) as tf.Tensor2D, this.p2('wte.weight'));
    const w = (lossMask ? tf.reshape(tf.cast(lossMask, 'float32'), [-1]) : tf.ones([B * T])) as tf.Tensor1D;
    return crossEntropy(logits, targets, w);
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }

  /** A Conv1D layer by prefix, plus the adapter's low-rank update when one is attached. */
  private linear(prefix: string, x: tf.Tensor2D): tf.Tensor2D {
    const y = linear(x, this.p2(prefix + '.weight'), this.p1(prefix + '.bias'));
    const d = this.adapter?.delta(prefix, x);
    return d ? tf.add(y, d) : y;
  }

  /**
   * Make sure the in-place cache has room for `need` positions: allocate its buffers on first use, or
   * move them into larger ones (at least double) when a call outgrows them.
   */
  private reserve(cache: KVCache, B: number, need: number): void {
    const c = this.config;
    const H = c.nHead;
    const hd = c.nEmbd / H;
    const have = cache.v.length ? cache.v[0].shape[2] : 0;
    if (need <= have) return;
    const cap = Math.min(c.nPositions, Math.max(need, cache.capacity ?? c.nPositions, 2 * have));
    const n = cache.length;
    for (let i = 0; i < c.nLayer; i++) {
      // Keys [B, H, hd, cap] grow along their last axis, values [B, H, cap, hd] along axis 2; the filled
      // positions are copied, the rest are zeros, in new buffers that the cache owns alone.
      const [k, v] = [cache.k[i], cache.v[i]];
      cache.k[i] = tf.keep(tf.tidy(() => (k ? tf.pad(tf.slice(k, [0, 0, 0, 0], [B, H, hd, n]), [[0, 0], [0, 0], [0, 0], [0, cap - n]]) : tf.zeros([B, H, hd, cap])) as tf.Tensor4D));
      cache.v[i] = tf.keep(tf.tidy(() => (v ? tf.pad(tf.slice(v, [0, 0, 0, 0], [B, H, n, hd]), [[0, 0], [0, 0], [0, cap - n], [0, 0]]) : tf.zeros([B, H, cap, hd])) as tf.Tensor4D));
      k?.dispose();
      v?.dispose();
    }
  }

  /** HF's rule for left padding: position = (number of real tokens so far) - 1, clamped at 0. */
  private positionIds(B: number, T: number, past: number, mask?: tf.Tensor2D): tf.Tensor2D {
    if (!mask) return tf.tile(tf.reshape(tf.range(past, past + T, 1, 'int32'), [1, T]), [B, 1]) as tf.Tensor2D;
    const p = tf.maximum(tf.sub(tf.cumsum(tf.cast(mask, 'int32'), 1), 1), 0);
    return tf.cast(tf.slice(p, [0, past], [B, T]), 'int32') as tf.Tensor2D;
  }

  private p1(n: string): tf.Tensor1D {
    return this.p(n) as tf.Tensor as tf.Tensor1D;
  }
  private p2(n: string): tf.Tensor2D {
    return this.p(n) as tf.Tensor as tf.Tensor2D;
  }
}
