import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, loadCheckpoint, saveCheckpoint } from '../../lm/checkpoint.js';
import { GPT } from '../../lm/model.js';
import { GPT2 } from '../../lm/models/gpt2.js';
import { parameterShapes } from '../../lm/models/registry.js';
import { SafetensorsFile, serializeSafetensors } from '../../lm/safetensors.js';
import { tempDir, useBackend } from '../helpers.js';
import { tinyCheckpoint } from './fixtures.js';

async function logits(m: GPT, ids: number[]): Promise<Float32Array> {
  const t = tf.tidy(() => m.forward(tf.tensor2d([ids], undefined, 'int32')).logits!);
  const d = (await t.data()) as Float32Array;
  t.dispose();
  return d;
}

/** Rewrite a checkpoint's model.safetensors with tensors renamed/converted by `edit`. */
function rewrite(src: string, edit: (name: string, data: Float32Array) => { name: string; dtype?: 'BF16' | 'F16'; data: Float32Array }[]): string {
  const dir = tempDir();
  for (const f of ['config.json', 'tokenizer.json']) copyFileSync(join(src, f), join(dir, f));
  const st = new SafetensorsFile(readFileSync(join(src, 'model.safetensors')));
  const header: Record<string, unknown> = {};
  const chunks: Uint8Array[] = [];
  let off = 0;
  for (const [name, e] of st.entries) {
    for (const out of edit(name, st.float32(name))) {
      let bytes: Uint8Array;
      if (out.dtype === 'BF16') {
        const u = new Uint32Array(Float32Array.from(out.data).buffer);
        bytes = new Uint8Array(Uint16Array.from(u, (x) => x >>> 16).buffer);
      } else if (out.dtype === 'F16') {
        bytes = new Uint8Array(Uint16Array.from(out.data, toF16).buffer);
      } else bytes = new Uint8Array(Float32Array.from(out.data).buffer);
      header[out.name] = { dtype: out.dtype ?? 'F32', shape: e.shape, data_offsets: [off, off + bytes.length] };
      chunks.push(bytes);
      off += bytes.length;
    }
  }
  const head = Buffer.from(JSON.stringify(header));
  const file = Buffer.concat([Buffer.alloc(8), head, ...chunks]);
  file.writeBigUInt64LE(BigInt(head.length), 0);
  writeFileSync(join(dir, 'model.safetensors'), file);
  return dir;
}

/** Half-precision bits of a value that f16 represents exactly (normal range or zero). */
function toF16(v: number): number {
  if (v === 0) return 0;
  const sign = v < 0 ? 0x8000 : 0;
  const e = Math.floor(Math.log2(Math.abs(v)));
  const frac = Math.round((Math.abs(v) / 2 ** e - 1) * 1024);
  return sign | ((e + 15) << 10) | frac;
}

