// Picking the next token from one row of logits: temperature, top-k, top-p, then a seeded draw.
// In float64, so a seed gives the same tokens on every backend that gives the same logits. The plain
// temperature case can also run in the native addon (sampleRows below): the same float64 steps, with a
// vectorised exp (within ~1 ulp of Math.exp) and the sum taken in 8 lanes, so a draw differs from the JS
// one only when u lands within ~1e-15 of a boundary between two tokens (native/src/sample.h).
import { Rng } from './rng.js';

export interface SamplingOptions {
  /** 0 means greedy; otherwise logits are divided by it before the softmax. */
  temperature: number;
  /** Keep only the k most likely tokens; 0 disables. */
  topK: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 disables. */
  topP: number;
}

export interface Pick {
  token: number;
  /**
   * Log-probability of the token under the distribution it was drawn from (after temperature, top-k
   * and top-p). Greedy decoding has no such distribution; there it is the token's log-probability
   * under the model's untempered softmax.
   */
  logprob: number;
}

export function checkSampling(o: SamplingOptions): void {
  if (!(o.temperature >= 0) || !Number.isFinite(o.temperature)) throw new Error(`temperature must be >= 0, got ${o.temperature}`);
  if (!Number.isInteger(o.topK) || o.topK < 0) throw new Error(`top-k must be an integer >= 0, got ${o.topK}`);
  if (!(o.topP > 0 && o.topP <= 1)) throw new Error(`top-p must be in (0, 1], got ${o.topP}`);
}

function logSumExp(z: Float64Array | Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < z.length; i++) if (z[i] > max) max = z[i];
  let s = 0;
  for (let i = 0; i < z.length; i++) s += Math.exp(z[i] - max);
  return max + Math.log(s);
}

/**
 * Scratch rows reused across calls: sampling runs once per row per generated token, and a fresh
 * Float64Array(V) each time (V = 50257 for GPT-2) costs more than the arithmetic.
 */
let zBuf = new Float64Array(0);
let eBuf = new Float64Array(0);
function scratch(V: number): [Float64Array, Float64Array] {
  if (zBuf.length < V) {
    zBuf = new Float64Array(V);
    eBuf = new Float64Array(V);
  }
  return [zBuf.subarray(0, V), eBuf.subarray(0, V)];
}

/** Choose a token from logits (one row, length V). */
export function sampleToken(logits: Float32Array, o: SamplingOptions, rng: Rng): Pick {
  const V = logits.length;
  if (o.temperature === 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    return { token: best, logprob: logits[best] - logSumExp(logits) };
  }
  // z = logits / T; e = exp(z - max) for kept tokens, 0 for dropped ones. One exp per token.
  const [z, e] = scratch(V);
  let max = -Infinity;
  for (let i = 0; i < V; i++) {
    const zi = logits[i] / o.temperature;
    z[i] = zi;
    if (zi > max) max = zi;
  }
  for (let i = 0; i < V; i++) e[i] = Math.exp(z[i] - max);
  if (o.topK > 0 && o.topK < V) {
    const kth = Float64Array.from(z).sort()[V - o.topK]; // k-th largest
    for (let i = 0; i < V; i++) if (z[i] < kth) e[i] = 0;
  }
  if (o.topP < 1) {
    let s = 0;
    for (let i = 0; i < V; i++) s += e[i];
    // The smallest set of most likely tokens whose probability reaches p: its least likely member sets the cut.
    const sorted = Float64Array.from(e).sort().reverse();
    let cum = 0;
    let cut = sorted[0];
    for (const x of sorted) {
      cum += x / s;
      cut = x;
      if (cum >= o.topP) break;
    }
    for (let i = 0; i < V; i++) if (e[i] < cut) e[i] = 0;
  }
  let s = 0;
  for (let i = 0; i < V; i++) s += e[i];
  const lse = max + Math.log(s);
  // Walk the unnormalised cumulative sum to u·s: the same draw as comparing u with normalised probabilities.
  let u = rng.next() * s;
  let last = -1;
  for (let i = 0; i < V; i++) {
    if (e[i] === 0) continue;
    last = i;
    u -= e[i];
    if (u < 0) return { token: i, logprob: z[i] - lse };
  }
  return { token: last, logprob: z[last] - lse }; // rounding left u just above 0
}

/** The native addon's row sampler (backend/native-addon.ts). */
export interface NativeSampler {
  sampleRows(logits: Float32Array, V: number, rows: Int32Array, T: number, u: Float64Array, token: Int32Array, logprob: Float64Array): void;
}

/**
 * A token for each listed row of logits [*, V], drawn in row order with one rng draw per row (as
 * sampleToken). With `native`, plain temperature sampling (no top-k, no top-p) runs in C++ over threads:
 * Math.exp costs ~10 ns, and a batch of 16 rows of GPT-2's 50257 logits took ~15 ms per token in JS.
 */
export function sampleRows(logits: Float32Array, V: number, rows: number[], o: SamplingOptions, rng: Rng, native?: NativeSampler | null): Pick[] {
  const plain = o.temperature > 0 && (o.topK === 0 || o.topK >= V) && o.topP >= 1;
  if (!native || !plain || !rows.length) return rows.map((r) => sampleToken(logits.subarray(r * V, (r + 1) * V), o, rng));
  const u = Float64Array.from(rows, () => rng.next());
  const token = new Int32Array(rows.length);
  const logprob = new Float64Array(rows.length);
  native.sampleRows(logits, V, Int32Array.from(rows), o.temperature, u, token, logprob);
  return rows.map((_, j) => ({ token: token[j], logprob: logprob[j] }));
}
