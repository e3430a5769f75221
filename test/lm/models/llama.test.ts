// The Llama family (llama, qwen2, qwen3, mistral) against the independent float64 reference: logits with
// left padding, the loss and every gradient, KV-cache decoding at every step, and folders built byte by
// byte (single, sharded, BF16/F16) that load, save in transformers' layout and load again unchanged.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, loadCheckpoint, saveCheckpoint } from '../../../lm/checkpoint.js';
import { KVCache } from '../../../lm/model.js';
import type { GPT } from '../../../lm/model.js';
import { SafetensorsFile } from '../../../lm/safetensors.js';
import { AdamW } from '../../../train/adamw.js';
import { Lora } from '../../../lm/lora.js';
import { maxAbsDiff, tempDir, useBackend } from '../../helpers.js';
import { FAMILIES } from './families.js';
import { randomLlamaWeights, referenceLlamaLogits, referenceLlamaLossAndGrads, Weights } from './reference-llama.js';
import { roundToDtype, writeHfFolder } from './hf-folder.js';

/** Token ids and a left-padding mask: row 1 is row 0's last tokens behind 3 pads. */
const IDS = [[5, 17, 250, 3, 99, 42, 7, 1], [0, 0, 0, 250, 3, 99, 42, 7]];
const MASK = [[1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1, 1]];

function logitsOf(m: GPT, ids: number[][], mask?: number[][]): number[][][] {
  return tf.tidy(() => m.forward(tf.tensor2d(ids, undefined, 'int32'), mask ? { attentionMask: tf.tensor2d(mask, undefined, 'int32') } : {}).logits!.arraySync() as number[][][]);
}

/** Largest |a - b| over the real (unpadded) positions. */
function diffReal(a: number[][][], b: number[][][], mask: number[][]): number {
  let d = 0;
  for (let r = 0; r < a.length; r++) for (let t = 0; t < a[r].length; t++) if (mask[r][t]) d = Math.max(d, maxAbsDiff(a[r][t], b[r][t]));
  return d;
}

function folder(name: string, w: Weights, opts: Parameters<typeof writeHfFolder>[3] = { dtype: 'F32' }): string {
  const dir = tempDir('rlhf-llama-');
  writeHfFolder(dir, FAMILIES[name], w, opts);
  return dir;
}

