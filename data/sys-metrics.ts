// The run's own process figures, reported with its metrics under sys/* so the dashboard can show them per
// run: CPU use (percent of one core, so a run on 4 threads can read 400) and resident memory. Measured at
// most once a second (a shorter window makes the CPU figure noise); a metrics call in between gets none.
// tokens/s is the trainers' own figure (perf/*tokens_per_sec, train/tokens_per_sec), not repeated here.

/** sys/cpu_percent and sys/rss_mb since the last sample, or {} when the last one is under `everyMs` old. */
export type SysSampler = () => Record<string, number>;

export function sysSampler(everyMs = 1000, clock: () => number = () => performance.now()): SysSampler {
  let lastT = clock() - process.uptime() * 1000; // the first sample covers the process's life so far
  let lastCpu = { user: 0, system: 0 };
  return (): Record<string, number> => {
    const t = clock();
    if (t - lastT < everyMs) return {};
    const cpu = process.cpuUsage();
    const used = cpu.user - lastCpu.user + (cpu.system - lastCpu.system); // microseconds
    const pct = (used / 1000 / (t - lastT)) * 100;
    lastT = t;
    lastCpu = cpu;
    return { 'sys/cpu_percent': Math.round(pct * 10) / 10, 'sys/rss_mb': Math.round((process.memoryUsage.rss() / 2 ** 20) * 10) / 10 };
  };
}
