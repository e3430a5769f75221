// The LoRA block of a run config (sft, train-rm, ppo `lora`) as a TypeBox schema: its TypeScript type,
// its JSON Schema (OpenAPI, the dashboard's launch form) and its check come from this one definition. No
// tfjs here, so the server can import the run-config schemas without loading it.
import { Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

/**
 * What `targets` may name: the shorthands `attn` and `mlp` (every projection of the attention or the MLP
 * of the model's family), or modules by their last name as PEFT's target_modules does (GPT-2's c_attn,
 * c_proj (attention and MLP), c_fc; the Llama family's q/k/v/o_proj, gate/up/down_proj).
 */
export const LORA_TARGET_NAMES = ['attn', 'mlp', 'q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj', 'c_attn', 'c_proj', 'c_fc'] as const;
export type LoraTarget = (typeof LORA_TARGET_NAMES)[number];

export const LoraSchema = Type.Object({
  rank: Type.Integer({ minimum: 1, description: 'rank r of the update' }),
  alpha: Type.Number({ exclusiveMinimum: 0, description: 'scale numerator: the update is multiplied by alpha / rank' }),
  targets: Type.Array(Type.Union(LORA_TARGET_NAMES.map((n) => Type.Literal(n))), {
    minItems: 1, description: 'which layers of every block get an adapter: attn and/or mlp (all of them), or modules by name (q_proj, v_proj, c_attn, ...)',
  }),
}, { additionalProperties: false, description: 'LoRA adapters (Hu et al. 2021) instead of training every weight' });

export type LoraConfig = Static<typeof LoraSchema>;

const check = TypeCompiler.Compile(LoraSchema);

/**
 * A LoRA block from outside a run config (a PEFT adapter_config.json, a caller's object), checked against
 * the schema; targets deduplicated. Run configs check theirs with the rest of the config (train/config-schema.ts).
 */
export function validateLora(c: unknown): LoraConfig {
  if (!check.Check(c)) {
    const e = check.Errors(c).First()!;
    throw new Error(`lora${e.path.replaceAll('/', '.')}: ${e.message.toLowerCase()}, got ${JSON.stringify(e.value)}`);
  }
  return dedupeTargets(c);
}

/** The same block with each target once. */
export function dedupeTargets(c: LoraConfig): LoraConfig {
  return { rank: c.rank, alpha: c.alpha, targets: [...new Set(c.targets)] };
}
