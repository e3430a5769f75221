// LoRA (Hu et al. 2021): y = x W + b + (α/r) · (x A) B on chosen linear layers of any family, with W frozen.
// A [in, r] starts as PEFT does (uniform ±1/√in, its kaiming-uniform with a = √5), B [r, out] at zero,
// so a fresh adapter changes nothing. Saved and loaded in PEFT's layout: adapter_config.json and
// adapter_model.safetensors, where lora_A.weight is [r, in] and lora_B.weight is [out, r]
// (PEFT's nn.Linear layout; GPT-2's Conv1D needs fan_in_fan_out = true, the Llama family's nn.Linear not).
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, writeFileAtomic } from './checkpoint.js';
import type { GPT, LinearAdapter } from './model.js';
import { BLOCK_LINEARS, blockPrefix, linearsFor, parameterShapes, peftPrefix } from './models/registry.js';
import { SafetensorsError, SafetensorsFile, serializeSafetensors } from './safetensors.js';
import { jsonError } from './json-error.js';
import { validateLora } from './lora-config.js';
import type { LoraConfig, LoraTarget } from './lora-config.js';

// The config block (its schema, type and check) lives in lora-config.ts, which the run configs import
// without loading tfjs.
export { LORA_TARGET_NAMES, LoraSchema, validateLora } from './lora-config.js';
export type { LoraConfig, LoraTarget } from './lora-config.js';

export class Lora implements LinearAdapter {
  readonly config: LoraConfig;
  /** 'h.0.attn.c_attn.lora_A' -> [in, r], '….lora_B' -> [r, out]. */
  readonly params = new Map<string, tf.Variable>();
  /** When false the model computes exactly its base function (PPO uses this as the reference model). */
  enabled = true;
  private readonly scale: number;

  private constructor(config: LoraConfig, private readonly model: GPT) {
    this.config = validateLora(config);
    this.scale = this.config.alpha / this.config.rank;
  }

  /** The layers adapted in a model: [prefix, in, out]. */
  static layers(model: GPT, config: LoraConfig): [string, number, number][] {
    const shapes = new Map(parameterShapes(model.config));
    const out: [string, number, number][] = [];
    const linears = linearsFor(model.config, config.targets);
    for (let i = 0; i < model.config.nLayer; i++) {
      for (const layer of linears) {
        const prefix = blockPrefix(model.config, i) + layer;
        const [inDim, outDim] = shapes.get(prefix + '.weight')!;
        out.push([prefix, inDim, outDim]);
      }
    }
    return out;
  }

  /** Fresh adapters for a model (B = 0, so the model's function is unchanged), attached and with the base frozen. */
  static attach(model: GPT, config: LoraConfig, seed = 0): Lora {
    const lora = new Lora(config, model);
    let s = seed * 7919 + 1;
    for (const [prefix, inDim, outDim] of Lora.layers(model, lora.config)) {
      const bound = 1 / Math.sqrt(inDim);
      // tidy disposes the initial values (a variable keeps its own reference to the data)
      lora.params.set(prefix + '.lora_A', tf.tidy(() => tf.variable(tf.randomUniform([inDim, lora.config.rank], -bound, bound, 'float32', s++), true, uniq(prefix + '.lora_A'))));
      lora.params.set(prefix + '.lora_B', tf.tidy(() => tf.variable(tf.zeros([lora.config.rank, outDim]), true, uniq(prefix + '.lora_B'))));
    }
    model.setFrozen(true);
    model.adapter = lora;
    return lora;
  }

  delta(prefix: string, x: tf.Tensor2D): tf.Tensor2D | null {
    if (!this.enabled) return null;
    const a = this.params.get(prefix + '.lora_A');
    if (!a) return null;
    const b = this.params.get(prefix + '.lora_B')!;
    return tf.mul(tf.matMul(tf.matMul(x, a as tf.Tensor as tf.Tensor2D), b as tf.Tensor as tf.Tensor2D), this.scale) as tf.Tensor2D; // [N, out]
  }

