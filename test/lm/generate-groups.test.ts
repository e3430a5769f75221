// Several completions per prompt (numReturnSequences, for GRPO and RLOO): one prefill per prompt whose KV
// cache is repeated over the group must give what the prompts repeated G times give with the same seed,
// on GPT-2 and on a Llama with grouped-query attention, in either cache layout (the native backend's
// in-place buffers, which the fused kernel writes, or wasm's concat tensors).
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { loadCheckpoint } from '../../lm/checkpoint.js';
import { configFromHF } from '../../lm/hf-config.js';
import { Completion, generate, GenerateOptions } from '../../lm/generate.js';
import { KVCache, repeatRows } from '../../lm/kv-cache.js';
import { GPT } from '../../lm/model.js';
import { Llama } from '../../lm/models/llama.js';
import { Tokenizer } from '../../lm/tokenizer.js';
import { maxAbsDiff, useBackend } from '../helpers.js';
import { smallTokenizer, tinyCheckpoint } from './fixtures.js';
import { FAMILIES } from './models/families.js';

/** Prompts of different lengths, so the rows are left-padded by different amounts. */
const PROMPTS = ['Call me Ishmael.', 'The whale', 'It is a way I have of driving off the spleen'];
const BASE = { maxNewTokens: 10, temperature: 1, topK: 0, topP: 1, seed: 11, eosId: null };

const repeated = <T>(a: T[], G: number) => a.flatMap((p) => Array.from({ length: G }, () => p));

/** Same ids, texts, finish reasons and prompts; logprobs within 1e-5 (the prefill's batch differs, so may its GEMM rounding). */
function expectSame(a: Completion[], b: Completion[]): void {
  expect(a.map((c) => c.ids)).to.deep.equal(b.map((c) => c.ids));
  expect(a.map((c) => [c.text, c.finishReason, c.prompt, c.promptIds])).to.deep.equal(b.map((c) => [c.text, c.finishReason, c.prompt, c.promptIds]));
  for (let i = 0; i < a.length; i++) expect(maxAbsDiff(a[i].logprobs, b[i].logprobs)).to.be.below(1e-5);
}

/** The last-position logits of ids [B, T] (mask [B, T]) after `cache` holds the earlier positions, as numbers. */
function stepLogits(model: GPT, ids: number[][], mask: number[][], cache: KVCache): number[] {
  return tf.tidy(() => {
    const r = model.forward(tf.tensor2d(ids, undefined, 'int32'), { attentionMask: tf.tensor2d(mask, undefined, 'int32'), cache, logits: 'last' });
    return Array.from(r.logits!.dataSync());
  });
}

const MODELS: { name: string; load: () => Promise<{ model: GPT; tok: Tokenizer }> }[] = [
  {
    name: 'GPT-2 tiny',
    load: async () => {
      const ck = loadCheckpoint(await tinyCheckpoint(5));
      return { model: ck.model, tok: ck.tokenizer! };
    },
  },
  {
    // The small tokenizer has 300 ids, the families' vocabulary size.
    name: 'Llama, GQA 4/2',
    load: async () => ({ model: Llama.init(configFromHF(FAMILIES['llama, GQA, tied']), 3), tok: smallTokenizer() }),
  },
];

