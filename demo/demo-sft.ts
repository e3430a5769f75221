// Supervised fine-tuning on the embedded defaults (rlhf demo-sft): the shipped starter model (or another
// base) is fine-tuned on Moby-Dick through LoRA adapters; held-out perplexity and samples are taken before
// and after, and the base-vs-tuned pairs go into a local SQLite store for labelers. Printing is the CLI's.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BackendName, initBackend } from '../backend/backend.js';
import { corpusText } from '../data/corpora.js';
import { Store } from '../data/store.js';
import { realWordFraction } from '../data/word-check.js';
import { loadCheckpoint } from '../lm/checkpoint.js';
import { generate } from '../lm/generate.js';
import { Lora } from '../lm/lora.js';
import { batchPerplexity, windowBatches } from '../sft/perplexity.js';
import { runSft } from '../sft/sft.js';
import { resolveSftConfig } from '../sft/sft-config.js';
import { splitText } from '../sft/sft-data.js';
import { defaultDemoFolder } from './folder.js';

const PROMPTS = ['Call me', 'The whale', 'It was a dark night, and', 'The captain said', 'Our nation', 'At sea, the men', 'I have never', 'The ship'];

export interface DemoSftOptions {
  /** Base checkpoint folder. */
  model: string;
  /** Run folder (default .rlhf/demo/<time>). */
  out?: string;
  /** SQLite store that receives the base-vs-tuned comparison tasks. */
  db: string;
  /** LoRA training steps. */
  steps: number;
  /** Seed of the adapters, the data order and sampling. */
  seed: number;
  backend: BackendName;
}

export interface DemoSftHooks {
  /** The base model is loaded and about to be measured. */
  base?(model: string): void;
  /** LoRA training begins (steps of it). */
  training?(steps: number): void;
  /** A training step ended: tokens trained on so far and its loss. */
  step?(step: number, total: number, tokens: number, loss: number): void;
}

/** Held-out perplexity, the first three samples (prompt + completion), every completion, the real-word share. */
export interface SftSideResult {
  perplexity: number;
  samples: string[];
  completions: string[];
  realWords: number;
}

export interface DemoSftSummary {
  backend: string;
  base: string;
  adapter: string;
  steps: number;
  before: SftSideResult;
  after: SftSideResult;
  db: string;
  tasks: number;
}

export async function runDemoSft(o: DemoSftOptions, hooks: DemoSftHooks = {}): Promise<DemoSftSummary> {
  if (!existsSync(join(o.model, 'config.json'))) throw new Error(`${o.model}: no model here (the starter model is rebuilt by \`npm run starter\`)`);
  const backend = await initBackend(o.backend);
  const out = o.out ?? defaultDemoFolder();
  const sample = { maxNewTokens: 40, temperature: 0.8, topK: 0, topP: 0.95, seed: o.seed };

  // What the held-out evaluation reads: the last 5% of Moby-Dick, as `rlhf sft` splits it.
  const evaluate = async (withAdapter: string | null): Promise<SftSideResult> => {
    const { model, tokenizer } = loadCheckpoint(o.model);
    const lora = withAdapter ? Lora.load(withAdapter, model) : null;
    const { held } = splitText([{ name: 'moby-dick', text: corpusText('moby-dick') }], tokenizer!, 0.05);
    const ppl = batchPerplexity(model, windowBatches(held.subarray(0, 64 * 128), 128, 16, tokenizer!.eosId ?? 0));
    const completions = (await generate(model, tokenizer, PROMPTS, sample)).map((c) => c.text);
    lora?.dispose();
    model.dispose();
    const texts = completions.map((c, i) => PROMPTS[i] + c);
    return { perplexity: ppl.perplexity, samples: texts.slice(0, 3), completions, realWords: realWordFraction(texts).fraction };
  };

  hooks.base?.(o.model);
  const before = await evaluate(null);
  const config = resolveSftConfig({
    model: o.model, data: ['corpus:moby-dick'], out, steps: o.steps, batchSize: 8, seqLen: 128, lr: 3e-3,
    warmupSteps: 5, evalEvery: 0, saveEvery: o.steps, seed: o.seed, lora: { rank: 8, alpha: 16, targets: ['attn', 'mlp'] },
  }, 'demo');
  hooks.training?.(o.steps);
  await runSft(config, false, { corpus: () => corpusText('moby-dick'), onStep: (s, total, tokens, loss) => hooks.step?.(s, total, tokens, loss) });
  const after = await evaluate(join(out, 'final'));
  // Base vs tuned completions as comparison tasks, ready for labelers in the local store.
  const store = new Store(o.db);
  const taskIds = store.addTasks(PROMPTS.map((p, i) => ({
    prompt: p, source: 'demo',
    completions: [{ text: before.completions[i], model: o.model }, { text: after.completions[i], model: join(out, 'final') }],
  })));
  store.close();
  return { backend: backend.name, base: o.model, adapter: join(out, 'final'), steps: o.steps, before, after, db: o.db, tasks: taskIds.length };
}
