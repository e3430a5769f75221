// One language-model training step, the tfjs way: variableGrads -> applyGradients -> dispose.
import * as tf from '@tensorflow/tfjs';
import { AdamW, NonFiniteError } from '../train/adamw.js';
import { GPT } from '../lm/model.js';
import type { Batch } from './sft-data.js';

export interface StepResult {
  loss: number;
  gradNorm: number;
}

/** The model's mean loss on a batch (ids, and the optional loss and attention masks). Call inside tf.tidy. */
export function batchLoss(model: GPT, b: Batch): tf.Scalar {
  return model.loss(
    tf.tensor2d(b.ids, undefined, 'int32'),
    b.lossMask ? tf.tensor2d(b.lossMask) : undefined,
    b.attentionMask ? tf.tensor2d(b.attentionMask, undefined, 'int32') : undefined,
  );
}

/** Forward, backward and one AdamW update on a batch of ids [B, T+1]. Throws NonFiniteError on NaN/Inf. */
export function trainStep(model: GPT, opt: AdamW, batch: number[][], lossMask?: number[][]): StepResult {
  const { value, grads } = tf.tidy(() => tf.variableGrads(() => batchLoss(model, { ids: batch, lossMask })));
  try {
    const loss = value.dataSync()[0];
    if (!Number.isFinite(loss)) throw new NonFiniteError(`loss is ${loss}; update skipped`);
    const { gradNorm } = opt.applyGradients(grads);
    return { loss, gradNorm };
  } finally {
    value.dispose();
    tf.dispose(grads);
  }
}
