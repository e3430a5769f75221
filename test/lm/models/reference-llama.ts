// An independent Llama-family decoder (llama, mistral, qwen2, qwen3) in float64 plain loops, written from
// the architectures' definitions (Touvron et al. 2023; Hugging Face's modeling_llama / modeling_mistral /
// modeling_qwen2 / modeling_qwen3 and modeling_rope_utils semantics). It shares no code with lm/: its input
// is a config.json object and weights under transformers' names in transformers' layout (nn.Linear [out, in]).
// Tests compare our tfjs model's logits and gradients against it; its own self-checks are in
// reference-llama.test.ts.
//
// What it computes, per decoder layer (pre-norm residual):
//   a = RMSNorm(x) · input_layernorm
//   q = a Wqᵀ (+bq), k = a Wkᵀ (+bk), v = a Wvᵀ (+bv)      split into heads of head_dim
//   qwen3: q, k ← per-head RMSNorm over head_dim (q_norm, k_norm), BEFORE RoPE
//   q, k ← RoPE (half-split: out = x·cos + rotate_half(x)·sin, rotate_half(x) = [-x₂, x₁])
//   query head h reads kv head ⌊h / (H / KV)⌋ (repeat_kv); scores q·k / √head_dim, causal, padded keys masked
//   x += o_proj(attention)                                 (qwen2: no o bias; llama: o bias iff attention_bias)
//   x += down(silu(gate(m)) · up(m)), m = RMSNorm(x) · post_attention_layernorm
// then logits = (RMSNorm(x) · model.norm) Wᵀ with W = lm_head.weight, or model.embed_tokens.weight when tied.
// Everything is float64: the softmax, the RMSNorms (transformers computes them in float32 and casts back).
// The only thing it takes from lm/ is the seeded PRNG for random weights.
import { Rng } from '../../../lm/rng.js';

export type Weights = Map<string, Float64Array>;

export type RopeScaling =
  | null
  | { rope_type?: 'default'; type?: 'default'; rope_theta?: number }
  | { rope_type?: 'linear'; type?: 'linear'; factor: number; rope_theta?: number }
  | {
      rope_type?: 'llama3';
      type?: 'llama3';
      factor: number;
      low_freq_factor: number;
      high_freq_factor: number;
      original_max_position_embeddings: number;
      rope_theta?: number;
    };

/** The config.json fields this reference reads (others are ignored). */
export interface LlamaRefConfig {
  model_type: 'llama' | 'mistral' | 'qwen2' | 'qwen3';
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** Default num_attention_heads. */
  num_key_value_heads?: number;
  /** Default hidden_size / num_attention_heads. */
  head_dim?: number | null;
  /** Default 1e-6. */
  rms_norm_eps?: number;
  /** Default 10000 (or rope_parameters.rope_theta, transformers v5's spelling). */
  rope_theta?: number;
  rope_scaling?: RopeScaling;
  /** transformers v5 spelling of rope_theta + rope_scaling; used when rope_scaling is absent. */
  rope_parameters?: RopeScaling;
  /** Default false (LlamaConfig's, Qwen2Config's and Qwen3Config's default). */
  tie_word_embeddings?: boolean;
  /** llama/qwen3: q, k, v and o biases. qwen2 always has q/k/v biases and never an o bias. Default false. */
  attention_bias?: boolean;
  /** llama: gate/up/down biases. Default false. */
  mlp_bias?: boolean;
  /** Must be 'silu' when given. */
  hidden_act?: string;
  max_position_embeddings?: number;
  [k: string]: unknown;
}

type Shape = number[];

interface Dims {
  V: number;
  C: number;
  I: number;
  L: number;
  H: number;
  KV: number;
  hd: number;
  eps: number;
  qkvBias: boolean;
  oBias: boolean;
  mlpBias: boolean;
  qkNorm: boolean;
  tied: boolean;
}

