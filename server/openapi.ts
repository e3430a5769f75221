// The OpenAPI 3.1 document, generated from the same route table and schemas that validate requests
// (TypeBox schemas are JSON Schema: JSON.stringify drops their symbol keys), with the run configs' schemas
// (the same ones the trainers check their configs with) under components.schemas.
import type { Route } from './route-types.js';
import { plainSchema, RUN_CONFIG_SCHEMAS } from './run-kinds.js';
import { DpoOnlineFeedbackSchema } from '../dpo/online-config.js';
import { LoraSchema } from '../lm/lora-config.js';
import { OnlineFeedbackSchema } from '../rl/online/config.js';

export function openApiDocument(routes: Route[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:(\w+)/g, '{$1}');
    const params = [...r.path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    for (const [name, schema] of Object.entries(r.query ?? {})) params.push({ name, in: 'query', required: false, schema: plainSchema(schema) as never });
    const op: Record<string, unknown> = {
      summary: r.summary,
      'x-min-role': r.role,
      responses: {
        [String(r.ok[0])]: { description: r.ok[1] },
        ...(r.body ? { 400: { description: 'malformed body: {error}' }, 413: { description: 'body too large' } } : {}),
        ...(r.role ? { 401: { description: 'missing or invalid token' }, 403: { description: `needs the ${r.role} role` }, 429: { description: 'rate limited; see Retry-After' } } : {}),
      },
    };
    if (params.length) op.parameters = params;
    if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: plainSchema(r.body) } } };
    if (r.role) op.security = [{ bearer: [] }];
    (paths[path] ??= {})[r.method] = op;
  }
  paths['/api/openapi.json'] = { get: { summary: 'this document', responses: { 200: { description: 'OpenAPI 3 document' } } } };
  return {
    openapi: '3.1.0',
    info: { title: 'rlhf-trainer labeling API', version: '0.1.0' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        SftConfig: plainSchema(RUN_CONFIG_SCHEMAS.sft), RmConfig: plainSchema(RUN_CONFIG_SCHEMAS['train-rm']), PpoConfig: plainSchema(RUN_CONFIG_SCHEMAS.ppo),
        GrpoConfig: plainSchema(RUN_CONFIG_SCHEMAS.grpo), RlooConfig: plainSchema(RUN_CONFIG_SCHEMAS.rloo), DpoConfig: plainSchema(RUN_CONFIG_SCHEMAS.dpo),
        LoraConfig: plainSchema(LoraSchema), OnlineFeedbackConfig: plainSchema(OnlineFeedbackSchema), DpoOnlineFeedbackConfig: plainSchema(DpoOnlineFeedbackSchema),
      },
    },
    paths,
  };
}
