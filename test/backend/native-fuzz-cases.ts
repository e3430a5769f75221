// Hostile calls to every binding of the native addon: each argument of a valid call (native-fuzz-args.ts)
// replaced in turn by values that must throw, calls whose size products overflow 64 bits (they wrapped to
// small numbers and passed the length checks before), and a seeded random mix.
import { Rng } from '../../lm/rng.js';
import { Addon, Arg, Binding, bindings, Guards, value } from './native-fuzz-args.js';

export interface Case {
  name: string;
  binding: string;
  make: (g: Guards) => unknown[];
  /** throws: a TypeError or RangeError (or any Error with anyError); any: returning is fine too. */
  expect: 'throws' | 'returns' | 'any';
  message?: RegExp;
  anyError?: boolean;
  restore?: () => void;
}

/** Not counts: each must throw wherever a size, count, offset, stride or index is expected. */
export const NOT_COUNTS = [-1, -0.5, 1.5, NaN, Infinity, -Infinity, 2 ** 53, 2 ** 64, -(2 ** 31), 2 ** 31 + 0.5];
/** Integers no array of a small valid call can back. */
export const TOO_BIG = [2 ** 31, 2 ** 32, 2 ** 53 - 1];
const NOT_NUMBERS: unknown[] = ['3', null, undefined, {}, [1], 10n, true];
const text = (v: unknown) => (typeof v === 'bigint' ? `${v}n` : typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? `[${v}]` : String(v));
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A Float32Array (or other) whose buffer has been detached (transferred away): length 0. */
function detached<T extends ArrayBufferView>(a: T): T {
  structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });
  return a;
}

interface Swap { label: string; v: (g: Guards, addon: Addon) => unknown; expect: Case['expect']; named?: boolean }

function wrongTypes(arg: Arg & { k: 'f32' | 'f64' | 'i32' }): Swap[] {
  const n = arg.k === 'i32' ? arg.values.length : arg.n;
  const others: [string, () => unknown][] = [
    [arg.k === 'f32' ? 'Float64Array' : 'Float32Array', () => (arg.k === 'f32' ? new Float64Array(n) : new Float32Array(n))],
    [arg.k === 'i32' ? 'Uint32Array' : 'Int32Array', () => (arg.k === 'i32' ? new Uint32Array(n) : new Int32Array(n))],
    ['Uint8Array', () => new Uint8Array(n * 8)], ['DataView', () => new DataView(new ArrayBuffer(n * 8))],
    ['ArrayBuffer', () => new ArrayBuffer(n * 8)], ['array', () => new Array(n).fill(0)], ['array-like', () => ({ length: n })],
    ['number', () => n], ['string', () => 'x'.repeat(n)],
  ];
  if (!('nullable' in arg && arg.nullable)) others.push(['null', () => null], ['undefined', () => undefined]);
  return others.map(([label, v]) => ({ label, v, expect: 'throws', named: true }));
}

