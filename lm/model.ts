// What every decoder-only language model here is, whatever its family (lm/models/): parameters as
// tf.Variables keyed by the family's Hugging Face names, an optional adapter (LoRA) on its linear layers,
// a forward pass that returns logits and the final hidden states for left-padded batches and can extend a
// KV cache, the LM head on its own (value and reward heads read the hidden states; PPO reads the head),
// and the next-token loss. A family implements parameterShapes, forward and head.
import * as tf from '@tensorflow/tfjs';
import { GPTConfig, validateConfig } from './config.js';
import { linear, project, tiedHead } from './ops.js';
import { headCrossEntropy } from './head-rows.js';
import type { KVCache } from './kv-cache.js';
import { attentionBias, positionIds } from './attention.js';

export { KVCache } from './kv-cache.js';

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

/** What every block of one forward call shares (a family's block(i, x, s) reads it). */
export interface BlockInputs {
  B: number;
  T: number;
  /** Positions already cached before this call. */
  past: number;
  /** [B or 1, 1, T, past+T] additive attention mask. */
  bias: tf.Tensor4D;
  cache?: KVCache;
  /** The cache is the in-place layout (fused kernels write into it). */
  inPlace: boolean;
}

export interface ForwardResult {
  /** [B, T, V], [B, 1, V] when logits='last', or null when 'none'. */
  logits: tf.Tensor3D | null;
  /** Final hidden states after the last norm: [B, T, C]. Value and reward heads read these. */
  hidden: tf.Tensor3D;
}

/** Low-rank updates added to chosen linear layers (LoRA); lm/lora.ts implements it. */
export interface LinearAdapter {
  /** scale · (x A) B for the linear layer `prefix` (e.g. 'h.0.attn.c_attn'), or null when it has none or is off. */
  delta(prefix: string, x: tf.Tensor2D): tf.Tensor2D | null;
}

export abstract class GPT {
  readonly config: GPTConfig;
  /** Parameters by HF name. */
  readonly params: Map<string, tf.Variable>;
  /** Attached adapter (LoRA), consulted by every linear layer of the blocks. */
  adapter: LinearAdapter | null = null;

  /** Wrap existing values (name -> tensor) of the given shapes; each is copied into a tf.Variable. */
  protected constructor(config: GPTConfig, shapes: (c: GPTConfig) => [string, number[]][], values: Map<string, tf.Tensor>) {
    this.config = validateConfig(config);
    this.params = new Map();
    for (const [name, shape] of shapes(this.config)) {
      const t = values.get(name);
      if (!t) throw new Error(`missing parameter '${name}'`);
      if (!tf.util.arraysEqual(t.shape, shape)) throw new Error(`parameter '${name}' has shape [${t.shape}], expected [${shape}]`);
      this.params.set(name, tf.variable(t, true, name + '_' + Math.random().toString(36).slice(2)));
    }
  }

  /** ids [B, T] int32 -> logits and hidden states. Call inside tf.tidy. */
  abstract forward(ids: tf.Tensor2D, opts?: ForwardOptions): ForwardResult;

  /** The LM head's weight [V, C]: the token embedding when tied, else lm_head. */
  abstract headWeight(): tf.Tensor2D;

  /** The LM head on final hidden states: [N, C] -> logits [N, V]. */
  head(hidden: tf.Tensor2D): tf.Tensor2D {
    return tiedHead(hidden, this.headWeight());
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
    const h = tf.reshape(hidden, [B * T, this.config.nEmbd]) as tf.Tensor2D; // [B*T, C]
    const w = (lossMask ? tf.reshape(tf.cast(lossMask, 'float32'), [-1]) : tf.ones([B * T])) as tf.Tensor1D;
    return headCrossEntropy(h, this.headWeight(), targets, w); // the [B*T, V] logits whole only when small
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }

  /** A linear layer [in, out] by prefix (with its bias when it has one), plus the adapter's low-rank update when one is attached. */
  protected linear(prefix: string, x: tf.Tensor2D): tf.Tensor2D {
    const bias = this.params.get(prefix + '.bias');
    const y = bias ? linear(x, this.p2(prefix + '.weight'), bias as tf.Tensor as tf.Tensor1D) : project(x, this.p2(prefix + '.weight'));
    const d = this.adapter?.delta(prefix, x);
    return d ? tf.add(y, d) : y;
  }

  /**
   * What every family's forward starts with: the cached length, the checks that the sequence fits the
   * context and the mask covers it, the position ids [B, T] (given, or from the mask as HF does for left
   * padding) and the additive attention mask [B or 1, 1, T, past+T].
   */
  protected prologue(ids: tf.Tensor2D, opts: ForwardOptions): { B: number; T: number; past: number; pos: tf.Tensor2D; bias: tf.Tensor4D } {
    const [B, T] = ids.shape;
    const past = opts.cache?.length ?? 0;
    if (past + T > this.config.nPositions) throw new Error(`sequence of ${past + T} tokens exceeds nPositions ${this.config.nPositions}`);
    if (opts.attentionMask && opts.attentionMask.shape[1] !== past + T) {
      throw new Error(`attentionMask covers ${opts.attentionMask.shape[1]} positions, expected ${past + T}`);
    }
    const pos = opts.positionIds ?? positionIds(B, T, past, opts.attentionMask);
    return { B, T, past, pos, bias: attentionBias(B, T, past, opts.attentionMask) };
  }

  /** Logits of all positions, the last one, or none, from final hidden states [B*T, C]. */
  protected logitsOf(hidden: tf.Tensor2D, B: number, T: number, mode: 'all' | 'last' | 'none'): tf.Tensor3D | null {
    const C = this.config.nEmbd;
    const V = this.config.vocabSize;
    if (mode === 'all') return tf.reshape(this.head(hidden), [B, T, V]);
    if (mode === 'none') return null;
    const last = tf.reshape(tf.slice(tf.reshape(hidden, [B, T, C]), [0, T - 1, 0], [B, 1, C]), [B, C]) as tf.Tensor2D;
    return tf.reshape(this.head(last), [B, 1, V]);
  }

  protected p1(n: string): tf.Tensor1D {
    return this.p(n) as tf.Tensor as tf.Tensor1D;
  }
  protected p2(n: string): tf.Tensor2D {
    return this.p(n) as tf.Tensor as tf.Tensor2D;
  }
}
