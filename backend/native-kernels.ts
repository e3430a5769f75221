// tfjs kernels of the `native` backend that run in our C++ addon (native/src). The backend is
// tfjs-backend-cpu's (plain ArrayBuffers, no 4 GiB heap); these replace its hot kernels. Each works on
// the cpu backend's own Float32Arrays in place, and hands anything it does not cover (other dtypes,
// unusual attributes) back to the cpu kernel it replaces, so behaviour never narrows.
import * as tf from '@tensorflow/tfjs';
import { BINARY, NativeAddon, REDUCE, UNARY } from './native-addon.js';

type Info = tf.TensorInfo;
type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
interface CpuBackend {
  data: { get(d: object): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array | Int32Array): Info;
  /** An output buffer from the backend's pool (backend/native-memory.ts); its old contents must be overwritten. */
  alloc(n: number): Float32Array;
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const f32 = (be: CpuBackend, t: Info) => be.data.get(t.dataId).values as Float32Array;
function stridesOf(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  for (let d = shape.length - 1, n = 1; d >= 0; d--) {
    s[d] = n;
    n *= shape[d];
  }
  return s;
}

/** Strides of `shape` read as `outShape` under broadcasting (0 on broadcast axes), aligned right. */
function broadcastStrides(shape: number[], outShape: number[]): number[] {
  const own = stridesOf(shape);
  const off = outShape.length - shape.length;
  return outShape.map((_, d) => (d < off || shape[d - off] === 1 ? 0 : own[d - off]));
}

/**
 * Drop size-1 axes and merge neighbours that every operand walks contiguously (or broadcasts along
 * together), so that the C++ loop sees the longest possible inner run: [2048, 384] + [384] stays 2-D,
 * two same-shape tensors become 1-D.
 */
function mergeAxes(shape: number[], strides: number[][]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, i) => outStrides[i][last] === s[d] * shape[d])) {
      outShape[last] *= shape[d];
      strides.forEach((s, i) => (outStrides[i][last] = s[d]));
    } else {
      outShape.push(shape[d]);
      strides.forEach((s, i) => outStrides[i].push(s[d]));
    }
  }
  return { shape: outShape, strides: outStrides };
}

export interface NativeKernel {
  kernelName: string;
  /** Returns null to hand the call to the cpu backend's kernel. */
  kernelFunc: (args: Args, addon: NativeAddon, be: CpuBackend) => Info | Info[] | null;
}

function matMul(args: Args, addon: NativeAddon, be: CpuBackend, epilogue?: { bias: Info | null; act: number }): Info | null {
  const a = args.inputs.a as Info;
  const b = args.inputs.b as Info;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return null;
  const tA = Boolean(args.attrs?.transposeA);
  const tB = Boolean(args.attrs?.transposeB);
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = tA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = tA ? a.shape[ra - 2] : a.shape[ra - 1];
  const N = tB ? b.shape[rb - 2] : b.shape[rb - 1];
  const kb = tB ? b.shape[rb - 1] : b.shape[rb - 2];
  if (K !== kb) throw new Error(`matMul: inner dimensions ${K} and ${kb} differ ([${a.shape}] and [${b.shape}], transposeA=${tA}, transposeB=${tB})`);
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const outBatch = tf.backend_util.assertAndGetBroadcastShape(aBatch, bBatch);
  const aStr = broadcastStrides(aBatch, outBatch);
  const bStr = broadcastStrides(bBatch, outBatch);
  const batch = size(outBatch);
  const aOff = new Array<number>(batch);
  const bOff = new Array<number>(batch);
  for (let i = 0; i < batch; i++) {
    let rem = i;
    let ao = 0;
    let bo = 0;
    for (let d = outBatch.length - 1; d >= 0; d--) {
      const k = rem % outBatch[d];
      rem = Math.floor(rem / outBatch[d]);
      ao += k * aStr[d];
      bo += k * bStr[d];
    }
    aOff[i] = ao * M * K;
    bOff[i] = bo * K * N;
  }
  const out = be.alloc(batch * M * N);
  addon.matmul(f32(be, a), f32(be, b), out, batch, M, N, K, tA, tB, aOff, bOff);
  if (epilogue) addon.biasActivation(out, epilogue.bias ? f32(be, epilogue.bias) : null, batch * M, N, epilogue.act);
  return be.makeTensorInfo([...outBatch, M, N], 'float32', out);
}

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, sigmoid: 2, elu: 3 };

