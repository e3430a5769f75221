// rlhf dpo: a config file with flag overrides, JSON records with TRL's DPO names, the resolved config beside
// the run, --resume with more epochs, labels from a store that also records the run (--db), one-line errors.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb } from '../../data/db.js';
import { RunsStore } from '../../data/runs-store.js';
import { Store } from '../../data/store.js';
import { tempDir } from '../helpers.js';
import { tinyCheckpoint } from '../lm/fixtures.js';
import { whaleData } from '../reward-models/fixtures.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'rlhf.js');
const backend = process.env.RLHF_TEST_BACKEND ?? 'wasm';
function rlhf(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args, '--backend', backend], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
type Rec = { type: string; step: number; metrics: Record<string, number>; kind?: string; data?: Record<string, unknown>; rows?: unknown[] };
const records = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l) as Rec);

describe('cli dpo', function () {
  this.timeout(180_000);

  it('config + flags, JSON records with TRL names, the resolved config, and --resume with more epochs', async () => {
    const model = await tinyCheckpoint(5);
    const dir = tempDir();
    const data = join(dir, 'prefs.jsonl');
    whaleData(data, 24);
    const cfg = join(dir, 'dpo.json');
    const out = join(dir, 'run');
    writeFileSync(cfg, JSON.stringify({ model, data: [data], out, epochs: 1, batchSize: 4, lr: 1e-3, evalEvery: 2, loggingSteps: 1, valFraction: 0.25 }));
    const r = rlhf('dpo', '--config', cfg, '--lr', '3e-3', '--loss-type', 'robust', '--label-smoothing', '0.1', '--rpo-alpha', '0.2', '--json');
    expect(r.code, r.err).to.equal(0);
    const recs = records(r.out);
    const train = recs.filter((x) => x.type === 'metrics' && 'grad_norm' in x.metrics);
    const steps = train.length;
    expect(steps).to.be.within(4, 6);
    expect(train[0].metrics).to.include.keys('loss', 'rewards/chosen', 'rewards/rejected', 'rewards/margins', 'rewards/accuracies', 'logps/chosen', 'logps/rejected', 'logits/chosen', 'logits/rejected', 'grad_norm', 'lr', 'num_tokens', 'nll_loss');
    expect(recs.filter((x) => x.type === 'metrics' && 'eval/loss' in x.metrics).at(-1)!.metrics).to.include.keys('eval/rewards/accuracies', 'eval/logits/chosen');
    expect(recs.some((x) => x.type === 'samples')).to.equal(true);
    const result = recs.find((x) => x.kind === 'result')!.data!;
    expect(result.final).to.equal(join(out, 'final'));
    const saved = JSON.parse(readFileSync(join(out, 'dpo-config.json'), 'utf8'));
    expect(saved).to.deep.include({ lr: 3e-3, lossType: 'robust', labelSmoothing: 0.1, rpoAlpha: 0.2, beta: 0.1, epochs: 1, reference: 'auto' });
    const more = rlhf('dpo', '--config', cfg, '--lr', '3e-3', '--loss-type', 'robust', '--label-smoothing', '0.1', '--rpo-alpha', '0.2', '--epochs', '2', '--resume', '--json');
    expect(more.code, more.err).to.equal(0);
    const again = records(more.out);
    expect(again.filter((x) => x.type === 'metrics' && 'grad_norm' in x.metrics).map((x) => x.step)).to.deep.equal(Array.from({ length: steps }, (_, i) => steps + i + 1));
    expect(again.find((x) => x.kind === 'reference')!.data).to.deep.include({ cached: true });
    expect(again.some((x) => x.kind === 'resume')).to.equal(true);
  });

  it('--db: labels from the store, read-only, and the run recorded in it with its metrics and sample pairs', async () => {
    const model = await tinyCheckpoint(6);
    const dir = tempDir();
    const db = join(dir, 'rlhf.db');
    const s = new Store(db);
    s.importPairs(Array.from({ length: 20 }, (_, i) => ({ prompt: `Prompt ${i}:`, chosen: ' whale ship', rejected: ' sea rope' })), 'importer');
    s.close();
    const r = rlhf('dpo', '--model', model, '--db', db, '--out', join(dir, 'run'), '--run-id', 'dpo-a', '--epochs', '1', '--batch-size', '4', '--lr', '1e-3', '--val-fraction', '0.3');
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/^done at step \d+ of \d+ \(\d+ training, \d+ validation comparisons\); best eval loss [\d.]+ at step \d+; policy in .*final\n$/);
    expect(r.err).to.match(/eval loss [\d.]+, reward accuracy [\d.]+%/);
    const store = new RunsStore(openDb(db));
    try {
      expect(store.get('dpo-a')).to.include({ kind: 'dpo', state: 'done' });
      expect(Object.keys(store.metrics('dpo-a'))).to.include.members(['loss', 'rewards/accuracies', 'eval/loss', 'eval/rewards/margins', 'num_tokens']);
      expect(store.samples('dpo-a')[0].columns).to.include.keys('rejected', 'rejected_reward', 'margin');
    } finally {
      store.db.close();
    }
  });

  it('bad input: one error line naming the field, exit 1', async () => {
    const model = await tinyCheckpoint(5);
    const dir = tempDir();
    const data = join(dir, 'prefs.jsonl');
    whaleData(data, 8);
    const both = join(dir, 'both.json');
    writeFileSync(both, JSON.stringify({ db: join(dir, 'rlhf.db'), data: [data] }));
    const cases: [string[], RegExp][] = [
      [['--data', data, '--loss-type', 'kto'], /--loss-type/],
      [['--config', both], /both\.json: give exactly one of db \(a label store\) or data/],
      [[], /flags: give exactly one of db/],
      [['--data', data, '--label-smoothing', '0.1', '--loss-type', 'hinge'], /labelSmoothing applies to lossType sigmoid and robust only, not hinge/],
      [['--data', data, '--reference', 'adapter-off'], /reference adapter-off needs lora/],
      [['--data', data, '--beta', '0'], /--beta <x>' argument '0' is invalid\. expected a number in \(0, 1000\]/],
      [['--db', join(dir, 'missing.db')], /missing\.db: no such store/],
      // online iterative DPO: its block is checked like the rest, naming the field
      [['--data', data, '--online-feedback'], /onlineFeedback\.db is required/],
      [['--db', join(dir, 'rlhf.db'), '--online-feedback'], /onlineFeedback\.promptFile is required/],
      [['--db', join(dir, 'rlhf.db'), '--online-prompt-file', data, '--online-k', '1'], /--online-k <n>' argument '1' is invalid/],
    ];
    for (const [extra, want] of cases) {
      const r = rlhf('dpo', '--model', model, '--out', join(dir, 'x'), ...extra);
      expect(r.code, `${extra.join(' ')}: ${r.err}`).to.equal(1);
      expect(r.err, extra.join(' ')).to.match(want);
      expect(r.err.trim().split('\n').length, r.err).to.be.at.most(2);
    }
    const help = spawnSync(process.execPath, [BIN, 'dpo', '--help'], { encoding: 'utf8' }).stdout;
    expect(help).to.match(/--rpo-alpha/).and.to.match(/--max-prompt-length/).and.to.match(/--lora-rank/).and.to.match(/--precompute-ref-batch-size/);
  });
});
