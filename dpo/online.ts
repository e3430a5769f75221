// Online iterative DPO (the config's onlineFeedback block, dpo/online-config.ts), top to bottom:
//   0. round 0 (offlineRound): offline DPO on the config's db or data, as `rlhf dpo` without the block;
//      skipped while that store holds no preference labels;
//   1. the current policy's samples go to the labeling queue (rl/online/task-sender.ts, as PPO's online
//      loop sends them): a batch of `prompts` tasks as soon as a policy is new, another whenever every task
//      of the run has a label and the round is not yet full;
//   2. once roundEveryLabels new preference labels arrived on the run's tasks, a DPO round trains on every
//      new one (a label of an older policy's task counts: human labels are not thrown away), warm-started
//      from the current policy, its reference the starting model or the round's start (dpo/online-rounds.ts);
//   3. the round's policy writes the next samples; after `rounds` rounds, out/final/ is the last policy.
// Every round's metrics go to the run's sink on one step axis (round r's steps follow round r-1's), and each
// round ends with a 'dpo-round' event (round, labels used, eval accuracy) that the dashboard draws like a
// reward-model switch. online-state.json (rounds done, labels used, the step offset, the round in progress,
// the batches sent) lets --resume go on where the run stopped: inside a round (runDpo's own resume) or
// waiting for labels.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MetricsSink } from '../data/metrics-sink.js';
import { loadCheckpoint, writeFileAtomic } from '../lm/checkpoint.js';
import type { GPT } from '../lm/model.js';
import type { Tokenizer } from '../lm/tokenizer.js';
import { subSeed } from '../rl/prompts.js';
import { TaskSender } from '../rl/online/task-sender.js';
import type { DpoConfig } from './config.js';
import { DpoResult, runDpo } from './dpo.js';
import { copyModel, labelKinds, newLabels, openTasks, preferenceLabels, roundPlan, roundPolicy, writeRoundLabels } from './online-rounds.js';

export interface RoundSummary {
  round: number;
  /** Labels the round trained on (round 0: all its data's comparisons, train and validation). */
  labels: number;
  steps: number;
  /** Validation reward accuracy of the round's final policy (eval/rewards/accuracies), or null without validation. */
  accuracy: number | null;
  policy: string;
}

interface OnlineDpoState {
  /** The last round finished (0: the offline round, done or skipped), or -1. */
  round: number;
  /** The current policy: the model folder the next samples and the next round start from. */
  policy: string;
  /** Optimizer steps of the rounds finished: the next round's step 1 is stepOffset + 1 on the run's axis. */
  stepOffset: number;
  /** Every label id an online round trained on. */
  usedLabels: number[];
  /** The round in progress and its labels (their file is in the round's folder). */
  pending: { round: number; labels: number[] } | null;
  tasksSent: number;
  /** Batches of tasks sent (the next takes the prompts after them), and the round whose policy sent the last. */
  batches: number;
  sentBy: number;
  history: RoundSummary[];
}

export interface OnlineDpoOptions {
  /** The run's id: its tasks' source is `run:<id>`. */
  runId: string;
  resume?: boolean;
  sink?: MetricsSink;
  /** After every optimizer step of a round (progress bars). */
  onStep?: (r: { round: number; step: number; total: number; loss: number; numTokens: number }) => void;
  /** While a round waits for labels, after each look at the store. */
  onWait?: (r: { round: number; labels: number; needed: number }) => void;
  /** How often the store is looked at while waiting (ms). */
  pollMs?: number;
}

export interface OnlineDpoResult {
  step: number;
  final: string;
  rounds: RoundSummary[];
}

export const ONLINE_STATE_FILE = 'online-state.json';
const CONFIG_FILE = 'dpo-config.json';

