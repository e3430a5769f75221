import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';
import { mobyDickText } from '../lm/fixtures.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'rlhf.js');
function rlhf(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('cli', () => {
  it('has --help on every subcommand', () => {
    const top = rlhf('--help');
    expect(top.code).to.equal(0);
    for (const cmd of [['demo'], ['demo-sft'], ['start'], ['train-rm'], ['score'], ['eval-rm'], ['label', 'simulate'], ['generate'], ['init'], ['tokenizer'], ['tokenizer', 'train'], ['sft'], ['eval'], ['merge'], ['convert'], ['serve'], ['users'], ['users', 'add'], ['tasks'], ['tasks', 'add'], ['tasks', 'gold'], ['export'], ['import']]) {
      const r = rlhf(...cmd, '--help');
      expect(r.code, cmd.join(' ')).to.equal(0);
      expect(r.out).to.match(new RegExp(`Usage: rlhf ${cmd.join(' ')}`));
    }
    expect(rlhf('generate', '--help').out).to.include('--backend <name>');
  });

  it('tokenizer train -> init -> generate --json prints the documented fields', () => {
    const dir = tempDir();
    const text = join(dir, 'corpus.txt');
    writeFileSync(text, mobyDickText(2));
    const tok = rlhf('tokenizer', 'train', '--data', text, '--vocab-size', '400', '--out', dir, '--json');
    expect(tok.code, tok.err).to.equal(0);
    expect(JSON.parse(tok.out)).to.include({ vocab_size: 400, merges: 143 });
    const model = join(dir, 'model');
    const init = rlhf('init', '--tokenizer', dir, '--out', model, '--n-embd', '16', '--n-layer', '1', '--n-head', '2', '--n-positions', '64', '--json');
    expect(init.code, init.err).to.equal(0);
    expect(existsSync(join(model, 'model.safetensors'))).to.equal(true);
    const gen = rlhf('generate', '--model', model, '--prompt', 'Call me', '--prompt', 'The sea', '--n', '2', '--max-new-tokens', '5', '--seed', '1', '--json');
    expect(gen.code, gen.err).to.equal(0);
    expect(gen.err).to.match(/^backend: /m);
    const lines = gen.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).to.have.length(4);
    for (const l of lines) {
      expect(l).to.have.all.keys('prompt', 'prompt_ids', 'ids', 'text', 'logprobs', 'finish_reason');
      expect(l.ids).to.have.length(5);
      expect(l.logprobs).to.have.length(5);
      for (const lp of l.logprobs) expect(lp).to.be.at.most(0);
    }
    expect(lines[0].prompt).to.equal('Call me');
    expect(lines[2].prompt).to.equal('The sea');
    // same seed, same output
    expect(rlhf('generate', '--model', model, '--prompt', 'Call me', '--prompt', 'The sea', '--n', '2', '--max-new-tokens', '5', '--seed', '1', '--json').out).to.equal(gen.out);
  });

  it('fails with one line on bad input', () => {
    const missing = rlhf('generate', '--model', '/nonexistent/model', '--prompt', 'x', '--backend', 'cpu');
    expect(missing.code).to.equal(1);
    expect(missing.err).to.match(/error: \/nonexistent\/model\/config\.json: not found/);
    const bad = rlhf('generate', '--model', 'x', '--prompt', 'x', '--temperature', 'hot');
    expect(bad.code).to.not.equal(0);
    expect(bad.err).to.match(/--temperature .* is invalid/);
    const tf = rlhf('init', '--tokenizer', '/nonexistent.json', '--out', tempDir(), '--backend', 'tensorflow');
    expect(tf.code).to.equal(1);
  });
});

