// Wall-clock and CPU time of a call: on a machine shared with other work the
// CPU time is the steadier figure; on an idle one the two agree for this
// single-threaded code.

export interface Timing {
  wallMs: number;
  /** User + system CPU time of this process during the call. */
  cpuMs: number;
}

/** Runs `fn` and returns its value with how long it took. */
export function timed<T>(fn: () => T): { value: T; time: Timing } {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const value = fn();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { value, time: { wallMs, cpuMs: (used.user + used.system) / 1000 } };
}
