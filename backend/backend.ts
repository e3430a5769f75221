// Chooses the tfjs backend at run time: the TensorFlow binding (GPU, then CPU), then our own native CPU
// backend (backend/native-backend.ts, built at install from native/src), then wasm, then the pure-JS cpu
// backend. The TensorFlow packages download libtensorflow at install time, which fails on machines
// without internet; they are optionalDependencies, so we probe for them here instead.
import * as tf from '@tensorflow/tfjs';
import { installStreamingBackprop } from './streaming-backprop.js';
import { createRequire } from 'node:module';
import { NATIVE, registerNativeBackend } from './native-backend.js';
import { registerFastBatchMatMul } from './wasm-matmul.js';

export type BackendName = 'auto' | 'tensorflow' | 'native' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['auto', 'tensorflow', 'native', 'wasm', 'cpu'];

export interface BackendInfo {
  /** tfjs backend name in use: 'tensorflow', 'native', 'wasm' or 'cpu'. */
  name: string;
  /** One human line: what runs and why. */
  detail: string;
}

export class BackendError extends Error {}

const require = createRequire(import.meta.url);
let current: BackendInfo | null = null;

function tryTensorflow(): { ok: true; detail: string } | { ok: false; why: string } {
  const reasons: string[] = [];
  for (const [pkg, device] of [['@tensorflow/tfjs-node-gpu', 'GPU'], ['@tensorflow/tfjs-node', 'CPU']] as const) {
    try {
      require(pkg);
      if (tf.findBackend('tensorflow')) return { ok: true, detail: `tensorflow (${pkg}, ${device})` };
      reasons.push(`${pkg} loaded but registered no backend`);
    } catch (e) {
      const msg = (e as Error).message.split('\n')[0];
      reasons.push(msg.includes('Cannot find module') && msg.includes(pkg) ? `${pkg} not installed` : `${pkg}: ${msg}`);
    }
  }
  return { ok: false, why: reasons.join('; ') };
}

async function tryNative(): Promise<{ ok: true; detail: string } | { ok: false; why: string }> {
  const r = registerNativeBackend();
  if (!r.ok) return { ok: false, why: `native: ${r.why}` };
  if (!(await tf.setBackend(NATIVE))) return { ok: false, why: 'native backend failed to initialise' };
  const i = r.addon.info();
  return { ok: true, detail: `native (${i.isa}, ${i.threads} threads, GEMM: own kernel${i.blas ? `, ${i.blas} where faster` : ''})` };
}

async function tryWasm(): Promise<{ ok: true; detail: string } | { ok: false; why: string }> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    return { ok: false, why: `@tensorflow/tfjs-backend-wasm: ${(e as Error).message.split('\n')[0]}` };
  }
  // The threaded build makes its worker from a blob URL, which Node refuses: force the single-threaded one.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend('wasm'))) return { ok: false, why: 'wasm backend failed to initialise' };
  registerZeroCopyIdentity();
  // RLHF_WASM_STOCK_MATMUL=1 keeps tfjs's own BatchMatMul (benchmarks compare the two).
  if (!process.env.RLHF_WASM_STOCK_MATMUL) registerFastBatchMatMul();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return { ok: true, detail: `wasm (${simd ? 'SIMD' : 'no SIMD'}, 1 thread)` };
}

/**
 * The wasm Identity kernel copies its input, and tfjs saves every activation a gradient needs through
 * Identity, so each saved activation would exist twice. Sharing the buffer (as wasm Reshape does) is
 * safe because tfjs tensors are immutable.
 */
function registerZeroCopyIdentity(): void {
  if (tf.getKernel('Identity', 'wasm')) tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      (backend as unknown as { incRef(id: object): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
}

const HOW_TO_GET: Record<string, string> = {
  tensorflow:
    'install @tensorflow/tfjs-node (or -gpu) where its libtensorflow download can reach storage.googleapis.com, or use --backend wasm',
  native: 'build it with `npm run build:native` (needs g++, make and python3; see build/native-build.log)',
  wasm: 'run `npm install @tensorflow/tfjs-backend-wasm`',
};

/**
 * Select and initialise a backend. `auto` takes the fastest that loads and reports which on stderr.
 * Naming one that is unavailable throws a BackendError whose message is one line saying how to get it.
 */
export async function initBackend(name: BackendName = 'auto', opts: { quiet?: boolean } = {}): Promise<BackendInfo> {
  if (!BACKEND_NAMES.includes(name)) {
    throw new BackendError(`unknown backend '${name}': choose one of ${BACKEND_NAMES.join(', ')}`);
  }
  const skipped: string[] = [];
  let info: BackendInfo | null = null;
  if (name === 'tensorflow' || name === 'auto') {
    const r = tryTensorflow();
    if (r.ok) {
      await tf.setBackend('tensorflow');
      info = { name: 'tensorflow', detail: r.detail };
    } else if (name === 'tensorflow') {
      throw new BackendError(`backend 'tensorflow' is not available (${r.why}): ${HOW_TO_GET.tensorflow}`);
    } else skipped.push(r.why);
  }
  if (!info && (name === 'native' || name === 'auto')) {
    const r = await tryNative();
    if (r.ok) info = { name: NATIVE, detail: r.detail };
    else if (name === 'native') throw new BackendError(`backend 'native' is not available (${r.why}): ${HOW_TO_GET.native}`);
    else skipped.push(r.why);
  }
  if (!info && (name === 'wasm' || name === 'auto')) {
    const r = await tryWasm();
    if (r.ok) info = { name: 'wasm', detail: r.detail };
    else if (name === 'wasm') throw new BackendError(`backend 'wasm' is not available (${r.why}): ${HOW_TO_GET.wasm}`);
    else skipped.push(r.why);
  }
  if (!info) {
    tf.enableProdMode(); // silences tfjs's own "install the node backend" banner; our line below says it
    await tf.setBackend('cpu');
    info = { name: 'cpu', detail: 'cpu (pure JavaScript, slow)' };
  }
  await tf.ready();
  // Frees activations and gradients during the backward pass (same arithmetic); RLHF_TFJS_BACKPROP=1 keeps
  // tfjs's own, for comparisons.
  if (process.env.RLHF_TFJS_BACKPROP !== '1') installStreamingBackprop();
  current = info;
  if (!opts.quiet) {
    const why = name === 'auto' && skipped.length ? ` [skipped: ${skipped.join('; ')}]` : '';
    process.stderr.write(`backend: ${info.detail}${why}\n`);
  }
  return info;
}

/** The backend chosen by the last initBackend call, or null. */
export function currentBackend(): BackendInfo | null {
  return current;
}