function dims(cfg: LlamaRefConfig): Dims {
  const H = cfg.num_attention_heads;
  const KV = cfg.num_key_value_heads ?? H;
  const hd = cfg.head_dim ?? cfg.hidden_size / H;
  if (!['llama', 'mistral', 'qwen2', 'qwen3'].includes(cfg.model_type)) throw new Error(`reference-llama: model_type ${cfg.model_type}`);
  if (cfg.hidden_act !== undefined && cfg.hidden_act !== 'silu') throw new Error(`reference-llama: hidden_act ${cfg.hidden_act}`);
  if (!Number.isInteger(hd) || hd % 2) throw new Error(`reference-llama: head_dim ${hd} must be an even integer`);
  if (H % KV) throw new Error(`reference-llama: ${H} heads not a multiple of ${KV} kv heads`);
  const t = cfg.model_type;
  const ab = cfg.attention_bias ?? false;
  return {
    V: cfg.vocab_size,
    C: cfg.hidden_size,
    I: cfg.intermediate_size,
    L: cfg.num_hidden_layers,
    H,
    KV,
    hd,
    eps: cfg.rms_norm_eps ?? 1e-6,
    qkvBias: t === 'qwen2' ? true : t === 'mistral' ? false : ab,
    oBias: t === 'qwen2' || t === 'mistral' ? false : ab,
    mlpBias: t === 'llama' ? (cfg.mlp_bias ?? false) : false,
    qkNorm: t === 'qwen3',
    tied: cfg.tie_word_embeddings ?? false,
  };
}

/**
 * Every parameter [name, shape] in transformers' state_dict order (embed_tokens; per layer self_attn
 * q,k,v,o (weight then bias), q_norm, k_norm, mlp gate, up, down, input_layernorm, post_attention_layernorm;
 * model.norm; lm_head). A tied model has no lm_head.weight here (as in its safetensors files).
 */
export function llamaParameterShapes(cfg: LlamaRefConfig): [string, Shape][] {
  const d = dims(cfg);
  const out: [string, Shape][] = [['model.embed_tokens.weight', [d.V, d.C]]];
  for (let l = 0; l < d.L; l++) {
    const p = `model.layers.${l}.`;
    const lin = (n: string, o: number, i: number, bias: boolean) => {
      out.push([p + n + '.weight', [o, i]]);
      if (bias) out.push([p + n + '.bias', [o]]);
    };
    lin('self_attn.q_proj', d.H * d.hd, d.C, d.qkvBias);
    lin('self_attn.k_proj', d.KV * d.hd, d.C, d.qkvBias);
    lin('self_attn.v_proj', d.KV * d.hd, d.C, d.qkvBias);
    lin('self_attn.o_proj', d.C, d.H * d.hd, d.oBias);
    if (d.qkNorm) {
      out.push([p + 'self_attn.q_norm.weight', [d.hd]]);
      out.push([p + 'self_attn.k_norm.weight', [d.hd]]);
    }
    lin('mlp.gate_proj', d.I, d.C, d.mlpBias);
    lin('mlp.up_proj', d.I, d.C, d.mlpBias);
    lin('mlp.down_proj', d.C, d.I, d.mlpBias);
    out.push([p + 'input_layernorm.weight', [d.C]]);
    out.push([p + 'post_attention_layernorm.weight', [d.C]]);
  }
  out.push(['model.norm.weight', [d.C]]);
  if (!d.tied) out.push(['lm_head.weight', [d.V, d.C]]);
  return out;
}

/**
 * Random weights large enough that a wrong op shows, in llamaParameterShapes order from one seeded stream:
 * N(0, 0.3) matrices and embeddings, N(0, 0.1) biases, RMSNorm gains (…norm.weight, q_norm/k_norm too) 1 + N(0, 0.1).
 */
