// The loop GRPO and RLOO share (critic-free RL over groups of completions per prompt), top to bottom. Per
// rollout:
//   1. rollout: promptsPerStep prompts, numGenerations completions each (each prompt encoded once, its KV
//      cache shared by the group), then old log-probabilities (when the algorithm needs them) and reference
//      log-probabilities (beta > 0), without gradients;
//   2. rewards: every reward function on the batch, combined with rewardWeights (nulls left out);
//   3. advantages: the algorithm's (GRPO: group-normalised; RLOO: leave-one-out, KL folded in);
//   4. numIterations optimizer steps on the rollout, each over gradientAccumulationSteps micro-batches of
//      the algorithm's loss (TRL's μ and steps_per_generation);
//   5. metrics with TRL's names, sample tables, checkpoints at the rollout's end.
// Everything random is keyed by (seed, rollout) or (seed, step) and checkpoints hold the policy, optimizer
// and data position, so a resumed run continues exactly as an unbroken one.
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import type { MetricsSink } from '../data/metrics-sink.js';
import { writeFileAtomic } from '../lm/checkpoint.js';
import { generate } from '../lm/generate.js';
import type { GPT } from '../lm/model.js';
import type { Tokenizer } from '../lm/tokenizer.js';
import { AdamW, NonFiniteError } from '../train/adamw.js';
import { loadOptimizer, openRunFolder } from '../train/run-checkpoint.js';
import { Actor } from './actor.js';
import { combineRewards } from './combine-rewards.js';
import { GroupRlState, readGroupState, saveGroupCheckpoint } from './group-checkpoint.js';
import type { GrpoConfig } from './grpo/config.js';
import { scheduledLr } from './lr-schedule.js';
import { permutation } from '../lm/rng.js';
import { pack, Packed, rowsOf } from './policy.js';
import { loadPromptRecords, promptIndices, subSeed } from './prompts.js';
import { RewardSource, ruleSource } from './reward-source.js';
import { openRewardFns } from './reward-fns/open.js';
import { RewardFns, rewardFnsFrom } from './reward-fns/reward-fn.js';
import type { RlooConfig } from './rloo/config.js';
import { checkContext, eosIdsOf, forwardChunks, queryEncoder, rows } from './rollout.js';
import { completionMetrics, rewardMetrics, sampleRows } from './group-metrics.js';

export type GroupRlConfig = GrpoConfig | RlooConfig;

/** One micro-batch of the loss: [b, R] tensors over completion positions, [b] advantages. */
export interface LossInputs {
  logp: tf.Tensor2D;
  entropy: tf.Tensor2D;
  oldLogp: tf.Tensor2D | null;
  refLogp: tf.Tensor2D | null;
  advantages: tf.Tensor1D;
  mask: tf.Tensor2D;
}

/** What tells GRPO from RLOO: one function per step of the loop that differs. */
export interface GroupAlgorithm<C extends GroupRlConfig> {
  kind: 'grpo' | 'rloo';
  /** Old log-probabilities are computed at rollout (otherwise the ratio is taken against detached log π). */
  needsOldLogprobs(c: C): boolean;
  /** Step 3: rewards [N] (NaN: unscorable) -> advantages [N] and the rollout's own metrics. */
  advantages(c: C, rewards: number[], r: { oldLogp: number[][] | null; refLogp: number[][] | null; mask: number[][] }): { advantages: number[]; metrics: Record<string, number> };
  /** Step 4: the loss of one micro-batch, and its metrics in LOSS_METRIC_NAMES order ([7]). Inside variableGrads. */
  loss(c: C, x: LossInputs, numItemsInBatch: number): { loss: tf.Scalar; metrics: tf.Tensor1D };
  /** Names of the loss metrics' entries (NaN entries are left out of the logged metrics). */
  lossMetricNames: readonly string[];
}

export interface GroupRlOptions {
  resume?: boolean;
  sink?: MetricsSink;
  /** Called after every optimizer step (progress bars, the online loop). */
  onStep?: (r: { step: number; total: number; metrics: Record<string, number>; policy: GPT; tokenizer: Tokenizer }) => void | Promise<void>;
  /** Use these reward functions instead of opening config.reward (tests). */
  rewardOverride?: RewardFns;
  /** Asked before every rollout; a returned source (a refreshed reward model) replaces the rewards. */
  pollReward?: () => RewardSource | null | Promise<RewardSource | null>;
  /** Stop cleanly at the end of the rollout that reaches this optimizer step, checkpointing it. */
  stopAfter?: number;
}

