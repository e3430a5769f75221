// Every kernel the native backend overrides, against tfjs-backend-cpu on random shapes: odd sizes,
// transposes, broadcasting, every instruction set this CPU runs, and GEMM with and without OpenBLAS.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { initBackend } from '../../backend/backend.js';
import { loadNativeAddon, NativeAddon } from '../../backend/native-addon.js';
import { nativeKernelCalls } from '../../backend/native-backend.js';
import { Rng } from '../../lm/rng.js';
import { rmsNorm, swiglu } from '../../lm/ops.js';
import { applyRope, inverseFrequencies, ropeTables } from '../../lm/rope.js';
import { useBackend } from '../helpers.js';

const rng = new Rng(7);
const rand = (shape: number[], scale = 1) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rng.next() * 2 - 1) * scale), shape);

/** Largest |a - b| / (tol_abs + tol_rel |b|); <= 1 passes. */
function closeness(a: ArrayLike<number>, b: ArrayLike<number>, abs: number, rel: number): number {
  expect(a.length).to.equal(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(b[i])) {
      expect(Number.isNaN(a[i]), `NaN expected at ${i}`).to.equal(true);
      continue;
    }
    if (a[i] === b[i]) continue;
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / (abs + rel * Math.abs(b[i])));
  }
  return worst;
}

/** Runs op on inputs under cpu and native and compares values and shapes. */
async function same(name: string, inputs: () => tf.Tensor[], op: (...xs: tf.Tensor[]) => tf.Tensor, abs = 1e-5, rel = 1e-5): Promise<void> {
  await tf.setBackend('cpu');
  const xs = inputs();
  const vals = xs.map((x) => ({ v: x.dataSync().slice(), s: x.shape, d: x.dtype }));
  const want = op(...xs);
  const wantV = want.dataSync().slice();
  const wantS = want.shape;
  tf.dispose([...xs, want]);
  await tf.setBackend('native');
  const ys = vals.map((x) => tf.tensor(x.v, x.s, x.d));
  // A kernel that fell back to tfjs-backend-cpu would otherwise pass by comparing the cpu backend with itself.
  const before = nativeKernelCalls();
  const got = op(...ys);
  const ran = nativeKernelCalls() - before;
  try {
    expect(ran, `${name}: none of our kernels ran (it fell back to tfjs-backend-cpu)`).to.be.above(0);
    expect(got.shape, `${name}: shape`).to.deep.equal(wantS);
    const c = closeness(got.dataSync(), wantV, abs, rel);
    expect(c, `${name}: error ${c.toFixed(2)}× tolerance`).to.be.at.most(1);
  } finally {
    tf.dispose([...ys, got]);
  }
}

/**
 * Calls of the named fused kernels on the native backend while `body` runs: the kernels are wrapped for its
 * duration, so a test can tell the fused kernel ran and not a composition of our elementwise kernels.
 */
async function fusedCalls(names: string[], body: () => Promise<void>): Promise<Map<string, number>> {
  const counts = new Map(names.map((n) => [n, 0]));
  const originals = names.map((n) => {
    const k = tf.getKernel(n, 'native');
    if (!k) throw new Error(`${n} is not registered on the native backend`);
    return k;
  });
  for (const k of originals) {
    tf.unregisterKernel(k.kernelName, 'native');
    tf.registerKernel({ ...k, kernelFunc: (args) => (counts.set(k.kernelName, counts.get(k.kernelName)! + 1), k.kernelFunc(args)) });
  }
  try {
    await body();
  } finally {
    for (const k of originals) {
      tf.unregisterKernel(k.kernelName, 'native');
      tf.registerKernel(k);
    }
  }
  return counts;
}

/** The tfjs compositions the fused Llama ops replace, differentiated by tfjs itself (no custom gradients). */
const reference = {
  rmsNorm: (x: tf.Tensor, g: tf.Tensor, eps: number) => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), g),
  swiglu: (g: tf.Tensor, u: tf.Tensor) => tf.mul(tf.mul(g, tf.sigmoid(g)), u),
  rope: (x: tf.Tensor, c: tf.Tensor, s: tf.Tensor) => {
    const half = x.shape[3]! / 2;
    const [x1, x2] = tf.split(x, [half, half], 3);
    return tf.add(tf.mul(x, c), tf.mul(tf.concat([tf.neg(x2), x1], 3), s));
  },
};
/** On cpu the reference composition, on native the op under test (its fused kernels). */
const cpuRef = <F extends (...a: never[]) => tf.Tensor>(ref: F, op: F): F => ((...a: Parameters<F>) => (tf.getBackend() === 'cpu' ? ref(...a) : op(...a))) as F;
/** All gradients of Σ f(xs) · w as one flat tensor. */
const flatGrads = (f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], w: tf.Tensor) =>
  tf.tidy(() => tf.concat(tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), w)))(xs).map((g) => tf.reshape(g, [-1]))));

