// Option parsing shared by the commands: numbers that fail loudly, the --backend choice, error exits.
import { Command, InvalidArgumentError, Option } from 'commander';
import { BACKEND_NAMES } from '../backend/backend.js';

export function int(min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}, got '${v}'`);
    return n;
  };
}

export function float(min: number, max = Infinity) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`expected a number in [${min}, ${max}], got '${v}'`);
    return n;
  };
}

export function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

export function backendOption(): Option {
  return new Option('--backend <name>', 'tfjs backend: auto takes the native TensorFlow binding, then wasm, then cpu')
    .choices(BACKEND_NAMES as string[])
    .default('auto');
}

/** Adds the shape of a fresh GPT-2 (rlhf init, and rlhf sft from scratch) with small defaults. */
export function withShapeOptions(cmd: Command): Command {
  for (const o of [
    new Option('--n-embd <n>', 'fresh model width').argParser(int(1)).default(128),
    new Option('--n-layer <n>', 'fresh model blocks').argParser(int(1)).default(4),
    new Option('--n-head <n>', 'fresh model attention heads').argParser(int(1)).default(4),
    new Option('--n-positions <n>', 'fresh model context length').argParser(int(1)).default(128),
  ]) cmd.addOption(o);
  return cmd;
}