export interface GroupRlResult {
  step: number;
  final: string | null;
  history: Record<string, number>[];
}

const sum = (x: number[]) => x.reduce((a, b) => a + b, 0);

export async function runGroupRl<C extends GroupRlConfig>(algo: GroupAlgorithm<C>, c: C, o: GroupRlOptions = {}): Promise<GroupRlResult> {
  const sink = o.sink;
  const cfgFile = join(c.out, `${algo.kind}-config.json`);
  const last = openRunFolder(c.out, cfgFile, c, Boolean(o.resume), 'steps');
  writeFileAtomic(cfgFile, JSON.stringify(c, null, 2) + '\n');
  const from = o.resume && last ? last : undefined;
  const actor = Actor.load(c.model, { lora: c.lora, withRef: c.beta > 0, seed: c.seed, policyFrom: from && !c.lora ? from : undefined, adapterFrom: from && c.lora ? from : undefined });
  let fns: RewardFns | null = null;
  let gold: RewardSource | null = null;
  try {
    const tok = actor.tokenizer;
    const cfg = actor.policy.config;
    const records = loadPromptRecords(c.prompts, tok);
    const queryOf = queryEncoder(tok, cfg, c.maxPromptLength);
    checkContext(c.prompts, records.map((r) => queryOf(r.prompt)), c.maxCompletionLength, cfg, ['maxPromptLength', 'maxCompletionLength']);
    const eosIds = eosIdsOf(cfg, tok);
    const pad = eosIds[0] ?? 0;
    const opt = new AdamW(actor.trainable(), { lr: c.lr, weightDecay: c.weightDecay, maxGradNorm: c.maxGradNorm });
    let state: GroupRlState = { step: 0, rollouts: 0, dataPosition: 0, rng: { seed: c.seed, rollouts: 0 }, numTokens: 0, seconds: 0 };
    if (from) {
      state = readGroupState(from);
      loadOptimizer(from, opt);
      sink?.event(state.step, 'resume', { checkpoint: from });
    }
    fns = o.rewardOverride ?? (await openRewardFns(c.reward, c.rewardWeights, { batchSize: c.rewardBatchSize }));
    let weights = c.rewardWeights;
    gold = c.goldReward ? await ruleSource(c.goldReward) : null;
    const [P, G] = [c.promptsPerStep, c.numGenerations];
    const N = P * G;
    const chunk = N / c.gradientAccumulationSteps; // completions per micro-batch
    let lastSaved: string | null = last;
    const history: Record<string, number>[] = [];

    while (state.step < c.steps) {
      await new Promise((resolve) => setImmediate(resolve)); // let signals and sockets through between rollouts
      const t0 = performance.now();
      const swapped = await o.pollReward?.();
      if (swapped) {
        fns.dispose();
        fns = rewardFnsFrom([{ name: swapped.name, source: swapped.name, fn: (x) => swapped.score(x.prompts, x.completions, x.completionIds), dispose: () => swapped.dispose?.() }]);
        weights = null;
        sink?.event(state.step, 'reward-switch', { name: swapped.name });
      }
      const rollout = state.rollouts + 1;

      // 1. Rollout: G completions per prompt, prompt-major; old and reference log-probabilities.
      const recs = promptIndices(records.length, c.seed, state.dataPosition, P).map((i) => records[i]);
      const queries = recs.map((r) => queryOf(r.prompt));
      const comps = await generate(actor.policy, tok, queries, {
        numReturnSequences: G, temperature: c.temperature, topK: c.topK, topP: c.topP, maxNewTokens: c.maxCompletionLength,
        seed: subSeed(c.seed, rollout, 0), stop: c.stop, eosIds,
      });
      const groupOf = (i: number) => Math.floor(i / G);
      const packed = pack(comps.map((_, i) => queries[groupOf(i)]), comps.map((x) => x.ids), pad);
      const R = packed.R;
      const truncated = comps.map((x) => x.finishReason === 'length');
      // DAPO's overlong filtering: a truncated completion's tokens leave the loss (its reward still counts in its group)
      const mask = packed.mask.map((m, i) => (c.maskTruncatedCompletions && truncated[i] ? m.map(() => 0) : m));
      const [oldLp] = algo.needsOldLogprobs(c) ? await forwardChunks(packed, chunk, (p) => [tf.slice(actor.logprobs(p, c.temperature), [0, 0], [-1, 1])]) : [null];
      const [refLp] = c.beta > 0 ? await forwardChunks(packed, chunk, (p) => [actor.refLogprobs(p, c.temperature)]) : [null];
      const tRollout = performance.now();

      // 2. Rewards: each function on the whole batch, then the weighted sum (TRL's nansum).
      const texts = comps.map((x) => x.text);
      const prompts = comps.map((_, i) => recs[groupOf(i)].prompt);
      const scored = await fns.score({ prompts, completions: texts, completionIds: comps.map((x) => x.ids), columns: comps.map((_, i) => recs[groupOf(i)].columns), step: state.step + 1 });
      const combined = combineRewards(scored.perFunc, weights);
      const goldScores = gold ? await gold.score(prompts, texts) : null;
      const tReward = performance.now();

      // 3. Advantages.
      const adv = algo.advantages(c, combined.rewards, { oldLogp: oldLp && rows(oldLp, N, R), refLogp: refLp && rows(refLp, N, R), mask });
      const rolloutMetrics: Record<string, number> = {
        ...rewardMetrics(combined, fns.names, scored.metrics, goldScores),
        ...adv.metrics,
        ...completionMetrics(comps.map((x) => x.ids.length), truncated),
      };
      state.numTokens += sum(packed.attn.map((a) => sum(a)));

      // 4. numIterations optimizer steps on this rollout, gradientAccumulationSteps micro-batches each.
      const numItems = sum(mask.map((m) => sum(m))); // TRL's num_items_in_batch (dapo's normaliser)
      for (let it = 0; it < c.numIterations && state.step < c.steps; it++) {
        const step = state.step + 1;
        const tStep = performance.now();
        opt.opts.lr = scheduledLr(c, step);
        const order = permutation(N, subSeed(c.seed, step, 1));
        let grads: Record<string, tf.Tensor> | null = null;
        const lossParts: number[][] = [];
        let loss = 0;
        try {
          for (let s = 0; s < N; s += chunk) {
            const idx = order.slice(s, s + chunk);
            const r = microBatch(rowsOf(packed, idx), idx, mask, adv.advantages, oldLp, refLp, R);
            let metrics: tf.Tensor1D | null = null;
            const { value, grads: g } = tf.variableGrads(() => tf.tidy(() => {
              const x = inputsOf(actor, r, c.temperature);
              const out = algo.loss(c, x, numItems);
              metrics = tf.keep(out.metrics);
              return out.loss;
            }), [...actor.trainable().values()]);
            loss += (await value.data())[0];
            lossParts.push(Array.from(await metrics!.data()));
            tf.dispose([value, metrics!]);
            if (!grads) grads = g;
            else {
              const acc: Record<string, tf.Tensor> = grads;
              for (const k of Object.keys(g)) {
                const next = tf.add(acc[k], g[k]);
                acc[k].dispose();
                g[k].dispose();
                acc[k] = next;
              }
            }
          }
          const info = opt.applyGradients(grads!); // keyed by the variables' names, which AdamW also knows
          rolloutMetrics.grad_norm = info.gradNorm;
        } catch (e) {
          if (!(e instanceof NonFiniteError) && Number.isFinite(loss)) throw e;
          const where = lastSaved ? `the last good checkpoint is ${lastSaved}` : 'no checkpoint was written';
          throw new NonFiniteError(`step ${step}: ${e instanceof NonFiniteError ? e.message : `loss is ${loss}`}; training stopped, ${where}`);
        } finally {
          if (grads) tf.dispose(Object.values(grads));
        }
        if (!Number.isFinite(loss)) throw new NonFiniteError(`step ${step}: loss is ${loss}; training stopped, ${lastSaved ? `the last good checkpoint is ${lastSaved}` : 'no checkpoint was written'}`);

        // 5. Metrics (TRL's names), samples, checkpoints at the rollout's end.
        const now = performance.now();
        state = { ...state, step, seconds: state.seconds + (now - (it === 0 ? t0 : tStep)) / 1000 };
        const metrics: Record<string, number> = {
          ...rolloutMetrics,
          ...lossMetrics(algo.lossMetricNames, lossParts),
          loss,
          num_tokens: state.numTokens,
          lr: opt.opts.lr,
          step_time: (now - (it === 0 ? t0 : tStep)) / 1000,
          ...(it === 0 ? { 'time/rollout': (tRollout - t0) / 1000, 'time/reward': (tReward - tRollout) / 1000, 'time/update': (now - tReward) / 1000, 'perf/rollout_tokens_per_sec': sum(comps.map((x) => x.ids.length)) / ((tRollout - t0) / 1000) } : { 'time/update': (now - tStep) / 1000 }),
        };
        sink?.metrics(step, metrics);
        history.push(metrics);
        if (it === 0 && c.sampleEvery && (step % c.sampleEvery === 0 || step === 1)) {
          sink?.samples(step, sampleRows(prompts, texts, combined.rewards, fns.names, scored, goldScores, c.sampleRows, G));
        }
        await o.onStep?.({ step, total: c.steps, metrics, policy: actor.policy, tokenizer: tok });
      }
      state = { ...state, rollouts: rollout, dataPosition: state.dataPosition + P, rng: { seed: c.seed, rollouts: rollout } };
      const first = state.step - Math.min(c.numIterations, state.step) + 1; // the rollout's first optimizer step
      const due = Math.floor(state.step / c.saveEvery) > Math.floor((first - 1) / c.saveEvery);
      const stop = o.stopAfter !== undefined && state.step >= o.stopAfter;
      if (due || state.step >= c.steps || stop) {
        lastSaved = await saveGroupCheckpoint(c.out, state, actor, opt, c.keepCheckpoints, c.model);
        sink?.event(state.step, 'checkpoint', { path: lastSaved });
      }
      if (stop) break;
    }
    let final: string | null = null;
    if (state.step >= c.steps) {
      final = join(c.out, 'final');
      await actor.save(final, c.model);
      sink?.event(state.step, 'final', { path: final });
    }
    return { step: state.step, final, history };
  } finally {
    fns?.dispose();
    gold?.dispose?.();
    actor.dispose();
  }
}

