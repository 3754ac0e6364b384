import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';

/** The URL of tsx's ESM API, resolved from this package (so any working directory will do). */
export function tsxApiUrl(): string {
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    try {
      // The ESM build of the API sits beside the CommonJS entry that require() finds.
      const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
      return pathToFileURL(cjs.replace(/index\.cjs$/, 'index.mjs')).href;
    } catch {
      throw new Error('Expected the tsx package (a dependency of fedxray) to load TypeScript in a worker or process, but it could not be found');
    }
  }
}

/**
 * JavaScript that registers tsx, then imports a TypeScript module: the body of a
 * worker thread (`eval: true`) or of `node --input-type=module --eval`. A failed
 * import is printed and ends the thread or process with code 1.
 */
export function tsBootstrap(entry: URL): string {
  return `import(${JSON.stringify(tsxApiUrl())}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); }).catch((e) => { console.error(e); process.exit(1); });`;
}

export interface TsWorkerOptions {
  workerData?: unknown;
  resourceLimits?: ResourceLimits;
}

/**
 * Starts a worker thread on a TypeScript module. Node (20) refuses a .ts entry,
 * and `--import` in a worker's execArgv is not honoured on every Node 20
 * release, so the worker registers tsx itself, then imports the entry.
 */
export function startTsWorker(entry: URL, options: TsWorkerOptions = {}): Worker {
  return new Worker(tsBootstrap(entry), { eval: true, workerData: options.workerData, resourceLimits: options.resourceLimits });
}
