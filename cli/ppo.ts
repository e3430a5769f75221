// rlhf ppo: PPO against a reward model, a built-in rule or a module, with a KL leash; resumable.
// Every config field has a flag (--kebab-case of its name, from rl/ppo-config.ts FIELDS); flags override
// the --config file. Metrics go to stdout as JSON lines (--json) and/or the SQLite store (--db).
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { openRunSink } from '../data/sqlite-sink.js';
import { BackendName, initBackend } from '../backend/backend.js';
import { LoraTarget } from '../lm/lora.js';
import { runPpo } from '../rl/ppo.js';
import { FIELDS, PPO_DEFAULTS, resolvePpoConfig } from '../rl/ppo-config.js';
import { ONLINE_DEFAULTS } from '../rl/online/config.js';
import { OnlineFeedback } from '../rl/online/loop.js';
import { backendOption, collect, float, int } from './options.js';
import { Progress } from './progress.js';
import { mustExist } from './store-file.js';

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

/** Stands for null in a flag's value: commander turns a parser's null into ''. */
const NONE = Symbol('none');

/** Parse a flag's text for a nullable field: `null` or `none` clears it. */
function nullable<T>(parse: (v: string) => T) {
  return (v: string): T | typeof NONE => (v === 'null' || v === 'none' ? NONE : parse(v));
}

export function ppoCommand(): Command {
  const cmd = new Command('ppo')
    .description('PPO fine-tuning of a policy against a reward (reward-model folder, sentiment, length, or a module) with a KL penalty to the reference')
    .option('--config <file>', 'JSON config (fields as in rl/ppo-config.ts); flags override it');
  for (const [key, f] of Object.entries(FIELDS)) {
    const def = (PPO_DEFAULTS as Record<string, unknown>)[key];
    const help = `${f.help}${def !== undefined ? ` (default ${JSON.stringify(def)})` : ''}`;
    const flag = `--${kebab(key)}`;
    if (f.kind === 'bool') {
      cmd.option(flag, help);
      cmd.option(`--no-${kebab(key)}`, `turn ${key} off`);
      continue;
    }
    const opt = new Option(`${flag} <value>`, help);
    const base: (v: string) => unknown = f.kind === 'int' ? int(f.min ?? 0) : f.kind === 'num' ? float(f.min ?? -Infinity, f.max ?? Infinity) : (v: string) => v;
    if (f.kind === 'enum') opt.choices(f.choices!);
    else if (f.kind === 'list') opt.argParser(collect);
    else opt.argParser(f.nullable ? nullable(base) : base);
    cmd.addOption(opt);
  }
  return cmd
    .option('--lora-rank <r>', 'train LoRA adapters of this rank (the reference is the adapter switched off)', int(1))
    .option('--lora-alpha <a>', 'LoRA scale numerator (default 2 * rank)', float(0))
    .addOption(new Option('--lora-targets <list>', 'comma-separated: attn, mlp').default('attn,mlp'))
    .option('--online-feedback', 'turn on the online loop: policy samples go to the labeling queue of --db (or --online-db) and reward-model refreshes replace the reward as labels arrive')
    .option('--online-db <file>', 'label store of the online loop (default: --db)')
    .option('--online-every-steps <n>', `send tasks every n iterations (default ${ONLINE_DEFAULTS.everySteps})`, int(1))
    .option('--online-prompts <n>', `prompts per round (default ${ONLINE_DEFAULTS.prompts})`, int(1))
    .option('--online-k <k>', `completions per task (default ${ONLINE_DEFAULTS.k})`, int(2))
    .option('--online-max-new-tokens <n>', `tokens per task completion (default ${ONLINE_DEFAULTS.maxNewTokens})`, int(1))
    .option('--online-temperature <t>', `task sampling temperature (default ${ONLINE_DEFAULTS.temperature})`, float(1e-6, 100))
    .option('--online-refresh-every-labels <n>', `refresh the reward model after n new preference labels (default ${ONLINE_DEFAULTS.refreshEveryLabels})`, int(1))
    .option('--online-rm-base <dir>', 'backbone of each refresh: "previous" (the reward model in use) or a folder (default previous)')
    .option('--online-rm-epochs <n>', `epochs of each refresh (default ${ONLINE_DEFAULTS.rmEpochs})`, int(1))
    .option('--online-rm-lr <lr>', `learning rate of each refresh (default ${ONLINE_DEFAULTS.rmLr})`, float(0, 10))
    .option('--online-rm-val-fraction <f>', `prompts each refresh holds out (default ${ONLINE_DEFAULTS.rmValFraction})`, float(0, 0.9))
    .option('--resume', 'continue the run in --out from its latest checkpoint')
    .addOption(backendOption())
    .option('--json', 'print metrics, samples and events as JSON lines on stdout (data/metrics-sink.ts records)')
    .option('--db <file>', 'record the run in this SQLite store, so it shows on the dashboard')
    .option('--run-id <id>', "the run's id in the store (default: the --out folder's name)")
    .action(async (o) => {
      let raw: Record<string, unknown> = {};
      if (o.config) {
        try {
          raw = JSON.parse(readFileSync(o.config, 'utf8'));
        } catch (e) {
          throw new Error(`${o.config}: ${(e as Error).message.split('\n')[0]}`);
        }
      }
      for (const key of Object.keys(FIELDS)) if (o[key] !== undefined) raw[key] = o[key] === NONE ? null : o[key];
      if (o.loraRank) raw.lora = { rank: o.loraRank, alpha: o.loraAlpha ?? 2 * o.loraRank, targets: String(o.loraTargets).split(',').map((t) => t.trim()) as LoraTarget[] };
      const onlineFlags = Object.fromEntries(['db', 'everySteps', 'prompts', 'k', 'maxNewTokens', 'temperature', 'refreshEveryLabels', 'rmBase', 'rmEpochs', 'rmLr', 'rmValFraction']
        .map((k) => [k, o['online' + k[0].toUpperCase() + k.slice(1)]]).filter(([, v]) => v !== undefined));
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
