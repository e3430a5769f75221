// npm run bench [-- --shapes S,M,G --backend wasm --steps 2 --no-record --stock-baseline --vs-torch]
// Runs each LM shape in its own process, prints a table, and records it in BENCHMARKS.md (the GPT-2 shapes
// S/M/G in the lm and vs-torch blocks, the Llama-family shapes L/Smol/Qwen in lm-llama and vs-torch-llama).
// --vs-torch runs the same shapes in PyTorch (bench/torch-gpt.py, bench/torch-llama.py; Debian's /usr/bin/python3) beside ours.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCHMARKS_FILE, machine, recordBlock } from './record.js';
import { isLlamaFamily, SHAPES } from './shapes.js';

const { values: o } = parseArgs({
  options: {
    shapes: { type: 'string', default: 'S,M,G' },
    backend: { type: 'string', default: 'auto' },
    steps: { type: 'string', default: '2' },
    'no-record': { type: 'boolean', default: false },
    'stock-baseline': { type: 'boolean', default: false },
    parts: { type: 'string', default: 'lm,server' },
    clients: { type: 'string', default: '1,16,64' },
    'ppo-steps': { type: 'string', default: '200' },
    'grpo-budget': { type: 'string', default: '75' },
    'grpo-seeds': { type: 'string', default: '0,1,2' },
    'dpo-budget': { type: 'string', default: '50' },
    'dpo-seeds': { type: 'string', default: '0,1,2' },
    'vs-torch': { type: 'boolean', default: false },
    'baseline-backend': { type: 'string', default: '' },
    help: { type: 'boolean', default: false },
  },
});
if (o.help) {
  process.stdout.write([
    'usage: npm run bench -- [--parts lm,server,ppo,grpo,dpo,runs,rm,kernels,rss] [--shapes S,M,G | L,Smol,Qwen] [--backend auto|wasm|cpu|native|tensorflow] [--steps N] [--vs-torch] [--baseline-backend wasm] [--stock-baseline] [--clients 1,16,64] [--ppo-steps 200] [--grpo-budget 75] [--grpo-seeds 0,1,2] [--dpo-budget 50] [--dpo-seeds 0,1,2] [--no-record]',
    '(--parts ppo runs PPO on the starter model: about 15-30 s per step here)',
    '--parts grpo: GRPO, RLOO and PPO on include-word and the sentiment rule, --grpo-budget seconds of training per run, each',
    '  seed of --grpo-seeds (bench/grpo.ts; 18 runs plus held-out measurements: about 28 min at the defaults).',
    '--parts dpo: ~1,000 simulated labels per K (2, 4); reward model + PPO, reward model + GRPO (--dpo-budget seconds of training each)',
    '  and DPO on them for each seed of --dpo-seeds, and the ties and rankings options by held-out accuracy (bench/dpo.ts; 20-25 min here, shared).',
    '--vs-torch: also run each LM shape in PyTorch on the CPU (same shapes, same training step, same generation), print tfjs/PyTorch',
    '  ratios with the machine\'s sgemm peak and memcpy bandwidth, and record them (tag vs-torch; vs-torch-llama for L, Smol, Qwen). Needs Debian\'s PyTorch:',
    '  apt-get install -y python3-torch libopenblas0-openmp. Without --parts it runs only lm.',
    '--parts kernels: per-kernel roofline at the M training shape on the chosen backend (GFLOP/s vs sgemm peak, GB/s vs memcpy).',
    `shapes: ${Object.values(SHAPES).map((s) => `${s.name} (${s.config.modelType}, ${s.about ?? `d ${s.config.nEmbd}, ${s.config.nLayer} layers`}, batch ${s.batch})`).join('; ')}.`,
    '--parts rss: peak resident set of one LoRA PPO-style step on the Qwen2.5-0.5B shape (bench/ppo-rss.ts: generation of',
    '  8 prompts x 64 new tokens, then forward + backward of the policy log-probs on the response positions, minibatch 8 and 4); a few minutes.',
  ].join('\n') + '\n');
  process.exit(0);
}

interface Row {
  shape: string; backend: string; params: number; matmulGflops: number; trainTokS: number; trainGflops: number;
  genCacheTokS: number; genFullTokS: number; recomputeTokens: number; variant: string; maxRssMB?: number;
}

