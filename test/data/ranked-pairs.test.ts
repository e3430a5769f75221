// Ranked pairs against elections worked by hand: Tideman's method on the textbook Tennessee example, a
// Condorcet cycle broken at its weakest margin, a tie, and partial rankings.
import { expect } from 'chai';
import { rankedPairs } from '../../data/ranked-pairs.js';

const times = (n: number, r: number[]) => Array.from({ length: n }, () => r);

describe('data/ranked-pairs', () => {
  it('the Tennessee capital example: Nashville first, though Memphis has the most first places', () => {
    // 0 Memphis, 1 Nashville, 2 Chattanooga, 3 Knoxville; 42/26/15/17 voters.
    const r = rankedPairs(4, [...times(42, [0, 1, 2, 3]), ...times(26, [1, 2, 3, 0]), ...times(15, [2, 3, 1, 0]), ...times(17, [3, 2, 1, 0])]);
    // Margins: N>M 16, C>M 16, K>M 16, N>C 36, N>K 36, C>K 66. Locked in order C>K, N>C, N>K, then the
    // three over Memphis: N, C, K, M.
    expect(r.wins[1][0]).to.equal(58);
    expect(r.wins[2][3]).to.equal(83);
    expect(r.ranking).to.deep.equal([1, 2, 3, 0]);
    expect(r.tie).to.equal(false);
  });

  it('a cycle is broken at its weakest pair', () => {
    // 5 A>B>C, 4 B>C>A, 2 C>A>B: A>B by 7-4 (margin 3), B>C by 9-2 (7), C>A by 6-5 (1). Lock B>C, then
    // A>B; C>A would close the cycle and is skipped: A, B, C.
    const r = rankedPairs(3, [...times(5, [0, 1, 2]), ...times(4, [1, 2, 0]), ...times(2, [2, 0, 1])]);
    expect(r.ranking).to.deep.equal([0, 1, 2]);
    // The same cycle with the weakest pair elsewhere: 5 B>C>A, 4 C>A>B, 2 A>B>C: C>A 9-2 (7), B>C 7-4 (3),
    // A>B 6-5 (1) skipped: B, C, A.
    expect(rankedPairs(3, [...times(5, [1, 2, 0]), ...times(4, [2, 0, 1]), ...times(2, [0, 1, 2])]).ranking).to.deep.equal([1, 2, 0]);
    // An even cycle (every margin 1, equal votes): the tie-break by position locks 0>1, 1>2 and skips 2>0.
    expect(rankedPairs(3, [[0, 1, 2], [1, 2, 0], [2, 0, 1]]).ranking).to.deep.equal([0, 1, 2]);
  });

  it('opposite rankings cancel to a tie; one ranking is itself; a pairwise majority wins', () => {
    const t = rankedPairs(2, [[0, 1], [1, 0]]);
    expect(t.tie).to.equal(true);
    expect(t.ranking).to.deep.equal([0, 1]);
    expect(rankedPairs(4, [[2, 0, 3, 1]])).to.deep.include({ ranking: [2, 0, 3, 1], tie: false });
    expect(rankedPairs(2, [[1, 0], [1, 0], [0, 1]]).ranking).to.deep.equal([1, 0]);
    expect(rankedPairs(3, []).tie).to.equal(true);
  });

  it('a partial ranking puts what it lists above the rest; bad positions are refused', () => {
    // [2] alone puts 2 above 0 and 1 and nothing between them; [0, 1, 2] the full order.
    const r = rankedPairs(3, [[2], [0, 1, 2]]);
    // wins: 2>0 1, 2>1 1, 0>1 1, 0>2 1, 1>2 1: only 0>1 has a positive margin.
    expect(r.wins[2][0]).to.equal(1);
    expect(r.ranking).to.deep.equal([0, 1, 2]);
    expect(() => rankedPairs(2, [[0, 2]])).to.throw(/positions must be 0..1/);
  });
});
