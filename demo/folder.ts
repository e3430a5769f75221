// Where a demo writes when no --out is given: a fresh folder per run, named by its start time, so demos
// never overwrite each other.
import { join } from 'node:path';

export function defaultDemoFolder(): string {
  return join('.rlhf', 'demo', new Date().toISOString().replace(/[:.]/g, '-'));
}
