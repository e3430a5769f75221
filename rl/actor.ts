// The models of a critic-free run (GRPO, RLOO): the policy, full or LoRA, and a reference only when the
// loss or the reward uses one (beta > 0): under LoRA the policy with its adapter switched off (bit-exact base
// logits, no second copy), else a frozen copy. TRL loads no reference at beta = 0, and neither do we.
import * as tf from '@tensorflow/tfjs';
import { mkdirSync } from 'node:fs';
import { loadCheckpoint, saveCheckpoint } from '../lm/checkpoint.js';
import { Lora, LoraConfig } from '../lm/lora.js';
import { GPT } from '../lm/model.js';
import { Tokenizer } from '../lm/tokenizer.js';
import { headLogprobsAndEntropy } from './logprobs.js';
import { Packed, referenceLogprobs, responseHidden } from './policy.js';

export class Actor {
  private constructor(
    readonly policy: GPT,
    readonly tokenizer: Tokenizer,
    readonly lora: Lora | null,
    /** Frozen copy (full fine-tuning with a reference); null under LoRA or without a reference. */
    readonly refCopy: GPT | null,
    /** Whether reference log-probabilities are available. */
    readonly hasRef: boolean,
  ) {}

  /**
   * Load from the config's model folder; a resume gives `policyFrom` (full) or `adapterFrom` (LoRA) from its
   * checkpoint. The reference always comes from the original model.
   */
  static load(model: string, o: { lora: LoraConfig | null; withRef: boolean; seed: number; policyFrom?: string; adapterFrom?: string }): Actor {
    const base = loadCheckpoint(o.policyFrom ?? model);
    if (!base.tokenizer) {
      base.model.dispose();
      throw new Error(`${o.policyFrom ?? model}: no tokenizer.json (rewards are computed on text)`);
    }
    let lora: Lora | null = null;
    let ref: GPT | null = null;
    try {
      if (o.lora) lora = o.adapterFrom ? Lora.load(o.adapterFrom, base.model) : Lora.attach(base.model, o.lora, o.seed);
      else if (o.withRef) {
        ref = loadCheckpoint(model).model;
        ref.setFrozen(true);
      }
    } catch (e) {
      base.model.dispose();
      throw e;
    }
    return new Actor(base.model, base.tokenizer, lora, ref, o.withRef);
  }

  /** The trained variables: the adapter's, or every weight of the policy. */
  trainable(): Map<string, tf.Variable> {
    return new Map(this.lora ? this.lora.params : this.policy.params);
  }

  /** [N, 2] log π(y_t) at the temperature and the entropy of π_t over response positions, N = B·R. Call inside tf.tidy. */
  logprobs(p: Packed, temperature: number): tf.Tensor2D {
    const h = responseHidden(this.policy, p);
    return headLogprobsAndEntropy(h, this.policy.headWeight(), tf.tensor1d(p.responses.flat(), 'int32'), temperature);
  }

  /** [N] reference log-probabilities at the temperature. Call inside tf.tidy. */
  refLogprobs(p: Packed, temperature: number): tf.Tensor1D {
    if (!this.hasRef) throw new Error('this run loaded no reference model (beta is 0)');
    return referenceLogprobs(this.refCopy ?? this.policy, this.lora, p, temperature);
  }

  /** The policy as a model folder, or its adapter (PEFT layout) under LoRA. */
  async save(dir: string, baseModel: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    if (this.lora) await this.lora.save(dir, baseModel);
    else await saveCheckpoint(dir, this.policy, this.tokenizer);
  }

  dispose(): void {
    this.lora?.dispose();
    this.policy.dispose();
    this.refCopy?.dispose();
  }
}
