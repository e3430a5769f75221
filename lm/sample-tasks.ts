// K sampled completions per prompt: the raw material of comparison tasks (rlhf tasks add, the reward-model
// test, the online loop). Plain objects out, so the caller decides where they go (the label store, a file).
import { generate } from './generate.js';
import { GPT } from './model.js';
import { Tokenizer } from './tokenizer.js';

export interface SampledTask {
  prompt: string;
  completions: { text: string; tokens: number }[];
}

export interface SampleTaskOptions {
  /** Completions per prompt. */
  k: number;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
  /** Prompts per generate() call (each is repeated k times in the batch). */
  batch?: number;
  /** Called with the tasks of each finished batch. */
  onBatch?: (tasks: SampledTask[], done: number) => void;
}

export async function sampleTasks(model: GPT, tok: Tokenizer, prompts: string[], o: SampleTaskOptions): Promise<SampledTask[]> {
  const out: SampledTask[] = [];
  const per = o.batch ?? 8;
  for (let i = 0; i < prompts.length; i += per) {
    const batch = prompts.slice(i, i + per);
    const gen = await generate(model, tok, batch.flatMap((p) => new Array(o.k).fill(p)), {
      maxNewTokens: o.maxNewTokens, temperature: o.temperature, topK: 0, topP: o.topP, seed: o.seed + i,
    });
    const tasks = batch.map((prompt, j) => ({ prompt, completions: gen.slice(j * o.k, (j + 1) * o.k).map((c) => ({ text: c.text, tokens: c.ids.length })) }));
    out.push(...tasks);
    o.onBatch?.(tasks, out.length);
  }
  return out;
}
