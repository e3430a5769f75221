// rlhf ppo: PPO against a reward model, a built-in rule or a module, with a KL leash; resumable.
// Every scalar config field has a flag (--kebab-case of its name, built from rl/ppo-config.ts's schema by
// config-flags.ts), and so has every field of onlineFeedback (--online-...); flags override
// the --config file. Metrics go to stdout as JSON lines (--json) and/or the SQLite store (--db).
import { Command } from 'commander';
import { openRunSink } from '../data/sqlite-sink.js';
import { BackendName, initBackend } from '../backend/backend.js';
import { runPpo } from '../rl/ppo.js';
import { PpoConfigSchema, resolvePpoConfig } from '../rl/ppo-config.js';
import { OnlineFeedbackSchema } from '../rl/online/config.js';
import { OnlineFeedback } from '../rl/online/loop.js';
import { configFlags, loraFlags, loraFromFlags, readConfigFile } from './config-flags.js';
import { backendOption } from './options.js';
import { Progress } from './progress.js';
import { mustExist } from './store-file.js';

export function ppoCommand(): Command {
  const cmd = new Command('ppo')
    .description('PPO fine-tuning of a policy against a reward (reward-model folder, sentiment, length, or a module) with a KL penalty to the reference')
    .option('--config <file>', 'JSON config (fields as in rl/ppo-config.ts); flags override it');
  const fields = configFlags(cmd, PpoConfigSchema);
  loraFlags(cmd, 'train LoRA adapters of this rank (the reference is the adapter switched off)');
  cmd.option('--online-feedback', 'turn on the online loop: policy samples go to the labeling queue of --db (or --online-db) and reward-model refreshes replace the reward as labels arrive');
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
      const lora = loraFromFlags(o);
      if (lora) raw.lora = lora;
      const onlineFlags = onlineFields(o);
      if (o.onlineFeedback || Object.keys(onlineFlags).length) {
        raw.onlineFeedback = { ...(o.db ? { db: o.db } : {}), ...((raw.onlineFeedback as object | null) ?? {}), ...onlineFlags };
      }
      const config = resolvePpoConfig(raw, o.config ?? 'flags');
      // the online loop reads labels from a server's store: a mistyped path must not become an empty one
      // (checked before --db's run record could create it)
      if (config.onlineFeedback) mustExist(config.onlineFeedback.db);
      await initBackend(o.backend as BackendName);
      const runId = o.runId ?? config.out.split(/[\\/]/).filter(Boolean).at(-1) ?? 'ppo';
      const sink = openRunSink({ kind: 'ppo', runId, json: Boolean(o.json), db: o.db, config: config as unknown as Record<string, unknown>, dir: config.out, resume: Boolean(o.resume) });
      const bar = new Progress('ppo', config.steps, 'episodes');
      let firstEpisode = -1;
      const online = config.onlineFeedback
        ? new OnlineFeedback(config.onlineFeedback, { id: runId, out: config.out, model: config.model, reward: config.reward, prompts: config.prompts, seed: config.seed }, sink, Boolean(o.resume))
        : null;
      const result = await runPpo(config, {
        resume: Boolean(o.resume), sink,
        onStep: async ({ step, metrics, models }) => {
          if (firstEpisode < 0) firstEpisode = metrics.episode - config.batchSize;
          bar.update(step, metrics.episode - firstEpisode, `score ${metrics['objective/scores'].toFixed(3)} kl ${metrics['objective/kl'].toFixed(2)}`);
          await online?.onStep(step, models.policy, models.tokenizer);
        },
        pollReward: online ? () => online.pollReward() : undefined,
      }).catch((e: Error) => {
        sink.finish('failed', e.message);
        throw e;
      }).finally(() => online?.close());
      sink.finish(result.final ? 'done' : 'stopped');
      if (!o.json) {
        const h = result.history;
        const at = (i: number) => h.at(i)?.['objective/scores'].toFixed(3) ?? 'n/a';
        process.stdout.write(`done at step ${result.step}; ${result.final ? `final model in ${result.final}` : 'stopped early'}; mean score ${at(0)} -> ${at(-1)}, KL ${h.at(-1)?.['objective/kl'].toFixed(2) ?? 'n/a'}\n`);
      }
    });
}