describe('lm/models/llama', () => {
  before(useBackend);

  for (const [name, cfg] of Object.entries(FAMILIES)) {
    it(`${name}: logits equal the float64 reference, a left-padded row equals the row alone`, () => {
      const w = randomLlamaWeights(cfg, 1);
      const { model } = loadCheckpoint(folder(name, w));
      const before = tf.memory().numTensors;
      const ref = referenceLlamaLogits(cfg, w, IDS, MASK);
      const got = logitsOf(model, IDS, MASK);
      expect(diffReal(got, ref, MASK)).to.be.below(2e-4);
      const alone = logitsOf(model, [IDS[1].slice(3)]);
      expect(maxAbsDiff(alone[0].flat(), got[1].slice(3).flat())).to.be.below(1e-4);
      expect(tf.memory().numTensors).to.equal(before);
      model.dispose();
    });
  }

  for (const name of ['llama, untied, attention and MLP biases, linear RoPE', 'qwen3, q/k norm, head_dim 12, untied', 'qwen2, q/k/v biases, tied']) {
    it(`${name}: the loss and the gradient of every weight equal the reference's`, () => {
      const cfg = FAMILIES[name];
      const w = randomLlamaWeights(cfg, 2);
      const { model } = loadCheckpoint(folder(name, w));
      const lossMask = [[1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1]];
      const ref = referenceLlamaLossAndGrads(cfg, w, IDS, lossMask, MASK);
      const { value, grads } = tf.variableGrads(() => model.loss(tf.tensor2d(IDS, undefined, 'int32'), tf.tensor2d(lossMask), tf.tensor2d(MASK, undefined, 'int32')));
      expect(Math.abs(value.dataSync()[0] - ref.loss)).to.be.below(1e-5);
      let checked = 0;
      for (const [ours, v] of model.params) {
        const g = grads[v.name];
        const hf = ours === 'lm_head.weight' ? ours : 'model.' + ours;
        const r = ref.grads.get(hf)!;
        const flipped = /_proj\.weight$/.test(ours) ? tf.tidy(() => tf.transpose(g).dataSync()) : g.dataSync();
        const scale = Math.max(1e-3, ...Array.from(r, Math.abs));
        expect(maxAbsDiff(flipped, r) / scale, hf).to.be.below(1e-4);
        checked++;
      }
      expect(checked).to.equal(model.params.size);
      tf.dispose([value, ...Object.values(grads)]);
      model.dispose();
    });
  }

  it('decoding with the KV cache gives the full forward logits at every step (GQA, left padding)', () => {
    const name = 'qwen3, q/k norm, head_dim 12, untied';
    const { model } = loadCheckpoint(folder(name, randomLlamaWeights(FAMILIES[name], 3)));
    const before = tf.memory().numTensors;
    const full = logitsOf(model, IDS, MASK);
    const cache = new KVCache();
    const prefix = 3;
    for (let t = prefix; t <= IDS[0].length; t++) {
      const fresh = t === prefix ? IDS.map((r) => r.slice(0, prefix)) : IDS.map((r) => [r[t - 1]]);
      const step = tf.tidy(() => model.forward(tf.tensor2d(fresh, undefined, 'int32'), { cache, attentionMask: tf.tensor2d(MASK.map((r) => r.slice(0, t)), undefined, 'int32'), logits: 'last' }).logits!.arraySync() as number[][][]);
      for (let b = 0; b < 2; b++) if (MASK[b][t - 1]) expect(maxAbsDiff(step[b][0], full[b][t - 1])).to.be.below(1e-4); // a pad's logits mean nothing
    }
    expect(cache.k[0].shape[1]).to.equal(2); // only the KV heads are cached
    cache.dispose();
    expect(tf.memory().numTensors).to.equal(before);
    model.dispose();
  });

  it('sharded, BF16 and F16 folders load to the rounded values; saving keeps the dtype and transformers\' names and layout', async () => {
    const name = 'qwen2, q/k/v biases, tied';
    const cfg = FAMILIES[name];
    const w = randomLlamaWeights(cfg, 4);
    const single = loadCheckpoint(folder(name, w)).model;
    const sharded = loadCheckpoint(folder(name, w, { dtype: 'F32', shards: 3 })).model;
    expect(maxAbsDiff(logitsOf(single, IDS).flat(2), logitsOf(sharded, IDS).flat(2))).to.equal(0);
    for (const dtype of ['BF16', 'F16'] as const) {
      const dir = folder(name, w, { dtype, shards: 2 });
      const { model, tokenizer } = loadCheckpoint(dir);
      expect(model.config.dtype).to.equal(dtype);
      const rounded = roundToDtype(w.get('model.layers.1.self_attn.k_proj.weight')!, dtype); // [out, in]
      const ours = tf.tidy(() => tf.transpose(model.p('layers.1.self_attn.k_proj.weight')).dataSync()); // held [in, out]
      expect(maxAbsDiff(ours, rounded)).to.equal(0);
      const out = tempDir('rlhf-llama-save-');
      await saveCheckpoint(out, model, tokenizer);
      const cfgOut = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
      expect(cfgOut).to.include({ model_type: 'qwen2', torch_dtype: dtype === 'BF16' ? 'bfloat16' : 'float16', num_key_value_heads: 2, hidden_size: 32, tie_word_embeddings: true });
      expect(cfgOut.architectures).to.deep.equal(['Qwen2ForCausalLM']);
      const st = new SafetensorsFile(readFileSync(join(out, 'model.safetensors')));
      expect(st.entries.get('model.layers.1.self_attn.k_proj.weight')).to.include({ dtype }).and.to.have.deep.property('shape', [16, 32]);
      expect(st.entries.has('model.layers.0.self_attn.q_proj.bias')).to.equal(true);
      expect(st.entries.has('lm_head.weight')).to.equal(false);
      const again = loadCheckpoint(out).model;
      expect(maxAbsDiff(logitsOf(model, IDS).flat(2), logitsOf(again, IDS).flat(2))).to.equal(0);
      [model, again].forEach((m) => m.dispose());
    }
    [single, sharded].forEach((m) => m.dispose());
  });

  it('malformed folders fail naming the file and tensor, before any weight exists', () => {
    const name = 'llama, GQA, tied';
    const cfg = FAMILIES[name];
    const w = randomLlamaWeights(cfg, 5);
    const nan = new Map(w);
    nan.set('model.layers.0.mlp.up_proj.weight', w.get('model.layers.0.mlp.up_proj.weight')!.map((v, i) => (i === 7 ? NaN : v)));
    const cases: [string, () => string, RegExp][] = [
      ['a missing tensor', () => folder(name, w, { dtype: 'F32', configOverrides: { num_hidden_layers: 3 } }), /model\.safetensors: missing tensor 'model\.layers\.2\.self_attn\.q_proj\.weight'/],
      ['a NaN', () => folder(name, nan), /model\.safetensors: tensor 'model\.layers\.0\.mlp\.up_proj\.weight' holds a non-finite value at index 7/],
      ['a wrong head count', () => folder(name, w, { dtype: 'F32', configOverrides: { num_key_value_heads: 4 } }), /tensor 'model\.layers\.0\.self_attn\.k_proj\.weight' has shape \[16,32\], config\.json implies \[32,32\]/],
      ['an unknown RoPE rule', () => folder(name, w, { dtype: 'F32', configOverrides: { rope_scaling: { rope_type: 'yarn', factor: 4 } } }), /config\.json: rope_scaling type "yarn" is not supported/],
      ['another activation', () => folder(name, w, { dtype: 'F32', configOverrides: { hidden_act: 'gelu' } }), /config\.json: hidden_act "gelu" is not supported/],
      ['a stray tensor', () => folder(name, w, { dtype: 'F32', extraShapes: { 'model.extra.weight': [2] } }), /unexpected tensor 'model\.extra\.weight'/],
    ];
    for (const [what, make, msg] of cases) {
      let dir: string;
      try {
        dir = make();
      } catch {
        // the writer refuses weights it has no shape for: build the case by hand
        expect(what).to.equal('a stray tensor');
        const extra = new Map(w);
        extra.set('model.extra.weight', new Float64Array(2));
        dir = folder(name, extra, { dtype: 'F32', extraShapes: { 'model.extra.weight': [2] } });
      }
      const before = tf.memory().numTensors;
      expect(() => loadCheckpoint(dir), what).to.throw(CheckpointError, msg);
      expect(tf.memory().numTensors).to.equal(before);
    }
    const m = folder(name, w, { dtype: 'F32', shards: 2 });
    writeShardIndex(m, (j) => ({ ...j, weight_map: { ...j.weight_map, 'model.norm.weight': 'model-00009-of-00009.safetensors' } }));
    expect(() => loadCheckpoint(m)).to.throw(CheckpointError, /model-00009-of-00009\.safetensors: not found \(listed in .*model\.safetensors\.index\.json for tensor 'model\.norm\.weight'\)/);
  });

  it('LoRA on q_proj and v_proj (and the attn / mlp shorthands) saves in PEFT\'s layout, loads to the same logits and merges', async () => {
    const name = 'qwen2, q/k/v biases, tied';
    const { model } = loadCheckpoint(folder(name, randomLlamaWeights(FAMILIES[name], 7)));
    const lora = Lora.attach(model, { rank: 4, alpha: 8, targets: ['q_proj', 'v_proj'] }, 1);
    expect([...lora.params.keys()].filter((k) => k.startsWith('layers.0.'))).to.deep.equal(['layers.0.self_attn.q_proj.lora_A', 'layers.0.self_attn.q_proj.lora_B', 'layers.0.self_attn.v_proj.lora_A', 'layers.0.self_attn.v_proj.lora_B']);
    const opt = new AdamW(lora.params, { lr: 5e-2 });
    const ids = tf.tensor2d(IDS, undefined, 'int32');
    for (let s = 0; s < 3; s++) {
      const { value, grads } = tf.variableGrads(() => model.loss(ids), [...lora.params.values()]);
      opt.applyGradients(grads);
      tf.dispose([value, ...Object.values(grads)]);
    }
    const tuned = logitsOf(model, IDS);
    const out = tempDir('rlhf-llama-lora-');
    await lora.save(out);
    const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
    expect(cfg).to.include({ fan_in_fan_out: false, r: 4, lora_alpha: 8 });
    expect(cfg.target_modules).to.deep.equal(['self_attn.q_proj', 'self_attn.v_proj']);
    const st = new SafetensorsFile(readFileSync(join(out, 'adapter_model.safetensors')));
    expect(st.entries.get('base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight')!.shape).to.deep.equal([4, 32]); // [r, in]
    expect(st.entries.get('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight')!.shape).to.deep.equal([16, 4]); // [out, r]
    const fresh = loadCheckpoint(folder(name, randomLlamaWeights(FAMILIES[name], 7))).model;
    const loaded = Lora.load(out, fresh);
    expect(loaded.config.targets).to.deep.equal(['q_proj', 'v_proj']);
    expect(maxAbsDiff(logitsOf(fresh, IDS).flat(2), tuned.flat(2))).to.be.below(1e-5);
    const merged = loaded.mergedWeights(fresh);
    for (const [n, w] of merged) fresh.p(n).assign(w);
    tf.dispose([...merged.values()]);
    fresh.adapter = null;
    expect(maxAbsDiff(logitsOf(fresh, IDS).flat(2), tuned.flat(2))).to.be.below(1e-4);
    const all = Lora.attach(fresh, { rank: 2, alpha: 2, targets: ['attn', 'mlp'] });
    expect(all.params.size).to.equal(2 * 7 * 2); // 2 layers x 7 projections x (A, B)
    [all, loaded, lora].forEach((l) => l.dispose());
    ids.dispose();
    [model, fresh].forEach((m) => m.dispose());
  });

  it('trains with AdamW and keeps the tensor count flat', () => {
    const name = 'qwen3, q/k norm, head_dim 12, untied';
    const { model } = loadCheckpoint(folder(name, randomLlamaWeights(FAMILIES[name], 6)));
    const opt = new AdamW(model.params, { lr: 1e-2 });
    const ids = tf.tensor2d(IDS, undefined, 'int32');
    let first = 0;
    let last = 0;
    let count = 0;
    for (let s = 0; s < 12; s++) {
      const { value, grads } = tf.variableGrads(() => model.loss(ids));
      opt.applyGradients(grads);
      last = value.dataSync()[0];
      if (s === 0) first = last;
      tf.dispose([value, ...Object.values(grads)]);
      if (s === 1) count = tf.memory().numTensors;
      if (s > 1) expect(tf.memory().numTensors).to.equal(count);
    }
    expect(last).to.be.below(first * 0.8);
    ids.dispose();
    model.dispose();
  });
});

function writeShardIndex(dir: string, edit: (j: { weight_map: Record<string, string> }) => unknown): void {
  const file = join(dir, 'model.safetensors.index.json');
  const j = JSON.parse(readFileSync(file, 'utf8'));
  writeFileSync(file, JSON.stringify(edit(j)));
}
