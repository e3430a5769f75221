// A small JSON-Schema subset: one definition both validates request bodies and is emitted verbatim into
// the OpenAPI 3 document, so the two cannot drift apart.

export type Schema =
  | { type: 'string'; minLength?: number; maxLength?: number; enum?: string[]; pattern?: string; description?: string }
  | { type: 'integer'; minimum?: number; maximum?: number; description?: string }
  | { type: 'boolean'; description?: string }
  | { type: 'array'; items: Schema; minItems?: number; maxItems?: number; description?: string }
  | { type: 'object'; properties: Record<string, Schema>; required?: string[]; additionalProperties: false; description?: string }
  // A free-form JSON object (a run's config, checked by the program that reads it)
  | { type: 'object'; additionalProperties: true; maxProperties?: number; description?: string };

/** The first problem with value against schema, as "path: what is wrong", or null when it conforms. */
export function validate(schema: Schema, value: unknown, path = 'body'): string | null {
  const e = check(schema, value);
  return e === null ? null : path + e;
}

const patterns = new Map<string, RegExp>();

// The request path calls this for every body: the problem comes back relative to value (".kind: ...",
// "[2]: ...") and its path is put together only when there is one, so a valid body allocates nothing.
function check(schema: Schema, value: unknown): string | null {
  switch (schema.type) {
    case 'string': {
      if (typeof value !== 'string') return ': expected a string';
      if (schema.minLength !== undefined && value.length < schema.minLength) return `: shorter than ${schema.minLength} characters`;
      if (schema.maxLength !== undefined && value.length > schema.maxLength) return `: longer than ${schema.maxLength} characters`;
      if (schema.enum && !schema.enum.includes(value)) return `: must be one of ${schema.enum.join(', ')}`;
      if (schema.pattern) {
        let re = patterns.get(schema.pattern);
        if (!re) patterns.set(schema.pattern, (re = new RegExp(schema.pattern)));
        if (!re.test(value)) return `: does not match ${schema.pattern}`;
      }
      return null;
    }
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return ': expected an integer';
      if (schema.minimum !== undefined && value < schema.minimum) return `: must be >= ${schema.minimum}`;
      if (schema.maximum !== undefined && value > schema.maximum) return `: must be <= ${schema.maximum}`;
      return null;
    case 'boolean':
      return typeof value === 'boolean' ? null : ': expected true or false';
    case 'array': {
      if (!Array.isArray(value)) return ': expected an array';
      if (schema.minItems !== undefined && value.length < schema.minItems) return `: needs at least ${schema.minItems} items`;
      if (schema.maxItems !== undefined && value.length > schema.maxItems) return `: at most ${schema.maxItems} items`;
      for (let i = 0; i < value.length; i++) {
        const e = check(schema.items, value[i]);
        if (e !== null) return `[${i}]${e}`;
      }
      return null;
    }
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return ': expected an object';
      const v = value as Record<string, unknown>;
      if (schema.additionalProperties) {
        return schema.maxProperties !== undefined && Object.keys(v).length > schema.maxProperties ? `: at most ${schema.maxProperties} fields` : null;
      }
      if (schema.required) for (const k of schema.required) if (!(k in v)) return `.${k}: required`;
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue;
        const s = schema.properties[k];
        if (!s || !Object.hasOwn(schema.properties, k)) return `.${k}: unknown field`;
        const e = check(s, v[k]);
        if (e !== null) return `.${k}${e}`;
      }
      return null;
    }
  }
}

// Shorthands that keep route definitions readable.
export const str = (o: Omit<Extract<Schema, { type: 'string' }>, 'type'> = {}): Schema => ({ type: 'string', ...o });
export const int = (o: Omit<Extract<Schema, { type: 'integer' }>, 'type'> = {}): Schema => ({ type: 'integer', ...o });
export const bool = (description?: string): Schema => ({ type: 'boolean', description });
export const arr = (items: Schema, o: { minItems?: number; maxItems?: number; description?: string } = {}): Schema => ({ type: 'array', items, ...o });
export const anyObj = (description?: string, maxProperties = 200): Schema => ({ type: 'object', additionalProperties: true, maxProperties, description });
export function obj(properties: Record<string, Schema>, required: string[] = [], description?: string): Schema {
  return { type: 'object', properties, required, additionalProperties: false, description };
}
