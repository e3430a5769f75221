// Every command that takes --model runs on Llama-family folders the test builds byte by byte: generate
// (greedy, against the float64 reference token for token and in log-probabilities), sft with LoRA,
// train-rm and ppo.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';
import { mobyDickText, smallTokenizer } from '../lm/fixtures.js';
import { FAMILIES } from '../lm/models/families.js';
import { writeHfFolder } from '../lm/models/hf-folder.js';
import { randomLlamaWeights, referenceLlamaLogits } from '../lm/models/reference-llama.js';
import { promptsFile } from '../rl/fixtures.js';
import { whaleData } from '../reward-models/fixtures.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'rlhf.js');
const backend = process.env.RLHF_TEST_BACKEND ?? 'wasm';
function rlhf(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args, '--backend', backend], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function modelFolder(name: string, seed: number): { dir: string; w: ReturnType<typeof randomLlamaWeights> } {
  const dir = tempDir('rlhf-family-');
  const tok = smallTokenizer();
  const cfg = { ...FAMILIES[name], eos_token_id: tok.eosId!, bos_token_id: tok.eosId!, max_position_embeddings: 64 };
  const w = randomLlamaWeights(cfg, seed);
  writeHfFolder(dir, cfg, w, { dtype: 'F32', tokenizer: tok.json as Record<string, unknown> });
  return { dir, w };
}

/** Greedy decoding by the reference: the argmax of the last position, its log-softmax, until EOS or n tokens. */
function referenceGreedy(name: string, w: ReturnType<typeof randomLlamaWeights>, prompt: number[], n: number, eos: number): { ids: number[]; logprobs: number[] } {
  const seq = [...prompt];
  const ids: number[] = [];
  const logprobs: number[] = [];
  for (let i = 0; i < n; i++) {
    const z = referenceLlamaLogits(FAMILIES[name], w, [seq])[0].at(-1)!;
    const top = z.indexOf(Math.max(...z));
    const m = Math.max(...z);
    logprobs.push(z[top] - m - Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0)));
    ids.push(top);
    if (top === eos) break;
    seq.push(top);
  }
  return { ids, logprobs };
}

describe('cli on Llama-family folders (llama, qwen2, qwen3; tied and untied)', function () {
  this.timeout(600_000);

  for (const [name, seed] of [['llama, GQA, tied', 1], ['llama, untied, attention and MLP biases, linear RoPE', 2], ['qwen2, q/k/v biases, tied', 3], ['qwen3, q/k norm, head_dim 12, untied', 4]] as const) {
    it(`generate --json (greedy) equals the float64 reference token for token and in log-probabilities: ${name}`, () => {
      const { dir, w } = modelFolder(name, seed);
      const r = rlhf('generate', '--model', dir, '--prompt', 'Call me Ishmael', '--prompt', 'The whale', '--temperature', '0', '--max-new-tokens', '12', '--json');
      expect(r.code, r.err).to.equal(0);
      const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as { prompt_ids: number[]; ids: number[]; logprobs: number[] });
      expect(lines).to.have.length(2);
      expect(Math.max(...lines.map((l) => l.ids.length))).to.be.at.least(4); // not a lucky EOS at once
      for (const l of lines) {
        const ref = referenceGreedy(name, w, l.prompt_ids, 12, smallTokenizer().eosId!);
        expect(l.ids).to.deep.equal(ref.ids);
        for (let i = 0; i < ref.ids.length; i++) expect(Math.abs(l.logprobs[i] - ref.logprobs[i])).to.be.below(1e-4);
      }
    });
  }

  it('sft trains a fresh Llama-family model from a config (init.modelType), written as LlamaForCausalLM', () => {
    const work = tempDir('rlhf-family-init-');
    const cfg = join(work, 'sft.json');
    const tokDir = modelFolder('llama, GQA, tied', 8).dir; // only its tokenizer.json is used
    writeFileSync(cfg, JSON.stringify({
      model: null, init: { tokenizer: tokDir, modelType: 'llama', nEmbd: 32, nLayer: 2, nHead: 4, nKvHead: 2, nInner: 86, nPositions: 64 },
      data: ['corpus:moby-dick'], out: join(work, 'run'), steps: 2, batchSize: 2, seqLen: 32, evalEvery: 0, saveEvery: 2,
    }));
    const r = rlhf('sft', '--config', cfg, '--json');
    expect(r.code, r.err).to.equal(0);
    const out = JSON.parse(readFileSync(join(work, 'run', 'final', 'config.json'), 'utf8'));
    expect(out).to.include({ model_type: 'llama', num_key_value_heads: 2, intermediate_size: 86, tie_word_embeddings: true });
    const gen = rlhf('generate', '--model', join(work, 'run', 'final'), '--prompt', 'Call me', '--max-new-tokens', '4', '--json');
    expect(gen.code, gen.err).to.equal(0);
  });

  it('sft --lora-rank 8, train-rm and ppo run on Llama-family folders', () => {
    const work = tempDir('rlhf-family-runs-');
    const text = join(work, 'moby.txt');
    writeFileSync(text, mobyDickText(1));
    const llama = modelFolder('llama, GQA, tied', 5).dir;
    const sft = rlhf('sft', '--model', llama, '--data', text, '--out', join(work, 'sft'), '--steps', '4', '--batch-size', '2', '--seq-len', '32', '--lora-rank', '8', '--save-every', '4', '--eval-every', '0', '--json');
    expect(sft.code, sft.err).to.equal(0);
    expect(existsSync(join(work, 'sft', 'final', 'adapter_config.json')) || existsSync(join(work, 'sft', 'final', 'config.json'))).to.equal(true);

    const qwen2 = modelFolder('qwen2, q/k/v biases, tied', 6).dir;
    const prefs = join(work, 'prefs.jsonl');
    whaleData(prefs, 24);
    const rm = rlhf('train-rm', '--model', qwen2, '--data', prefs, '--out', join(work, 'rm'), '--epochs', '1', '--batch-size', '4', '--eval-every', '3', '--json');
    expect(rm.code, rm.err).to.equal(0);
    const rmCfg = JSON.parse(readFileSync(join(work, 'rm', 'final', 'config.json'), 'utf8'));
    expect(rmCfg.architectures).to.deep.equal(['Qwen2ForSequenceClassification']);
    expect(rmCfg.pad_token_id).to.be.a('number').and.not.equal(rmCfg.eos_token_id);

    const qwen3 = modelFolder('qwen3, q/k norm, head_dim 12, untied', 7).dir;
    const ppo = rlhf('ppo', '--model', qwen3, '--prompts', promptsFile(), '--reward', join(work, 'rm', 'final'), '--out', join(work, 'ppo'), '--steps', '2', '--batch-size', '4', '--mini-batch-size', '2', '--ppo-epochs', '1', '--max-new-tokens', '4', '--lora-rank', '4', '--json');
    expect(ppo.code, ppo.err).to.equal(0);
    const steps = ppo.out.trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.type === 'metrics');
    expect(steps.map((x) => x.step)).to.deep.equal([1, 2]);
    expect(Number.isFinite(steps[1].metrics['objective/scores'])).to.equal(true);
  });
});
