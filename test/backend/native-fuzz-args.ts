// The native addon's bindings described argument by argument (a small valid call each), and the arrays
// they get: every typed array sits between guard bytes, so a write outside it shows even without a crash.
// native-fuzz-cases.ts turns these into hostile calls; native-fuzz-child.ts runs them.

/** One argument of a binding, with its label in native/src (the name an error must mention). */
export type Arg =
  /** A size that must fit the arrays (or an enum): 2^31 and up throw with the valid call's arrays. */
  | { k: 'size'; name: string; v: number }
  /** An integer that need not fit an array (a layout parameter): only non-integers must throw. */
  | { k: 'count'; name: string; v: number }
  | { k: 'num'; name: string; v: number }
  | { k: 'flag'; name: string; v: boolean }
  | { k: 'str'; name: string; v: () => string }
  /** A typed array of n elements; `short`: one element fewer throws; `nullable`: null means none. */
  | { k: 'f32' | 'f64'; name: string; n: number; short?: boolean; nullable?: boolean }
  /** Int32 values; `below`: they are indices, and one outside [0, below) throws. */
  | { k: 'i32'; name: string; values: number[]; short?: boolean; below?: number }
  | { k: 'list'; name: string; v: number[]; role: 'offsets' | 'shape' | 'strides' }
  /** An ArrayBuffer made by allocBuffer. */
  | { k: 'buffer'; name: string };

export interface Binding {
  name: string;
  args: Arg[];
  /** Puts process-wide settings back after each call (threads, instruction set, BLAS). */
  restore?: () => void;
}

type Fn = (...args: unknown[]) => unknown;
export type Addon = Record<string, Fn>;

export type Kind = 'f32' | 'f64' | 'i32';
const GUARD = 64;  // bytes each side of every array
const MARK = 0xa5;

/** Typed arrays of one call, each with guard bytes either side, checked after the call. */
export class Guards {
  private all: Uint8Array[] = [];
  make(kind: 'f32', n: number): Float32Array;
  make(kind: 'f64', n: number): Float64Array;
  make(kind: 'i32', n: number): Int32Array;
  make(kind: Kind, n: number): Float32Array | Float64Array | Int32Array;
  make(kind: Kind, n: number): Float32Array | Float64Array | Int32Array {
    const Ctor = kind === 'f32' ? Float32Array : kind === 'f64' ? Float64Array : Int32Array;
    const bytes = n * Ctor.BYTES_PER_ELEMENT;
    const buf = new ArrayBuffer(bytes + 2 * GUARD);
    const whole = new Uint8Array(buf);
    whole.fill(MARK, 0, GUARD);
    whole.fill(MARK, GUARD + bytes);
    this.all.push(whole);
    return new Ctor(buf, GUARD, n);
  }
  /** Whether every guard byte is intact (a detached array has none left to check). */
  intact(): boolean {
    return this.all.every((w) => {
      if (w.byteLength === 0) return true;
      for (let i = 0; i < GUARD; i++) if (w[i] !== MARK || w[w.length - 1 - i] !== MARK) return false;
      return true;
    });
  }
}

/** The valid value of one argument (fresh arrays, filled with small deterministic numbers). */
export function value(arg: Arg, g: Guards, addon: Addon): unknown {
  switch (arg.k) {
    case 'size':
    case 'count':
    case 'num':
    case 'flag':
      return arg.v;
    case 'str':
      return arg.v();
    case 'list':
      return arg.v.slice();
    case 'buffer':
      return addon.allocBuffer(256);
    case 'i32': {
      const a = g.make('i32', arg.values.length);
      a.set(arg.values);
      return a;
    }
    default: {
      const a = g.make(arg.k, arg.n);
      for (let i = 0; i < a.length; i++) a[i] = ((i * 7) % 11) / 11 - 0.4;
      return a;
    }
  }
}

