// Self-checks of the float64 Llama-family reference (reference-llama.ts) and of the Hugging Face folder
// writer (hf-folder.ts), needing no tfjs: RoPE's algebra, analytic vs finite-difference gradients, left
// padding, GQA as duplicated MHA, and the safetensors bytes read back by a reader written here.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers.js';
import { fromBF16Bits, fromF16Bits, HfDtype, roundToDtype, toBF16Bits, toF16Bits, writeHfFolder } from './hf-folder.js';
import {
  applyRope,
  finiteDifferenceGrads,
  LlamaRefConfig,
  llamaParameterShapes,
  randomLlamaWeights,
  referenceLlamaLogits,
  referenceLlamaLoss,
  referenceLlamaLossAndGrads,
  ropeInvFreq,
  Weights,
} from './reference-llama.js';

function tiny(over: Partial<LlamaRefConfig> = {}): LlamaRefConfig {
  return {
    model_type: 'llama',
    vocab_size: 13,
    hidden_size: 8,
    intermediate_size: 12,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    rope_scaling: null,
    tie_word_embeddings: false,
    max_position_embeddings: 64,
    ...over,
  };
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).to.equal(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const logitsDiff = (a: number[][], b: number[][]) => Math.max(...a.map((r, t) => maxAbs(r, b[t])));

describe('test/lm/models/reference-llama (the float64 reference itself)', () => {
  describe('RoPE', () => {
    it('is the half-split rotation: x·cos + rotate_half(x)·sin with inv_freq = 1/theta^(2i/d)', () => {
      const inv = ropeInvFreq(tiny({ hidden_size: 8, num_attention_heads: 2 })); // head_dim 4
      expect(Array.from(inv)).to.deep.equal([1, 1 / 100]);
      // x = e0: first half pairs with the second half (not interleaved neighbours)
      const y = applyRope([1, 0, 0, 0], 1, inv);
      expect(maxAbs(y, [Math.cos(1), 0, Math.sin(1), 0])).to.be.lessThan(1e-15);
      const z = applyRope([0, 0, 0, 1], 3, inv);
      expect(maxAbs(z, [0, -Math.sin(0.03), 0, Math.cos(0.03)])).to.be.lessThan(1e-15);
    });

    const scalings: [string, Partial<LlamaRefConfig>][] = [
      ['default', {}],
      ['linear', { rope_scaling: { rope_type: 'linear', factor: 4 } }],
      ['llama3', { rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 32 } }],
    ];
    for (const [name, over] of scalings) {
      it(`(${name}) preserves norms, and q·k after it depends only on the position difference`, () => {
        const cfg = tiny({ hidden_size: 32, num_attention_heads: 2, ...over }); // head_dim 16
        const inv = ropeInvFreq(cfg);
        let seed = 7;
        const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
        const q = Array.from({ length: 16 }, rnd);
        const k = Array.from({ length: 16 }, rnd);
        for (const p of [0, 1, 5, 37, 1000]) {
          expect(Math.abs(Math.hypot(...applyRope(q, p, inv)) - Math.hypot(...q))).to.be.lessThan(1e-12);
        }
        for (const [m, n] of [[3, 1], [10, 10], [40, 2], [7, 19]]) {
          const ref = dot(applyRope(q, m, inv), applyRope(k, n, inv));
          for (const s of [1, 13, 500]) expect(Math.abs(dot(applyRope(q, m + s, inv), applyRope(k, n + s, inv)) - ref)).to.be.lessThan(1e-10);
        }
        // at distance 0 the rotation cancels
        expect(Math.abs(dot(applyRope(q, 9, inv), applyRope(k, 9, inv)) - dot(q, k))).to.be.lessThan(1e-12);
      });
    }

    it('linear scaling at position p equals the unscaled rotation at p / factor', () => {
      const base = ropeInvFreq(tiny({ hidden_size: 32, num_attention_heads: 2 }));
      const lin = ropeInvFreq(tiny({ hidden_size: 32, num_attention_heads: 2, rope_scaling: { type: 'linear', factor: 4 } }));
      const x = Array.from({ length: 16 }, (_, i) => Math.sin(i + 1));
      expect(maxAbs(applyRope(x, 10, lin), applyRope(x, 2.5, base))).to.be.lessThan(1e-14);
    });

    it('llama3 scaling keeps high frequencies, divides low ones by factor, and blends continuously in between', () => {
      const rope_scaling = { rope_type: 'llama3' as const, factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
      const cfg = tiny({ hidden_size: 256, num_attention_heads: 2, rope_theta: 500000, rope_scaling }); // head_dim 128, Llama 3.1's
      const base = ropeInvFreq(tiny({ hidden_size: 256, num_attention_heads: 2, rope_theta: 500000 }));
      const inv = ropeInvFreq(cfg);
      let medium = 0;
      for (let i = 0; i < 64; i++) {
        const wavelen = (2 * Math.PI) / base[i];
        if (wavelen < 8192 / 4) expect(inv[i]).to.equal(base[i]);
        else if (wavelen > 8192 / 1) expect(inv[i]).to.be.closeTo(base[i] / 8, 1e-18);
        else {
          medium++;
          expect(inv[i]).to.be.within(base[i] / 8, base[i]);
          // the blend weight s = (8192/wavelen - 1)/3 is 0 at the low edge and 1 at the high edge
          const s = (inv[i] - base[i] / 8) / (base[i] - base[i] / 8);
          expect(s).to.be.closeTo((8192 / wavelen - 1) / 3, 1e-12);
        }
      }
      expect(medium).to.equal(6); // i = 29..34 for theta 5e5, head_dim 128
      // rope_parameters (transformers 5) is read the same way
      const v5 = ropeInvFreq(tiny({ hidden_size: 256, num_attention_heads: 2, rope_theta: undefined, rope_parameters: { ...rope_scaling, rope_theta: 500000 } }));
      expect(Array.from(v5)).to.deep.equal(Array.from(inv));
    });
  });

  describe('shapes', () => {
    it('lists transformers state_dict names in order, with each family\'s biases and norms', () => {
      const names = (c: LlamaRefConfig) => llamaParameterShapes(c).map(([n]) => n.replace(/^model\.layers\.0\./, 'L0.'));
      const layer0 = (c: LlamaRefConfig) => names(c).filter((n) => n.startsWith('L0.'));
      expect(layer0(tiny())).to.deep.equal([
        'L0.self_attn.q_proj.weight', 'L0.self_attn.k_proj.weight', 'L0.self_attn.v_proj.weight', 'L0.self_attn.o_proj.weight',
        'L0.mlp.gate_proj.weight', 'L0.mlp.up_proj.weight', 'L0.mlp.down_proj.weight',
        'L0.input_layernorm.weight', 'L0.post_attention_layernorm.weight',
      ]);
      expect(layer0(tiny({ model_type: 'qwen2' }))).to.deep.equal([
        'L0.self_attn.q_proj.weight', 'L0.self_attn.q_proj.bias', 'L0.self_attn.k_proj.weight', 'L0.self_attn.k_proj.bias',
        'L0.self_attn.v_proj.weight', 'L0.self_attn.v_proj.bias', 'L0.self_attn.o_proj.weight',
        'L0.mlp.gate_proj.weight', 'L0.mlp.up_proj.weight', 'L0.mlp.down_proj.weight',
        'L0.input_layernorm.weight', 'L0.post_attention_layernorm.weight',
      ]);
      expect(layer0(tiny({ model_type: 'qwen3' }))).to.deep.equal([
        'L0.self_attn.q_proj.weight', 'L0.self_attn.k_proj.weight', 'L0.self_attn.v_proj.weight', 'L0.self_attn.o_proj.weight',
        'L0.self_attn.q_norm.weight', 'L0.self_attn.k_norm.weight',
        'L0.mlp.gate_proj.weight', 'L0.mlp.up_proj.weight', 'L0.mlp.down_proj.weight',
        'L0.input_layernorm.weight', 'L0.post_attention_layernorm.weight',
      ]);
      expect(layer0(tiny({ attention_bias: true })).filter((n) => n.endsWith('.bias'))).to.have.length(4);
      const all = names(tiny());
      expect(all[0]).to.equal('model.embed_tokens.weight');
      expect(all.slice(-2)).to.deep.equal(['model.norm.weight', 'lm_head.weight']);
      expect(names(tiny({ tie_word_embeddings: true })).at(-1)).to.equal('model.norm.weight');
      const s = new Map(llamaParameterShapes(tiny({ model_type: 'qwen3', head_dim: 6 })));
      expect(s.get('model.layers.1.self_attn.q_proj.weight')).to.deep.equal([24, 8]);
      expect(s.get('model.layers.1.self_attn.k_proj.weight')).to.deep.equal([12, 8]);
      expect(s.get('model.layers.1.self_attn.o_proj.weight')).to.deep.equal([8, 24]);
      expect(s.get('model.layers.1.self_attn.k_norm.weight')).to.deep.equal([6]);
      expect(s.get('model.layers.1.mlp.down_proj.weight')).to.deep.equal([8, 12]);
    });
  });

  describe('forward', () => {
    it('is causal: changing a later token leaves earlier logits alone', () => {
      const cfg = tiny({ model_type: 'qwen3' });
      const w = randomLlamaWeights(cfg, 1);
      const [a] = referenceLlamaLogits(cfg, w, [[1, 2, 3, 4, 5]]);
      const [b] = referenceLlamaLogits(cfg, w, [[1, 2, 3, 9, 0]]);
      expect(logitsDiff(a.slice(0, 3), b.slice(0, 3))).to.equal(0);
      expect(logitsDiff(a.slice(3), b.slice(3))).to.be.greaterThan(1e-3);
      expect(Math.max(...a.flat().map(Math.abs))).to.be.greaterThan(1); // not trivially small
    });

    it('tied embeddings equal an untied head holding a copy of embed_tokens', () => {
      const tied = tiny({ tie_word_embeddings: true });
      const w = randomLlamaWeights(tied, 2);
      const u = new Map(w);
      u.set('lm_head.weight', Float64Array.from(w.get('model.embed_tokens.weight')!));
      const ids = [[3, 1, 4, 1, 5, 9]];
      expect(logitsDiff(referenceLlamaLogits(tied, w, ids)[0], referenceLlamaLogits(tiny(), u, ids)[0])).to.equal(0);
    });

    for (const model_type of ['llama', 'qwen2', 'qwen3'] as const) {
      it(`(${model_type}) a left-padded row's logits equal the same row alone`, () => {
        const cfg = tiny({ model_type, rope_scaling: { rope_type: 'linear', factor: 2 } });
        const w = randomLlamaWeights(cfg, 3);
        const rows = [[4, 8, 11, 12, 2, 7, 2], [5, 6, 7], [12]];
        const T = 7;
        const ids = rows.map((r) => [...new Array(T - r.length).fill(0), ...r]);
        const mask = rows.map((r) => [...new Array(T - r.length).fill(0), ...new Array(r.length).fill(1)]);
        const batch = referenceLlamaLogits(cfg, w, ids, mask);
        rows.forEach((r, b) => {
          const alone = referenceLlamaLogits(cfg, w, [r])[0];
          expect(logitsDiff(alone, batch[b].slice(T - r.length))).to.be.lessThan(1e-12);
        });
        // without the mask the padding would be read: the rows differ
        expect(logitsDiff(referenceLlamaLogits(cfg, w, [ids[1]])[0].slice(4), batch[1].slice(4))).to.be.greaterThan(1e-3);
        // and the loss of the padded batch, padded targets weighted 0, is the token-weighted mean of the rows' losses
        const full = rows.map((r) => [...r, 1]);
        const fullIds = full.map((r) => [...new Array(T + 1 - r.length).fill(0), ...r]);
        const fullMask = full.map((r) => [...new Array(T + 1 - r.length).fill(0), ...new Array(r.length).fill(1)]);
        const lossMask = fullMask.map((m) => m.slice(1).map((v, t) => v * m[t]));
        const padded = referenceLlamaLoss(cfg, w, fullIds, lossMask, fullMask);
        const perRow = full.map((r) => referenceLlamaLoss(cfg, w, [r]) * (r.length - 1));
        const n = full.reduce((a, r) => a + r.length - 1, 0);
        expect(padded).to.be.closeTo(perRow.reduce((a, v) => a + v, 0) / n, 1e-12);
      });
    }

    for (const model_type of ['llama', 'qwen2', 'qwen3', 'mistral'] as const) {
      it(`(${model_type}) GQA equals MHA with each kv head's k/v weights duplicated for its query heads`, () => {
        const gqa = tiny({ model_type, num_attention_heads: 4, num_key_value_heads: 2, attention_bias: true });
        const mha = { ...gqa, num_key_value_heads: 4 };
        const w = randomLlamaWeights(gqa, 4);
        const hd = 2;
        const dup: Weights = new Map(w);
        for (let l = 0; l < gqa.num_hidden_layers; l++) {
          for (const proj of ['k_proj', 'v_proj']) {
            for (const [suffix, rowLen] of [['weight', 8], ['bias', 1]] as const) {
              const name = `model.layers.${l}.self_attn.${proj}.${suffix}`;
              const src = w.get(name);
              if (!src) continue;
              const out = new Float64Array(4 * hd * rowLen);
              // query head h reads kv head floor(h / 2): rows [h*hd, (h+1)*hd) copy kv rows [g*hd, (g+1)*hd)
              for (let h = 0; h < 4; h++) out.set(src.subarray(Math.floor(h / 2) * hd * rowLen, (Math.floor(h / 2) + 1) * hd * rowLen), h * hd * rowLen);
              dup.set(name, out);
            }
          }
        }
        const ids = [[1, 5, 9, 2, 6, 5, 3]];
        const a = referenceLlamaLogits(gqa, w, ids)[0];
        expect(logitsDiff(a, referenceLlamaLogits(mha, dup, ids)[0])).to.be.lessThan(1e-12);
        // and not the interleaved assignment h -> h mod KV
        const wrong: Weights = new Map(dup);
        for (let l = 0; l < gqa.num_hidden_layers; l++) {
          const name = `model.layers.${l}.self_attn.k_proj.weight`;
          const src = w.get(name)!;
          const out = new Float64Array(4 * hd * 8);
          for (let h = 0; h < 4; h++) out.set(src.subarray((h % 2) * hd * 8, ((h % 2) + 1) * hd * 8), h * hd * 8);
          wrong.set(name, out);
        }
        expect(logitsDiff(a, referenceLlamaLogits(mha, wrong, ids)[0])).to.be.greaterThan(1e-3);
      });
    }
  });

  describe('gradients', () => {
    const cases: [string, Partial<LlamaRefConfig>][] = [
      // head_dim 8: inv_freq 1, 0.1, 0.01, 0.001 has wavelengths 6.3 (kept), 63 (blended), 628 and 6283 (divided)
      ['llama, biases, llama3 rope, head_dim 8, 2 heads on 1 kv head, untied', {
        attention_bias: true,
        mlp_bias: true,
        head_dim: 8,
        num_attention_heads: 2,
        num_key_value_heads: 1,
        rope_scaling: { rope_type: 'llama3', factor: 4, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 },
      }],
      ['qwen2, tied, linear rope', { model_type: 'qwen2', tie_word_embeddings: true, rope_scaling: { type: 'linear', factor: 2 } }],
      ['qwen3, head_dim 6, 1 kv head', { model_type: 'qwen3', head_dim: 6, num_key_value_heads: 1 }],
      ['mistral, MHA', { model_type: 'mistral', num_key_value_heads: 4, rope_theta: 1e6 }],
    ];
    for (const [name, over] of cases) {
      it(`the hand-written backward pass equals central finite differences (${name})`, () => {
        const cfg = tiny(over);
        const w = randomLlamaWeights(cfg, 5);
        const ids = [[0, 0, 3, 7, 1, 12], [4, 2, 9, 9, 5, 11]];
        const attentionMask = [[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]];
        const lossMask = [[0, 0, 1, 1, 1], [1, 0.5, 1, 1, 1]];
        const { loss, grads } = referenceLlamaLossAndGrads(cfg, w, ids, lossMask, attentionMask);
        expect(loss).to.be.closeTo(referenceLlamaLoss(cfg, w, ids, lossMask, attentionMask), 1e-12);
        // 40 strided entries of each tensor (all of the small ones) keep this fast; every tensor is probed
        const fd = finiteDifferenceGrads(cfg, w, ids, { lossMask, attentionMask, maxPerTensor: 40 });
        expect([...grads.keys()]).to.deep.equal(llamaParameterShapes(cfg).map(([n]) => n));
        let worst = 0;
        let scale = 0;
        let probed = 0;
        for (const [n, g] of grads) {
          const f = fd.get(n)!;
          for (let i = 0; i < g.length; i++) {
            if (Number.isNaN(f[i])) continue;
            probed++;
            worst = Math.max(worst, Math.abs(g[i] - f[i]));
          }
          scale = Math.max(scale, ...g.map(Math.abs));
        }
        expect(probed).to.be.greaterThan(500);
        expect(worst).to.be.lessThan(1e-7);
        expect(scale).to.be.greaterThan(1e-2);
        // every parameter gets some gradient (a silently unused weight would show as all zeros)
        for (const [n, g] of grads) expect(Math.max(...g.map(Math.abs)), n).to.be.greaterThan(0);
      });
    }
  });
});

// ---------------------------------------------------------------- the folder writer, read back independently

interface ReadTensor {
  dtype: string;
  shape: number[];
  values: number[];
}

/** A minimal safetensors reader, written here from the format's definition. */
function readSafetensors(bytes: Buffer): { tensors: Map<string, ReadTensor>; metadata: unknown; headerLen: number; dataLen: number } {
  const n = Number(bytes.readBigUInt64LE(0));
  const text = bytes.subarray(8, 8 + n).toString('utf8');
  expect(text).to.match(/^\{.*\} *$/s);
  const header = JSON.parse(text) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const data = bytes.subarray(8 + n);
  const entries = Object.entries(header).filter(([k]) => k !== '__metadata__');
  const sorted = [...entries].sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  let end = 0;
  const tensors = new Map<string, ReadTensor>();
  for (const [name, t] of sorted) {
    const [b, e] = t.data_offsets;
    expect(b, `${name} starts where the previous ends`).to.equal(end);
    const size = { F32: 4, F16: 2, BF16: 2 }[t.dtype];
    expect(size, t.dtype).to.be.a('number');
    expect(e - b).to.equal(t.shape.reduce((a, d) => a * d, 1) * size!);
    const values: number[] = [];
    for (let o = b; o < e; o += size!) {
      if (t.dtype === 'F32') values.push(data.readFloatLE(o));
      else if (t.dtype === 'BF16') {
        const tmp = Buffer.alloc(4);
        tmp.writeUInt16LE(data.readUInt16LE(o), 2);
        values.push(tmp.readFloatLE(0));
      } else {
        const h = data.readUInt16LE(o);
        const exp = (h >> 10) & 31;
        const frac = h & 1023;
        const mag = exp === 0 ? frac / 1024 / 16384 : exp === 31 ? (frac ? NaN : Infinity) : (1 + frac / 1024) * Math.pow(2, exp - 15);
        values.push(h & 0x8000 ? -mag : mag);
      }
    }
    tensors.set(name, { dtype: t.dtype, shape: t.shape, values });
    end = e;
  }
  expect(end, 'data ends at the file end').to.equal(data.length);
  return { tensors, metadata: header.__metadata__, headerLen: n, dataLen: data.length };
}

describe('test/lm/models/hf-folder (the Hugging Face folder writer)', () => {
  it('rounds to float16 to nearest, ties to even, with subnormals, -0, overflow', () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [1 / 3, 0x3555],
      [-2, 0xc000],
      [65504, 0x7bff],
      [65519.99, 0x7bff],
      [65520, 0x7c00],
      [1e6, 0x7c00],
      [-Infinity, 0xfc00],
      [0, 0x0000],
      [-0, 0x8000],
      [1e-8, 0x0000],
      [-1e-8, 0x8000],
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // tie between 0 and the smallest subnormal: to even, 0
      [3 * 2 ** -25, 0x0002], // tie between 1 and 2 units: to even, 2
      [1023 * 2 ** -24, 0x03ff], // largest subnormal
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -14 - 2 ** -26, 0x0400], // rounds up across the subnormal/normal boundary
      [1 + 2 ** -11, 0x3c00], // tie: to even
      [1 + 3 * 2 ** -11, 0x3c02], // tie: to even, upwards
      [1 + 2 ** -11 + 2 ** -30, 0x3c01], // just over the tie
      [0.1, 0x2e66],
    ];
    for (const [x, bits] of cases) expect(toF16Bits(x), `f16(${x})`).to.equal(bits);
    expect(toF16Bits(NaN) & 0x7c00).to.equal(0x7c00);
    expect(Number.isNaN(fromF16Bits(toF16Bits(NaN)))).to.equal(true);
    expect(Object.is(fromF16Bits(0x8000), -0)).to.equal(true);
    expect(fromF16Bits(0x3555)).to.equal(0.333251953125);
    expect(fromF16Bits(0x0001)).to.equal(2 ** -24);
    expect(Array.from(roundToDtype([1 / 3, 65504, 1e-8, -0, 2 ** -24, 70000], 'F16'))).to.deep.equal([0.333251953125, 65504, 0, -0, 2 ** -24, Infinity]);
  });

  it('rounds to bfloat16 from the float32 bits, to nearest, ties to even', () => {
    const cases: [number, number][] = [
      [1, 0x3f80],
      [1 / 3, 0x3eab], // f32 0x3EAAAAAB: low half 0xAAAB > 0x8000, up
      [65504, 0x4780], // f32 0x477FE000: up to 65536
      [1e-8, 0x322c], // f32 0x322BCC77
      [-0, 0x8000],
      [0, 0x0000],
      [1 + 2 ** -8, 0x3f80], // tie, 0x3F80 even: stays
      [1 + 3 * 2 ** -8, 0x3f82], // tie, 0x3F81 odd: up
      [2 ** -133, 0x0001], // smallest bf16 subnormal
      [2 ** -140, 0x0000], // below half of it
      [3.4e38, 0x7f80], // rounds past the largest finite bf16 to inf
      [-Infinity, 0xff80],
    ];
    for (const [x, bits] of cases) expect(toBF16Bits(x), `bf16(${x})`).to.equal(bits);
    expect(Number.isNaN(fromBF16Bits(toBF16Bits(NaN)))).to.equal(true);
    expect(fromBF16Bits(0x3eab)).to.equal(0.333984375);
    expect(Array.from(roundToDtype([1 / 3, 65504, -0, 2 ** -133], 'BF16'))).to.deep.equal([0.333984375, 65536, -0, 2 ** -133]);
    expect(roundToDtype([1 / 3], 'F32')[0]).to.equal(Math.fround(1 / 3));
  });

  for (const [dtype, shards] of [['F32', 1], ['F16', 3], ['BF16', 2]] as [HfDtype, number][]) {
    it(`writes a ${dtype} folder in ${shards} shard(s) that an independent reader parses back`, () => {
      const cfg = tiny({ model_type: 'qwen2', tie_word_embeddings: true });
      const w = randomLlamaWeights(cfg, 6);
      const dir = tempDir('rlhf-hf-');
      const tokenizer = { version: '1.0', model: { type: 'BPE', vocab: { a: 0 }, merges: [] } };
      const out = writeHfFolder(dir, cfg, w, { dtype, shards, tokenizer });
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      expect(config.architectures).to.deep.equal(['Qwen2ForCausalLM']);
      expect(config.model_type).to.equal('qwen2');
      expect(config.torch_dtype).to.equal({ F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[dtype]);
      expect(config.hidden_size).to.equal(8);
      expect(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'))).to.deep.equal(tokenizer);

      const seen = new Map<string, ReadTensor>();
      let dataBytes = 0;
      const files = shards === 1 ? ['model.safetensors'] : Array.from({ length: shards }, (_, i) => `model-0000${i + 1}-of-0000${shards}.safetensors`);
      expect(out.files).to.deep.equal(files);
      for (const f of files) {
        const bytes = readFileSync(join(dir, f));
        const r = readSafetensors(bytes);
        expect(r.headerLen % 8).to.equal(0);
        expect(r.metadata).to.deep.equal({ format: 'pt' });
        expect(r.tensors.size).to.be.greaterThan(0);
        dataBytes += r.dataLen;
        for (const [n, t] of r.tensors) {
          expect(seen.has(n), `${n} in one file only`).to.equal(false);
          seen.set(n, t);
        }
      }
      const shapes = llamaParameterShapes(cfg);
      expect([...seen.keys()].sort()).to.deep.equal(shapes.map(([n]) => n).sort());
      for (const [n, shape] of shapes) {
        const t = seen.get(n)!;
        expect(t.dtype).to.equal(dtype);
        expect(t.shape).to.deep.equal(shape);
        expect(t.values).to.deep.equal(Array.from(roundToDtype(w.get(n)!, dtype)));
      }
      expect(out.totalSize).to.equal(dataBytes);
      if (shards > 1) {
        const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
        expect(index.metadata.total_size).to.equal(dataBytes);
        expect(Object.keys(index.weight_map).sort()).to.deep.equal([...seen.keys()].sort());
        for (const f of files) {
          const inFile = [...readSafetensors(readFileSync(join(dir, f))).tensors.keys()].sort();
          expect(Object.entries(index.weight_map).filter(([, v]) => v === f).map(([k]) => k).sort()).to.deep.equal(inFile);
        }
      }
    });
  }

  it('takes extra tensors, mixed dtypes and config overrides', () => {
    const cfg = tiny({ tie_word_embeddings: true });
    const w = randomLlamaWeights(cfg, 7);
    w.set('lm_head.weight', Float64Array.from(w.get('model.embed_tokens.weight')!));
    const dir = tempDir('rlhf-hf-');
    writeHfFolder(dir, cfg, w, {
      dtype: 'BF16',
      extraShapes: { 'lm_head.weight': [13, 8] },
      tensorDtypes: { 'model.norm.weight': 'F32' },
      configOverrides: { rope_scaling: undefined, bos_token_id: 1 },
      dtypeKey: 'dtype',
    });
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config).to.not.have.property('rope_scaling');
    expect(config).to.not.have.property('torch_dtype');
    expect(config.dtype).to.equal('bfloat16');
    expect(config.bos_token_id).to.equal(1);
    const r = readSafetensors(readFileSync(join(dir, 'model.safetensors')));
    expect(r.tensors.get('model.norm.weight')!.dtype).to.equal('F32');
    expect(r.tensors.get('model.norm.weight')!.values).to.deep.equal(Array.from(roundToDtype(w.get('model.norm.weight')!, 'F32')));
    expect(r.tensors.get('lm_head.weight')!.values).to.deep.equal(r.tensors.get('model.embed_tokens.weight')!.values);
    const stray = new Map([...randomLlamaWeights(cfg, 7), ['stray', new Float64Array(1)]]);
    expect(() => writeHfFolder(tempDir('rlhf-hf-'), cfg, stray, { dtype: 'F32' })).to.throw(/stray has no shape/);
    expect(() => writeHfFolder(tempDir('rlhf-hf-'), tiny(), randomLlamaWeights(cfg, 7), { dtype: 'F32' })).to.throw(/missing weight lm_head/);
  });
});
