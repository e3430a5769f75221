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

/**
 * Start recording the most bytes tfjs's tensors held at once (tf.memory().numBytes only says "now"): wraps
 * the engine's private trackTensor (tfjs 4.22). Returns a reader that also resets the mark to "now".
 */
export function peakTensorBytes(): () => number {
  const e = tf.engine() as unknown as { state: { numBytes: number }; trackTensor(a: unknown, b: unknown): void; rlhfPeak?: { max: number } };
  if (!e.rlhfPeak) {
    const peak = { max: e.state.numBytes };
    const track = e.trackTensor.bind(e);
    e.trackTensor = (a, b) => {
      track(a, b);
      if (e.state.numBytes > peak.max) peak.max = e.state.numBytes;
    };
    e.rlhfPeak = peak;
  }
  const peak = e.rlhfPeak;
  return () => {
    const m = peak.max;
    peak.max = e.state.numBytes;
    return m;
  };
}