export function bindings(addon: Addon): Binding[] {
  const f32 = (name: string, n: number, more: { short?: boolean; nullable?: boolean } = { short: true }): Arg => ({ k: 'f32', name, n, ...more });
  const f64 = (name: string, n: number): Arg => ({ k: 'f64', name, n, short: true });
  const size = (name: string, v: number): Arg => ({ k: 'size', name, v });
  const num = (name: string, v: number): Arg => ({ k: 'num', name, v });
  const info = addon.info() as { isa: string; blas: string | null; threads: number };
  return [
    { name: 'matmul', args: [f32('matmul a', 4), f32('matmul b', 4), f32('matmul out', 4), size('batch', 1), size('M', 2), size('N', 2), size('K', 2),
      { k: 'flag', name: 'transA', v: false }, { k: 'flag', name: 'transB', v: true },
      { k: 'list', name: 'aOffsets', v: [0], role: 'offsets' }, { k: 'list', name: 'bOffsets', v: [0], role: 'offsets' }] },
    { name: 'biasActivation', args: [f32('y', 6), f32('bias', 3, { short: true, nullable: true }), size('rows', 2), size('cols', 3), size('activation', 1)] },
    { name: 'binary', args: [size('op', 0), f32('binary a', 6), { k: 'list', name: 'aStrides', v: [3, 1], role: 'strides' }, f32('binary b', 3),
      { k: 'list', name: 'bStrides', v: [0, 1], role: 'strides' }, f32('binary out', 6), { k: 'list', name: 'outShape', v: [2, 3], role: 'shape' }] },
    { name: 'unary', args: [size('op', 3), f32('unary x', 5, {}), f32('unary out', 5), num('alpha', 0.5)] },
    { name: 'reduce', args: [size('op', 2), f32('reduce x', 6), f32('reduce out', 2), size('outer', 2), size('inner', 3)] },
    { name: 'softmax', args: [f32('softmax x', 6), f32('softmax out', 6), size('rows', 2), size('cols', 3)] },
    { name: 'copy', args: [f32('copy x', 6), f32('copy out', 6), { k: 'list', name: 'outShape', v: [3, 2], role: 'shape' },
      { k: 'list', name: 'inStrides', v: [1, 3], role: 'strides' }, size('offset', 0)] },
    { name: 'gather', args: [f32('gather x', 12), { k: 'i32', name: 'gather ids', values: [0, 2, 1], below: 3 }, f32('gather out', 12),
      size('outer', 2), size('axisDim', 3), size('inner', 2)] },
    { name: 'segmentSum', args: [f32('scatter updates', 6), { k: 'i32', name: 'scatter ids', values: [0, 2, 0], below: 3 }, f32('scatter out', 6),
      size('rows', 3), size('inner', 2)] },
    { name: 'adamw', args: [f32('adamw weights', 5, {}), f32('adamw grads', 5), f32('adamw m', 5), f32('adamw v', 5), num('lr', 1e-3), num('beta1', 0.9),
      num('beta2', 0.999), num('eps', 1e-8), num('decay', 1), num('bc1', 0.1), num('bc2', 0.001), num('clip', 1)] },
    { name: 'sumSquares', args: [f32('sumSquares x', 7, {})] },
    { name: 'layerNorm', args: [f32('x', 6), f32('g', 3), f32('b', 3), f32('y', 6), f32('xhat', 6), f32('rstd', 2), size('N', 2), size('C', 3), num('eps', 1e-5)] },
    { name: 'layerNormGrad', args: [f32('dy', 6), f32('xhat', 6), f32('rstd', 2), f32('g', 3), f32('dx', 6), f32('dg', 3, { short: true, nullable: true }),
      f32('db', 3, { short: true, nullable: true }), size('N', 2), size('C', 3)] },
    { name: 'geluGrad', args: [f32('dy', 5), f32('x', 5, {}), f32('dx', 5)] },
    { name: 'attnProbs', args: [f32('scores', 12), f32('bias', 6, { short: true, nullable: true }), f32('p', 12), size('rows', 4), size('n', 3), num('scale', 0.5),
      { k: 'count', name: 'groupRows', v: 2 }, size('biasGroups', 1), size('tq', 2)] },
    { name: 'attnProbsGrad', args: [f32('dp', 6), f32('p', 6), f32('ds', 6), size('rows', 2), size('n', 3), num('scale', 0.5)] },
    { name: 'cachedAttn', args: [f32('qkv', 12), f32('kCache', 16), f32('vCache', 16), f32('bias', 2, { short: true, nullable: true }), f32('y', 4),
      size('B', 1), size('T', 1), size('H', 2), size('hd', 2), size('past', 1), size('cap', 4), num('scale', 0.7), size('biasB', 1)] },
    { name: 'rmsNorm', args: [f32('x', 6), f32('g', 3), f32('y', 6), f32('rstd', 2), size('N', 2), size('C', 3), num('eps', 1e-6)] },
    { name: 'rmsNormGrad', args: [f32('dy', 6), f32('x', 6), f32('rstd', 2), f32('g', 3), f32('dx', 6), f32('dg', 3, { short: true, nullable: true }), size('N', 2), size('C', 3)] },
    { name: 'swiglu', args: [f32('gate', 5, {}), f32('up', 5), f32('y', 5)] },
    { name: 'swigluGrad', args: [f32('dy', 5), f32('gate', 5, {}), f32('up', 5), f32('dgate', 5), f32('dup', 5)] },
    { name: 'rope', args: [f32('x', 16), f32('cos', 4), f32('sin', 4), f32('y', 16), size('rows', 2), size('cosRows', 1), size('H', 2), size('d', 4), { k: 'flag', name: 'inverse', v: false }] },
    { name: 'cachedAttnGqa', args: [f32('q', 4), f32('k', 2), f32('v', 2), f32('kCache', 8), f32('vCache', 8), f32('bias', 2, { short: true, nullable: true }), f32('y', 4),
      size('B', 1), size('T', 1), size('H', 2), size('Hkv', 1), size('hd', 2), size('past', 1), size('cap', 4), num('scale', 0.7), size('biasB', 1)] },
    { name: 'xent', args: [f32('logits', 6), { k: 'i32', name: 'targets', values: [0, 2], below: 3, short: true }, f32('nll', 2), size('N', 2), size('V', 3)] },
    { name: 'xentGrad', args: [f32('logits', 6), { k: 'i32', name: 'targets', values: [1, 0], below: 3, short: true }, f32('coef', 2), f32('dz', 6), size('N', 2), size('V', 3)] },
    { name: 'sampleRows', args: [f32('logits', 8), size('V', 4), { k: 'i32', name: 'rows', values: [1, 0], below: 2 }, num('T', 1), f64('u', 2),
      { k: 'i32', name: 'token', values: [0, 0], short: true }, f64('logprob', 2)] },
    { name: 'allocBuffer', args: [{ k: 'count', name: 'bytes', v: 1024 }] },
    { name: 'releaseBuffer', args: [{ k: 'buffer', name: 'releaseBuffer' }] },
    { name: 'info', args: [] },
    { name: 'setThreads', args: [size('threads', info.threads)], restore: () => addon.setThreads(info.threads) },
    { name: 'setIsa', args: [{ k: 'str', name: 'setIsa', v: () => info.isa }], restore: () => addon.setIsa(info.isa) },
    { name: 'setUseBlas', args: [{ k: 'flag', name: 'on', v: info.blas !== null }], restore: () => addon.setUseBlas(info.blas !== null) },
  ];
}
