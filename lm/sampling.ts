// Picking the next token from one row of logits: temperature, top-k, top-p, then a seeded draw.
// Pure JS in float64, so a seed gives the same tokens on every backend that gives the same logits.
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

function logSumExp(z: Float64Array | Float32Array, keep?: Uint8Array): number {
  let max = -Infinity;
  for (let i = 0; i < z.length; i++) if ((!keep || keep[i]) && z[i] > max) max = z[i];
  let s = 0;
  for (let i = 0; i < z.length; i++) if (!keep || keep[i]) s += Math.exp(z[i] - max);
  return max + Math.log(s);
}

/** Choose a token from logits (one row, length V). */
export function sampleToken(logits: Float32Array, o: SamplingOptions, rng: Rng): Pick {
  const V = logits.length;
  if (o.temperature === 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    return { token: best, logprob: logits[best] - logSumExp(logits) };
  }
  const z = new Float64Array(V);
  for (let i = 0; i < V; i++) z[i] = logits[i] / o.temperature;
  const keep = new Uint8Array(V).fill(1);
  if (o.topK > 0 && o.topK < V) {
    const kth = Float64Array.from(z).sort()[V - o.topK]; // k-th largest
    for (let i = 0; i < V; i++) if (z[i] < kth) keep[i] = 0;
  }
  if (o.topP < 1) {
    const lse = logSumExp(z, keep);
    const probs: number[] = [];
    for (let i = 0; i < V; i++) if (keep[i]) probs.push(Math.exp(z[i] - lse));
    const sorted = Float64Array.from(probs).sort().reverse();
    let cum = 0;
    let cut = sorted[0];
    for (const p of sorted) {
      cum += p;
      cut = p;
      if (cum >= o.topP) break;
    }
    for (let i = 0; i < V; i++) if (keep[i] && Math.exp(z[i] - lse) < cut) keep[i] = 0;
  }
  const lse = logSumExp(z, keep);
  let u = rng.next();
  let last = -1;
  for (let i = 0; i < V; i++) {
    if (!keep[i]) continue;
    last = i;
    u -= Math.exp(z[i] - lse);
    if (u < 0) return { token: i, logprob: z[i] - lse };
  }
  return { token: last, logprob: z[last] - lse }; // rounding left u just above 0
}
