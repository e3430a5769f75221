// NaN-ignoring statistics over plain numbers, with the semantics of torch.nanmean and TRL's nanstd /
// nanmin / nanmax: a reward of NaN stands for "no opinion" (a reward function's null) and is left out.
// nanStd is unbiased (Bessel) and NaN when fewer than two values are present, as TRL's nanstd, so a
// group with one scored completion has no spread to measure rather than a spread of 0.

/** How many values are not NaN. */
export function nanCount(x: readonly number[]): number {
  let n = 0;
  for (const v of x) if (!Number.isNaN(v)) n++;
  return n;
}

/** Σ of the values that are not NaN (0 when there are none, as torch.nansum). */
export function nanSum(x: readonly number[]): number {
  let s = 0;
  for (const v of x) if (!Number.isNaN(v)) s += v;
  return s;
}

/** Mean of the values that are not NaN; NaN when there are none (torch.nanmean). */
export function nanMean(x: readonly number[]): number {
  const n = nanCount(x);
  return n === 0 ? NaN : nanSum(x) / n;
}

/** Unbiased standard deviation of the values that are not NaN; NaN with fewer than two (TRL's nanstd). */
export function nanStd(x: readonly number[]): number {
  const n = nanCount(x);
  if (n < 2) return NaN;
  const m = nanMean(x);
  let s = 0;
  for (const v of x) if (!Number.isNaN(v)) s += (v - m) ** 2;
  return Math.sqrt(s / (n - 1));
}

/** Smallest value that is not NaN; NaN when there are none (TRL's nanmin). */
export function nanMin(x: readonly number[]): number {
  let m = NaN;
  for (const v of x) if (!Number.isNaN(v) && !(v >= m)) m = v;
  return m;
}

/** Largest value that is not NaN; NaN when there are none (TRL's nanmax). */
export function nanMax(x: readonly number[]): number {
  let m = NaN;
  for (const v of x) if (!Number.isNaN(v) && !(v <= m)) m = v;
  return m;
}

/** The values split into consecutive groups of G (a prompt's G completions are adjacent). */
export function groupsOf(x: readonly number[], G: number, what = 'rewards'): number[][] {
  if (!Number.isInteger(G) || G < 1) throw new Error(`group size must be an integer >= 1, got ${G}`);
  if (x.length % G !== 0) throw new Error(`${what}: ${x.length} values do not split into groups of ${G} (numGenerations)`);
  return Array.from({ length: x.length / G }, (_, g) => x.slice(g * G, (g + 1) * G));
}
