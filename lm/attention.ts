// What every decoder's attention shares: the additive mask (causal, padded keys removed), position ids
// for left-padded rows, the choice of KV-cache layout, and softmax(q kᵀ · scale + mask) v on the plain
// tfjs path. The projections around it are the family's (lm/models/).
import * as tf from '@tensorflow/tfjs';
import { hasFused, taping } from '../backend/accel.js';
import { attnProbs } from './ops.js';
import { KVCache } from './kv-cache.js';

/** Large negative added to masked attention scores; finite so that a fully masked row stays finite. */
const MASKED = -1e9;

/** 1 where key j may be seen by query i (j <= past + i), else 0: [T, past + T]. Built in JS: tf.linalg.bandPart is a chain of small kernels. */
function causalMask(T: number, past: number): tf.Tensor2D {
  const S = past + T;
  const m = new Float32Array(T * S);
  for (let i = 0; i < T; i++) m.fill(1, i * S, i * S + past + i + 1);
  return tf.tensor2d(m, [T, S]);
}

/** Additive mask [B or 1, 1, T, past+T]: 0 where a query may attend, MASKED elsewhere (future keys, padding). */
export function attentionBias(B: number, T: number, past: number, attentionMask?: tf.Tensor2D): tf.Tensor4D {
  const causal = causalMask(T, past); // [T, past+T]
  const allowed = attentionMask
    ? tf.mul(tf.reshape(causal, [1, 1, T, past + T]), tf.reshape(tf.cast(attentionMask, 'float32'), [B, 1, 1, past + T]))
    : tf.reshape(causal, [1, 1, T, past + T]);
  return tf.mul(tf.sub(1, allowed), MASKED) as tf.Tensor4D;
}

/** HF's rule for left padding: position = (number of real tokens so far) - 1, clamped at 0. [B, T] int32. */
export function positionIds(B: number, T: number, past: number, mask?: tf.Tensor2D): tf.Tensor2D {
  if (!mask) return tf.tile(tf.reshape(tf.range(past, past + T, 1, 'int32'), [1, T]), [B, 1]) as tf.Tensor2D;
  const p = tf.maximum(tf.sub(tf.cumsum(tf.cast(mask, 'int32'), 1), 1), 0);
  return tf.cast(tf.slice(p, [0, past], [B, T]), 'int32') as tf.Tensor2D;
}

/** The native backend's decoding kernel, used outside gradient recording (it has no gradient). */
export function fusedDecoding(): boolean {
  return !taping() && hasFused('RlhfCachedAttn');
}

/**
 * Fix the cache's layout on its first call: in place when the family can use the fused decoding kernel
 * here (`canFuse`), else concat. An in-place cache cannot continue where the kernel is unavailable.
 */
export function cacheLayout(cache: KVCache, canFuse = true): 'in-place' | 'concat' {
  if (!cache.layout) cache.layout = canFuse && fusedDecoding() ? 'in-place' : 'concat';
  if (cache.layout === 'in-place' && !fusedDecoding()) {
    throw new Error('this KV cache was filled by the fused decoding kernel, which has no gradient and needs the native backend');
  }
  return cache.layout;
}

/**
 * softmax(q kᵀ · scale + bias) v for q [B, H, T, hd] over k, v [B, Hkv, S, hd]: [B*T, H*hd]. With fewer
 * KV heads (grouped-query attention), query heads j·G .. j·G+G−1 share KV head j (transformers' repeat_kv):
 * the G heads of a group are stacked as G·T rows against one KV head, so keys and values are never copied.
 */
export function attend(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, bias: tf.Tensor, scale: number): tf.Tensor2D {
  const [B, H, T, hd] = q.shape;
  const [, Hkv, S] = k.shape;
  if (Hkv === H) {
    const att = attnProbs(tf.matMul(q, k, false, true), bias, scale); // [B, H, T, S]
    return tf.reshape(tf.transpose(tf.matMul(att, v), [0, 2, 1, 3]), [B * T, H * hd]) as tf.Tensor2D;
  }
  const G = H / Hkv;
  const qg = tf.reshape(q, [B, Hkv, G * T, hd]);
  const scores = tf.reshape(tf.matMul(qg, k, false, true), [B, H, T, S]) as tf.Tensor4D; // [B, H, T, S]
  const att = tf.reshape(attnProbs(scores, bias, scale), [B, Hkv, G * T, S]);
  const y = tf.reshape(tf.matMul(att, v), [B, H, T, hd]); // [B, H, T, hd]
  return tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [B * T, H * hd]) as tf.Tensor2D;
}
