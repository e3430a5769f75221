// The learning rate of GRPO's and RLOO's optimizer steps, as transformers' schedulers give it to TRL
// (get_linear_schedule_with_warmup, get_constant_schedule_with_warmup, get_cosine_schedule_with_warmup with
// half a cycle). The scheduler's count k is the number of optimizer steps already taken, so step s
// (1-based) runs at lr · λ(s − 1):
//   warm-up (k < W):  λ = k / max(1, W)            (the first step of a warm-up runs at 0, as in transformers)
//   linear:           λ = max(0, (S − k) / max(1, S − W))   (the last step runs at lr / (S − W), not 0)
//   cosine:           λ = max(0, ½ (1 + cos(π · (k − W) / max(1, S − W))))
//   constant:         λ = 1
import type { LrSchedule } from './online-rl-fields.js';

export interface LrScheduleConfig {
  lr: number;
  lrSchedule: LrSchedule;
  warmupSteps: number;
  /** Optimizer steps in total. */
  steps: number;
}

/** The learning rate of optimizer step `step` (1-based). */
export function scheduledLr(c: LrScheduleConfig, step: number): number {
  const k = step - 1;
  const W = c.warmupSteps;
  if (k < W) return (c.lr * k) / Math.max(1, W);
  const rest = Math.max(1, c.steps - W);
  switch (c.lrSchedule) {
    case 'constant':
      return c.lr;
    case 'linear':
      return c.lr * Math.max(0, (c.steps - k) / rest);
    case 'cosine':
      return c.lr * Math.max(0, 0.5 * (1 + Math.cos((Math.PI * (k - W)) / rest)));
  }
}
