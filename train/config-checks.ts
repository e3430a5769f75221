// Field checks shared by the run configs (SFT, reward model): every message names the config's source
// and the field, and says what was expected and what was given. Errors are of the caller's class.
import { LoraConfig, validateLora } from '../lm/lora.js';

export function fieldChecks<C extends object>(c: C, source: string, E: new (message: string) => Error) {
  const value = (f: string) => (c as Record<string, unknown>)[f];
  const fail = (field: string, want: string): never => {
    throw new E(`${source}: ${field} must be ${want}, got ${JSON.stringify(value(field))}`);
  };
  return {
    fail,
    /** Refuse fields the config does not have (a typo would otherwise be silently ignored). */
    known(raw: Record<string, unknown>, fields: Iterable<string>): void {
      const ok = new Set(fields);
      for (const k of Object.keys(raw)) if (!ok.has(k)) throw new E(`${source}: unknown field '${k}'`);
    },
    int(f: keyof C & string, min: number): void {
      const v = value(f);
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(f, `an integer >= ${min}`);
    },
    num(f: keyof C & string, lo: number, hi: number): void {
      const v = value(f);
      if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) fail(f, `a number in [${lo}, ${hi}]`);
    },
    /** The LoRA block, validated, with lora.ts's message under this config's source. */
    lora(l: unknown): LoraConfig {
      try {
        return validateLora(l as LoraConfig);
      } catch (e) {
        throw new E(`${source}: ${(e as Error).message}`);
      }
    },
  };
}
