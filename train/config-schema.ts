// The run configs (sft, train-rm, ppo) are TypeBox schemas: one definition gives the TypeScript type
// (Static<typeof Schema>), the defaults (each field's `default`), the check, the CLI flags
// (config-flags.ts), the dashboard's launch form and the OpenAPI components (both through the JSON Schema
// GET /api/run-kinds serves). resolveConfig fills the defaults and checks a raw config; every message names
// the config's source and the field, and says what was expected and what was given:
//   config: steps must be an integer >= 1, got 0
//   config: unknown field 'stpes'
//   config: prompts is required (prompts file: .txt, one per line, or .jsonl of {"prompt"})
// Cross-field rules (exactly one of model or init, ...) stay as short code after it, in each config.
import { CloneType, Kind, SchemaOptions, Static, TNull, TObject, TOptional, TSchema, TUnion, TUnsafe, Type, TypeRegistry } from '@sinclair/typebox';
import { TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueError, ValueErrorType } from '@sinclair/typebox/errors';

// A string that is one of a few values, as JSON Schema's {"type": "string", "enum": [...]} (what OpenAPI 3.0
// and HTML selects read) rather than TypeBox's anyOf of consts. Checked through a registered kind.
if (!TypeRegistry.Has('StringEnum')) {
  TypeRegistry.Set('StringEnum', (s: { enum: readonly string[] }, v: unknown) => typeof v === 'string' && s.enum.includes(v));
}

export function StringEnum<const T extends readonly string[]>(values: T, o: SchemaOptions = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...o, [Kind]: 'StringEnum', type: 'string', enum: [...values] });
}

/**
 * A field with a default: optional in a config (JSON Schema leaves it out of `required`), always there once
 * resolved (see Resolved).
 */
export function Default<T extends TSchema>(t: T, value: Static<T>): TOptional<T> {
  return Type.Optional(CloneType(t, { default: value })) as TOptional<T>;
}

/** A resolved config's type: what Static gives, with every defaulted (optional) field there, at any depth. */
export type Filled<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]-?: Filled<T[K]> } : T;
export type Resolved<S extends TSchema> = Filled<Static<S>>;

/** T or null (JSON Schema anyOf [T, {"type": "null"}]). */
export function Nullable<T extends TSchema>(t: T, o: SchemaOptions = {}): TUnion<[T, TNull]> {
  return Type.Union([t, Type.Null()], o);
}

/** Any JSON Schema node as this file reads it (TypeBox schemas are plain JSON Schema plus symbol keys). */
export interface Node {
  type?: string;
  enum?: readonly string[];
  const?: unknown;
  anyOf?: Node[];
  properties?: Record<string, Node>;
  required?: string[];
  items?: Node;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  minItems?: number;
  description?: string;
  default?: unknown;
}

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

/** The schema's compiled check, built once per schema object. */
export function compiledCheck<T extends TSchema>(schema: T): TypeCheck<T> {
  let c = compiled.get(schema);
  if (!c) compiled.set(schema, (c = TypeCompiler.Compile(schema)));
  return c as TypeCheck<T>;
}

/** The non-null member of a T-or-null union; the node itself otherwise. */
export function nonNull(s: Node): Node {
  if (!s.anyOf) return s;
  const rest = s.anyOf.filter((x) => x.type !== 'null');
  return rest.length === 1 ? rest[0] : s;
}

export const isNullable = (s: Node): boolean => Boolean(s.anyOf?.some((x) => x.type === 'null'));
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The values of a string enum (ours, or a union of string literals), or null. */
export function enumValues(s: Node): readonly string[] | null {
  if (s.enum) return s.enum;
  if (s.anyOf?.length && s.anyOf.every((x) => typeof x.const === 'string')) return s.anyOf.map((x) => x.const as string);
  return null;
}

/**
 * `raw` with every missing field that has a default filled in (copies of the defaults), nested objects too;
 * the schema's fields first, in its order, then whatever else raw has (for the check to refuse).
 */
export function withDefaults(schema: Node, raw: Record<string, unknown>): Record<string, unknown> {
  const props = schema.properties ?? {};
  const fields: [string, unknown][] = [];
  for (const [k, s] of Object.entries(props)) {
    let v = Object.hasOwn(raw, k) ? raw[k] : undefined;
    if (v === undefined && s.default !== undefined) v = structuredClone(s.default);
    const inner = nonNull(s);
    if (inner.type === 'object' && inner.properties && isPlainObject(v)) v = withDefaults(inner, v);
    if (v !== undefined || Object.hasOwn(raw, k)) fields.push([k, v]);
  }
  for (const k of Object.keys(raw)) if (!Object.hasOwn(props, k)) fields.push([k, raw[k]]);
  return Object.fromEntries(fields); // a "__proto__" key stays a plain own field (and is refused)
}

const number = (n: number) => String(n);

/** What a schema node accepts, in words: "an integer >= 1", "a number in [0, 10]", "one of k1, k3". */
export function expected(s: Node): string {
  if (isNullable(s) && nonNull(s) !== s) return `${expected(nonNull(s))} or null`;
  const values = enumValues(s);
  if (values) return `one of ${values.join(', ')}`;
  switch (s.type) {
    case 'integer':
      return `an integer${range(s)}`;
    case 'number':
      return `a number${range(s)}`;
    case 'string':
      return s.minLength ? 'a non-empty string' : 'a string';
    case 'boolean':
      return 'true or false';
    case 'array':
      return `a ${s.minItems ? 'non-empty ' : ''}list of ${plural(s.items ?? {})}`;
    case 'object':
      return 'an object';
  }
  return 'a valid value';
}

