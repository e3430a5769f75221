// The online human-feedback loop's part of a PPO config (`onlineFeedback`; null turns it off). While PPO
// runs, every `everySteps` iterations the current policy writes `k` completions for `prompts` prompts
// into the labeling queue; every `refreshEveryLabels` new preference labels a reward-model refresh
// trains (in a child process) on all labels so far, and PPO switches to it at the next step boundary.
// A schema (train/config-schema.ts): the type, defaults, check and the --online-* flags come from it.
import { Type } from '@sinclair/typebox';
import { configMessage, Default, firstProblem, Resolved, withDefaults } from '../../train/config-schema.js';

const count = (description: string, def: number, minimum = 1) => Default(Type.Integer({ minimum, description }), def);

/**
 * The fields of any online loop that sends the current policy's samples to the labeling queue (this one,
 * and online DPO's in dpo/online-config.ts): where the tasks go, how many, and how they are sampled.
 */
export const TASK_FIELDS = {
  db: Type.String({ minLength: 1, description: 'the label store (SQLite file) the loop sends tasks to and reads labels from' }),
  prompts: count('prompts per round; each becomes one task of k completions from the current policy', 32),
  k: Default(Type.Integer({ minimum: 2, maximum: 16, description: 'completions per task' }), 2),
  maxNewTokens: count('most tokens per task completion', 16),
  temperature: Default(Type.Number({ minimum: 1e-6, maximum: 100, description: 'sampling temperature of task completions' }), 0.7),
};

/** What the task sender (rl/online/task-sender.ts) reads of a loop's config. */
export type TaskFields = { db: string; prompts: number; k: number; maxNewTokens: number; temperature: number };

export const OnlineFeedbackSchema = Type.Object({
  db: TASK_FIELDS.db,
  everySteps: count('send new tasks every this many PPO iterations', 5),
  prompts: TASK_FIELDS.prompts,
  k: TASK_FIELDS.k,
  maxNewTokens: TASK_FIELDS.maxNewTokens,
  temperature: TASK_FIELDS.temperature,
  refreshEveryLabels: count('start a reward-model refresh once this many new preference labels arrived since the last one', 64),
  rmBase: Default(Type.String({ minLength: 1, description: 'backbone of a refresh: previous continues from the reward model in use (when it is one), else this folder' }), 'previous'),
  rmEpochs: count('epochs of each refresh over all labels so far', 2),
  rmLr: Default(Type.Number({ minimum: 0, maximum: 10, description: 'learning rate of each refresh' }), 1e-4),
  rmValFraction: Default(Type.Number({ minimum: 0, maximum: 0.9, description: 'fraction of prompts a refresh holds out (its validation accuracy is logged as online/rm_accuracy)' }), 0.2),
}, { additionalProperties: false, title: 'OnlineFeedbackConfig', description: 'the online human-feedback loop; null turns it off' });

export type OnlineFeedbackConfig = Resolved<typeof OnlineFeedbackSchema>;

/** Check an onlineFeedback object (defaults filled); errors name the field as onlineFeedback.FIELD. */
export function resolveOnlineFeedback(raw: unknown, source: string, defaults: { rmBase: string } = { rmBase: 'previous' }): OnlineFeedbackConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${source}: onlineFeedback must be an object or null`);
  const c = withDefaults(OnlineFeedbackSchema, { rmBase: defaults.rmBase, ...raw });
  const p = firstProblem(OnlineFeedbackSchema, c, 'onlineFeedback');
  if (p) throw new Error(configMessage(p, source));
  return c as OnlineFeedbackConfig;
}
