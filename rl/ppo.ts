// PPO for language models, top to bottom in cleanrl's order. Per iteration:
//   1. rollout: sample completions for a batch of prompts at the configured temperature, then the
//      policy's logprobs (same temperature) and values for those tokens;
//   2. reference logprobs and scores (reward source, gold rule), missing-EOS penalty, score clipping;
//   3. per-token KL penalty, the score at the last token (or after it), optional reward whitening, GAE,
//      whitened advantages (ppo-targets.ts);
//   4. epochs × minibatches of clipped policy and value losses (ppo-update.ts);
//   5. metrics with TRL's names, the adaptive KL update, sample tables, checkpoints.
// Everything random is keyed by (seed, step), and checkpoints hold weights, optimizer, KL controller and
// data position, so a resumed run continues exactly as an unbroken one. runPpo can be driven by another
// process: it reports through a MetricsSink and asks `pollReward` for a new reward source between steps.
import * as tf from '@tensorflow/tfjs';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { MetricsSink } from '../data/metrics-sink.js';
import { AdamW, NonFiniteError } from '../train/adamw.js';
import { writeFileAtomic } from '../lm/checkpoint.js';
import { generate } from '../lm/generate.js';
import { loadOptimizer, openRunFolder } from '../train/run-checkpoint.js';
import { klController } from './kl-controller.js';
import { loadValueHead, PpoState, readPpoState, saveModels, savePpoCheckpoint } from './ppo-checkpoint.js';
import { PpoConfig, PpoConfigError } from './ppo-config.js';
import { ppoTargets } from './ppo-targets.js';
import { ppoUpdate } from './ppo-update.js';
import { pack, Packed, PpoModels, rowsOf } from './policy.js';
import { loadPromptRecords, promptIndices, subSeed } from './prompts.js';
import { RewardSource, ruleSource } from './reward-source.js';
import { openRewardFns } from './reward-fns/open.js';
import { rewardFnsAsSource } from './reward-fns/as-source.js';
import { eosIdsOf, forwardChunks, queryEncoder, rows } from './rollout.js';
import { applyMissingEosPenalty, clipScores, stopTokenCut } from './rewards.js';

export interface PpoStepReport {
  step: number;
  total: number;
  metrics: Record<string, number>;
  /** The live models (the online loop samples tasks from the current policy). */
  models: PpoModels;
}

export interface PpoOptions {
  /** Continue the run in config.out from its latest checkpoint. */
  resume?: boolean;
  sink?: MetricsSink;
  /** Called after every iteration (progress bars, the online loop). */
  onStep?: (r: PpoStepReport) => void | Promise<void>;
  /** Use this reward source instead of opening config.reward (tests, the online loop). */
  rewardOverride?: RewardSource;
  /** Asked before every iteration; a returned source replaces the current one (which is disposed). */
  pollReward?: () => RewardSource | null | Promise<RewardSource | null>;
  /** Stop cleanly after this iteration, checkpointing it (tests simulate an interrupted run). */
  stopAfter?: number;
}

export interface PpoResult {
  step: number;
  /** The final/ folder, or null when the run stopped early. */
  final: string | null;
  /** Every iteration's metrics, in order (this process's iterations only). */
  history: Record<string, number>[];
}

/** Learning rate at iteration `step` (1-based); under linear-per-update, that of the iteration's first update. */
export function ppoLr(c: PpoConfig, step: number): number {
  if (c.lrSchedule === 'linear-per-update') return ppoUpdateLr(c, step, 0);
  return c.lrSchedule === 'linear' ? c.lr * (1 - (step - 1) / c.steps) : c.lr;
}

/**
 * Learning rate of update k (0-based, epoch · minibatches + j) of iteration `step`. Under linear-per-update
 * it is HF's linear schedule stepped after every optimizer step: lr · (1 − n / N) for the n-th of the
 * N = steps · ppoEpochs · batchSize / miniBatchSize planned updates, so it falls towards 0 (the last update
 * runs at lr / N). Planned, not applied: a skipped or early-stopped update still moves the schedule on, so
 * the schedule ends where planned and a resume needs no extra state.
 */