function runShape(shape: string, stock: boolean, backend = o.backend!): Row {
  const here = import.meta.dirname;
  // Slow shapes time fewer tokens when recomputing (G: about 10 s per token here): bench/shapes.ts says how many.
  const recompute = String(SHAPES[shape].recomputeTokens ?? 64);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'lm-shape.ts'), shape, backend, o.steps!, recompute], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...(stock ? { RLHF_WASM_STOCK_MATMUL: '1' } : {}) },
  });
  if (r.status !== 0) throw new Error(`shape ${shape} failed (exit ${r.status})`);
  const variant = stock ? 'stock tfjs BatchMatMul' : backend !== o.backend ? `baseline: --backend ${backend}` : 'rlhf-trainer';
  return { ...JSON.parse(r.stdout.trim().split('\n').at(-1)!), variant };
}

// With --vs-torch and no --parts, only the LM shapes run.
const partsGiven = process.argv.some((a) => a === '--parts' || a.startsWith('--parts='));
const parts = o['vs-torch'] && !partsGiven ? ['lm'] : o.parts!.split(',');
const shapeNames = parts.includes('lm') ? o.shapes!.split(',') : [];
const unknown = shapeNames.filter((s) => !SHAPES[s]);
if (unknown.length) {
  process.stderr.write(`error: unknown shape ${unknown.join(', ')} (known: ${Object.keys(SHAPES).join(', ')})\n`);
  process.exit(1);
}

// ---- the PyTorch side (bench/torch-gpt.py)
// Debian's python, where python3-torch lives (a pyenv python3 on PATH has no torch); RLHF_TORCH_PYTHON overrides it.
const PYTHON = process.env.RLHF_TORCH_PYTHON ?? '/usr/bin/python3';
const OPENBLAS_OMP = '/usr/lib/x86_64-linux-gnu/openblas-openmp';
const INSTALL_TORCH = 'apt-get install -y python3-torch libopenblas0-openmp';
/**
 * How the torch child runs, and why, for the record:
 * - the OpenMP build of OpenBLAS when installed (torch itself threads with OpenMP; the pthread build, which
 *   Debian's alternatives may prefer, runs a second pool beside it and is slower on 2 cores);
 * - OPENBLAS_CORETYPE removed, so that OpenBLAS picks its kernels by CPU detection as a default install
 *   does (this environment sets it to Haswell, AVX2 only, which halves OpenBLAS's sgemm on an AVX-512 CPU);
 * - glibc malloc told to keep freed memory (mmap threshold 32 MiB, its maximum; no trimming): otherwise every
 *   step maps fresh pages for its activations and gradients and faults them in, which here took half of
 *   PyTorch's time for the S shape (1,809 -> 7,458 training tokens/s on 1 thread). It is the usual advice
 *   for PyTorch on CPUs (as jemalloc or tcmalloc are); it only makes PyTorch faster, so our ratios only drop.
 */
