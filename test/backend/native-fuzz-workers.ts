// The native addon loaded in worker_threads while the main thread uses it too: each loads its own
// instance (Node calls the addon's initialiser per environment) over one process-wide thread pool,
// instruction-set table and buffer map. Run by native-fuzz-child.ts, in a process of its own.
import { Worker } from 'node:worker_threads';
import { Addon } from './native-fuzz-args.js';

interface Product { M: number; N: number; K: number; a: Float32Array; b: Float32Array; want: Float64Array }
type Products = (seed: number) => { shapes: Product[]; worstOf: (got: Float32Array, want: Float64Array) => number };

// Seeded products (A [M, K] @ B [K, N]) with their float64 results, and the largest error of a result.
// Plain JS source, shared by the workers and the main thread (a TS function's toString carries tsx helpers).
const PRODUCTS = String.raw`
function products(seed) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
  const shapes = [[17, 33, 9], [96, 80, 200], [200, 192, 160]].map(([M, N, K]) => {
    const a = Float32Array.from({ length: M * K }, next);
    const b = Float32Array.from({ length: K * N }, next);
    const want = new Float64Array(M * N);
    for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) want[i * N + j] += a[i * K + k] * b[k * N + j];
    return { M, N, K, a, b, want };
  });
  const worstOf = (got, want) => got.reduce((w, g, i) => Math.max(w, Number.isFinite(g) ? Math.abs(g - want[i]) : Infinity), 0);
  return { shapes, worstOf };
}`;
const products = new Function(`${PRODUCTS}; return products;`)() as Products;