export function ppoUpdateLr(c: PpoConfig, step: number, k: number): number {
  if (c.lrSchedule !== 'linear-per-update') return ppoLr(c, step);
  const perStep = c.ppoEpochs * Math.ceil(c.batchSize / c.miniBatchSize);
  return c.lr * (1 - ((step - 1) * perStep + k) / (c.steps * perStep));
}

/** The reward must be a reward-model folder when the critic starts from it. */
function checkCriticSource(c: PpoConfig): void {
  if (c.valueModel !== 'reward-model') return;
  if (!existsSync(c.reward) || !statSync(c.reward).isDirectory()) {
    throw new PpoConfigError(`valueModel 'reward-model' starts the critic from the reward model, so reward must be a reward-model folder; got '${c.reward}' (use valueModel 'separate' or 'shared' with a rule or module reward)`);
  }
}

/** The update's averages, in TRL's order; absent when every minibatch was skipped. */
const UPDATE_AVERAGES = ['policy/approxkl_avg', 'policy/clipfrac_avg', 'policy/entropy_avg', 'loss/policy_avg', 'loss/value_avg', 'val/clipfrac_avg', 'val/ratio', 'val/ratio_var'] as const;


export async function runPpo(c: PpoConfig, o: PpoOptions = {}): Promise<PpoResult> {
  checkCriticSource(c); // before the run folder is made
  const sink = o.sink;
  const cfgFile = join(c.out, 'ppo-config.json');
  const last = openRunFolder(c.out, cfgFile, c, Boolean(o.resume), 'steps');
  writeFileAtomic(cfgFile, JSON.stringify(c, null, 2) + '\n');

  // Models, optimizer and state: from the latest checkpoint when resuming.
  const from = o.resume && last ? last : undefined;
  const m = PpoModels.load(c.model, {
    lora: c.lora, separateCritic: c.valueModel !== 'shared', seed: c.seed, criticFromRewardModel: c.valueModel === 'reward-model' ? c.reward : undefined,
    policyFrom: from && !c.lora ? from : undefined, adapterFrom: from && c.lora ? from : undefined, criticFrom: from ? join(from, 'critic') : undefined,
  });
  let reward: RewardSource | null = null;
  let gold: RewardSource | null = null;
  try {
    const records = loadPromptRecords(c.prompts, m.tokenizer); // conversations rendered with the model's chat template
    const prompts = records.map((r) => r.prompt);
    const opt = new AdamW(m.trainable(), { lr: c.lr, eps: c.adamEpsilon, weightDecay: c.weightDecay, maxGradNorm: c.maxGradNorm });
    let state: PpoState = { step: 0, episode: 0, kl: { kind: c.klTarget === null ? 'fixed' : 'adaptive', value: c.klCoef }, dataPosition: 0, rng: { seed: c.seed, step: 0 }, seconds: 0 };
    if (from) {
      state = readPpoState(from);
      loadOptimizer(from, opt);
      loadValueHead(join(from, 'value_head.safetensors'), m.head);
      sink?.event(state.step, 'resume', { checkpoint: from });
    }
    const kl = klController(c.klCoef, c.klTarget, c.klHorizon, from ? state.kl : undefined);
    const tok = m.tokenizer;
    const cfg = m.policy.config;
    const eosIds = eosIdsOf(cfg, tok);
    const eos = eosIds[0];
    const queryOf = queryEncoder(tok, cfg, c.maxPromptTokens);
    const longest = Math.max(...prompts.map((p) => queryOf(p).length));
    for (const [what, n] of [["the model's", cfg.nPositions], ["the critic's", m.critic?.config.nPositions ?? cfg.nPositions]] as const) {
      if (longest + c.maxNewTokens > n) {
        throw new Error(`prompts ${c.prompts}: the longest prompt (${longest} tokens) + maxNewTokens (${c.maxNewTokens}) exceeds ${what} ${n} positions; lower maxPromptTokens or maxNewTokens`);
      }
    }
    // a rule, a module (a batch reward function or score(prompt, completion)) or a reward-model folder, as
    // reward functions: they see the prompt file's columns and the step, as GRPO's do
    reward = o.rewardOverride ?? rewardFnsAsSource(await openRewardFns([c.reward], null, { batchSize: c.rewardBatchSize }), null);
    gold = c.goldReward ? await ruleSource(c.goldReward) : null;
    let lastSaved: string | null = last;
    const history: Record<string, number>[] = [];

    while (state.step < c.steps) {
      const step = state.step + 1;
      // Let I/O callbacks run (signals, child processes, sockets): on wasm, `await data()` resolves as a
      // microtask, so without this a whole run is one microtask chain that never reaches the event loop.
      await new Promise((resolve) => setImmediate(resolve));
      const t0 = performance.now();
      const swapped = await o.pollReward?.();
      if (swapped) {
        reward.dispose?.();
        reward = swapped;
        sink?.event(state.step, 'reward-switch', { name: reward.name });
      }

      // 1. Rollout.
      const idx = promptIndices(prompts.length, c.seed, state.dataPosition, c.batchSize);
      const batchPrompts = idx.map((i) => prompts[i]);
      const queries = batchPrompts.map(queryOf);
      const comps = await generate(m.policy, tok, queries, {
        temperature: c.temperature, topK: 0, topP: 1, maxNewTokens: c.maxNewTokens, seed: subSeed(c.seed, step, 0), stop: c.stop, eosIds,
      });
      // With maskStopTokens the token that completed a stop string (the text the reward sees stops before
      // it) leaves the response: no policy loss, KL or value there, as for padding.
      const kept = comps.map((x) => (c.maskStopTokens && x.finishReason === 'stop' ? stopTokenCut(x.ids, (ids) => tok.decode(ids), c.stop) : x.ids.length));
      const packed = pack(queries, comps.map((x, i) => x.ids.slice(0, kept[i])), eos ?? 0);
      const B = c.batchSize;
      const R = packed.R;
      const old = await forwardChunks(packed, c.miniBatchSize, (p) => {
        const out = m.policyForward(p, c.temperature);
        const lp = tf.reshape(tf.slice(out.le, [0, 0], [-1, 1]), [-1]);
        return [lp, out.values ?? m.criticForward(p)];
      });
      const tRollout = performance.now();

      // 2. Reference logprobs and scores.
      const [refLp] = await forwardChunks(packed, c.miniBatchSize, (p) => [m.refLogprobs(p, c.temperature)]);
      const texts = comps.map((x) => x.text);
      const finished = comps.map((x) => x.finishReason !== 'length');
      const rawScores = await reward.score(batchPrompts, texts, comps.map((x) => x.ids), { columns: idx.map((i) => records[i].columns), step });
      if (rawScores.length !== B) throw new Error(`reward ${reward.name} returned ${rawScores.length} scores for ${B} completions`);
      const bad = rawScores.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) {
        const where = lastSaved ? `the last good checkpoint is ${lastSaved}` : 'no checkpoint was written';
        throw new NonFiniteError(`step ${step}: reward ${reward.name} returned ${rawScores[bad]} for completion ${bad}; training stopped, ${where}`);
      }
      const scores = applyMissingEosPenalty(clipScores(rawScores, c.scoreClip), finished, c.missingEosPenalty);
      const goldScores = gold ? await gold.score(batchPrompts, texts) : null;
      const tScore = performance.now();

      // 3. KL penalty, token rewards, GAE.
      const mask = packed.mask;
      const logprobs = rows(old[0], B, R);
      const beta = kl.value;
      const tg = ppoTargets({ scores, logprobs, refLogprobs: rows(refLp, B, R), values: rows(old[1], B, R), mask, lengths: kept, beta }, c);
      const klTok = tg.kl;

      // 4. Optimise.
      const where = lastSaved ? `; the last good checkpoint is ${lastSaved}` : '; no checkpoint was written';
      const u = ppoUpdate(m, opt, { packed, logprobs, values: tg.values, advantages: tg.advantages, returns: tg.returns, valueMask: tg.valueMask },
        { ...c, lrAt: (k) => ppoUpdateLr(c, step, k) }, (e) => subSeed(c.seed, step, 1 + e), ` at step ${step}${where}`);
      const tTrain = performance.now();
      if (u.updates === 0 && u.skippedRatios.length) {
        // Nothing trained this iteration: say so (the averaged update metrics are left out, not NaN).
        sink?.event(step, 'all-minibatches-skipped', { skipped: u.skippedRatios.length, ratioThreshold: c.ratioThreshold, ratios: u.skippedRatios });
      }

      // 5. Metrics, KL controller, samples, checkpoint.
      const sum = (x: number[]) => x.reduce((a, b) => a + b, 0);
      const mean = (x: number[]) => sum(x) / x.length;
      const meanKl = mean(klTok.map(sum));
      const nonScore = mean(tg.nonScore.map(sum));
      const genTokens = sum(comps.map((x) => x.ids.length));
      const metrics: Record<string, number> = {
        'objective/kl': meanKl,
        'objective/entropy': mean(logprobs.map((r, b) => -sum(r.filter((_, t) => mask[b][t])))),
        'objective/non_score_reward': nonScore,
        'objective/rlhf_reward': nonScore + mean(scores),
        'objective/scores': mean(scores),
        ...(goldScores ? { 'objective/gold_scores': mean(goldScores) } : {}),
        'objective/kl_coef': beta,
        ...Object.fromEntries(UPDATE_AVERAGES.flatMap((k) => (u[k] === undefined ? [] : [[k, u[k]]]))),
        'val/num_eos_tokens': comps.filter((x) => eos !== null && x.ids.at(-1) === eos).length,
        'val/response_length': sum(kept) / B,
        'policy/early_stopped': u['policy/early_stopped'],
        'policy/skipped_minibatches': u['policy/skipped_minibatches'],
        lr: ppoLr(c, step),
        episode: state.episode + B,
        'perf/rollout_tokens_per_sec': genTokens / ((tRollout - t0) / 1000),
        'perf/train_tokens_per_sec': u.tokens / ((tTrain - tScore) / 1000),
        'time/rollout': (tRollout - t0) / 1000,
        'time/ref_and_score': (tScore - tRollout) / 1000,
        'time/train': (tTrain - tScore) / 1000,
      };
      kl.update(meanKl, B);
      state = {
        step, episode: state.episode + B, kl: kl.state(), dataPosition: state.dataPosition + B,
        rng: { seed: c.seed, step }, seconds: state.seconds + (performance.now() - t0) / 1000,
      };
      metrics['time/step'] = (performance.now() - t0) / 1000;
      sink?.metrics(step, metrics);
      history.push(metrics);
      if (c.sampleEvery && (step % c.sampleEvery === 0 || step === 1)) {
        sink?.samples(step, batchPrompts.slice(0, c.sampleRows).map((p, i) => ({
          prompt: p, completion: texts[i], score: scores[i], ...(goldScores ? { gold: goldScores[i] } : {}),
        })));
      }
      if (step % c.saveEvery === 0 || step === c.steps || step === o.stopAfter) {
        lastSaved = await savePpoCheckpoint(c.out, state, m, opt, c.keepCheckpoints, c.model);
        sink?.event(step, 'checkpoint', { path: lastSaved });
      }
      await o.onStep?.({ step, total: c.steps, metrics, models: m });
      if (step === o.stopAfter) break;
    }
    let final: string | null = null;
    if (state.step >= c.steps) {
      final = join(c.out, 'final');
      await saveModels(final, m, c.model);
      sink?.event(state.step, 'final', { path: final });
    }
    return { step: state.step, final, history };
  } finally {
    reward?.dispose?.();
    gold?.dispose?.();
    m.dispose();
  }
}
