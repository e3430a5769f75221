// How ties and rankings train, for both trainers (rlhf train-rm and rlhf dpo): the option values, their
// defaults and the checks between them. No tfjs here: the configs (and through them the server) read it.
//   ties      drop        tie labels are left out (TRL's reward trainer and DPO take no ties)
//             equal       each tied pair is trained towards equal scores by a target-½ term (see the losses)
//             davidson    Davidson's model (1970) as Chen et al. (2024, "On Extending DPO to Accommodate
//             rao-kupper  Ties") write it, or Rao and Kupper's (1967): every pair, preferred or tied, is the
//                         negative log-likelihood of its outcome under a model with three outcomes (win, tie,
//                         loss); the formulas are in reward-models/tie-models.ts
//   rankings  all-pairs      a ranking of K gives its K(K−1)/2 ordered pairs, sharing the comparison's weight
//             plackett-luce  a ranking is one Plackett-Luce likelihood: K−1 successive choices of the best
//                            of those left (the DPO paper's ranking form, Rafailov et al. 2023, appendix A.3)
// A tie in the label store is one label over all K completions (kind 'tie'); a ranking orders all K with no
// ties inside (data/store.ts refuses anything else), so there is no tied-ranking case to model. A tie of
// K > 2 trains as its K(K−1)/2 unordered pairs, each a tie, sharing the comparison's weight.
// Plackett-Luce has no probability for a tie, so it is refused with the tie models: their pairs' win
// probabilities are not Bradley-Terry's, and a ranking of 2 would train differently from the same pair.

export const TIE_POLICIES = ['drop', 'equal', 'davidson', 'rao-kupper'] as const;
export type TiePolicy = (typeof TIE_POLICIES)[number];
export const RANKING_MODELS = ['all-pairs', 'plackett-luce'] as const;
export type RankingModel = (typeof RANKING_MODELS)[number];

/** The tie models with a parameter ν. */
export type TieModel = 'davidson' | 'rao-kupper';
export const isTieModel = (t: TiePolicy): t is TieModel => t === 'davidson' || t === 'rao-kupper';

/**
 * Chen et al.'s values: ν_D = 1 and ν_RK = 3 both give a tie probability of ½ between equal rewards, the
 * prior the paper chose (it reports results insensitive to it).
 */
export const DEFAULT_TIE_STRENGTH: Record<TieModel, number> = { davidson: 1, 'rao-kupper': 3 };

export const TIE_STRENGTH_DESCRIPTION = "the tie model's ν: davidson's ν_D > 0 (tie probability 2ν/(2 + 2ν) at equal rewards), rao-kupper's ν_RK > 1 (its threshold is log ν_RK; tie probability (ν − 1)/(ν + 1) at equal rewards); null: 1 and 3, both ½ (Chen et al. 2024)";
export const TIES_DESCRIPTION = 'how tie labels train: drop leaves them out; equal trains tied scores towards each other; davidson and rao-kupper train every pair as the likelihood of its outcome (win, tie, loss) under that tie model (Chen et al. 2024)';
export const RANKINGS_DESCRIPTION = "how a ranking of K trains: all-pairs, its K(K-1)/2 ordered pairs sharing the comparison's weight; plackett-luce, its Plackett-Luce likelihood (K-1 choices of the best of those left; Bradley-Terry for K = 2)";

export interface PreferenceOptions {
  ties: TiePolicy;
  tieStrength: number | null;
  rankings: RankingModel;
}

/** ν of a tie model: the config's, else the paper's default. */
export function tieNu(ties: TieModel, tieStrength: number | null): number {
  return tieStrength ?? DEFAULT_TIE_STRENGTH[ties];
}

/** What is wrong with a combination of the options (naming the field), or null. */
export function preferenceOptionsError(o: PreferenceOptions): string | null {
  if (o.tieStrength !== null && !isTieModel(o.ties)) return `tieStrength applies to ties davidson and rao-kupper only, not ${o.ties}`;
  if (o.tieStrength !== null && o.ties === 'davidson' && !(o.tieStrength > 0)) return `tieStrength must be > 0 for davidson (ν_D = 0 gives a tie no probability), got ${o.tieStrength}`;
  if (o.tieStrength !== null && o.ties === 'rao-kupper' && !(o.tieStrength > 1)) return `tieStrength must be > 1 for rao-kupper (ν_RK = 1 gives a tie no probability), got ${o.tieStrength}`;
  if (o.rankings === 'plackett-luce' && isTieModel(o.ties)) {
    return `rankings plackett-luce has no tie probability and does not combine with ties ${o.ties}; use rankings all-pairs with ${o.ties}, or plackett-luce with ties drop or equal`;
  }
  return null;
}