export async function runOnlineDpo(c: DpoConfig, o: OnlineDpoOptions): Promise<OnlineDpoResult> {
  const cfg = c.onlineFeedback;
  if (!cfg) throw new Error('runOnlineDpo needs a config with onlineFeedback');
  const sink = o.sink;
  const stateFile = join(c.out, ONLINE_STATE_FILE);
  let st = openOnlineRun(c, Boolean(o.resume), stateFile);
  const save = () => writeFileAtomic(stateFile, JSON.stringify(st, null, 2) + '\n');
  save();
  const tasks = new TaskSender(cfg, { id: o.runId, model: c.model, prompts: cfg.promptFile });
  const kinds = labelKinds(c);
  // the policy that writes tasks, loaded once per round (held in an object: closures below reassign it)
  const held: { sampler: { policy: GPT; tok: Tokenizer; dir: string } | null } = { sampler: null };
  const dropSampler = () => {
    held.sampler?.policy.dispose();
    held.sampler = null;
  };
  const roundsDir = join(c.out, 'rounds');
  try {
    /** Train round `r` on its data, publish its policy, and log it. */
    const train = async (r: number, labels: number[]) => {
      const dir = join(roundsDir, `r${r}`);
      const labelsFile = join(dir, 'labels.jsonl');
      const plan = roundPlan(c, r, st.policy, dir, labelsFile);
      const offset = st.stepOffset;
      sink?.event(offset, 'dpo-round-start', { round: r, labels: labels.length, from: st.policy, reference: plan.referenceModel ?? plan.config.model });
      const result = await runDpo(plan.config, {
        resume: existsSync(join(dir, CONFIG_FILE)), referenceModel: plan.referenceModel,
        sink: sink && shifted(sink, offset),
        onStep: (s) => o.onStep?.({ round: r, ...s }),
      }).catch((e: Error) => {
        e.message = `round ${r}: ${e.message}`;
        throw e;
      });
      const policy = await roundPolicy(plan.config, result.final!, join(dir, 'policy'));
      const summary: RoundSummary = { round: r, labels: r === 0 ? result.train + result.val : labels.length, steps: result.step, accuracy: accuracyOf(result), policy };
      st = { ...st, round: r, policy, stepOffset: offset + result.step, usedLabels: [...st.usedLabels, ...labels], pending: null, history: [...st.history, summary] };
      save();
      sink?.event(st.stepOffset, 'dpo-round', { ...summary, comparisons: { train: result.train, val: result.val } });
      sink?.metrics(st.stepOffset, { 'online/round': r, 'online/labels': st.usedLabels.length, 'online/tasks_sent': st.tasksSent, ...(summary.accuracy !== null ? { 'online/round_accuracy': summary.accuracy } : {}) });
    };

    // 0. the offline round
    if (st.round < 0) {
      if (cfg.offlineRound && (st.pending || c.data.length || preferenceLabels(c.db!, kinds) > 0)) {
        st.pending = { round: 0, labels: [] };
        save();
        await train(0, []);
      } else {
        st = { ...st, round: 0 };
        save();
        sink?.event(0, 'dpo-round-skipped', { round: 0, why: cfg.offlineRound ? 'the store holds no preference labels yet' : 'offlineRound is off' });
      }
    }

    // 1-3. online rounds
    const used = new Set(st.usedLabels);
    while (st.round < cfg.rounds) {
      const r = st.round + 1;
      let labels = st.pending?.round === r ? st.pending.labels : null;
      if (!labels) {
        for (;;) {
          const fresh = newLabels(tasks.store, tasks.source(), kinds, used);
          if (fresh.length >= cfg.roundEveryLabels) {
            labels = fresh;
            break;
          }
          if (st.sentBy < st.round || openTasks(tasks.store, tasks.source()) === 0) {
            // a batch from the current policy: the first of a new policy, or more work for idle labelers
            if (held.sampler?.dir !== st.policy) {
              dropSampler();
              const ck = loadCheckpoint(st.policy);
              if (!ck.tokenizer) throw new Error(`${st.policy}: no tokenizer.json`);
              held.sampler = { policy: ck.model, tok: ck.tokenizer, dir: st.policy };
            }
            const s = held.sampler!;
            const ids = await tasks.send(s.policy, s.tok, { batch: st.batches, step: st.stepOffset, seed: subSeed(c.seed, st.batches, 7), model: st.policy });
            st = { ...st, tasksSent: st.tasksSent + ids.length, batches: st.batches + 1, sentBy: st.round };
            save();
            sink?.event(st.stepOffset, 'feedback-tasks', { added: ids.length, total: st.tasksSent, round: st.round, policy: st.policy });
            sink?.metrics(st.stepOffset, { 'online/tasks_sent': st.tasksSent });
          }
          o.onWait?.({ round: r, labels: fresh.length, needed: cfg.roundEveryLabels });
          await new Promise((done) => setTimeout(done, o.pollMs ?? 250));
        }
        mkdirSync(join(roundsDir, `r${r}`), { recursive: true });
        writeRoundLabels(cfg.db, labels, join(roundsDir, `r${r}`, 'labels.jsonl'));
        st.pending = { round: r, labels };
        save();
      }
      dropSampler(); // training needs the memory; the next samples come from the new policy anyway
      await train(r, labels);
      for (const id of labels) used.add(id);
    }
    const final = join(c.out, 'final');
    await copyModel(st.policy, final);
    return { step: st.stepOffset, final, rounds: st.history };
  } finally {
    dropSampler();
    tasks.close();
  }
}

