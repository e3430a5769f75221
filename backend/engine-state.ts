// What the model asks of tfjs's engine beyond its public API. tfjs is frozen at 4.22.0, and its private
// state lives here alone, so a tfjs upgrade touches one folder (backend/).

import * as tf from '@tensorflow/tfjs';

/**
 * Whether tfjs is recording a tape for gradients. Outside one (generation, rollouts, scoring) the model's
 * ops skip tf.customGrad's bookkeeping and run their forward kernels alone. Reads the engine's private
 * `state.gradientDepth` (tfjs 4.22).
 */
export function taping(): boolean {
  return (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth > 0;
}
