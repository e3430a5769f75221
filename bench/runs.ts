// Run-manager benchmark: does a training run (a child process of `rlhf serve`) slow labeling down, and how
// fast do its metrics reach a dashboard? A real `rlhf serve` on loopback; C labelers (GET /api/tasks/next,
// then POST /api/labels, in a loop) for S seconds with no run, then again while a run trains (launched
// through POST /api/runs; past its first step, and until at least 3 steps ended), then again after stopping it; a researcher's WebSocket timestamps every metrics
// event against the record's own time (same machine clock). Prints one JSON line, with the machine's load
// average at the start of each phase (the 2 cores may be shared with other work).
// usage: node --import tsx bench/runs.ts [clients=16] [seconds=8] [kind=ppo|sft] [config.json]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';
import { RunServerEvent, WS_TOKEN_PREFIX } from '../protocol/wire.js';
import { Store } from '../data/store.js';

const ROOT = join(import.meta.dirname, '..');
const [clients, seconds] = [Number(process.argv[2] ?? 16), Number(process.argv[3] ?? 8)];
const kind = process.argv[4] ?? 'ppo';
// Default loads: PPO as bench/ppo.ts runs it (the starter model with LoRA rank 8 against the sentiment rule,
// 64 rollouts of 24 tokens per step), or full fine-tuning of the starter model, batch 8 × 64 tokens.
const DEFAULTS: Record<string, object> = {
  ppo: {
    model: join(ROOT, 'data', 'models', 'starter'), prompts: join(ROOT, 'data', 'prompts', 'demo.txt'), reward: 'sentiment', steps: 1000, batchSize: 64, miniBatchSize: 16,
    ppoEpochs: 4, maxNewTokens: 24, temperature: 0.7, lr: 1e-4, saveEvery: 1_000_000, lora: { rank: 8, alpha: 16, targets: ['attn', 'mlp'] },
  },
  sft: { model: join(ROOT, 'data', 'models', 'starter'), data: ['corpus:moby-dick'], steps: 100_000, batchSize: 8, seqLen: 64, evalEvery: 0, saveEvery: 100_000 },
};
const config = process.argv[5] ? JSON.parse(readFileSync(process.argv[5], 'utf8')) : DEFAULTS[kind];

const agent = new Agent({ keepAlive: true, maxSockets: 1024 });
function call(url: string, method: string, token: string, body?: unknown): Promise<{ status: number; body: string }> {
  const data = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { Authorization: `Bearer ${token}`, ...(data ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(data)) } : {}) };
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

const q = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] : NaN);

/**
 * C labelers for `seconds`, and longer while `more()` says so (at most MAX_PHASE_S): POST /api/labels
 * latencies, errors, and the phase's true length (labels/s is over it).
 */
const MAX_PHASE_S = 180;
async function label(url: string, tokens: string[], tag: string, more: () => boolean = () => false): Promise<{ labelsPerSec: number; p50: number; p99: number; errors: number; load: number; seconds: number }> {
  const load = loadavg()[0];
  const lat: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const go = () => performance.now() < end || (more() && performance.now() < t0 + MAX_PHASE_S * 1000);
  await Promise.all(tokens.map(async (tok, i) => {
    while (go()) {
      const next = await call(`${url}/api/tasks/next`, 'GET', tok);
      if (next.status !== 200) return void errors++;
      const task = JSON.parse(next.body) as { id: number };
      const t0 = performance.now();
      const r = await call(`${url}/api/labels`, 'POST', tok, { taskId: task.id, clientId: `${tag}-${i}-${task.id}`, kind: 'ranking', ranking: [1, 0], ms: 1000 });
      if (r.status !== 201) return void errors++;
      lat.push(performance.now() - t0);
    }
  }));
  const took = (performance.now() - t0) / 1000;
  return { labelsPerSec: lat.length / took, p50: q(lat, 0.5), p99: q(lat, 0.99), errors, load, seconds: took };
}

const dir = mkdtempSync(join(tmpdir(), 'rlhf-bench-runs-'));
const db = join(dir, 'rlhf.db');
const store = new Store(db);
const lead = store.addUser('lead', 'researcher');
const tokens = Array.from({ length: clients }, (_, i) => store.addUser(`l${i}`, 'labeler'));
store.setSetting('overlap', String(clients), null);
for (let i = 0; i < 20; i++) store.addTasks(Array.from({ length: 1000 }, (_, j) => ({ prompt: `prompt ${i}.${j}`, completions: [{ text: 'a '.repeat(40) }, { text: 'b '.repeat(40) }] })));
store.close();

const proc = spawn(process.execPath, [join(ROOT, 'bin', 'rlhf.js'), 'serve', '--port', '0', '--db', db, '--json', '--rate-limit', '1000000'], { stdio: ['ignore', 'pipe', 'inherit'] });
const { url } = JSON.parse(await new Promise<string>((r) => createInterface({ input: proc.stdout! }).once('line', r))) as { url: string };
try {
  const idle = await label(url, tokens, 'idle');
  const ws = new WebSocket(url.replace('http', 'ws') + '/ws', [WS_TOKEN_PREFIX + lead]);
  const delays: number[] = [];
  let firstStep: () => void = () => {};
  const started = new Promise<void>((r) => (firstStep = r));
  ws.on('message', (m) => {
    const e = JSON.parse(String(m)) as RunServerEvent;
    if (e.type === 'metrics') {
      delays.push(Date.now() - e.time);
      firstStep();
    }
    if (e.type === 'run' && e.run.state === 'failed') throw new Error(`the run failed: ${e.run.error}`);
  });
  await new Promise((r) => ws.once('open', r));
  const launched = await call(`${url}/api/runs`, 'POST', lead, { kind, config });
  if (launched.status !== 201) throw new Error(`launch: ${launched.body}`);
  const runId = (JSON.parse(launched.body) as { id: string }).id;
  await started; // past model loading: the child is training
  const stepsBefore = delays.length;
  // at least MIN_STEPS training steps end inside the phase, so it measures labeling beside real training
  // (on 2026-11-28, 8 s under other load saw none: the child was still in its first step)
  const MIN_STEPS = 3;
  const training = await label(url, tokens, 'training', () => delays.length - stepsBefore < MIN_STEPS);
  const steps = delays.length - stepsBefore;
  await call(`${url}/api/runs/${runId}/stop`, 'POST', lead);
  ws.close();
  for (;;) { // the child has exited before the last phase
    const r = JSON.parse((await call(`${url}/api/runs/${runId}`, 'GET', lead)).body) as { run: { state: string } };
    if (r.run.state !== 'running') break;
    await new Promise((res) => setTimeout(res, 100));
  }
  const after = await label(url, tokens, 'after');
  process.stdout.write(JSON.stringify({ clients, seconds, kind, idle, training, after, stepsDuringLabeling: steps, metricDelayMs: { n: delays.length, p50: q(delays, 0.5), p99: q(delays, 0.99), max: Math.max(...delays) } }) + '\n');
} finally {
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
  rmSync(dir, { recursive: true, force: true });
}
