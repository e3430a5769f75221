import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { loadCheckpoint } from '../../lm/checkpoint.js';
import { generate } from '../../lm/generate.js';
import { GPT } from '../../lm/model.js';
import { Tokenizer } from '../../lm/tokenizer.js';
import { useBackend } from '../helpers.js';
import { tinyCheckpoint } from './fixtures.js';

describe('lm/generate', () => {
  before(useBackend);
  let model: GPT;
  let tok: Tokenizer;
  before(async () => {
    const ck = loadCheckpoint(await tinyCheckpoint(3));
    model = ck.model;
    tok = ck.tokenizer!;
  });
  after(() => model.dispose());
  const prompts = ['Call me Ishmael.', 'The whale', 'It is a way I have of driving off the spleen'];
  const base = { maxNewTokens: 12, temperature: 1, topK: 0, topP: 1, seed: 7, eosId: null };

  it('with and without the KV cache gives the same tokens and log-probabilities', async () => {
    const a = await generate(model, tok, prompts, base);
    const b = await generate(model, tok, prompts, { ...base, useCache: false });
    expect(a.map((c) => c.ids)).to.deep.equal(b.map((c) => c.ids));
    for (let i = 0; i < a.length; i++) {
      for (let j = 0; j < a[i].logprobs.length; j++) expect(a[i].logprobs[j]).to.be.closeTo(b[i].logprobs[j], 1e-4);
    }
  });

  it('a seed makes a run reproducible, and another seed changes it', async () => {
    const a = await generate(model, tok, prompts, base);
    const b = await generate(model, tok, prompts, base);
    const c = await generate(model, tok, prompts, { ...base, seed: 8 });
    expect(a).to.deep.equal(b);
    expect(a.map((x) => x.ids)).to.not.deep.equal(c.map((x) => x.ids));
  });

  it('batched rows equal the same prompts run one at a time (greedy)', async () => {
    const greedy = { ...base, temperature: 0 };
    const batch = await generate(model, tok, prompts, greedy);
    for (let i = 0; i < prompts.length; i++) {
      const [alone] = await generate(model, tok, [prompts[i]], greedy);
      expect(alone.ids).to.deep.equal(batch[i].ids);
    }
  });

  it('logprobs are log softmax(logits / T) of a full forward at each sampled token', async () => {
    const [c] = await generate(model, tok, [prompts[0]], { ...base, temperature: 0.7 });
    const ids = [...c.promptIds, ...c.ids];
    const lp = tf.tidy(() => {
      const logits = model.forward(tf.tensor2d([ids.slice(0, -1)], undefined, 'int32')).logits!;
      return tf.logSoftmax(tf.div(logits, 0.7)).squeeze([0]);
    });
    const rows = (await lp.array()) as number[][];
    lp.dispose();
    c.ids.forEach((id, j) => expect(c.logprobs[j]).to.be.closeTo(rows[c.promptIds.length - 1 + j][id], 1e-4));
  });

  it('returns ids, text and logprobs that agree, and stops at EOS and at stop strings', async () => {
    const res = await generate(model, tok, prompts, { ...base, maxNewTokens: 20 });
    for (const r of res) {
      expect(r.ids).to.have.length(r.logprobs.length);
      expect(r.text).to.equal(tok.decode(r.ids));
      expect(r.finishReason).to.equal('length');
      expect(r.promptIds).to.deep.equal(tok.encode(r.prompt));
    }
    // Declare the token sampled at step 3 of a single-prompt run to be EOS: the same seed then stops there.
    const [one] = await generate(model, tok, [prompts[0]], { ...base, maxNewTokens: 20 });
    const eos = one.ids[3];
    const withEos = await generate(model, tok, [prompts[0]], { ...base, maxNewTokens: 20, eosId: eos });
    const first = withEos[0].ids.indexOf(eos);
    expect(withEos[0].finishReason).to.equal('eos');
    expect(withEos[0].ids).to.have.length(first + 1);
    expect(withEos[0].text).to.equal(tok.decode(withEos[0].ids.slice(0, -1)));
    // Stop string: a piece of what the same single-prompt run writes.
    const [free] = await generate(model, tok, [prompts[1]], { ...base, maxNewTokens: 20 });
    const stop = free.text.slice(4, 7);
    const [s] = await generate(model, tok, [prompts[1]], { ...base, maxNewTokens: 20, stop: [stop] });
    expect(s.finishReason).to.equal('stop');
    expect(s.text).to.equal(free.text.slice(0, free.text.indexOf(stop)));
    expect(s.ids.length).to.be.lessThan(20);
  });

  it('keeps tf.memory().numTensors flat over 50 generate steps', async () => {
    const before = tf.memory().numTensors;
    await generate(model, tok, prompts, { ...base, maxNewTokens: 50 });
    await generate(model, tok, prompts, { ...base, maxNewTokens: 50, useCache: false });
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('refuses prompts that do not fit, ids outside the vocabulary and bad options', async () => {
    const long = 'x '.repeat(200);
    let err = '';
    await generate(model, tok, [long], base).catch((e: Error) => (err = e.message));
    expect(err).to.match(/exceeds the model's 128 positions/);
    await generate(model, tok, [[5, 100000]], base).catch((e: Error) => (err = e.message));
    expect(err).to.match(/outside the vocabulary/);
    await generate(model, tok, ['a'], { ...base, topP: 2 }).catch((e: Error) => (err = e.message));
    expect(err).to.match(/top-p/);
  });
});
