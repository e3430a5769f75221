// A reward model judged on preference labels (rlhf eval-rm): every completion of every comparison is
// scored once, in one batched pass, and the raw scores go to calibration.ts (accuracy, log loss, the
// reliability table). Ties and skips carry no preference, so they are left out before scoring.
import { Calibration, calibration } from './calibration.js';
import { Comparison, splitByPrompt } from './comparisons.js';
import { RewardModel } from './reward-model.js';
import { loadComparisons } from './train-rm.js';

export interface EvalSource {
  /** Labels from this label store, or else the JSONL preference files of `data`. */
  db: string | null;
  data: string[];
  /** 'val': only the validation prompts of the training split made with valFraction and seed. */
  split: 'all' | 'val';
  valFraction: number;
  seed: number;
}

/** The preference comparisons to evaluate on; throws when there is none. */
export async function evalComparisons(s: EvalSource): Promise<Comparison[]> {
  let cs = (await loadComparisons({ db: s.db, data: s.data })).filter((c) => c.ranking);
  if (s.split === 'val') cs = splitByPrompt(cs, s.valFraction, s.seed).val;
  if (!cs.length) throw new Error('no preference comparisons to evaluate (ties and skips carry no preference)');
  return cs;
}

/** The calibration of the reward model in folder `dir` on `cs`, in `bins` reliability bins. */
export async function evaluateRewardModel(dir: string, cs: Comparison[], bins: number): Promise<Calibration> {
  const rm = RewardModel.load(dir);
  const flat = cs.flatMap((c) => c.completions.map((t) => [c.prompt, t] as const));
  const raw = await rm.scoreRaw(flat.map((f) => f[0]), flat.map((f) => f[1]));
  rm.dispose();
  let k = 0;
  const scores = cs.map((c) => c.completions.map(() => raw[k++]));
  return calibration(cs, scores, bins);
}
