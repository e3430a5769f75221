// The online loop's pieces without PPO around them: the live policy's samples go into the labeling queue,
// new labels start a reward-model refresh (a real `rlhf train-rm` child), and once it is ready PPO is handed
// the refreshed model at its next step boundary; the loop's state is kept for a resume.
import { expect } from 'chai';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OnlineFeedback } from '../../rl/online/loop.js';
import { MemorySink } from '../../data/metrics-sink.js';
import { Store } from '../../data/store.js';
import { loadCheckpoint } from '../../lm/checkpoint.js';
import { resolveOnlineFeedback } from '../../rl/online/config.js';
import { tempDir, useBackend } from '../helpers.js';
import { tinyCheckpoint } from '../lm/fixtures.js';

describe('rl/online: tasks out, labels in, a refreshed reward model back', function () {
  this.timeout(180_000);
  before(useBackend);

  it('sends policy samples as tasks, refreshes the reward model after enough labels, and hands it over once', async () => {
    const dir = tempDir();
    const model = await tinyCheckpoint(4);
    const prompts = join(dir, 'prompts.txt');
    writeFileSync(prompts, ['Call me', 'The whale', 'The sea', 'At night'].join('\n') + '\n');
    const db = join(dir, 'rlhf.db');
    new Store(db).close();
    const cfg = resolveOnlineFeedback({ db, everySteps: 2, prompts: 4, k: 2, maxNewTokens: 4, refreshEveryLabels: 6, rmEpochs: 1, rmValFraction: 0 }, 'test', { rmBase: 'previous' });
    const out = join(dir, 'ppo');
    const sink = new MemorySink();
    const online = new OnlineFeedback(cfg, { id: 'run1', out, model, reward: 'sentiment', prompts, seed: 3 }, sink, false);
    const { model: policy, tokenizer } = loadCheckpoint(model);
    const store = new Store(db);
    try {
      await online.onStep(1, policy, tokenizer!); // not a round: nothing sent
      expect(store.db.prepare('SELECT count(*) FROM tasks').pluck().get()).to.equal(0);
      await online.onStep(2, policy, tokenizer!);
      const sent = store.db.prepare("SELECT count(*) FROM tasks WHERE source = 'run:run1'").pluck().get();
      expect(sent).to.equal(4);
      const tagged = store.db.prepare('SELECT count(*) FROM completions WHERE step = 2').pluck().get(); // run_id only for runs in the store
      expect(tagged).to.equal(8);
      expect(await online.pollReward()).to.equal(null);

      // Labels arrive (an import stands in for labelers); the next step starts a refresh in a child process.
      store.importPairs(Array.from({ length: 8 }, (_, i) => ({ prompt: `p${i}`, chosen: ' whale whale', rejected: ` sea ${i}` })), 'importer');
      await online.onStep(3, policy, tokenizer!);
      expect(sink.records.some((r) => r.type === 'event' && r.kind === 'reward-model-refresh')).to.equal(true);
      await online.settle();
      const ready = sink.records.find((r) => r.type === 'event' && r.kind === 'reward-model-ready');
      expect(ready, JSON.stringify(sink.records.filter((r) => r.type === 'event'))).to.not.equal(undefined);
      const source = await online.pollReward();
      expect(source!.name).to.match(/reward-model:.*reward-models\/v1\/final$/);
      const scores = await source!.score(['Call me', 'Call me'], [' whale whale', ' sea 3']);
      expect(scores.every(Number.isFinite)).to.equal(true);
      source!.dispose?.();
      expect(await online.pollReward()).to.equal(null); // handed over once
      const state = JSON.parse(readFileSync(join(out, 'online-state.json'), 'utf8'));
      expect(state).to.include({ version: 1, tasksSent: 4 });
      await online.onStep(4, policy, tokenizer!);
      const last = sink.records.filter((r) => r.type === 'metrics').at(-1)!;
      expect(last.type === 'metrics' && last.metrics['online/rm_version']).to.equal(1);
      expect(last.type === 'metrics' && last.metrics['online/labels']).to.equal(8);
    } finally {
      online.close();
      store.close();
      policy.dispose();
    }

    // A resumed loop hands the model in use back to PPO at its first step.
    const again = new OnlineFeedback(cfg, { id: 'run1', out, model, reward: 'sentiment', prompts, seed: 3 }, undefined, true);
    try {
      const src = await again.pollReward();
      expect(src!.name).to.match(/v1\/final$/);
      src!.dispose?.();
    } finally {
      again.close();
    }
  });

  it('a conversational prompt goes out as the text rendered with the policy\'s chat template, its task carrying the messages', async () => {
    const dir = tempDir();
    const model = await tinyCheckpoint(6);
    const cfgFile = join(model, 'tokenizer_config.json');
    const tokCfg = existsSync(cfgFile) ? JSON.parse(readFileSync(cfgFile, 'utf8')) : {};
    const template = "{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ 'assistant:' }}{% endif %}";
    writeFileSync(cfgFile, JSON.stringify({ ...tokCfg, chat_template: template }));
    const messages = [{ role: 'system', content: 'Be kind.' }, { role: 'user', content: 'The whale' }];
    const prompts = join(dir, 'prompts.jsonl');
    writeFileSync(prompts, JSON.stringify({ messages }) + '\n{"prompt": "Call me"}\n');
    const db = join(dir, 'rlhf.db');
    const cfg = resolveOnlineFeedback({ db, everySteps: 1, prompts: 2, k: 2, maxNewTokens: 3, refreshEveryLabels: 1000 }, 'test', { rmBase: 'previous' });
    const online = new OnlineFeedback(cfg, { id: 'run2', out: join(dir, 'ppo'), model, reward: 'sentiment', prompts, seed: 1 }, undefined, false);
    const { model: policy, tokenizer } = loadCheckpoint(model);
    const store = new Store(db);
    try {
      await online.onStep(0, policy, tokenizer!);
      const rows = store.db.prepare('SELECT p.text, t.messages FROM tasks t JOIN prompts p ON p.id = t.prompt_id ORDER BY t.id').all() as { text: string; messages: string | null }[];
      expect(rows.map((r) => r.text)).to.deep.equal(['system: Be kind.\nuser: The whale\nassistant:', 'Call me']);
      expect(rows.map((r) => (r.messages === null ? null : JSON.parse(r.messages)))).to.deep.equal([messages, null]);
    } finally {
      online.close();
      store.close();
      policy.dispose();
    }
  });
});
