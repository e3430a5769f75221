// Admin-set limits on what one run launched through the API may ask for, so that one researcher cannot
// fill the disk or the RAM of a shared server: steps, batch sizes, tokens per sequence, the size of a model
// trained from scratch, checkpoints kept, sample rows, disk per run, and runs queued per user. The child
// validates the rest of its config; these are only the fields that cost memory, time or disk.
// Stored as JSON in the settings table (key run_quotas), so they survive restarts and every server on the
// store sees the same; GET /api/run-quotas shows them, PUT (admin) changes them.
import { StoreError } from '../data/store.js';

export interface RunQuotas {
  /**
   * Most optimizer steps (SFT, GRPO, RLOO), iterations (PPO) or epochs × 1000 (reward model and DPO: epochs at
   * most steps/1000; online DPO: rounds at most steps/100).
   */
  maxSteps: number;
  /** Most sequences per batch (any batch-size field, SFT's batchSize × gradAccum, GRPO's and RLOO's promptsPerStep × numGenerations, DPO's batchSize × gradientAccumulationSteps). */
  maxBatchSize: number;
  /** Most tokens per sequence (SFT seqLen; PPO, GRPO and RLOO prompt plus completion; DPO maxLength). */
  maxTokens: number;
  /** Most parameters of a model trained from scratch (SFT `init`), not counting the embedding table. */
  maxInitParams: number;
  /** Most step checkpoints kept per run. */
  maxCheckpoints: number;
  /** Most rows per sample table (they go into the store). */
  maxSampleRows: number;
  /** Most disk per run folder, in MB: a run past it is stopped and marked failed. */
  maxRunDiskMb: number;
  /** Most runs one user may have queued or running at once. */
  maxQueuedPerUser: number;
}

export const DEFAULT_QUOTAS: RunQuotas = {
  maxSteps: 20_000, maxBatchSize: 256, maxTokens: 1024, maxInitParams: 200_000_000, maxCheckpoints: 5, maxSampleRows: 64,
  maxRunDiskMb: 4096, maxQueuedPerUser: 4,
};

/** Check a PUT body: known fields, positive integers. Returns the merged quotas. */
export function mergeQuotas(current: RunQuotas, patch: Record<string, unknown>): RunQuotas {
  const out = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (!Object.hasOwn(DEFAULT_QUOTAS, k)) throw new StoreError('invalid', `body.${k}: unknown quota (one of ${Object.keys(DEFAULT_QUOTAS).join(', ')})`);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new StoreError('invalid', `body.${k}: must be an integer >= 1`);
    out[k as keyof RunQuotas] = v;
  }
  return out;
}

/** Parse the stored JSON; anything unreadable falls back to the defaults field by field. */
export function readQuotas(json: string | undefined): RunQuotas {
  let raw: Record<string, unknown> = {};
  try {
    raw = json ? (JSON.parse(json) as Record<string, unknown>) : {};
  } catch {
    raw = {};
  }
  const out = { ...DEFAULT_QUOTAS };
  for (const k of Object.keys(DEFAULT_QUOTAS) as (keyof RunQuotas)[]) {
    const v = raw[k];
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1) out[k] = v;
  }
  return out;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Refuse a config over the quotas with a 400 naming the field and the limit. Absent fields get the child's defaults, all under the defaults here. */