  /** Write adapter_config.json and adapter_model.safetensors (PEFT's names and shapes). */
  async save(dir: string, baseModel = ''): Promise<void> {
    mkdirSync(dir, { recursive: true });
    const tensors = [];
    for (const [name, v] of this.params) {
      // ours [in, r] / [r, out] -> PEFT's [r, in] / [out, r]
      const t = tf.transpose(v);
      tensors.push({ name: peftPrefix(this.model.config) + name + '.weight', shape: t.shape, data: (await t.data()) as Float32Array });
      t.dispose();
    }
    writeFileAtomic(join(dir, 'adapter_model.safetensors'), serializeSafetensors(tensors, { format: 'pt' }));
    const c = this.model.config;
    const modules = linearsFor(c, this.config.targets);
    writeFileAtomic(join(dir, 'adapter_config.json'), JSON.stringify({
      peft_type: 'LORA', task_type: 'CAUSAL_LM', base_model_name_or_path: baseModel, r: this.config.rank,
      lora_alpha: this.config.alpha, lora_dropout: 0, target_modules: modules, fan_in_fan_out: c.modelType === 'gpt2', bias: 'none',
      inference_mode: true, init_lora_weights: true, modules_to_save: null,
    }, null, 2) + '\n');
  }

  /** Read a PEFT LoRA folder for this model and attach it (base frozen). Validates every tensor first. */
  static load(dir: string, model: GPT): Lora {
    const cfgFile = join(dir, 'adapter_config.json');
    const stFile = join(dir, 'adapter_model.safetensors');
    for (const f of [cfgFile, stFile]) if (!existsSync(f)) throw new CheckpointError(`${f}: not found`);
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(readFileSync(cfgFile, 'utf8'));
    } catch (e) {
      throw new CheckpointError(`${cfgFile}: ${jsonError(e)}`);
    }
    if (j.peft_type !== 'LORA') throw new CheckpointError(`${cfgFile}: peft_type must be "LORA", got ${JSON.stringify(j.peft_type)}`);
    const modules = (Array.isArray(j.target_modules) ? j.target_modules : []) as string[];
    const targets = targetsOf(model, modules);
    let config: LoraConfig;
    try {
      config = validateLora({ rank: j.r as number, alpha: j.lora_alpha as number, targets });
    } catch (e) {
      throw new CheckpointError(`${cfgFile}: ${(e as Error).message}`);
    }
    let st: SafetensorsFile;
    try {
      st = new SafetensorsFile(readFileSync(stFile), stFile);
    } catch (e) {
      throw new CheckpointError((e as SafetensorsError).message);
    }
    const values: [string, Float32Array, number[]][] = [];
    for (const [prefix, inDim, outDim] of Lora.layers(model, config)) {
      for (const [part, peftShape] of [['lora_A', [config.rank, inDim]], ['lora_B', [outDim, config.rank]]] as const) {
        const key = peftPrefix(model.config) + `${prefix}.${part}.weight`;
        const e = st.entries.get(key);
        if (!e) throw new CheckpointError(`${stFile}: missing tensor '${key}'`);
        if (!tf.util.arraysEqual(e.shape, [...peftShape])) throw new CheckpointError(`${stFile}: tensor '${key}' has shape [${e.shape}], expected [${peftShape}]`);
        try {
          values.push([`${prefix}.${part}`, st.float32(key), [...peftShape]]);
        } catch (err) {
          throw new CheckpointError((err as Error).message);
        }
      }
    }
    const lora = new Lora(config, model);
    for (const [name, data, shape] of values) {
      lora.params.set(name, tf.tidy(() => tf.variable(tf.transpose(tf.tensor(data, shape)), true, uniq(name))));
    }
    model.setFrozen(true);
    model.adapter = lora;
    return lora;
  }

  /** Base weights with the update folded in: W + (α/r) A B for every adapted layer (for `rlhf merge`). */
  mergedWeights(model: GPT): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [prefix] of Lora.layers(model, this.config)) {
      const a = this.params.get(prefix + '.lora_A')!;
      const b = this.params.get(prefix + '.lora_B')!;
      out.set(prefix + '.weight', tf.tidy(() => tf.add(model.p(prefix + '.weight'), tf.mul(tf.matMul(a, b), this.scale))));
    }
    return out;
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}

function uniq(name: string): string {
  return name + '_' + Math.random().toString(36).slice(2);
}

/**
 * Our targets for a PEFT target_modules list: a module is adapted when a listed name equals it or ends
 * it after a dot (PEFT's rule); a complete attention or MLP set becomes `attn` / `mlp`, others their name.
 */
function targetsOf(model: GPT, listed: string[]): LoraTarget[] {
  const groups = BLOCK_LINEARS[model.config.modelType === 'gpt2' ? 'gpt2' : 'llama'];
  const hit = (m: string) => listed.some((t) => m === t || m.endsWith('.' + t) || t.endsWith('.' + m));
  const out: LoraTarget[] = [];
  for (const g of ['attn', 'mlp'] as const) {
    const ms = groups[g] as readonly string[];
    if (ms.every(hit)) out.push(g);
    else for (const m of ms.filter(hit)) out.push(m.split('.').pop() as LoraTarget);
  }
  return out;
}
