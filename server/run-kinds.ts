// The config schemas of the kinds of run POST /api/runs launches, for GET /api/run-kinds (the dashboard's
// launch form) and the OpenAPI document's components. These modules are schemas only (TypeBox, no tfjs):
// the server still never loads a trainer.
import { TObject, Type } from '@sinclair/typebox';
import type { JsonSchema, RunKind, RunKindsView } from '../protocol/wire.js';
import { DpoConfigSchema } from '../dpo/config.js';
import { RmConfigSchema } from '../reward-models/rm-config.js';
import { GrpoConfigSchema } from '../rl/grpo/config.js';
import { PpoConfigSchema } from '../rl/ppo-config.js';
import { RlooConfigSchema } from '../rl/rloo/config.js';
import { SftConfigSchema } from '../sft/sft-config.js';
import { RUN_KINDS } from './run-manager.js';

export const RUN_CONFIG_SCHEMAS: Record<RunKind, TObject> = { sft: SftConfigSchema, 'train-rm': RmConfigSchema, ppo: PpoConfigSchema, grpo: GrpoConfigSchema, rloo: RlooConfigSchema, dpo: DpoConfigSchema };

/** A TypeBox schema as plain JSON Schema (its symbol keys dropped). */
export const plainSchema = (s: object): JsonSchema => JSON.parse(JSON.stringify(s));

/** Each launchable kind's config schema as a launch takes it: `out` left out (the server picks the folder). */
export const RUN_KINDS_VIEW: RunKindsView = {
  kinds: Object.fromEntries(RUN_KINDS.map((k) => [k, plainSchema(Type.Omit(RUN_CONFIG_SCHEMAS[k], ['out'], { title: RUN_CONFIG_SCHEMAS[k].title, description: RUN_CONFIG_SCHEMAS[k].description }))])) as Record<RunKind, JsonSchema>,
};