for (const { name, load } of MODELS) {
  describe(`lm/generate numReturnSequences: ${name}`, () => {
    before(useBackend);
    let model: GPT;
    let tok: Tokenizer;
    before(async () => ({ model, tok } = await load()));
    after(() => model.dispose());
    const run = (prompts: (string | number[])[], o: Partial<GenerateOptions> = {}) => generate(model, tok, prompts, { ...BASE, ...o });

    it('G = 1 is the call without the option, bit for bit', async () => {
      expect(await run(PROMPTS, { numReturnSequences: 1 })).to.deep.equal(await run(PROMPTS));
    });

    it('G = 3 equals the prompts repeated 3 times: plain temperature, top-k/top-p and greedy', async () => {
      for (const o of [{}, { topK: 40, topP: 0.9, temperature: 0.8 }, { temperature: 0 }]) {
        const shared = await run(PROMPTS, { ...o, numReturnSequences: 3 });
        expect(shared).to.have.length(9);
        expectSame(shared, await run(repeated(PROMPTS, 3), o));
        if (!Object.keys(o).length) {
          // The rows of a group share a prompt, not their draws.
          expect(new Set(shared.slice(0, 3).map((c) => c.ids.join()))).to.have.length(3);
        }
      }
    });

    it('G = 3 equals repeated prompts when rows end at EOS or at a stop string, and with token-id prompts', async () => {
      const free = await run(PROMPTS, { numReturnSequences: 3, maxNewTokens: 16 });
      // An EOS that one row samples early: that row stops, its group's other rows and the other groups go on.
      const eos = free[4].ids[2];
      const withEos = await run(PROMPTS, { numReturnSequences: 3, maxNewTokens: 16, eosId: eos });
      expectSame(withEos, await run(repeated(PROMPTS, 3), { maxNewTokens: 16, eosId: eos }));
      expect(withEos[4].finishReason).to.equal('eos');
      expect(withEos.some((c) => c.finishReason === 'length')).to.equal(true);
      // A stop string from one row's text.
      const stop = free[7].text.slice(2, 4);
      const withStop = await run(PROMPTS, { numReturnSequences: 3, maxNewTokens: 16, stop: [stop] });
      expectSame(withStop, await run(repeated(PROMPTS, 3), { maxNewTokens: 16, stop: [stop] }));
      expect(withStop[7].finishReason).to.equal('stop');
      // Token ids, one of them empty (it starts from BOS).
      const ids = [[5, 17, 250, 3], [], [99]];
      expectSame(await run(ids, { numReturnSequences: 2 }), await run(repeated(ids, 2)));
    });

    it('without the cache, G = 2 also equals repeated prompts', async () => {
      expectSame(await run(PROMPTS, { numReturnSequences: 2, useCache: false }), await run(repeated(PROMPTS, 2), { useCache: false }));
    });

    it('repeatRows gives each row fresh buffers of the same length and capacity that decode like a repeated prefill', () => {
      const ids = [[7, 8, 9, 10], [0, 0, 11, 12]];
      const mask = [[1, 1, 1, 1], [0, 0, 1, 1]];
      const G = 3;
      const [shared, direct] = [new KVCache(8), new KVCache(8)];
      stepLogits(model, ids, mask, shared);
      const inPlace = shared.layout === 'in-place';
      expect(shared.layout).to.equal(process.env.RLHF_TEST_BACKEND === 'native' ? 'in-place' : 'concat');
      const shapes = shared.k.map((t) => t.shape.slice(1));
      const before = tf.memory().numTensors;
      repeatRows(shared, G);
      expect(tf.memory().numTensors).to.equal(before);
      expect(shared.length).to.equal(4);
      expect(shared.k.map((t) => t.shape)).to.deep.equal(shapes.map((s) => [2 * G, ...s]));
      if (inPlace) expect(shared.v[0].shape[2]).to.equal(8); // the reserved capacity is kept
      // Every row decodes its own token: in the in-place layout a buffer shared between rows would mix them.
      const rowsIds = repeated(ids, G);
      const rowsMask = repeated(mask, G);
      stepLogits(model, rowsIds, rowsMask, direct);
      const next = rowsIds.map((_, r) => [20 + r]);
      const m2 = rowsMask.map((m) => [...m, 1]);
      for (let step = 0; step < 3; step++) {
        const a = stepLogits(model, next, m2, shared);
        const b = stepLogits(model, next, m2, direct);
        expect(maxAbsDiff(a, b)).to.be.below(1e-5);
        m2.forEach((m) => m.push(1));
        next.forEach((n, r) => (n[0] = 40 + step * 7 + r));
      }
      shared.dispose();
      direct.dispose();
    });

    it('keeps tf.memory().numTensors flat and refuses a bad numReturnSequences', async () => {
      const before = tf.memory().numTensors;
      await run(PROMPTS, { numReturnSequences: 4, maxNewTokens: 20 });
      await run(PROMPTS, { numReturnSequences: 2, useCache: false });
      expect(tf.memory().numTensors).to.equal(before);
      for (const bad of [0, 1.5, -2]) {
        let err = '';
        await run(PROMPTS, { numReturnSequences: bad }).catch((e: Error) => (err = e.message));
        expect(err).to.match(/numReturnSequences must be an integer >= 1/);
      }
    });
  });
}
