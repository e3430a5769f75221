// The KL coefficient β of the per-token penalty −β·KL: fixed, or adapted as in Ziegler et al. 2019
// (lm-human-preferences): e = clip(KL / target − 1, −0.2, 0.2); β ← β · (1 + e · n / horizon),
// where KL is the batch's mean summed KL per sequence and n the episodes in the batch.

export interface KlControllerState {
  kind: 'fixed' | 'adaptive';
  value: number;
}

export interface KlController {
  value: number;
  /** Feed the observed KL of a step and the number of episodes it covered. */
  update(currentKl: number, nSteps: number): void;
  state(): KlControllerState;
}

export class FixedKlController implements KlController {
  constructor(public value: number) {}
  update(): void {}
  state(): KlControllerState {
    return { kind: 'fixed', value: this.value };
  }
}

export class AdaptiveKlController implements KlController {
  constructor(public value: number, readonly target: number, readonly horizon: number) {
    if (!(target > 0)) throw new Error(`adaptive KL target must be > 0, got ${target}`);
    if (!(horizon > 0)) throw new Error(`adaptive KL horizon must be > 0, got ${horizon}`);
  }
  update(currentKl: number, nSteps: number): void {
    if (!Number.isFinite(currentKl)) return; // a non-finite KL stops the run elsewhere; never poison β
    const error = Math.min(0.2, Math.max(-0.2, currentKl / this.target - 1));
    this.value *= 1 + (error * nSteps) / this.horizon;
  }
  state(): KlControllerState {
    return { kind: 'adaptive', value: this.value };
  }
}

/** Build from the config; `restored` (a checkpoint's state) overrides the initial coefficient. */
export function klController(initKl: number, target: number | null, horizon: number, restored?: KlControllerState): KlController {
  const value = restored?.value ?? initKl;
  return target === null ? new FixedKlController(value) : new AdaptiveKlController(value, target, horizon);
}