describe('lm/checkpoint', () => {
  before(useBackend);
  let dir: string;
  before(async () => {
    dir = await tinyCheckpoint(7);
  });
  const ids = [5, 9, 100, 299, 3, 42];

  it('save -> load gives identical logits and tokenizer, and leaves no temp files', async () => {
    const a = loadCheckpoint(dir);
    const out = tempDir();
    await saveCheckpoint(out, a.model, a.tokenizer);
    expect(readdirSync(out).sort()).to.deep.equal(['config.json', 'model.safetensors', 'tokenizer.json']);
    const b = loadCheckpoint(out);
    expect(Array.from(await logits(b.model, ids))).to.deep.equal(Array.from(await logits(a.model, ids)));
    expect(b.tokenizer!.encode('Call me Ishmael.')).to.deep.equal(a.tokenizer!.encode('Call me Ishmael.'));
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg).to.include({ model_type: 'gpt2', n_embd: 16, n_layer: 2, n_head: 4, n_positions: 128 });
    a.model.dispose();
    b.model.dispose();
  });

  it("loads GPT-2's HF layout: transformer. prefix, tied lm_head.weight, attn.bias buffers", async () => {
    const hf = rewrite(dir, (name, data) => {
      const out = [{ name: 'transformer.' + name, data }];
      if (name === 'wte.weight') out.push({ name: 'lm_head.weight', data });
      if (name === 'h.0.ln_1.bias') out.push({ name: 'transformer.h.0.attn.bias', data });
      return out;
    });
    const a = loadCheckpoint(dir);
    const b = loadCheckpoint(hf);
    expect(Array.from(await logits(b.model, ids))).to.deep.equal(Array.from(await logits(a.model, ids)));
    a.model.dispose();
    b.model.dispose();
  });

  it('reads BF16 and F16 weights to the values they encode', async () => {
    const bf = loadCheckpoint(rewrite(dir, (name, data) => [{ name, dtype: 'BF16', data }]));
    const w = (await bf.model.p('h.1.mlp.c_fc.weight').data()) as Float32Array;
    const orig = new SafetensorsFile(readFileSync(join(dir, 'model.safetensors'))).float32('h.1.mlp.c_fc.weight');
    const truncated = new Float32Array(new Uint32Array(orig.buffer.slice(0)).map((x) => x & 0xffff0000).buffer);
    expect(Array.from(w)).to.deep.equal(Array.from(truncated));
    bf.model.dispose();
    // F16: round weights to multiples of 1/256 in [-2, 2], which half precision holds exactly.
    const q = (d: Float32Array) => d.map((v) => Math.max(-512, Math.min(512, Math.round(v * 256))) / 256 + 0); // + 0: no -0
    const f16 = loadCheckpoint(rewrite(dir, (name, data) => [{ name, dtype: 'F16', data: q(data) }]));
    expect(Array.from((await f16.model.p('wte.weight').data()) as Float32Array)).to.deep.equal(
      Array.from(q(new SafetensorsFile(readFileSync(join(dir, 'model.safetensors'))).float32('wte.weight'))),
    );
    f16.model.dispose();
  });

  describe('malformed checkpoints fail with the file and tensor named, and load nothing', () => {
    const broken: [string, () => string, RegExp][] = [
      ['missing config.json', () => tempDir(), /config\.json: not found/],
      ['bad JSON in config.json', () => { const d = rewrite(dir, (n, data) => [{ name: n, data }]); writeFileSync(join(d, 'config.json'), '{"model_type": "gpt2",'); return d; }, /config\.json: bad JSON/],
      ['a config for an architecture we do not run', () => { const d = rewrite(dir, (n, data) => [{ name: n, data }]); writeFileSync(join(d, 'config.json'), JSON.stringify({ model_type: 'phi3' })); return d; }, /config\.json: model_type "phi3" is not supported \(supported: gpt2, llama, qwen2, qwen3, mistral\)/],
      ['a llama config missing a field', () => { const d = rewrite(dir, (n, data) => [{ name: n, data }]); writeFileSync(join(d, 'config.json'), JSON.stringify({ model_type: 'llama' })); return d; }, /config\.json: vocab_size is missing \(a llama config needs it\)/],
      ['a config whose shapes disagree with the tensors', () => {
        const d = rewrite(dir, (n, data) => [{ name: n, data }]);
        const c = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
        writeFileSync(join(d, 'config.json'), JSON.stringify({ ...c, n_embd: 32 }));
        return d;
      }, /model\.safetensors: tensor 'wte\.weight' has shape \[300,16\], config\.json implies \[300,32\]/],
      ['a missing tensor', () => rewrite(dir, (n, data) => (n === 'h.1.ln_2.bias' ? [] : [{ name: n, data }])), /model\.safetensors: missing tensor 'h\.1\.ln_2\.bias'/],
      ['an unexpected tensor', () => rewrite(dir, (n, data) => [{ name: n, data }, ...(n === 'ln_f.bias' ? [{ name: 'h.9.ln_1.bias', data }] : [])]), /unexpected tensor 'h\.9\.ln_1\.bias'/],
      ['a NaN weight', () => rewrite(dir, (n, data) => [{ name: n, data: n === 'wpe.weight' ? data.map((v, i) => (i === 3 ? NaN : v)) : data }]), /tensor 'wpe\.weight' holds a non-finite value at index 3/],
      ['truncated weights', () => { const d = rewrite(dir, (n, data) => [{ name: n, data }]); const b = readFileSync(join(d, 'model.safetensors')); writeFileSync(join(d, 'model.safetensors'), b.subarray(0, b.length - 10)); return d; }, /model\.safetensors: tensor '.*': truncated/],
      ['an untied lm_head', () => rewrite(dir, (n, data) => [{ name: n, data }, ...(n === 'wte.weight' ? [{ name: 'lm_head.weight', data: data.map((v) => v + 1) }] : [])]), /'lm_head\.weight' differs from wte/],
      ['a corrupt tokenizer.json', () => { const d = rewrite(dir, (n, data) => [{ name: n, data }]); writeFileSync(join(d, 'tokenizer.json'), '{"model": 3}'); return d; }, /tokenizer\.json: expected a BPE model/],
    ];
    for (const [what, make, msg] of broken) {
      it(what, () => {
        const d = make();
        const before = tf.memory().numTensors;
        expect(() => loadCheckpoint(d)).to.throw(CheckpointError, msg);
        expect(tf.memory().numTensors).to.equal(before);
      });
    }
  });

  it('a save that fails part-way leaves the previous checkpoint intact', async () => {
    const out = tempDir();
    const a = loadCheckpoint(dir);
    await saveCheckpoint(out, a.model, a.tokenizer);
    const good = await logits(a.model, ids);
    const victim = GPT2.init(a.model.config, 99);
    victim.p('h.1.mlp.c_fc.weight').dispose(); // reading it during the save will throw
    let threw = false;
    try {
      await saveCheckpoint(out, victim, a.tokenizer);
    } catch {
      threw = true;
    }
    expect(threw).to.equal(true);
    expect(readdirSync(out).sort()).to.deep.equal(['config.json', 'model.safetensors', 'tokenizer.json']);
    const b = loadCheckpoint(out);
    expect(Array.from(await logits(b.model, ids))).to.deep.equal(Array.from(good));
    for (const m of [a.model, b.model]) m.dispose();
    for (const [n] of parameterShapes(victim.config)) if (n !== 'h.1.mlp.c_fc.weight') victim.p(n).dispose();
  });

  it('serializes in GPT-2 order with F32 tensors', () => {
    const st = new SafetensorsFile(readFileSync(join(dir, 'model.safetensors')));
    expect([...st.entries.keys()].slice(0, 3)).to.deep.equal(['wte.weight', 'wpe.weight', 'h.0.ln_1.weight']);
    expect(new Set([...st.entries.values()].map((e) => e.dtype))).to.deep.equal(new Set(['F32']));
    expect(serializeSafetensors([]).length).to.be.greaterThan(8);
  });
});
