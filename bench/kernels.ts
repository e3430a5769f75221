// Per-kernel roofline on the current tfjs backend, at the M training shape (N = B·T = 2048 rows, C = 384,
// 4C = 1536, V = 8192; attention B = 8, H = 6, T = 256, hd = 64).
// Products are reported in GFLOP/s against the sgemm peak (a 2048³ tf.matMul on the same backend in the
// same run, and OpenBLAS through PyTorch when bench/run.ts passes its figure); memory-bound kernels in
// GB/s (bytes read + bytes written, counting each operand once) against a memcpy in this Node process.
//   node --import tsx bench/kernels.ts [--backend auto] [--reps 5] [--torch JSON] [--record]
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { AdamW } from '../train/adamw.js';
import { BackendName, initBackend } from '../backend/backend.js';
import { tiedHead } from '../lm/ops.js';
import { machine, recordBlock } from './record.js';

const { values: o } = parseArgs({
  options: {
    backend: { type: 'string', default: 'auto' },
    reps: { type: 'string', default: '5' },
    /** The torch script's --peak JSON line (sgemmGflops, sgemmGflops1, memcpyGBs, memcpyGBs1, blas). */
    torch: { type: 'string' },
    record: { type: 'boolean', default: false },
  },
});
const backend = await initBackend(o.backend as BackendName, { quiet: true });
const maxReps = Number(o.reps);
const torch = o.torch ? (JSON.parse(o.torch) as { sgemmGflops: number; sgemmGflops1: number; memcpyGBs: number; memcpyGBs1: number; blas: string; threads: number; torch: string }) : null;
const log = (s: string) => process.stderr.write(`[kernels] ${s}\n`);
/** Share of the machine's CPU used by other processes over one second while this one sleeps. */
function othersBusy(ms = 1000): number {
  const busy = () => cpus().reduce((a, c) => a + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0);
  const b0 = busy();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  return (busy() - b0) / (ms * cpus().length);
}
const others0 = othersBusy();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Median ms of f() up to the moment its result exists. To wait for it on any backend, each run reads one
 * element of every result with dataSync() (the last one, through a 1-element slice): that forces the whole
 * kernel on a backend that defers work, and costs microseconds, where reading the whole result would add
 * a copy out of the wasm heap that is no part of the kernel.
 * One warm-up run; then up to maxReps runs, fewer when one run takes long (about 1.5 s per kernel at most).
 */
function timeKernel(f: () => tf.Tensor | tf.Tensor[]): { ms: number; minMs: number } {
  const run = () => {
    const t0 = performance.now();
    const y = f();
    const ys = Array.isArray(y) ? y : [y];
    for (const t of ys) {
      const last = tf.tidy(() => tf.slice(tf.reshape(t, [-1]), [t.size - 1], [1]));
      last.dataSync();
      last.dispose();
    }
    const ms = performance.now() - t0;
    tf.dispose(ys);
    return ms;
  };
  const w = run();
  const reps = Math.max(3, Math.min(maxReps, Math.floor(1500 / Math.max(w, 1e-3))));
  const ts = Array.from({ length: reps }, run);
  return { ms: median(ts), minMs: Math.min(...ts) };
}

// ---- peaks measured in this process
function sgemmPeak(n = 2048): number {
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  const { ms } = timeKernel(() => tf.matMul(a, b));
  tf.dispose([a, b]);
  return (2 * n ** 3) / (ms / 1000) / 1e9;
}
function memcpyGBs(mb = 256): number {
  const src = new Float32Array((mb * 2 ** 20) / 4).fill(1);
  const dst = new Float32Array(src.length);
  dst.set(src); // first touch of dst's pages
  const ts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    dst.set(src);
    ts.push(performance.now() - t0);
  }
  return (2 * src.byteLength) / (median(ts) / 1000) / 1e9;
}
const peak = sgemmPeak();
log(`tf.matMul 2048³ on ${backend.detail}: ${peak.toFixed(1)} GFLOP/s`);
const memcpy = memcpyGBs();
log(`Float32Array.set of 256 MB: ${memcpy.toFixed(1)} GB/s (read + write)`);

