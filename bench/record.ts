// Writes a benchmark's block into BENCHMARKS.md between <!-- bench:TAG --> markers, replacing the old one.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

export const BENCHMARKS_FILE = join(import.meta.dirname, '..', 'BENCHMARKS.md');

export function machine(): string {
  const cpu = cpus();
  return `${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

export function recordBlock(tag: string, block: string, file = BENCHMARKS_FILE): void {
  let md = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\nEvery figure here comes from `npm run bench` on the machine named beside it.\n\n';
  const wrapped = `<!-- bench:${tag} -->\n${block}\n<!-- /bench:${tag} -->`;
  const re = new RegExp(`<!-- bench:${tag} -->[\\s\\S]*<!-- /bench:${tag} -->`);
  md = re.test(md) ? md.replace(re, () => wrapped) : md + '\n' + wrapped + '\n';
  writeFileSync(file, md);
}
