// Rollout of a GRPO/RLOO step: P prompts × G completions each, sampled by lm/generate.ts either with
// numReturnSequences (each prompt's prefill once, its KV cache repeated over the group) or with the prompts
// repeated G times (G prefills per prompt). Both give the same completions (checked here); the runs of the
// two modes alternate, after one warm-up of each, so drifting load on a shared machine hits both alike.
// --prompt-tokens N makes each prompt exactly N tokens long (consecutive opening lines, cut), where the
// prefill weighs more than with the short opening lines (5-12 tokens) themselves.
// Prints the median, min and max wall time of each and a JSON line; records nothing (not part of npm run bench).
//   node --import tsx bench/generate-groups.ts [--model data/models/starter] [--prompts 8] [--group 8] [--new-tokens 24] [--prompt-tokens 0] [--runs 3] [--backend native]
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BackendName, initBackend } from '../backend/backend.js';
import { loadCheckpoint } from '../lm/checkpoint.js';
import { Completion, generate, GenerateOptions } from '../lm/generate.js';

const { values: o } = parseArgs({
  options: {
    model: { type: 'string', default: 'data/models/starter' },
    prompts: { type: 'string', default: '8' },
    group: { type: 'string', default: '8' },
    'new-tokens': { type: 'string', default: '24' },
    'prompt-tokens': { type: 'string', default: '0' },
    runs: { type: 'string', default: '3' },
    backend: { type: 'string', default: 'native' },
  },
});
const [P, G, N, R, L] = [o.prompts, o.group, o['new-tokens'], o.runs, o['prompt-tokens']].map(Number);
await initBackend(o.backend as BackendName, { quiet: true });
const { model, tokenizer } = loadCheckpoint(o.model!);
const lines = readFileSync(join(import.meta.dirname, '..', 'data', 'prompts', 'openings.txt'), 'utf8').split('\n').filter(Boolean);
const prompts: (string | number[])[] = L ? Array.from({ length: P }, (_, i) => tokenizer!.encode(lines.slice(i * 32, i * 32 + 32).join(' ')).slice(0, L)) : lines.slice(0, P);
if (L && prompts.some((p) => p.length < L)) throw new Error(`--prompt-tokens ${L}: 32 opening lines give fewer tokens`);
// GRPO's default sampling (temperature 1, no top-k/top-p); no EOS, so every row generates N tokens.
const opts: GenerateOptions = { maxNewTokens: N, temperature: 1, topK: 0, topP: 1, seed: 1, eosId: null };
const repeated = prompts.flatMap((p) => Array.from({ length: G }, () => p));

const modes: Record<string, () => Promise<Completion[]>> = {
  shared: () => generate(model, tokenizer, prompts, { ...opts, numReturnSequences: G }),
  repeated: () => generate(model, tokenizer, repeated, opts),
};
const times: Record<string, number[]> = { shared: [], repeated: [] };
const outs: Record<string, Completion[]> = {};
for (const name of Object.keys(modes)) outs[name] = await modes[name](); // warm-up
if (outs.shared.map((c) => c.ids.join()).join('|') !== outs.repeated.map((c) => c.ids.join()).join('|')) {
  throw new Error('shared and repeated prompts gave different completions');
}
for (let r = 0; r < R; r++) {
  for (const name of r % 2 ? ['repeated', 'shared'] : ['shared', 'repeated']) {
    const t0 = performance.now();
    await modes[name]();
    times[name].push(performance.now() - t0);
  }
}
model.dispose();

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const promptTokens = prompts.map((p) => (typeof p === 'string' ? tokenizer!.encode(p) : p).length);
const summary = Object.fromEntries(Object.entries(times).map(([k, t]) => [k, { medianMs: median(t), minMs: Math.min(...t), maxMs: Math.max(...t), runsMs: t }]));
for (const [k, s] of Object.entries(summary)) {
  process.stdout.write(`${k.padEnd(9)} median ${s.medianMs.toFixed(0)} ms (min ${s.minMs.toFixed(0)}, max ${s.maxMs.toFixed(0)}; ${R} runs), ${((P * G * N) / (s.medianMs / 1000)).toFixed(0)} new tok/s\n`);
}
process.stdout.write(`repeated / shared: ${(summary.repeated.medianMs / summary.shared.medianMs).toFixed(2)}x (prompt tokens ${Math.min(...promptTokens)}-${Math.max(...promptTokens)})\n`);
process.stdout.write(JSON.stringify({ backend: o.backend, machineLoad: loadavg()[0], model: o.model, prompts: P, group: G, newTokens: N, promptTokens, ...summary }) + '\n');
