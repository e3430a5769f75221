// The project page's figures on the hand-worked store of review-fixture.ts: per-labeler counts, skip and
// tie rates, gold accuracy and Cohen's kappa against the others, kappa for each pair, percent agreement
// and Krippendorff's alpha overall, the most contested tasks; and how a rejected label moves them.
import { expect } from 'chai';
import { join } from 'node:path';
import { rejectLabel } from '../../data/label-review.js';
import { Store } from '../../data/store.js';
import { projectStats } from '../../server/stats.js';
import { fillReviewStore, labelId } from '../data/review-fixture.js';
import { tempDir } from '../helpers.js';

describe('server/stats: per-labeler figures and agreement', () => {
  it('match the values worked by hand, before and after a rejection', () => {
    const store = new Store(join(tempDir(), 'rlhf.db'));
    try {
      const { tasks } = fillReviewStore(store);
      const s = projectStats(store);
      const by = (n: string) => s.labelers.find((l) => l.name === n)!;
      expect([s.tasks, s.labels, s.rejected, s.goldQuestions]).to.deep.equal([5, 15, 0, 1]);
      expect(by('ann')).to.deep.include({ labels: 5, skips: 0, ties: 0, skipRate: 0, tieRate: 0, rejected: 0, medianSeconds: 2 });
      expect(by('cat')).to.deep.include({ skips: 2, ties: 1, skipRate: 0.4, tieRate: 0.2 });
      expect(by('bob').skipRate).to.equal(0.2);
      expect([by('ann').gold, by('bob').gold]).to.deep.equal([{ answered: 1, correct: 1, accuracy: 1 }, { answered: 1, correct: 0, accuracy: 0 }]);
      // ann against the others: with bob (0,1) (1,1) (0,0) (0,0), with cat (0,0) (1,t) (0,1): 7 pairs, 4 agree;
      // ann's codes 0 x5, 1 x2; theirs 0 x3, 1 x3, t x1: p_e = (5*3 + 2*3) / 49 = 3/7; kappa = (4/7 - 3/7) / (4/7).
      expect(by('ann').agreement.pairs).to.equal(7);
      expect(by('ann').agreement.percent).to.be.closeTo(4 / 7, 1e-12);
      expect(by('ann').agreement.kappa).to.be.closeTo(0.25, 1e-12);
      // pairs: ann-bob p_o 3/4, p_e 1/2: 0.5; ann-cat p_o 1/3, p_e 1/3: 0; bob-cat p_o 0, p_e 1/3: -0.5.
      const kappa = Object.fromEntries(s.agreement.pairwise.map((p) => [`${p.a}-${p.b}`, [p.tasks, p.kappa]]));
      expect(kappa['ann-bob'][0]).to.equal(4);
      expect(kappa['ann-bob'][1]).to.be.closeTo(0.5, 1e-12);
      expect(kappa['ann-cat'][1]).to.be.closeTo(0, 1e-12);
      expect(kappa['bob-cat'][1]).to.be.closeTo(-0.5, 1e-12);
      // overall: 10 label pairs on 4 tasks, 4 agree; alpha from the coincidences o00 4, o01 = o10 2, o11 1,
      // o1t = ot1 1 (n 11; n0 6, n1 4, nt 1): D_o 6, D_e 2 (24 + 6 + 4) / 10 = 6.8, alpha = 1 - 6/6.8 = 2/17.
      expect(s.agreement).to.deep.include({ tasks: 4, pairs: 10, percent: 0.4 });
      expect(s.agreement.krippendorffAlpha).to.be.closeTo(2 / 17, 1e-12);
      expect(s.disagreement.map((d) => [d.taskId, d.labels, d.prompt])).to.deep.equal([
        [tasks[0], 3, 'Which is kinder?'], [tasks[1], 3, 'Pick the shorter one'], [tasks[2], 3, 'Rank these three']]);

      // bob's wrong gold answer rejected: his record keeps it, the agreement loses it. Task 1 is unanimous
      // now; alpha: o00 5, o01 = o10 1, o11 1, o1t = ot1 1 (n 10; 6, 3, 1): D_o 4, D_e 2 (18 + 6 + 3) / 9 = 6: 1/3.
      rejectLabel(store, labelId(store, 'bob', tasks[0]), null);
      const t = projectStats(store);
      expect(t.rejected).to.equal(1);
      expect(t.labelers.find((l) => l.name === 'bob')).to.deep.include({ labels: 5, rejected: 1 });
      expect(t.labelers.find((l) => l.name === 'bob')!.gold).to.deep.equal({ answered: 1, correct: 0, accuracy: 0 });
      expect(t.agreement).to.deep.include({ tasks: 4, pairs: 8 });
      expect(t.agreement.krippendorffAlpha).to.be.closeTo(1 / 3, 1e-12);
      expect(t.disagreement.map((d) => d.taskId)).to.deep.equal([tasks[1], tasks[2]]);
    } finally {
      store.close();
    }
  });
});