/** Replacements for one argument and what each must do. */
function swaps(arg: Arg): Swap[] {
  const out: Swap[] = [];
  const push = (label: string, v: (g: Guards, addon: Addon) => unknown, expect: Case['expect'], named = false) => out.push({ label, v, expect, named });
  switch (arg.k) {
    case 'size':
    case 'count':
      for (const x of NOT_COUNTS) push(text(x), () => x, 'throws', true);
      for (const x of NOT_NUMBERS) push(text(x), () => x, 'throws', true);
      for (const x of TOO_BIG) push(text(x), () => x, arg.k === 'size' ? 'throws' : 'any');
      break;
    case 'num':
      for (const x of NOT_NUMBERS) push(text(x), () => x, 'throws', true);
      for (const x of [NaN, Infinity, -Infinity, -1e300]) push(text(x), () => x, 'any');
      break;
    case 'str':
      for (const x of [42, null, undefined, {}]) push(text(x), () => x, 'throws');
      push('an unknown name', () => 'z'.repeat(100), 'any');
      break;
    case 'flag':
      push('a string', () => 'yes', 'any');
      break;
    case 'buffer':
      for (const x of [null, undefined, 5, {}]) push(text(x), () => x, 'throws');
      push('Float32Array', () => new Float32Array(4), 'throws');
      push('SharedArrayBuffer', () => new SharedArrayBuffer(16), 'any');
      push('an ArrayBuffer not from allocBuffer', () => new ArrayBuffer(64), 'any');
      push('a buffer released already', (_g, addon) => {
        const ab = addon.allocBuffer(64);
        addon.releaseBuffer(ab);
        return ab;
      }, 'any');
      break;
    case 'list': {
      const at = (j: number, x: unknown) => () => arg.v.map((y, i) => (i === j ? x : y));
      for (const x of [...NOT_COUNTS, '1', null, undefined]) push(`element ${text(x)}`, at(0, x), 'throws', true);
      for (const x of [new Float64Array(arg.v), 5, null, 'x', { length: arg.v.length }]) push(`not an array: ${text(x)}`, () => x, 'throws', true);
      for (const x of TOO_BIG) push(`element ${text(x)}`, at(arg.v.length - 1, x), 'throws');
      if (arg.role === 'offsets') {
        push('one entry too many', () => [...arg.v, 0], 'throws');
        push('no entries', () => [], 'throws');
        push('an offset one past the array', () => [1], 'throws');
      } else {
        push('one axis fewer', () => arg.v.slice(1), 'throws');
        push('rank 9', () => new Array(9).fill(1), 'throws');
      }
      break;
    }
    default: {
      out.push(...wrongTypes(arg));
      const n = arg.k === 'i32' ? arg.values.length : arg.n;
      if (arg.short && n > 0) {
        push(`${n - 1} elements`, (g) => g.make(arg.k, n - 1), 'throws', true);
        push('a detached array', () => detached(arg.k === 'f64' ? new Float64Array(n) : arg.k === 'i32' ? new Int32Array(n) : new Float32Array(n)), 'throws', true);
      }
      if (arg.k === 'i32' && arg.below !== undefined) {
        for (const x of [-1, arg.below, 2 ** 31 - 1, -(2 ** 31)]) {
          push(`index ${x}`, (g) => {
            const a = g.make('i32', arg.values.length);
            a.set(arg.values);
            a[arg.values.length - 1] = x;
            return a;
          }, 'throws');
        }
      }
    }
  }
  return out;
}

function call(b: Binding, addon: Addon, i?: number, v?: Swap['v']): (g: Guards) => unknown[] {
  return (g) => b.args.map((a, j) => (j === i && v ? v(g, addon) : value(a, g, addon)));
}

/** Every binding: its valid call, no arguments, and each argument swapped for each hostile value. */
export function systematicCases(addon: Addon): Case[] {
  const cases: Case[] = [];
  for (const b of bindings(addon)) {
    cases.push({ name: `${b.name}: a valid call`, binding: b.name, make: call(b, addon), expect: 'returns', restore: b.restore });
    const needsArgs = b.args.some((a) => a.k !== 'flag');
    cases.push({ name: `${b.name}: no arguments`, binding: b.name, make: () => [], expect: needsArgs ? 'throws' : 'any', restore: b.restore });
    b.args.forEach((arg, i) => {
      for (const s of swaps(arg)) {
        cases.push({
          name: `${b.name}: ${arg.name} = ${s.label}`, binding: b.name, make: call(b, addon, i, s.v), expect: s.expect, restore: b.restore,
          message: s.named ? new RegExp(escape(arg.name)) : undefined,
        });
      }
    });
  }
  return [...cases, ...targetedCases(addon)];
}

