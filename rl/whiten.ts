// Masked statistics and whitening over [B][T] rows, counting only positions where mask is 1
// (real response tokens). Variance is unbiased (Bessel), as TRL's masked_var.

export function maskedMean(x: number[][], mask: number[][]): number {
  let s = 0;
  let n = 0;
  for (let b = 0; b < x.length; b++) {
    for (let t = 0; t < x[b].length; t++) {
      if (mask[b][t]) {
        s += x[b][t];
        n++;
      }
    }
  }
  if (n === 0) throw new Error('masked mean: the mask selects no positions');
  return s / n;
}

export function maskedVar(x: number[][], mask: number[][], unbiased = true): number {
  const mean = maskedMean(x, mask);
  let s = 0;
  let n = 0;
  for (let b = 0; b < x.length; b++) {
    for (let t = 0; t < x[b].length; t++) {
      if (mask[b][t]) {
        s += (x[b][t] - mean) ** 2;
        n++;
      }
    }
  }
  if (!unbiased) return s / n;
  // A single position has no spread to measure; treat it as variance 0 rather than dividing by zero.
  return n > 1 ? s / (n - 1) : 0;
}

/**
 * (x − mean) / √(var + eps) over masked positions; with shiftMean false the mean is added back
 * (reward whitening keeps the reward's sign, as TRL's whiten(shift_mean=False)). Masked-out positions become 0.
 */
export function maskedWhiten(x: number[][], mask: number[][], shiftMean = true, eps = 1e-8): number[][] {
  const mean = maskedMean(x, mask);
  const scale = 1 / Math.sqrt(maskedVar(x, mask) + eps);
  return x.map((row, b) => row.map((v, t) => (mask[b][t] ? (v - mean) * scale + (shiftMean ? 0 : mean) : 0)));
}
