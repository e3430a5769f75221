import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../data/store.js';
import { tempDir } from '../helpers.js';
import { chatFixture } from '../lm/family-tokenizers.js';
import { smallTokenizer, tinyCheckpoint } from '../lm/fixtures.js';
import { FAMILIES } from '../lm/models/families.js';
import { writeHfFolder } from '../lm/models/hf-folder.js';
import { randomLlamaWeights } from '../lm/models/reference-llama.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'rlhf.js');
const rlhf = (...args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('cli: users, tasks, import, export', () => {
  before(async () => {
    const { useBackend } = await import('../helpers.js');
    await useBackend();
  });

  it('adds users with a printed token and no default credentials', () => {
    const db = join(tempDir(), 'rlhf.db');
    const add = rlhf('users', 'add', '--name', 'ann', '--role', 'labeler', '--db', db);
    expect(add.code, add.err).to.equal(0);
    const token = add.out.trim();
    expect(token).to.match(/^[\w-]{43}$/);
    const store = new Store(db);
    expect(store.authenticate(token)).to.deep.include({ name: 'ann' });
    expect(store.users()).to.have.length(1); // nothing else exists
    store.close();
    expect(rlhf('users', 'add', '--name', 'ann', '--role', 'labeler', '--db', db).err).to.match(/already exists/);
    expect(rlhf('users', 'add', '--name', 'x', '--role', 'king', '--db', db).code).to.not.equal(0);
  });

  it('tasks add samples K completions per prompt from a model folder', async () => {
    const dir = tempDir();
    const db = join(dir, 'rlhf.db');
    const prompts = join(dir, 'prompts.txt');
    writeFileSync(prompts, 'Call me\nThe whale\n{"prompt": "It was"}\n');
    const model = await tinyCheckpoint(5);
    const r = rlhf('tasks', 'add', '--db', db, '--model', model, '--prompts', prompts, '--k', '3', '--max-new-tokens', '6');
    expect(r.code, r.err).to.equal(0);
    const store = new Store(db);
    const rows = store.db.prepare('SELECT t.k, p.text FROM tasks t JOIN prompts p ON p.id = t.prompt_id ORDER BY t.id').all();
    expect(rows).to.deep.equal([{ k: 3, text: 'Call me' }, { k: 3, text: 'The whale' }, { k: 3, text: 'It was' }]);
    const c = store.db.prepare('SELECT tokens, model FROM completions').all() as { tokens: number; model: string }[];
    expect(c).to.have.length(9);
    expect(c.every((x) => x.tokens >= 1 && x.tokens <= 6 && x.model === model)).to.equal(true);
    store.close();
  });

  it('tasks add --prompts convo.jsonl: a conversation is rendered with the model\'s chat template and its task keeps the messages', () => {
    const dir = tempDir();
    const db = join(dir, 'rlhf.db');
    // a tiny Llama folder whose tokenizer has a real chat template (SmolLM2-Instruct's ChatML)
    const model = join(dir, 'model');
    const tok = smallTokenizer();
    const cfg = { ...FAMILIES['llama, GQA, tied'], eos_token_id: tok.eosId!, bos_token_id: tok.eosId!, max_position_embeddings: 256 };
    const template = chatFixture('smollm2-instruct').tokenizer_config.chat_template as string;
    writeHfFolder(model, cfg, randomLlamaWeights(cfg, 3), { dtype: 'F32', tokenizer: tok.json as Record<string, unknown>, tokenizerConfig: { chat_template: template, eos_token: tok.idToToken(tok.eosId!) } });
    const messages = [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'Call me <b>Ishmael</b>' }];
    const prompts = join(dir, 'convo.jsonl');
    writeFileSync(prompts, JSON.stringify({ messages }) + '\n{"prompt": "The whale"}\n');
    const r = rlhf('tasks', 'add', '--db', db, '--model', model, '--prompts', prompts, '--k', '2', '--max-new-tokens', '3');
    expect(r.code, r.err).to.equal(0);
    const store = new Store(db);
    try {
      const rows = store.db.prepare('SELECT t.id, p.text FROM tasks t JOIN prompts p ON p.id = t.prompt_id ORDER BY t.id').all() as { id: number; text: string }[];
      expect(rows.map((x) => x.text)).to.deep.equal(['<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nCall me <b>Ishmael</b><|im_end|>\n<|im_start|>assistant\n', 'The whale']);
      expect(store.task(rows[0].id)!.messages).to.deep.equal(messages);
      expect(store.task(rows[1].id)).to.not.have.property('messages');
    } finally {
      store.close();
    }
    // without a chat template the conversation fails, naming the file and line, and nothing is stored
    const bare = join(dir, 'bare');
    writeHfFolder(bare, cfg, randomLlamaWeights(cfg, 3), { dtype: 'F32', tokenizer: tok.json as Record<string, unknown> });
    const fail = rlhf('tasks', 'add', '--db', join(dir, 'other.db'), '--model', bare, '--prompts', prompts);
    expect(fail.code).to.equal(1);
    expect(fail.err).to.match(/convo\.jsonl:1: a conversation needs the model's chat template, and the model's tokenizer has no chat_template/);
    expect(existsSync(join(dir, 'other.db'))).to.equal(false); // refused before the store is opened
  });

  it('imports HH-RLHF style preferences and exports them back, streaming; bad lines name the line', () => {
    const dir = tempDir();
    const db = join(dir, 'rlhf.db');
    const prefs = join(dir, 'prefs.jsonl');
    const rows = Array.from({ length: 50 }, (_, i) => ({ prompt: `p${i}`, chosen: `good ${i}`, rejected: `bad ${i}` }));
    writeFileSync(prefs, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const imp = rlhf('import', '--db', db, '--data', prefs);
    expect(imp.code, imp.err).to.equal(0);
    expect(imp.out).to.match(/imported 50/);
    const out = join(dir, 'pairs.jsonl');
    expect(rlhf('export', '--db', db, '--out', out).code).to.equal(0);
    expect(readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l))).to.deep.equal(rows);
    const full = rlhf('export', '--db', db, '--format', 'full');
    const first = JSON.parse(full.out.split('\n')[0]);
    expect(first).to.include({ labeler: 'import', kind: 'ranking', prompt: 'p0' });
    expect(first.ranked).to.deep.equal(['good 0', 'bad 0']);
    writeFileSync(prefs, JSON.stringify(rows[0]) + '\n{"prompt": "p", "chosen": 3}\n');
    const bad = rlhf('import', '--db', db, '--data', prefs);
    expect(bad.code).to.equal(1);
    expect(bad.err).to.match(/prefs\.jsonl:2: expected \{"prompt","chosen","rejected"\}/);
  });

  it('tasks gold adds questions with a known answer, scored per labeler in the stats', async () => {
    const dir = tempDir();
    const db = join(dir, 'rlhf.db');
    const gold = join(dir, 'gold.jsonl');
    writeFileSync(gold, JSON.stringify({ prompt: 'Is the sea wet?', chosen: 'Yes.', rejected: 'No.' }) + '\n');
    const r = rlhf('tasks', 'gold', '--db', db, '--data', gold);
    expect(r.code, r.err).to.equal(0);
    const store = new Store(db);
    store.addUser('ann', 'labeler');
    const uid = store.users()[0].id;
    const t = store.nextTask(uid)!;
    const yes = t.completions.find((c) => c.text === 'Yes.')!.position;
    store.submitLabels(uid, [{ taskId: t.id, clientId: 'g', kind: 'ranking', ranking: [yes, 1 - yes] }]);
    const { projectStats } = await import('../../server/stats.js');
    expect(projectStats(store).labelers[0].gold).to.deep.equal({ answered: 1, correct: 1, accuracy: 1 });
    store.close();
  });
});