// ---- the kernels
const N = 2048, C = 384, F = 4 * C, V = 8192, B = 8, H = 6, T = 256, hd = 64, BH = B * H;
const keep: tf.Tensor[] = [];
const rnd = (shape: number[]) => {
  const t = tf.randomNormal(shape, 0, 1, 'float32', keep.length + 1);
  keep.push(t);
  return t;
};
const ints = (n: number, max: number, shape: number[]) => {
  const t = tf.tensor(Int32Array.from({ length: n }, (_, i) => (i * 2654435761) % max), shape, 'int32');
  keep.push(t);
  return t;
};
const x = rnd([N, C]), xT = rnd([C, N]), w = rnd([C, 3 * C]), wT = rnd([3 * C, C]), dy = rnd([N, 3 * C]);
const E = rnd([V, C]);
const q = rnd([BH, T, hd]), kT = rnd([BH, hd, T]), k = rnd([BH, T, hd]), p = rnd([BH, T, T]), v = rnd([BH, T, hd]);
const bias = rnd([C]), col = rnd([N, 1]), h = rnd([N, F]), x4 = rnd([B, T, H, hd]);
const rows = ints(N, V, [N]), rowIdx = ints(N, V, [N, 1]);

interface Kernel { name: string; shape: string; f: () => tf.Tensor | tf.Tensor[]; flops?: number; bytes?: number }
const f32 = 4;
const mm = (m: number, k_: number, n: number, batch = 1) => 2 * batch * m * k_ * n;
const kernels: Kernel[] = [
  { name: 'matMul (qkv forward)', shape: '[2048,384]·[384,1152]', f: () => tf.matMul(x, w), flops: mm(N, C, 3 * C) },
  { name: 'matMul transposeA', shape: '[384,2048]ᵀ·[384,1152]', f: () => tf.matMul(xT, w, true, false), flops: mm(N, C, 3 * C) },
  { name: 'matMul transposeB', shape: '[2048,384]·[1152,384]ᵀ', f: () => tf.matMul(x, wT, false, true), flops: mm(N, C, 3 * C) },
  { name: 'matMul dx = dy·Wᵀ (transposeB)', shape: '[2048,1152]·[384,1152]ᵀ', f: () => tf.matMul(dy, w, false, true), flops: mm(N, 3 * C, C) },
  { name: 'matMul dW = xᵀ·dy (transposeA)', shape: '[2048,384]ᵀ·[2048,1152]', f: () => tf.matMul(x, dy, true, false), flops: mm(C, N, 3 * C) },
  { name: 'tied head, lm/ops tiedHead', shape: '[2048,384]·[8192,384]ᵀ', f: () => tf.tidy(() => tiedHead(x as tf.Tensor2D, E as tf.Tensor2D)), flops: mm(N, C, V) },
  { name: 'tied head, matMul transposeB', shape: '[2048,384]·[8192,384]ᵀ', f: () => tf.matMul(x, E, false, true), flops: mm(N, C, V) },
  { name: 'batched q·kᵀ', shape: '[48,256,64]·[48,64,256]', f: () => tf.matMul(q, kT), flops: mm(T, hd, T, BH) },
  { name: 'batched q·kᵀ (transposeB, as the model)', shape: '[48,256,64]·[48,256,64]ᵀ', f: () => tf.matMul(q, k, false, true), flops: mm(T, hd, T, BH) },
  { name: 'batched p·v', shape: '[48,256,256]·[48,256,64]', f: () => tf.matMul(p, v), flops: mm(T, T, hd, BH) },
  { name: 'softmax', shape: '[48,256,256]', f: () => tf.softmax(p), bytes: 2 * p.size * f32 },
  { name: 'add, broadcast row', shape: '[2048,384] + [384]', f: () => tf.add(x, bias), bytes: (2 * x.size + bias.size) * f32 },
  { name: 'mul, broadcast column', shape: '[2048,384] · [2048,1]', f: () => tf.mul(x, col), bytes: (2 * x.size + col.size) * f32 },
  { name: 'sigmoid', shape: '[2048,1536]', f: () => tf.sigmoid(h), bytes: 2 * h.size * f32 },
  { name: 'tanh', shape: '[2048,1536]', f: () => tf.tanh(h), bytes: 2 * h.size * f32 },
  { name: 'exp', shape: '[2048,1536]', f: () => tf.exp(h), bytes: 2 * h.size * f32 },
  { name: 'sum, last axis', shape: '[2048,384] → [2048]', f: () => tf.sum(x, -1), bytes: (x.size + N) * f32 },
  { name: 'mean, last axis', shape: '[2048,384] → [2048]', f: () => tf.mean(x, -1), bytes: (x.size + N) * f32 },
  { name: 'sum, last axis', shape: '[48,256,256] → [48,256]', f: () => tf.sum(p, -1), bytes: (p.size + BH * T) * f32 },
  { name: 'transpose', shape: '[8,256,6,64] → [8,6,256,64]', f: () => tf.transpose(x4, [0, 2, 1, 3]), bytes: 2 * x4.size * f32 },
  { name: 'gather rows', shape: '2048 of [8192,384]', f: () => tf.gather(E, rows), bytes: (2 * N * C + N) * f32 },
  { name: 'scatterND (embedding grad)', shape: '[2048,384] into [8192,384]', f: () => tf.scatterND(rowIdx, x, [V, C]), bytes: (N * C + N + V * C) * f32 },
];

