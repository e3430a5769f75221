// An independent GPT-2 in float64 plain loops, written from the architecture's definition
// (Radford et al. 2019; Hugging Face's GPT2Model): it shares no code with lm/ beyond the weight names.
// Tests compare our tfjs model's logits and gradients against it.
import { GPTConfig } from '../../../lm/config.js';

export type Weights = Map<string, Float64Array>;
type Mat = Float64Array[]; // rows

function linear(x: Mat, w: Float64Array, b: Float64Array, nIn: number, nOut: number): Mat {
  return x.map((row) => {
    const out = Float64Array.from(b);
    for (let i = 0; i < nIn; i++) {
      const xi = row[i];
      for (let j = 0; j < nOut; j++) out[j] += xi * w[i * nOut + j]; // Conv1D: w is [in, out]
    }
    return out;
  });
}

function layerNorm(x: Mat, g: Float64Array, b: Float64Array, eps: number): Mat {
  return x.map((row) => {
    const n = row.length;
    const mean = row.reduce((a, v) => a + v, 0) / n;
    const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / n;
    return row.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * g[i] + b[i]);
  });
}

const gelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));

/** Logits [T][V] of one unpadded sequence starting at position 0. */
export function referenceLogits(c: GPTConfig, w: Weights, ids: number[]): Mat {
  const C = c.nEmbd;
  const H = c.nHead;
  const hd = C / H;
  const T = ids.length;
  const W = (n: string) => w.get(n)!;
  let x: Mat = ids.map((id, t) => {
    const row = new Float64Array(C);
    for (let j = 0; j < C; j++) row[j] = W('wte.weight')[id * C + j] + W('wpe.weight')[t * C + j];
    return row;
  });
  for (let l = 0; l < c.nLayer; l++) {
    const p = `h.${l}.`;
    const a = layerNorm(x, W(p + 'ln_1.weight'), W(p + 'ln_1.bias'), c.layerNormEpsilon);
    const qkv = linear(a, W(p + 'attn.c_attn.weight'), W(p + 'attn.c_attn.bias'), C, 3 * C);
    const y: Mat = ids.map(() => new Float64Array(C));
    const scale = 1 / Math.sqrt(hd) / (c.scaleAttnByInverseLayerIdx ? l + 1 : 1);
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const s: number[] = [];
        for (let u = 0; u <= t; u++) {
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += qkv[t][h * hd + d] * qkv[u][C + h * hd + d];
          s.push(dot * scale);
        }
        const m = Math.max(...s);
        const e = s.map((v) => Math.exp(v - m));
        const z = e.reduce((a2, v) => a2 + v, 0);
        for (let u = 0; u <= t; u++) {
          for (let d = 0; d < hd; d++) y[t][h * hd + d] += (e[u] / z) * qkv[u][2 * C + h * hd + d];
        }
      }
    }
    const proj = linear(y, W(p + 'attn.c_proj.weight'), W(p + 'attn.c_proj.bias'), C, C);
    x = x.map((row, t) => row.map((v, j) => v + proj[t][j]));
    const m2 = layerNorm(x, W(p + 'ln_2.weight'), W(p + 'ln_2.bias'), c.layerNormEpsilon);
    const f = linear(m2, W(p + 'mlp.c_fc.weight'), W(p + 'mlp.c_fc.bias'), C, c.nInner).map((r) => r.map(gelu));
    const o = linear(f, W(p + 'mlp.c_proj.weight'), W(p + 'mlp.c_proj.bias'), c.nInner, C);
    x = x.map((row, t) => row.map((v, j) => v + o[t][j]));
  }
  const hN = layerNorm(x, W('ln_f.weight'), W('ln_f.bias'), c.layerNormEpsilon);
  const E = W('wte.weight');
  return hN.map((row) => {
    const out = new Float64Array(c.vocabSize);
    for (let v = 0; v < c.vocabSize; v++) {
      let dot = 0;
      for (let j = 0; j < C; j++) dot += row[j] * E[v * C + j];
      out[v] = dot;
    }
    return out;
  });
}

/** Mean next-token cross-entropy over each sequence of `batch`, as lm's GPT.loss computes it. */
export function referenceLoss(c: GPTConfig, w: Weights, batch: number[][]): number {
  let total = 0;
  let n = 0;
  for (const ids of batch) {
    const logits = referenceLogits(c, w, ids.slice(0, -1));
    logits.forEach((row, t) => {
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
      total += lse - row[ids[t + 1]];
      n++;
    });
  }
  return total / n;
}
