// Generalised advantage estimation (Schulman et al. 2016) over right-padded response tokens.
// Rows are [B][T]; padding positions must carry reward 0 and value 0, so that the last real token's
// TD error sees V(next) = 0, which is what ends the episode there (TRL does the same).
//   δ_t = r_t + γ V_{t+1} − V_t;   A_t = δ_t + γλ A_{t+1};   returns_t = A_t + V_t

export interface GaeResult {
  advantages: number[][];
  returns: number[][];
}

export function gae(rewards: number[][], values: number[][], gamma: number, lam: number): GaeResult {
  if (rewards.length !== values.length) throw new Error(`gae: ${rewards.length} reward rows vs ${values.length} value rows`);
  const advantages: number[][] = [];
  const returns: number[][] = [];
  for (let b = 0; b < rewards.length; b++) {
    const r = rewards[b];
    const v = values[b];
    if (r.length !== v.length) throw new Error(`gae: row ${b} has ${r.length} rewards and ${v.length} values`);
    const T = r.length;
    const adv = new Array<number>(T);
    let last = 0;
    for (let t = T - 1; t >= 0; t--) {
      const next = t < T - 1 ? v[t + 1] : 0;
      const delta = r[t] + gamma * next - v[t];
      last = delta + gamma * lam * last;
      adv[t] = last;
    }
    advantages.push(adv);
    returns.push(adv.map((a, t) => a + v[t]));
  }
  return { advantages, returns };
}
