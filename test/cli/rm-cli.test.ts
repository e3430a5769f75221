import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';
import { tinyCheckpoint } from '../lm/fixtures.js';
import { whaleData } from '../reward-models/fixtures.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'rlhf.js');
const backend = process.env.RLHF_TEST_BACKEND ?? 'wasm';
const rlhf = (...args: string[]) => execFileSync(process.execPath, [BIN, ...args, '--backend', backend], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('cli: train-rm (LoRA), eval-rm, score', () => {
  it('trains a LoRA reward model, then evaluates and scores it from the command line', async () => {
    const base = await tinyCheckpoint(7);
    const dir = tempDir();
    const data = join(dir, 'prefs.jsonl');
    whaleData(data, 96);
    const out = join(dir, 'rm');
    const lines = rlhf('train-rm', '--model', base, '--data', data, '--out', out, '--epochs', '4', '--batch-size', '8', '--lr', '1e-2', '--eval-every', '6', '--val-fraction', '0.25', '--lora-rank', '4', '--json')
      .trim().split('\n').map((l) => JSON.parse(l) as { type: string; kind?: string; metrics?: Record<string, number>; data?: Record<string, unknown> });
    expect(lines.filter((l) => l.type === 'metrics' && l.metrics!['train/loss'] !== undefined).length).to.equal(4 * Math.ceil(72 / 8));
    const result = lines.find((l) => l.kind === 'result')!.data as { final: string; best: { accuracy: number } };
    expect(result.best.accuracy).to.be.above(0.8);
    // final/ is a plain reward model (adapters merged) with its normalisation in config.json.
    expect(existsSync(join(result.final, 'adapter_model.safetensors'))).to.equal(false);
    const cfg = JSON.parse(readFileSync(join(result.final, 'config.json'), 'utf8'));
    expect(cfg.architectures).to.deep.equal(['GPT2ForSequenceClassification']);
    expect(cfg.rlhf_reward_model.normalization.samples).to.equal(2 * 96);

    const ev = JSON.parse(rlhf('eval-rm', '--model', result.final, '--data', data, '--split', 'val', '--val-fraction', '0.25', '--json'));
    expect(ev.accuracy).to.be.closeTo(result.best.accuracy, 1e-9);
    expect(ev.bins.reduce((a: number, b: { count: number }) => a + b.count, 0)).to.equal(ev.pairs);

    const scored = rlhf('score', '--model', result.final, '--prompt', 'Prompt 5000:', '--completion', ' whale old man', '--completion', ' sea old man', '--json')
      .trim().split('\n').map((l) => JSON.parse(l) as { score: number });
    expect(scored[0].score).to.be.above(scored[1].score);

    const again = spawnSync(process.execPath, [BIN, 'train-rm', '--model', base, '--data', data, '--out', out, '--backend', backend], { encoding: 'utf8' });
    expect(again.status).to.equal(1);
    expect(again.stderr).to.match(/^error: .*already holds a run; pass --resume/m);
    const bad = spawnSync(process.execPath, [BIN, 'train-rm', '--model', base, '--out', join(dir, 'x'), '--backend', backend], { encoding: 'utf8' });
    expect(bad.stderr).to.match(/^error: flags: give exactly one of db/m);
  });
});