function torchEnv(): { env: NodeJS.ProcessEnv; notes: string[] } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const notes: string[] = [];
  if (existsSync(join(OPENBLAS_OMP, 'libblas.so.3'))) {
    env.LD_LIBRARY_PATH = [OPENBLAS_OMP, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
    notes.push(`LD_LIBRARY_PATH=${OPENBLAS_OMP} (the OpenMP build of OpenBLAS)`);
  }
  const malloc = { MALLOC_MMAP_THRESHOLD_: String(32 * 2 ** 20), MALLOC_TRIM_THRESHOLD_: String(2 ** 36), MALLOC_TOP_PAD_: String(256 * 2 ** 20) };
  for (const [k, v] of Object.entries(malloc)) env[k] ??= v;
  notes.push(Object.keys(malloc).map((k) => `${k}=${env[k]}`).join(' ') + ' (glibc keeps freed memory instead of unmapping it)');
  if (env.OPENBLAS_CORETYPE) {
    notes.push(`OPENBLAS_CORETYPE=${env.OPENBLAS_CORETYPE} removed from the environment (OpenBLAS detects the CPU)`);
    delete env.OPENBLAS_CORETYPE;
  }
  return { env, notes };
}
interface TorchOut {
  torch: string; threads: number; blas: string; shape?: string; trainTokS?: number; trainStepS?: number; genCacheTokS?: number;
  sgemmGflops?: number; sgemmGflops1?: number; memcpyGBs?: number; memcpyGBs1?: number; maxRssMB?: number;
}
let torchMissing: string | null = null;
/** Run bench/torch-gpt.py (or torch-llama.py); null (and one line on stderr, once) when torch is not available. */
function runTorch(args: string[], script = 'torch-gpt.py'): TorchOut | null {
  if (torchMissing !== null) return null;
  if (!existsSync(PYTHON)) torchMissing = `${PYTHON} not found`;
  else {
    const r = spawnSync(PYTHON, [join(import.meta.dirname, script), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: torchEnv().env });
    if (r.status === 0) {
      process.stderr.write(r.stderr);
      return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as TorchOut;
    }
    if (r.status !== 3) throw new Error(`torch bench failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    torchMissing = r.stderr.trim().split('\n').at(-1) ?? 'torch not importable';
  }
  process.stderr.write(`skipping the PyTorch side: ${torchMissing}${torchMissing.includes(INSTALL_TORCH) ? '' : `; to compare with PyTorch, install it: ${INSTALL_TORCH}`}\n`);
  return null;
}
const torchRows = new Map<string, TorchOut>();
/**
 * Share of the machine's CPU time that other processes use, sampled over one second while this process
 * sleeps. PyTorch's OpenMP threads lose far more than our single thread when the cores are shared, so a
 * comparison measured beside other work flatters tfjs: the vs-torch record says so.
 */
function othersBusy(ms = 1000): number {
  const busy = () => cpus().reduce((a, c) => a + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0);
  const b0 = busy();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  return (busy() - b0) / (ms * cpus().length);
}
let maxOthers = 0;
const sampleOthers = () => { if (o['vs-torch']) maxOthers = Math.max(maxOthers, othersBusy()); };
let torchPeak: TorchOut | null | undefined;
/** sgemm and memcpy through PyTorch, measured once per run. */
const getTorchPeak = () => (torchPeak === undefined ? (torchPeak = runTorch(['--peak'])) : torchPeak);
const rows: Row[] = [];
for (const s of shapeNames) {
  sampleOthers();
  rows.push(runShape(s, false));
  if (o['vs-torch']) {
    sampleOthers();
    // The shape is defined once, in bench/shapes.ts, and handed over as JSON; the same number of timed steps.
    const t = runTorch(['--shape', JSON.stringify(SHAPES[s]), '--steps', o.steps!], isLlamaFamily(SHAPES[s]) ? 'torch-llama.py' : 'torch-gpt.py');
    if (t) torchRows.set(s, t);
  }
  // The stock kernel's cost is in attention, a small share of G's work, and G takes minutes per pass.
  if (o['stock-baseline'] && s !== 'G') rows.push(runShape(s, true));
  // The same shape on another backend in the same run (e.g. --backend native --baseline-backend wasm).
  if (o['baseline-backend']) rows.push(runShape(s, false, o['baseline-backend']));
}

function record(tag: string, block: string): void {
  if (o['no-record']) return;
  recordBlock(tag, block);
  process.stdout.write(`recorded in ${BENCHMARKS_FILE}\n`);
}

const f = (x: number, d = 0) => x.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });
const mb = (x: number | undefined) => (x === undefined ? '—' : `${f(x / 1024, 1)} GB`);
/**
 * The two families print and record apart (tags lm / vs-torch and lm-llama / vs-torch-llama), so that a run
 * of one family's shapes leaves the other's recorded figures in place. The GPT-2 blocks are as before.
 */
const FAMILIES = [
  { llama: false, tag: '', title: 'LM core: training and generation' },
  { llama: true, tag: '-llama', title: 'LM core, Llama family: training and generation' },
];
const batches = (rs: Row[]) => [...new Set(rs.map((r) => r.shape))].map((s) => `${s}: batch ${SHAPES[s].batch}`).join('; ');
const about = (rs: Row[]) => [...new Set(rs.map((r) => r.shape))].map((s) => `${s} ${SHAPES[s].about}`).join('; ');
const famRows = FAMILIES.map((fam) => ({ ...fam, rows: rows.filter((r) => isLlamaFamily(SHAPES[r.shape]) === fam.llama) })).filter((x) => x.rows.length);

for (const fam of famRows) {
  const header = '| shape | kernels | params | plain matMul GFLOP/s | train tokens/s | train GFLOP/s | % of matMul | generate tokens/s, KV cache | generate tokens/s, recompute | KV speed-up |';
  const lines = [header + (fam.llama ? ' peak RSS |' : ''), '|' + '---|'.repeat(fam.llama ? 11 : 10)];
  for (const r of fam.rows) {
    lines.push(`| ${r.shape} | ${r.variant} | ${(r.params / 1e6).toFixed(1)}M | ${f(r.matmulGflops, 1)} | ${f(r.trainTokS, 0)} | ${f(r.trainGflops, 1)} | ${f((100 * r.trainGflops) / r.matmulGflops, 0)}% | ${f(r.genCacheTokS, 0)} | ${f(r.genFullTokS, 1)}${r.recomputeTokens !== 64 ? ` (first ${r.recomputeTokens} tokens)` : ''} | ${f(r.genCacheTokS / r.genFullTokS, 1)}× |${fam.llama ? ` ${mb(r.maxRssMB)} |` : ''}`);
  }
  const table = lines.join('\n');
  process.stdout.write(`\n${table}\n`);
  record('lm' + fam.tag, [
    `## ${fam.title}`,
    '',
    `Run ${new Date().toISOString().slice(0, 10)} on ${machine()}. ${[...new Map(fam.rows.map((r) => [r.variant, r.backend])).entries()].map(([v, b]) => `${v === 'rlhf-trainer' ? 'Backend' : v}: ${b}`).join('. ')}.`,
    '',
    ...(fam.llama
      ? [
        `Shapes (bench/shapes.ts, random weights, context 128): ${about(fam.rows)}.`,
        `Training is forward + backward + AdamW on batches of full-context sequences (${batches(fam.rows)}), the median of the timed steps after one warm-up step.`,
        'Generation is batch 16, a 16-token prompt, 64 new tokens, sampling at temperature 1, with the KV cache the median of 3 timed calls after one whole warm-up call; recomputing, one timed call after a short warm-up one. GFLOP/s counts 2 per multiply-add of q and o, of k and v at the KV heads\' width (grouped-query attention), of the three MLP matrices (gate, up, down), of the LM head and of attention (full T×T for training). Peak RSS is the shape\'s own process (process.resourceUsage().maxRSS), training and generation together.',
      ]
      : [
        'Training is forward + backward + AdamW on batches of full-context sequences (S, M: batch 8; G: batch 4), the median of the timed steps after one warm-up step.',
        'Generation is batch 16, a 16-token prompt, 64 new tokens, sampling at temperature 1, with the KV cache the median of 3 timed calls after one whole warm-up call; recomputing, one timed call after a short warm-up one. GFLOP/s counts 2 per multiply-add of the linear layers, the tied head and attention (full T×T for training).',
      ]),
    'The plain matMul is a 1024×1024×1024 float32 product on the same backend in the same process.',
    '',
    table,
  ].join('\n'));
}

