import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdamW } from '../../train/adamw.js';
import { CheckpointError, loadCheckpoint } from '../../lm/checkpoint.js';
import { Lora } from '../../lm/lora.js';
import { GPT } from '../../lm/model.js';
import { GPT2 } from '../../lm/models/gpt2.js';
import { SafetensorsFile } from '../../lm/safetensors.js';
import { trainStep } from '../../sft/train-step.js';
import { maxAbsDiff, tempDir, useBackend } from '../helpers.js';
import { tinyCheckpoint } from './fixtures.js';

async function logits(m: GPT, ids: number[][]): Promise<Float32Array> {
  const t = tf.tidy(() => m.forward(tf.tensor2d(ids, undefined, 'int32')).logits!);
  const d = (await t.data()) as Float32Array;
  t.dispose();
  return d;
}

const ids = [[5, 9, 100, 299, 3, 42, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8]];
const batch = [[5, 9, 100, 299, 3, 42, 7, 8, 1], [1, 2, 3, 4, 5, 6, 7, 8, 9]];

describe('lm/lora', () => {
  before(useBackend);
  let dir: string;
  before(async () => {
    dir = await tinyCheckpoint(11);
  });

  /** A model with a LoRA adapter trained for a few steps, so B is no longer zero. */
  async function trained(targets: ('attn' | 'mlp')[] = ['attn', 'mlp']) {
    const { model, tokenizer } = loadCheckpoint(dir);
    const lora = Lora.attach(model, { rank: 4, alpha: 8, targets }, 1);
    const opt = new AdamW(lora.params, { lr: 1e-2 });
    for (let s = 0; s < 5; s++) trainStep(model, opt, batch);
    return { model, tokenizer, lora };
  }

  it('trains only the adapter weights, and switching it off gives the base logits exactly', async () => {
    const base = loadCheckpoint(dir).model;
    const { model, lora } = await trained();
    for (const [name, v] of model.params) {
      expect(Array.from(v.dataSync()), name).to.deep.equal(Array.from(base.p(name).dataSync()));
    }
    const bNorm = tf.tidy(() => tf.norm(lora.params.get('h.0.attn.c_attn.lora_B')!).dataSync()[0]);
    expect(bNorm).to.be.greaterThan(0);
    const on = await logits(model, ids);
    lora.enabled = false;
    const off = await logits(model, ids);
    expect(Array.from(off)).to.deep.equal(Array.from(await logits(base, ids)));
    expect(maxAbsDiff(on, off)).to.be.greaterThan(1e-3);
    for (const m of [base, model]) m.dispose();
    lora.dispose();
  });

  it('saves and loads in PEFT layout with identical logits', async () => {
    const { model, lora } = await trained(['attn']);
    const out = tempDir();
    await lora.save(out, dir);
    const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
    expect(cfg).to.include({ peft_type: 'LORA', r: 4, lora_alpha: 8, fan_in_fan_out: true });
    expect(cfg.target_modules).to.deep.equal(['attn.c_attn', 'attn.c_proj']);
    const st = new SafetensorsFile(readFileSync(join(out, 'adapter_model.safetensors')));
    expect(st.entries.get('base_model.model.transformer.h.0.attn.c_attn.lora_A.weight')!.shape).to.deep.equal([4, 16]);
    expect(st.entries.get('base_model.model.transformer.h.0.attn.c_attn.lora_B.weight')!.shape).to.deep.equal([48, 4]);
    expect([...st.entries.keys()].some((k) => k.includes('mlp'))).to.equal(false);
    const want = await logits(model, ids);
    const fresh = loadCheckpoint(dir).model;
    const loaded = Lora.load(out, fresh);
    expect(Array.from(await logits(fresh, ids))).to.deep.equal(Array.from(want));
    for (const m of [model, fresh]) m.dispose();
    for (const l of [lora, loaded]) l.dispose();
  });

  it('merging folds the adapter into the weights: same function without it', async () => {
    const { model, lora } = await trained();
    const want = await logits(model, ids);
    const merged = lora.mergedWeights(model);
    lora.enabled = false;
    for (const [name, w] of merged) model.p(name).assign(w);
    tf.dispose([...merged.values()]);
    expect(maxAbsDiff(await logits(model, ids), want)).to.be.lessThan(1e-4);
    model.dispose();
    lora.dispose();
  });

  it('keeps tf.memory().numTensors flat over 50 LoRA training steps', () => {
    const { model } = loadCheckpoint(dir);
    const lora = Lora.attach(model, { rank: 2, alpha: 4, targets: ['attn', 'mlp'] }, 2);
    const opt = new AdamW(lora.params, { lr: 1e-3 });
    trainStep(model, opt, batch);
    const before = tf.memory().numTensors;
    for (let s = 0; s < 50; s++) trainStep(model, opt, batch);
    expect(tf.memory().numTensors).to.equal(before);
    model.dispose();
    lora.dispose();
  });

  it('refuses adapters that do not fit the model, naming the file and tensor', async () => {
    const { model, lora } = await trained(['attn']);
    const out = tempDir();
    await lora.save(out);
    const other = GPT2.init({ ...model.config, nEmbd: 32 }, 0);
    const before = tf.memory().numTensors;
    expect(() => Lora.load(out, other)).to.throw(CheckpointError, /adapter_model\.safetensors: tensor 'base_model\.model\.transformer\.h\.0\.attn\.c_attn\.lora_A\.weight' has shape \[4,16\], expected \[4,32\]/);
    expect(tf.memory().numTensors).to.equal(before);
    expect(() => Lora.load(tempDir(), other)).to.throw(CheckpointError, /adapter_config\.json: not found/);
    for (const m of [model, other]) m.dispose();
    lora.dispose();
  });
});
