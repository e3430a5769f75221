// Several labelers' rankings of one task's K completions aggregated into one, by ranked pairs (Tideman
// 1987): count for every pair (a, b) how many rankings put a above b, take the pairs whose margin
// (a over b minus b over a) is positive, strongest first, and lock each one unless it would close a cycle
// with the pairs locked before it. The consensus is the order of the locked graph. It is a Condorcet
// method (a completion every majority prefers comes first) and never lets a weak majority overturn a
// stronger one. The rankings export (data/export.ts, format "aggregated") writes one line per task.

export interface Consensus {
  /** Positions best first: the locked graph's order, unordered positions kept in position order. */
  ranking: number[];
  /** No pair has a positive margin (no rankings, or they cancel out exactly): the consensus is a tie. */
  tie: boolean;
  /** wins[a][b]: how many rankings put a above b. */
  wins: number[][];
}

/**
 * Rankings are of positions 0..k-1, best first; a ranking may list only some positions (those left out
 * rank below the ones listed, equal among themselves). Ties between strong pairs are broken by more
 * winning votes, then by the lower winner position, then the lower loser position: deterministic.
 */
export function rankedPairs(k: number, rankings: number[][]): Consensus {
  const wins = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (const r of rankings) {
    const place = new Array<number>(k).fill(r.length); // unlisted: below every listed one
    r.forEach((p, i) => {
      if (!Number.isInteger(p) || p < 0 || p >= k) throw new Error(`ranking ${JSON.stringify(r)}: positions must be 0..${k - 1}`);
      place[p] = i;
    });
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) if (place[a] < place[b]) wins[a][b]++;
  }
  const pairs: { a: number; b: number; margin: number; votes: number }[] = [];
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) {
      const margin = wins[a][b] - wins[b][a];
      if (margin > 0) pairs.push({ a, b, margin, votes: wins[a][b] });
    }
  }
  pairs.sort((x, y) => y.margin - x.margin || y.votes - x.votes || x.a - y.a || x.b - y.b);
  const locked = Array.from({ length: k }, () => new Array<boolean>(k).fill(false));
  const reaches = (from: number, to: number): boolean => {
    const seen = new Set<number>([from]);
    const todo = [from];
    for (let x = todo.pop(); x !== undefined; x = todo.pop()) {
      if (x === to) return true;
      for (let y = 0; y < k; y++) if (locked[x][y] && !seen.has(y)) (seen.add(y), todo.push(y));
    }
    return false;
  };
  for (const { a, b } of pairs) if (!reaches(b, a)) locked[a][b] = true;
  // The order: repeatedly the lowest position that nothing left beats in the locked graph.
  const left = new Set(Array.from({ length: k }, (_, i) => i));
  const ranking: number[] = [];
  while (left.size) {
    const next = [...left].find((x) => ![...left].some((y) => locked[y][x]))!;
    ranking.push(next);
    left.delete(next);
  }
  return { ranking, tie: pairs.length === 0, wins };
}