for (const fam of o['vs-torch'] ? famRows : []) {
  const ours = fam.rows.filter((r) => r.variant === 'rlhf-trainer' && torchRows.has(r.shape));
  if (!ours.length) continue;
  sampleOthers();
  const peak = getTorchPeak()!;
  const busy = maxOthers > 0.1;
  const aim = (ratio: number, min: number) => `${ratio >= min ? 'met' : 'not met'} (≥ ${min}×)${busy ? ', busy machine' : ''}`;
  // GPT-2 shapes: issue 8's bars (training ≥ 0.5× on M and G, generation ≥ 0.7× everywhere). The Llama shapes:
  // issue 16's, training and generation ≥ 1.0× PyTorch on every shape.
  const noTrainAim: Record<string, string> = fam.llama ? {} : { S: '— (aim is for M and G)' };
  const [trainMin, genMin] = fam.llama ? [1, 1] : [0.5, 0.7];
  const vlines = [
    '| shape | tfjs backend | train tokens/s, tfjs | train tokens/s, PyTorch | ratio | training aim | generate tokens/s (KV cache), tfjs | generate, PyTorch | ratio | generation aim |' + (fam.llama ? ' peak RSS, tfjs | PyTorch |' : ''),
    '|' + '---|'.repeat(fam.llama ? 12 : 10),
  ];
  for (const r of ours) {
    const t = torchRows.get(r.shape)!;
    const tr = r.trainTokS / t.trainTokS!;
    const gr = r.genCacheTokS / t.genCacheTokS!;
    vlines.push(`| ${r.shape} | ${r.backend} | ${f(r.trainTokS, 0)} | ${f(t.trainTokS!, 0)} | ${tr.toFixed(3)} | ${noTrainAim[r.shape] ?? aim(tr, trainMin)} | ${f(r.genCacheTokS, 0)} | ${f(t.genCacheTokS!, 0)} | ${gr.toFixed(2)} | ${aim(gr, genMin)} |${fam.llama ? ` ${mb(r.maxRssMB)} | ${mb(t.maxRssMB)} |` : ''}`);
  }
  const vtable = vlines.join('\n');
  const t0 = torchRows.get(ours[0].shape)!;
  const peaks = `Machine peaks (PyTorch ${t0.torch}, ${t0.blas}): sgemm (torch.mm 2048³ float32, median of 5) ${f(peak.sgemmGflops!, 0)} GFLOP/s with ${peak.threads} threads, ${f(peak.sgemmGflops1!, 0)} with 1; memcpy (dst.copy_(src) of 256 MB float32, median of 5, bytes read + written) ${f(peak.memcpyGBs!, 1)} GB/s with ${peak.threads} threads, ${f(peak.memcpyGBs1!, 1)} with 1. Our plain tf.matMul 1024³: ${ours.map((r) => `${r.shape} run ${f(r.matmulGflops, 1)}`).join(', ')} GFLOP/s.`;
  const busyNote = busy
    ? `NOT A VALID COMPARISON: other processes used up to ${Math.round(100 * maxOthers)}% of the machine's CPU just before the measurements (sampled for 1 s before each). PyTorch's OpenMP threads lose far more than tfjs's single thread when the cores are shared, so these ratios flatter tfjs. Rerun on a quiet machine.`
    : `Other processes used at most ${Math.round(100 * maxOthers)}% of the machine's CPU in the 1-s samples taken before each measurement.`;
  process.stdout.write(`\n${vtable}\n${peaks}\n${busyNote}\n`);
  const load = loadavg()[0];
  if (!o['no-record']) {
    recordBlock('vs-torch' + fam.tag, [
      fam.llama ? '## tfjs against PyTorch on the same machine: the Llama family' : '## tfjs against PyTorch on the same machine',
      '',
      `Run ${new Date().toISOString().slice(0, 10)} on ${machine()}. tfjs backend: ${ours[0].backend}. PyTorch ${t0.torch} on the CPU with torch.set_num_threads(${t0.threads}), float32, BLAS: ${t0.blas}. Torch child environment: ${torchEnv().notes.join('; ') || 'unchanged'}. 1-minute load average at the end: ${load.toFixed(1)}.`,
      '',
      fam.llama
        ? `Both sides run the same model (bench/torch-llama.py, written from the architecture as transformers computes it: RMSNorm, rotary positions in the half-split form, grouped-query attention as one matmul per KV group (no repeat_kv copies, as ours), SwiGLU, Qwen2's q/k/v biases, tied or untied head, nn.Linear's layout; no dropout) at the shapes of bench/shapes.ts, passed to the Python script as JSON: ${about(ours)}.`
        : 'Both sides run the same model (bench/torch-gpt.py mirrors lm/model.ts: learned positions, pre-LayerNorm, tanh GELU, tied head, no dropout, Conv1D layout) at the shapes of bench/shapes.ts, passed to the Python script as JSON.',
      `- Training: forward + cross-entropy + backward + global-norm clipping to 1.0 + AdamW (lr 1e-4, weight decay 0.1 on matrices and embeddings, as train/adamw.ts) on random tokens of full context (${fam.llama ? batches(ours) : 'S, M: batch 8; G: batch 4'}); one warm-up step, then the median of ${o.steps} steps. PyTorch: torch.optim.AdamW and clip_grad_norm_.`,
      '- Generation: batch 16, a 16-token random prompt, 64 new tokens sampled at temperature 1 (no top-k/top-p, no EOS), with a KV cache (PyTorch: a hand-written past-keys/values cache extended by torch.cat; ours on native: keys and values written in place into a cache reserved for prompt + new tokens, attention in one fused kernel; ours on other backends: tf.concat), sampled by torch.multinomial there and in JavaScript (float64) here; timed after one whole warm-up call on both sides (the steady state of repeated generation), the median of 3 timed calls on each side (the speed of this VM varies from call to call). tokens/s counts new tokens over the whole call, prompt included. Ours also builds and applies the padding mask of lm/generate.ts (all ones here); the PyTorch loop has none.',
      fam.llama
        ? '- Aims (issue 16): training and KV-cache generation ≥ 1.0× PyTorch on every shape. Peak RSS is each side\'s whole process (training and generation).'
        : '- Aims from issue 8: training ≥ 0.5× PyTorch on M and G; generation ≥ 0.7× on every shape.',
      '',
      busy ? `**${busyNote}**` : busyNote,
      '',
      vtable,
      '',
      peaks,
    ].join('\n'));
    process.stdout.write(`recorded in BENCHMARKS.md (vs-torch${fam.tag})\n`);
  }
}

