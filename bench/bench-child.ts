// A benchmark job in a child process (node --import tsx SCRIPT ARGS), its last stdout line parsed as JSON,
// with what the rest of the machine did meanwhile: the 1-minute load average at the start, and the share
// of the machine's CPU time that other processes used (the machine's busy time minus the child's own CPU
// seconds, which the child reports as cpuSeconds). Others share this machine's 2 cores, so every timing
// is read beside these.
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';

export interface ChildLine<R> {
  result: R & { cpuSeconds: number; backend: string };
  /** 1-minute load average when the child started. */
  load: number;
  /** Fraction of the machine's CPU time (all cores) that other processes used while the child ran. */
  others: number;
  /** Wall seconds of the child, process start to exit. */
  wall: number;
}

/** Busy CPU-milliseconds of the whole machine, all cores. */
export const machineBusy = (): number => cpus().reduce((a, c) => a + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0);

export function runBenchChild<R>(script: string, args: string[]): ChildLine<R> {
  const load = loadavg()[0];
  const busy0 = machineBusy();
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 2 ** 20 });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} failed (exit ${r.status})`);
  const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ChildLine<R>['result'];
  const others = Math.max(0, (machineBusy() - busy0) / 1000 - result.cpuSeconds) / (wall * cpus().length);
  return { result, load, others, wall };
}
