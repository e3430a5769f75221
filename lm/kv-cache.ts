// The keys and values of everything a model has seen so far, per layer, owned by the caller. Two layouts:
//  - where the backend has the fused decoding kernel (native), buffers that each call writes in place
//    (no copy of the whole cache per token): keys transposed [B, H, hd, capacity], values [B, H, capacity, hd];
//  - elsewhere tensors [B, H, length, hd] that each call extends with tf.concat.
// Both hold the batch on axis 0, so one prompt's cache can be copied to the G rows of its group (repeatRows).
import * as tf from '@tensorflow/tfjs';

export class KVCache {
  k: tf.Tensor4D[] = [];
  v: tf.Tensor4D[] = [];
  /** Positions cached so far. */
  length = 0;
  /** Which layout the first call chose (kept for the cache's life). */
  layout: 'in-place' | 'concat' | null = null;
  /** @param capacity positions to reserve in the in-place layout (default: the model's context length). */
  constructor(readonly capacity?: number) {}
  dispose(): void {
    for (const t of [...this.k, ...this.v]) t.dispose();
    this.k = [];
    this.v = [];
    this.length = 0;
    this.layout = null;
  }
}

/**
 * Make sure an in-place cache has room for `need` positions of `nLayer` layers with H heads of width hd:
 * allocate its buffers on first use, or move them into larger ones (at least double) when a call outgrows
 * them, never beyond `maxPositions`.
 */
export function reserve(cache: KVCache, B: number, H: number, hd: number, nLayer: number, need: number, maxPositions: number): void {
  const have = cache.v.length ? cache.v[0].shape[2] : 0;
  if (need <= have) return;
  const cap = Math.min(maxPositions, Math.max(need, cache.capacity ?? maxPositions, 2 * have));
  const n = cache.length;
  for (let i = 0; i < nLayer; i++) {
    // Keys [B, H, hd, cap] grow along their last axis, values [B, H, cap, hd] along axis 2; the filled
    // positions are copied, the rest are zeros, in new buffers that the cache owns alone.
    const [k, v] = [cache.k[i], cache.v[i]];
    cache.k[i] = tf.keep(tf.tidy(() => (k ? tf.pad(tf.slice(k, [0, 0, 0, 0], [B, H, hd, n]), [[0, 0], [0, 0], [0, 0], [0, cap - n]]) : tf.zeros([B, H, hd, cap])) as tf.Tensor4D));
    cache.v[i] = tf.keep(tf.tidy(() => (v ? tf.pad(tf.slice(v, [0, 0, 0, 0], [B, H, n, hd]), [[0, 0], [0, 0], [0, cap - n], [0, 0]]) : tf.zeros([B, H, cap, hd])) as tf.Tensor4D));
    k?.dispose();
    v?.dispose();
  }
}

/**
 * The concat layout: append this call's k, v [B, H, T, hd] to layer i's cache and return everything
 * cached so far, [B, H, past + T, hd] each (the cache keeps its own references).
 */
export function extend(cache: KVCache, i: number, k: tf.Tensor4D, v: tf.Tensor4D, past: number): [tf.Tensor4D, tf.Tensor4D] {
  let kAll = k;
  let vAll = v;
  if (past) {
    kAll = tf.concat([cache.k[i], k], 2);
    vAll = tf.concat([cache.v[i], v], 2);
    cache.k[i].dispose();
    cache.v[i].dispose();
  }
  cache.k[i] = tf.keep(kAll);
  cache.v[i] = tf.keep(vAll);
  return [kAll, vAll];
}

/**
 * Repeat every row of the cache G times along the batch axis (row b becomes rows b·G .. b·G+G−1), so the
 * completions of a group decode from one prefill of their prompt. Either layout: keys and values are
 * gathered into fresh buffers that the cache owns alone (the fused kernel writes the in-place ones, so a
 * view shared between rows would let one row's tokens land in another's); the old ones are disposed.
 * Length and capacity are unchanged.
 */
export function repeatRows(cache: KVCache, G: number): void {
  if (!Number.isInteger(G) || G < 1) throw new Error(`repeatRows: G must be an integer >= 1, got ${G}`);
  if (G === 1 || !cache.k.length) return;
  const B = cache.k[0].shape[0];
  const idx = tf.tensor1d(Array.from({ length: B * G }, (_, r) => Math.floor(r / G)), 'int32'); // [B*G]
  for (const kv of [cache.k, cache.v]) {
    for (let i = 0; i < kv.length; i++) {
      const old = kv[i];
      kv[i] = tf.keep(tf.tidy(() => tf.gather(old, idx, 0) as tf.Tensor4D)); // [B*G, ...]
      old.dispose();
    }
  }
  idx.dispose();
}
