// Request bodies and queries are TypeBox schemas (JSON Schema): one definition validates them (compiled once
// per schema by TypeBox's TypeCompiler) and is emitted verbatim into the OpenAPI document, so the two cannot
// drift apart. The run configs' schemas (train/config-schema.ts) are the same library; their StringEnum
// gives {"type": "string", "enum": [...]} here too. On top of the schema, every body keeps two guarantees:
// no string (nor field name) with a lone UTF-16 surrogate, and no value nested deeper than MAX_DEPTH.
import { TArray, TBoolean, TInteger, TObject, TProperties, TSchema, TString, Type } from '@sinclair/typebox';
import { ValueError, ValueErrorType } from '@sinclair/typebox/errors';
import { compiledCheck, StringEnum } from '../train/config-schema.js';

export type Schema = TSchema;

/** The first problem with value against schema, as "path: what is wrong", or null when it conforms. */
export function validate(schema: Schema, value: unknown, path = 'body'): string | null {
  const check = compiledCheck(schema);
  if (!check.Check(value)) return where(value, path, check.Errors(value).First()!);
  return shapeOk(value) ? null : shapeProblem(value, path);
}

// A lone UTF-16 surrogate ("\ud800" in JSON) is not Unicode: SQLite gets bytes that are not UTF-8
// (ED A0 80), which read back as three U+FFFD, so the row is not what was acknowledged and the exported
// JSONL no longer imports. Every string a body carries is refused with its path instead.
const LONE_SURROGATE = ': contains a lone UTF-16 surrogate (not valid Unicode)';
// String.prototype.isWellFormed is in Node 20 (engines) but not in the ES2023 lib the project compiles against.
const wellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

// A free-form object (a run's config) is stored with JSON.stringify, which recurses: ten thousand nested
// objects fit in a 64 kB body and overflow the stack (a 500). A config never needs more than a few levels.
export const MAX_DEPTH = 32;

/** Every string and field name well formed, nothing deeper than MAX_DEPTH: walked with a stack, never by recursion, building no paths. */
function shapeOk(root: unknown): boolean {
  if (typeof root === 'string') return wellFormed(root);
  if (typeof root !== 'object' || root === null) return true;
  const todo: [unknown, number][] = [[root, 0]];
  for (let item = todo.pop(); item; item = todo.pop()) {
    const [value, depth] = item;
    if (typeof value === 'string') {
      if (!wellFormed(value)) return false;
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_DEPTH) return false;
    if (Array.isArray(value)) for (const x of value) todo.push([x, depth + 1]);
    else {
      for (const k in value) {
        if (!Object.hasOwn(value, k)) continue;
        if (!wellFormed(k)) return false;
        todo.push([(value as Record<string, unknown>)[k], depth + 1]);
      }
    }
  }
  return true;
}

/** What shapeOk refused, with its path (only on a refusal: this one builds paths). */
function shapeProblem(root: unknown, rootPath: string): string {
  const todo: [value: unknown, path: string, depth: number][] = [[root, rootPath, 0]];
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
  return `${rootPath}: malformed`;
}

/** TypeBox's first error as "path: what is wrong", the path in JavaScript notation (body.tasks[0].prompt). */
function where(root: unknown, rootPath: string, e: ValueError): string {
  let path = rootPath;
  let v: unknown = root;
  for (const raw of e.path.split('/').slice(1)) {
    const k = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    path += Array.isArray(v) ? `[${k}]` : `.${k}`;
    v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
  }
  return path + what(e);
}

function what(e: ValueError): string {
  const s = e.schema as Record<string, unknown>;
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty: return ': required';
    case ValueErrorType.ObjectAdditionalProperties: return ': unknown field';
    case ValueErrorType.Object: return ': expected an object';
    case ValueErrorType.ObjectMaxProperties: return `: at most ${s.maxProperties} fields`;
    case ValueErrorType.String: return ': expected a string';
    case ValueErrorType.StringMinLength: return `: shorter than ${s.minLength} characters`;
    case ValueErrorType.StringMaxLength: return `: longer than ${s.maxLength} characters`;
    case ValueErrorType.StringPattern: return `: does not match ${s.pattern}`;
    case ValueErrorType.Kind: // StringEnum
      return typeof e.value !== 'string' ? ': expected a string' : `: must be one of ${(s.enum as string[]).join(', ')}`;
    case ValueErrorType.Integer: return ': expected an integer';
    case ValueErrorType.IntegerMinimum: return `: must be >= ${s.minimum}`;
    case ValueErrorType.IntegerMaximum: return `: must be <= ${s.maximum}`;
    case ValueErrorType.Boolean: return ': expected true or false';
    case ValueErrorType.Array: return ': expected an array';
    case ValueErrorType.ArrayMinItems: return `: needs at least ${s.minItems} items`;
    case ValueErrorType.ArrayMaxItems: return `: at most ${s.maxItems} items`;
  }
  return `: ${e.message.toLowerCase()}`;
}

// Shorthands that keep route definitions readable.
interface StrOptions { minLength?: number; maxLength?: number; enum?: readonly string[]; pattern?: string; description?: string }
export const str = (o: StrOptions = {}): TString => {
  const { enum: values, ...rest } = o;
  return (values ? StringEnum(values, { description: rest.description }) : Type.String(rest)) as TString;
};
export const int = (o: { minimum?: number; maximum?: number; description?: string } = {}): TInteger => Type.Integer(o);
export const bool = (description?: string): TBoolean => Type.Boolean({ description });
export const arr = <T extends TSchema>(items: T, o: { minItems?: number; maxItems?: number; description?: string } = {}): TArray<T> => Type.Array(items, o);
/** A free-form JSON object (a run's config, checked by the program that reads it). */
export const anyObj = (description?: string, maxProperties = 200): TObject => Type.Object({}, { additionalProperties: true, maxProperties, description });
/** An object of exactly these fields (others refused), `required` of them required. */
export function obj(properties: TProperties, required: string[] = [], description?: string): TObject {
  const props = Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, required.includes(k) ? s : Type.Optional(s)]));
  return Type.Object(props, { additionalProperties: false, description });
}
