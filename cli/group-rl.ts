// rlhf grpo and rlhf rloo: critic-free online RL against reward functions, rules or reward models; resumable.
// Every scalar and list field of the config has a flag (--kebab-case, built from rl/grpo/config.ts's or
// rl/rloo/config.ts's schema by config-flags.ts; --reward repeats), number lists take commas
// (--reward-weights 1,0.5), and every field of onlineFeedback has an --online-... flag. Flags override the
// --config file. Metrics go to stdout as JSON lines (--json) and/or the SQLite store (--db).
import { Command, InvalidArgumentError } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TObject } from '@sinclair/typebox';
import { openRunSink } from '../data/sqlite-sink.js';
import { BackendName, initBackend } from '../backend/backend.js';
import type { GroupRlConfig, GroupRlOptions, GroupRlResult } from '../rl/group-rl.js';
import { GrpoConfigSchema, resolveGrpoConfig } from '../rl/grpo/config.js';
import { runGrpo } from '../rl/grpo/grpo.js';
import { RlooConfigSchema, resolveRlooConfig } from '../rl/rloo/config.js';
import { runRloo } from '../rl/rloo/rloo.js';
import { OnlineFeedbackSchema } from '../rl/online/config.js';
import { OnlineFeedback } from '../rl/online/loop.js';
import { configFlags, loraFlags, loraFromFlags, readConfigFile } from './config-flags.js';
import { backendOption } from './options.js';
import { Progress } from './progress.js';
import { mustExist } from './store-file.js';

interface Algorithm {
  name: 'grpo' | 'rloo';
  description: string;
  schema: TObject;
  resolve(raw: Record<string, unknown>, source: string): GroupRlConfig;
  run(c: GroupRlConfig, o: GroupRlOptions): Promise<GroupRlResult>;
  /** Number-list fields, given as comma-separated flags. */
  lists: Record<string, string>;
}

const ALGORITHMS: Algorithm[] = [
  {
    name: 'grpo',
    description: 'GRPO: sample numGenerations completions per prompt, score them with reward functions, rules or reward models, and push each completion towards or away from its group\'s mean (TRL\'s GRPOTrainer semantics)',
    schema: GrpoConfigSchema, resolve: resolveGrpoConfig, run: (c, o) => runGrpo(c as Parameters<typeof runGrpo>[0], o),
    lists: { rewardWeights: 'one weight per --reward, comma-separated (e.g. 1,0.5); none: all 1' },
  },
  {
    name: 'rloo',
    description: "RLOO: sample numGenerations completions per prompt and use the mean reward of the others as each one's baseline, with the KL to the reference folded into the reward (TRL's RLOOTrainer semantics)",
    schema: RlooConfigSchema, resolve: resolveRlooConfig, run: (c, o) => runRloo(c as Parameters<typeof runRloo>[0], o),
    lists: { rewardWeights: 'one weight per --reward, comma-separated (e.g. 1,0.5); none: all 1', rewardClipRange: 'clip rewards to MIN,MAX before the KL fold; none: never' },
  },
];

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

/** "1,0.5" -> [1, 0.5]; "none" -> null. */
function numberList(v: string): number[] | null {
  if (v === 'none' || v === 'null') return null;
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (!v.trim() || xs.some((x) => !Number.isFinite(x))) throw new InvalidArgumentError(`expected comma-separated numbers, got '${v}'`);
  return xs;
}

function command(a: Algorithm): Command {
  const cmd = new Command(a.name).description(a.description).option('--config <file>', `JSON config (fields as in rl/${a.name}/config.ts); flags override it`);
  const fields = configFlags(cmd, a.schema, { skip: Object.keys(a.lists) });
  for (const [field, help] of Object.entries(a.lists)) cmd.option(`--${kebab(field)} <list>`, help, numberList);
  loraFlags(cmd, 'train LoRA adapters of this rank (the reference, when beta > 0, is the adapter switched off)');
  cmd.option('--online-feedback', "turn on the online loop: policy samples go to the labeling queue of --db (or --online-db) and reward-model refreshes replace the rewards as labels arrive");
  const onlineFields = configFlags(cmd, OnlineFeedbackSchema, { prefix: 'online', help: { db: 'label store of the online loop (default: --db)' } });
  return cmd
    .option('--resume', 'continue the run in --out from its latest checkpoint')
    .addOption(backendOption())
    .option('--json', 'print metrics, samples and events as JSON lines on stdout (data/metrics-sink.ts records)')
    .option('--db <file>', 'record the run in this SQLite store, so it shows on the dashboard')
    .option('--run-id <id>', "the run's id in the store (default: the --out folder's name)")
    .action(async (o) => {
      const raw = readConfigFile(o.config);
      Object.assign(raw, fields(o));
      for (const field of Object.keys(a.lists)) if (o[field] !== undefined) raw[field] = o[field];
      const lora = loraFromFlags(o);
      if (lora) raw.lora = lora;
      const onlineFlags = onlineFields(o);
      if (o.onlineFeedback || Object.keys(onlineFlags).length) {
        raw.onlineFeedback = { ...(o.db ? { db: o.db } : {}), ...((raw.onlineFeedback as object | null) ?? {}), ...onlineFlags };
      }
      const config = a.resolve(raw, o.config ?? 'flags');
      if (config.onlineFeedback) mustExist(config.onlineFeedback.db);
      await initBackend(o.backend as BackendName);
      const runId = o.runId ?? config.out.split(/[\\/]/).filter(Boolean).at(-1) ?? a.name;
      const sink = openRunSink({ kind: a.name, runId, json: Boolean(o.json), db: o.db, config: config as unknown as Record<string, unknown>, dir: config.out, resume: Boolean(o.resume) });
      const bar = new Progress(a.name, config.steps, 'completions');
      const perStep = config.promptsPerStep * config.numGenerations;
      // the online loop's reward-model base: the run's reward model, when one of its rewards is one
      const rm = config.reward.find((r) => existsSync(join(r, 'config.json'))) ?? config.reward[0];
      const online = config.onlineFeedback
        ? new OnlineFeedback(config.onlineFeedback, { id: runId, out: config.out, model: config.model, reward: rm, prompts: config.prompts, seed: config.seed }, sink, Boolean(o.resume))
        : null;
      let firstStep = -1;
      const result = await a.run(config, {
        resume: Boolean(o.resume), sink,
        onStep: async ({ step, metrics, policy, tokenizer }) => {
          if (firstStep < 0) firstStep = step - 1;
          bar.update(step, (step - firstStep) * perStep, `reward ${metrics.reward?.toFixed(3) ?? 'n/a'}${metrics.kl !== undefined ? ` kl ${metrics.kl.toFixed(3)}` : ''}`);
          await online?.onStep(step, policy, tokenizer);
        },
        pollReward: online ? () => online.pollReward() : undefined,
      }).catch((e: Error) => {
        sink.finish('failed', e.message);
        throw e;
      }).finally(() => online?.close());
      sink.finish(result.final ? 'done' : 'stopped');
      if (!o.json) {
        const h = result.history;
        const at = (i: number) => h.at(i)?.reward?.toFixed(3) ?? 'n/a';
        process.stdout.write(`done at step ${result.step}; ${result.final ? `final model in ${result.final}` : 'stopped early'}; mean reward ${at(0)} -> ${at(-1)}\n`);
      }
    });
}

export const grpoCommand = () => command(ALGORITHMS[0]);
export const rlooCommand = () => command(ALGORITHMS[1]);