// CommonJS source of each worker (eval'd: no tsx loader in the workers).
const WORKER = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const addon = require(workerData.file);
${PRODUCTS}
const { shapes, worstOf } = products(workerData.seed);
const isas = addon.info().isas.split(',');
let worst = 0, calls = 0, hostileThrew = true;
const t0 = Date.now();
for (let round = 0; round < 2 || Date.now() - t0 < workerData.ms; round++) {
  for (const s of shapes) {
    const out = new Float32Array(s.M * s.N);
    addon.matmul(s.a, s.b, out, 1, s.M, s.N, s.K, false, false, [0], [0]);
    worst = Math.max(worst, worstOf(out, s.want));
    calls++;
  }
  // Process-wide settings changed under the other threads' feet: the pool is resized, the kernels switch.
  if (workerData.toggleThreads) addon.setThreads(round % 2 ? 1 : 3);
  if (workerData.toggleIsa) addon.setIsa(isas[round % isas.length]);
  const ab = addon.allocBuffer(1 << 20);
  new Float32Array(ab).fill(1);
  if (!addon.releaseBuffer(ab)) throw new Error('releaseBuffer refused a buffer of this worker');
  try {
    addon.matmul(new Float32Array(16), new Float32Array(16), new Float32Array(16), 1, 2 ** 32, 2 ** 32, 2 ** 32, false, false, [0], [0]);
    hostileThrew = false;
  } catch {}
}
parentPort.postMessage({ worst, calls, hostileThrew });
`;

export interface SharedRace { binding: string; calls: number; threw: number; wrong: number; other: string[] }

export interface WorkersSummary {
  workers: { exitCode: number; error?: string; worst?: number; calls?: number; hostileThrew?: boolean }[];
  terminated: { exitCode: number };
  main: { worst: number; calls: number; after: number };
  shared: SharedRace[];
  flipperExit: number;
}

// Writes every index of a shared Int32Array in turn as 0, 2^31 - 1, 0, -2^31 until told to stop.
const FLIPPER = String.raw`
const { workerData } = require('node:worker_threads');
const ids = new Int32Array(workerData.ids);
const stop = new Int32Array(workerData.stop);
const bad = [0, 2147483647, 0, -2147483648];
for (let i = 0; Atomics.load(stop, 0) === 0; i++) {
  const v = bad[i & 3];
  for (let j = 0; j < ids.length; j++) ids[j] = v;
}
`;

/**
 * Index arrays on a SharedArrayBuffer that another thread keeps rewriting between valid (0) and wild values:
 * each call must throw a RangeError or work from indices that were all valid. Unless the addon checks and
 * uses one copy, an index checked as 0 is read again as -2^31 and the copy goes wild.
 */
async function raceSharedIndices(addon: Addon, ms: number): Promise<{ shared: SharedRace[]; flipperExit: number }> {
  const n = 64;
  const inner = 1024;
  const ids = new Int32Array(new SharedArrayBuffer(4 * n));
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const flipper = new Worker(FLIPPER, { eval: true, execArgv: [], workerData: { ids: ids.buffer, stop: stop.buffer } });
  const exit = new Promise<number>((resolve) => flipper.on('exit', resolve));
  await new Promise((resolve) => flipper.on('online', resolve));
  const x = Float32Array.from({ length: 4 * inner }, (_, i) => Math.floor(i / inner) + 1);  // row r holds r + 1
  const V = 4;
  const logits = new Float32Array(n * V);
  const calls: [string, () => boolean][] = [
    ['gather', () => {
      const out = new Float32Array(n * inner);
      addon.gather(x, ids, out, 1, 4, inner);
      return out.every((v) => v === 1);  // every index was 0: row 0 everywhere
    }],
    ['segmentSum', () => {
      const out = new Float32Array(4 * inner);
      addon.segmentSum(new Float32Array(n * inner).fill(1), ids, out, 4, inner);
      return out.every((v, i) => v === (i < inner ? n : 0));
    }],
    ['xent', () => {
      addon.xent(logits, ids, new Float32Array(n), n, V);
      return true;
    }],
    ['sampleRows', () => {
      const token = new Int32Array(n);
      addon.sampleRows(logits, V, ids, 1, new Float64Array(n).fill(0.5), token, new Float64Array(n));
      return token.every((t) => t >= 0 && t < V);
    }],
  ];
  const shared: SharedRace[] = [];
  for (const [binding, call] of calls) {
    const r: SharedRace = { binding, calls: 0, threw: 0, wrong: 0, other: [] };
    for (const t0 = Date.now(); Date.now() - t0 < ms / calls.length; r.calls++) {
      try {
        if (!call()) r.wrong++;
      } catch (e) {
        if (e instanceof RangeError) r.threw++;
        else if (r.other.length < 3) r.other.push(String(e));
      }
    }
    shared.push(r);
  }
  Atomics.store(stop, 0, 1);
  return { shared, flipperExit: await exit };
}

function start(file: string, data: Record<string, unknown>): { worker: Worker; done: Promise<WorkersSummary['workers'][number]> } {
  const worker = new Worker(WORKER, { eval: true, execArgv: [], workerData: { file, ...data } });
  const done = new Promise<WorkersSummary['workers'][number]>((resolve) => {
    let got: Record<string, unknown> = {};
    worker.on('message', (m) => (got = m));
    worker.on('error', (e) => (got = { error: String(e) }));
    worker.on('exit', (exitCode) => resolve({ exitCode, ...got }));
  });
  return { worker, done };
}

/** Three workers and the main thread multiply at once (one resizing the pool, one switching kernels), a fourth is terminated mid-run. */
export async function runWorkers(addon: Addon, file: string): Promise<WorkersSummary> {
  const threads = (addon.info() as { threads: number }).threads;
  const isa = (addon.info() as { isa: string }).isa;
  const runs = [
    start(file, { seed: 1, ms: 1500, toggleThreads: true }),
    start(file, { seed: 2, ms: 1500, toggleIsa: true }),
    start(file, { seed: 3, ms: 1500 }),
  ];
  const victim = start(file, { seed: 4, ms: 60_000 });
  const { shapes, worstOf } = products(5);
  let worst = 0;
  let calls = 0;
  let finished = false;
  const all = Promise.all(runs.map((r) => r.done)).then((w) => ((finished = true), w));
  setTimeout(() => void victim.worker.terminate(), 400);
  while (!finished || calls < 6) {
    const s = shapes[calls % shapes.length];
    const out = new Float32Array(s.M * s.N);
    addon.matmul(s.a, s.b, out, 1, s.M, s.N, s.K, false, false, [0], [0]);
    worst = Math.max(worst, worstOf(out, s.want));
    calls++;
    await new Promise((r) => setImmediate(r));
  }
  const workers = await all;
  const terminated = await victim.done;
  addon.setThreads(threads);
  addon.setIsa(isa);
  // The pool still works after all that, with the settings put back.
  let after = 0;
  for (const s of shapes) {
    const out = new Float32Array(s.M * s.N);
    addon.matmul(s.a, s.b, out, 1, s.M, s.N, s.K, false, false, [0], [0]);
    after = Math.max(after, worstOf(out, s.want));
  }
  return { workers, terminated: { exitCode: terminated.exitCode }, main: { worst, calls, after }, ...(await raceSharedIndices(addon, 1200)) };
}
