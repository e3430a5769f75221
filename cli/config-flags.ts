// Command-line flags built from a run config's schema (train/config-schema.ts): one --kebab-case flag per
// top-level scalar or list field, its parser from the field's type and bounds, its help from the field's
// description and default. Flags override the --config file, so a flag has no commander default: the
// schema's default applies when neither gives the field. Object fields (init, lora, onlineFeedback) are not
// mapped; their commands build them from hand-written flags.
import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import type { TObject, TSchema } from '@sinclair/typebox';
import type { LoraConfig } from '../lm/lora-config.js';
import { compiledCheck, enumValues, expected, isNullable, Node, nonNull } from '../train/config-schema.js';
import { float, int } from './options.js';

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
const camel = (flag: string) => flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Stands for null in a flag's value (commander turns a parser's null into ''). */
const NONE = Symbol('none');

export interface FlagOptions {
  /** Flags are --PREFIX-FIELD (e.g. online: --online-every-steps for everySteps). */
  prefix?: string;
  /** Fields with hand-written flags, or none. */
  skip?: string[];
  /** Help text in place of a field's description. */
  help?: Record<string, string>;
}

/** A flag's text as a number the field accepts, or a commander error saying what it expected. */
function numberParser(s: Node): (v: string) => number {
  const check = compiledCheck(s as TSchema);
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !check.Check(n)) throw new InvalidArgumentError(`expected ${expected(s)}, got '${v}'`);
    return n;
  };
}

/**
 * Add a flag for every mappable field of `schema` to `cmd`. Returns the function that reads the given
 * flags back out of commander's options as config fields (only those given; `none` or `null` for a
 * nullable field gives null).
 */
export function configFlags(cmd: Command, schema: TObject, o: FlagOptions = {}): (opts: Record<string, unknown>) => Record<string, unknown> {
  const mapped: [field: string, attr: string][] = [];
  for (const [field, s] of Object.entries(schema.properties as Record<string, Node>)) {
    if (o.skip?.includes(field)) continue;
    const inner = nonNull(s);
    const nullable = isNullable(s);
    if (inner.type === 'object' || (inner.anyOf && !enumValues(inner))) continue;
    const flag = `${o.prefix ? `${o.prefix}-` : ''}${kebab(field)}`;
    const list = inner.type === 'array';
    const text = o.help?.[field] ?? s.description ?? field;
    const def = s.default !== undefined && !(Array.isArray(s.default) && !s.default.length) ? ` (default ${JSON.stringify(s.default)})` : '';
    const help = `${text}${list ? '; repeat for several' : ''}${nullable ? `; ${text.includes('null') ? '' : 'null: '}give none to clear` : ''}${def}`;
    mapped.push([field, camel(flag)]);
    if (inner.type === 'boolean') {
      cmd.option(`--${flag}`, help);
      cmd.option(`--no-${flag}`, `turn ${field} off`);
      continue;
    }
    const numeric = inner.type === 'integer' || inner.type === 'number';
    const opt = new Option(`--${flag} <${inner.type === 'integer' ? 'n' : numeric ? 'x' : enumValues(inner) ? 'name' : 'value'}>`, help);
    const values = enumValues(inner);
    if (values) opt.choices(values);
    else if (list) opt.argParser((v: string, prev: string[] = []) => [...prev, v]);
    else {
      const parse: (v: string) => unknown = numeric ? numberParser(inner) : (v) => v;
      opt.argParser(nullable ? (v: string) => (v === 'null' || v === 'none' ? NONE : parse(v)) : parse);
    }
    cmd.addOption(opt);
  }
  return (opts) => {
    const out: Record<string, unknown> = {};
    for (const [field, attr] of mapped) if (opts[attr] !== undefined) out[field] = opts[attr] === NONE ? null : opts[attr];
    return out;
  };
}

/** --lora-rank, --lora-alpha and --lora-targets (a run config's `lora` block). */
export function loraFlags(cmd: Command, rankHelp: string): Command {
  return cmd
    .option('--lora-rank <r>', rankHelp, int(1))
    .option('--lora-alpha <a>', 'LoRA scale numerator (default 2 * rank)', float(0))
    .addOption(new Option('--lora-targets <list>', 'comma-separated: attn, mlp (every projection of either) or module names (q_proj, v_proj, gate_proj, c_attn, ...)').default('attn,mlp'));
}

/** The `lora` block the --lora-* flags give, or undefined without --lora-rank. */
export function loraFromFlags(o: Record<string, unknown>): LoraConfig | undefined {
  if (!o.loraRank) return undefined;
  const rank = o.loraRank as number;
  return { rank, alpha: (o.loraAlpha as number | undefined) ?? 2 * rank, targets: String(o.loraTargets).split(',').map((t) => t.trim()) as LoraConfig['targets'] };
}

/** A run's --config file as raw fields ({} without one); unreadable or bad JSON is one line naming the file. */
export function readConfigFile(file: string | undefined): Record<string, unknown> {
  if (!file) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message.split('\n')[0]}`);
  }
}