if (parts.includes('rss')) {
  // Peak memory of one LoRA PPO step on the Qwen2.5-0.5B shape (minibatch 8 and 4, each in its own process); bench/ppo-rss.ts records its block.
  const args = [join(import.meta.dirname, 'ppo-rss.ts'), '--backend', o.backend!, ...(o['no-record'] ? [] : ['--record'])];
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`rss bench failed (exit ${r.status})`);
}

if (parts.includes('kernels')) {
  // Per-kernel roofline; bench/kernels.ts renders and records its own block. The OpenBLAS figures come from PyTorch when it is installed.
  const peak = getTorchPeak();
  const args = [join(import.meta.dirname, 'kernels.ts'), '--backend', o.backend!, ...(peak ? ['--torch', JSON.stringify(peak)] : []), ...(o['no-record'] ? [] : ['--record'])];
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`kernels bench failed (exit ${r.status})`);
}

if (parts.includes('server')) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'server.ts'), o.clients!, '8'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`server bench failed (exit ${r.status})`);
  type ServerRow = { clients: number; labelsPerSec: number; p50: number; p99: number; errors: number; fsyncMs: number; cpu: { client: number; server: number; machine: number } };
  const srows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as ServerRow);
  const stable = ['| concurrent clients | acknowledged labels/s | POST p50 ms | POST p99 ms | errors | CPU s: client | server | other work | fsync ms |', '|---|---|---|---|---|---|---|---|---|',
    ...srows.map((x) => `| ${x.clients} | ${f(x.labelsPerSec, 0)} | ${x.p50.toFixed(1)} | ${x.p99.toFixed(1)} | ${x.errors} | ${x.cpu.client.toFixed(1)} | ${x.cpu.server.toFixed(1)} | ${Math.max(0, x.cpu.machine - x.cpu.client - x.cpu.server).toFixed(1)} | ${x.fsyncMs.toFixed(2)} |`)].join('\n');
  process.stdout.write(`\n${stable}\n`);
  const other = Math.max(...srows.map((x) => (x.cpu.machine - x.cpu.client - x.cpu.server) / x.cpu.machine));
  record('server', [
    '## Label server: acknowledged label writes',
    '',
    `Run ${new Date().toISOString().slice(0, 10)} on ${machine()}. A \`rlhf serve\` process on loopback (SQLite WAL, synchronous=FULL for labels, group commit on a writer thread) and one client process running C concurrent labelers for 8 s, each labeling the way the labeling page does: POST /api/labels?next=true, whose answer acknowledges the label and carries the next task (submit-and-next). Only 201 answers count. The client is a raw keep-alive socket per labeler, one request at a time. Latency is that of the POST.`,
    '',
    `CPU s are CPU seconds used during the 8 s by the client process, the server process (all threads) and everything else on the machine (2 cores: 16 CPU-s in all). fsync ms is the median 4 KiB write + fdatasync on the same disk just before each level: every commit waits for one. ${other > 0.1 ? `Other work was running on the machine: it took up to ${Math.round(100 * other)}% of the CPU time used during a level, and the server and client had the rest.` : 'Nothing else used a noticeable share of the CPU.'}`,
    '',
    stable,
  ].join('\n'));
}

