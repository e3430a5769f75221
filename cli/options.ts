// Option parsing shared by the commands: numbers that fail loudly, the --backend choice, error exits.
import { InvalidArgumentError, Option } from 'commander';
import { BACKEND_NAMES } from '../lm/backend.js';

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
