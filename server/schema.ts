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

// A lone UTF-16 surrogate ("\ud800" in JSON) is not Unicode: SQLite gets bytes that are not UTF-8
// (ED A0 80), which read back as three U+FFFD, so the row is not what was acknowledged and the exported
// JSONL no longer imports. Every string a body carries is refused with its path instead.
const LONE_SURROGATE = ': contains a lone UTF-16 surrogate (not valid Unicode)';
// String.prototype.isWellFormed is in Node 20 (engines) but not in the ES2023 lib the project compiles against.
const wellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

// A free-form object is stored with JSON.stringify, which recurses: ten thousand nested objects fit in a
// 64 kB body and overflow the stack (a 500). A config never needs more than a few levels.
export const MAX_DEPTH = 32;

// The request path calls this for every body: the problem comes back relative to value (".kind: ...",
// "[2]: ...") and its path is put together only when there is one, so a valid body allocates nothing.
function check(schema: Schema, value: unknown): string | null {
  switch (schema.type) {
    case 'string': {
      if (typeof value !== 'string') return ': expected a string';
      if (!wellFormed(value)) return LONE_SURROGATE;
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
        if (schema.maxProperties !== undefined && Object.keys(v).length > schema.maxProperties) return `: at most ${schema.maxProperties} fields`;
        return freeForm(v);
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

/** Depth and lone surrogates anywhere in a free-form value: walked with a stack, never by recursion. */
function freeForm(root: object): string | null {
  const todo: [value: unknown, path: string, depth: number][] = [[root, '', 1]];
  for (let item = todo.pop(); item; item = todo.pop()) {
    const [value, path, depth] = item;
    if (typeof value === 'string') {
      if (!wellFormed(value)) return path + LONE_SURROGATE;
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_DEPTH) return `${path}: nested deeper than ${MAX_DEPTH} levels`;
    if (Array.isArray(value)) value.forEach((x, i) => todo.push([x, `${path}[${i}]`, depth + 1]));
    else {
      for (const [k, x] of Object.entries(value)) {
        if (!wellFormed(k)) return `${path}: a field name${LONE_SURROGATE}`;
        todo.push([x, `${path}.${k}`, depth + 1]);
      }
    }
  }
  return null;
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
