// Inter-annotator agreement on nominal codes, as pure functions of the codes (the label store's reading of
// them is in server/stats.ts): Cohen's kappa for two coders, Krippendorff's alpha for any number of
// coders with missing values, and pairwise percent agreement within one item. A label's code is its top
// choice: the display position it ranked first, or 'tie' (data/label-filter.ts does the same in SQL).

/** A label's nominal code: the position ranked first, or 'tie'. Skips have none (null). */
export function topChoice(kind: string, ranking: number[] | null): string | null {
  if (kind === 'tie') return 'tie';
  if (kind !== 'ranking' || !ranking?.length) return null;
  return String(ranking[0]);
}

/**
 * Cohen's kappa of two coders over the items both coded, given as [coder 1's code, coder 2's code]:
 * (p_o - p_e) / (1 - p_e), p_o the share of items they agree on, p_e the agreement expected from each
 * coder's own marginals, sum over codes c of p1(c) * p2(c). Null when there is no item, or when p_e = 1
 * (both coders only ever used the one same code: kappa is 0/0).
 */
export function cohensKappa(pairs: [string, string][]): number | null {
  const n = pairs.length;
  if (!n) return null;
  const m1 = new Map<string, number>();
  const m2 = new Map<string, number>();
  let agree = 0;
  for (const [a, b] of pairs) {
    if (a === b) agree++;
    m1.set(a, (m1.get(a) ?? 0) + 1);
    m2.set(b, (m2.get(b) ?? 0) + 1);
  }
  let pe = 0;
  for (const [c, k] of m1) pe += (k / n) * ((m2.get(c) ?? 0) / n);
  if (1 - pe < 1e-12) return null;
  return (agree / n - pe) / (1 - pe);
}

/**
 * Krippendorff's alpha for nominal values: 1 - D_o / D_e from the coincidence matrix. `units` lists the
 * codes given to each item by whoever coded it (any number of coders, missing ones simply absent); an
 * item with one code is unpairable and left out. Null when fewer than two pairable values exist, or when
 * every value is one code and yet some disagree (impossible) - 1 when all values are one code.
 */
export function krippendorffAlpha(units: string[][]): number | null {
  const coinc = new Map<string, Map<string, number>>();
  const add = (a: string, b: string, w: number) => {
    if (!coinc.has(a)) coinc.set(a, new Map());
    coinc.get(a)!.set(b, (coinc.get(a)!.get(b) ?? 0) + w);
  };
  for (const u of units) {
    if (u.length < 2) continue; // unpairable
    for (let i = 0; i < u.length; i++) for (let j = 0; j < u.length; j++) if (i !== j) add(u[i], u[j], 1 / (u.length - 1));
  }
  const nc = new Map<string, number>();
  let n = 0;
  for (const [c, row] of coinc) {
    const s = [...row.values()].reduce((a, b) => a + b, 0);
    nc.set(c, s);
    n += s;
  }
  if (n <= 1) return null;
  let observed = 0; // off-diagonal mass
  for (const [c, row] of coinc) for (const [k, v] of row) if (c !== k) observed += v;
  let expected = 0;
  for (const [c, a] of nc) for (const [k, b] of nc) if (c !== k) expected += a * b;
  expected /= n - 1;
  if (expected === 0) return observed === 0 ? 1 : null; // everyone always chose one category: alpha undefined unless perfect
  return 1 - observed / expected;
}

/** Share of the item's pairs of codes that agree: sum over codes of n_c (n_c - 1) / (n (n - 1)); null for fewer than 2 codes. */
export function pairwiseAgreement(codes: string[]): number | null {
  const n = codes.length;
  if (n < 2) return null;
  const counts = new Map<string, number>();
  for (const c of codes) counts.set(c, (counts.get(c) ?? 0) + 1);
  let same = 0;
  for (const k of counts.values()) same += k * (k - 1);
  return same / (n * (n - 1));
}
