import { expect } from 'chai';
import { join } from 'node:path';
import { Store } from '../../data/store.js';
import { loadCheckpoint } from '../../lm/checkpoint.js';
import { RewardModel } from '../../reward-models/reward-model.js';
import { startServer } from '../../server/app.js';
import { maxAbsDiff, tempDir, useBackend } from '../helpers.js';
import { tinyCheckpoint } from '../lm/fixtures.js';

describe('server: POST /api/score through the scoring worker', () => {
  before(useBackend);

  it('returns the same scores as the model in-process, enforces roles and validates the body', async () => {
    const { model, tokenizer } = loadCheckpoint(await tinyCheckpoint(2));
    const rm = new RewardModel(model, tokenizer!);
    rm.normalizeOn([0.5, -0.25, 1]);
    const rmDir = tempDir();
    await rm.save(rmDir);
    const completions = [' whale', ' the sea was calm', ' Ishmael'];
    const want = await rm.score(completions.map(() => 'Call me'), completions);
    rm.dispose();

    const store = new Store(join(tempDir(), 'rlhf.db'));
    const researcher = store.addUser('r', 'researcher');
    const labeler = store.addUser('l', 'labeler');
    const server = await startServer({ store, port: 0, rewardModel: rmDir, scoreBackend: process.env.RLHF_TEST_BACKEND ?? 'wasm' });
    const post = (token: string, body: unknown) => fetch(`${server.url}/api/score`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    try {
      const ok = await post(researcher, { prompt: 'Call me', completions });
      expect(ok.status).to.equal(200);
      const j = (await ok.json()) as { scores: number[]; raw: number[]; model: string };
      expect(j.model).to.equal(rmDir);
      expect(maxAbsDiff(j.scores, want)).to.be.below(1e-5);
      expect((await post(labeler, { prompt: 'Call me', completions })).status).to.equal(403);
      const bad = await post(researcher, { prompt: 'Call me', completions: [] });
      expect(bad.status).to.equal(400);
      expect(((await bad.json()) as { error: string }).error).to.match(/completions/);
    } finally {
      await server.close();
    }

    const bare = await startServer({ store, port: 0 });
    try {
      const r = await fetch(`${bare.url}/api/score`, { method: 'POST', headers: { Authorization: `Bearer ${researcher}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ prompt: 'p', completions: ['c'] }) });
      expect(r.status).to.equal(503);
      expect(((await r.json()) as { error: string }).error).to.match(/--reward-model/);
    } finally {
      await bare.close();
      store.close();
    }
  });

  it('answers 503 with the reason when the reward model cannot load', async () => {
    const store = new Store(join(tempDir(), 'rlhf.db'));
    const researcher = store.addUser('r', 'researcher');
    const server = await startServer({ store, port: 0, rewardModel: await tinyCheckpoint(1), scoreBackend: 'cpu' }); // an LM, not a reward model
    try {
      const r = await fetch(`${server.url}/api/score`, { method: 'POST', headers: { Authorization: `Bearer ${researcher}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ prompt: 'p', completions: ['c'] }) });
      expect(r.status).to.equal(503);
      expect(((await r.json()) as { error: string }).error).to.match(/not a reward model/);
    } finally {
      await server.close();
      store.close();
    }
  });
});