if (parts.includes('runs')) {
  // Label latency with and without a training run beside the server, and metric delivery to a dashboard.
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'runs.ts'), '16', '8', 'ppo'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`runs bench failed (exit ${r.status})`);
  const x = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  const rtable = ['| training run beside the server | acknowledged labels/s | POST /api/labels p50 ms | p99 ms | errors | load average |', '|---|---|---|---|---|---|',
    ...(['idle', 'training', 'after'] as const).map((k) => `| ${k === 'training' ? `${x.kind} training (${x.stepsDuringLabeling} steps ended in the ${x.training.seconds.toFixed(0)} s)` : k === 'idle' ? 'none (before)' : 'none (after stopping it)'} | ${f(x[k].labelsPerSec, 0)} | ${x[k].p50.toFixed(1)} | ${x[k].p99.toFixed(1)} | ${x[k].errors} | ${x[k].load.toFixed(1)} |`)].join('\n');
  process.stdout.write(`\n${rtable}\nmetrics event delay (record time to WebSocket receipt): p50 ${x.metricDelayMs.p50} ms, max ${x.metricDelayMs.max} ms over ${x.metricDelayMs.n} steps\n`);
  record('runs', [
    '## Label server beside a training run',
    '',
    `Run ${new Date().toISOString().slice(0, 10)} on ${machine()}. bench/runs.ts: a \`rlhf serve\` process, 16 labelers (GET /api/tasks/next, then POST /api/labels) for 8 s with no run, at least 8 s (and until 3 training steps ended) while a run launched through POST /api/runs trains in its child process (the phase starts at its first metrics record, past model loading) (${x.kind}: the starter model with LoRA rank 8 against the sentiment rule, 64 rollouts of 24 tokens per step, as in bench/ppo.ts), and 8 s after stopping it. The run, the server and the client share the 2 cores; the last column is the 1-minute load average when the phase began (above 3, other work was running on the machine). Latency is that of the POST.`,
    '',
    rtable,
    '',
    `Metrics reach a researcher's WebSocket ${x.metricDelayMs.p50} ms (median; max ${x.metricDelayMs.max} ms, ${x.metricDelayMs.n} steps) after the child stamps the record.`,
  ].join('\n'));
}