/**
 * The run's state: fresh (refusing a folder that already holds a run), or on resume the saved one, after
 * checking the config is the one it ran with (only onlineFeedback.rounds may change).
 */
function openOnlineRun(c: DpoConfig, resume: boolean, stateFile: string): OnlineDpoState {
  const cfgFile = join(c.out, CONFIG_FILE);
  mkdirSync(c.out, { recursive: true });
  const fresh: OnlineDpoState = { round: -1, policy: c.model, stepOffset: 0, usedLabels: [], pending: null, tasksSent: 0, batches: 0, sentBy: -1, history: [] };
  if (!resume) {
    if (existsSync(stateFile) || existsSync(cfgFile)) throw new Error(`${c.out} already holds a run; pass --resume to continue it, or choose another --out (nothing is overwritten)`);
    writeFileAtomic(cfgFile, JSON.stringify(c, null, 2) + '\n');
    return fresh;
  }
  if (existsSync(cfgFile)) {
    const prev = JSON.parse(readFileSync(cfgFile, 'utf8')) as DpoConfig;
    const strip = (x: DpoConfig): Record<string, unknown> => ({ ...x, onlineFeedback: x.onlineFeedback && { ...x.onlineFeedback, rounds: 0 } });
    const [was, now] = [strip(prev), strip(c)];
    const diff = [...new Set([...Object.keys(was), ...Object.keys(now)])].filter((k) => JSON.stringify(was[k]) !== JSON.stringify(now[k]));
    if (diff.length) throw new Error(`--resume with a different config (${diff.join(', ')}); only onlineFeedback.rounds may change`);
  }
  writeFileAtomic(cfgFile, JSON.stringify(c, null, 2) + '\n');
  return existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as OnlineDpoState) : fresh;
}

/** A sink that puts a round's steps after the rounds before it. */
function shifted(sink: MetricsSink, offset: number): MetricsSink {
  return {
    metrics: (step, m) => sink.metrics(step + offset, m),
    samples: (step, rows) => sink.samples(step + offset, rows),
    event: (step, kind, data) => sink.event(step + offset, kind, data),
    close: () => {},
  };
}

/** Validation reward accuracy of the round's final policy: the best evaluation's, else the last one's. */
function accuracyOf(r: DpoResult): number | null {
  const e = r.evals.find((x) => x.step === r.best?.step) ?? r.evals.at(-1);
  return e?.['eval/rewards/accuracies'] ?? null;
}