describe('cli: sft, eval, merge, convert', () => {
  it('trains from scratch, fine-tunes with LoRA, merges and converts, and eval agrees at every stage', () => {
    const dir = tempDir();
    const text = join(dir, 'corpus.txt');
    writeFileSync(text, mobyDickText(2));
    expect(rlhf('tokenizer', 'train', '--data', text, '--vocab-size', '300', '--out', dir).code).to.equal(0);
    const run = join(dir, 'run');
    const sft = rlhf('sft', '--init-tokenizer', dir, '--n-embd', '16', '--n-layer', '1', '--n-head', '2', '--n-positions', '32',
      '--data', text, '--out', run, '--steps', '4', '--batch-size', '2', '--seq-len', '16', '--eval-every', '2', '--save-every', '2', '--json');
    expect(sft.code, sft.err).to.equal(0);
    const metrics = sft.out.trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.type === 'metrics').map((r) => r.metrics);
    expect(metrics.filter((m) => 'train/loss' in m)).to.have.length(4);
    expect(metrics.filter((m) => 'eval/perplexity' in m).length).to.be.at.least(2);
    const evalJson = (...args: string[]) => {
      const r = rlhf('eval', '--data', text, '--seq-len', '16', '--json', ...args);
      expect(r.code, r.err).to.equal(0);
      return JSON.parse(r.out) as { tokens: number; loss: number; perplexity: number };
    };
    const full = evalJson('--model', join(run, 'final'));
    expect(full.perplexity).to.be.within(50, 600); // 4 steps of a tiny model: near the uniform 300
    // LoRA on top of it, with pairs
    const pairs = join(dir, 'pairs.jsonl');
    writeFileSync(pairs, Array.from({ length: 12 }, (_, i) => JSON.stringify({ prompt: `Ship ${i}:`, completion: ' the whale.' })).join('\n'));
    const lrun = join(dir, 'lora');
    const lora = rlhf('sft', '--model', join(run, 'final'), '--data', pairs, '--out', lrun, '--steps', '3', '--batch-size', '2', '--seq-len', '16', '--lora-rank', '2', '--held-out', '0', '--lr', '0.01');
    expect(lora.code, lora.err).to.equal(0);
    expect(existsSync(join(lrun, 'final', 'adapter_model.safetensors'))).to.equal(true);
    const adapted = evalJson('--model', join(run, 'final'), '--adapter', join(lrun, 'final'));
    expect(adapted.perplexity).to.not.equal(full.perplexity);
    const merged = join(dir, 'merged');
    expect(rlhf('merge', '--model', join(run, 'final'), '--adapter', join(lrun, 'final'), '--out', merged).code).to.equal(0);
    expect(evalJson('--model', merged).loss).to.be.closeTo(adapted.loss, 1e-4);
    const half = join(dir, 'half');
    const conv = rlhf('convert', '--model', merged, '--out', half, '--dtype', 'f16', '--json');
    expect(conv.code, conv.err).to.equal(0);
    expect(evalJson('--model', half).loss).to.be.closeTo(adapted.loss, 2e-2);
    // resume without --resume is refused, nothing overwritten
    const again = rlhf('sft', '--model', join(run, 'final'), '--data', text, '--out', run, '--steps', '1');
    expect(again.code).to.equal(1);
    expect(again.err).to.match(/already holds a run/);
  });
});

describe('cli: demo-sft', () => {
  it('fine-tunes a model with LoRA and enqueues base-vs-tuned comparison tasks in a local store', async () => {
    const { tinyCheckpoint } = await import('../lm/fixtures.js');
    const { Store } = await import('../../data/store.js');
    const model = await tinyCheckpoint(8);
    const dir = tempDir();
    const db = join(dir, 'rlhf.db');
    const r = rlhf('demo-sft', '--model', model, '--steps', '3', '--out', join(dir, 'run'), '--db', db, '--json');
    expect(r.code, r.err).to.equal(0);
    const s = JSON.parse(r.out);
    expect(s.tasks).to.equal(8);
    expect(s.before.perplexity).to.be.a('number').and.greaterThan(1);
    expect(s.after.perplexity).to.be.a('number').and.not.equal(s.before.perplexity);
    expect(existsSync(join(dir, 'run', 'final', 'adapter_model.safetensors'))).to.equal(true);
    const store = new Store(db);
    expect(store.db.prepare('SELECT count(*) FROM tasks').pluck().get()).to.equal(8);
    store.close();
  });
});