function fusedMatMul(args: Args, addon: NativeAddon, be: CpuBackend): Info | null {
  const bias = (args.inputs.bias as Info | undefined) ?? null;
  const act = ACTIVATIONS[String(args.attrs?.activation ?? 'linear')];
  if (act === undefined || args.inputs.preluActivationWeights) return null;
  const b = args.inputs.b as Info;
  const N = args.attrs?.transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  // Only a bias along the output columns is fused; any other broadcast goes to the cpu kernel.
  if (bias && (bias.dtype !== 'float32' || size(bias.shape) !== N || bias.shape[bias.shape.length - 1] !== N)) return null;
  return matMul(args, addon, be, { bias, act });
}

function binary(op: number) {
  return (args: Args, addon: NativeAddon, be: CpuBackend): Info | null => {
    const a = args.inputs.a as Info;
    const b = args.inputs.b as Info;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const out = be.alloc(size(outShape));
    const m = mergeAxes(outShape, [broadcastStrides(a.shape, outShape), broadcastStrides(b.shape, outShape)]);
    addon.binary(op, f32(be, a), m.strides[0], f32(be, b), m.strides[1], out, m.shape);
    return be.makeTensorInfo(outShape, 'float32', out);
  };
}

function unary(op: number, alphaAttr?: string) {
  return (args: Args, addon: NativeAddon, be: CpuBackend): Info | null => {
    const x = args.inputs.x as Info;
    if (x.dtype !== 'float32') return null;
    const out = be.alloc(size(x.shape));
    addon.unary(op, f32(be, x), out, alphaAttr ? Number(args.attrs?.[alphaAttr]) : 0);
    return be.makeTensorInfo(x.shape, 'float32', out);
  };
}

/** x permuted by perm into a fresh Float32Array. */
function permuted(addon: NativeAddon, be: CpuBackend, vals: Float32Array, shape: number[], perm: number[]): Float32Array {
  const s = stridesOf(shape);
  const out = be.alloc(vals.length);
  addon.copy(vals, out, perm.map((p) => shape[p]), perm.map((p) => s[p]), 0);
  return out;
}

function reduce(op: number, axisAttr: string) {
  return (args: Args, addon: NativeAddon, be: CpuBackend): Info | null => {
    const x = args.inputs.x as Info;
    if (x.dtype !== 'float32') return null;
    const rank = x.shape.length;
    const asked = tf.util.parseAxisParam(args.attrs?.[axisAttr] as number | number[], x.shape);
    let axes = asked;
    let vals = f32(be, x);
    let shape = x.shape;
    const perm = tf.backend_util.getAxesPermutation(axes, rank);
    if (perm) {
      vals = permuted(addon, be, vals, shape, perm);
      shape = perm.map((p) => x.shape[p]);
      axes = tf.backend_util.getInnerMostAxes(axes.length, rank);
    }
    const [outShape, reduceShape] = tf.backend_util.computeOutAndReduceShapes(shape, axes);
    const inner = size(reduceShape);
    const outer = size(outShape);
    const out = be.alloc(outer);
    if (inner === 0 && op === REDUCE.Sum) out.fill(0);
    else addon.reduce(op, vals, out, outer, inner);
    const shapeOut = args.attrs?.keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, asked) : outShape;
    return be.makeTensorInfo(shapeOut, 'float32', out);
  };
}

function softmax(args: Args, addon: NativeAddon, be: CpuBackend): Info | null {
  const x = args.inputs.logits as Info;
  const dim = Number(args.attrs?.dim ?? -1);
  if (x.dtype !== 'float32' || (dim !== -1 && dim !== x.shape.length - 1)) return null;
  const cols = x.shape[x.shape.length - 1];
  const out = be.alloc(size(x.shape));
  addon.softmax(f32(be, x), out, size(x.shape) / cols, cols);
  return be.makeTensorInfo(x.shape, 'float32', out);
}

function transpose(args: Args, addon: NativeAddon, be: CpuBackend): Info | null {
  const x = args.inputs.x as Info;
  if (x.dtype !== 'float32') return null;
  const perm = args.attrs!.perm as number[];
  return be.makeTensorInfo(perm.map((p) => x.shape[p]), 'float32', permuted(addon, be, f32(be, x), x.shape, perm));
}