export function checkQuotas(kind: string, c: Record<string, unknown>, q: RunQuotas): void {
  const over = (field: string, value: number, limit: number, what: string) => {
    if (value > limit) throw new StoreError('invalid', `body.config.${field}: ${value} is over this server's quota of ${limit} ${what} (an admin sets quotas with PUT /api/run-quotas)`);
  };
  const field = (f: string, limit: number, what: string, o: Record<string, unknown> = c, prefix = '') => {
    const v = num(o[f]);
    if (v !== null) over(prefix + f, v, limit, what);
  };
  for (const f of ['batchSize', 'miniBatchSize', 'rewardBatchSize', 'scoreBatchSize']) field(f, q.maxBatchSize, 'sequences');
  field('keepCheckpoints', q.maxCheckpoints, 'checkpoints');
  field('sampleRows', q.maxSampleRows, 'rows');
  if (kind === 'train-rm' || kind === 'dpo') field('epochs', Math.max(1, Math.floor(q.maxSteps / 1000)), 'epochs');
  else field('steps', q.maxSteps, 'steps');
  if (kind === 'sft') {
    field('seqLen', q.maxTokens, 'tokens');
    over('gradAccum', (num(c.batchSize) ?? 8) * (num(c.gradAccum) ?? 1), q.maxBatchSize, 'sequences per step (batchSize x gradAccum)');
    const init = c.init && typeof c.init === 'object' ? (c.init as Record<string, unknown>) : null;
    if (init) {
      field('nPositions', q.maxTokens, 'positions', init, 'init.');
      const [d, l, p] = [num(init.nEmbd) ?? 0, num(init.nLayer) ?? 0, num(init.nPositions) ?? 0];
      over('init', 12 * l * d * d + p * d, q.maxInitParams, 'parameters (12 x nLayer x nEmbd² + nPositions x nEmbd)');
    }
  }
  if (kind === 'ppo') over('maxNewTokens', (num(c.maxNewTokens) ?? 24) + (num(c.maxPromptTokens) ?? 64), q.maxTokens, 'tokens (maxPromptTokens + maxNewTokens)');
  if (kind === 'grpo' || kind === 'rloo') {
    // resolved configs (server/run-config-check.ts): every field is there
    over('maxCompletionLength', (num(c.maxCompletionLength) ?? 0) + (num(c.maxPromptLength) ?? 0), q.maxTokens, 'tokens (maxPromptLength + maxCompletionLength)');
    over('numGenerations', (num(c.promptsPerStep) ?? 0) * (num(c.numGenerations) ?? 0), q.maxBatchSize, 'completions per rollout (promptsPerStep x numGenerations)');
  }
  if (kind === 'dpo') {
    // resolved configs (server/run-config-check.ts): every field is there; DPO's batches are comparisons, of 2 or more sequences each
    for (const f of ['evalBatchSize', 'precomputeRefBatchSize']) field(f, q.maxBatchSize, 'comparisons');
    over('gradientAccumulationSteps', (num(c.batchSize) ?? 0) * (num(c.gradientAccumulationSteps) ?? 0), q.maxBatchSize, 'comparisons per step (batchSize x gradientAccumulationSteps)');
    if (c.maxLength === null) throw new StoreError('invalid', `body.config.maxLength: null (the model's whole context) may be over this server's quota of ${q.maxTokens} tokens; give a number`);
    field('maxLength', q.maxTokens, 'tokens');
    const o = c.onlineFeedback && typeof c.onlineFeedback === 'object' ? (c.onlineFeedback as Record<string, unknown>) : null;
    if (o) {
      field('maxNewTokens', q.maxTokens, 'tokens', o, 'onlineFeedback.');
      field('prompts', q.maxBatchSize, 'prompts', o, 'onlineFeedback.');
      field('rounds', Math.max(1, Math.floor(q.maxSteps / 100)), 'rounds', o, 'onlineFeedback.');
    }
  }
  if (kind === 'ppo' || kind === 'grpo' || kind === 'rloo') {
    const o = c.onlineFeedback && typeof c.onlineFeedback === 'object' ? (c.onlineFeedback as Record<string, unknown>) : null;
    if (o) {
      field('maxNewTokens', q.maxTokens, 'tokens', o, 'onlineFeedback.');
      field('prompts', q.maxBatchSize, 'prompts', o, 'onlineFeedback.');
      field('rmEpochs', Math.max(1, Math.floor(q.maxSteps / 1000)), 'epochs', o, 'onlineFeedback.');
    }
  }
}
