// Peak memory of one LoRA PPO step on the Qwen2.5-0.5B shape (issue 16: the aim is under 12 GB): 8 prompts ×
// 64 new tokens, then the forward + backward of the policy log-probs on the response positions. Each
// minibatch size is measured in its own process (bench/ppo-rss-step.ts), since a peak only grows; prints a
// table and with --record writes the rss block of BENCHMARKS.md. `npm run bench -- --parts rss` runs it.
//   node --import tsx bench/ppo-rss.ts [--shape Qwen] [--minibatch 8,4] [--lora-rank 8] [--backend auto] [--record]
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { machine, recordBlock } from './record.js';
import { SHAPES } from './shapes.js';

const { values: o } = parseArgs({
  options: {
    shape: { type: 'string', default: 'Qwen' },
    prompts: { type: 'string', default: '8' },
    'prompt-tokens': { type: 'string', default: '64' },
    'new-tokens': { type: 'string', default: '64' },
    'lora-rank': { type: 'string', default: '8' },
    // rows per forward chunk and per update (PPO's miniBatchSize): 8 is the whole batch (as PPO's default, 16)
    minibatch: { type: 'string', default: '8,4' },
    backend: { type: 'string', default: 'auto' },
    record: { type: 'boolean', default: false },
  },
});
const shape = SHAPES[o.shape!];
if (!shape) throw new Error(`unknown shape ${o.shape} (known: ${Object.keys(SHAPES).join(', ')})`);

interface Phase { phase: string; seconds: number; rssGB: number; peakGB: number; tensorGB: number }
interface Result {
  backend: string; params: number; prompts: number; promptTokens: number; newTokens: number; loraRank: number; minibatch: number;
  peakRssGB: number; phases: Phase[];
}
const results: Result[] = [];
for (const mb of o.minibatch!.split(',')) {
  const args = ['--shape', o.shape!, '--prompts', o.prompts!, '--prompt-tokens', o['prompt-tokens']!, '--new-tokens', o['new-tokens']!, '--lora-rank', o['lora-rank']!, '--minibatch', mb, '--backend', o.backend!];
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'ppo-rss-step.ts'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`ppo-rss-step --minibatch ${mb} failed (exit ${r.status})`);
  const line = r.stdout.trim().split('\n').at(-1)!;
  process.stdout.write(line + '\n');
  results.push(JSON.parse(line) as Result);
}

const f = (x: number, d: number) => x.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });
const AIM_GB = 12;
const summary = ['| minibatch (rows per forward and update) | peak RSS, GB | aim (< 12 GB) | whole step, s |', '|---|---|---|---|',
  ...results.map((x) => `| ${x.minibatch}${x.minibatch === x.prompts ? ' (the whole batch)' : ''} | **${f(x.peakRssGB, 2)}** | ${x.peakRssGB < AIM_GB ? 'met' : 'not met'} | ${f(x.phases.slice(2).reduce((a, p) => a + p.seconds, 0), 0)} |`)].join('\n');
const phases = ['| minibatch | phase | seconds | RSS after, GB | peak RSS so far, GB | tensors held, GB |', '|---|---|---|---|---|---|',
  ...results.flatMap((x) => x.phases.slice(1).map((p) => `| ${x.minibatch} | ${p.phase} | ${f(p.seconds, 1)} | ${f(p.rssGB, 2)} | ${f(p.peakGB, 2)} | ${f(p.tensorGB, 2)} |`))].join('\n');
process.stdout.write(`\n${summary}\n\n${phases}\n`);

if (o.record) {
  const x = results[0];
  recordBlock('rss', [
    `## Peak memory: one LoRA PPO step on the ${shape.name} shape`,
    '',
    `Run ${new Date().toISOString().slice(0, 10)} on ${machine()}. Backend: ${x.backend}. bench/ppo-rss.ts (\`npm run bench -- --parts rss\`), each row in its own process: ${shape.about}, random weights (${f(x.params / 1e6, 0)}M parameters, float32), LoRA rank ${x.loraRank} (alpha ${2 * x.loraRank}) on every attention and MLP projection, a value head on the policy's backbone. One PPO iteration: generation of ${x.prompts} random ${x.promptTokens}-token prompts × ${x.newTokens} new tokens (KV cache, temperature 0.7); old log-probs, values and reference log-probs (adapter off) without gradients; one PPO epoch (forward + backward of the policy log-probs and entropy on the ${x.prompts * x.newTokens} response positions through the LM head, rl/logprobs.ts; PPO's clipped policy and value losses; AdamW on the adapter and value head), the forwards and updates taking "minibatch" rows at a time (PPO's miniBatchSize; its default, 16, covers the whole batch).`,
    '',
    `Peak RSS is process.resourceUsage().maxRSS (the weights, the native pool, V8's heap and the largest step's activations); GB here is 2³⁰ bytes. The seconds are those of the step's phases after loading; 1-minute load average at the end: ${loadavg()[0].toFixed(1)} (2 cores: above 2, other work shared the machine and the seconds are long; the memory figures do not depend on it).`,
    '',
    summary,
    '',
    phases,
  ].join('\n'));
  process.stdout.write('recorded in BENCHMARKS.md (rss)\n');
}