describe('backend/native-kernels (native backend vs tfjs-backend-cpu)', function () {
  this.timeout(300_000);
  let addon: NativeAddon;
  const isas: string[] = [];
  before(async function () {
    const r = loadNativeAddon();
    if (!r.ok) throw new Error(`the native addon is not available (${r.why}); it is built by \`npm ci\` (scripts/build-native.mjs)`);
    addon = r.addon;
    await initBackend('native', { quiet: true });
    isas.push(...addon.info().isas.split(','));
  });
  after(async () => {
    addon?.setIsa(isas[0]);
    addon?.setUseBlas(true);
    await useBackend();
  });

  const matmulCases: [number[], number[], boolean, boolean][] = [
    [[1, 1], [1, 1], false, false],
    [[7, 1], [1, 5], false, false], // K = 1
    [[1, 300], [300, 77], false, false], // M = 1 (decoding)
    [[130, 257], [257, 77], false, false],
    [[257, 130], [257, 77], true, false],
    [[130, 257], [77, 257], false, true],
    [[257, 130], [77, 257], true, true],
    [[300, 200], [200, 1000], false, false],
    [[8, 33, 17], [8, 17, 29], false, false],
    [[2, 3, 40, 16], [2, 3, 40, 16], false, true], // q·kᵀ
    [[2, 3, 40, 40], [2, 3, 40, 16], true, false], // pᵀ·dy
    [[5, 31, 37], [1, 37, 41], false, false], // b broadcast over the batch
    [[4, 37, 64], [37, 70], true, false], // rank-2 b
    [[3, 0, 5], [3, 5, 4], false, false], // empty
  ];

  it('MatMul / BatchMatMul: every transpose mode, batch broadcasting and odd sizes, on every ISA, with and without BLAS', async () => {
    for (const isa of isas) {
      expect(addon.setIsa(isa)).to.equal(true);
      for (const blas of [true, false]) {
        addon.setUseBlas(blas);
        for (const [as, bs, tA, tB] of matmulCases) {
          await same(`${isa} blas=${blas} [${as}]${tA ? 'ᵀ' : ''}·[${bs}]${tB ? 'ᵀ' : ''}`, () => [rand(as), rand(bs)], (a, b) => tf.matMul(a, b, tA, tB), 1e-5, 1e-4);
        }
      }
    }
  });

  it('BatchMatMul broadcasting both batches equals the product of tiled inputs (the cpu kernel gets this case wrong)', async () => {
    await same('both broadcast', () => [rand([2, 1, 31, 37]), rand([1, 4, 37, 41])], (a, b) =>
      tf.getBackend() === 'native' ? tf.matMul(a, b) : tf.matMul(tf.tile(a, [1, 4, 1, 1]), tf.tile(b, [2, 1, 1, 1])), 1e-5, 1e-4);
  });

  it('_FusedMatMul with a bias and each fused activation', async () => {
    for (const activation of ['linear', 'relu', 'sigmoid', 'elu'] as const) {
      await same(`fused ${activation}`, () => [rand([37, 64]), rand([64, 50]), rand([50])], (a, b, bias) =>
        tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias, activation }), 1e-5, 1e-4);
    }
    await same('fused, transposed, batched', () => [rand([3, 64, 37]), rand([3, 50, 64]), rand([1, 50])], (a, b, bias) =>
      tf.fused.matMul({ a: a as tf.Tensor3D, b: b as tf.Tensor3D, bias, transposeA: true, transposeB: true, activation: 'relu' }), 1e-5, 1e-4);
  });

  it('binary ops with broadcasting (and the threaded path on large inputs)', async () => {
    const shapes: [number[], number[]][] = [
      [[3, 4, 5], [5]], [[3, 1, 5], [1, 4, 1]], [[37, 1], [37, 130]], [[], [6, 7]], [[6, 7], []],
      [[300, 517], [300, 517]], [[2, 1, 3, 1, 5], [4, 1, 6, 1]], [[600, 384], [384]], [[600, 384], [600, 1]],
    ];
    const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
      ['add', tf.add], ['sub', tf.sub], ['mul', tf.mul], ['div', tf.div], ['maximum', tf.maximum],
      ['minimum', tf.minimum], ['squaredDifference', tf.squaredDifference],
    ];
    for (const isa of isas) {
      addon.setIsa(isa);
      for (const [name, op] of ops) for (const [sa, sb] of shapes) await same(`${isa} ${name} [${sa}] [${sb}]`, () => [rand(sa), rand(sb, 2)], op);
      await same(`${isa} pow`, () => [tf.abs(rand([50, 9])), rand([9])], tf.pow, 1e-5, 1e-5);
    }
  });

  it('unary ops across their range, NaN and ±Inf included', async () => {
    const special = [0, -0, 1e-8, -1e-8, 1e-3, 20, -20, 88, -88, 100, -100, Infinity, -Infinity, NaN];
    const input = () => [tf.concat([tf.tensor(special), rand([70000], 30)])];
    const ops: [string, (x: tf.Tensor) => tf.Tensor, number, number][] = [
      ['exp', tf.exp, 1e-30, 2e-6], ['sigmoid', tf.sigmoid, 1e-7, 2e-6], ['tanh', tf.tanh, 1e-7, 2e-6],
      ['neg', tf.neg, 0, 0], ['square', tf.square, 0, 1e-7], ['relu', tf.relu, 0, 0], ['abs', tf.abs, 0, 0],
      ['elu', tf.elu, 1e-7, 2e-6], ['softplus', tf.softplus, 1e-7, 2e-6],
    ];
    const positive = () => [tf.abs(input()[0])];
    const posOps: [string, (x: tf.Tensor) => tf.Tensor, number, number][] = [
      ['log', tf.log, 1e-7, 1e-6], ['sqrt', tf.sqrt, 0, 1e-7], ['rsqrt', tf.rsqrt, 0, 1e-6], ['reciprocal', tf.reciprocal, 0, 1e-7], ['log1p', tf.log1p, 1e-7, 1e-6],
    ];
    for (const isa of isas) {
      addon.setIsa(isa);
      for (const [n, op, abs, rel] of ops) await same(`${isa} ${n}`, input, op, abs, rel);
      for (const [n, op, abs, rel] of posOps) await same(`${isa} ${n}`, positive, op, abs, rel);
    }
  });

  it('sum, mean, max, min over any axes, keepDims, NaN', async () => {
    const axesCases: (number | number[] | null)[] = [null, -1, 0, 1, [0, 2], [1, 2]];
    for (const isa of isas) {
      addon.setIsa(isa);
      for (const axis of axesCases) {
        for (const keepDims of [false, true]) {
          const ax = axis ?? undefined;
          await same(`${isa} sum ${axis} ${keepDims}`, () => [rand([13, 17, 300])], (x) => tf.sum(x, ax, keepDims), 3e-4, 1e-4); // float32 sums of up to 3,900 terms (cpu sums in float64)
          await same(`${isa} mean ${axis}`, () => [rand([13, 17, 300])], (x) => tf.mean(x, ax, keepDims), 1e-6, 1e-4);
          await same(`${isa} max ${axis}`, () => [rand([13, 17, 300])], (x) => tf.max(x, ax, keepDims), 0, 0);
          await same(`${isa} min ${axis}`, () => [rand([13, 17, 300])], (x) => tf.min(x, ax, keepDims), 0, 0);
        }
      }
      await same(`${isa} max with NaN`, () => [tf.tensor([[1, NaN, 3], [4, 5, 6]])], (x) => tf.max(x, -1), 0, 0);
      await same(`${isa} logSumExp`, () => [rand([40, 1000], 20)], (x) => tf.logSumExp(x, -1), 1e-6, 1e-6);
    }
  });

  it('softmax, with masked (-1e9) entries and odd row lengths', async () => {
    for (const isa of isas) {
      addon.setIsa(isa);
      for (const shape of [[5, 7, 300], [3, 1], [2, 3, 17, 17], [64, 8192]]) {
        await same(`${isa} softmax [${shape}]`, () => [tf.add(rand(shape, 10), tf.mul(tf.cast(tf.greater(rand(shape), 0.5), 'float32'), -1e9))], (x) => tf.softmax(x), 1e-8, 2e-6);
      }
    }
  });

  it('transpose, slice and split of any rank', async () => {
    await same('transpose 2-D', () => [rand([517, 301])], (x) => tf.transpose(x));
    await same('transpose [0,2,1,3]', () => [rand([3, 37, 5, 16])], (x) => tf.transpose(x, [0, 2, 1, 3]));
    await same('transpose [3,1,0,2]', () => [rand([3, 7, 5, 11])], (x) => tf.transpose(x, [3, 1, 0, 2]));
    await same('transpose 5-D', () => [rand([2, 3, 4, 5, 6])], (x) => tf.transpose(x, [4, 0, 3, 1, 2]));
    await same('slice inner', () => [rand([7, 9, 11])], (x) => tf.slice(x, [1, 2, 3], [5, -1, 4]));
    await same('slice row', () => [rand([7, 9])], (x) => tf.slice(x, [3, 0], [1, 9]));
    await same('split', () => [rand([4, 10, 96])], (x) => tf.concat(tf.split(x, 3, 2), 0));
    await same('concat inner axis', () => [rand([4, 10, 5]), rand([4, 10, 7])], (a, b) => tf.concat([a, b], 2));
    await same('concat middle axis', () => [rand([4, 3, 5]), rand([4, 1, 5]), rand([4, 2, 5])], (a, b, c) => tf.concat([a, b, c], 1));
  });

  it('the comparison knows when our kernel ran: cumsum (none of ours) counts no call, exp one', async () => {
    const x = tf.tensor1d([1, 2, 3]);
    const before = nativeKernelCalls();
    tf.cumsum(x).dispose();
    expect(nativeKernelCalls() - before).to.equal(0);
    tf.exp(x).dispose();
    expect(nativeKernelCalls() - before).to.equal(1);
    x.dispose();
  });

  it('oneHot and casts to float32', async () => {
    const ids = () => [tf.tensor1d([0, 3, 9, 3, -1, 12], 'int32')];
    await same('oneHot int32', ids, (i) => tf.oneHot(i, 10));
    await same('oneHot float32', ids, (i) => tf.oneHot(i, 10, 2, -1, 'float32'));
    await same('gatherND rows', () => [rand([6, 9]), tf.tensor2d([[0, 1], [5, 8], [2, 2]], undefined, 'int32')], (x, i) => tf.gatherND(x, i));
    await same('gatherND slices', () => [rand([6, 4, 3]), tf.tensor2d([[5], [0], [5]], undefined, 'int32')], (x, i) => tf.gatherND(x, i));
    await same('cast int32', ids, (i) => tf.cast(i, 'float32'));
    await same('cast bool', () => [tf.tensor1d([true, false, true], 'bool')], (b) => tf.cast(b, 'float32'));
  });

  it('gather (embeddings) and scatter/segment sums (their gradients), duplicate indices included', async () => {
    const ids = () => tf.tensor1d([0, 5, 5, 99, 3, 0, 42], 'int32');
    await same('gather axis 0', () => [rand([100, 33]), ids()], (x, i) => tf.gather(x, i));
    await same('gather axis 1', () => [rand([4, 100, 3]), ids()], (x, i) => tf.gather(x, i, 1));
    await same('gather 2-D ids', () => [rand([100, 8]), tf.tensor2d([[1, 2], [3, 99]], undefined, 'int32')], (x, i) => tf.gather(x, i));
    await same('scatterND rows', () => [tf.reshape(ids(), [-1, 1]), rand([7, 33])], (i, u) => tf.scatterND(i, u, [100, 33]));
    await same('unsortedSegmentSum', () => [rand([7, 33]), ids()], (x, i) => tf.unsortedSegmentSum(x, i as tf.Tensor1D, 100));
    await same('gather gradient', () => [rand([100, 33]), ids()], (x, i) => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, i), tf.range(0, 33))))(x));
    await tf.setBackend('native');
    const x = tf.ones([10, 4]);
    const bad = tf.tensor1d([1, 10], 'int32');
    expect(() => tf.gather(x, bad)).to.throw(/index 10 at position 1 is outside \[0, 10\)/);
    tf.dispose([x, bad]);
  });

  it('decoding attention over an in-place KV cache equals split + concat + softmax attention, on every ISA', async () => {
    // [B, T, H, hd, past, cap, bias batch (0: no bias)]
    const cases = [[3, 1, 2, 16, 5, 9, 3], [2, 4, 3, 64, 0, 4, 1], [1, 2, 1, 7, 3, 6, 0], [2, 1, 12, 64, 70, 80, 2]];
    for (const isa of isas) {
      expect(addon.setIsa(isa)).to.equal(true);
      for (const [B, T, H, hd, past, cap, biasB] of cases) {
        const C = H * hd;
        const Tk = past + T;
        const qkv = rand([B * T, 3 * C]);
        const kPast = rand([B, H, past, hd]);
        const vPast = rand([B, H, past, hd]);
        // A causal mask with some keys removed, as left padding does: 0 or -1e9.
        const bias = biasB ? tf.tensor4d(Array.from({ length: biasB * T * Tk }, (_, i) => ((i % Tk) > past + Math.floor(i / Tk) % T || (i * 7) % 5 === 0 ? -1e9 : 0)), [biasB, 1, T, Tk]) : null;
        const inputs = [qkv, kPast, vPast, ...(bias ? [bias] : [])].map((t) => ({ v: t.dataSync().slice(), s: t.shape }));
        tf.dispose([qkv, kPast, vPast, ...(bias ? [bias] : [])]);
        // Reference on the cpu backend: the composition lm/model.ts runs on other backends.
        await tf.setBackend('cpu');
        const [q0, kp0, vp0, b0] = inputs.map((x) => tf.tensor(x.v, x.s));
        const want = tf.tidy(() => {
          const [q, k, v] = tf.split(tf.reshape(q0, [B, T, 3 * C]), 3, 2).map((t) => tf.transpose(tf.reshape(t, [B, T, H, hd]), [0, 2, 1, 3]));
          const kAll = tf.concat([kp0, k], 2);
          const vAll = tf.concat([vp0, v], 2);
          const s = tf.mul(tf.matMul(q, kAll, false, true), 0.3);
          const p = tf.softmax(b0 ? tf.add(s, b0) : s);
          return [tf.reshape(tf.transpose(tf.matMul(p, vAll), [0, 2, 1, 3]), [B * T, C]), kAll, vAll].map((t) => t.dataSync().slice());
        });
        tf.dispose([q0, kp0, vp0, ...(b0 ? [b0] : [])]);
        await tf.setBackend('native');
        const [q1, kp1, vp1, b1] = inputs.map((x) => tf.tensor(x.v, x.s));
        // Caches of capacity `cap` with the past positions filled and a sentinel after past + T; keys transposed.
        const pad = (t: tf.Tensor) => tf.concat([t, tf.zeros([B, H, T, hd]), tf.fill([B, H, cap - Tk, hd], 77)], 2);
        const [kc, vc] = [tf.transpose(pad(kp1), [0, 1, 3, 2]), pad(vp1)];
        const y = tf.engine().runKernel('RlhfCachedAttn', { qkv: q1, kCache: kc, vCache: vc, ...(b1 ? { bias: b1 } : {}) }, { past, scale: 0.3 }) as tf.Tensor;
        const name = `${isa} B${B} T${T} H${H} hd${hd} past ${past} cap ${cap} biasB ${biasB}`;
        expect(y.shape, name).to.deep.equal([B * T, C]);
        expect(closeness(y.dataSync(), want[0], 1e-5, 1e-4), name).to.be.at.most(1);
        const kRows = tf.transpose(kc, [0, 1, 3, 2]);
        for (const [cache, all] of [[kRows, want[1]], [vc, want[2]]] as const) {
          expect(closeness(tf.slice(cache, [0, 0, 0, 0], [B, H, Tk, hd]).dataSync(), all, 0, 0), `${name}: cache rows`).to.be.at.most(1);
          if (cap > Tk) expect(Array.from(new Set(tf.slice(cache, [0, 0, Tk, 0], [B, H, cap - Tk, hd]).dataSync())), `${name}: rows after`).to.deep.equal([77]);
        }
        tf.dispose([q1, kp1, vp1, ...(b1 ? [b1] : []), kc, vc, kRows, y]);
      }
    }
  });

  it('RMSNorm (RlhfRmsNorm, RlhfRmsNormGrad): forward and the gradients of x and g, or of x alone under a frozen gain, odd sizes and eps, on every ISA', async () => {
    // [N, C, eps]: one element, rows of head_dim (Qwen3's q/k norm), odd widths, a large eps, a threaded size
    const cases: [number, number, number][] = [[1, 1, 1e-6], [7, 33, 1e-5], [96, 16, 1e-6], [37, 300, 0.5], [700, 128, 1e-6]];
    const rms = cpuRef(reference.rmsNorm, (x, g, eps) => rmsNorm(x as tf.Tensor2D, g as tf.Tensor1D, eps));
    const counts = await fusedCalls(['RlhfRmsNorm', 'RlhfRmsNormGrad'], async () => {
      for (const isa of isas) {
        expect(addon.setIsa(isa)).to.equal(true);
        for (const [N, C, eps] of cases) {
          const name = `${isa} rmsNorm [${N}, ${C}] eps ${eps}`;
          await same(`${name} forward`, () => [rand([N, C], 3), rand([C], 2)], (x, g) => rms(x, g, eps), 1e-6, 2e-5);
          await same(`${name} dx, dg`, () => [rand([N, C], 3), rand([C], 2), rand([N, C])], (x, g, w) => flatGrads((a, b) => rms(a, b, eps), [x, g], w), 1e-5, 1e-4);
          await same(`${name} frozen gain: dx`, () => [rand([N, C], 3), rand([C], 2), rand([N, C])], (x, g, w) => {
            const frozen = tf.variable(g, false);
            try {
              return flatGrads((a) => rms(a, frozen, eps), [x], w);
            } finally {
              frozen.dispose();
            }
          }, 1e-5, 1e-4);
        }
      }
    });
    expect(counts.get('RlhfRmsNorm')).to.equal(3 * cases.length * isas.length);
    expect(counts.get('RlhfRmsNormGrad')).to.equal(2 * cases.length * isas.length);
  });

  it('SwiGLU (RlhfSwiglu, RlhfSwigluGrad): forward and both gradients over a wide range of gates, odd sizes, on every ISA', async () => {
    const shapes = [[1, 1], [7, 33], [64, 344], [300, 517]];
    const f = cpuRef(reference.swiglu, swiglu);
    const counts = await fusedCalls(['RlhfSwiglu', 'RlhfSwigluGrad'], async () => {
      for (const isa of isas) {
        expect(addon.setIsa(isa)).to.equal(true);
        for (const shape of shapes) {
          await same(`${isa} swiglu [${shape}] forward`, () => [rand(shape, 12), rand(shape, 2)], f, 1e-6, 1e-5);
          await same(`${isa} swiglu [${shape}] dgate, dup`, () => [rand(shape, 12), rand(shape, 2), rand(shape)], (g, u, w) => flatGrads(f, [g, u], w), 1e-6, 1e-5);
        }
      }
    });
    expect(counts.get('RlhfSwiglu')).to.equal(2 * shapes.length * isas.length);
    expect(counts.get('RlhfSwigluGrad')).to.equal(shapes.length * isas.length);
  });

  it('RoPE (RlhfRope and its inverse): forward and the gradient of x, tables per row or shared, from positions or arbitrary, on every ISA', async () => {
    // [B, T, H, d, table batch (1 or B), tables from positions (halves repeat) or random]
    const cases: [number, number, number, number, number, boolean][] = [
      [1, 1, 1, 2, 1, true], [2, 5, 3, 16, 2, true], [3, 7, 4, 34, 1, true], [2, 33, 2, 64, 2, true], [2, 9, 3, 10, 2, false], [1, 4, 5, 6, 1, false],
    ];
    const rope = cpuRef(reference.rope, (x, c, s) => applyRope(x as tf.Tensor4D, c as tf.Tensor4D, s as tf.Tensor4D));
    const counts = await fusedCalls(['RlhfRope'], async () => {
      for (const isa of isas) {
        expect(addon.setIsa(isa)).to.equal(true);
        for (const [B, T, H, d, Bc, fromPositions] of cases) {
          const tables = () => {
            if (!fromPositions) return [rand([Bc, T, 1, d]), rand([Bc, T, 1, d])];
            const pos = tf.tensor2d(Array.from({ length: Bc * T }, (_, i) => (i % T) + 3 * Math.floor(i / T)), [Bc, T], 'int32');
            const t = ropeTables(pos, inverseFrequencies(d, 10000, null));
            pos.dispose();
            return t;
          };
          const name = `${isa} rope [${B}, ${T}, ${H}, ${d}] tables [${Bc}, ${T}, 1, ${d}]${fromPositions ? '' : ' random'}`;
          await same(`${name} forward`, () => [rand([B, T, H, d], 2), ...tables()], rope, 1e-6, 1e-5);
          await same(`${name} dx`, () => [rand([B, T, H, d], 2), ...tables(), rand([B, T, H, d])], (x, c, s, w) => flatGrads((a) => rope(a, c, s), [x], w), 1e-6, 1e-5);
        }
      }
    });
    expect(counts.get('RlhfRope')).to.equal(3 * cases.length * isas.length); // forward twice, the backward once per case
  });

  it('the Llama ops\' own compositions (other backends) have the gradients tfjs derives itself', async () => {
    await tf.setBackend('cpu');
    const pairs: [string, () => tf.Tensor[], (...x: tf.Tensor[]) => tf.Tensor, (...x: tf.Tensor[]) => tf.Tensor][] = [
      ['rmsNorm', () => [rand([9, 24], 3), rand([24], 2), rand([9, 24])], (x, g, w) => flatGrads((a, b) => rmsNorm(a as tf.Tensor2D, b as tf.Tensor1D, 1e-5), [x, g], w),
        (x, g, w) => flatGrads((a, b) => reference.rmsNorm(a, b, 1e-5), [x, g], w)],
      ['swiglu', () => [rand([9, 24], 8), rand([9, 24]), rand([9, 24])], (g, u, w) => flatGrads(swiglu, [g, u], w), (g, u, w) => flatGrads(reference.swiglu, [g, u], w)],
      ['rope', () => [rand([2, 3, 4, 8]), rand([2, 3, 1, 8]), rand([2, 3, 1, 8]), rand([2, 3, 4, 8])],
        (x, c, s, w) => flatGrads((a) => applyRope(a as tf.Tensor4D, c as tf.Tensor4D, s as tf.Tensor4D), [x], w), (x, c, s, w) => flatGrads((a) => reference.rope(a, c, s), [x], w)],
    ];
    for (const [name, inputs, ours, theirs] of pairs) {
      const xs = inputs();
      const [a, b] = [ours(...xs), theirs(...xs)];
      expect(closeness(a.dataSync(), b.dataSync(), 1e-6, 1e-5), name).to.be.at.most(1);
      tf.dispose([...xs, a, b]);
    }
    const frozen = tf.variable(rand([24]), false);
    const x = rand([5, 24]);
    const [dxOurs, dxRef] = [flatGrads((a) => rmsNorm(a as tf.Tensor2D, frozen as tf.Tensor as tf.Tensor1D, 1e-6), [x], frozen), flatGrads((a) => reference.rmsNorm(a, frozen, 1e-6), [x], frozen)];
    expect(closeness(dxOurs.dataSync(), dxRef.dataSync(), 1e-6, 1e-5), 'rmsNorm, frozen gain').to.be.at.most(1);
    tf.dispose([frozen, x, dxOurs, dxRef]);
  });

  it('grouped-query decoding attention over an in-place KV cache of the KV heads (RlhfCachedAttnGqa) equals repeat_kv + concat + softmax attention, on every ISA', async () => {
    // [B, T, H, Hkv, hd, past, cap, bias batch (0: no bias)]: groups of 1, 2, 3 and 8 query heads, prefill and decoding
    const cases = [[3, 1, 4, 2, 16, 5, 9, 3], [2, 4, 6, 2, 64, 0, 4, 1], [1, 2, 3, 3, 7, 3, 6, 0], [2, 1, 8, 1, 32, 70, 80, 2], [2, 5, 12, 4, 64, 60, 70, 1]];
    for (const isa of isas) {
      expect(addon.setIsa(isa)).to.equal(true);
      for (const [B, T, H, Hkv, hd, past, cap, biasB] of cases) {
        const [G, Tk] = [H / Hkv, past + T];
        const srcs = [rand([B * T, H * hd]), rand([B * T, Hkv * hd]), rand([B * T, Hkv * hd]), rand([B, Hkv, past, hd]), rand([B, Hkv, past, hd])];
        // A causal mask with some keys removed, as left padding does: 0 or -1e9.
        if (biasB) srcs.push(tf.tensor4d(Array.from({ length: biasB * T * Tk }, (_, i) => ((i % Tk) > past + Math.floor(i / Tk) % T || (i * 7) % 5 === 0 ? -1e9 : 0)), [biasB, 1, T, Tk]));
        const inputs = srcs.map((t) => ({ v: t.dataSync().slice(), s: t.shape }));
        tf.dispose(srcs);
        // Reference on the cpu backend: every KV head repeated for its G query heads (transformers' repeat_kv).
        await tf.setBackend('cpu');
        const ref = inputs.map((x) => tf.tensor(x.v, x.s));
        const want = tf.tidy(() => {
          const [q0, k0, v0, kp, vp, b0] = ref;
          const heads = (t: tf.Tensor, n: number) => tf.transpose(tf.reshape(t, [B, T, n, hd]), [0, 2, 1, 3]);
          const kAll = tf.concat([kp, heads(k0, Hkv)], 2);
          const vAll = tf.concat([vp, heads(v0, Hkv)], 2);
          const rep = (t: tf.Tensor) => tf.reshape(tf.tile(tf.reshape(t, [B, Hkv, 1, Tk, hd]), [1, 1, G, 1, 1]), [B, H, Tk, hd]);
          const sc = tf.mul(tf.matMul(heads(q0, H), rep(kAll), false, true), 0.3);
          const p = tf.softmax(b0 ? tf.add(sc, b0) : sc);
          return [tf.reshape(tf.transpose(tf.matMul(p, rep(vAll)), [0, 2, 1, 3]), [B * T, H * hd]), kAll, vAll].map((t) => t.dataSync().slice());
        });
        tf.dispose(ref);
        await tf.setBackend('native');
        const [q1, k1, v1, kp1, vp1, b1] = inputs.map((x) => tf.tensor(x.v, x.s));
        // Caches of capacity `cap` with the past positions filled and a sentinel after past + T; keys transposed.
        const pad = (t: tf.Tensor) => tf.concat([t, tf.zeros([B, Hkv, T, hd]), tf.fill([B, Hkv, cap - Tk, hd], 77)], 2);
        const [kc, vc] = [tf.transpose(pad(kp1), [0, 1, 3, 2]), pad(vp1)];
        const y = tf.engine().runKernel('RlhfCachedAttnGqa', { q: q1, k: k1, v: v1, kCache: kc, vCache: vc, ...(b1 ? { bias: b1 } : {}) }, { past, scale: 0.3 }) as tf.Tensor;
        const name = `${isa} B${B} T${T} H${H} Hkv${Hkv} hd${hd} past ${past} cap ${cap} biasB ${biasB}`;
        expect(y.shape, name).to.deep.equal([B * T, H * hd]);
        expect(closeness(y.dataSync(), want[0], 1e-5, 1e-4), name).to.be.at.most(1);
        const kRows = tf.transpose(kc, [0, 1, 3, 2]);
        for (const [cache, all] of [[kRows, want[1]], [vc, want[2]]] as const) {
          expect(closeness(tf.slice(cache, [0, 0, 0, 0], [B, Hkv, Tk, hd]).dataSync(), all, 0, 0), `${name}: cache rows`).to.be.at.most(1);
          if (cap > Tk) expect(Array.from(new Set(tf.slice(cache, [0, 0, Tk, 0], [B, Hkv, cap - Tk, hd]).dataSync())), `${name}: rows after`).to.deep.equal([77]);
        }
        tf.dispose([q1, k1, v1, kp1, vp1, ...(b1 ? [b1] : []), kc, vc, kRows, y]);
      }
    }
  });

  it('rejects malformed calls with an error instead of touching memory', () => {
    const a = new Float32Array(4);
    expect(() => addon.matmul(a, a, a, 1, 3, 3, 3, false, false, [0], [0])).to.throw(/matmul a: has 4 elements, needs 9/);
    expect(() => addon.softmax(a, new Float32Array(2), 2, 2)).to.throw(/softmax out/);
    expect(() => addon.copy(a, a, [2, 2], [2, 1], 1)).to.throw(/copy x/);
    expect(() => addon.binary(0, a, [1], a as never, [1], a, [5])).to.throw(/binary a/);
    expect(() => addon.gather(a, new Int32Array([0]), a, 1, 4, 1)).not.to.throw();
    expect(() => (addon.unary as (...x: unknown[]) => void)(0, [1, 2], a)).to.throw(/Float32Array/);
    const big = addon.allocBuffer(4 << 20);
    new Float32Array(big).fill(1);
    expect(addon.releaseBuffer(new ArrayBuffer(8))).to.equal(false); // not one of ours
    expect(addon.releaseBuffer(big)).to.equal(true);
    expect(big.byteLength).to.equal(0); // detached: views read as empty, never the unmapped memory
    expect(addon.releaseBuffer(big)).to.equal(false);
    const c = new Float32Array(1 * 1 * 4 * 2);
    expect(() => addon.cachedAttn(new Float32Array(6), c, c, null, new Float32Array(2), 1, 1, 1, 2, 4, 4, 1, 1)).to.throw(/exceeds the cache/);
    expect(() => addon.cachedAttn(new Float32Array(6), c, new Float32Array(3), null, new Float32Array(2), 1, 1, 1, 2, 1, 4, 1, 1)).to.throw(/vCache: has 3 elements/);
    const f = (n: number) => new Float32Array(n);
    expect(() => addon.cachedAttnGqa(f(4), f(2), f(2), c, c, null, f(4), 1, 1, 2, 1, 2, 4, 4, 1, 1)).to.throw(/exceeds the cache/);
    expect(() => addon.cachedAttnGqa(f(6), f(2), f(2), c, c, null, f(6), 1, 1, 3, 2, 2, 1, 4, 1, 1)).to.throw(/multiple of Hkv/);
    expect(() => addon.cachedAttnGqa(f(4), f(2), f(1), c, c, null, f(4), 1, 1, 2, 1, 2, 1, 4, 1, 1)).to.throw(/v: has 1 elements/);
    expect(() => addon.rope(f(6), f(3), f(3), f(6), 2, 1, 1, 3, false)).to.throw(/d must be even/);
    expect(() => addon.rope(f(12), f(4), f(4), f(12), 3, 2, 1, 4, false)).to.throw(/multiple of cosRows/);
    expect(() => addon.rmsNormGrad(f(6), f(6), f(2), f(3), f(6), f(2), 2, 3)).to.throw(/dg: has 2 elements/);
    expect(() => addon.swigluGrad(f(5), f(5), f(5), f(4), f(5))).to.throw(/dgate: has 4 elements/);
  });
});