export function randomLlamaWeights(cfg: LlamaRefConfig, seed: number): Weights {
  const rng = new Rng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const w: Weights = new Map();
  for (const [name, shape] of llamaParameterShapes(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const isGain = /norm\.weight$/.test(name);
    const sd = name.endsWith('.bias') ? 0.1 : 0.3;
    w.set(name, Float64Array.from({ length: n }, () => (isGain ? 1 + 0.1 * normal() : sd * normal())));
  }
  return w;
}

// ---------------------------------------------------------------- RoPE

function ropeSpec(cfg: LlamaRefConfig): { theta: number; scaling: RopeScaling } {
  const scaling = cfg.rope_scaling ?? cfg.rope_parameters ?? null;
  const theta = cfg.rope_theta ?? (scaling && 'rope_theta' in scaling ? scaling.rope_theta : undefined) ?? 10000;
  return { theta, scaling };
}

/**
 * inv_freq [head_dim/2]: 1 / theta^(2i/d); 'linear' divides it by factor (the same as dividing positions);
 * 'llama3' (transformers' _compute_llama3_parameters): with wavelen = 2π / inv_freq,
 * low = original_max_position_embeddings / low_freq_factor, high = original_max_position_embeddings / high_freq_factor:
 * wavelen < high keeps inv_freq, wavelen > low divides it by factor, in between (inclusive) it is
 * (1 - s) · inv_freq / factor + s · inv_freq with s = (original_max_position_embeddings / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor).
 * The attention factor of both is 1 (cos and sin are not rescaled).
 */
export function ropeInvFreq(cfg: LlamaRefConfig): Float64Array {
  const hd = dims(cfg).hd;
  const { theta, scaling } = ropeSpec(cfg);
  const inv = Float64Array.from({ length: hd / 2 }, (_, i) => 1 / Math.pow(theta, (2 * i) / hd));
  const kind = scaling ? (scaling.rope_type ?? scaling.type ?? 'default') : 'default';
  if (kind === 'default') return inv;
  if (kind === 'linear') {
    const f = (scaling as { factor: number }).factor;
    return inv.map((v) => v / f);
  }
  if (kind === 'llama3') {
    const s = scaling as { factor: number; low_freq_factor: number; high_freq_factor: number; original_max_position_embeddings: number };
    const old = s.original_max_position_embeddings;
    const lowWavelen = old / s.low_freq_factor;
    const highWavelen = old / s.high_freq_factor;
    return inv.map((f) => {
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < highWavelen) return f;
      if (wavelen > lowWavelen) return f / s.factor;
      const smooth = (old / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      return ((1 - smooth) * f) / s.factor + smooth * f;
    });
  }
  throw new Error(`reference-llama: rope type ${kind} not supported`);
}

/** cos and sin [head_dim] of one position: angle of component j is pos · inv_freq[j mod head_dim/2] (cat(freqs, freqs)). */
export function ropeCosSin(invFreq: Float64Array, pos: number): { cos: Float64Array; sin: Float64Array } {
  const half = invFreq.length;
  const cos = new Float64Array(2 * half);
  const sin = new Float64Array(2 * half);
  for (let j = 0; j < half; j++) {
    const a = pos * invFreq[j];
    cos[j] = cos[j + half] = Math.cos(a);
    sin[j] = sin[j + half] = Math.sin(a);
  }
  return { cos, sin };
}

/** RoPE of one head vector x [head_dim] at position pos: x·cos + rotate_half(x)·sin, rotate_half(x) = cat(-x[half:], x[:half]). */
export function applyRope(x: ArrayLike<number>, pos: number, invFreq: Float64Array): Float64Array {
  const { cos, sin } = ropeCosSin(invFreq, pos);
  const half = invFreq.length;
  const out = new Float64Array(2 * half);
  for (let j = 0; j < half; j++) {
    out[j] = x[j] * cos[j] - x[j + half] * sin[j];
    out[j + half] = x[j + half] * cos[j + half] + x[j] * sin[j + half];
  }
  return out;
}

// ---------------------------------------------------------------- one sequence, forward and backward

type Mat = Float64Array[]; // rows

/** y = x Wᵀ + b with W [out, in] (nn.Linear). */
function linear(x: Mat, W: Float64Array, b: Float64Array | undefined, nIn: number, nOut: number): Mat {
  return x.map((row) => {
    const out = b ? Float64Array.from(b) : new Float64Array(nOut);
    for (let o = 0; o < nOut; o++) {
      let s = 0;
      const off = o * nIn;
      for (let i = 0; i < nIn; i++) s += row[i] * W[off + i];
      out[o] += s;
    }
    return out;
  });
}

/** Backward of linear: accumulates dW (and db), returns dx. */
function linearBack(x: Mat, dy: Mat, W: Float64Array, dW: Float64Array, db: Float64Array | undefined, nIn: number, nOut: number): Mat {
  return dy.map((g, t) => {
    const dx = new Float64Array(nIn);
    const xr = x[t];
    for (let o = 0; o < nOut; o++) {
      const go = g[o];
      if (go === 0) continue;
      const off = o * nIn;
      for (let i = 0; i < nIn; i++) {
        dx[i] += go * W[off + i];
        dW[off + i] += go * xr[i];
      }
      if (db) db[o] += go;
    }
    return dx;
  });
}

/** RMSNorm of a segment [off, off+n) of row: x / sqrt(mean(x²) + eps) · w. Returns r = 1/sqrt(mean(x²)+eps). */
function rmsSeg(row: Float64Array, off: number, n: number, w: Float64Array, eps: number, out: Float64Array): number {
  let ms = 0;
  for (let i = 0; i < n; i++) ms += row[off + i] ** 2;
  const r = 1 / Math.sqrt(ms / n + eps);
  for (let i = 0; i < n; i++) out[off + i] = row[off + i] * r * w[i];
  return r;
}

/** Backward of rmsSeg: dx_j = r·g_j − (r³/n)·x_j·Σ g_i x_i with g = dy·w; dw += dy·x·r. */
function rmsSegBack(row: Float64Array, off: number, n: number, w: Float64Array, r: number, dy: Float64Array, dw: Float64Array, dx: Float64Array): void {
  let dot = 0;
  for (let i = 0; i < n; i++) {
    const x = row[off + i];
    dw[i] += dy[off + i] * x * r;
    dot += dy[off + i] * w[i] * x;
  }
  const c = (r * r * r * dot) / n;
  for (let i = 0; i < n; i++) dx[off + i] += r * dy[off + i] * w[i] - c * row[off + i];
}

function rmsNorm(x: Mat, w: Float64Array, eps: number): { y: Mat; r: number[] } {
  const r: number[] = [];
  const y = x.map((row) => {
    const out = new Float64Array(row.length);
    r.push(rmsSeg(row, 0, row.length, w, eps, out));
    return out;
  });
  return { y, r };
}

function rmsNormBack(x: Mat, w: Float64Array, r: number[], dy: Mat, dw: Float64Array): Mat {
  return x.map((row, t) => {
    const dx = new Float64Array(row.length);
    rmsSegBack(row, 0, row.length, w, r[t], dy[t], dw, dx);
    return dx;
  });
}

/** Per-head RMSNorm (qwen3 q_norm / k_norm) over each head_dim segment. */
function headNorm(x: Mat, heads: number, hd: number, w: Float64Array, eps: number): { y: Mat; r: number[][] } {
  const r: number[][] = [];
  const y = x.map((row) => {
    const out = new Float64Array(row.length);
    const rr: number[] = [];
    for (let h = 0; h < heads; h++) rr.push(rmsSeg(row, h * hd, hd, w, eps, out));
    r.push(rr);
    return out;
  });
  return { y, r };
}

function headNormBack(x: Mat, heads: number, hd: number, w: Float64Array, r: number[][], dy: Mat, dw: Float64Array): Mat {
  return x.map((row, t) => {
    const dx = new Float64Array(row.length);
    for (let h = 0; h < heads; h++) rmsSegBack(row, h * hd, hd, w, r[t][h], dy[t], dw, dx);
    return dx;
  });
}

/** RoPE every head of every row in place-free form; positions per row. */
function ropeRows(x: Mat, heads: number, hd: number, pos: number[], inv: Float64Array, sign: 1 | -1): Mat {
  const half = hd / 2;
  return x.map((row, t) => {
    const out = new Float64Array(row.length);
    const { cos, sin } = ropeCosSin(inv, pos[t]);
    for (let h = 0; h < heads; h++) {
      const o = h * hd;
      for (let j = 0; j < half; j++) {
        const a = row[o + j];
        const b = row[o + j + half];
        // forward (sign 1): [a c − b s, b c + a s]; backward (sign −1) is the transposed rotation
        out[o + j] = a * cos[j] - sign * b * sin[j];
        out[o + j + half] = b * cos[j] + sign * a * sin[j];
      }
    }
    return out;
  });
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

interface LayerCache {
  xIn: Mat;
  rIn: number[];
  a: Mat;
  qRaw: Mat;
  kRaw: Mat;
  qN?: { y: Mat; r: number[][] };
  kN?: { y: Mat; r: number[][] };
  q: Mat; // after RoPE
  k: Mat; // after RoPE
  v: Mat;
  probs: Float64Array[][]; // [H][T] rows over keys (length T)
  attn: Mat; // [T][H*hd]
  x1: Mat;
  rPost: number[];
  m: Mat;
  gate: Mat;
  up: Mat;
  hmid: Mat;
}

interface SeqCache {
  layers: LayerCache[];
  xFinal: Mat;
  rFinal: number[];
  n: Mat;
  logits: Mat;
}

/** Keys query t may see: causal and unpadded; a query that sees none (a padded query of a left-padded row) sees all keys, as transformers' SDPA path does (its logits are not meant to be used). */
function allowedKeys(T: number, mask: number[]): boolean[][] {
  return Array.from({ length: T }, (_, t) => {
    const row = Array.from({ length: T }, (_, u) => u <= t && mask[u] !== 0);
    return row.some(Boolean) ? row : row.map(() => true);
  });
}

/** HF's left-padding positions: cumsum(mask) − 1, clamped at 0. */
export function positionIdsOf(mask: number[]): number[] {
  let c = 0;
  return mask.map((m) => {
    c += m ? 1 : 0;
    return Math.max(c - 1, 0);
  });
}

function forwardSeq(cfg: LlamaRefConfig, w: Weights, ids: number[], mask: number[]): SeqCache {
  const d = dims(cfg);
  const W = (n: string): Float64Array => {
    const v = w.get(n);
    if (!v) throw new Error(`reference-llama: missing weight ${n}`);
    return v;
  };
  const T = ids.length;
  const pos = positionIdsOf(mask);
  const inv = ropeInvFreq(cfg);
  const allowed = allowedKeys(T, mask);
  const E = W('model.embed_tokens.weight');
  let x: Mat = ids.map((id) => {
    if (!(id >= 0 && id < d.V)) throw new Error(`reference-llama: token id ${id} outside vocab ${d.V}`);
    return E.slice(id * d.C, (id + 1) * d.C);
  });
  const scale = 1 / Math.sqrt(d.hd);
  const rep = d.H / d.KV;
  const layers: LayerCache[] = [];
  for (let l = 0; l < d.L; l++) {
    const p = `model.layers.${l}.`;
    const xIn = x;
    const { y: a, r: rIn } = rmsNorm(xIn, W(p + 'input_layernorm.weight'), d.eps);
    const qRaw = linear(a, W(p + 'self_attn.q_proj.weight'), d.qkvBias ? W(p + 'self_attn.q_proj.bias') : undefined, d.C, d.H * d.hd);
    const kRaw = linear(a, W(p + 'self_attn.k_proj.weight'), d.qkvBias ? W(p + 'self_attn.k_proj.bias') : undefined, d.C, d.KV * d.hd);
    const v = linear(a, W(p + 'self_attn.v_proj.weight'), d.qkvBias ? W(p + 'self_attn.v_proj.bias') : undefined, d.C, d.KV * d.hd);
    const qN = d.qkNorm ? headNorm(qRaw, d.H, d.hd, W(p + 'self_attn.q_norm.weight'), d.eps) : undefined;
    const kN = d.qkNorm ? headNorm(kRaw, d.KV, d.hd, W(p + 'self_attn.k_norm.weight'), d.eps) : undefined;
    const q = ropeRows(qN ? qN.y : qRaw, d.H, d.hd, pos, inv, 1);
    const k = ropeRows(kN ? kN.y : kRaw, d.KV, d.hd, pos, inv, 1);
    const attn: Mat = ids.map(() => new Float64Array(d.H * d.hd));
    const probs: Float64Array[][] = [];
    for (let h = 0; h < d.H; h++) {
      const g = Math.floor(h / rep);
      const ph: Float64Array[] = [];
      for (let t = 0; t < T; t++) {
        const s = new Float64Array(T).fill(-Infinity);
        let mx = -Infinity;
        for (let u = 0; u < T; u++) {
          if (!allowed[t][u]) continue;
          let dot = 0;
          for (let j = 0; j < d.hd; j++) dot += q[t][h * d.hd + j] * k[u][g * d.hd + j];
          s[u] = dot * scale;
          mx = Math.max(mx, s[u]);
        }
        let z = 0;
        for (let u = 0; u < T; u++) z += s[u] = allowed[t][u] ? Math.exp(s[u] - mx) : 0;
        for (let u = 0; u < T; u++) {
          s[u] /= z;
          if (s[u] === 0) continue;
          for (let j = 0; j < d.hd; j++) attn[t][h * d.hd + j] += s[u] * v[u][g * d.hd + j];
        }
        ph.push(s);
      }
      probs.push(ph);
    }
    const o = linear(attn, W(p + 'self_attn.o_proj.weight'), d.oBias ? W(p + 'self_attn.o_proj.bias') : undefined, d.H * d.hd, d.C);
    const x1 = xIn.map((row, t) => row.map((val, j) => val + o[t][j]));
    const { y: m, r: rPost } = rmsNorm(x1, W(p + 'post_attention_layernorm.weight'), d.eps);
    const gate = linear(m, W(p + 'mlp.gate_proj.weight'), d.mlpBias ? W(p + 'mlp.gate_proj.bias') : undefined, d.C, d.I);
    const up = linear(m, W(p + 'mlp.up_proj.weight'), d.mlpBias ? W(p + 'mlp.up_proj.bias') : undefined, d.C, d.I);
    const hmid = gate.map((row, t) => row.map((z, i) => z * sigmoid(z) * up[t][i]));
    const down = linear(hmid, W(p + 'mlp.down_proj.weight'), d.mlpBias ? W(p + 'mlp.down_proj.bias') : undefined, d.I, d.C);
    x = x1.map((row, t) => row.map((val, j) => val + down[t][j]));
    layers.push({ xIn, rIn, a, qRaw, kRaw, qN, kN, q, k, v, probs, attn, x1, rPost, m, gate, up, hmid });
  }
  const { y: n, r: rFinal } = rmsNorm(x, W('model.norm.weight'), d.eps);
  const head = d.tied ? E : W('lm_head.weight');
  const logits = linear(n, head, undefined, d.C, d.V);
  return { layers, xFinal: x, rFinal, n, logits };
}

/** Accumulates into grads the gradient of Σ_t Σ_v dLogits[t][v] · logits[t][v] for one sequence. */
function backwardSeq(cfg: LlamaRefConfig, w: Weights, ids: number[], mask: number[], c: SeqCache, dLogits: Mat, grads: Weights): void {
  const d = dims(cfg);
  const W = (n: string) => w.get(n)!;
  const G = (n: string) => grads.get(n)!;
  const T = ids.length;
  const pos = positionIdsOf(mask);
  const inv = ropeInvFreq(cfg);
  const headName = d.tied ? 'model.embed_tokens.weight' : 'lm_head.weight';
  const dn = linearBack(c.n, dLogits, W(headName), G(headName), undefined, d.C, d.V);
  let dx = rmsNormBack(c.xFinal, W('model.norm.weight'), c.rFinal, dn, G('model.norm.weight'));
  const scale = 1 / Math.sqrt(d.hd);
  const rep = d.H / d.KV;
  for (let l = d.L - 1; l >= 0; l--) {
    const p = `model.layers.${l}.`;
    const L = c.layers[l];
    const bias = (n: string, on: boolean) => (on ? G(p + n + '.bias') : undefined);
    // MLP: x = x1 + down(hmid)
    const dHmid = linearBack(L.hmid, dx, W(p + 'mlp.down_proj.weight'), G(p + 'mlp.down_proj.weight'), bias('mlp.down_proj', d.mlpBias), d.I, d.C);
    const dGate: Mat = [];
    const dUp: Mat = [];
    for (let t = 0; t < T; t++) {
      const dg = new Float64Array(d.I);
      const du = new Float64Array(d.I);
      for (let i = 0; i < d.I; i++) {
        const z = L.gate[t][i];
        const s = sigmoid(z);
        du[i] = dHmid[t][i] * z * s;
        dg[i] = dHmid[t][i] * L.up[t][i] * s * (1 + z * (1 - s));
      }
      dGate.push(dg);
      dUp.push(du);
    }
    const dm1 = linearBack(L.m, dGate, W(p + 'mlp.gate_proj.weight'), G(p + 'mlp.gate_proj.weight'), bias('mlp.gate_proj', d.mlpBias), d.C, d.I);
    const dm2 = linearBack(L.m, dUp, W(p + 'mlp.up_proj.weight'), G(p + 'mlp.up_proj.weight'), bias('mlp.up_proj', d.mlpBias), d.C, d.I);
    const dm = dm1.map((row, t) => row.map((val, j) => val + dm2[t][j]));
    const dx1n = rmsNormBack(L.x1, W(p + 'post_attention_layernorm.weight'), L.rPost, dm, G(p + 'post_attention_layernorm.weight'));
    const dx1 = dx.map((row, t) => row.map((val, j) => val + dx1n[t][j]));
    // attention: x1 = xIn + o_proj(attn)
    const dAttn = linearBack(L.attn, dx1, W(p + 'self_attn.o_proj.weight'), G(p + 'self_attn.o_proj.weight'), bias('self_attn.o_proj', d.oBias), d.H * d.hd, d.C);
    const dq: Mat = ids.map(() => new Float64Array(d.H * d.hd));
    const dk: Mat = ids.map(() => new Float64Array(d.KV * d.hd));
    const dv: Mat = ids.map(() => new Float64Array(d.KV * d.hd));
    for (let h = 0; h < d.H; h++) {
      const g = Math.floor(h / rep);
      for (let t = 0; t < T; t++) {
        const pr = L.probs[h][t];
        const dp = new Float64Array(T);
        let sum = 0;
        for (let u = 0; u < T; u++) {
          if (pr[u] === 0) continue;
          let dot = 0;
          for (let j = 0; j < d.hd; j++) {
            const go = dAttn[t][h * d.hd + j];
            dot += go * L.v[u][g * d.hd + j];
            dv[u][g * d.hd + j] += pr[u] * go;
          }
          dp[u] = dot;
          sum += pr[u] * dot;
        }
        for (let u = 0; u < T; u++) {
          if (pr[u] === 0) continue;
          const ds = pr[u] * (dp[u] - sum) * scale;
          for (let j = 0; j < d.hd; j++) {
            dq[t][h * d.hd + j] += ds * L.k[u][g * d.hd + j];
            dk[u][g * d.hd + j] += ds * L.q[t][h * d.hd + j];
          }
        }
      }
    }
    let dqPre = ropeRows(dq, d.H, d.hd, pos, inv, -1);
    let dkPre = ropeRows(dk, d.KV, d.hd, pos, inv, -1);
    if (d.qkNorm) {
      dqPre = headNormBack(L.qRaw, d.H, d.hd, W(p + 'self_attn.q_norm.weight'), L.qN!.r, dqPre, G(p + 'self_attn.q_norm.weight'));
      dkPre = headNormBack(L.kRaw, d.KV, d.hd, W(p + 'self_attn.k_norm.weight'), L.kN!.r, dkPre, G(p + 'self_attn.k_norm.weight'));
    }
    const da1 = linearBack(L.a, dqPre, W(p + 'self_attn.q_proj.weight'), G(p + 'self_attn.q_proj.weight'), bias('self_attn.q_proj', d.qkvBias), d.C, d.H * d.hd);
    const da2 = linearBack(L.a, dkPre, W(p + 'self_attn.k_proj.weight'), G(p + 'self_attn.k_proj.weight'), bias('self_attn.k_proj', d.qkvBias), d.C, d.KV * d.hd);
    const da3 = linearBack(L.a, dv, W(p + 'self_attn.v_proj.weight'), G(p + 'self_attn.v_proj.weight'), bias('self_attn.v_proj', d.qkvBias), d.C, d.KV * d.hd);
    const da = da1.map((row, t) => row.map((val, j) => val + da2[t][j] + da3[t][j]));
    const dxn = rmsNormBack(L.xIn, W(p + 'input_layernorm.weight'), L.rIn, da, G(p + 'input_layernorm.weight'));
    dx = dx1.map((row, t) => row.map((val, j) => val + dxn[t][j]));
  }
  const dE = G('model.embed_tokens.weight');
  ids.forEach((id, t) => {
    for (let j = 0; j < d.C; j++) dE[id * d.C + j] += dx[t][j];
  });
}

// ---------------------------------------------------------------- public API

function checkBatch(ids: number[][], mask: number[][] | undefined, T: number): void {
  if (!ids.length) throw new Error('reference-llama: empty batch');
  for (const r of ids) if (r.length !== ids[0].length) throw new Error('reference-llama: ragged ids (pad them and pass a mask)');
  if (mask) {
    if (mask.length !== ids.length) throw new Error('reference-llama: mask rows differ from ids rows');
    for (const r of mask) if (r.length < T) throw new Error('reference-llama: mask shorter than ids');
  }
}

/**
 * Logits [B][T][V] of ids [B][T]. mask [B][T] (optional; 1 real, 0 padding): padded keys are masked and
 * positions are cumsum(mask) − 1 clamped at 0 (left padding as transformers does it). Logits at padded
 * positions are not meant to be compared (here a query that sees no key attends to all keys).
 */
export function referenceLlamaLogits(cfg: LlamaRefConfig, w: Weights, ids: number[][], mask?: number[][]): number[][][] {
  checkBatch(ids, mask, ids[0]?.length ?? 0);
  return ids.map((row, b) => {
    const m = mask ? mask[b].slice(0, row.length) : row.map(() => 1);
    return forwardSeq(cfg, w, row, m).logits.map((r) => Array.from(r));
  });
}

interface LossPlan {
  inputs: number[][];
  targets: number[][];
  weights: number[][];
  masks: number[][];
  total: number;
}

function lossPlan(ids: number[][], lossMask?: number[][], attentionMask?: number[][]): LossPlan {
  const T = ids[0].length - 1;
  if (T < 1) throw new Error('reference-llama: loss needs ids of length >= 2');
  checkBatch(ids, attentionMask, T);
  const inputs = ids.map((r) => r.slice(0, T));
  const targets = ids.map((r) => r.slice(1));
  const weights = ids.map((_, b) => {
    const lm = lossMask?.[b];
    if (lm && lm.length !== T) throw new Error(`reference-llama: lossMask rows must have ${T} entries`);
    return Array.from({ length: T }, (_, t) => (lm ? lm[t] : 1));
  });
  const masks = ids.map((_, b) => (attentionMask ? attentionMask[b].slice(0, T) : new Array(T).fill(1)));
  const total = Math.max(weights.flat().reduce((a, v) => a + v, 0), 1e-12);
  return { inputs, targets, weights, masks, total };
}

/**
 * Mean next-token cross-entropy as lm's loss defines it: ids [B][T+1], inputs ids[:, :-1], targets ids[:, 1:];
 * lossMask [B][T] (optional) weights each target, loss = Σ w·nll / max(Σ w, 1e-12); attentionMask [B][T+1]
 * or [B][T] (optional; its first T columns mask the inputs). With padding, give padded targets weight 0.
 */
export function referenceLlamaLoss(cfg: LlamaRefConfig, w: Weights, ids: number[][], lossMask?: number[][], attentionMask?: number[][]): number {
  const plan = lossPlan(ids, lossMask, attentionMask);
  let sum = 0;
  plan.inputs.forEach((row, b) => {
    const { logits } = forwardSeq(cfg, w, row, plan.masks[b]);
    logits.forEach((z, t) => {
      const wt = plan.weights[b][t];
      if (wt === 0) return;
      let mx = -Infinity;
      for (const v of z) mx = Math.max(mx, v);
      let s = 0;
      for (const v of z) s += Math.exp(v - mx);
      sum += wt * (mx + Math.log(s) - z[plan.targets[b][t]]);
    });
  });
  return sum / plan.total;
}

/** The loss of referenceLlamaLoss and its exact gradient w.r.t. every weight, by a hand-written float64 backward pass. */
export function referenceLlamaLossAndGrads(
  cfg: LlamaRefConfig,
  w: Weights,
  ids: number[][],
  lossMask?: number[][],
  attentionMask?: number[][],
): { loss: number; grads: Weights } {
  const plan = lossPlan(ids, lossMask, attentionMask);
  const grads: Weights = new Map();
  for (const [name] of llamaParameterShapes(cfg)) grads.set(name, new Float64Array(w.get(name)!.length));
  let sum = 0;
  plan.inputs.forEach((row, b) => {
    const cache = forwardSeq(cfg, w, row, plan.masks[b]);
    const dLogits = cache.logits.map((z, t) => {
      const g = new Float64Array(z.length);
      const wt = plan.weights[b][t];
      if (wt === 0) return g;
      let mx = -Infinity;
      for (const v of z) mx = Math.max(mx, v);
      let s = 0;
      for (const v of z) s += Math.exp(v - mx);
      const lse = mx + Math.log(s);
      sum += wt * (lse - z[plan.targets[b][t]]);
      const coef = wt / plan.total;
      for (let v = 0; v < z.length; v++) g[v] = coef * Math.exp(z[v] - lse);
      g[plan.targets[b][t]] -= coef;
      return g;
    });
    backwardSeq(cfg, w, row, plan.masks[b], cache, dLogits, grads);
  });
  return { loss: sum / plan.total, grads };
}

/**
 * Central finite differences (L(w + h) − L(w − h)) / 2h of referenceLlamaLoss, in float64, for every entry
 * of the named weights (all by default), or for maxPerTensor evenly strided entries of each (first and last
 * included; the others are NaN). Costs two forward passes per entry: only for tiny configs (~1e3 parameters). With h = 1e-5 the truncation error is O(h²·L''') ≈ 1e-10 and the rounding error
 * O(ε·L / h) ≈ 1e-11, so it agrees with the analytic gradient to ~1e-8.
 */
export function finiteDifferenceGrads(
  cfg: LlamaRefConfig,
  w: Weights,
  ids: number[][],
  opts: { lossMask?: number[][]; attentionMask?: number[][]; step?: number; names?: string[]; maxPerTensor?: number } = {},
): Weights {
  const h = opts.step ?? 1e-5;
  const names = opts.names ?? llamaParameterShapes(cfg).map(([n]) => n);
  const out: Weights = new Map();
  for (const name of names) {
    const p = w.get(name)!;
    const g = new Float64Array(p.length).fill(NaN);
    const max = opts.maxPerTensor ?? Infinity;
    const probe = p.length <= max ? p.keys() : Array.from({ length: max }, (_, j) => Math.round((j * (p.length - 1)) / (max - 1)));
    for (const i of probe) {
      const keep = p[i];
      p[i] = keep + h;
      const up = referenceLlamaLoss(cfg, w, ids, opts.lossMask, opts.attentionMask);
      p[i] = keep - h;
      const dn = referenceLlamaLoss(cfg, w, ids, opts.lossMask, opts.attentionMask);
      p[i] = keep;
      g[i] = (up - dn) / (2 * h);
    }
    out.set(name, g);
  }
  return out;
}