/** The rows of one micro-batch as plain arrays. */
function microBatch(p: Packed, idx: number[], mask: number[][], advantages: number[], oldLp: Float32Array | null, refLp: Float32Array | null, R: number) {
  const pick = (flat: Float32Array | null) => (flat ? idx.flatMap((i) => Array.from(flat.subarray(i * R, (i + 1) * R))) : null);
  return { p, mask: idx.flatMap((i) => mask[i]), advantages: idx.map((i) => advantages[i]), oldLp: pick(oldLp), refLp: pick(refLp) };
}

/** The micro-batch as the loss's tensors: policy log-probabilities with gradients, the rest constants. */
function inputsOf(actor: Actor, r: ReturnType<typeof microBatch>, temperature: number): LossInputs {
  const b = r.advantages.length;
  const R = r.p.R;
  const le = actor.logprobs(r.p, temperature); // [b*R, 2]
  const col = (k: number) => tf.reshape(tf.slice(le, [0, k], [-1, 1]), [b, R]) as tf.Tensor2D;
  const t2 = (x: number[] | null) => (x ? tf.tensor2d(x, [b, R]) : null);
  return { logp: col(0), entropy: col(1), oldLogp: t2(r.oldLp), refLogp: t2(r.refLp), advantages: tf.tensor1d(r.advantages), mask: tf.tensor2d(r.mask, [b, R]) };
}

/** The micro-batches' loss metrics averaged (TRL averages each over the logging window); NaN entries left out. */
function lossMetrics(names: readonly string[], parts: number[][]): Record<string, number> {
  const out: Record<string, number> = {};
  names.forEach((n, k) => {
    const vals = parts.map((p) => p[k]).filter((v) => !Number.isNaN(v));
    if (!vals.length) return;
    out[n] = n.endsWith('_min') ? Math.min(...vals) : n.endsWith('_max') ? Math.max(...vals) : sum(vals) / vals.length;
  });
  return out;
}