function range(s: Node): string {
  const lo = s.exclusiveMinimum !== undefined ? ['(', s.exclusiveMinimum] as const : s.minimum !== undefined ? ['[', s.minimum] as const : null;
  const hi = s.exclusiveMaximum !== undefined ? [')', s.exclusiveMaximum] as const : s.maximum !== undefined ? [']', s.maximum] as const : null;
  if (lo && hi) return ` in ${lo[0]}${number(lo[1])}, ${number(hi[1])}${hi[0]}`;
  if (lo) return ` ${lo[0] === '(' ? '>' : '>='} ${number(lo[1])}`;
  if (hi) return ` ${hi[0] === ')' ? '<' : '<='} ${number(hi[1])}`;
  return '';
}

function plural(s: Node): string {
  const values = enumValues(s);
  if (values) return values.join(', ');
  if (s.type === 'string') return s.minLength ? 'non-empty strings' : 'strings';
  if (s.type === 'integer') return 'integers';
  if (s.type === 'number') return 'numbers';
  return 'values';
}

/** A problem with a value, located: the dotted field path ("onlineFeedback.k"), and what is wrong. */
export type Problem =
  | { kind: 'unknown'; path: string }
  | { kind: 'required'; path: string; schema: Node }
  | { kind: 'invalid'; path: string; schema: Node; value: unknown };

/** Unescape one JSON-pointer segment. */
const segment = (p: string) => p.replaceAll('~1', '/').replaceAll('~0', '~');

/**
 * The first problem with `value` against `schema` (null when it conforms), reported where a person fixes
 * it: an unknown field before anything else; an item of a list as the list ("stop must be a list of
 * non-empty strings"); a field inside a T-or-null object at that field, not at the object.
 */
export function firstProblem(schema: TSchema, value: unknown, prefix = ''): Problem | null {
  const check = compiledCheck(schema);
  if (check.Check(value)) return null;
  let first: ValueError | undefined;
  let n = 0;
  for (const e of check.Errors(value)) {
    first ??= e;
    if (e.type === ValueErrorType.ObjectAdditionalProperties) {
      first = e;
      break;
    }
    if (++n > 100) break;
  }
  if (!first) return { kind: 'invalid', path: prefix, schema, value };
  const parts = first.path.split('/').slice(1).map(segment);
  const join = (p: string, k: string) => (p ? `${p}.${k}` : k);
  let s: Node = schema;
  let v: unknown = value;
  let path = prefix;
  for (let i = 0; i < parts.length; i++) {
    s = nonNull(s);
    if (s.type === 'array') break; // a bad item: report the list
    const last = i === parts.length - 1;
    if (last && first.type === ValueErrorType.ObjectAdditionalProperties) return { kind: 'unknown', path: join(path, parts[i]) };
    const next = s.properties?.[parts[i]];
    if (!next) return { kind: 'unknown', path: join(path, parts[i]) };
    s = next;
    v = isPlainObject(v) ? v[parts[i]] : undefined;
    path = join(path, parts[i]);
  }
  if (v === undefined) return { kind: 'required', path, schema: s };
  // a T-or-null object that is an object: the problem is inside it
  const inner = nonNull(s);
  if (inner !== s && inner.type === 'object' && isPlainObject(v)) return firstProblem(inner as TSchema, v, path);
  return { kind: 'invalid', path, schema: s, value: v };
}

/** A given value in a message: JSON, cut short. */
export function given(v: unknown): string {
  const t = JSON.stringify(v) ?? String(v);
  return t.length > 120 ? `${t.slice(0, 117)}...` : t;
}

/** A run config's problem as the one-line message its error carries. */
export function configMessage(p: Problem, source: string): string {
  if (p.kind === 'unknown') return `${source}: unknown field '${p.path}'`;
  if (p.kind === 'required') return `${source}: ${p.path} is required${p.schema.description ? ` (${p.schema.description})` : ''}`;
  return `${source}: ${p.path || 'the config'} must be ${expected(p.schema)}, got ${given(p.value)}`;
}

/**
 * A raw config (a --config file, flags, a launch body) with defaults filled in and checked against the
 * schema; the first problem is thrown as an E whose message names `source` and the field.
 */
export function resolveConfig<S extends TObject>(schema: S, raw: unknown, source: string, E: new (message: string) => Error = Error): Resolved<S> {
  if (!isPlainObject(raw)) throw new E(`${source}: must be a JSON object of config fields, got ${given(raw)}`);
  const c = withDefaults(schema, raw);
  const p = firstProblem(schema, c);
  if (p) throw new E(configMessage(p, source));
  return c as Resolved<S>;
}

/** The defaults of a config schema's fields, by name (fields without a default left out). */
export function defaultsOf(schema: TObject): Record<string, unknown> {
  return Object.fromEntries(Object.entries(schema.properties as Record<string, Node>).filter(([, s]) => s.default !== undefined).map(([k, s]) => [k, s.default]));
}