function slice(args: Args, addon: NativeAddon, be: CpuBackend): Info | null {
  const x = args.inputs.x as Info;
  if (x.dtype !== 'float32') return null;
  const [begin, sz] = tf.slice_util.parseSliceParams(x as tf.Tensor, args.attrs!.begin as number[], args.attrs!.size as number[]);
  tf.slice_util.assertParamsValid(x as tf.Tensor, begin, sz);
  const s = stridesOf(x.shape);
  const out = be.alloc(size(sz));
  addon.copy(f32(be, x), out, sz, s, begin.reduce((acc, b, d) => acc + b * s[d], 0));
  return be.makeTensorInfo(sz, 'float32', out);
}

/** tf.split: the cpu kernel slices element by element; here each part is one strided copy. */
function splitV(args: Args, addon: NativeAddon, be: CpuBackend): Info[] | null {
  const x = args.inputs.x as Info;
  if (x.dtype !== 'float32') return null;
  const axis = tf.util.parseAxisParam(args.attrs!.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, args.attrs!.numOrSizeSplits as number[], axis);
  const s = stridesOf(x.shape);
  const vals = f32(be, x);
  let begin = 0;
  return sizes.map((n) => {
    const shape = x.shape.slice();
    shape[axis] = n;
    const out = be.alloc(size(shape));
    addon.copy(vals, out, shape, s, begin * s[axis]);
    begin += n;
    return be.makeTensorInfo(shape, 'float32', out);
  });
}

function gather(args: Args, addon: NativeAddon, be: CpuBackend): Info | null {
  const x = args.inputs.x as Info;
  const idx = args.inputs.indices as Info;
  const ids = be.data.get(idx.dataId).values;
  if (x.dtype !== 'float32' || !(ids instanceof Int32Array) || Number(args.attrs?.batchDims ?? 0) !== 0) return null;
  const axis = tf.util.parseAxisParam(args.attrs?.axis as number, x.shape)[0];
  const outer = size(x.shape.slice(0, axis));
  const inner = size(x.shape.slice(axis + 1));
  const out = be.alloc(outer * ids.length * inner);
  addon.gather(f32(be, x), ids, out, outer, x.shape[axis], inner);
  return be.makeTensorInfo([...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)], 'float32', out);
}

function segmentSum(upd: Info, ids: unknown, outShape: number[], addon: NativeAddon, be: CpuBackend): Info | null {
  if (upd.dtype !== 'float32' || !(ids instanceof Int32Array)) return null;
  const inner = size(outShape.slice(1));
  if (size(upd.shape) !== ids.length * inner) return null;
  const out = be.alloc(size(outShape)).fill(0);
  addon.segmentSum(f32(be, upd), ids, out, outShape[0], inner);
  return be.makeTensorInfo(outShape, 'float32', out);
}

function scatterNd(args: Args, addon: NativeAddon, be: CpuBackend): Info | null {
  const idx = args.inputs.indices as Info;
  if (idx.shape[idx.shape.length - 1] !== 1) return null; // only row scatters (embedding gradients)
  return segmentSum(args.inputs.updates as Info, be.data.get(idx.dataId).values, args.attrs!.shape as number[], addon, be);
}

function unsortedSegmentSum(args: Args, addon: NativeAddon, be: CpuBackend): Info | null {
  const x = args.inputs.x as Info;
  const ids = args.inputs.segmentIds as Info;
  if (ids.shape.length !== 1 || ids.shape[0] !== x.shape[0]) return null;
  return segmentSum(x, be.data.get(ids.dataId).values, [Number(args.attrs!.numSegments), ...x.shape.slice(1)], addon, be);
}

/** Concatenation along an axis: rows of each input copied into place (the cpu kernel allocates fresh memory). */
function concat(args: Args, _addon: NativeAddon, be: CpuBackend): Info | null {
  const xs = Object.values(args.inputs) as Info[];
  if (!xs.length || xs.some((x) => x.dtype !== 'float32')) return null;
  const axis = tf.util.parseAxisParam(args.attrs!.axis as number, xs[0].shape)[0];
  const outShape = tf.backend_util.computeOutShape(xs.map((x) => x.shape), axis);
  const outer = size(outShape.slice(0, axis));
  const total = size(outShape.slice(axis));
  const out = be.alloc(size(outShape));
  let offset = 0;
  for (const x of xs) {
    const vals = f32(be, x);
    const inner = size(x.shape.slice(axis));
    for (let r = 0; r < outer; r++) out.set(vals.subarray(r * inner, (r + 1) * inner), r * total + offset);
    offset += inner;
  }
  return be.makeTensorInfo(outShape, 'float32', out);
}

