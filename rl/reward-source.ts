// Where PPO's scores come from. Every source takes text (prompt, completion), never the policy's ids,
// so a reward model may use its own tokenizer. Three kinds: a built-in rule (`sentiment`, `length`),
// a JS/TS module exporting score(prompt, completion), and a reward-model checkpoint folder.
// The loop asks for a source at every step boundary, so a refreshed reward model can be swapped in.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RewardModel } from '../reward-models/reward-model.js';
import { loadRule, scoreAll } from '../reward-models/rules.js';

export interface RewardSource {
  /** Shown in logs and events: `sentiment`, a module path, or `reward-model:DIR`. */
  readonly name: string;
  /**
   * One finite score per completion. responseIds are the policy's sampled ids (including a final EOS),
   * for sources that want tokens rather than text (tests); most ignore them. extra carries the prompt file's
   * other columns per completion and the step, for reward functions (rl/reward-fns/).
   */
  score(prompts: string[], completions: string[], responseIds?: number[][], extra?: { columns?: Record<string, unknown>[]; step?: number }): Promise<number[]>;
  dispose?(): void;
}

/** A rule or module reward through reward-models/rules.ts. */
export async function ruleSource(spec: string): Promise<RewardSource> {
  const rule = await loadRule(spec);
  return { name: rule.name, score: (p, c) => scoreAll(rule, p, c) };
}

/** A trained reward model (normalised scores, its own tokenizer), scored in batches of batchSize. */
export async function rewardModelSource(dir: string, batchSize = 16): Promise<RewardSource> {
  const rm = RewardModel.load(dir);
  return {
    name: `reward-model:${dir}`,
    score: async (p, c) => {
      const s = await rm.score(p, c, batchSize);
      s.forEach((x, i) => {
        if (!Number.isFinite(x)) throw new Error(`reward model ${dir} gave ${x} for completion ${i}`);
      });
      return s;
    },
    dispose: () => rm.dispose(),
  };
}

/** `sentiment`/`length`, a folder (reward model), or a module path. */
export async function openRewardSource(spec: string, batchSize = 16): Promise<RewardSource> {
  if (existsSync(spec) && statSync(spec).isDirectory()) {
    if (!existsSync(join(spec, 'config.json'))) throw new Error(`reward ${spec}: a folder must be a reward-model checkpoint (no config.json)`);
    return rewardModelSource(spec, batchSize);
  }
  return ruleSource(spec);
}