interface Row { name: string; shape: string; ms: number; minMs: number; gflops?: number; gbs?: number }
const out: Row[] = [];
for (const kr of kernels) {
  const { ms, minMs } = timeKernel(kr.f);
  const r: Row = { name: kr.name, shape: kr.shape, ms, minMs };
  if (kr.flops) r.gflops = kr.flops / (ms / 1000) / 1e9;
  if (kr.bytes) r.gbs = kr.bytes / (ms / 1000) / 1e9;
  out.push(r);
  log(`${kr.name} ${kr.shape}: ${ms.toFixed(3)} ms${r.gflops ? ` ${r.gflops.toFixed(1)} GFLOP/s` : ''}${r.gbs ? ` ${r.gbs.toFixed(1)} GB/s` : ''}`);
}
tf.dispose(keep);

// ---- AdamW (train/adamw.ts) on 10M parameters: reads g twice (norm, update) and p, m, v; writes p, m, v.
{
  const params = new Map<string, tf.Variable>();
  const grads = new Map<string, tf.Tensor>();
  for (let i = 0; i < 10; i++) {
    params.set(`w${i}`, tf.variable(tf.randomNormal([1000, 1000], 0, 0.02, 'float32', 100 + i), true, `adamw_bench_w${i}_${Date.now()}`));
    grads.set(`w${i}`, tf.randomNormal([1000, 1000], 0, 1e-3, 'float32', 200 + i));
  }
  const opt = new AdamW(params, { lr: 1e-4, weightDecay: 0.1, maxGradNorm: 1 });
  opt.applyGradients(grads); // warm-up
  const ts: number[] = [];
  for (let i = 0; i < Math.min(maxReps, 5); i++) {
    const t0 = performance.now();
    opt.applyGradients(grads);
    ts.push(performance.now() - t0); // applyGradients is synchronous: it has written every weight when it returns
  }
  const ms = median(ts);
  const minMs = Math.min(...ts);
  const bytes = 10e6 * 8 * f32;
  out.push({ name: 'AdamW update (train/adamw.ts)', shape: '10M parameters', ms, minMs, gbs: bytes / (ms / 1000) / 1e9 });
  log(`AdamW 10M: ${ms.toFixed(1)} ms`);
  tf.dispose([...params.values(), ...grads.values()]);
}