/** gatherND of float32 slices (cross-entropy picks one logit per row); the cpu kernel walks index objects. */
function gatherNd(args: Args, _addon: NativeAddon, be: CpuBackend): Info | null {
  const x = args.inputs.params as Info;
  const idx = args.inputs.indices as Info;
  const ids = be.data.get(idx.dataId).values;
  if (x.dtype !== 'float32' || !(ids instanceof Int32Array)) return null;
  const k = idx.shape[idx.shape.length - 1];
  if (k > x.shape.length) return null;
  const n = ids.length / k;
  const slice = size(x.shape.slice(k));
  const strides = stridesOf(x.shape);
  const vals = f32(be, x);
  const out = be.alloc(n * slice);
  for (let i = 0; i < n; i++) {
    let off = 0;
    for (let d = 0; d < k; d++) {
      const j = ids[i * k + d];
      if (j < 0 || j >= x.shape[d]) throw new Error(`gatherND: index ${j} in dimension ${d} is outside [0, ${x.shape[d]})`);
      off += j * strides[d];
    }
    out.set(vals.subarray(off, off + slice), i * slice);
  }
  return be.makeTensorInfo([...idx.shape.slice(0, -1), ...x.shape.slice(k)], 'float32', out);
}

/** One-hot rows into a pooled buffer; float32 output only (int32 keeps the cpu kernel). */
function oneHot(args: Args, _addon: NativeAddon, be: CpuBackend): Info | null {
  const idx = args.inputs.indices as Info;
  const { depth, onValue, offValue, dtype } = args.attrs as { depth: number; onValue: number; offValue: number; dtype: string };
  const ids = be.data.get(idx.dataId).values as ArrayLike<number>;
  if (dtype !== 'float32' && dtype !== 'int32') return null;
  const out = dtype === 'int32' ? new Int32Array(ids.length * depth) : be.alloc(ids.length * depth);
  out.fill(offValue);
  for (let i = 0; i < ids.length; i++) if (ids[i] >= 0 && ids[i] < depth) out[i * depth + ids[i]] = onValue;
  return be.makeTensorInfo([...idx.shape, depth], dtype, out);
}

/** int32/bool to float32 into a pooled buffer (TypedArray.set converts natively). */
function cast(args: Args, _addon: NativeAddon, be: CpuBackend): Info | null {
  const x = args.inputs.x as Info;
  if (args.attrs?.dtype !== 'float32' || (x.dtype !== 'int32' && x.dtype !== 'bool')) return null;
  const vals = be.data.get(x.dataId).values as Int32Array | Uint8Array;
  const out = be.alloc(vals.length);
  out.set(vals);
  return be.makeTensorInfo(x.shape, 'float32', out);
}

export const NATIVE_KERNELS: NativeKernel[] = [
  { kernelName: 'BatchMatMul', kernelFunc: (a, n, b) => matMul(a, n, b) },
  { kernelName: '_FusedMatMul', kernelFunc: fusedMatMul },
  ...Object.entries(BINARY).map(([k, op]) => ({ kernelName: k, kernelFunc: binary(op) })),
  ...(['Exp', 'Log', 'Neg', 'Sigmoid', 'Tanh', 'Sqrt', 'Rsqrt', 'Square', 'Relu', 'Abs', 'Reciprocal', 'Log1p', 'Elu', 'Softplus'] as const)
    .map((k) => ({ kernelName: k, kernelFunc: unary(UNARY[k]) })),
  { kernelName: 'Sum', kernelFunc: reduce(REDUCE.Sum, 'axis') },
  { kernelName: 'Mean', kernelFunc: reduce(REDUCE.Mean, 'axis') },
  { kernelName: 'Max', kernelFunc: reduce(REDUCE.Max, 'reductionIndices') },
  { kernelName: 'Min', kernelFunc: reduce(REDUCE.Min, 'axis') },
  { kernelName: 'Softmax', kernelFunc: softmax },
  { kernelName: 'Transpose', kernelFunc: transpose },
  { kernelName: 'Slice', kernelFunc: slice },
  { kernelName: 'SplitV', kernelFunc: splitV },
  { kernelName: 'Concat', kernelFunc: concat },
  { kernelName: 'OneHot', kernelFunc: oneHot },
  { kernelName: 'GatherNd', kernelFunc: gatherNd },
  { kernelName: 'Cast', kernelFunc: cast },
  { kernelName: 'GatherV2', kernelFunc: gather },
  { kernelName: 'ScatterNd', kernelFunc: scatterNd },
  { kernelName: 'UnsortedSegmentSum', kernelFunc: unsortedSegmentSum },
];