if (parts.includes('ppo')) {
  // PPO takes long (200 steps); bench/ppo.ts logs every step and renders the ppo block itself.
  const args = [join(import.meta.dirname, 'ppo.ts'), '--steps', o['ppo-steps']!, '--backend', o.backend!, ...(o['no-record'] ? [] : ['--record'])];
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...args], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`ppo bench failed (exit ${r.status})`);
}

if (parts.includes('grpo')) {
  // GRPO, RLOO and PPO under one wall-clock budget (about half an hour); bench/grpo.ts records its own block.
  const args = [join(import.meta.dirname, 'grpo.ts'), '--budget', o['grpo-budget']!, '--seeds', o['grpo-seeds']!, '--backend', o.backend!, ...(o['no-record'] ? [] : ['--record'])];
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...args], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`grpo bench failed (exit ${r.status})`);
}

if (parts.includes('dpo')) {
  // Issue 18's benchmark (20-25 min here); bench/dpo.ts records its own block.
  const args = [join(import.meta.dirname, 'dpo.ts'), '--budget', o['dpo-budget']!, '--seeds', o['dpo-seeds']!, '--backend', o.backend!, ...(o['no-record'] ? [] : ['--record'])];
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...args], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`dpo bench failed (exit ${r.status})`);
}

if (parts.includes('rm')) {
  // The reward model's learning curve (several minutes); bench/rm-curve.ts renders and records its own block.
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'rm-curve.ts'), '--backend', o.backend!, ...(o['no-record'] ? [] : ['--record'])], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`rm bench failed (exit ${r.status})`);
}