// ---- table
const f = (x: number, d = 1) => x.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });
const torchPeak = torch?.sgemmGflops;
const torchMem = torch?.memcpyGBs;
const header = `| kernel | shape | median ms | fastest ms | GFLOP/s | % of tfjs sgemm | % of OpenBLAS sgemm | GB/s | % of Node memcpy | % of torch memcpy |`;
const lines = [header, '|' + '---|'.repeat(10)];
for (const r of out) {
  const pct = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? `${f((100 * a) / b, 0)}%` : '');
  lines.push(`| ${r.name} | ${r.shape} | ${f(r.ms, r.ms < 10 ? 3 : 1)} | ${f(r.minMs, r.minMs < 10 ? 3 : 1)} | ${r.gflops !== undefined ? f(r.gflops) : ''} | ${pct(r.gflops, peak)} | ${pct(r.gflops, torchPeak)} | ${r.gbs !== undefined ? f(r.gbs) : ''} | ${pct(r.gbs, memcpy)} | ${pct(r.gbs, torchMem)} |`);
}
const table = lines.join('\n');
const peaks = [
  `tfjs sgemm peak: tf.matMul 2048³ on ${backend.detail}: ${f(peak)} GFLOP/s.`,
  torch
    ? `OpenBLAS sgemm through PyTorch ${torch.torch} (torch.mm 2048³, ${torch.blas}): ${f(torch.sgemmGflops)} GFLOP/s with ${torch.threads} threads, ${f(torch.sgemmGflops1)} with 1.`
    : 'OpenBLAS sgemm: not measured (no PyTorch; apt-get install -y python3-torch libopenblas0-openmp).',
  `Node memcpy: Float32Array.set of 256 MB, 1 thread: ${f(memcpy)} GB/s (bytes read + written).` +
    (torch ? ` PyTorch dst.copy_(src) of 256 MB: ${f(torch.memcpyGBs)} GB/s with ${torch.threads} threads, ${f(torch.memcpyGBs1)} with 1.` : ''),
].join('\n');
process.stdout.write(`\n${peaks}\n\n${table}\n`);
const others1 = othersBusy();
const othersMax = Math.max(others0, others1);
log(`other processes used ${Math.round(100 * others0)}% of the CPU before, ${Math.round(100 * others1)}% after${othersMax > 0.1 ? ": these times are inflated" : ""}`);

if (o.record) {
  recordBlock('kernels', [
    '## Kernels against their roofline (M training shape)',
    '',
    `Run ${new Date().toISOString().slice(0, 10)} on ${machine()}. Backend: ${backend.detail}. bench/kernels.ts (\`npm run bench -- --parts kernels\`). Other processes used ${Math.round(100 * others0)}% of the machine's CPU in the second before and ${Math.round(100 * others1)}% in the second after${othersMax > 0.1 ? ': **they shared the cores, so these times are longer than on a quiet machine**' : ''}.`,
    '',
    'Each kernel: one warm-up, then the median of up to 5 runs (fewer for slow kernels, at least 3), each waited for by reading the last element of its result with dataSync() (a 1-element slice, so the time holds no copy of the whole result out of the wasm heap). GFLOP/s and GB/s come from the median; the fastest run is shown beside it (on a busy machine it is the better estimate of the kernel alone). GFLOP/s counts 2 per multiply-add. GB/s counts each operand read once and the result written once (the least traffic the kernel needs), 4 bytes per float; the AdamW row counts the gradient twice (norm, then update) and the weight and both moments read and written: 32 bytes per parameter.',
    '',
    peaks.split('\n').map((l) => `- ${l}`).join('\n'),
    '',
    table,
  ].join('\n'));
  process.stdout.write('recorded in BENCHMARKS.md (kernels)\n');
}
process.stdout.write(JSON.stringify({ backend: backend.detail, sgemmPeak: peak, memcpyGBs: memcpy, kernels: out }) + '\n');
