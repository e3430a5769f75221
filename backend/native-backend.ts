// The `native` tfjs backend: tfjs-backend-cpu's backend object and kernels (its memory is plain
// ArrayBuffers, so there is no 4 GiB wasm heap), with the hot kernels replaced by our C++ addon
// (native/src: a thread pool, SIMD chosen at run time, OpenBLAS when present). Kernels the addon does
// not cover keep running in JavaScript; `nativeFallbackKernels()` lists which were used.
import * as tf from '@tensorflow/tfjs';
import { loadNativeAddon, NativeAddon } from './native-addon.js';
import { FUSED } from './native-fused.js';
import { pooledBackendClass } from './native-memory.js';
import { NATIVE_KERNELS } from './native-kernels.js';

export const NATIVE = 'native';
let addonInUse: NativeAddon | null = null;
const jsKernelsUsed = new Set<string>();
let ownKernelCalls = 0;
const nativeNames = new Set(NATIVE_KERNELS.map((k) => k.kernelName));

/**
 * Register the backend (once) and return the addon, or why it cannot run. The cpu backend's kernels are
 * registered under our name first; ours then replace the hot ones, each falling back to the cpu kernel
 * for inputs it does not take (other dtypes, unusual attributes).
 */
export function registerNativeBackend(): { ok: true; addon: NativeAddon } | { ok: false; why: string } {
  const loaded = loadNativeAddon();
  if (!loaded.ok) return loaded;
  if (addonInUse) return loaded;
  const addon = loaded.addon;
  const cpu = tf.findBackend('cpu');
  if (!cpu) return { ok: false, why: 'tfjs-backend-cpu is not registered' };
  (cpu as unknown as { firstUse: boolean }).firstUse = false; // its "install tfjs-node" banner is not for us
  const NativeBackend = pooledBackendClass(Object.getPrototypeOf(cpu).constructor as new () => tf.KernelBackend, (n) => addon.allocBuffer(n), (b) => addon.releaseBuffer(b));
  tf.registerBackend(NATIVE, () => {
    const b = new NativeBackend();
    (b as unknown as { firstUse: boolean }).firstUse = false; // its "install tfjs-node" banner is not for us
    return b;
  }, 0);
  const cpuKernels = new Map(tf.getKernelsForBackend('cpu').map((k) => [k.kernelName, k]));
  for (const k of cpuKernels.values()) {
    if (nativeNames.has(k.kernelName)) continue;
    const name = k.kernelName;
    const f = k.kernelFunc;
    tf.registerKernel({
      ...k,
      backendName: NATIVE,
      kernelFunc: timed(name, (args) => {
        jsKernelsUsed.add(name);
        return f(args);
      }),
    });
  }
  for (const nk of NATIVE_KERNELS) {
    const fallback = cpuKernels.get(nk.kernelName);
    tf.registerKernel({
      kernelName: nk.kernelName,
      backendName: NATIVE,
      setupFunc: fallback?.setupFunc,
      disposeFunc: fallback?.disposeFunc,
      kernelFunc: timed(nk.kernelName, (args) => {
        const out = nk.kernelFunc(args as never, addon, args.backend as never);
        if (out) return (ownKernelCalls++, out);
        if (!fallback) throw new Error(`kernel '${nk.kernelName}' has no cpu fallback for these inputs`);
        jsKernelsUsed.add(`${nk.kernelName} (fallback)`);
        return fallback.kernelFunc(args);
      }),
    });
  }
  for (const [name, fn] of Object.entries(FUSED)) {
    tf.registerKernel({
      kernelName: name,
      backendName: NATIVE,
      kernelFunc: timed(name, ({ inputs, attrs, backend }) => (ownKernelCalls++, fn(inputs as never, (attrs ?? {}) as never, addon, backend as never))),
    });
  }
  addonInUse = addon;
  return loaded;
}

/** Per-kernel wall time, kept only when RLHF_NATIVE_PROFILE is set (bench/kernels.ts and profiling). */
export const kernelTimes = new Map<string, { calls: number; ms: number }>();
const profiling = Boolean(process.env.RLHF_NATIVE_PROFILE);
function timed(name: string, f: tf.KernelFunc): tf.KernelFunc {
  if (!profiling) return f;
  return (args) => {
    const t0 = performance.now();
    const out = f(args);
    const e = kernelTimes.get(name) ?? { calls: 0, ms: 0 };
    e.calls++;
    e.ms += performance.now() - t0;
    kernelTimes.set(name, e);
    return out;
  };
}

/** The addon when the native backend is the active one (the optimizer uses it directly), else null. */
export function nativeAddon(): NativeAddon | null {
  return tf.getBackend() === NATIVE ? addonInUse : null;
}

/** Kernels that ran in JavaScript (tfjs-backend-cpu) on the native backend so far in this process. */
export function nativeFallbackKernels(): string[] {
  return [...jsKernelsUsed].sort();
}

/** Calls of our own kernels (not the cpu fallbacks) so far: a test checks that the kernel it compares really ran. */
export function nativeKernelCalls(): number {
  return ownKernelCalls;
}
