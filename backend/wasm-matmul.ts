// A faster BatchMatMul for the wasm backend. Its own kernel sends only 2-D, non-transposed products
// to XNNPACK (~40 GFLOP/s here) and runs everything batched or transposed in a naive loop (~2 GFLOP/s),
// which is what attention is made of. This kernel transposes operands explicitly (the 3-D Transpose
// kernel is fast), then calls the stock kernel once per batch entry on zero-copy views: tensor ids
// registered with the wasm runtime at an offset inside the batched buffer, unregistered (not freed)
// right after the call.
import * as tf from '@tensorflow/tfjs';

interface WasmBackend {
  wasm: {
    cwrap(name: string, ret: null, args: string[]): (...a: unknown[]) => void;
    tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
  };
  dataIdMap: { get(d: object): { id: number; memoryOffset: number } };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: string): tf.TensorInfo;
  disposeData(d: object): void;
}

/** Products smaller than this per batch entry stay on the stock kernel: the per-call setup would dominate. */
const MIN_MACS = 16 * 1024;

let stockKernel: tf.KernelFunc | null = null;
let rawBatchMatMul: ((...a: unknown[]) => void) | null = null;

export function registerFastBatchMatMul(): void {
  const stock = tf.getKernel('BatchMatMul', 'wasm');
  if (!stock || stockKernel) return;
  stockKernel = stock.kernelFunc;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ kernelName: 'BatchMatMul', backendName: 'wasm', setupFunc: stock.setupFunc, kernelFunc: fastBatchMatMul });
}

function fastBatchMatMul(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { inputs, attrs } = args;
  const backend = args.backend as WasmBackend;
  const a = inputs.a as tf.TensorInfo;
  const b = inputs.b as tf.TensorInfo;
  const tA = Boolean(attrs?.transposeA);
  const tB = Boolean(attrs?.transposeB);
  const ra = a.shape.length;
  const rb = b.shape.length;
  const batchA = a.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const batchB = b.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const M = tA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = tA ? a.shape[ra - 2] : a.shape[ra - 1];
  const N = tB ? b.shape[rb - 2] : b.shape[rb - 1];
  const batch = Math.max(batchA, batchB);
  const sameBatch = batchA === batchB || batchA === 1 || batchB === 1;
  if ((batch === 1 && !tA && !tB) || M * K * N < MIN_MACS || a.dtype !== 'float32' || b.dtype !== 'float32' || !sameBatch || ra < 2 || rb < 2) {
    return stockKernel!(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  }
  rawBatchMatMul ??= backend.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']);
  const temps: tf.TensorInfo[] = [];
  // [batch, M, K] and [batch, K, N] row-major buffers, transposing through the fast 3-D Transpose kernel
  // (called directly at the backend level: its output is freed below, outside the engine's bookkeeping).
  const as3d = (x: tf.TensorInfo, bt: number, r: number, c: number, t: boolean): tf.TensorInfo => {
    if (!t) return x;
    const transpose = tf.getKernel('Transpose', 'wasm')!.kernelFunc;
    const y = transpose({ inputs: { x: { dataId: x.dataId, shape: [bt, c, r], dtype: x.dtype } }, backend: backend as never, attrs: { perm: [0, 2, 1] } }) as tf.TensorInfo;
    temps.push(y);
    return y;
  };
  const a3 = as3d(a, batchA, M, K, tA);
  const b3 = as3d(b, batchB, K, N, tB);
  const out = backend.makeOutput([batch, M, N], 'float32');
  const aOff = backend.dataIdMap.get(a3.dataId).memoryOffset;
  const bOff = backend.dataIdMap.get(b3.dataId).memoryOffset;
  const oOff = backend.dataIdMap.get(out.dataId).memoryOffset;
  const shapeBytes = (s: number[]) => new Uint8Array(new Int32Array(s).buffer);
  const aShape = shapeBytes([1, M, K]);
  const bShape = shapeBytes([1, K, N]);
  const view = (offset: number, size: number): number => {
    const id = backend.dataIdNextNumber++;
    backend.wasm.tfjs.registerTensor(id, size, offset);
    return id;
  };
  for (let i = 0; i < batch; i++) {
    const ai = view(aOff + 4 * (batchA === 1 ? 0 : i) * M * K, M * K);
    const bi = view(bOff + 4 * (batchB === 1 ? 0 : i) * K * N, K * N);
    const oi = view(oOff + 4 * i * M * N, M * N);
    rawBatchMatMul(ai, aShape, 3, bi, bShape, 3, false, false, oi);
    for (const id of [ai, bi, oi]) backend.wasm.tfjs.disposeData(id); // unregister only; the memory belongs to a3/b3/out
  }
  for (const t of temps) backend.disposeData(t.dataId);
  const outShape = [...(batchA >= batchB ? a.shape.slice(0, -2) : b.shape.slice(0, -2)), M, N];
  return { dataId: out.dataId, shape: outShape, dtype: 'float32' };
}