/** Calls whose sizes multiply past 2^64 (or to a wrapped small number), and other hand-made attacks. */
function targetedCases(addon: Addon): Case[] {
  const B = 2 ** 32;
  const f = (n: number) => new Float32Array(n);
  const ids = (...v: number[]) => Int32Array.from(v);
  const t = (binding: string, name: string, make: (g: Guards) => unknown[], message?: RegExp, more: Partial<Case> = {}): Case =>
    ({ binding, name: `${binding}: ${name}`, make, expect: 'throws', message, ...more });
  const overflow = /overflows 64 bits/;
  // Sizes of 2^53 and more are refused as counts before any product is formed (they wrapped to 0 before).
  const big = /expected an integer in \[0, 2\^53\)/;
  const getter = (v: number[], get: (j: number) => unknown) => {
    const a = v.slice();
    Object.defineProperty(a, 0, { get: () => get(0) });
    return a;
  };
  return [
    t('matmul', 'M = N = K = 2^32 on 16-element arrays (segfaulted: M*K wrapped to 0)', () => [f(16), f(16), f(16), 1, B, B, B, false, false, [0], [0]], overflow),
    t('matmul', 'M = 2^31, K = 2^33 (M*K = 2^64)', () => [f(16), f(16), f(16), 1, 2 ** 31, 1, 2 ** 33, false, false, [0], [0]], overflow),
    t('matmul', 'batch x M x N = 2^16 x 2^24 x 2^24 with K = 0', () => [f(16), f(16), f(16), 2 ** 16, 2 ** 24, 2 ** 24, 0, false, false, new Array(2 ** 16).fill(0), new Array(2 ** 16).fill(0)], overflow),
    t('matmul', 'an offset of 2^53 - 1', () => [f(16), f(16), f(16), 1, 2, 2, 2, false, false, [2 ** 53 - 1], [0]], /matmul a: has 16 elements/),
    t('matmul', 'an offset getter that throws', () => [f(4), f(4), f(4), 1, 2, 2, 2, false, false, getter([0], () => { throw new Error('getter ran'); }), [0]], /getter ran/, { anyError: true }),
    t('matmul', 'an offset getter that detaches a', () => {
      const a = f(4);
      return [a, f(4), f(4), 1, 2, 2, 2, false, false, getter([0], () => (detached(a), 0)), [0]];
    }, /matmul a: has 0 elements/),
    t('matmul', 'out is a view of a released allocBuffer', () => {
      const ab = addon.allocBuffer(64) as ArrayBuffer;
      const out = new Float32Array(ab, 0, 4);
      addon.releaseBuffer(ab);
      return [f(4), f(4), out, 1, 2, 2, 2, false, false, [0], [0]];
    }, /matmul out: has 0 elements/),
    t('biasActivation', 'rows = cols = 2^32', () => [f(16), null, B, B, 0], overflow),
    t('binary', 'outShape [2^32, 2^32] with broadcast strides', () => [0, f(16), [0, 0], f(16), [0, 0], f(16), [B, B]], overflow),
    t('binary', 'a stride of 2^33 over 2^31 rows', () => [0, f(16), [2 ** 33, 1], f(16), [0, 1], f(16), [2 ** 31, 4]]),
    t('binary', 'a last-axis stride of 2', () => [0, f(16), [4, 2], f(16), [0, 1], f(16), [2, 2]], /strides must be 0 or 1/),
    t('copy', 'inStrides [2^52, 1] over 2^12 + 1 rows (the extent overflows)', () => [f(16), f(16), [2 ** 12 + 1, 2], [2 ** 52, 1], 0], overflow),
    t('copy', 'inStrides [2^62, 1] over 4 rows', () => [f(16), f(16), [4, 2], [2 ** 62, 1], 0], big),
    t('copy', 'an offset of 2^53 - 1', () => [f(16), f(16), [2], [1], 2 ** 53 - 1], /copy x/),
    t('copy', 'outShape [2^32, 2^32] with zero strides', () => [f(16), f(16), [B, B], [0, 0], 0], overflow),
    t('gather', 'outer = inner = 2^32 (both sizes wrapped to 0)', () => [f(16), ids(0), f(16), B, 1, B], overflow),
    t('gather', 'an index equal to axisDim', () => [f(12), ids(0, 3), f(8), 2, 3, 2], /index 3 at position 1 is outside \[0, 3\)/),
    t('segmentSum', 'rows = inner = 2^32', () => [f(16), ids(0), f(16), B, B], /scatter updates: has 16 elements/),
    t('segmentSum', 'an index equal to rows', () => [f(4), ids(0, 2), f(4), 2, 2], /index 2 at position 1/),
    t('softmax', 'rows = cols = 2^32', () => [f(16), f(16), B, B], overflow),
    t('reduce', 'inner = 2^62 over 4 rows', () => [0, f(16), f(4), 4, 2 ** 62], big),
    t('reduce', 'outer x inner = 2^12 x 2^52', () => [0, f(16), f(4), 2 ** 12, 2 ** 52], overflow),
    t('layerNorm', 'C = 2^62 over 4 rows', () => [f(16), f(16), f(16), f(16), f(16), f(4), 4, 2 ** 62, 1e-5], big),
    t('layerNorm', 'N x C = 2^12 x 2^52', () => [f(16), f(16), f(16), f(16), f(16), f(4), 2 ** 12, 2 ** 52, 1e-5], overflow),
    t('layerNormGrad', 'N x C = 2^12 x 2^52', () => [f(16), f(16), f(4), f(16), f(16), null, null, 2 ** 12, 2 ** 52], overflow),
    t('attnProbs', 'n = 2^62 over 4 rows', () => [f(16), null, f(16), 4, 2 ** 62, 1, 4, 1, 4], big),
    t('attnProbs', 'rows x n = 2^12 x 2^52', () => [f(16), null, f(16), 2 ** 12, 2 ** 52, 1, 4, 1, 4], overflow),
    t('attnProbs', 'groupRows not a multiple of tq', () => [f(12), f(6), f(12), 4, 3, 1, 3, 1, 2], /bad bias layout/),
    t('attnProbsGrad', 'rows = n = 2^32', () => [f(16), f(16), f(16), B, B, 1], overflow),
    t('cachedAttn', 'H = hd = 2^32 (C wrapped to 0)', () => [f(16), f(16), f(16), null, f(16), 1, 1, B, B, 0, 1, 1, 1], overflow),
    t('cachedAttn', 'past + T over the cache', () => [f(12), f(16), f(16), null, f(4), 1, 1, 2, 2, 4, 4, 1, 1], /exceeds the cache/),
    t('xent', 'V = 2^62 with valid targets', () => [f(16), ids(0, 1, 2, 3), f(4), 4, 2 ** 62], big),
    t('xent', 'N x V = 2^12 x 2^52', () => [f(16), ids(0, 1, 2, 3), f(4), 2 ** 12, 2 ** 52], overflow),
    t('xent', 'a target equal to V', () => [f(6), ids(0, 3), f(2), 2, 3], /target 3 at row 1/),
    t('xentGrad', 'V = 2^62 with valid targets', () => [f(16), ids(0, 1, 2, 3), f(4), f(16), 4, 2 ** 62], big),
    t('sampleRows', 'V = 2^62 ((row + 1) * V wrapped to 0)', () => [f(8), 2 ** 62, ids(3), 1, new Float64Array(1), new Int32Array(1), new Float64Array(1)], big),
    t('sampleRows', 'V = 2^52 with row 2^12 - 1', () => [f(8), 2 ** 52, ids(2 ** 12 - 1), 1, new Float64Array(1), new Int32Array(1), new Float64Array(1)], /outside the logits/),
    t('sampleRows', 'a row equal to the row count', () => [f(8), 4, ids(2), 1, new Float64Array(1), new Int32Array(1), new Float64Array(1)], /row 2 at position 0/),
    ...[0, -1, NaN].map((T) => t('sampleRows', `T = ${T}`, () => [f(8), 4, ids(0), T, new Float64Array(1), new Int32Array(1), new Float64Array(1)], /T > 0/)),
    t('sampleRows', 'V = 0', () => [f(8), 0, ids(0), 1, new Float64Array(1), new Int32Array(1), new Float64Array(1)], /V must be >= 1/),
    // Empty outputs with a huge other dimension: valid, and must return at once (they looped 2^32+ times).
    ...([
      ['biasActivation', 'rows = 2^32 of 0 columns', () => [f(0), null, B, 0, 1]],
      ['softmax', 'rows = 2^53 - 1 of 0 columns', () => [f(0), f(0), 2 ** 53 - 1, 0]],
      ['gather', 'outer = 2^53 - 1 with inner = 0', () => [f(0), ids(0), f(0), 2 ** 53 - 1, 1, 0]],
      ['attnProbs', 'rows = 2^53 - 1 of n = 0', () => [f(0), null, f(0), 2 ** 53 - 1, 0, 1, 1, 1, 1]],
      ['cachedAttn', 'B x H = 2^50 heads of hd = 0', () => [f(0), f(0), f(0), null, f(0), 2 ** 10, 1, 2 ** 40, 0, 0, 2 ** 12, 1, 1]],
      ['matmul', 'M = 2^53 - 1 with N = K = 0', () => [f(0), f(0), f(0), 1, 2 ** 53 - 1, 0, 0, false, false, [0], [0]]],
    ] as const).map(([binding, name, make]) => ({ ...t(binding, name, make), expect: 'returns' as const })),
    // Over Node 20's buffer limit (2^32 bytes) Node refused the buffer after calling the finalizer, and the
    // addon freed the mapping a second time (glibc: double free). Newer Nodes may accept it.
    { ...t('allocBuffer', '2^33 bytes', () => [2 ** 33]), expect: 'any' },
    { ...t('matmul', '20 arguments (only the first 11 count)', () => [f(4), f(4), f(4), 1, 2, 2, 2, false, false, [0], [0], ...new Array(9).fill(0)]), expect: 'returns' },
    ...[5000, 2 ** 31 - 1].map((n) => t('setThreads', `${n} threads`, () => [n], /threads: at most/, { restore: bindings(addon).find((b) => b.name === 'setThreads')?.restore })),
  ];
}

/** A seeded mix: a valid call with one to three arguments replaced by random values, hostile or not. */
export function randomCases(addon: Addon, seed: number, count: number): Case[] {
  const rng = new Rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rng.next() * xs.length)];
  const all = bindings(addon).filter((b) => !['setThreads', 'setIsa', 'setUseBlas', 'allocBuffer', 'releaseBuffer', 'info'].includes(b.name));
  const small = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16];
  const cases: Case[] = [];
  for (let c = 0; c < count; c++) {
    const b = pick(all);
    const picks: { i: number; v: (g: Guards) => unknown; bad: boolean; label: string }[] = [];
    for (let m = 1 + Math.floor(rng.next() * 3); m > 0; m--) {
      const i = Math.floor(rng.next() * b.args.length);
      const arg = b.args[i];
      const r = rng.next();
      if (arg.k === 'size' || arg.k === 'count') {
        const x = r < 0.6 ? pick(small) : r < 0.8 ? pick(TOO_BIG) : pick(NOT_COUNTS);
        picks.push({ i, v: () => x, bad: !(Number.isInteger(x) && x >= 0 && x < 2 ** 53), label: `${arg.name}=${x}` });
      } else if (arg.k === 'list') {
        const xs = Array.from({ length: Math.floor(rng.next() * 4) }, () => (rng.next() < 0.8 ? pick(small) : pick([...TOO_BIG, ...NOT_COUNTS])));
        picks.push({ i, v: () => xs, bad: xs.some((x) => !(Number.isInteger(x) && x >= 0 && x < 2 ** 53)), label: `${arg.name}=[${xs}]` });
      } else if (arg.k === 'f32' || arg.k === 'f64' || arg.k === 'i32') {
        const n = pick(small);
        const kind = arg.k;
        const Ctor = rng.next() < 0.9 ? kind : pick(['f32', 'f64', 'i32'] as const);
        const vals = Array.from({ length: n }, () => (kind === 'i32' ? pick([-2, -1, 0, 0, 1, 1, 2, 3, 4, 7, 2 ** 31 - 1, -(2 ** 31)]) : rng.next() * 4 - 2));
        picks.push({ i, v: (g) => {
          const a = g.make(Ctor, n);
          a.set(vals);
          return a;
        }, bad: false, label: `${arg.name}=${Ctor}(${n})` });
      } else if (arg.k === 'num') {
        const x = pick([0, 1, -1, NaN, Infinity, 1e-30, 1e30]);
        picks.push({ i, v: () => x, bad: false, label: `${arg.name}=${x}` });
      }
    }
    const last = picks.filter((p, j) => !picks.slice(j + 1).some((q) => q.i === p.i));  // a later pick of one argument wins
    const bad = last.some((p) => p.bad);
    cases.push({
      name: `random ${c}: ${b.name} ${last.map((p) => p.label).join(' ')}`, binding: b.name, expect: bad ? 'throws' : 'any',
      make: (g) => b.args.map((a, j) => {
        const p = last.find((q) => q.i === j);
        return p ? p.v(g) : value(a, g, addon);
      }),
    });
  }
  return cases;
}
